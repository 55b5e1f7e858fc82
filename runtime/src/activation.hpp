// One service object under supervision: a stateless service's instance, or a
// keyed service's activation for one key (a virtual actor). An activation is
// not a CAF actor of its own: it lives inside a host actor (activation_host)
// and runs only on the host's thread, so its handlers never run concurrently.
// A keyed service's shard hosts many activations; that keeps an idle virtual
// actor at a few hundred bytes instead of a CAF actor's kilobyte, and a call
// reaches its handler in one message, as a plain CAF request would.
//
// Declared state (keyed services with (troupe.service).state): the
// activation loads the key's state from the node's state store before its
// first call (calls wait in the stash meanwhile, in order), and holds back
// every answer that follows a change of the state until the store has written
// it, so that no reply is ahead of what is stored. An error answer undoes the
// changes of the handler that gave it. One write is in flight at a time; calls
// arriving meanwhile wait, and changes made meanwhile go in the next write.
//
// Supervision is per activation: a throw drops the service object, and after
// a back-off a fresh one is created in place (like Akka's restart), keeping the
// calls that arrived meanwhile in a bounded stash. The host decides what a
// failure leads to (supervision_decision): for a stateless service, too many
// failures of its instances within the window mark the whole service failed;
// a keyed service's key that keeps failing is quarantined alone (its calls
// refused, with a retry-after hint, until the quarantine ends; then it starts
// afresh), and the service fails only when failures are systematic
// (key_failure_monitor.hpp).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "crash_report.hpp"
#include "messages.hpp"
#include "reply_to.hpp"
#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/service_table.hpp"
#include "troupe/runtime/state_store.hpp"
#include "troupe/service.hpp"

namespace troupe::runtime {

class activation_host;

class activation {
public:
  /// Creates the service object and calls its on_activate(key).
  activation(activation_host& host, const service_entry& entry, std::string key,
             std::string instance_name = {});

  ~activation();

  activation(const activation&) = delete;
  activation& operator=(const activation&) = delete;

  /// Serves one call now, stashes it during a back-off, or refuses it when
  /// the service has failed. Every call is answered through `reply`.
  void receive(envelope& env, reply_to&& reply);

  /// The back-off after the failure of `incarnation` ended: start afresh.
  void restart(std::uint64_t incarnation);

  /// The state store answered the read of the key's state started for
  /// `incarnation`.
  void state_loaded(std::uint64_t incarnation, status result, stored_state stored);

  /// The state store finished the write in flight.
  void state_saved(const status& result);

  /// Answers a call this activation serves: at once, or, when the answer
  /// follows a change of the declared state, once the state is written.
  void deliver(reply_to& reply, reply_envelope&& answer) {
    if (entry_->state_type == nullptr) {
      reply.deliver(std::move(answer));
      return;
    }
    deliver_after_state(reply, std::move(answer));
  }

  /// Runs `f`, a continuation of a call this activation's handlers made,
  /// unless the service object it belongs to was dropped since.
  template <class F>
  void continue_with(std::uint64_t incarnation, F&& f) {
    if (incarnation == incarnation_ && impl_)
      guarded("continuation", std::forward<F>(f));
  }

  /// True when nothing arrived since the previous check and nothing is in
  /// progress (no back-off, no quarantine in force, no call of its handlers
  /// pending), so that the activation may be passivated. Called once per
  /// idle period: an idle key goes between one and two periods after its last
  /// call.
  bool idle_since_last_check() noexcept;

  /// True when nothing is in progress (no back-off, no quarantine in force,
  /// no call of its handlers pending), so that the activation may be
  /// passivated early, however recent its last call: the host needs room.
  bool passivatable() noexcept;

  /// The host's list of its activations by their latest call (keyed_shard).
  struct recency_links {
    activation* newer = nullptr;
    activation* older = nullptr;
  };
  recency_links recency;

  /// Before the host drops the activation: on_passivate, and the stash
  /// answered with `for_stashed`.
  void stop(const status& for_stashed);

  const std::string& key() const noexcept {
    return key_;
  }

  /// "node-1/demo.Greeter#2" or "node-1/demo.Counter[k]".
  const std::string& instance_name() const;

  const std::string& node_name() const noexcept;

  const std::string& service_name() const noexcept {
    return entry_->name;
  }

  activation_host& host() const noexcept {
    return *host_;
  }

  /// Which service object is current; bumped on every restart.
  std::uint64_t incarnation() const noexcept {
    return incarnation_;
  }

  // -- used by the calls this activation serves ------------------------------

  /// Sends a request on behalf of a handler; `done` runs on the host.
  void call_service(std::string_view service, envelope env, detail::raw_callback done);

  /// A call made through call_service() was answered or expired.
  void call_finished() noexcept {
    --pending_calls_;
  }

private:
  // quarantined: no service object, refusing calls while the host says the
  // key's quarantine lasts.
  // loading: a service object waits for its state (a read in flight);
  // load_failed: the last read failed, and the next call starts another.
  enum class mode : std::uint8_t {
    running,
    backing_off,
    gave_up,
    quarantined,
    loading,
    load_failed,
  };
  using stashed_call = std::pair<envelope, reply_to>;
  struct state_writes;

  /// Keeps a call until the activation can serve it (a back-off, a state
  /// read or write); refuses it (shed) when the stash holds a mailbox's worth.
  void stash(envelope& env, reply_to&& reply);

  /// Serves the stashed calls in order while the activation can.
  void serve_stash();

  /// True while calls must wait: a write of the state is in flight.
  bool writing_state() const noexcept;

  void load_state();
  void deliver_after_state(reply_to& reply, reply_envelope&& answer);
  void write_state();

  /// The state could not be written: the answers waiting for it fail, and
  /// the key starts over from what is stored.
  void drop_unwritten_state(const status& why);

  void serve(envelope& env, reply_to&& reply);
  bool start_service();
  void handle_failure(const char* where, const char* what);
  void answer_stash(const reply_envelope& answer);

  /// Runs user code (a handler or continuation); a throw is a failure.
  template <class F>
  void guarded(const char* where, F&& f) {
    running_call running{entry_->name, where, key_};
    try {
      f();
    } catch (const std::exception& e) {
      handle_failure(where, e.what());
    } catch (...) {
      handle_failure(where, "unknown exception");
    }
  }

  activation_host* host_;
  const service_entry* entry_;
  std::string key_;
  mutable std::string instance_name_;  // keyed: built when first asked for
  std::unique_ptr<service_base> impl_;
  // Allocated only during a back-off or a state read or write: most
  // activations never need one.
  std::unique_ptr<std::deque<stashed_call>> stash_;
  std::unique_ptr<state_writes> writes_;  // while answers wait for a write
  std::uint64_t state_version_ = 0;       // of the stored state this one follows
  std::uint64_t incarnation_ = 0;
  std::uint64_t received_ = 0;           // calls received
  std::uint64_t received_at_check_ = 0;  // received_ at the last idle check
  std::uint32_t pending_calls_ = 0;      // made by handlers, not yet answered
  mode mode_ = mode::running;
};

} // namespace troupe::runtime
