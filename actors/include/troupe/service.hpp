// The base of every service implementation (named service_base because
// troupe/options.pb.h declares the option extension troupe::service). Module authors do not derive from
// it directly: protoc-gen-troupe generates a base class per proto service with
// one virtual function per rpc, and the author derives from that.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>

#include <google/protobuf/message_lite.h>

#include "troupe/call_context.hpp"
#include "troupe/journaled_state.hpp"
#include "troupe/keyed_state.hpp"
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

  /// The object's declared state (troupe/keyed_state.hpp); null for services
  /// without one. Generated; not for module authors.
  virtual detail::state_access* declared_state() noexcept;

  /// Decodes `payload` for `method`, runs the handler and answers through
  /// ctx. Generated; not for module authors.
  virtual void dispatch(call_context& ctx, std::string_view method,
                        std::string_view payload)
    = 0;
};

namespace detail {

/// Refuses the call with invalid_argument: field `field_name` of its request
/// holds `value`, another key than the call's.
void refuse_other_key(call_context& ctx, std::string_view field_name, std::string_view value);

/// The request of a call to method number `method_index`, for generated
/// dispatch code: the object the caller handed over when it is a `Request`,
/// otherwise `payload` parsed into the message the serving actor keeps for
/// the method (protobuf keeps a cleared message's memory, so reuse parses
/// without allocating). Null, with the call answered invalid_argument, when
/// the bytes are not a valid message. Valid until the handler returns.
template <class Request>
const Request* request_for(call_context& ctx, std::string_view payload, int method_index) {
  auto& call = ctx.state();
  std::string converted;
  if (const auto* object = call.request_object()) {
    if (typeid(*object) == typeid(Request))
      return static_cast<const Request*>(object);
    // Another class for the type (a dynamic message, say): through its bytes.
    converted = object->SerializeAsString();
    payload = converted;
  }
  auto& slot = call.request_slot(method_index);
  if (!slot)
    slot = std::make_unique<Request>();
  auto& request = static_cast<Request&>(*slot);
  if (request.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return &request;
  call.fail(status{status_code::invalid_argument, "malformed request message"});
  return nullptr;
}

/// For generated dispatch of a keyed service whose request has a string
/// field (`field_name`, read by `field`, written by `mutable_field`) bound to
/// the actor key, called when that field does not hold ctx.key(): the
/// request the handler gets instead, or null with the call refused. An empty
/// field is filled with the key: in place when `request` is the host's kept
/// message for the method, otherwise (the caller's shared, immutable object)
/// in a copy made in that kept message, which reuses its memory. A field
/// naming another key refuses the call with invalid_argument naming the
/// field. The common case, a field that already holds the key, never gets
/// here: the generated code compares first.
template <class Request>
const Request* request_with_key(call_context& ctx, const Request& request, int method_index,
                                std::string_view field_name,
                                const std::string& (Request::*field)() const,
                                std::string* (Request::*mutable_field)()) {
  const std::string& named = (request.*field)();
  if (!named.empty()) {
    refuse_other_key(ctx, field_name, named);
    return nullptr;
  }
  auto& slot = ctx.state().request_slot(method_index);
  if (slot.get() != static_cast<const google::protobuf::MessageLite*>(&request)) {
    if (!slot)
      slot = std::make_unique<Request>();
    static_cast<Request&>(*slot).CopyFrom(request);
  }
  auto& own = static_cast<Request&>(*slot);
  *(own.*mutable_field)() = ctx.key();
  return &own;
}

/// Answers a method name the generated dispatch does not know.
void unknown_method(call_context& ctx, std::string_view method);

} // namespace detail

} // namespace troupe
