#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "program/options.hpp"
#include "troupe/gateway/gateway_config.hpp"

using namespace std::chrono_literals;
using troupe::cli::parse_duration;
using troupe::cli::parse_node_options;
using troupe::cli::usage_error;

namespace {

/// A config file in the temp directory, removed with the object.
struct temp_file {
  explicit temp_file(const std::string& text) {
    static int files = 0;  // several may live at once
    path = (std::filesystem::temp_directory_path()
            / ("troupe-options-" + std::to_string(::getpid()) + "-" + std::to_string(++files)
               + ".ini"))
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
  // A relative path in the file starts from the file's directory.
  const auto dir = std::filesystem::path{ini.path}.parent_path();
  CHECK(opts.node.modules == std::vector<std::string>{(dir / "x.so").string()});
}

TEST_CASE("an unknown key in the config file names the file and the line", "[cli]") {
  temp_file ini{"name = n\n\n# the colour of the node\ncolour = blue\n"};
  CHECK(error_of({"--config", ini.path})
        == "config file " + ini.path + ":4: unrecognised option 'colour'");
}

TEST_CASE("a bad value in the config file names the file and the line", "[cli]") {
  // Our own checks of a value, then what Program_options refuses itself.
  temp_file ini{"name = n\nhttp = 127.0.0.1:0\n\n# a comment\n"
                "  # an indented one\nlog-level = info # trailing comment\nidle-timeout = soon\n"};
  CHECK(error_of({"--config", ini.path})
        == "config file " + ini.path
             + ":7: --idle-timeout: expected a duration like 500ms, 15s or 2m, got 'soon'");

  temp_file zero{"request-timeout = 0s\n"};
  CHECK(error_of({"--config", zero.path})
        == "config file " + zero.path + ":1: --request-timeout: must be greater than 0");

  temp_file twice{"name = a\nmodule = x.so\nname = b\n"};
  CHECK_THAT(error_of({"--config", twice.path}),
             Catch::StartsWith("config file " + twice.path + ":3: ")
               && Catch::Contains("'name'"));

  temp_file no_equals{"name = a\njust words\n"};
  CHECK_THAT(error_of({"--config", no_equals.path}),
             Catch::StartsWith("config file " + no_equals.path + ":2: ")
               && Catch::Contains("just words"));

  temp_file section{"name = a\n[node]\nname = b\n"};
  CHECK(error_of({"--config", section.path})
        == "config file " + section.path + ":3: unrecognised option 'node.name'");

  temp_file command_line_only{"name = a\nconfig = other.ini\n"};
  CHECK(error_of({"--config", command_line_only.path})
        == "config file " + command_line_only.path + ":2: unrecognised option 'config'");
}

TEST_CASE("a bad flag names the flag, not the config file", "[cli]") {
  temp_file ini{"idle-timeout = 5s\n"};
  CHECK(error_of({"--config", ini.path, "--idle-timeout", "soon"})
        == "--idle-timeout: expected a duration like 500ms, 15s or 2m, got 'soon'");
}

TEST_CASE("relative paths in the config file start from its directory", "[cli]") {
  temp_file ini{"module = mods/a.so\nmodule = /opt/troupe/b.so\ndata = state\n"};
  const auto dir = std::filesystem::path{ini.path}.parent_path();
  auto opts = parse_node_options({"--config", ini.path});
  CHECK(opts.node.modules
        == std::vector<std::string>{(dir / "mods/a.so").string(), "/opt/troupe/b.so"});
  CHECK(opts.node.data_dir == (dir / "state").string());

  // Flags stay relative to the working directory, and module lines add to them.
  opts = parse_node_options({"--config", ini.path, "--module", "c.so", "--data", "d"});
  CHECK(opts.node.modules
        == std::vector<std::string>{"c.so", (dir / "mods/a.so").string(), "/opt/troupe/b.so"});
  CHECK(opts.node.data_dir == "d");
}

TEST_CASE("a config file named by a relative path: its paths too", "[cli]") {
  temp_file ini{"module = a.so\n"};
  const auto file = std::filesystem::path{ini.path};
  const auto relative = std::filesystem::relative(file);
  REQUIRE(relative.is_relative());
  auto opts = parse_node_options({"--config", relative.string()});
  REQUIRE(opts.node.modules.size() == 1);
  CHECK(std::filesystem::weakly_canonical(opts.node.modules[0])
        == std::filesystem::weakly_canonical(file.parent_path() / "a.so"));
}

TEST_CASE("a word that is not an option is refused", "[cli]") {
  CHECK(error_of({"build/examples/libcounter.so"})
        == "unexpected argument 'build/examples/libcounter.so': to load a module, use --module "
           "build/examples/libcounter.so");
  CHECK_THAT(error_of({"--name", "n", "libx.so.1"}), Catch::Contains("--module libx.so.1"));
  CHECK(error_of({"serve"})
        == "unexpected argument 'serve': troupe node takes only options (see troupe node --help)");
  CHECK_THAT(error_of({"--", "--module"}), Catch::Contains("unexpected argument '--module'"));
}

TEST_CASE("version: --version and -V ask for it", "[cli]") {
  CHECK(parse_node_options({"--version"}).version);
  CHECK(parse_node_options({"-V"}).version);
  CHECK_FALSE(parse_node_options({"--help"}).version);
  CHECK_FALSE(parse_node_options({}).version);
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

TEST_CASE("the gateway's bounds: defaults, flags, config keys", "[cli]") {
  auto defaults = parse_node_options({});
  CHECK(defaults.gateway.max_connections == 0);  // derived from RLIMIT_NOFILE at start
  CHECK(defaults.gateway.max_body_memory == 64u << 20);
  CHECK(defaults.gateway.idle_connection_timeout == 60s);
  CHECK(defaults.gateway.header_timeout == 10s);
  CHECK(defaults.gateway.min_request_rate == 1024);
  CHECK(defaults.gateway.min_request_rate_grace == 5s);

  auto opts = parse_node_options(
    {"--max-connections", "100", "--max-body-memory", "16MiB", "--idle-connection-timeout",
     "2s", "--header-timeout", "1500ms", "--min-request-rate", "0",
     "--min-request-rate-grace", "1s", "--max-body-bytes", "512KiB"});
  CHECK(opts.gateway.max_connections == 100);
  CHECK(opts.gateway.max_body_memory == 16u << 20);
  CHECK(opts.gateway.idle_connection_timeout == 2s);
  CHECK(opts.gateway.header_timeout == 1500ms);
  CHECK(opts.gateway.min_request_rate == 0);
  CHECK(opts.gateway.min_request_rate_grace == 1s);
  CHECK(opts.gateway.max_body_bytes == 512u << 10);

  temp_file ini{"max-connections = 7\nmax-body-memory = 2097152\nheader-timeout = 3s\n"};
  auto from_file = parse_node_options({"--config", ini.path});
  CHECK(from_file.gateway.max_connections == 7);
  CHECK(from_file.gateway.max_body_memory == 2u << 20);
  CHECK(from_file.gateway.header_timeout == 3s);
}

TEST_CASE("bad gateway bounds are one line naming the fault", "[cli]") {
  CHECK(error_of({"--max-connections", "0"})
        == "--max-connections: expected a whole number from 1 to 16777216, got '0'");
  CHECK(error_of({"--max-body-memory", "lots"})
        == "--max-body-memory: expected a size from 1 to 1099511627776 bytes like 1048576, "
           "512KiB or 64MiB, got 'lots'");
  CHECK(error_of({"--max-body-memory", "1MiB", "--max-body-bytes", "2MiB"})
        == "--max-body-memory (1048576) must be at least --max-body-bytes (2097152)");
  CHECK_THAT(error_of({"--header-timeout", "0"}), Catch::Contains("--header-timeout"));
  temp_file ini{"name = n\nmax-body-memory = 1KiB\n"};
  CHECK(error_of({"--config", ini.path})
        == "config file " + ini.path
             + ":2: --max-body-memory (1024) must be at least --max-body-bytes (1048576)");
}

TEST_CASE("the default connection limit leaves a reserve of descriptors", "[cli]") {
  using troupe::gateway::max_connections_for_descriptors;
  CHECK(max_connections_for_descriptors(1024) == 1024 - 256 - 256);
  CHECK(max_connections_for_descriptors(65536) == 65536 - 16384 - 256);
  CHECK(max_connections_for_descriptors(256) == 64);  // at least a quarter
  CHECK(max_connections_for_descriptors(~std::uint64_t{0}) == (1u << 20) - (1u << 18) - 256);
}

TEST_CASE("load bounds: defaults, flags, config keys, faults", "[cli]") {
  auto defaults = parse_node_options({});
  CHECK(defaults.node.max_inflight == 10'000);
  CHECK(defaults.node.max_mailbox == 1'000);
  CHECK(defaults.node.max_activations == 1'000'000);
  CHECK(defaults.node.slow_handler_threshold == 100ms);

  auto flags = parse_node_options({"--max-inflight", "50", "--max-mailbox", "7",
                                   "--max-activations", "1000", "--slow-handler-threshold",
                                   "2s"});
  CHECK(flags.node.max_inflight == 50);
  CHECK(flags.node.max_mailbox == 7);
  CHECK(flags.node.max_activations == 1000);
  CHECK(flags.node.slow_handler_threshold == 2s);

  temp_file ini{"max-inflight = 60\nmax-mailbox = 8\nmax-activations = 900\n"
                "slow-handler-threshold = 250ms\n"};
  auto file = parse_node_options({"--config", ini.path});
  CHECK(file.node.max_inflight == 60);
  CHECK(file.node.max_mailbox == 8);
  CHECK(file.node.max_activations == 900);
  CHECK(file.node.slow_handler_threshold == 250ms);

  CHECK(error_of({"--max-inflight", "0"})
        == "--max-inflight: expected a whole number from 1 to 4294967295, got '0'");
  CHECK_THAT(error_of({"--max-mailbox", "lots"}), Catch::StartsWith("--max-mailbox: "));
  CHECK_THAT(error_of({"--max-activations", "-5"}), Catch::StartsWith("--max-activations: "));
  CHECK(error_of({"--slow-handler-threshold", "0ms"})
        == "--slow-handler-threshold: must be greater than 0");
  temp_file bad{"name = n\nmax-mailbox = none\n"};
  CHECK_THAT(error_of({"--config", bad.path}),
             Catch::StartsWith("config file " + bad.path + ":2: --max-mailbox: "));
}

TEST_CASE("the help lists the load bounds with their defaults", "[cli]") {
  auto help = parse_node_options({"--help"}).help_text;
  CHECK_THAT(help, Catch::Contains("--max-inflight") && Catch::Contains("default 10000"));
  CHECK_THAT(help, Catch::Contains("--max-mailbox") && Catch::Contains("default 1000)"));
  CHECK_THAT(help, Catch::Contains("--max-activations")
                     && Catch::Contains("default 1000000"));
  CHECK_THAT(help, Catch::Contains("--slow-handler-threshold")
                     && Catch::Contains("default 100ms"));
}

TEST_CASE("cluster options: parsed, and off without --cluster-listen") {
  auto alone = parse_node_options({});
  CHECK_FALSE(alone.cluster.enabled());
  auto opts = parse_node_options(
    {"--cluster-listen", "127.0.0.1:7100", "--seeds", "127.0.0.1:7100,127.0.0.1:7102",
     "--cluster-secret", "12345678", "--cluster-name", "prod", "--lease", "2s",
     "--phi-threshold", "10", "--raft-voters", "5"});
  CHECK(opts.cluster.enabled());
  CHECK(opts.cluster.listen.text() == "127.0.0.1:7100");
  REQUIRE(opts.cluster.seeds.size() == 2);
  CHECK(opts.cluster.seeds[1].port == 7102);
  CHECK(opts.cluster.name == "prod");
  CHECK(opts.cluster.lease == 2s);
  CHECK(opts.cluster.phi_threshold == 10.0);
  CHECK(opts.cluster.voters == 5);
}

TEST_CASE("bad cluster options are one line naming the option") {
  CHECK(error_of({"--seeds", "127.0.0.1:7100"}) == "--seeds needs --cluster-listen HOST:PORT");
  CHECK(error_of({"--cluster-listen", "127.0.0.1:7100"}).find("shared secret")
        != std::string::npos);
  CHECK(error_of({"--cluster-listen", "127.0.0.1", "--cluster-secret", "12345678"})
          .rfind("--cluster-listen: ", 0) == 0);
  CHECK(error_of({"--cluster-listen", "127.0.0.1:7100", "--cluster-secret", "short"})
        == "--cluster-secret: at least 8 characters");
  // Durable keys of a node that is down always wait for it: no option moves
  // them (and loses what it acknowledged).
  CHECK(error_of({"--cluster-listen", "127.0.0.1:7100", "--cluster-secret", "12345678",
                  "--durable-failover", "move"})
          .find("durable-failover")
        != std::string::npos);
  CHECK(error_of({"--cluster-listen", "127.0.0.1:7100", "--cluster-secret", "12345678",
                  "--tls-cert", "a.pem"})
        == "mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca");
}
