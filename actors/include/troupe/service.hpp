// The base of every service implementation (named service_base because
// troupe/options.pb.h declares the option extension troupe::service). Module authors do not derive from
// it directly: protoc-gen-troupe generates a base class per proto service with
// one virtual function per rpc, and the author derives from that.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "troupe/call_context.hpp"
#include "troupe/reply.hpp"
#include "troupe/status.hpp"

namespace troupe {

class service_base {
public:
  virtual ~service_base();

  /// Keyed services: called once when the activation for `key` is created,
  /// before its first call. Stateless services: called with an empty key when
  /// the instance starts. A throw counts as a handler failure.
  virtual void on_activate(const std::string& key);

  /// Called before the activation is passivated or the node stops.
  virtual void on_passivate();

  /// Decodes `payload` for `method`, runs the handler and answers through
  /// ctx. Generated; not for module authors.
  virtual void dispatch(call_context& ctx, std::string_view method,
                        std::string_view payload)
    = 0;
};

namespace detail {

/// The request message generated dispatch code parses method number
/// `method_index`'s calls into: kept by the serving actor between calls.
template <class Request>
Request& reusable_request(call_context& ctx, int method_index) {
  auto& slot = ctx.state().request_slot(method_index);
  if (!slot)
    slot = std::make_unique<Request>();
  return static_cast<Request&>(*slot);
}

/// Parses a request for generated dispatch code; answers invalid_argument
/// when the bytes are not a valid message.
template <class Request>
bool parse_request(call_context& ctx, std::string_view payload, Request& out) {
  if (out.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return true;
  ctx.state().fail(
    status{status_code::invalid_argument, "malformed request message"});
  return false;
}

/// Answers a method name the generated dispatch does not know.
void unknown_method(call_context& ctx, std::string_view method);

} // namespace detail

} // namespace troupe
