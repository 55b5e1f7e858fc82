// The actor that activations live in. It receives the calls (envelopes from
// other actors, local_calls from node::call), hands each to the activation
// for its key, and runs everything the activations leave for later on its own
// thread: restarts after a back-off, the answers and deadlines of the calls
// their handlers make to other services.
//
// Two kinds: stateless_instance hosts one activation (an instance of a
// stateless service); keyed_shard hosts the activations of a slice of a keyed
// service's keys, creates them on first call and passivates idle ones.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <google/protobuf/message_lite.h>

#include "deadline_queue.hpp"
#include "messages.hpp"
#include "node_load.hpp"
#include "reply_to.hpp"
#include "supervision_decision.hpp"
#include "troupe/detail/call_state.hpp"
#include "troupe/runtime/directory.hpp"
#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/key_ownership.hpp"
#include "troupe/runtime/logger.hpp"
#include "troupe/runtime/published.hpp"
#include "troupe/runtime/state_store.hpp"
#include "troupe/runtime/service_table.hpp"

namespace troupe::runtime {

class activation;
class answers_after_write;
class relay_set;

/// What a host needs from its node; the pointers outlive the host.
struct host_context {
  const service_entry* entry = nullptr;
  const std::string* node_name = nullptr;
  const published<directory>* directories = nullptr;  // where its handlers' calls go
  state_store* state = nullptr;
  logger* log = nullptr;
  // Calls to actors of other nodes go through these (remote_relay.hpp).
  const relay_set* relays = nullptr;
  // Keyed shards: which keys they may serve, once a cluster published it
  // (`ownership_on` true); see key_ownership.hpp.
  const published<key_ownership>* ownership = nullptr;
  const std::atomic<bool>* ownership_on = nullptr;
  node_load* load = nullptr;          // the node's bounds
  std::shared_ptr<host_load> own;     // this host's count of its calls
  // This host's part of the service's call count; null: a new one. A
  // stateless instance the cluster scales gets its place's (node::scale).
  std::shared_ptr<sharded_counter::slot> calls;
};

class activation_host : public caf::event_based_actor {
public:
  activation_host(caf::actor_config& cfg, host_context ctx);

  caf::behavior make_behavior() override;

  /// Lets go of the directory: it holds every host's handle, this one's too.
  void on_exit() override;

  // -- used by the activations -----------------------------------------------

  const service_entry& entry() const noexcept {
    return *ctx_.entry;
  }
  const std::string& node_name() const noexcept {
    return *ctx_.node_name;
  }
  logger& log() const noexcept {
    return *ctx_.log;
  }

  /// Counts a call in the service's stats.
  void count_call() noexcept {
    calls_->add();
  }

  node_load& node_bounds() const noexcept {
    return *ctx_.load;
  }

  /// A call was refused at `why` (counted, and answered by the caller).
  void count_shed(shed_reason why) noexcept;

  /// A handler of `method` ran `took_ns`, past the slow-handler threshold:
  /// counted, and logged the first time for the method.
  void report_slow(const std::string& method, std::int64_t took_ns);

  /// A number no other service object of this host had.
  std::uint64_t next_incarnation() noexcept {
    return ++incarnations_;
  }

  /// Sends `env` for a handler of `caller`; `done` runs later on this actor
  /// with the answer, or deadline_exceeded at the envelope's deadline,
  /// unless the caller's service object was restarted in between.
  void call_service(activation& caller, std::string_view service, envelope env,
                    detail::raw_callback done);

  /// Reads `a`'s stored state; a.state_loaded() runs later on this actor.
  void load_state(activation& a);

  /// Writes `a`'s state as the version after `replaces`; a.state_saved()
  /// runs later on this actor. `released` (may be null) goes out from the
  /// write's completion, before the host learns the outcome.
  void save_state(activation& a, std::uint64_t replaces, std::string bytes,
                  std::shared_ptr<answers_after_write> released);

  /// Reads the page of `a`'s journal that starts at event `from_seq`;
  /// a.events_loaded() runs later on this actor.
  void load_events(activation& a, std::uint64_t from_seq);

  /// Appends `append` to `a`'s journal; a.state_saved() runs later on this
  /// actor, and `released` goes out as with save_state().
  void append_events(activation& a, journal_append append,
                     std::shared_ptr<answers_after_write> released);

  // -- key-value storage of a stateless service (activation_host_kv.cpp) -----
  // Each operation runs in the service's namespace of the state store and
  // answers `done` later on this actor, as a continuation of `a`'s service
  // object (skipped when it was restarted since). A refusal (no key-value
  // storage declared, a bound passed) answers the same way.

