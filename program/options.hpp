// Parsing of `troupe node` flags and config file into the runtime's and the
// gateway's settings. Faults become a usage_error whose message is one line;
// a fault in the config file names the file and the line.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "troupe/cluster/cluster_config.hpp"
#include "troupe/gateway/gateway_config.hpp"
#include "troupe/persistence/rocksdb_store.hpp"
#include "troupe/runtime/node_config.hpp"

namespace troupe::cli {

class usage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct node_options {
  runtime::node_config node;
  gateway::gateway_config gateway;
  persistence::store_options state_store;  // the RocksDB store under DATA/state
  cluster::cluster_config cluster;         // enabled() when --cluster-listen is given
  std::string restore;  // --restore: a checkpoint to start from; empty: none
  bool help = false;      // --help: print help_text and exit
  bool version = false;   // --version, -V: print the version and exit
  std::string help_text;
};

/// Parses `troupe node` arguments (argv without "troupe node"); flags win over
/// the values of --config FILE, and `module` lines add to --module flags.
/// Relative paths (`module`, `data`) in the file start from the file's
/// directory; on the command line, from the working directory. Arguments
/// that are not options are refused: `troupe node x.so` is a usage_error
/// that says to use --module.
node_options parse_node_options(const std::vector<std::string>& args);

/// "250ms", "15s", "2m", or a plain number of milliseconds.
std::chrono::milliseconds parse_duration(const std::string& option,
                                         const std::string& text);

} // namespace troupe::cli
