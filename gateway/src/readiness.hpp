// What /readyz answers: ready, or the reasons the node should get no new
// traffic now. Each reason comes from a check registered before the server
// starts (the gateway's own bounds; the runtime's load shedding), asked on
// every /readyz:
//
//   200 {"status":"ready"}
//   503 application/problem+json, Retry-After: 1
//       {"type":"about:blank","title":"Service Unavailable","status":503,
//        "detail":"connection limit reached (100)","instance":"/readyz",
//        "reasons":["connection limit reached (100)"]}
//
// `detail` joins the reasons with "; "; `reasons` lists them one by one for
// programs. A connection refused at the connection limit gets the same
// problem document, so a probe that opens a new connection learns the
// reason too.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http_message.hpp"
#include "troupe/gateway/gateway.hpp"  // readiness_check

namespace troupe::gateway {

class readiness {
public:
  /// Adds a check whose non-empty answer is a reason. Before the server
  /// starts; not thread-safe.
  void add(readiness_check check);

  /// Adds a source of any number of reasons, appended to the list it gets.
  void add_source(std::function<void(std::vector<std::string>&)> source);

  /// The reasons of the checks that fail now, in the order they were added.
  std::vector<std::string> reasons() const;

  /// The /readyz response for now; `draining` adds "the node is draining".
  http_response response(bool draining, std::string_view path) const;

private:
  std::vector<std::function<void(std::vector<std::string>&)>> sources_;
};

/// The 503 problem document for `reasons` (non-empty), with Retry-After: 1.
http_response unready_response(std::span<const std::string> reasons, std::string_view path);

} // namespace troupe::gateway
