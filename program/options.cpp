#include "options.hpp"

#include <charconv>
#include <fstream>
#include <limits>

#include <boost/program_options.hpp>

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

runtime::log_level parse_level(const std::string& text) {
  if (text == "trace") return runtime::log_level::trace;
  if (text == "debug") return runtime::log_level::debug;
  if (text == "info") return runtime::log_level::info;
  if (text == "warn" || text == "warning") return runtime::log_level::warning;
  if (text == "error") return runtime::log_level::error;
  throw usage_error("--log-level: expected trace, debug, info, warn or error, got '"
                    + text + "'");
}

void parse_http(const std::string& text, gateway::gateway_config& cfg) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw usage_error("--http: expected HOST:PORT (e.g. 127.0.0.1:8080), got '"
                      + text + "'");
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // [::1]:8080
  cfg.host = host;
  cfg.port = static_cast<std::uint16_t>(
    parse_count("http", text.substr(colon + 1), 0, 65535));
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

node_options parse_node_options(const std::vector<std::string>& args) {
  node_options result;
  po::options_description desc{"troupe node options"};
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("config", po::value<std::string>(), "INI file with any of these options (flags win)")
    ("name", po::value<std::string>(), "node name (default node-1)")
    ("http", po::value<std::string>(), "gateway address HOST:PORT (default 127.0.0.1:8080; port 0 picks one)")
    ("data", po::value<std::string>(), "data directory (default ./troupe-data)")
    ("module", po::value<std::vector<std::string>>()->composing(), "module to load (repeatable)")
    ("log-level", po::value<std::string>(), "trace, debug, info, warn or error (default info)")
    ("idle-timeout", po::value<std::string>(), "passivate keyed actors idle this long (default 60s)")
    ("request-timeout", po::value<std::string>(), "default call deadline (default 15s)")
    ("shutdown-timeout", po::value<std::string>(), "how long SIGTERM waits for in-flight calls (default 10s)")
    ("max-body-bytes", po::value<std::string>(), "largest request body (default 1048576)")
    ("http-threads", po::value<std::string>(), "gateway I/O threads (default: one per two cores)")
    ("scheduler-threads", po::value<std::string>(), "actor scheduler threads (default: one per core)");
  // clang-format on
  std::ostringstream help;
  help << "usage: troupe node [options]\n\n" << desc;
  result.help_text = help.str();

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("config")) {
      auto file = vm["config"].as<std::string>();
      std::ifstream in{file};
      if (!in)
        throw usage_error("--config: cannot read '" + file + "'");
      try {
        po::store(po::parse_config_file(in, desc, false), vm);
      } catch (const po::error& e) {
        throw usage_error("config file " + file + ": " + e.what());
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }
  if (vm.count("help")) {
    result.help = true;
    return result;
  }
  auto str = [&](const char* key) { return vm[key].as<std::string>(); };
  auto& node = result.node;
  auto& gw = result.gateway;
  if (vm.count("name")) {
    node.name = str("name");
    if (node.name.empty())
      throw usage_error("--name: must not be empty");
  }
  if (vm.count("http"))
    parse_http(str("http"), gw);
  if (vm.count("data")) {
    node.data_dir = str("data");
    if (node.data_dir.empty())
      throw usage_error("--data: must not be empty");
  }
  if (vm.count("module"))
    node.modules = vm["module"].as<std::vector<std::string>>();
  if (vm.count("log-level"))
    node.level = parse_level(str("log-level"));
  if (vm.count("idle-timeout"))
    node.idle_timeout = parse_duration("idle-timeout", str("idle-timeout"));
  if (vm.count("request-timeout"))
    gw.request_timeout = parse_duration("request-timeout", str("request-timeout"));
  if (vm.count("shutdown-timeout"))
    gw.shutdown_timeout = parse_duration("shutdown-timeout", str("shutdown-timeout"));
  if (vm.count("max-body-bytes"))
    gw.max_body_bytes = parse_count("max-body-bytes", str("max-body-bytes"), 1,
                                    std::uint64_t{1} << 30);
  if (vm.count("http-threads"))
    gw.io_threads = parse_count("http-threads", str("http-threads"), 1, 64);
  if (vm.count("scheduler-threads"))
    node.scheduler_threads = parse_count("scheduler-threads", str("scheduler-threads"), 1, 256);
  if (node.idle_timeout.count() == 0)
    throw usage_error("--idle-timeout: must be greater than 0");
  if (gw.request_timeout.count() == 0)
    throw usage_error("--request-timeout: must be greater than 0");
  return result;
}

} // namespace troupe::cli
