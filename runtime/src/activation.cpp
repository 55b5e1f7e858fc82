#include "activation.hpp"

#include <atomic>
#include <chrono>
#include <memory>

#include <google/protobuf/descriptor.h>

#include "activation_host.hpp"
#include "answers_after_write.hpp"
#include "crash_report.hpp"
#include "reply_mapping.hpp"
#include "served_call.hpp"
#include "troupe/call_context.hpp"

namespace troupe::runtime {

namespace {

/// Requests larger than this do not stay behind in the host's request slots.
constexpr size_t max_kept_request = 64 * 1024;

/// When a caller refused because of the state store may try again.
constexpr std::uint32_t state_retry_after_ms = 1'000;

reply_envelope state_unavailable(std::string message) {
  auto answer = to_reply(status{status_code::unavailable, std::move(message)});
  answer.retry_after_ms = state_retry_after_ms;
  return answer;
}

reply_envelope unwritten_state() {
  return state_unavailable("the actor's state could not be stored");
}

} // namespace

/// The answers that wait for writes of the declared state, and the writes.
struct activation::state_writes {
  struct held_answer {
    reply_to reply;
    reply_envelope answer;
    std::uint64_t write;  // the number of the write that must be done first
  };
  std::deque<held_answer> held;
  std::uint64_t issued = 0;   // writes started
  std::uint64_t advance = 1;  // how far the write in flight moves the version
  bool in_flight = false;
  bool again = false;         // changed while a write was in flight: write once more
  bool reload_after = false;  // a read of the state waits for the write in flight

  /// Answers the held answers that wait for a write after `write` with
  /// `answer`: their changes will not be written.
  void refuse_after(std::uint64_t write, const reply_envelope& answer) {
    for (auto i = held.begin(); i != held.end();) {
      if (i->write > write) {
        i->reply.deliver(reply_envelope{answer});
        i = held.erase(i);
      } else {
        ++i;
      }
    }
    again = false;
  }

