#include "agent.hpp"
#include "leader_lease.hpp"

#include <netdb.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include "raft_c.hpp"

#include "cluster_directory.hpp"
#include "handover.hpp"
#include "membership.hpp"
#include "secret.hpp"

namespace troupe::cluster {

namespace {

using namespace std::chrono_literals;

constexpr auto request_timeout = 3s;
constexpr auto max_link_backoff = 2'000ms;
/// A member known this long without a heartbeat is suspected.
constexpr auto first_heartbeat_grace = 3s;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::int64_t steady_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

template <class Message>
cluster_wire wire(wire_kind kind, const Message& message) {
  return cluster_wire{static_cast<std::uint32_t>(kind), message.SerializeAsString()};
}

bool live(v1::MemberState state) {
  return state == v1::JOINING || state == v1::UP || state == v1::LEAVING;
}

bool serves(v1::MemberState state) {
  return state == v1::UP || state == v1::LEAVING;
}

} // namespace

agent::agent(caf::actor_config& cfg, agent_context* ctx)
  : caf::event_based_actor(cfg), ctx_(ctx), config_(*ctx->config) {
  detector_settings_.first_interval = config_.heartbeat_interval;
  detector_settings_.min_std_deviation = config_.min_std_deviation;
  detector_settings_.acceptable_pause = config_.acceptable_pause;
  set_down_handler([this](caf::down_msg& msg) {
    for (auto& [id, p] : peers_)
      if (p.agent && p.agent.address() == msg.source) {
        lose_link(p, msg.reason == caf::exit_reason::remote_link_unreachable);
        return;
      }
  });
}

void agent::on_exit() {
  peers_.clear();
  trusted_.clear();
}

caf::behavior agent::make_behavior() {
  std::string seeds;
  for (const auto& s : config_.seeds)
    seeds += (seeds.empty() ? "" : ",") + s.text();
  if (config_.seeds_dns.port != 0)
    seeds += (seeds.empty() ? "dns:" : ",dns:") + config_.seeds_dns.text();
  log().info("joining the cluster", {{"troupe.cluster", config_.name},
                                     {"troupe.cluster.seeds", seeds},
                                     {"troupe.cluster.address", ctx_->cluster_address}});
  // A node that was in a cluster (its log says so) follows its log from the
  // start (the cluster started it); a new one starts the log once admitted,
  // or as the first seed that found no cluster, bootstrapping it.
  raft_started_ = ctx_->has_log;
  if (ctx_->handovers != nullptr) {
    // Weak: the handover outlives the agent, and a strong handle would keep
    // the agent's thread (it is detached) from ending at shutdown.
    auto self_addr = address();
    ctx_->handovers->attach(handover::agent_ops{
      [self_addr](std::function<void()> fn) {
        if (auto self_handle = caf::actor_cast<caf::actor>(self_addr))
          caf::anon_send(self_handle, agent_task{std::move(fn)});
      },
      [this](std::uint64_t to, v1::HandoverBatch batch, std::function<void(status)> done) {
        auto p = peers_.find(to);
        if (p == peers_.end() || !p->second.linked) {
          done(status{status_code::unavailable, "no link to the key's new node"});
          return;
        }
        request(p->second.agent, std::chrono::seconds{10},
                wire(wire_kind::handover_batch, batch))
          .then(
            [done](cluster_wire& answer) {
              v1::HandoverAck ack;
              if (!ack.ParseFromString(answer.bytes) || !ack.ok())
                done(status{status_code::unavailable,
                            ack.reason().empty() ? "refused" : ack.reason()});
              else
                done({});
            },
            [this, done](caf::error& err) {
              done(status{status_code::unavailable, system().render(err)});
            });
      },
      [this](std::uint64_t id, std::function<void(status)> done) {
        v1::ChangeRequest request;
        request.set_kind(v1::ChangeRequest::HANDOVER_DONE);
        request.set_name(ctx_->name);
        request.set_handover(id);
        request_change(std::move(request), std::move(done));
      },
      [this] { return fenced_epoch_; },
    });
  }
  resolve_dns();
  send(this, tick_atom::value);
  return {
    [this](tick_atom) {
      tick();
      delayed_send(this, config_.heartbeat_interval, tick_atom::value);
    },
    [this](membership_update& u) { on_membership(std::move(u.membership), u.note); },
    [this](leadership_update& u) { on_leadership(std::move(u.lead)); },
    [this](agent_task& task) { task.fn(); },
    [this](fenced_atom, std::uint64_t epoch) {
      if (epoch > fenced_epoch_) {
        fenced_epoch_ = epoch;
        send_heartbeats();
      }
    },
    [this](leave_atom) {
      leave_requested_ = true;
      start_leave();
    },
    [this](drain_atom, std::string& name) {
      v1::ChangeRequest request;
      request.set_kind(v1::ChangeRequest::LEAVE);
      request.set_name(name);
      request_change(std::move(request), [this, name](status st) {
        if (st.is_ok())
          log().info("drain requested", {{"troupe.cluster.member", name}});
        else
          log().warn("drain refused", {{"troupe.cluster.member", name},
                                       {"error.message", st.message()}});
      });
    },
    [this](remove_request& removal) {
      v1::ChangeRequest request;
      request.set_kind(v1::ChangeRequest::REMOVE);
      request.set_name(removal.name);
      request_change(std::move(request), [this, removal](status st) {
        if (st.is_ok())
          log().warn("member removed by an operator: the state of the durable keys it held is "
                     "given up, and they start again from none on the other members",
                     {{"troupe.cluster.member", removal.name}});
        else
          log().warn("removal refused", {{"troupe.cluster.member", removal.name},
                                         {"error.message", st.message()}});
        removal.done(st);
      });
    },
    [this](cluster_catalog_request& request) -> cluster_catalog {
      return make_catalog(request);
    },
    [this](cluster_wire& w) -> caf::delegated<cluster_wire> {
      bool is_request = current_mailbox_element()->mid.is_request();
      switch (static_cast<wire_kind>(w.kind)) {
        case wire_kind::join_request: {
          v1::JoinRequest request;
          if (is_request && request.ParseFromString(w.bytes))
            handle_join_request(request, make_response_promise());
          break;
        }
        case wire_kind::change_request: {
          v1::ChangeRequest request;
          if (is_request && request.ParseFromString(w.bytes) && sender_id() != 0)
            handle_change(request, make_response_promise());
          break;
        }
        case wire_kind::handover_batch: {
          v1::HandoverBatch batch;
          if (is_request && batch.ParseFromString(w.bytes) && sender_id() != 0
              && ctx_->handovers != nullptr) {
            auto rp = make_response_promise();
            ctx_->handovers->receive(std::move(batch), [rp](status st) mutable {
              v1::HandoverAck ack;
              ack.set_ok(st.is_ok());
              ack.set_reason(st.message());
              rp.deliver(wire(wire_kind::handover_ack, ack));
            });
          }
          break;
        }
        case wire_kind::heartbeat: {
          v1::Heartbeat hb;
          if (auto from = sender_id(); from != 0 && hb.ParseFromString(w.bytes))
            on_heartbeat(hb, from);
          break;
        }
        case wire_kind::lease_grant: {
          v1::LeaseGrant grant;
          if (auto from = sender_id(); from != 0 && grant.ParseFromString(w.bytes))
            on_grant(grant, from);
          break;
        }
        default:
          break;
      }
      return {};
    },
  };
}

std::uint64_t agent::sender_id() {
  auto* element = current_mailbox_element();
  if (element == nullptr || !element->sender)
    return 0;
  auto i = trusted_.find(element->sender->node());
  return i == trusted_.end() ? 0 : i->second;
}

// -- joining --------------------------------------------------------------------

bool agent::first_seed() const {
  std::vector<std::string> seeds;
  if (!config_.seeds.empty())
    seeds.push_back(config_.seeds.front().text());
  for (const auto& s : dns_seeds_)
    seeds.push_back(s.text());
  if (config_.seeds.empty())
    std::sort(seeds.begin(), seeds.end());
  if (seeds.empty())
    return config_.seeds.empty() && config_.seeds_dns.port == 0;  // no seeds: alone
  return seeds.front() == ctx_->cluster_address || seeds.front() == config_.listen.text();
}

std::vector<host_port> agent::join_targets() const {
  std::vector<host_port> targets;
  auto add = [&](const host_port& hp) {
    if (hp.text() == ctx_->cluster_address || hp.text() == config_.listen.text())
      return;
    if (std::find(targets.begin(), targets.end(), hp) == targets.end())
      targets.push_back(hp);
  };
  for (const auto& s : config_.seeds)
    add(s);
  for (const auto& s : dns_seeds_)
    add(s);
  if (membership_)
    for (const auto& m : membership_->members())
      if (m.raft_id() != ctx_->raft_id && live(m.state()))
        try {
          add(parse_host_port(m.cluster_address()));
        } catch (...) {
        }
  return targets;
}

void agent::resolve_dns() {
  if (config_.seeds_dns.port == 0 || dns_in_flight_)
    return;
  dns_in_flight_ = true;
  next_dns_ = clock::now() + config_.dns_interval;
  auto name = config_.seeds_dns;
  auto self = caf::actor_cast<caf::actor>(this);
  // getaddrinfo blocks: on a thread of its own, bounded by the resolver's
  // own timeouts. The answer runs on the agent (`me` is used only there).
  std::thread{[self, me = this, name] {
    std::vector<host_port> found;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    if (::getaddrinfo(name.host.c_str(), nullptr, &hints, &result) == 0) {
      for (auto* a = result; a != nullptr; a = a->ai_next) {
        char host[NI_MAXHOST];
        if (::getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0,
                          NI_NUMERICHOST)
            == 0) {
          host_port hp{host, name.port};
          if (std::find(found.begin(), found.end(), hp) == found.end())
            found.push_back(hp);
        }
      }
      ::freeaddrinfo(result);
    }
    caf::anon_send(self, agent_task{[me, found]() mutable {
                     me->dns_in_flight_ = false;
                     std::sort(found.begin(), found.end(),
                               [](const host_port& a, const host_port& b) {
                                 return a.text() < b.text();
                               });
                     if (found != me->dns_seeds_) {
                       me->dns_seeds_ = std::move(found);
                       std::string list;
                       for (const auto& s : me->dns_seeds_)
                         list += (list.empty() ? "" : ",") + s.text();
                       me->log().info("seeds resolved from DNS",
                                      {{"troupe.cluster.seeds_dns", me->config_.seeds_dns.text()},
                                       {"troupe.cluster.seeds", list}});
                     }
                   }});
  }}.detach();
}

