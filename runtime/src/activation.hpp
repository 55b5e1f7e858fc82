// The actor that runs one service object: a stateless service's instance, or
// a keyed service's activation for one key. It serves envelopes one at a
// time, supervises its service object (restart in place after a back-off,
// keeping its mailbox, like Akka's restart), and for keyed services tells its
// shard when it has been idle long enough to be passivated.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

#include "deadline_queue.hpp"
#include "messages.hpp"
#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/logger.hpp"
#include "troupe/runtime/service_table.hpp"
#include "troupe/service.hpp"

namespace troupe::runtime {

class service_directory;

struct activation_args {
  const service_entry* entry = nullptr;
  std::string key;            // keyed services only
  std::string instance_name;  // "node-1/demo.Greeter#2", "node-1/demo.Counter[k]"
  const std::string* node_name = nullptr;
  const service_directory* directory = nullptr;
  caf::actor shard;           // keyed services: told when idle
  logger* log = nullptr;
};

class activation : public caf::event_based_actor {
public:
  activation(caf::actor_config& cfg, activation_args args);

  caf::behavior make_behavior() override;

  void on_exit() override;

  const char* name() const override {
    return "troupe.activation";
  }

  // -- used by the call state of calls this actor serves ---------------------

  const std::string& instance_name() const noexcept {
    return args_.instance_name;
  }
  const std::string& node_name() const noexcept {
    return *args_.node_name;
  }

  /// Sends a request on behalf of a handler; `done` runs on this actor.
  void call_service(envelope env, detail::raw_callback done);

private:
  enum class mode { running, backing_off, gave_up };

  void receive(envelope& env, reply_to reply);
  void serve(envelope& env, reply_to reply);
  bool start_service();
  void handle_failure(const char* where, const char* what);
  void restart();
  void answer_stash(const status& st);
  /// Runs user code (a handler or continuation); a throw is a failure.
  template <class F>
  void guarded(const char* where, F&& f);

  void arm_deadline_timer();
  void check_idle();

  activation_args args_;
  deadline_queue deadlines_;  // of requests this actor's handlers made
  // Keyed: received_ when the idle timer last fired. One timer message per
  // idle period finds the activation idle when nothing arrived since, so an
  // idle key is passivated between one and two idle periods after its last
  // call. (CAF's after() re-arms its clock on every message, and reading the
  // clock per call is measurable too.)
  std::uint64_t received_at_check_ = 0;
  std::unique_ptr<service_base> impl_;
  mode mode_ = mode::running;
  std::deque<std::pair<envelope, reply_to>> stash_;
  std::uint64_t received_ = 0;  // envelopes received, reported when idle
};

} // namespace troupe::runtime
