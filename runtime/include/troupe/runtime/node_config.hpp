// What a node is started with. Filled from flags and the INI config file by
// `troupe node` (program/); the runtime only reads it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::runtime {

enum class log_level { trace, debug, info, warning, error };

struct node_config {
  std::string name = "node-1";
  std::string data_dir = "./troupe-data";
  std::vector<std::string> modules;          // paths, loaded in this order
  log_level level = log_level::info;
  std::chrono::milliseconds idle_timeout{60'000};  // keyed actors, default
  std::size_t scheduler_threads = 0;         // 0: one per core
  std::size_t keyed_shards = 0;              // per keyed service; 0: 4 per scheduler thread

  // Bounds on the work the node takes on (README, "Running a node"). Past
  // each, calls are refused at once with unavailable and a retry-after hint
  // (HTTP 503 with Retry-After) instead of queueing.
  std::uint64_t max_inflight = 10'000;        // calls accepted and not yet answered
  std::uint64_t max_mailbox = 1'000;          // calls waiting for one actor
  std::uint64_t max_activations = 1'000'000;  // keyed activations, all services
  // A non-blocking handler that runs longer is reported (once per method in
  // the log) and counted.
  std::chrono::milliseconds slow_handler_threshold{100};
};

} // namespace troupe::runtime