void agent::maybe_join() {
  auto now = clock::now();
  if (config_.seeds_dns.port != 0 && now >= next_dns_)
    resolve_dns();
  auto* self = self_record();
  // A process that left (drained, or on SIGTERM) stays out; a restart of
  // the node joins again (its record names another process).
  bool rejoin = self != nullptr && (self->process_id() != ctx_->process_id
                                    || self->state() == v1::DOWN);
  if (joined_ && !rejoin)
    return;
  if (join_in_flight_ || now < next_join_)
    return;
  if (config_.seeds_dns.port != 0 && dns_seeds_.empty() && dns_in_flight_)
    return;  // the first answer of DNS tells who the first seed is
  // The leader itself rejoins without asking anybody.
  if (lead_.self && membership_ && !membership_->cluster_name().empty()) {
    v1::Member candidate;
    candidate.set_name(ctx_->name);
    candidate.set_raft_id(ctx_->raft_id);
    candidate.set_process_id(ctx_->process_id);
    candidate.set_cluster_address(ctx_->cluster_address);
    candidate.set_raft_address(ctx_->raft_address);
    candidate.set_http_address(ctx_->http_address);
    candidate.set_started_at_unix_ms(ctx_->started_at_unix_ms);
    for (const auto& s : ctx_->services)
      *candidate.add_services() = s;
    v1::Command command;
    *command.mutable_join() = candidate;
    join_in_flight_ = true;
    propose(std::move(command), [this](status st) {
      join_in_flight_ = false;
      if (st.is_ok())
        joined_ = true;
      else
        next_join_ = clock::now() + config_.join_retry_initial;
    });
    return;
  }
  auto targets = join_targets();
  join_in_flight_ = true;
  join_pending_ = static_cast<int>(targets.size());
  join_targets_ = join_pending_;
  join_no_cluster_ = 0;
  join_accepted_ = false;
  join_refusal_.clear();
  if (targets.empty()) {
    join_round_done();
    return;
  }
  for (const auto& target : targets) {
    auto nonce = random_bytes(16);
    v1::JoinRequest request;
    request.set_cluster_name(config_.name);
    auto* c = request.mutable_candidate();
    c->set_name(ctx_->name);
    c->set_raft_id(ctx_->raft_id);
    c->set_process_id(ctx_->process_id);
    c->set_cluster_address(ctx_->cluster_address);
    c->set_raft_address(ctx_->raft_address);
    c->set_http_address(ctx_->http_address);
    c->set_started_at_unix_ms(ctx_->started_at_unix_ms);
    for (const auto& s : ctx_->services)
      *c->add_services() = s;
    request.set_nonce(nonce);
    request.set_proof(prove(config_.secret, {"join", config_.name, ctx_->name,
                                             std::to_string(ctx_->raft_id),
                                             std::to_string(ctx_->process_id), nonce}));
    auto self_handle = caf::actor_cast<caf::actor>(this);
    auto text = target.text();
    auto round = join_rounds_;
    ctx_->links->connect(
      target.host, target.port,
      [self_handle, me = this, text, round, request = std::move(request),
       nonce](connect_result r) mutable {
        caf::anon_send(self_handle, agent_task{[me, text, round, r, request, nonce]() mutable {
          if (!r.peer) {
            me->on_join_answer(round, text, std::nullopt, r.error);
            return;
          }
          me->request(r.peer, request_timeout, wire(wire_kind::join_request, request))
            .then(
              [me, text, round, nonce](cluster_wire& answer) {
                v1::JoinReply reply;
                if (answer.kind != static_cast<std::uint32_t>(wire_kind::join_reply)
                    || !reply.ParseFromString(answer.bytes)) {
                  me->on_join_answer(round, text, std::nullopt, "not a join reply");
                  return;
                }
                if ((reply.code() == v1::JoinReply::ACCEPTED
                     || reply.code() == v1::JoinReply::NOT_MEMBER)
                    && !same_proof(reply.proof(),
                                   prove(me->config_.secret, {"seed", me->config_.name, nonce}))) {
                  reply.set_code(v1::JoinReply::REFUSED);
                  reply.set_reason("the seed does not know this cluster's secret");
                }
                me->on_join_answer(round, text, reply, {});
              },
              [me, text, round](caf::error& err) {
                me->on_join_answer(round, text, std::nullopt, me->system().render(err));
              });
        }});
      });
  }
}

void agent::on_join_answer(int round, const std::string& target,
                           std::optional<v1::JoinReply> reply, const std::string& error) {
  if (!join_in_flight_ || round != join_rounds_)
    return;  // a round that ended already
  --join_pending_;
  if (!reply) {
    ++join_no_cluster_;
    log().debug("seed did not answer", {{"troupe.cluster.seed", target}, {"error.message", error}});
  } else {
    switch (reply->code()) {
      case v1::JoinReply::ACCEPTED:
        join_accepted_ = true;
        log().info("admitted to the cluster", {{"troupe.cluster", config_.name},
                                               {"troupe.cluster.seed", target}});
        // Decisive: the other seeds' answers are not waited for.
        join_round_done();
        return;
      case v1::JoinReply::NOT_MEMBER:
        ++join_no_cluster_;
        break;
      case v1::JoinReply::REFUSED:
        join_refusal_ = reply->reason();
        log().error("a seed refused this node", {{"troupe.cluster.seed", target},
                                                 {"troupe.cluster", config_.name},
                                                 {"error.message", reply->reason()}});
        break;
      default:
        break;
    }
  }
  if (join_pending_ <= 0)
    join_round_done();
}

