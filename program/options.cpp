#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <boost/program_options.hpp>

#include "config_file.hpp"

namespace po = boost::program_options;

namespace troupe::cli {

namespace {

std::uint64_t parse_count(const std::string& option, const std::string& text,
                          std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min
      || value > max)
    throw usage_error("--" + option + ": expected a whole number from "
                      + std::to_string(min) + " to " + std::to_string(max)
                      + ", got '" + text + "'");
  return value;
}

persistence::store_options::compression parse_compression(const std::string& text) {
  using compression = persistence::store_options::compression;
  if (text == "none") return compression::none;
  if (text == "snappy") return compression::snappy;
  if (text == "lz4") return compression::lz4;
  if (text == "zstd") return compression::zstd;
  throw usage_error("--state-compression: expected none, snappy, lz4 or zstd, got '" + text
                    + "'");
}

// "1048576", "512KiB", "64MiB", "1GiB": bytes, in powers of 1024.
std::uint64_t parse_size(const std::string& option, const std::string& text,
                         std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  auto first = text.data();
  auto last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  std::string unit{end, last};
  std::uint64_t factor = 0;
  if (unit.empty())
    factor = 1;
  else if (unit == "KiB")
    factor = std::uint64_t{1} << 10;
  else if (unit == "MiB")
    factor = std::uint64_t{1} << 20;
  else if (unit == "GiB")
    factor = std::uint64_t{1} << 30;
  if (ec != std::errc{} || end == first || factor == 0 || value > max / factor
      || value * factor < min)
    throw usage_error("--" + option + ": expected a size from " + std::to_string(min)
                      + " to " + std::to_string(max)
                      + " bytes like 1048576, 512KiB or 64MiB, got '" + text + "'");
  return value * factor;
}

runtime::log_level parse_level(const std::string& text) {
  if (text == "trace") return runtime::log_level::trace;
  if (text == "debug") return runtime::log_level::debug;
  if (text == "info") return runtime::log_level::info;
  if (text == "warn" || text == "warning") return runtime::log_level::warning;
  if (text == "error") return runtime::log_level::error;
  throw usage_error("--log-level: expected trace, debug, info, warn or error, got '"
                    + text + "'");
}

// A word on the command line that is not an option. Modules are the likely
// meaning of a path to a shared library.
usage_error unexpected_argument(const std::string& word) {
  const auto name = std::filesystem::path{word}.filename().string();
  if (name.ends_with(".so") || name.find(".so.") != std::string::npos)
    return usage_error("unexpected argument '" + word + "': to load a module, use --module "
                       + word);
  return usage_error("unexpected argument '" + word
                     + "': troupe node takes only options (see troupe node --help)");
}

struct http_address {
  std::string host;
  std::uint16_t port = 0;
};

http_address parse_http(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw usage_error("--http: expected HOST:PORT (e.g. 127.0.0.1:8080), got '"
                      + text + "'");
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // [::1]:8080
  return {host, static_cast<std::uint16_t>(parse_count("http", text.substr(colon + 1), 0, 65535))};
}

} // namespace

std::chrono::milliseconds parse_duration(const std::string& option,
                                         const std::string& text) {
  std::uint64_t value = 0;
  auto first = text.data();
  auto last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  std::string unit{end, last};
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  constexpr std::uint64_t max_ms = 7ull * 24 * 3600 * 1000;  // a week
  if (ec != std::errc{} || factor == 0 || value > max_ms / factor)
    throw usage_error("--" + option + ": expected a duration like 500ms, 15s or 2m, got '"
                      + text + "'");
  return std::chrono::milliseconds{value * factor};
}

