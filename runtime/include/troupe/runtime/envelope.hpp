// The message every call travels in, between the gateway and actors and
// between actors, on one node or (later) across nodes over CAF's BASP.
//
// A request or response travels either as bytes (payload) or, between
// callers and actors of one process, as the message object itself (object):
// handing over an immutable object costs a reference count where bytes cost
// a serialization on one side and a parse on the other. An object never
// crosses a node: serializing an envelope for BASP turns it into its bytes,
// and the receiver gets payload. A call answers in the form it was asked in,
// so only a caller that sent an object receives one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/meta/type_name.hpp>
#include <google/protobuf/message_lite.h>

namespace troupe::runtime {

/// A call to one service. The service is not named: an envelope goes to an
/// actor that serves one service, found by resolving (service, key) first,
/// so the name would only be copied and freed on every hop.
struct envelope {
  std::string method;       // rpc name, e.g. "Add"
  std::string key;          // actor key of a keyed service; empty otherwise
  std::string payload;      // serialized request message, unless `object`
  std::string traceparent;  // W3C trace context
  std::string principal;    // authenticated caller; empty when anonymous
  std::int64_t deadline_unix_ns = 0;  // wall clock: deadlines cross nodes
  // The request itself (of the method's input type), instead of payload.
  std::shared_ptr<const google::protobuf::MessageLite> object;
  // Set by a sender in this process that counted the call against the
  // limits of the actor it goes to (host_load.hpp). Never crosses a node
  // (not inspected): a call from another node is counted when it arrives.
  bool admitted = false;
  // Set by the gateway for an idempotent route (troupe.HttpRule.idempotent):
  // a relay sends the call again to where the directory then resolves it
  // when the node running it is lost, within the deadline, instead of
  // answering unavailable. Never crosses a node (not inspected): only the
  // sender's relay retries.
  bool idempotent = false;
};

struct reply_envelope {
  std::int32_t code = 0;    // troupe::status_code
  // With an error: retrying sooner than this is pointless (a quarantined
  // key, say); 0 when there is no such hint. The gateway sends it as
  // Retry-After. (Next to `code`, it takes what would be padding.)
  std::uint32_t retry_after_ms = 0;
  std::string payload;      // serialized response message when code == ok
  std::string message;      // error message for the caller otherwise
  // The response itself, instead of payload, for a caller that sent an object.
  std::shared_ptr<const google::protobuf::MessageLite> object;
};

/// Inspects a payload as it travels: an object as its bytes when the
/// inspector reads (serializes or prints); the object dropped when it writes
/// (deserializes: bytes arrive). `fields` inspects the rest with the payload.
template <class Inspector, class Fields>
typename Inspector::result_type
inspect_payload(std::string& payload,
                std::shared_ptr<const google::protobuf::MessageLite>& object, Fields fields) {
  if constexpr (Inspector::reads_state) {
    if (object && payload.empty()) {
      auto bytes = object->SerializeAsString();
      return fields(bytes);
    }
  } else {
    object.reset();
  }
  return fields(payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envelope& x) {
  return inspect_payload<Inspector>(x.payload, x.object, [&](std::string& payload) {
    return f(caf::meta::type_name("troupe.envelope"), x.method, x.key, payload,
             x.traceparent, x.principal, x.deadline_unix_ns);
  });
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply_envelope& x) {
  return inspect_payload<Inspector>(x.payload, x.object, [&](std::string& payload) {
    return f(caf::meta::type_name("troupe.reply_envelope"), x.code, payload, x.message,
             x.retry_after_ms);
  });
}

} // namespace troupe::runtime