void agent::join_round_done() {
  join_in_flight_ = false;
  ++join_rounds_;
  if (join_accepted_) {
    joined_ = true;
    join_backoff_ = {};
    if (!raft_started_) {
      raft_started_ = true;
      ctx_->start_raft(false);
    }
    return;
  }
  bool nobody = join_no_cluster_ == join_targets_ && join_refusal_.empty();
  if (nobody && !raft_started_ && first_seed() && !ctx_->has_log) {
    log().info("no other seed is in a cluster: forming cluster " + config_.name,
               {{"troupe.cluster", config_.name}});
    raft_started_ = true;
    bootstrapped_ = true;
    joined_ = true;
    ctx_->start_raft(true);
    return;
  }
  join_backoff_ = join_backoff_.count() == 0
                    ? config_.join_retry_initial
                    : std::min(join_backoff_ * 2, config_.join_retry_max);
  next_join_ = clock::now() + join_backoff_;
  log().info("not admitted to the cluster yet; retrying",
             {{"troupe.cluster", config_.name},
              {"troupe.cluster.seeds_tried", join_targets_},
              {"troupe.cluster.seeds_without_cluster", join_no_cluster_},
              {"troupe.cluster.retry_in_ms", join_backoff_.count()}});
}

// -- serving join requests -------------------------------------------------------

v1::JoinReply agent::join_reply(v1::JoinReply::Code code, std::string reason,
                                const std::string& nonce) const {
  v1::JoinReply reply;
  reply.set_code(code);
  reply.set_reason(std::move(reason));
  reply.set_proof(prove(config_.secret, {"seed", config_.name, nonce}));
  return reply;
}

void agent::handle_join_request(const v1::JoinRequest& request, caf::response_promise rp) {
  const auto& c = request.candidate();
  auto answer = [&](v1::JoinReply::Code code, std::string reason) {
    rp.deliver(wire(wire_kind::join_reply, join_reply(code, std::move(reason), request.nonce())));
  };
  if (request.cluster_name() != config_.name) {
    log().warn("refused a node of another cluster",
               {{"troupe.cluster.member", c.name()},
                {"troupe.cluster.address", c.cluster_address()},
                {"troupe.cluster", config_.name},
                {"troupe.cluster.their_cluster", request.cluster_name()}});
    answer(v1::JoinReply::REFUSED, "this node belongs to cluster " + config_.name + ", not "
                                     + request.cluster_name());
    return;
  }
  if (!same_proof(request.proof(),
                  prove(config_.secret, {"join", config_.name, c.name(),
                                         std::to_string(c.raft_id()),
                                         std::to_string(c.process_id()), request.nonce()}))) {
    log().warn("refused a node with the wrong cluster secret",
               {{"troupe.cluster.member", c.name()},
                {"troupe.cluster.address", c.cluster_address()}});
    answer(v1::JoinReply::REFUSED, "wrong cluster secret");
    return;
  }
  auto* self = self_record();
  if (!membership_ || membership_->cluster_name().empty() || self == nullptr
      || self->process_id() != ctx_->process_id) {
    answer(v1::JoinReply::NOT_MEMBER, "this node is not in the cluster yet");
    return;
  }
  if (lead_.self) {
    admit(c, std::move(rp), request.nonce());
    return;
  }
  auto leader = peers_.find(lead_.leader);
  if (lead_.leader != 0 && leader != peers_.end() && leader->second.linked) {
    // The leader answers the joining node itself.
    rp.delegate(leader->second.agent, wire(wire_kind::join_request, request));
    return;
  }
  answer(v1::JoinReply::RETRY, "the cluster has no leader now");
}

void agent::admit(const v1::Member& candidate, caf::response_promise rp, std::string nonce) {
  auto answer = [this, rp, nonce](v1::JoinReply::Code code, std::string reason) mutable {
    rp.deliver(wire(wire_kind::join_reply, join_reply(code, std::move(reason), nonce)));
  };
  std::string refused;
  if (!may_admit(*membership_, candidate.name(), candidate.raft_id(), refused)) {
    log().warn("refused a node", {{"troupe.cluster.member", candidate.name()},
                                  {"error.message", refused}});
    answer(v1::JoinReply::REFUSED, refused);
    return;
  }
  auto in_config = [this](std::uint64_t id) {
    for (auto& [server, role] : lead_.servers)
      if (server == id)
        return true;
    return false;
  };
  auto* existing = find_member(*membership_, candidate.name());
  auto add_to_log = [this, candidate, in_config, answer]() mutable {
    if (in_config(candidate.raft_id())) {
      answer(v1::JoinReply::ACCEPTED, {});
      return;
    }
    if (config_change_in_flight_) {
      answer(v1::JoinReply::RETRY, "another change of the consensus is in progress");
      return;
    }
    config_change_in_flight_ = true;
    auto self_handle = caf::actor_cast<caf::actor>(this);
    ctx_->raft->add_server(
      candidate.raft_id(), candidate.raft_address(), RAFT_STANDBY,
      [self_handle, me = this, answer](status st) mutable {
        caf::anon_send(self_handle, agent_task{[me, st, answer]() mutable {
          me->config_change_in_flight_ = false;
          answer(st.is_ok() ? v1::JoinReply::ACCEPTED : v1::JoinReply::RETRY, st.message());
        }});
      });
  };
  if (existing != nullptr && existing->raft_id() == candidate.raft_id()
      && existing->process_id() == candidate.process_id() && live(existing->state())) {
    add_to_log();  // asked again: admitted already
    return;
  }
  // A node asks every seed at once: admitting it once per request would
  // give it an incarnation per request.
  auto joining = std::make_pair(candidate.raft_id(), candidate.process_id());
  if (!admitting_.insert(joining).second) {
    answer(v1::JoinReply::RETRY, "this node's admission is under way");
    return;
  }
  v1::Command command;
  *command.mutable_join() = candidate;
  propose(std::move(command), [this, joining, add_to_log, answer](status st) mutable {
    admitting_.erase(joining);
    if (st.is_ok())
      add_to_log();
    else
      answer(v1::JoinReply::RETRY, st.message());
  });
}

// -- links ------------------------------------------------------------------------

bool agent::opens_link_to(const peer& p) const {
  // Over TLS (CAF's OpenSSL module) two connections between one pair of
  // nodes, one opened by each, lose messages: only the member that joined
  // later opens the link; the other learns its agent from its catalog
  // request. Plain BASP copes with both, and both connect.
  if (!ctx_->tls || !membership_)
    return true;
  const auto* self = self_record();
  const auto* other = find_member(*membership_, p.raft_id);
  if (self == nullptr || other == nullptr)
    return true;
  if (self->joined_epoch() != other->joined_epoch())
    return self->joined_epoch() > other->joined_epoch();
  return ctx_->raft_id > p.raft_id;
}

void agent::connect_peers() {
  if (!membership_)
    return;
  auto now = clock::now();
  for (auto& [id, p] : peers_)
    if (!p.linked && !p.connecting && now >= p.next_attempt && opens_link_to(p))
      connect(p);
}

void agent::connect(peer& p) {
  host_port hp;
  try {
    hp = parse_host_port(p.address);
  } catch (...) {
    return;
  }
  p.connecting = true;
  auto self_handle = caf::actor_cast<caf::actor>(this);
  auto id = p.raft_id;
  auto process = p.process_id;
  ctx_->links->connect(hp.host, hp.port, [self_handle, me = this, id, process](connect_result r) {
    caf::anon_send(self_handle, agent_task{[me, id, process, r]() mutable {
      me->on_connected(id, process, std::move(r));
    }});
  });
}

void agent::on_connected(std::uint64_t raft_id, std::uint64_t process_id, connect_result r) {
  auto i = peers_.find(raft_id);
  if (i == peers_.end() || i->second.process_id != process_id)
    return;  // gone, or another incarnation by now
  auto& p = i->second;
  auto failed = [this, &p](bool refused, const std::string& why) {
    p.connecting = false;
    p.backoff = p.backoff.count() == 0 ? 50ms : std::min(p.backoff * 2,
                                                       std::chrono::milliseconds{max_link_backoff});
    p.next_attempt = clock::now() + p.backoff;
    if (refused && p.link_lost && !p.confirmed_dead) {
      log().info("member's process is gone: its cluster port refuses connections",
                 {{"troupe.cluster.member", p.name}});
      process_gone(p);
    }
    log().debug("link to member failed", {{"troupe.cluster.member", p.name},
                                          {"error.message", why}});
  };
  if (!r.peer) {
    failed(r.refused, r.error);
    return;
  }
  auto ask = catalog_request();
  auto nonce = ask.nonce;
  auto peer_handle = r.peer;
  request(peer_handle, request_timeout, std::move(ask))
    .then(
      [this, raft_id, process_id, nonce, peer_handle](cluster_catalog& catalog) {
        auto i = peers_.find(raft_id);
        if (i == peers_.end() || i->second.process_id != process_id)
          return;
        i->second.agent = peer_handle;
        on_catalog(raft_id, catalog, nonce);
      },
      [this, raft_id, process_id](caf::error& err) {
        auto i = peers_.find(raft_id);
        if (i == peers_.end() || i->second.process_id != process_id)
          return;
        i->second.connecting = false;
        i->second.next_attempt = clock::now() + 200ms;
        log().debug("catalog request failed", {{"troupe.cluster.member", i->second.name},
                                               {"error.message", system().render(err)}});
      });
}

