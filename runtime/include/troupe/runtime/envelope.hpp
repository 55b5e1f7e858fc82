// The message every call travels in, between the gateway and actors and
// between actors, on one node or (later) across nodes over CAF's BASP.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace troupe::runtime {

/// A call to one service. The service is not named: an envelope goes to an
/// actor that serves one service, found by resolving (service, key) first,
/// so the name would only be copied and freed on every hop.
struct envelope {
  std::string method;       // rpc name, e.g. "Add"
  std::string key;          // actor key of a keyed service; empty otherwise
  std::string payload;      // serialized request message
  std::string traceparent;  // W3C trace context
  std::string principal;    // authenticated caller; empty when anonymous
  std::int64_t deadline_unix_ns = 0;  // wall clock: deadlines cross nodes
};

struct reply_envelope {
  std::int32_t code = 0;    // troupe::status_code
  std::string payload;      // serialized response message when code == ok
  std::string message;      // error message for the caller otherwise
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envelope& x) {
  return f(caf::meta::type_name("troupe.envelope"), x.method, x.key,
           x.payload, x.traceparent, x.principal, x.deadline_unix_ns);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply_envelope& x) {
  return f(caf::meta::type_name("troupe.reply_envelope"), x.code, x.payload,
           x.message);
}

} // namespace troupe::runtime
