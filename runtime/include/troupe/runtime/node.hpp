// A Troupe node: the actor system, the loaded modules and the services they
// registered, supervised. Knows nothing of HTTP: the gateway calls into it
// through call().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "troupe/runtime/envelope.hpp"
#include "troupe/runtime/logger.hpp"
#include "troupe/runtime/node_config.hpp"
#include "troupe/runtime/service_table.hpp"

namespace troupe::runtime {

struct module_info {
  std::string name;
  std::string version;
  std::string path;
  std::vector<std::string> services;
};

/// Why a node could not start; what() is one line naming the fault.
class startup_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

using call_callback = std::function<void(reply_envelope)>;

class node {
public:
  explicit node(node_config config);
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Loads the modules, starts the actor system and the services. Throws
  /// startup_error; after a throw nothing is left running.
  void start();

  /// Sends `env` to `service` (to the actor of env.key for a keyed
  /// service). Safe from any thread. `done` runs
  /// at most once: on the calling thread for an immediate refusal
  /// (unavailable, invalid_argument), otherwise on the serving actor's thread
  /// with the reply or an error (deadline_exceeded when the call was dequeued
  /// past its deadline, internal, ...). A handler still busy at the deadline
  /// answers late, and a call whose actor stops first (node shutdown) is never
  /// answered: callers keep their own deadline timer, as the gateway does.
  void call(std::string_view service, envelope env, call_callback done);

  /// Passivates actors and stops the actor system. Idempotent.
  void stop();

  const node_config& config() const noexcept;
  const service_table& services() const noexcept;
  const std::vector<module_info>& modules() const noexcept;
  std::chrono::system_clock::time_point started_at() const noexcept;
  logger& log() noexcept;

  /// Clears a failed service's state so it serves again (operator action).
  bool reset_service(const std::string& name);

  // -- for in-process drivers (benchmarks, tests) -----------------------------

  /// The actor a call for (service, key) goes to now; invalid when none.
  caf::actor resolve(std::string_view service, std::string_view key) const;

  /// The node's actor system; valid between start() and stop().
  caf::actor_system& system();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::runtime