namespace {

cluster::host_port parse_cluster_address(const std::string& option, const std::string& text) {
  try {
    auto hp = cluster::parse_host_port(text);
    if (hp.host.empty() || hp.port == 0)
      throw std::invalid_argument("expected HOST:PORT with a port above 0, got '" + text + "'");
    return hp;
  } catch (const std::invalid_argument& e) {
    throw usage_error("--" + option + ": " + e.what());
  }
}

std::string first_line_of(const std::string& path) {
  std::ifstream in{path};
  std::string line;
  if (!in || !std::getline(in, line))
    throw usage_error("--cluster-secret-file: cannot read '" + path + "'");
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  if (line.empty())
    throw usage_error("--cluster-secret-file: '" + path + "' starts with an empty line");
  return line;
}

template <class Read, class GivenAsFlag>
void read_cluster_options(const po::variables_map& vm, Read& read, GivenAsFlag& given_as_flag,
                          cluster::cluster_config& c) {
  (void)given_as_flag;
  const char* cluster_only[] = {"cluster-advertise", "seeds", "seeds-dns", "cluster-name",
                                "cluster-secret", "cluster-secret-file", "tls-cert", "tls-key",
                                "tls-ca", "raft-voters", "election-timeout",
                                "heartbeat-interval", "phi-threshold", "acceptable-pause",
                                "lease"};
  if (!vm.count("cluster-listen")) {
    for (const char* option : cluster_only)
      if (vm.count(option))
        throw usage_error(std::string{"--"} + option + " needs --cluster-listen HOST:PORT");
    return;
  }
  c.listen = read("cluster-listen", [](const std::string& text) {
    return parse_cluster_address("cluster-listen", text);
  });
  if (c.listen.port == 65535)
    throw usage_error("--cluster-listen: the consensus log takes the next port; use a port below "
                      "65535");
  if (vm.count("cluster-advertise"))
    c.advertise = read("cluster-advertise", [](const std::string& text) {
      return parse_cluster_address("cluster-advertise", text);
    });
  else if (c.listen.host == "0.0.0.0" || c.listen.host == "::")
    throw usage_error("--cluster-listen " + c.listen.text()
                      + ": a wildcard address needs --cluster-advertise HOST:PORT");
  if (vm.count("seeds"))
    c.seeds = read("seeds", [](const std::string& text) {
      std::vector<cluster::host_port> seeds;
      std::stringstream list{text};
      std::string item;
      while (std::getline(list, item, ','))
        if (!item.empty())
          seeds.push_back(parse_cluster_address("seeds", item));
      if (seeds.empty())
        throw usage_error("--seeds: expected HOST:PORT,HOST:PORT..., got '" + text + "'");
      return seeds;
    });
  if (vm.count("seeds-dns"))
    c.seeds_dns = read("seeds-dns", [](const std::string& text) {
      return parse_cluster_address("seeds-dns", text);
    });
  if (vm.count("cluster-name"))
    c.name = read("cluster-name", [](const std::string& text) {
      if (text.empty() || text.size() > 64
          || text.find_first_of(" \t\r\n") != std::string::npos)
        throw usage_error("--cluster-name: 1 to 64 characters without blanks, got '" + text + "'");
      return text;
    });
  if (vm.count("cluster-secret") && vm.count("cluster-secret-file"))
    throw usage_error("--cluster-secret and --cluster-secret-file: give one of them");
  if (vm.count("cluster-secret"))
    c.secret = read("cluster-secret", [](const std::string& text) {
      if (text.size() < 8)
        throw usage_error("--cluster-secret: at least 8 characters");
      return text;
    });
  else if (vm.count("cluster-secret-file"))
    c.secret = read("cluster-secret-file", [](const std::string& path) {
      auto secret = first_line_of(path);
      if (secret.size() < 8)
        throw usage_error("--cluster-secret-file: the secret needs at least 8 characters");
      return secret;
    });
  else
    throw usage_error("--cluster-listen needs a shared secret: --cluster-secret or "
                      "--cluster-secret-file");
  if (vm.count("tls-cert"))
    c.tls_cert = vm["tls-cert"].as<std::string>();
  if (vm.count("tls-key"))
    c.tls_key = vm["tls-key"].as<std::string>();
  if (vm.count("tls-ca"))
    c.tls_ca = vm["tls-ca"].as<std::string>();
  int tls_given = !c.tls_cert.empty() + !c.tls_key.empty() + !c.tls_ca.empty();
  if (tls_given != 0 && tls_given != 3)
    throw usage_error("mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca");
  if (vm.count("raft-voters"))
    c.voters = static_cast<unsigned>(read("raft-voters", [](const std::string& text) {
      if (text != "3" && text != "5" && text != "1")
        throw usage_error("--raft-voters: expected 1, 3 or 5, got '" + text + "'");
      return std::stoul(text);
    }));
  auto positive = [&](const char* option) {
    return read(option, [option](const std::string& text) {
      auto value = parse_duration(option, text);
      if (value.count() == 0)
        throw usage_error(std::string{"--"} + option + ": must be greater than 0");
      return value;
    });
  };
  if (vm.count("election-timeout"))
    c.election_timeout = positive("election-timeout");
  if (vm.count("heartbeat-interval"))
    c.heartbeat_interval = positive("heartbeat-interval");
  if (vm.count("acceptable-pause"))
    c.acceptable_pause = read("acceptable-pause", [](const std::string& text) {
      return parse_duration("acceptable-pause", text);
    });
  if (vm.count("lease"))
    c.lease = positive("lease");
  if (vm.count("phi-threshold"))
    c.phi_threshold = read("phi-threshold", [](const std::string& text) {
      double value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 30)
        throw usage_error("--phi-threshold: expected a number from 1 to 30, got '" + text + "'");
      return value;
    });
}

} // namespace