  void kv_get(activation& a, std::string key, detail::kv_get_callback done);
  void kv_scan(activation& a, std::string prefix, std::string after, std::uint32_t limit,
               detail::kv_scan_callback done);
  void kv_write(activation& a, std::vector<detail::kv_op> ops, detail::kv_write_callback done);

  /// Restarts `a`'s service object after `delay`.
  void schedule_restart(activation& a, std::chrono::milliseconds delay);

  /// What follows the failure of `a`'s service object. Here: the service's
  /// shared restart_tracker decides (a stateless service's instances share
  /// one restart budget); a keyed shard decides per key.
  virtual supervision_decision on_failure(const activation& a);

  /// How much longer `key` is quarantined; zero when it is not. Only keyed
  /// shards quarantine keys.
  virtual std::chrono::milliseconds quarantine_left(const std::string& key) noexcept {
    return {};
  }

  /// The request message of method `method_index` kept for reuse by the
  /// handlers of this host (see detail::call_state::request_slot).
  std::unique_ptr<google::protobuf::MessageLite>& request_slot(int method_index);

  /// Drops the kept requests: after a large one, so that a host does not hold
  /// its memory for good.
  void release_request_slots() noexcept;

protected:
  /// Hands the call to the activation for env.key (a keyed shard creates it
  /// if needed, or keeps the call until it has room). Every call is
  /// answered through `reply`.
  virtual void route(envelope& env, reply_to&& reply) = 0;

  /// The activation serving `key`, if there is one; never creates one.
  virtual activation* find_activation(const std::string& key) noexcept = 0;

  /// The idle timer the host armed with arm_idle_check() fired.
  virtual void on_idle_check() {
  }

  /// Another shard needs room for new keys: passivate up to `wanted` idle
  /// activations early; how many went.
  virtual std::uint64_t make_room(std::uint64_t wanted) {
    return 0;
  }

  /// This host's calls, for the admin API and for other hosts.
  host_load& own_load() noexcept {
    return *load_;
  }

  void arm_idle_check(std::chrono::milliseconds delay);

  /// Whether this host serves the call itself: false when it answered,
  /// held or sent on the call instead (and took `reply`). Keyed shards ask
  /// the node's key_ownership here.
  virtual bool admit(envelope& env, reply_to& reply) {
    return true;
  }

  /// A new key_ownership snapshot was published (ownership_fence).
  virtual void on_ownership_fence() {
  }

  /// The node no longer wants this host (retire_instance): only stateless
  /// instances are retired.
  virtual void on_retire(retire_instance&) {
  }

  /// The timer armed with arm_park_check() fired.
  virtual void on_park_check() {
  }

  void arm_park_check(std::chrono::milliseconds delay);

  /// Sends the call to where the node's directory resolves it now and
  /// answers `reply` with what comes back (or deadline_exceeded at the
  /// envelope's deadline): for a call that reached this host after its key
  /// moved to another node.
  void forward(envelope& env, reply_to&& reply);

  const host_context& context() const noexcept {
    return ctx_;
  }

private:
  /// Where the answer to a handler's call goes back to.
  struct call_origin {
    std::string key;
    std::uint64_t incarnation;
  };

  /// Counts a call that arrived in flight (a sender in this process did
  /// so before sending it); false, with the call answered, when it is
  /// refused.
  bool accept(envelope& env, reply_to& reply);

  /// Sends `env` as a request to `target` (through a relay when it is
  /// remote); `on_answer` runs on this actor with the answer, or with
  /// deadline_exceeded at the envelope's deadline.
  template <class OnAnswer>
  void send_request(const caf::actor& target, envelope env, OnAnswer on_answer);

  /// Runs `f` as a continuation of the activation that made a call.
  template <class F>
  void resume(const call_origin& origin, F&& f);

  /// What a store's thread calls with `f` to have it run on this actor as a
  /// continuation of `a`'s service object (resume), on a later turn.
  std::function<void(std::function<void()>)> continuation_poster(activation& a);

  void arm_deadline_timer();

  host_context ctx_;
  published<directory>::reader directory_;
  deadline_queue deadlines_;  // of the calls the activations' handlers made
  std::uint64_t incarnations_ = 0;
  std::shared_ptr<sharded_counter::slot> calls_;  // this host's part of stats->calls
  std::shared_ptr<host_load> load_;                // this host's calls in flight
  std::vector<std::unique_ptr<google::protobuf::MessageLite>> requests_;
};

} // namespace troupe::runtime