cluster_catalog_request agent::catalog_request() const {
  cluster_catalog_request ask;
  ask.cluster = config_.name;
  ask.name = ctx_->name;
  ask.raft_id = ctx_->raft_id;
  ask.process_id = ctx_->process_id;
  ask.nonce = random_bytes(16);
  ask.proof = prove(config_.secret, {"catalog", config_.name, ctx_->name, ask.nonce});
  return ask;
}

void agent::refresh_catalog(peer& p) {
  p.refreshing = true;
  auto ask = catalog_request();
  auto nonce = ask.nonce;
  auto raft_id = p.raft_id;
  auto process_id = p.process_id;
  auto done = [this, raft_id, process_id] {
    auto i = peers_.find(raft_id);
    if (i == peers_.end() || i->second.process_id != process_id)
      return static_cast<peer*>(nullptr);
    i->second.refreshing = false;
    return i->second.linked ? &i->second : nullptr;
  };
  request(p.agent, request_timeout, std::move(ask))
    .then(
      [this, done, nonce](cluster_catalog& catalog) {
        auto* p = done();
        if (p == nullptr || !catalog.refusal.empty() || catalog.process_id != p->process_id
            || !same_proof(catalog.proof, prove(config_.secret, {"catalog-reply", config_.name,
                                                                 catalog.name, nonce})))
          return;  // the link's own checks deal with a member that changed
        take_catalog(*p, catalog);
        publish();
      },
      [done](caf::error&) { done(); });  // the next heartbeat asks again
}

void agent::take_catalog(peer& p, cluster_catalog& catalog) {
  p.actors.clear();
  for (std::size_t i = 0; i < catalog.services.size() && i < catalog.actors.size(); ++i)
    p.actors[catalog.services[i]] = std::move(catalog.actors[i]);
  p.instances_version = catalog.instances_version;
}

void agent::scale_instances() {
  const auto* self = self_record();
  if (self == nullptr || self->process_id() != ctx_->process_id)
    return;  // not a member (yet): runs what it started with
  // Enough for every member to learn the change from a heartbeat and ask
  // for the new catalog before the instances it no longer calls stop.
  auto grace = std::max<std::chrono::milliseconds>(5s, 20 * config_.heartbeat_interval);
  bool changed = false;
  for (const auto& entry : ctx_->node->services().entries()) {
    if (entry->cluster_instances == 0)
      continue;
    auto shares = instance_shares(*membership_, entry->name, entry->cluster_instances);
    if (shares.empty())
      continue;  // no member is up yet: keep them until one is
    auto share = shares.find(ctx_->raft_id);
    auto want = share == shares.end() ? 0u : share->second;
    auto before = entry->stats->instances.load();
    auto now = ctx_->node->scale(entry->name, want, grace);
    changed = changed || (now && *now != before);
  }
  if (changed)
    ++instances_version_;
}

void agent::on_catalog(std::uint64_t raft_id, cluster_catalog& catalog, const std::string& nonce) {
  auto& p = peers_.at(raft_id);
  p.connecting = false;
  if (!catalog.refusal.empty()) {
    log().error("a member refused this node's link", {{"troupe.cluster.member", p.name},
                                                      {"error.message", catalog.refusal}});
    p.agent = nullptr;
    p.next_attempt = clock::now() + max_link_backoff;
    return;
  }
  if (!same_proof(catalog.proof,
                  prove(config_.secret, {"catalog-reply", config_.name, catalog.name, nonce}))) {
    log().error("a member does not know the cluster secret; no link to it",
                {{"troupe.cluster.member", p.name}});
    p.agent = nullptr;
    p.next_attempt = clock::now() + max_link_backoff;
    return;
  }
  if (catalog.process_id != p.process_id || catalog.raft_id != raft_id) {
    // Another process answers at the member's address: the one the
    // membership knows is gone.
    if (!p.confirmed_dead) {
      log().info("member's process is gone: another one answers at its address",
                 {{"troupe.cluster.member", p.name}});
      process_gone(p);
    }
    p.agent = nullptr;
    p.next_attempt = clock::now() + 200ms;
    return;
  }
  take_catalog(p, catalog);
  p.caf_node = p.agent.node();
  trusted_[p.caf_node] = raft_id;
  monitor(p.agent);
  p.linked = true;
  p.link_lost = false;
  p.confirmed_dead = false;
  p.backoff = {};
  log().info("linked to member", {{"troupe.cluster.member", p.name},
                                  {"troupe.cluster.address", p.address}});
  publish();
}

cluster_catalog agent::make_catalog(const cluster_catalog_request& request) {
  cluster_catalog catalog;
  catalog.name = ctx_->name;
  catalog.raft_id = ctx_->raft_id;
  catalog.process_id = ctx_->process_id;
  if (request.cluster != config_.name) {
    log().warn("refused a link from a node of another cluster",
               {{"troupe.cluster.member", request.name},
                {"troupe.cluster.their_cluster", request.cluster}});
    catalog.refusal = "this node belongs to cluster " + config_.name;
    return catalog;
  }
  if (!same_proof(request.proof,
                  prove(config_.secret, {"catalog", config_.name, request.name, request.nonce}))) {
    log().warn("refused a link from a node with the wrong cluster secret",
               {{"troupe.cluster.member", request.name}});
    catalog.refusal = "wrong cluster secret";
    return catalog;
  }
  if (auto* element = current_mailbox_element(); element != nullptr && element->sender) {
    trusted_[element->sender->node()] = request.raft_id;
    // A member that opens the link to this one: ask it for its catalog
    // over the connection it made.
    auto p = peers_.find(request.raft_id);
    if (p != peers_.end() && p->second.process_id == request.process_id && !p->second.linked
        && !p->second.connecting && !opens_link_to(p->second)) {
      p->second.connecting = true;
      auto requester = caf::actor_cast<caf::actor>(element->sender);
      auto raft_id = request.raft_id;
      auto process_id = request.process_id;
      send(this, agent_task{[this, raft_id, process_id, requester] {
        on_connected(raft_id, process_id, connect_result{requester, false, {}});
      }});
    }
  }
  catalog.proof = prove(config_.secret, {"catalog-reply", config_.name, ctx_->name, request.nonce});
  for (auto& hosted : ctx_->node->hosted_services()) {
    catalog.services.push_back(hosted.entry->name);
    catalog.actors.push_back(std::move(hosted.actors));
  }
  catalog.instances_version = instances_version_;
  return catalog;
}

void agent::lose_link(peer& p, bool lost) {
  if (!p.linked && !p.agent)
    return;
  p.linked = false;
  p.agent = nullptr;
  p.actors.clear();
  trusted_.erase(p.caf_node);
  p.link_lost = true;
  p.connecting = false;
  p.next_attempt = clock::now();
  log().info("link to member lost", {{"troupe.cluster.member", p.name},
                                     {"troupe.cluster.connection_lost", lost ? "true" : "false"}});
  publish();
  probe(p);
}

void agent::process_gone(peer& p) {
  p.confirmed_dead = true;
  hasten_election(p, "its process is gone");
}

