// Forwards a routed HTTP request to an rpc of a hosted service: fills the
// request message (transcoder), wraps it in an envelope with the actor key
// and the deadline, hands it to the node, and turns the reply into the HTTP
// response: 200 with the reply as JSON, or a problem document whose status
// is mapped from the reply's status code (status_mapping.hpp) and whose
// detail is the status' message and nothing else.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_server.hpp"
#include "transcoder.hpp"
#include "troupe/runtime/node.hpp"

namespace google::protobuf {
class MethodDescriptor;
} // namespace google::protobuf

namespace troupe::runtime {
struct service_entry;
} // namespace troupe::runtime

namespace troupe::gateway {

/// One call to forward.
struct forwarded_call {
  const runtime::service_entry* service = nullptr;
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string_view body_rule;  // "", "*" or a field name
  /// Keyed services: the actor key when the path or the caller gives it
  /// (the admin API's ?key=); the request's string field `key` must then be
  /// empty, and is filled with it, or the same, else the call is a 400
  /// naming the field. Not given (or empty): the key is that field's value.
  std::optional<std::string> key;
  request_parts parts;
  std::string_view instance;     // the request path, for problem documents
  std::string_view traceparent;  // W3C trace context header; may be empty
};

class call_forwarder {
public:
  /// Both must outlive the forwarder.
  call_forwarder(runtime::node& node, const transcoder& codec);

  /// Set-up, before the forwarder is shared: calls will come from
  /// `io_threads` I/O threads, each with a caller of its own.
  void serve_io_threads(std::size_t io_threads);

  /// Runs on I/O thread number context.io_thread and returns at once; the
  /// response follows through `respond` when the node replies. Refuses with
  /// 503 while draining.
  void forward(const forwarded_call& call, const request_context& context,
               responder respond) const;

  /// How the forwarder turns messages into JSON, for others that print what
  /// services define (the admin API's stored state).
  const transcoder& codec() const noexcept {
    return codec_;
  }

private:
  runtime::node& node_;
  const transcoder& codec_;
  // One per I/O thread, each used by its thread only: a caller resolves
  // through its own view of the node's directory, so no call takes a lock.
  mutable std::vector<runtime::node::caller> callers_;
};

} // namespace troupe::gateway
