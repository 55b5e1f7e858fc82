// What a node is started with. Filled from flags and the INI config file by
// `troupe node` (program/); the runtime only reads it.
#pragma once

#include <chrono>
#include <cstddef>
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
};

} // namespace troupe::runtime