void agent::hasten_election(const peer& p, const char* why) {
  // A follower of a leader that died or fell silent need not wait out the
  // election timeout. Pre-vote keeps this from unseating a leader the
  // other voters still hear.
  if (lead_.self || lead_.leader != p.raft_id || ctx_->raft == nullptr)
    return;
  log().info("the leader is lost: standing for election sooner",
             {{"troupe.cluster.member", p.name}, {"event.reason", why}});
  // From now on this node may vote for another leader at once; it must
  // answer none of the old one's heartbeats after that vote, or it would
  // renew a lease the new leader counts as ended (lead(): down detection).
  lost_leader_ = p.raft_id;
  followed_leader_ = 0;
  followed_seq_ = 0;
  ctx_->raft->hasten_election(p.raft_id, p.confirmed_dead);
}

void agent::probe(peer& p) {
  // Connecting again tells a process that is gone (its port refuses) from
  // a link that broke (it answers, as the same process).
  if (!p.connecting && opens_link_to(p))
    connect(p);
}

// -- heartbeats, leases, detection ---------------------------------------------

void agent::tick() {
  maybe_join();
  connect_peers();
  send_heartbeats();
  fail_calls_to_silent_peers();
  lead();
  if (leave_requested_ && !left_ && self_state_ == v1::UP)
    start_leave();
  if (ctx_->handovers != nullptr)
    ctx_->handovers->tick();
  publish_view();
}

void agent::send_heartbeats() {
  auto* self = self_record();
  if (self == nullptr || self->process_id() != ctx_->process_id)
    return;
  auto now = clock::now();
  ++seq_;
  sent_at_[seq_ % sent_ring] = now;
  v1::Heartbeat hb;
  hb.set_name(ctx_->name);
  hb.set_process_id(ctx_->process_id);
  hb.set_incarnation(self->incarnation());
  hb.set_applied_epoch(fenced_epoch_);
  hb.set_seq(seq_);
  hb.set_sent_at_unix_ms(unix_ms());
  hb.set_instances_version(instances_version_);
  if (!lead_.self && lead_.leader != 0 && followed_leader_ == lead_.leader) {
    hb.set_leader_raft_id(followed_leader_);
    hb.set_leader_seq(followed_seq_);
    hb.set_leader_term(lead_.term);
    // The leader's lease runs from when it sent the heartbeat answered,
    // which is before this node received it.
    note_answered(followed_leader_, followed_at_);
    if (earlier_leader_at_)
      hb.set_earlier_leader_age_ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - *earlier_leader_at_).count());
  }
  for (auto& [id, p] : peers_)
    if (p.linked)
      hb.add_connected(id);
  for (const auto& entry : ctx_->node->services().entries()) {
    auto* load = hb.add_services();
    load->set_name(entry->name);
    load->set_active_actors(entry->stats->active_actors.load(std::memory_order_relaxed));
  }
  auto message = wire(wire_kind::heartbeat, hb);
  for (auto& [id, p] : peers_)
    if (p.linked)
      send(p.agent, message);
}

void agent::fail_calls_to_silent_peers() {
  // Across a partition links do not break and no member of this side may
  // declare the others down (no majority): without this, a call in flight to
  // a member on the other side would wait for its deadline. The detector
  // every node runs on each peer's heartbeats says when to stop waiting.
  auto now = clock::now();
  bool changed = false;  // the directory leaves silent members out
  for (auto& [id, p] : peers_) {
    if (!p.caf_node || !p.last_heartbeat)
      continue;
    auto phi = p.detector.phi(now);
    if (phi < config_.phi_threshold) {
      changed = changed || p.calls_failed;
      p.calls_failed = false;
      if (lost_leader_ == id && !p.confirmed_dead)
        lost_leader_ = 0;  // heard again: it was not lost after all
      continue;
    }
    if (p.calls_failed)
      continue;
    p.calls_failed = true;
    changed = true;
    log().info("a member fell silent: failing this node's calls in flight to it",
               {{"troupe.cluster.member", p.name}});
    // Only while another member is heard: a node that was frozen itself
    // finds every member silent when it resumes, and its leader is fine.
    bool others_heard = false;
    for (const auto& [other_id, other] : peers_)
      if (other_id != id && other.last_heartbeat
          && other.detector.phi(now) < config_.phi_threshold)
        others_heard = true;
    if (others_heard)
      hasten_election(p, "it fell silent");
    ctx_->node->fail_calls_to(p.caf_node, "node " + p.name
                                            + " fell silent (no heartbeat) while serving this "
                                              "call: its answer may never come");
  }
  if (changed)
    publish();
}

void agent::on_heartbeat(const v1::Heartbeat& hb, std::uint64_t from) {
  auto i = peers_.find(from);
  if (i == peers_.end())
    return;
  auto& p = i->second;
  // A member whose link this node waits for (opens_link_to): its
  // heartbeats say it has one; ask it for its catalog over that connection.
  if (!p.linked && !p.connecting && hb.process_id() == p.process_id && !opens_link_to(p))
    if (auto* element = current_mailbox_element(); element != nullptr && element->sender) {
      p.connecting = true;
      auto requester = caf::actor_cast<caf::actor>(element->sender);
      auto process_id = p.process_id;
      send(this, agent_task{[this, from, process_id, requester] {
        on_connected(from, process_id, connect_result{requester, false, {}});
      }});
    }
  if (p.linked && !p.refreshing && hb.process_id() == p.process_id
      && hb.instances_version() != p.instances_version)
    refresh_catalog(p);
  auto now = clock::now();
  p.detector.heartbeat(now);
  p.last_heartbeat = now;
  p.heard_process = hb.process_id();
  p.connected.assign(hb.connected().begin(), hb.connected().end());
  p.loads.clear();
  for (const auto& load : hb.services())
    p.loads[load.name()] = load.active_actors();
  if (hb.process_id() == p.process_id)
    p.acked_epoch = std::max(p.acked_epoch, hb.applied_epoch());
  if (from == lead_.leader && !lead_.self && from != lost_leader_) {
    if (followed_leader_ != from)
      followed_seq_ = 0;
    followed_leader_ = from;
    if (hb.seq() > followed_seq_) {
      followed_seq_ = hb.seq();
      followed_at_ = now;
    }
  }
  if (!lead_.self || !membership_)
    return;
  if (hb.leader_raft_id() == ctx_->raft_id && hb.leader_term() == lead_.term) {
    // Only from this leadership: a report from an earlier one of this node
    // may leave out leaders answered since. The age is counted down to
    // whole milliseconds and the heartbeat took a while to come: the time
    // found is later than the true one, never earlier (the clocks run at
    // the same rate).
    p.reported_earlier = true;
    if (hb.has_earlier_leader_age_ms())
      p.earlier_leader_at = now - std::chrono::milliseconds{hb.earlier_leader_age_ms()};
    else
      p.earlier_leader_at.reset();
  }
  if (hb.leader_raft_id() == ctx_->raft_id && hb.leader_seq() != 0 && hb.leader_seq() <= seq_
      && seq_ - hb.leader_seq() < sent_ring) {
    auto sent = sent_at_[hb.leader_seq() % sent_ring];
    if (!p.follows_me_since || sent > *p.follows_me_since)
      p.follows_me_since = sent;
  }
  // The leader's answer: a lease, when it may give one.
  const auto* member = find_member(*membership_, from);
  if (member == nullptr || member->process_id() != hb.process_id()
      || member->incarnation() != hb.incarnation() || !serves(member->state())
      || hb.applied_epoch() < membership_->epoch() || suspected(p, now))
    return;
  // Grant only while this node's own lease as the leader holds.
  if (auto acked = quorum_acked_at(now); !acked || now >= *acked + config_.lease)
    return;
  last_grant_[from] = now;
  v1::LeaseGrant grant;
  grant.set_seq(hb.seq());
  grant.set_epoch(membership_->epoch());
  grant.set_settled(leader_settled_);
  grant.set_leader_raft_id(ctx_->raft_id);
  send(p.agent, wire(wire_kind::lease_grant, grant));
}

void agent::on_grant(const v1::LeaseGrant& grant, std::uint64_t from) {
  if (grant.leader_raft_id() != from || (lead_.leader != 0 && lead_.leader != from))
    return;
  if (grant.seq() > seq_ || seq_ - grant.seq() >= sent_ring)
    return;
  auto sent = sent_at_[grant.seq() % sent_ring];
  // The lease runs from when the heartbeat left, not from when the grant
  // arrived: however long the answer took, the leader granted it later.
  auto until = steady_ns(sent + config_.lease);
  auto current = ctx_->lease->until_ns.load(std::memory_order_relaxed);
  if (until > current)
    ctx_->lease->until_ns.store(until, std::memory_order_release);
  lease_renewed_ = clock::now();
  auto settled = std::min(grant.settled(), fenced_epoch_);
  if (settled > settled_) {
    settled_ = settled;
    publish_ownership();
  }
}