node_options parse_node_options(const std::vector<std::string>& args) {
  node_options result;
  // Flags only the command line takes.
  po::options_description command_line{"troupe node options"};
  // clang-format off
  command_line.add_options()
    ("help,h", "show this help")
    ("version,V", "print the version")
    ("config", po::value<std::string>(), "INI file with any of the options below (flags win)")
    ("restore", po::value<std::string>(), "start from this checkpoint (a `backup` of a node's state): copied into the data directory, which must hold no state yet");
  // The node's settings, as flags or in the config file.
  po::options_description settings{"settings (flags, or NAME = VALUE lines in the config file)"};
  settings.add_options()
    ("name", po::value<std::string>(), "node name (default node-1)")
    ("http", po::value<std::string>(), "gateway address HOST:PORT (default 127.0.0.1:8080; port 0 picks one)")
    ("data", po::value<std::string>(), "data directory (default ./troupe-data)")
    ("module", po::value<std::vector<std::string>>()->composing(), "module to load (repeatable)")
    ("log-level", po::value<std::string>(), "trace, debug, info, warn or error (default info)")
    ("idle-timeout", po::value<std::string>(), "passivate keyed actors idle this long (default 60s)")
    ("request-timeout", po::value<std::string>(), "default call deadline (default 15s)")
    ("shutdown-timeout", po::value<std::string>(), "how long SIGTERM waits for in-flight calls (default 10s)")
    ("max-body-bytes", po::value<std::string>(), "largest request body (default 1048576); larger: 413")
    ("max-connections", po::value<std::string>(), "HTTP connections open at once; past it new ones get 503 and are closed (default: from the soft RLIMIT_NOFILE S, S - S/4 - 256, at least S/4)")
    ("max-body-memory", po::value<std::string>(), "request body bytes held at once, all connections; past it bodies wait unread (default 64MiB; at least --max-body-bytes)")
    ("idle-connection-timeout", po::value<std::string>(), "close a keep-alive connection idle this long (default 60s)")
    ("header-timeout", po::value<std::string>(), "a request header must arrive within this, else 408 and close (default 10s)")
    ("min-request-rate", po::value<std::string>(), "bytes/s a request body must average after the grace, else 408 and close; 0: off (default 1024)")
    ("min-request-rate-grace", po::value<std::string>(), "time a body gets before --min-request-rate applies (default 5s)")
    ("http-threads", po::value<std::string>(), "gateway I/O threads (default: one per two cores)")
    ("scheduler-threads", po::value<std::string>(), "actor scheduler threads (default: one per core)")
    ("state-cache-bytes", po::value<std::string>(), "state store: cache of blocks read from disk (default 64MiB)")
    ("state-memtable-bytes", po::value<std::string>(), "state store: written data kept in memory before a flush to disk (default 64MiB)")
    ("state-compression", po::value<std::string>(), "state store: none, snappy, lz4 or zstd (default lz4)")
    ("state-wal-bytes", po::value<std::string>(), "state store: write-ahead log size that makes it flush, keeping recovery short (default 256MiB)")
    ("cluster-listen", po::value<std::string>(), "join a cluster: HOST:PORT of this node's cluster links; the consensus log takes PORT+1")
    ("cluster-advertise", po::value<std::string>(), "HOST:PORT the other nodes reach the cluster links at (default: --cluster-listen)")
    ("seeds", po::value<std::string>(), "HOST:PORT,HOST:PORT...: nodes to join through (may include this one); the first forms the cluster when no other answers")
    ("seeds-dns", po::value<std::string>(), "NAME:PORT: the seeds are NAME's A/AAAA records, resolved again every few seconds")
    ("cluster-name", po::value<std::string>(), "the cluster's name (default troupe); nodes of another cluster are refused")
    ("cluster-secret", po::value<std::string>(), "the secret every node of the cluster shares")
    ("cluster-secret-file", po::value<std::string>(), "a file whose first line is the cluster secret")
    ("tls-cert", po::value<std::string>(), "mutual TLS between nodes: this node's certificate (PEM)")
    ("tls-key", po::value<std::string>(), "mutual TLS between nodes: its private key (PEM)")
    ("tls-ca", po::value<std::string>(), "mutual TLS between nodes: the CA that signs every node's certificate (PEM)")
    ("raft-voters", po::value<std::string>(), "nodes that vote in the consensus, 3 or 5 (default 3); later ones follow without voting")
    ("election-timeout", po::value<std::string>(), "consensus: a leader not heard from this long is replaced (default 1s)")
    ("heartbeat-interval", po::value<std::string>(), "failure detection: a heartbeat to every member this often (default 100ms)")
    ("phi-threshold", po::value<std::string>(), "failure detection: suspicion (phi) past which a member is declared down (default 8)")
    ("acceptable-pause", po::value<std::string>(), "failure detection: a pause in heartbeats forgiven on top of their usual interval (default 500ms)")
    ("lease", po::value<std::string>(), "a node serves keyed actors only this long after the leader last answered it (default 1s)")
    ("max-inflight", po::value<std::string>(), "calls in flight on the node at most; past it calls get 503 (default 10000)")
    ("max-mailbox", po::value<std::string>(), "calls waiting for one actor at most; past it its calls get 503 (default 1000)")
    ("max-activations", po::value<std::string>(), "keyed actors active on the node at most; past it idle ones are passivated early, or new keys get 503 (default 1000000)")
    ("slow-handler-threshold", po::value<std::string>(), "report a non-blocking handler that runs longer (default 100ms)");
  // clang-format on
  po::options_description all;
  all.add(command_line).add(settings);
  std::ostringstream help;
  help << "usage: troupe node [options]\n\n"
       << command_line << '\n'
       << settings << '\n'
       << "In the config file, relative paths (module, data) start from the file's\n"
          "directory, and module lines add to --module flags.\n";
  result.help_text = help.str();

  po::variables_map vm;
  po::parsed_options flags{&all};
  try {
    flags = po::command_line_parser(args).options(all).run();
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }
  // Program_options would drop words that are not options, silently.
  for (const auto& option : flags.options)
    if (option.position_key >= 0 && !option.value.empty())
      throw unexpected_argument(option.value.front());
  std::optional<config_file> file;
  try {
    po::store(flags, vm);
    if (vm.count("help") || vm.count("version")) {
      result.help = vm.count("help") > 0;
      result.version = !result.help;
      return result;
    }
    if (vm.count("config")) {
      file.emplace(vm["config"].as<std::string>());
      file->store(settings,
                  {"module", "data", "cluster-secret-file", "tls-cert", "tls-key", "tls-ca"}, vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }

  // A value's fault is told with where the value came from: the flag names
  // the option; a line of the file is named too.
  const auto given_as_flag = [&](const char* key) {
    return std::any_of(flags.options.begin(), flags.options.end(),
                       [&](const po::option& o) { return o.string_key == key; });
  };
  const auto read = [&](const char* key, auto&& parse) {
    try {
      return parse(vm[key].as<std::string>());
    } catch (const usage_error& e) {
      if (!file || given_as_flag(key))
        throw;
      throw usage_error(file->where(key) + ": " + e.what());
    }
  };
  const auto not_empty = [](const char* option) {
    return [option](const std::string& text) {
      if (text.empty())
        throw usage_error(std::string{"--"} + option + ": must not be empty");
      return text;
    };
  };
  const auto positive_duration = [](const char* option) {
    return [option](const std::string& text) {
      auto value = parse_duration(option, text);
      if (value.count() == 0)
        throw usage_error(std::string{"--"} + option + ": must be greater than 0");
      return value;
    };
  };
  const auto count = [](const char* option, std::uint64_t min, std::uint64_t max) {
    return [=](const std::string& text) { return parse_count(option, text, min, max); };
  };
  const auto size = [](const char* option, std::uint64_t min, std::uint64_t max) {
    return [=](const std::string& text) { return parse_size(option, text, min, max); };
  };

  auto& node = result.node;
  auto& gw = result.gateway;
  if (vm.count("name"))
    node.name = read("name", not_empty("name"));
  if (vm.count("http")) {
    auto address = read("http", parse_http);
    gw.host = std::move(address.host);
    gw.port = address.port;
  }
  if (vm.count("data"))
    node.data_dir = read("data", not_empty("data"));
  if (vm.count("module"))
    node.modules = vm["module"].as<std::vector<std::string>>();
  if (vm.count("log-level"))
    node.level = read("log-level", parse_level);
  if (vm.count("idle-timeout"))
    node.idle_timeout = read("idle-timeout", positive_duration("idle-timeout"));
  if (vm.count("request-timeout"))
    gw.request_timeout = read("request-timeout", positive_duration("request-timeout"));
  if (vm.count("shutdown-timeout"))
    gw.shutdown_timeout = read("shutdown-timeout", [](const std::string& text) {
      return parse_duration("shutdown-timeout", text);
    });
  if (vm.count("max-body-bytes"))
    gw.max_body_bytes = read("max-body-bytes", [](const std::string& text) {
      return parse_size("max-body-bytes", text, 1, std::uint64_t{1} << 30);
    });
  if (vm.count("max-connections"))
    gw.max_connections =
      read("max-connections", count("max-connections", 1, std::uint64_t{1} << 24));
  if (vm.count("max-body-memory"))
    gw.max_body_memory = read("max-body-memory", [](const std::string& text) {
      return parse_size("max-body-memory", text, 1, std::uint64_t{1} << 40);
    });
  if (gw.max_body_memory < gw.max_body_bytes) {
    const char* key = vm.count("max-body-memory") ? "max-body-memory" : "max-body-bytes";
    std::string fault = "--max-body-memory (" + std::to_string(gw.max_body_memory)
                        + ") must be at least --max-body-bytes ("
                        + std::to_string(gw.max_body_bytes) + ")";
    if (file && vm.count(key) && !given_as_flag(key))
      throw usage_error(file->where(key) + ": " + fault);
    throw usage_error(fault);
  }
  if (vm.count("idle-connection-timeout"))
    gw.idle_connection_timeout =
      read("idle-connection-timeout", positive_duration("idle-connection-timeout"));
  if (vm.count("header-timeout"))
    gw.header_timeout = read("header-timeout", positive_duration("header-timeout"));
  if (vm.count("min-request-rate"))
    gw.min_request_rate =
      read("min-request-rate", count("min-request-rate", 0, std::uint64_t{1} << 30));
  if (vm.count("min-request-rate-grace"))
    gw.min_request_rate_grace = read("min-request-rate-grace", [](const std::string& text) {
      return parse_duration("min-request-rate-grace", text);
    });
  if (vm.count("http-threads"))
    gw.io_threads = read("http-threads", count("http-threads", 1, 64));
  if (vm.count("scheduler-threads"))
    node.scheduler_threads = read("scheduler-threads", count("scheduler-threads", 1, 256));
  auto& store = result.state_store;
  constexpr std::uint64_t tebibyte = std::uint64_t{1} << 40;
  if (vm.count("state-cache-bytes"))
    store.block_cache_bytes = read("state-cache-bytes", size("state-cache-bytes", 0, tebibyte));
  if (vm.count("state-memtable-bytes"))
    store.memtable_bytes =
      read("state-memtable-bytes", size("state-memtable-bytes", 1 << 20, tebibyte));
  if (vm.count("state-compression"))
    store.block_compression = read("state-compression", parse_compression);
  if (vm.count("state-wal-bytes"))
    store.max_wal_bytes = read("state-wal-bytes", size("state-wal-bytes", 1 << 20, tebibyte));
  if (vm.count("restore"))
    result.restore = read("restore", not_empty("restore"));
  read_cluster_options(vm, read, given_as_flag, result.cluster);
  if (vm.count("max-inflight"))
    node.max_inflight = read("max-inflight", count("max-inflight", 1, 0xffff'ffffu));
  if (vm.count("max-mailbox"))
    node.max_mailbox = read("max-mailbox", count("max-mailbox", 1, 0xffff'ffffu));
  if (vm.count("max-activations"))
    node.max_activations =
      read("max-activations", count("max-activations", 1, std::uint64_t{1} << 40));
  if (vm.count("slow-handler-threshold"))
    node.slow_handler_threshold =
      read("slow-handler-threshold", positive_duration("slow-handler-threshold"));
  return result;
}

} // namespace troupe::cli
