#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "program/options.hpp"

using namespace std::chrono_literals;
using troupe::cli::parse_duration;
using troupe::cli::parse_node_options;
using troupe::cli::usage_error;

namespace {

/// A config file in the temp directory, removed with the object.
struct temp_file {
  explicit temp_file(const std::string& text) {
    path = (std::filesystem::temp_directory_path()
            / ("troupe-options-" + std::to_string(::getpid()) + ".ini"))
             .string();
    std::ofstream{path} << text;
  }
  ~temp_file() {
    std::remove(path.c_str());
  }
  std::string path;
};

std::string error_of(const std::vector<std::string>& args) {
  try {
    parse_node_options(args);
  } catch (const usage_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("node options have sensible defaults", "[cli]") {
  auto opts = parse_node_options({});
  CHECK(opts.node.name == "node-1");
  CHECK(opts.gateway.host == "127.0.0.1");
  CHECK(opts.gateway.port == 8080);
  CHECK(opts.gateway.max_body_bytes == 1u << 20);
  CHECK(opts.gateway.request_timeout == 15s);
  CHECK(opts.node.modules.empty());
}

TEST_CASE("node options parse every flag", "[cli]") {
  auto opts = parse_node_options(
    {"--name", "n7", "--http", "[::1]:0", "--data", "/tmp/d", "--module", "a.so",
     "--module", "b.so", "--log-level", "debug", "--idle-timeout", "2m",
     "--request-timeout", "250ms", "--max-body-bytes", "4096"});
  CHECK(opts.node.name == "n7");
  CHECK(opts.gateway.host == "::1");
  CHECK(opts.gateway.port == 0);
  CHECK(opts.node.data_dir == "/tmp/d");
  CHECK(opts.node.modules == std::vector<std::string>{"a.so", "b.so"});
  CHECK(opts.node.level == troupe::runtime::log_level::debug);
  CHECK(opts.node.idle_timeout == 120s);
  CHECK(opts.gateway.request_timeout == 250ms);
  CHECK(opts.gateway.max_body_bytes == 4096);
}

TEST_CASE("bad node options name the option and the value", "[cli]") {
  CHECK_THAT(error_of({"--bogus"}), Catch::Contains("--bogus"));
  CHECK_THAT(error_of({"--http", "nonsense"}), Catch::Contains("--http"));
  CHECK_THAT(error_of({"--http", "host:99999"}), Catch::Contains("99999"));
  CHECK_THAT(error_of({"--log-level", "loud"}), Catch::Contains("loud"));
  CHECK_THAT(error_of({"--idle-timeout", "5 parsecs"}), Catch::Contains("--idle-timeout"));
  CHECK_THAT(error_of({"--max-body-bytes", "-1"}), Catch::Contains("--max-body-bytes"));
  CHECK_THAT(error_of({"--name"}), Catch::Contains("name"));
  CHECK_THAT(error_of({"--config", "/nonexistent/troupe.ini"}),
             Catch::Contains("/nonexistent/troupe.ini"));
}

TEST_CASE("flags win over the config file", "[cli]") {
  temp_file ini{"name = from-file\nhttp = 127.0.0.1:9000\nmodule = x.so\n"};
  auto opts = parse_node_options({"--config", ini.path, "--name", "from-flag"});
  CHECK(opts.node.name == "from-flag");
  CHECK(opts.gateway.port == 9000);
  CHECK(opts.node.modules == std::vector<std::string>{"x.so"});
}

TEST_CASE("an unknown key in the config file names the file", "[cli]") {
  temp_file ini{"colour = blue\n"};
  auto err = error_of({"--config", ini.path});
  CHECK_THAT(err, Catch::Contains(ini.path));
  CHECK_THAT(err, Catch::Contains("colour"));
}

TEST_CASE("durations take ms, s, m or plain milliseconds", "[cli]") {
  CHECK(parse_duration("t", "250") == 250ms);
  CHECK(parse_duration("t", "250ms") == 250ms);
  CHECK(parse_duration("t", "3s") == 3s);
  CHECK(parse_duration("t", "2m") == 120s);
  CHECK_THROWS_AS(parse_duration("t", "2h"), usage_error);
  CHECK_THROWS_AS(parse_duration("t", ""), usage_error);
  CHECK_THROWS_AS(parse_duration("t", "s"), usage_error);
}