std::optional<agent::clock::time_point> agent::quorum_acked_at(clock::time_point now) const {
  std::vector<clock::time_point> acked;  // one per voter that answered
  std::size_t voters = 0;
  for (auto& [id, role] : lead_.servers) {
    if (role != RAFT_VOTER)
      continue;
    ++voters;
    if (id == ctx_->raft_id) {
      acked.push_back(now);
      continue;
    }
    auto i = peers_.find(id);
    if (i != peers_.end() && i->second.follows_me_since)
      acked.push_back(*i->second.follows_me_since);
  }
  return majority_answered_at(std::move(acked), voters);
}

std::optional<agent::clock::time_point> agent::earlier_leases_began(std::uint64_t down) const {
  auto began = earlier_leader_at_.value_or(clock::time_point::min());
  if (answered_leader_ != 0)
    began = std::max(began, answered_at_);
  for (auto& [id, role] : lead_.servers) {
    if (role != RAFT_VOTER || id == ctx_->raft_id || id == down)
      continue;
    auto i = peers_.find(id);
    if (i == peers_.end() || !i->second.reported_earlier)
      return std::nullopt;
    if (i->second.earlier_leader_at)
      began = std::max(began, *i->second.earlier_leader_at);
  }
  // Under other voters a lease needed other majorities: before the change,
  // count only from when it was seen.
  return std::max(began, voters_changed_at_);
}

void agent::note_answered(std::uint64_t leader, clock::time_point now) {
  if (answered_leader_ != leader && answered_leader_ != 0)
    earlier_leader_at_ = std::max(earlier_leader_at_.value_or(answered_at_), answered_at_);
  answered_leader_ = leader;
  answered_at_ = now;
}

bool agent::suspected(const peer& p, clock::time_point now) const {
  if (p.confirmed_dead || (p.link_lost && !p.linked))
    return true;
  if (!p.last_heartbeat)
    return now - p.known_since > first_heartbeat_grace;
  return p.detector.phi(now) > config_.phi_threshold;
}

std::uint64_t agent::compute_settled() const {
  if (!membership_)
    return 0;
  auto settled = membership_->epoch();
  for (const auto& m : membership_->members()) {
    if (!serves(m.state()))
      continue;
    std::uint64_t acked = 0;
    if (m.raft_id() == ctx_->raft_id) {
      acked = fenced_epoch_;
    } else if (auto i = peers_.find(m.raft_id()); i != peers_.end()) {
      acked = i->second.acked_epoch;
    }
    settled = std::min(settled, acked);
  }
  return settled;
}

