// What the node says when a module's code kills the process. A handler that
// dereferences a null pointer takes the whole node down (modules run in the
// node's process; isolating them is out of scope), but the operator must learn
// which module to blame: the node installs handlers for the fatal signals that
// write one ECS log line naming the signal and the service, method and key
// whose handler was running on the faulting thread, then let the signal end the
// process as it would have (core dump included).
//
// Signal handlers can reach only process-wide and thread-local state, so this
// is the one place where the runtime keeps such state: which call each thread
// is running (a few pointers, set around every handler), and the node's name.
#pragma once

#include <string>
#include <string_view>

namespace troupe::runtime {

/// Installs the handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT.
/// `node_name` appears in the line. Once per process; later calls only
/// update the name.
void install_crash_report(const std::string& node_name);

/// Marks the calling thread as running a handler of (service, method, key)
/// for as long as it lives; `method` names what runs ("Add", or
/// "on_activate"). The strings must outlive it.
class running_call {
public:
  running_call(std::string_view service, std::string_view method,
               std::string_view key) noexcept;
  ~running_call();

  running_call(const running_call&) = delete;
  running_call& operator=(const running_call&) = delete;

  const std::string_view service;
  const std::string_view method;
  const std::string_view key;

private:
  const running_call* previous_;
};

} // namespace troupe::runtime
