// What happens to an activation whose service object failed (a handler, a
// continuation or on_activate threw): decided by its host, from the shared
// restart_tracker for a stateless instance or per key for a keyed shard.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace troupe::runtime {

struct supervision_decision {
  enum class action : std::uint8_t {
    restart,     // a fresh service object after `delay`
    quarantine,  // keyed: the key refuses calls for `delay`, then starts afresh
    give_up,     // the whole service is failed until an operator resets it
  };

  action what = action::restart;
  std::chrono::milliseconds delay{0};
  std::string_view reason;  // give_up: why, for the log
};

} // namespace troupe::runtime