void agent::lead() {
  if (!lead_.self)
    return;
  auto now = clock::now();
  // Forming the cluster: the first commands of a new log.
  if (bootstrapped_ && (!membership_ || membership_->cluster_name().empty())) {
    if (!join_in_flight_) {
      join_in_flight_ = true;
      v1::Command create;
      create.mutable_create()->set_cluster_name(config_.name);
      propose(std::move(create), [this](status st) {
        join_in_flight_ = false;
        joined_ = false;  // the join of this node follows (maybe_join)
        if (!st.is_ok())
          log().warn("forming the cluster failed", {{"error.message", st.message()}});
      });
    }
    return;
  }
  if (!membership_)
    return;
  if (auto acked = quorum_acked_at(now); acked && serving()) {
    auto until = steady_ns(*acked + config_.lease);
    if (until > ctx_->lease->until_ns.load(std::memory_order_relaxed)) {
      ctx_->lease->until_ns.store(until, std::memory_order_release);
      lease_renewed_ = now;
    }
  }
  auto settled = compute_settled();
  if (settled > leader_settled_)
    leader_settled_ = settled;
  if (leader_settled_ > settled_ && leader_settled_ <= fenced_epoch_) {
    settled_ = leader_settled_;
    publish_ownership();
  }

  // Failure detection: a member is declared down once it is suspected and
  // its lease has surely run out (or its process is known to be gone).
  auto margin = config_.lease / 10 + 50ms;
  for (const auto& m : membership_->members()) {
    if (m.raft_id() == ctx_->raft_id || !live(m.state()))
      continue;
    auto i = peers_.find(m.raft_id());
    if (i == peers_.end())
      continue;
    auto& p = i->second;
    if (!suspected(p, now))
      continue;
    auto key = std::make_pair(m.raft_id(), m.incarnation());
    if (down_proposed_.count(key))
      continue;
    // Every lease the old leader held or granted ran from a heartbeat that
    // a majority of voters answered while following it; one of them voted
    // for this leader, and none answers the old one after voting: no such
    // lease outlasts this leadership's start by more than a lease (plus
    // the margin for the moment a voter's agent learns of its vote). Once
    // the other voters said when they last answered another leader, that
    // bounds those leases too, and usually sooner (a frozen leader was
    // last answered about a detection time before this leadership).
    auto base = leading_since_;
    if (auto began = earlier_leases_began(m.raft_id()))
      base = std::min(base, *began);
    if (auto g = last_grant_.find(m.raft_id()); g != last_grant_.end())
      base = std::max(base, g->second);
    if (!p.confirmed_dead && now < base + config_.lease + margin)
      continue;
    down_proposed_.insert(key);
    std::string why = p.confirmed_dead    ? "its process is gone"
                      : p.link_lost       ? "its link is lost and it does not answer"
                      : p.last_heartbeat  ? "no heartbeat (phi " + std::to_string(p.detector.phi(now)) + ")"
                                          : "no heartbeat since it joined";
    log().warn("declaring a member down", {{"troupe.cluster.member", m.name()},
                                           {"troupe.cluster.incarnation", m.incarnation()},
                                           {"event.reason", why}});
    v1::Command command;
    command.mutable_down()->set_name(m.name());
    command.mutable_down()->set_incarnation(m.incarnation());
    propose(std::move(command), [this, key](status st) {
      if (!st.is_ok())
        down_proposed_.erase(key);
    });
  }

  // Joining members come up once every up member has a link to them and
  // they to every up member.
  for (const auto& m : membership_->members()) {
    if (m.state() != v1::JOINING)
      continue;
    auto key = std::make_pair(m.raft_id(), m.incarnation());
    if (up_proposed_.count(key))
      continue;
    bool ready = true;
    const peer* joining = nullptr;
    if (m.raft_id() != ctx_->raft_id) {
      auto j = peers_.find(m.raft_id());
      if (j == peers_.end() || !j->second.linked || j->second.heard_process != m.process_id()) {
        continue;
      }
      joining = &j->second;
    } else if (m.process_id() != ctx_->process_id) {
      continue;
    }
    for (const auto& u : membership_->members()) {
      if (u.state() != v1::UP || u.raft_id() == m.raft_id())
        continue;
      auto has = [](const std::vector<std::uint64_t>& list, std::uint64_t id) {
        return std::find(list.begin(), list.end(), id) != list.end();
      };
      bool up_to_joining = false;
      bool joining_to_up = false;
      if (u.raft_id() == ctx_->raft_id) {
        up_to_joining = joining != nullptr && joining->linked;
        joining_to_up = joining != nullptr && has(joining->connected, ctx_->raft_id);
      } else {
        auto k = peers_.find(u.raft_id());
        up_to_joining = k != peers_.end()
                        && (m.raft_id() == ctx_->raft_id ? k->second.linked
                                                         : has(k->second.connected, m.raft_id()));
        joining_to_up = m.raft_id() == ctx_->raft_id ? (k != peers_.end() && k->second.linked)
                                                     : has(joining->connected, u.raft_id());
      }
      if (!up_to_joining || !joining_to_up) {
        ready = false;
        break;
      }
    }
    if (!ready)
      continue;
    up_proposed_.insert(key);
    v1::Command command;
    command.mutable_up()->set_name(m.name());
    command.mutable_up()->set_incarnation(m.incarnation());
    propose(std::move(command), [this, key](status st) {
      if (!st.is_ok())
        up_proposed_.erase(key);
    });
  }

  // The consensus's configuration: removed members out, voters up to the
  // configured number. One change at a time (raft allows no more).
  if (config_change_in_flight_)
    return;
  auto self_handle = caf::actor_cast<caf::actor>(this);
  auto done = [self_handle, me = this](std::function<void(agent&, status)> then) {
    return [self_handle, me, then](status st) {
      caf::anon_send(self_handle, agent_task{[me, then, st] {
        me->config_change_in_flight_ = false;
        then(*me, st);
      }});
    };
  };
  unsigned voters = 0;
  for (auto& [id, role] : lead_.servers) {
    const auto* m = find_member(*membership_, id);
    if ((m == nullptr || m->state() == v1::REMOVED) && id != ctx_->raft_id) {
      // A member that left learns so from the log: it is taken out of the
      // consensus once its heartbeats say it has the epoch it was removed
      // in (or after a few seconds, should it be gone).
      if (m != nullptr) {
        auto p = peers_.find(id);
        bool caught_up = p != peers_.end() && p->second.acked_epoch >= membership_->epoch();
        if (!caught_up && unix_ms() - m->changed_at_unix_ms() < 3'000)
          continue;
      }
      config_change_in_flight_ = true;
      ctx_->raft->remove_server(id, done([](agent&, status) {}));
      return;
    }
    if (role == RAFT_VOTER)
      ++voters;
  }
  if (voters >= config_.voters)
    return;
  for (auto& [id, role] : lead_.servers) {
    if (role == RAFT_VOTER)
      continue;
    const auto* m = find_member(*membership_, id);
    if (m == nullptr || m->state() != v1::UP)
      continue;
    config_change_in_flight_ = true;
    auto name = m->name();
    log().info("promoting a member to voter", {{"troupe.cluster.member", name}});
    ctx_->raft->assign_role(id, RAFT_VOTER, done([name](agent& me, status st) {
      if (!st.is_ok())
        return;
      v1::Command command;
      command.mutable_promote()->set_name(name);
      me.propose(std::move(command), [](status) {});
    }));
    return;
  }
}

// -- membership -----------------------------------------------------------------

const v1::Member* agent::self_record() const {
  return membership_ ? find_member(*membership_, ctx_->raft_id) : nullptr;
}

bool agent::serving() const {
  auto* self = self_record();
  return self != nullptr && self->process_id() == ctx_->process_id && serves(self->state());
}

void agent::on_leadership(leadership l) {
  bool was = lead_.self;
  if (l.leader != lead_.leader || l.term != lead_.term)
    lost_leader_ = 0;
  auto voters_of = [](const leadership& x) {
    std::vector<std::uint64_t> out;
    for (auto& [id, role] : x.servers)
      if (role == RAFT_VOTER)
        out.push_back(id);
    std::sort(out.begin(), out.end());
    return out;
  };
  if (voters_of(l) != voters_of(lead_))
    voters_changed_at_ = clock::now();
  lead_ = std::move(l);
  if (was && !lead_.self)
    earlier_leader_at_ = clock::now();  // it led until now
  if (lead_.self && !was) {
    leading_since_ = clock::now();
    note_answered(0, leading_since_);
    // Answers from an earlier leadership of this node count for nothing now.
    for (auto& [id, p] : peers_) {
      p.follows_me_since.reset();
      p.reported_earlier = false;
      p.earlier_leader_at.reset();
    }
    last_grant_.clear();
    admitting_.clear();
    down_proposed_.clear();
    up_proposed_.clear();
    config_change_in_flight_ = false;
    leader_settled_ = 0;
    log().info("this node leads the cluster", {{"troupe.cluster.term", lead_.term}});
  } else if (!lead_.self && was) {
    log().info("this node no longer leads the cluster", {{"troupe.cluster.term", lead_.term}});
  }
  publish_view();
}

void agent::on_membership(std::shared_ptr<const v1::Membership> m, const std::string& note) {
  log().info("membership changed", {{"troupe.cluster.epoch", m->epoch()},
                                    {"event.reason", note}});
  membership_ = std::move(m);
  {
    std::lock_guard guard{*ctx_->view_mtx};
    *ctx_->membership = membership_;
  }
  auto placed = std::make_shared<const placement>(*membership_);
  if (!history_.empty() && history_.back()->epoch() + 1 != placed->epoch())
    history_.clear();  // a gap (a snapshot was installed): nothing older counts
  history_.push_back(std::move(placed));
  while (history_.size() > cluster_ownership::max_history)
    history_.pop_front();

  auto* self = self_record();
  if (self != nullptr && self->process_id() == ctx_->process_id) {
    auto before = self_state_;
    self_state_ = self->state();
    self_incarnation_ = self->incarnation();
    if (self_state_ == v1::UP && before != v1::UP) {
      joined_ = true;
      rejoin_logged_ = false;
      log().info("this node is up in the cluster",
                 {{"troupe.cluster.incarnation", self_incarnation_}});
    }
    if (self_state_ == v1::DOWN && !rejoin_logged_) {
      rejoin_logged_ = true;
      joined_ = false;
      log().warn("this node was declared down; rejoining as a new incarnation",
                 {{"troupe.cluster.incarnation", self_incarnation_}});
      // The others forgot this node's links with its old incarnation (and
      // no longer trust messages over them); over TLS only this node, the
      // later to join, makes them again. Links still standing here would
      // never be made again, and its heartbeats would go unheard.
      for (auto& [id, p] : peers_)
        lose_link(p, false);
    }
    if (self_state_ == v1::REMOVED && !left_) {
      left_ = true;
      if (leave_requested_)
        log().info("this node has left the cluster");
      else
        log().warn("this node was drained: it has left the cluster and serves no keyed "
                   "actor; restart it to join again");
      if (ctx_->left)
        ctx_->left();
    }
  } else if (self != nullptr && self_state_ != v1::MEMBER_STATE_UNSPECIFIED) {
    // Our record names another process: this one must rejoin.
    joined_ = false;
  }

  // Peers follow the membership: every live member but this node.
  auto now = clock::now();
  for (const auto& member : membership_->members()) {
    if (member.raft_id() == ctx_->raft_id)
      continue;
    auto i = peers_.find(member.raft_id());
    if (!live(member.state())) {
      if (i != peers_.end()) {
        auto& p = i->second;
        // A frozen member's link still stands: its calls in flight would
        // wait for their deadlines. (A removed one left after handing its
        // keys over and answers what it has; its link drops when it exits.)
        if (p.caf_node && member.state() == v1::DOWN)
          ctx_->node->fail_calls_to(p.caf_node, "node " + member.name()
                                                  + " was declared down while serving this call");
        if (p.agent)
          demonitor(p.agent);
        trusted_.erase(p.caf_node);
        peers_.erase(i);
      }
      continue;
    }
    if (i != peers_.end() && i->second.process_id != member.process_id()) {
      // Another process of the same node: a new link, a new detector.
      if (i->second.agent)
        demonitor(i->second.agent);
      trusted_.erase(i->second.caf_node);
      peers_.erase(i);
      i = peers_.end();
    }
    if (i == peers_.end()) {
      i = peers_.emplace(member.raft_id(), peer{detector_settings_}).first;
      i->second.raft_id = member.raft_id();
      i->second.process_id = member.process_id();
      i->second.known_since = now;
    }
    i->second.name = member.name();
    i->second.address = member.cluster_address();
    i->second.incarnation = member.incarnation();
  }
  scale_instances();
  publish();
  if (ctx_->handovers != nullptr)
    ctx_->handovers->on_membership(membership_, history_);
  publish_view();
}

void agent::publish() {
  if (!membership_)
    return;
  std::map<std::uint64_t, member_entry> members;
  for (const auto& m : membership_->members()) {
    member_entry entry;
    entry.name = m.name();
    entry.state = m.state();
    if (m.raft_id() == ctx_->raft_id) {
      entry.linked = m.process_id() == ctx_->process_id;
      if (entry.linked)
        for (auto& hosted : ctx_->node->hosted_services())
          entry.actors[hosted.entry->name] = std::move(hosted.actors);
    } else if (auto i = peers_.find(m.raft_id()); i != peers_.end() && i->second.linked) {
      entry.linked = true;
      entry.actors = i->second.actors;
      entry.silent = i->second.calls_failed;
    }
    members.emplace(m.raft_id(), std::move(entry));
  }
  ctx_->node->publish_directory(std::make_shared<cluster_directory>(
    ctx_->raft_id, ctx_->node->local_directory(), history_.back(), std::move(members),
    ctx_->lease));
  publish_ownership();
}

void agent::publish_ownership() {
  if (history_.empty())
    return;
  std::vector<std::shared_ptr<const placement>> history(history_.begin(), history_.end());
  auto* self = self_record();
  std::string why;
  bool ok = serving();
  if (!ok)
    why = self == nullptr || self->process_id() != ctx_->process_id
            ? "this node has not joined the cluster yet"
            : "this node is " + std::string{state_name(self->state())}
                + " in the cluster: it serves no keyed actor";
  auto epoch = history.back()->epoch();
  auto settled = std::min(settled_, epoch);
  auto self_handle = caf::actor_cast<caf::actor>(this);
  ctx_->node->publish_ownership(
    std::make_shared<cluster_ownership>(ctx_->raft_id, settled, std::move(history), ctx_->lease,
                                        ok, std::move(why)),
    [self_handle, epoch] { caf::anon_send(self_handle, fenced_atom::value, epoch); });
}

void agent::publish_view() {
  auto view = std::make_shared<cluster_view>();
  view->cluster_name = config_.name;
  view->self = ctx_->name;
  view->settled = settled_;
  auto now = clock::now();
  view->lease = serving()
                && steady_ns(now) < ctx_->lease->until_ns.load(std::memory_order_acquire);
  if (membership_) {
    view->epoch = membership_->epoch();
    for (const auto& m : membership_->members()) {
      member_view v;
      v.name = m.name();
      v.raft_id = m.raft_id();
      v.state = std::string{state_name(m.state())};
      v.incarnation = m.incarnation();
      v.cluster_address = m.cluster_address();
      v.raft_address = m.raft_address();
      v.http_address = m.http_address();
      v.started_at_unix_ms = m.started_at_unix_ms();
      v.changed_at_unix_ms = m.changed_at_unix_ms();
      v.self = m.raft_id() == ctx_->raft_id;
      v.leader = m.raft_id() == lead_.leader;
      if (v.leader)
        view->leader = m.name();
      for (auto& [id, role] : lead_.servers)
        if (id == m.raft_id() && role == RAFT_VOTER)
          v.voter = true;
      if (!lead_.self && lead_.servers.empty())
        v.voter = m.voter();
      auto p = peers_.find(m.raft_id());
      if (p != peers_.end()) {
        v.linked = p->second.linked;
        if (p->second.last_heartbeat)
          v.heartbeat_age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 now - *p->second.last_heartbeat)
                                 .count();
      }
      for (const auto& s : m.services()) {
        member_view::service_load load;
        load.name = s.name();
        // What it joined with, until it says how many it runs now.
        load.instances = s.instances();
        if (v.self) {
          if (auto* entry = ctx_->node->services().find(s.name())) {
            load.active_actors = entry->stats->active_actors.load(std::memory_order_relaxed);
            load.instances = entry->stats->instances.load(std::memory_order_relaxed);
          }
        } else if (p != peers_.end()) {
          if (auto l = p->second.loads.find(s.name()); l != p->second.loads.end())
            load.active_actors = l->second;
          if (auto a = p->second.actors.find(s.name());
              p->second.linked && a != p->second.actors.end() && !s.keyed())
            load.instances = static_cast<std::uint32_t>(a->second.size());
        }
        v.services.push_back(std::move(load));
      }
      view->members.push_back(std::move(v));
    }
  }
  std::lock_guard guard{*ctx_->view_mtx};
  *ctx_->view = std::move(view);
}

