#include "handover.hpp"

#include <algorithm>
#include <atomic>

namespace troupe::cluster {

namespace {

using clock = std::chrono::steady_clock;

bool contains(const google::protobuf::RepeatedField<std::uint64_t>& list, std::uint64_t id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

/// The node's state store: loads go through the handover's rules, the rest
/// straight to the inner store. A key's state and journal are handed over;
/// key-value namespaces are not (docs/architecture.md, "Clusters": what
/// moves with a key).
class handover_store final : public runtime::state_store {
public:
  handover_store(handover& owner, std::shared_ptr<runtime::state_store> inner)
    : owner_(owner), inner_(std::move(inner)) {
  }

  status open_namespace(std::string_view service,
                        const runtime::namespace_options& options) override {
    return inner_->open_namespace(service, options);
  }
  void load(std::string_view service, std::string_view key, load_callback done) override {
    owner_.load(service, key, std::move(done));
  }
  void save(std::string_view service, std::string_view key, std::uint64_t replaces,
            std::string bytes, write_callback done) override {
    inner_->save(service, key, replaces, std::move(bytes), std::move(done));
  }
  void erase(std::string_view service, std::string_view key, write_callback done) override {
    inner_->erase(service, key, std::move(done));
  }
  void list_keys(std::string_view service, std::string_view after, std::size_t limit,
                 keys_callback done) override {
    inner_->list_keys(service, after, limit, std::move(done));
  }
  void append(std::string_view service, std::string_view key, runtime::journal_append append,
              write_callback done) override {
    inner_->append(service, key, std::move(append), std::move(done));
  }
  void read_events(std::string_view service, std::string_view key, std::uint64_t from_seq,
                   std::size_t limit, events_callback done) override {
    inner_->read_events(service, key, from_seq, limit, std::move(done));
  }
  void scan(std::string_view service, std::string_view prefix, std::string_view after,
            std::size_t limit, scan_callback done) override {
    inner_->scan(service, prefix, after, limit, std::move(done));
  }
  void write_batch(std::string_view service, std::vector<runtime::kv_mutation> batch,
                   write_callback done) override {
    inner_->write_batch(service, std::move(batch), std::move(done));
  }
  runtime::store_figures figures() const override {
    return inner_->figures();
  }
  std::optional<runtime::namespace_figures> figures(std::string_view service) const override {
    return inner_->figures(service);
  }
  void checkpoint(std::string dir, std::function<void(status)> done) override {
    inner_->checkpoint(std::move(dir), std::move(done));
  }
  void import_key(std::string_view service, std::string_view key, runtime::key_image image,
                  write_callback done) override {
    inner_->import_key(service, key, std::move(image), std::move(done));
  }

private:
  handover& owner_;
  std::shared_ptr<runtime::state_store> inner_;
};

} // namespace

handover::handover(std::uint64_t self, std::uint64_t process_id, runtime::logger& log)
  : self_(self), process_id_(process_id), log_(log) {
}

handover::~handover() {
  std::deque<waiting_load> left;
  {
    std::lock_guard guard{mtx_};
    left.swap(waiting_);
  }
  for (auto& w : left)
    w.done(status{status_code::unavailable, "the node is stopping"}, {});
}

std::shared_ptr<runtime::state_store> handover::wrap(std::shared_ptr<runtime::state_store> inner) {
  inner_ = std::move(inner);
  return std::make_shared<handover_store>(*this, inner_);
}

void handover::attach(agent_ops ops) {
  ops_ = std::move(ops);
}

std::string handover::member_name(std::uint64_t id) const {
  if (membership_)
    if (const auto* m = find_member(*membership_, id))
      return m->name();
  return "#" + std::to_string(id);
}

void handover::load(std::string_view service, std::string_view key,
                    runtime::state_store::load_callback done) {
  {
    std::unique_lock lock{mtx_};
    if (membership_ && membership_->handover() != 0 && placed_ && placed_->durable(service)) {
      auto from = placed_->previous_owner(service, key);
      bool ready = from == 0 || from == self_ || contains(membership_->handed_over(), from)
                   || received_.count({std::string{service}, std::string{key}}) > 0;
      if (!ready) {
        const auto* m = find_member(*membership_, from);
        if (m == nullptr || m->state() == v1::DOWN || m->state() == v1::REMOVED) {
          auto name = member_name(from);
          lock.unlock();
          done(status{status_code::unavailable, down_holder_detail(name)}, {});
          return;
        }
        waiting_.push_back(waiting_load{std::string{service}, std::string{key}, std::move(done),
                                        clock::now() + max_wait, from});
        return;
      }
    }
  }
  inner_->load(service, key, std::move(done));
}

void handover::on_membership(std::shared_ptr<const v1::Membership> m,
                             const std::deque<std::shared_ptr<const placement>>& history) {
  {
    std::lock_guard guard{mtx_};
    membership_ = m;
    placed_ = history.empty() ? std::make_shared<const placement>(*m) : history.back();
    if (received_for_ != m->handover()) {
      received_.clear();
      received_for_ = m->handover();
    }
  }
  release_ready();
  // A new handover this node takes part in as a previous holder.
  if (m->handover() != 0 && push_.handover != m->handover()
      && contains(m->previous_holders(), self_)) {
    push_ = push{};
    push_.handover = m->handover();
    if (const auto* self = find_member(*m, self_))
      for (const auto& s : self->services())
        if (s.keyed() && s.durable())
          push_.services.push_back(s.name());
  }
  tick();
}

void handover::release_ready() {
  std::vector<waiting_load> go;
  std::vector<waiting_load> refuse;
  std::vector<std::string> refuse_names;
  {
    std::lock_guard guard{mtx_};
    auto now = clock::now();
    for (auto i = waiting_.begin(); i != waiting_.end();) {
      bool done_from = !membership_ || membership_->handover() == 0
                       || contains(membership_->handed_over(), i->from)
                       || received_.count({i->service, i->key}) > 0;
      const auto* m = membership_ ? find_member(*membership_, i->from) : nullptr;
      bool gone = m == nullptr || m->state() == v1::DOWN || m->state() == v1::REMOVED;
      if (done_from) {
        go.push_back(std::move(*i));
      } else if (gone || now >= i->deadline) {
        refuse_names.push_back(gone ? "gone:" + member_name(i->from) : member_name(i->from));
        refuse.push_back(std::move(*i));
      } else {
        ++i;
        continue;
      }
      i = waiting_.erase(i);
    }
  }
  for (auto& w : go)
    inner_->load(w.service, w.key, std::move(w.done));
  for (std::size_t i = 0; i < refuse.size(); ++i) {
    const auto& name = refuse_names[i];
    if (name.rfind("gone:", 0) == 0)
      refuse[i].done(status{status_code::unavailable, down_holder_detail(name.substr(5))}, {});
    else
      refuse[i].done(status{status_code::unavailable,
                            "this key's state is being handed over from node " + name
                              + "; retry"},
                     {});
  }
}

void handover::tick() {
  release_ready();
  if (push_.handover == 0 || push_.busy || push_.reported || !membership_)
    return;
  if (membership_->handover() != push_.handover
      || contains(membership_->handed_over(), self_)) {
    push_ = push{};
    return;
  }
  const auto* self = find_member(*membership_, self_);
  if (self == nullptr || self->process_id() != process_id_ || self->state() == v1::DOWN
      || self->state() == v1::REMOVED)
    return;  // this process is not the member (yet): it rejoins first
  // Pushed only once this node's shards no longer serve what moves.
  if (ops_.fenced_epoch() < push_.handover || clock::now() < push_.next_try)
    return;
  step();
}

void handover::retry_later(const std::string& why) {
  push_.busy = false;
  push_.next_try = clock::now() + std::chrono::milliseconds{500};
  log_.warn("handing keys over: retrying", {{"troupe.cluster.handover", push_.handover},
                                           {"error.message", why}});
}

void handover::step() {
  if (push_.service >= push_.services.size()) {
    push_.busy = true;
    auto id = push_.handover;
    ops_.report_done(id, [this, id](status st) {
      if (push_.handover != id)
        return;
      push_.busy = false;
      if (st.is_ok()) {
        push_.reported = true;
        log_.info("keys handed over", {{"troupe.cluster.handover", id},
                                       {"troupe.cluster.keys", push_.pushed}});
      } else {
        retry_later(st.message());
      }
    });
    return;
  }
  push_.busy = true;
  auto service = push_.services[push_.service];
  auto id = push_.handover;
  inner_->list_keys(service, push_.cursor, page_keys,
                    [this, service, id](status st, std::vector<std::string> keys, bool more) {
                      ops_.post([this, service, id, st, keys = std::move(keys), more]() mutable {
                        if (push_.handover != id)
                          return;
                        on_page(service, st, std::move(keys), more);
                      });
                    });
}

void handover::on_page(std::string service, status st, std::vector<std::string> keys, bool more) {
  if (!st.is_ok()) {
    retry_later("listing the keys of " + service + ": " + st.message());
    return;
  }
  std::shared_ptr<const placement> placed;
  {
    std::lock_guard guard{mtx_};
    placed = placed_;
  }
  // The keys this node held that now belong elsewhere, by destination.
  std::map<std::uint64_t, std::vector<std::string>> moving;
  for (auto& key : keys) {
    if (placed->previous_owner(service, key) != self_)
      continue;  // a stale copy: not this node's to hand over
    auto to = placed->owner(service, key);
    if (to != 0 && to != self_)
      moving[to].push_back(key);
  }
  auto next_cursor = keys.empty() ? std::string{} : keys.back();
  auto advance = [this, more, next_cursor]() {
    if (more) {
      push_.cursor = next_cursor;
    } else {
      ++push_.service;
      push_.cursor.clear();
    }
    push_.busy = false;
    step();
  };
  if (moving.empty()) {
    advance();
    return;
  }
  // Load every moving key, send one batch per destination, erase once all
  // are acknowledged, then go on.
  struct page_state {
    std::size_t loads_left = 0;
    std::size_t sends_left = 0;
    bool failed = false;
    std::string failure;
    std::map<std::uint64_t, v1::HandoverBatch> batches;
  };
  auto state = std::make_shared<page_state>();
  auto id = push_.handover;
  for (auto& [to, list] : moving) {
    auto& batch = state->batches[to];
    batch.set_handover(id);
    batch.set_service(service);
    state->loads_left += list.size();
  }
  auto send_all = [this, state, id, moving, service, advance]() {
    if (push_.handover != id)
      return;
    if (state->failed) {
      retry_later(state->failure);
      return;
    }
    state->sends_left = state->batches.size();
    for (auto& [to, batch] : state->batches) {
      auto count = batch.entries_size();
      ops_.send(to, std::move(batch),
                [this, state, id, to = to, moving, service, advance, count](status st) {
                  if (push_.handover != id)
                    return;
                  if (!st.is_ok()) {
                    state->failed = true;
                    state->failure = "sending keys to " + member_name(to) + ": " + st.message();
                  } else {
                    push_.pushed += static_cast<std::uint64_t>(count);
                    // Acknowledged: the copies here are not this node's any more.
                    for (const auto& key : moving.at(to))
                      inner_->erase(service, key, [](status) {});
                  }
                  if (--state->sends_left == 0) {
                    if (state->failed)
                      retry_later(state->failure);
                    else
                      advance();
                  }
                });
    }
  };
  for (auto& [to, list] : moving) {
    for (auto& key : list) {
      read_image(service, key, [this, state, id, to = to, key, send_all](
                                 status st, runtime::key_image image) mutable {
        if (push_.handover != id)
          return;
        if (!st.is_ok()) {
          state->failed = true;
          state->failure = "reading key " + key + ": " + st.message();
        } else if (image.state.version > 0 || !image.events.empty()) {
          auto* entry = state->batches[to].add_entries();
          entry->set_key(key);
          entry->set_state(std::move(image.state.bytes));
          entry->set_version(image.state.version);
          entry->set_first_seq(image.first_seq);
          for (auto& e : image.events)
            entry->add_events(std::move(e));
        }
        if (--state->loads_left == 0)
          send_all();
      });
    }
  }
}

void handover::read_image(const std::string& service, const std::string& key,
                          std::function<void(status, runtime::key_image)> done) {
  // The key is fenced here (pushes start once this node's shards no longer
  // serve what moves): its state and journal do not change while read.
  inner_->load(service, key, [this, service, key, done = std::move(done)](
                               status st, runtime::stored_state stored) mutable {
    ops_.post([this, service, key, done = std::move(done), st,
               stored = std::move(stored)]() mutable {
      if (!st.is_ok()) {
        done(st, {});
        return;
      }
      auto image = std::make_shared<runtime::key_image>();
      image->state = std::move(stored);
      read_events_from(service, key, 1, image, std::move(done));
    });
  });
}

void handover::read_events_from(const std::string& service, const std::string& key,
                                std::uint64_t from, std::shared_ptr<runtime::key_image> image,
                                std::function<void(status, runtime::key_image)> done) {
  inner_->read_events(
    service, key, from, page_events,
    [this, service, key, image, done = std::move(done)](status st,
                                                        runtime::journal_page page) mutable {
      ops_.post([this, service, key, image, done = std::move(done), st,
                 page = std::move(page)]() mutable {
        if (!st.is_ok() && st.code() != status_code::unimplemented) {
          done(st, {});
          return;
        }
        for (auto& e : page.events) {
          if (image->events.empty())
            image->first_seq = e.seq;
          else if (e.seq != image->first_seq + image->events.size()) {
            done(status{status_code::data_loss, "the journal misses events"}, {});
            return;
          }
          image->events.push_back(std::move(e.bytes));
        }
        if (st.is_ok() && page.more && !page.events.empty()) {
          read_events_from(service, key, image->first_seq + image->events.size(), image,
                           std::move(done));
          return;
        }
        done({}, std::move(*image));
      });
    });
}

void handover::receive(v1::HandoverBatch batch, std::function<void(status)> done) {
  {
    std::lock_guard guard{mtx_};
    if (!membership_ || membership_->handover() == 0
        || membership_->handover() != batch.handover()) {
      done(status{status_code::failed_precondition, "no such handover here now"});
      return;
    }
  }
  struct batch_state {
    std::atomic<std::size_t> left{0};
    std::atomic<bool> failed{false};
    std::string failure;
    std::mutex mtx;
  };
  auto state = std::make_shared<batch_state>();
  std::vector<std::pair<std::string, runtime::key_image>> todo;
  {
    std::lock_guard guard{mtx_};
    for (auto& entry : *batch.mutable_entries()) {
      std::pair<std::string, std::string> slot{batch.service(), entry.key()};
      if (received_.count(slot) > 0)
        continue;  // taken already in this handover: what is here now is newer
      runtime::key_image image;
      image.state.version = entry.version();
      image.state.bytes = std::move(*entry.mutable_state());
      image.first_seq = entry.first_seq();
      for (auto& e : *entry.mutable_events())
        image.events.push_back(std::move(e));
      todo.emplace_back(entry.key(), std::move(image));
    }
  }
  if (todo.empty()) {
    done({});
    return;
  }
  state->left = todo.size();
  auto service = batch.service();
  auto id = batch.handover();
  auto finish_one = [this, state, service, id, done](const std::string& key, status st) {
    if (!st.is_ok()) {
      std::lock_guard guard{state->mtx};
      state->failed = true;
      state->failure = st.message();
    } else {
      std::lock_guard guard{mtx_};
      if (received_for_ == id)
        received_.insert({service, key});
    }
    if (--state->left == 0) {
      auto ok = !state->failed.load();
      auto why = state->failure;
      ops_.post([this, done, ok, why] {
        release_ready();
        done(ok ? status{} : status{status_code::unavailable, why});
      });
    }
  };
  for (auto& [key, image] : todo) {
    // Written over whatever an earlier ownership left here, versions and
    // event numbers as the sender had them.
    inner_->import_key(service, key, std::move(image),
                       [finish_one, key = key](status st) { finish_one(key, st); });
  }
}

} // namespace troupe::cluster