  /// Takes the held answers that wait for `write` alone and may go out from
  /// the write's completion (answers_after_write.hpp); null when there are
  /// none. The write's failure answers them as drop_unwritten_state() does.
  std::shared_ptr<answers_after_write> released_by(std::uint64_t write) {
    std::shared_ptr<answers_after_write> released;
    for (auto i = held.begin(); i != held.end();) {
      if (i->write == write && i->reply.deliverable_anywhere()) {
        if (!released)
          released = std::make_shared<answers_after_write>(&unwritten_state);
        released->add(std::move(i->reply), std::move(i->answer));
        i = held.erase(i);
      } else {
        ++i;
      }
    }
    return released;
  }
};

activation::activation(activation_host& host, const service_entry& entry,
                       std::string key, std::string instance_name)
  : host_(&host),
    entry_(&entry),
    key_(std::move(key)),
    instance_name_(std::move(instance_name)) {
  start_service();
}

activation::~activation() = default;

const std::string& activation::instance_name() const {
  if (instance_name_.empty())
    instance_name_ = node_name() + "/" + entry_->name + "[" + key_ + "]";
  return instance_name_;
}

const std::string& activation::node_name() const noexcept {
  return host_->node_name();
}

bool activation::start_service() {
  incarnation_ = host_->next_incarnation();
  running_call running{entry_->name, "on_activate", key_};
  try {
    impl_ = entry_->definition.factory();
    if (entry_->state_type != nullptr && impl_->declared_state() != nullptr) {
      // on_activate once the state is there (state_loaded).
      mode_ = mode::loading;
      load_state();
      return false;
    }
    impl_->on_activate(key_);
    return true;
  } catch (const std::exception& e) {
    handle_failure("on_activate", e.what());
  } catch (...) {
    handle_failure("on_activate", "unknown exception");
  }
  return false;
}

void activation::receive(envelope& env, reply_to&& rp) {
  ++received_;
  auto& stats = *entry_->stats;
  host_->count_call();
  if (stats.failed.load(std::memory_order_relaxed)) {
    // The whole service failed: no activation serves until an operator
    // resets it, new ones included.
    mode_ = mode::gave_up;
    rp.deliver(to_reply(service_failed(entry_->name)));
    return;
  }
  if (mode_ == mode::gave_up) {
    // An operator reset the service: start afresh (a failing start switches
    // the mode again).
    mode_ = mode::running;
    start_service();
  } else if (mode_ == mode::quarantined) {
    if (auto left = host_->quarantine_left(key_); left.count() > 0) {
      rp.deliver(key_quarantined(left));
      return;
    }
    // The quarantine is over (or an operator reset the service): a fresh
    // service object, as for a key never seen.
    mode_ = mode::running;
    start_service();
  }
  switch (mode_) {
    case mode::running:
      if (writing_state())
        stash(env, std::move(rp));
      else
        serve(env, std::move(rp));
      break;
    case mode::backing_off:
      stash(env, std::move(rp));
      break;
    case mode::load_failed:
      mode_ = mode::loading;
      load_state();
      stash(env, std::move(rp));
      break;
    case mode::loading:
      stash(env, std::move(rp));
      break;
    case mode::gave_up:
      rp.deliver(to_reply(service_failed(entry_->name)));
      break;
    case mode::quarantined:
      // The fresh start above failed at once and was quarantined again.
      rp.deliver(key_quarantined(host_->quarantine_left(key_)));
      break;
  }
}

void activation::stash(envelope& env, reply_to&& rp) {
  if (!stash_)
    stash_ = std::make_unique<std::deque<stashed_call>>();
  if (stash_->size() >= host_->node_bounds().max_mailbox()) {
    // What waits for a restart or for the state is bounded like a mailbox.
    host_->count_shed(shed_reason::mailbox);
    rp.deliver(host_->node_bounds().shed_reply(shed_reason::mailbox, *entry_));
    return;
  }
  rp.keep_past_handler();
  stash_->emplace_back(std::move(env), std::move(rp));
}

void activation::serve_stash() {
  // In order, while nothing makes the calls wait again: a handler that
  // fails (a back-off) or changes the state (a write in flight).
  while (mode_ == mode::running && !writing_state() && stash_ && !stash_->empty()) {
    auto [env, rp] = std::move(stash_->front());
    stash_->pop_front();
    serve(env, std::move(rp));
  }
  if (stash_ && stash_->empty())
    stash_.reset();
}

void activation::serve(envelope& env, reply_to&& rp) {
  // A coarse clock (a few ms) is enough to drop calls that waited too long,
  // and costs a fraction of a precise one on every call.
  if (too_late_to_start(env.deadline_unix_ns)) {
    rp.deliver(to_reply(deadline_passed()));
    return;
  }
  // How long the handler holds the thread, by the coarse clock too: the
  // threshold is tens of milliseconds at least.
  auto started = steady_coarse_now_ns();
  // The handler may move the envelope's fields away (see served_call::share):
  // keep the request bytes here.
  std::string payload = std::move(env.payload);
  served_call call{*this, env, rp};
  call_context ctx{call};
  running_call running{entry_->name, env.method, key_};
  try {
    impl_->dispatch(ctx, env.method, payload);
  } catch (const std::exception& e) {
    // Supervision first: whoever sees the 500 sees the restart counted.
    handle_failure(ctx.method().c_str(), e.what());
    call.fail(status{status_code::internal, "the handler failed"});
  } catch (...) {
    handle_failure(ctx.method().c_str(), "unknown exception");
    call.fail(status{status_code::internal, "the handler failed"});
  }
  if (payload.size() > max_kept_request)
    host_->release_request_slots();
  auto took = steady_coarse_now_ns() - started;
  if (took > host_->node_bounds().slow_handler_threshold_ns() && !entry_->blocking)
    host_->report_slow(ctx.method(), took);
}

void activation::handle_failure(const char* where, const char* what) {
  auto& stats = *entry_->stats;
  stats.failures.fetch_add(1, std::memory_order_relaxed);
  // The service object may be in any state after a throw: drop it, and with
  // it the continuations of the calls it made (continue_with skips them).
  impl_.reset();
  // Changes not yet in a write go with the object; the write in flight, if
  // any, still answers the calls it covers.
  if (writes_)
    writes_->refuse_after(writes_->issued,
                          to_reply(status{status_code::aborted,
                                          "the actor failed before its state was stored"}));
  auto decision = host_->on_failure(*this);
  switch (decision.what) {
    case supervision_decision::action::give_up:
      stats.failed.store(true);
      mode_ = mode::gave_up;
      host_->log().error("service failed: " + std::string{decision.reason} + ", giving up",
                         {{"troupe.service", entry_->name},
                          {"troupe.instance", instance_name()},
                          {"troupe.handler", where},
                          {"error.message", what}});
      answer_stash(to_reply(service_failed(entry_->name)));
      return;
    case supervision_decision::action::quarantine:
      // The activation stays, without a service object, refusing the key's
      // calls until the quarantine ends (idle_since_last_check keeps it).
      mode_ = mode::quarantined;
      host_->log().warn("key quarantined after repeated failures",
                        {{"troupe.service", entry_->name},
                         {"troupe.key", key_},
                         {"troupe.handler", where},
                         {"error.message", what},
                         {"troupe.quarantine_ms", std::to_string(decision.delay.count())}});
      answer_stash(key_quarantined(decision.delay));
      return;
    case supervision_decision::action::restart:
      break;
  }
  stats.restarts.fetch_add(1, std::memory_order_relaxed);
  mode_ = mode::backing_off;
  host_->log().warn("handler failed, restarting",
                    {{"troupe.service", entry_->name},
                     {"troupe.instance", instance_name()},
                     {"troupe.handler", where},
                     {"error.message", what},
                     {"troupe.backoff_ms", std::to_string(decision.delay.count())}});
  host_->schedule_restart(*this, decision.delay);
}

void activation::restart(std::uint64_t incarnation) {
  if (mode_ != mode::backing_off || incarnation != incarnation_)
    return;
  if (entry_->stats->failed.load()) {
    mode_ = mode::gave_up;
    answer_stash(to_reply(service_failed(entry_->name)));
    return;
  }
  mode_ = mode::running;
  if (!start_service())
    return;
  // Serve what arrived during the back-off, in order, unless a handler fails
  // again (then the rest waits for the next restart).
  serve_stash();
}

bool activation::writing_state() const noexcept {
  return writes_ && writes_->in_flight;
}

void activation::load_state() {
  // A read now could overtake the write in flight: it follows the write.
  if (writing_state()) {
    writes_->reload_after = true;
    return;
  }
  host_->load_state(*this);
}

void activation::state_loaded(std::uint64_t incarnation, status result, stored_state stored) {
  // A restart since asked again; the answer for the object before is stale.
  if (incarnation != incarnation_ || mode_ != mode::loading || !impl_)
    return;
  if (!result.is_ok()) {
    // Nothing to serve from: the waiting calls get a 503, and the next call
    // reads again.
    mode_ = mode::load_failed;
    host_->log().warn("the state could not be read",
                      {{"troupe.service", entry_->name},
                       {"troupe.key", key_},
                       {"error.message", result.message()}});
    answer_stash(state_unavailable("the actor's state cannot be read now"));
    return;
  }
  state_version_ = stored.version;
  if (!impl_->declared_state()->load_state(stored.bytes)) {
    handle_failure("load_state",
                   ("the stored state is not a valid " + entry_->state_type->full_name()).c_str());
    return;
  }
  // A journaled state's stored state is its latest snapshot: the events
  // after it follow.
  if (impl_->declared_state()->journal() != nullptr) {
    host_->load_events(*this, state_version_ + 1);
    return;
  }
  finish_loading();
}

void activation::events_loaded(std::uint64_t incarnation, status result, journal_page page) {
  if (incarnation != incarnation_ || mode_ != mode::loading || !impl_)
    return;
  if (!result.is_ok()) {
    mode_ = mode::load_failed;
    host_->log().warn("the journal could not be read",
                      {{"troupe.service", entry_->name},
                       {"troupe.key", key_},
                       {"error.message", result.message()}});
    answer_stash(state_unavailable("the actor's state cannot be read now"));
    return;
  }
  auto* journal = impl_->declared_state()->journal();
  running_call running{entry_->name, "apply", key_};
  for (const auto& event : page.events) {
    const char* fault = nullptr;
    try {
      if (event.seq != state_version_ + 1)
        fault = "the journal misses events";
      else if (!journal->replay_event(event.bytes))
        fault = "a stored event does not parse";
    } catch (const std::exception& e) {
      handle_failure("apply", e.what());
      return;
    } catch (...) {
      handle_failure("apply", "unknown exception");
      return;
    }
    if (fault != nullptr) {
      handle_failure("replay", (std::string{fault} + " (event " + std::to_string(event.seq)
                                + ", expected " + std::to_string(state_version_ + 1) + ")")
                                 .c_str());
      return;
    }
    state_version_ = event.seq;
  }
  if (page.more) {
    host_->load_events(*this, state_version_ + 1);
    return;
  }
  finish_loading();
}

void activation::finish_loading() {
  running_call running{entry_->name, "on_activate", key_};
  try {
    impl_->on_activate(key_);
  } catch (const std::exception& e) {
    handle_failure("on_activate", e.what());
    return;
  } catch (...) {
    handle_failure("on_activate", "unknown exception");
    return;
  }
  mode_ = mode::running;
  serve_stash();
}

void activation::deliver_after_state(reply_to& reply, reply_envelope&& answer) {
  auto* state = impl_ ? impl_->declared_state() : nullptr;
  bool changed = state != nullptr && state->state_changed();
  if (answer.code != 0) {
    // A failing handler leaves the state as stored: its changes are undone,
    // and with them those of answers waiting for the next write.
    if (changed) {
      state->revert_state();
      if (writes_)
        writes_->refuse_after(writes_->issued,
                              to_reply(status{status_code::aborted,
                                              "a concurrent call of this key failed and its "
                                              "changes were undone"}));
    }
    reply.deliver(std::move(answer));
    return;
  }
  if (!changed && !writing_state()) {
    reply.deliver(std::move(answer));
    return;
  }
  // Acknowledged means stored: the answer waits for the write that holds
  // what it saw — the one in flight, or the next when it changed the state.
  if (!writes_)
    writes_ = std::make_unique<state_writes>();
  auto& writes = *writes_;
  reply.keep_past_handler();
  writes.held.push_back({std::move(reply), std::move(answer),
                         changed ? writes.issued + 1 : writes.issued});
  if (changed)
    write_state();
}

void activation::write_state() {
  auto& writes = *writes_;
  if (writes.in_flight) {
    writes.again = true;
    return;
  }
  if (auto* journal = impl_->declared_state()->journal()) {
    write_events(*journal);
    return;
  }
  std::string bytes;
  if (!impl_->declared_state()->save_state(bytes)) {
    drop_unwritten_state(status{status_code::internal, "the state could not be serialized"});
    return;
  }
  writes.in_flight = true;
  writes.advance = 1;
  ++writes.issued;
  host_->save_state(*this, state_version_, std::move(bytes), writes.released_by(writes.issued));
}

void activation::write_events(detail::journal_access& journal) {
  auto& writes = *writes_;
  journal_append append;
  append.first_seq = state_version_ + 1;
  if (!journal.take_events(append.events)) {
    drop_unwritten_state(status{status_code::internal, "an event could not be serialized"});
    return;
  }
  auto last = state_version_ + append.events.size();
  // The state now is the state after the last of these events: a snapshot
  // when they pass a multiple of snapshot_every.
  if (last / entry_->snapshot_every != state_version_ / entry_->snapshot_every) {
    std::string bytes;
    if (journal.snapshot(bytes)) {
      append.snapshot = std::move(bytes);
      append.truncate = entry_->truncate_journal;
    }
  }
  writes.in_flight = true;
  writes.advance = append.events.size();
  ++writes.issued;
  host_->append_events(*this, std::move(append), writes.released_by(writes.issued));
}

void activation::state_saved(const status& result) {
  if (!writing_state())
    return;
  auto& writes = *writes_;
  writes.in_flight = false;
  if (!result.is_ok()) {
    drop_unwritten_state(result);
    return;
  }
  state_version_ += writes.advance;
  for (auto i = writes.held.begin(); i != writes.held.end();) {
    if (i->write <= writes.issued) {
      i->reply.deliver(std::move(i->answer));
      i = writes.held.erase(i);
    } else {
      ++i;
    }
  }
  if (writes.again && impl_) {
    writes.again = false;
    write_state();
  } else if (writes.reload_after) {
    // The object these answers came from is gone (reload_after): none is left
    // waiting, but answer any all the same rather than drop it.
    for (auto& held : writes.held)
      held.reply.deliver(unwritten_state());
    writes_.reset();
    host_->load_state(*this);
    return;
  }
  if (writes_ && !writes_->in_flight && writes_->held.empty())
    writes_.reset();
  serve_stash();
}

void activation::drop_unwritten_state(const status& why) {
  host_->log().warn("the state could not be written; the key starts over from what is stored",
                    {{"troupe.service", entry_->name},
                     {"troupe.key", key_},
                     {"error.message", why.message()}});
  auto answer = unwritten_state();
  if (writes_)
    for (auto& held : writes_->held)
      held.reply.deliver(reply_envelope{answer});
  writes_.reset();
  // What is in memory went further than what is stored: a fresh object
  // reads the stored state (its continuations of the old one are dropped).
  impl_.reset();
  if (mode_ == mode::running) {
    start_service();
    serve_stash();
  }
}

bool activation::idle_since_last_check() noexcept {
  bool idle = received_ == received_at_check_ && mode_ != mode::backing_off
              && mode_ != mode::loading && !writes_ && pending_calls_ == 0
              && (mode_ != mode::quarantined || host_->quarantine_left(key_).count() == 0);
  received_at_check_ = received_;
  return idle;
}

bool activation::passivatable() noexcept {
  return mode_ != mode::backing_off && mode_ != mode::loading && !writes_ && pending_calls_ == 0
         && (mode_ != mode::quarantined || host_->quarantine_left(key_).count() == 0);
}

void activation::stop(const status& for_stashed) {
  if (impl_) {
    try {
      running_call running{entry_->name, "on_passivate", key_};
      impl_->on_passivate();
    } catch (...) {
      // The activation is going away; nothing useful can be done with the
      // error.
    }
    impl_.reset();
  }
  if (writes_) {
    for (auto& held : writes_->held)
      held.reply.deliver(to_reply(for_stashed));
    writes_.reset();
  }
  answer_stash(to_reply(for_stashed));
}

void activation::answer_stash(const reply_envelope& answer) {
  if (!stash_)
    return;
  for (auto& [env, rp] : *stash_)
    rp.deliver(reply_envelope{answer});
  stash_.reset();
}

void activation::call_service(std::string_view service, envelope env,
                              detail::raw_callback done) {
  ++pending_calls_;
  host_->call_service(*this, service, std::move(env), std::move(done));
}

} // namespace troupe::runtime