// -- changes --------------------------------------------------------------------

void agent::propose(v1::Command command, std::function<void(status)> done) {
  command.set_at_unix_ms(unix_ms());
  auto self_handle = caf::actor_cast<caf::actor>(this);
  ctx_->raft->propose(std::move(command), [self_handle, done = std::move(done)](status st) {
    caf::anon_send(self_handle, agent_task{[done, st] { done(st); }});
  });
}

void agent::request_change(v1::ChangeRequest change, std::function<void(status)> done) {
  if (lead_.self) {
    // As the leader answers any member's request.
    auto* m = membership_ ? find_member(*membership_, change.name()) : nullptr;
    if (m == nullptr) {
      done(status{status_code::not_found, "no member named " + change.name()});
      return;
    }
    v1::Command command;
    switch (change.kind()) {
      case v1::ChangeRequest::LEAVE:
        if (m->state() != v1::UP) {
          done(status{status_code::failed_precondition,
                      change.name() + " is " + std::string{state_name(m->state())} + ", not up"});
          return;
        }
        command.mutable_leave()->set_name(m->name());
        command.mutable_leave()->set_incarnation(m->incarnation());
        break;
      case v1::ChangeRequest::HANDOVER_DONE:
        command.mutable_handover_done()->set_name(m->name());
        command.mutable_handover_done()->set_handover(change.handover());
        break;
      case v1::ChangeRequest::UP:
        command.mutable_up()->set_name(m->name());
        command.mutable_up()->set_incarnation(m->incarnation());
        break;
      case v1::ChangeRequest::REMOVE:
        if (auto why = why_not_removable(*m); !why.empty()) {
          done(status{status_code::failed_precondition, std::move(why)});
          return;
        }
        command.mutable_remove()->set_name(m->name());
        command.mutable_remove()->set_incarnation(m->incarnation());
        break;
      default:
        done(status{status_code::invalid_argument, "unknown change"});
        return;
    }
    propose(std::move(command), std::move(done));
    return;
  }
  auto leader = peers_.find(lead_.leader);
  if (lead_.leader == 0 || leader == peers_.end() || !leader->second.linked) {
    done(status{status_code::unavailable, "the cluster has no leader this node can reach now"});
    return;
  }
  request(leader->second.agent, request_timeout, wire(wire_kind::change_request, change))
    .then(
      [done](cluster_wire& answer) {
        v1::ChangeReply reply;
        if (!reply.ParseFromString(answer.bytes)) {
          done(status{status_code::internal, "not a change reply"});
          return;
        }
        done(reply.ok() ? status{} : status{status_code::unavailable, reply.reason()});
      },
      [this, done](caf::error& err) {
        done(status{status_code::unavailable, system().render(err)});
      });
}

void agent::handle_change(const v1::ChangeRequest& request, caf::response_promise rp) {
  if (!lead_.self) {
    v1::ChangeReply reply;
    reply.set_reason("this node does not lead the cluster");
    rp.deliver(wire(wire_kind::change_reply, reply));
    return;
  }
  request_change(request, [rp](status st) mutable {
    v1::ChangeReply reply;
    reply.set_ok(st.is_ok());
    reply.set_reason(st.message());
    rp.deliver(wire(wire_kind::change_reply, reply));
  });
}

void agent::start_leave() {
  auto* self = self_record();
  if (self == nullptr || self->process_id() != ctx_->process_id || left_) {
    if (!left_) {
      left_ = true;
      if (ctx_->left)
        ctx_->left();
    }
    return;
  }
  // The last live member has nobody to hand over to (and no majority to
  // agree on its leaving once the others have left): it just goes.
  bool others = false;
  for (const auto& m : membership_->members())
    others = others || (m.raft_id() != ctx_->raft_id && live(m.state()));
  if (!others) {
    log().info("the last member of the cluster leaves: nobody to hand keys over to");
    left_ = true;
    if (ctx_->left)
      ctx_->left();
    return;
  }
  if (self->state() != v1::UP)
    return;  // leaving already (or not up: nothing to hand over yet)
  v1::ChangeRequest request;
  request.set_kind(v1::ChangeRequest::LEAVE);
  request.set_name(ctx_->name);
  request.set_incarnation(self->incarnation());
  request_change(std::move(request), [this](status st) {
    if (!st.is_ok())
      log().warn("leaving the cluster: the request failed; retrying",
                 {{"error.message", st.message()}});
  });
}

} // namespace troupe::cluster
