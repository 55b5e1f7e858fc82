// The verb and path template of a troupe.HttpRule (troupe/options.proto),
// whichever of its get/put/post/delete/patch fields is set: the one reading
// of the rule for protoc-gen-troupe and the gateway's router and admin API.
// Header only: each reader compiles troupe/options.pb.h itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "troupe/options.pb.h"

namespace troupe::options {

struct http_pattern {
  std::string_view verb;    // "GET", "PUT", "POST", "DELETE" or "PATCH"
  const std::string& path;  // the template, e.g. "/v1/counters/{key}"
};

/// The rule's pattern; nothing when none of its verbs is set.
inline std::optional<http_pattern> pattern_of(const troupe::HttpRule& rule) {
  switch (rule.pattern_case()) {
    case troupe::HttpRule::kGet:
      return http_pattern{"GET", rule.get()};
    case troupe::HttpRule::kPut:
      return http_pattern{"PUT", rule.put()};
    case troupe::HttpRule::kPost:
      return http_pattern{"POST", rule.post()};
    case troupe::HttpRule::kDelete:
      return http_pattern{"DELETE", rule.delete_()};
    case troupe::HttpRule::kPatch:
      return http_pattern{"PATCH", rule.patch()};
    case troupe::HttpRule::PATTERN_NOT_SET:
      break;
  }
  return std::nullopt;
}

/// Whether a call of the rule's rpc may be sent again when its node was lost
/// while it ran: its `idempotent` when set, else whether it is a GET.
inline bool idempotent(const troupe::HttpRule& rule) {
  return rule.has_idempotent() ? rule.idempotent()
                               : rule.pattern_case() == troupe::HttpRule::kGet;
}

} // namespace troupe::options
