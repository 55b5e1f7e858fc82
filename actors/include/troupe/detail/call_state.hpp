// The runtime's side of one call as the SDK sees it. Implemented by the node
// (runtime/src/activation.cpp); module code reaches it only through
// troupe::call_context and the code protoc-gen-troupe generates.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "troupe/status.hpp"

namespace troupe::detail {

/// Gets the serialized response (or the error) of a call a handler made.
using raw_callback = std::function<void(status, std::string payload)>;

/// What a handler may know about the call it is serving.
struct call_info {
  std::string service;
  std::string method;
  std::string key;
  std::string principal;
  std::string traceparent;
  std::chrono::system_clock::time_point deadline;
};

/// One call being served. Shared by the handler's call_context, its copies
/// and the promises made from it; the last of them to go answers `internal`
/// if the call was never answered, so a dropped promise never leaves a caller
/// waiting.
class call_state {
public:
  virtual ~call_state();

  virtual const call_info& info() const noexcept = 0;

  /// Which actor serves the call, e.g. "node-1/demo.greeter.v1.Greeter#2".
  virtual const std::string& instance() const noexcept = 0;

  virtual const std::string& node() const noexcept = 0;

  /// Answers the call. Exactly one of ok() or fail() takes effect; later
  /// ones are ignored.
  virtual void ok(std::string payload) = 0;
  virtual void fail(status error) = 0;

  /// True once the call is answered.
  virtual bool done() const noexcept = 0;

  /// Sends a request to another service from the actor serving this call.
  /// `done` runs later on that actor, never concurrently with its handlers.
  virtual void call_raw(std::string_view service, std::string_view method,
                        std::string_view key, std::string payload,
                        std::chrono::system_clock::time_point deadline,
                        raw_callback done)
    = 0;
};

} // namespace troupe::detail
