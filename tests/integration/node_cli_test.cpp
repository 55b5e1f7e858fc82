// `troupe node` on the command line: bad options and values stop it with one
// line and exit status 2; a config file sets options and flags override it;
// relative paths in the file start from its directory.
#include <netinet/in.h>
#include <sys/socket.h>

#include <regex>

#include "integration/itest_helpers.hpp"
#include "support/loopback_ports.hpp"

using namespace troupe::itest;
namespace admin = troupe::admin::v1;

namespace {

constexpr auto cli_timeout = std::chrono::seconds{15};

/// `troupe node --http 127.0.0.1:0 --data <dir> <args>`: should a bad option
/// go unnoticed, the node started binds nothing fixed and litters nothing.
command_result run_node(const temp_dir& dir, std::vector<std::string> args) {
  std::vector<std::string> argv{TROUPE_BINARY, "node", "--http", "127.0.0.1:0",
                                "--data", dir.path() + "/data"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, cli_timeout);
}

/// Exit status 2 with exactly one line on stderr that contains `needle`, and
/// no node started.
void require_usage_error(const command_result& result, const std::string& needle) {
  INFO("exit " << result.exit_code << "; stderr: " << result.err
               << "; stdout: " << result.out);
  REQUIRE(result.exit_code == 2);
  auto lines = lines_of(result.err);
  REQUIRE(lines.size() == 1);
  REQUIRE(contains(lines[0], needle));
  REQUIRE_FALSE(contains(result.out, "ready"));
}

} // namespace

TEST_CASE("cli: an unknown option exits 2 with one line naming it", "[cli]") {
  temp_dir dir;
  require_usage_error(run_node(dir, {"--frobnicate"}), "frobnicate");
}

TEST_CASE("cli: a bad option value exits 2 with one line naming the option", "[cli]") {
  temp_dir dir;
  SECTION("--http without a port") {
    require_usage_error(run_node(dir, {"--http", "nonsense"}), "--http");
  }
  SECTION("--http with a port out of range") {
    require_usage_error(run_node(dir, {"--http", "127.0.0.1:70000"}), "--http");
  }
  SECTION("--log-level with an unknown level") {
    require_usage_error(run_node(dir, {"--log-level", "loud"}), "--log-level");
  }
  SECTION("--idle-timeout with an unknown unit") {
    require_usage_error(run_node(dir, {"--idle-timeout", "5 parsecs"}), "--idle-timeout");
  }
  SECTION("--idle-timeout of zero") {
    require_usage_error(run_node(dir, {"--idle-timeout", "0s"}), "--idle-timeout");
  }
  SECTION("--request-timeout that is not a duration") {
    require_usage_error(run_node(dir, {"--request-timeout", "soon"}), "--request-timeout");
  }
  SECTION("--max-body-bytes negative, as a separate word") {
    require_usage_error(run_node(dir, {"--max-body-bytes", "-1"}), "--max-body-bytes");
  }
  SECTION("--max-body-bytes negative, after =") {
    require_usage_error(run_node(dir, {"--max-body-bytes=-1"}), "--max-body-bytes");
  }
  SECTION("--max-body-bytes not a number") {
    require_usage_error(run_node(dir, {"--max-body-bytes", "lots"}), "--max-body-bytes");
  }
  SECTION("--name empty") {
    require_usage_error(run_node(dir, {"--name", ""}), "--name");
  }
}

TEST_CASE("cli: an option missing its value exits 2 with one line naming it", "[cli]") {
  temp_dir dir;
  require_usage_error(run_node(dir, {"--name"}), "name");
}

TEST_CASE("cli: troupe node --help prints the options and exits 0", "[cli]") {
  auto result = run_command({TROUPE_BINARY, "node", "--help"}, cli_timeout);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  REQUIRE(contains(result.out, "--http"));
  REQUIRE(contains(result.out, "--module"));
  REQUIRE(contains(result.out, "--config"));
}

TEST_CASE("cli: an unknown command exits 2 with one line naming it", "[cli]") {
  auto result = run_command({TROUPE_BINARY, "bogus"}, cli_timeout);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 2);
  auto lines = lines_of(result.err);
  REQUIRE(lines.size() == 1);
  REQUIRE(contains(lines[0], "bogus"));
}

TEST_CASE("cli: --config reads options from an INI file", "[cli][config]") {
  temp_dir dir;
  auto config = dir.write_file("node.ini", "# a node of the integration tests\n"
                                           "name = from-file\n"
                                           "module = " + counter_module() + "\n"
                                           "log-level = warn\n");
  node_process node{{"--config", config}};
  auto info = admin_get<admin::NodeInfo>(node.port(), "/admin/v1/node");
  REQUIRE(info.name() == "from-file");
  // The module named in the file is loaded and serves.
  REQUIRE(counter_add(node.port(), "configured", 2) == 2);
}

TEST_CASE("cli: a flag overrides the config file's value", "[cli][config]") {
  temp_dir dir;
  auto config = dir.write_file("node.ini", "name = from-file\n"
                                           "module = " + counter_module() + "\n");
  node_process node{{"--config", config, "--name", "from-flag"}};
  auto info = admin_get<admin::NodeInfo>(node.port(), "/admin/v1/node");
  REQUIRE(info.name() == "from-flag");
  REQUIRE(counter_add(node.port(), "configured", 2) == 2);
}

TEST_CASE("cli: an unknown key in the config file exits 2 naming the file",
          "[cli][config]") {
  temp_dir dir;
  auto config = dir.write_file("node.ini", "name = x\ncolour = blue\n");
  auto result = run_node(dir, {"--config", config});
  require_usage_error(result, config);
  REQUIRE(contains(result.err, "colour"));
}

TEST_CASE("cli: a bad value in the config file exits 2 naming the file, line and option",
          "[cli][config]") {
  temp_dir dir;
  auto config = dir.write_file("node.ini", "# a node\nname = n\nlog-level = loud\n");
  require_usage_error(run_node(dir, {"--config", config}),
                      "config file " + config + ":3: --log-level: ");
}

TEST_CASE("cli: a relative module path in the config file starts from the file's directory",
          "[cli][config]") {
  // The module is reachable as mods/libcounter.so from the config file's
  // directory only, not from the test's working directory.
  temp_dir dir;
  std::filesystem::create_directory(dir.path() + "/mods");
  std::filesystem::create_symlink(counter_module(), dir.path() + "/mods/libcounter.so");
  REQUIRE_FALSE(std::filesystem::exists("mods/libcounter.so"));
  auto config = dir.write_file("node.ini", "module = mods/libcounter.so\n");
  node_process node{{"--config", config}};
  REQUIRE(counter_add(node.port(), "relative", 3) == 3);
}

TEST_CASE("cli: a word that is not an option exits 2 with one line naming it", "[cli]") {
  temp_dir dir;
  SECTION("a module path: use --module") {
    auto result = run_node(dir, {counter_module()});
    require_usage_error(result, "use --module " + counter_module());
    REQUIRE(contains(result.err, "unexpected argument '" + counter_module() + "'"));
  }
  SECTION("anything else") {
    require_usage_error(run_node(dir, {"--name", "n", "serve"}), "unexpected argument 'serve'");
  }
}

TEST_CASE("cli: -V, --version and version print the version", "[cli]") {
  std::string first;
  for (std::vector<std::string> args : {std::vector<std::string>{"-V"}, {"--version"}, {"version"},
                                        {"node", "--version"}, {"node", "-V"},
                                        {"shell", "--version"}}) {
    args.insert(args.begin(), TROUPE_BINARY);
    auto result = run_command(args, cli_timeout);
    INFO(args[1] << ": exit " << result.exit_code << "; stderr: " << result.err);
    REQUIRE(result.exit_code == 0);
    REQUIRE(result.err.empty());
    REQUIRE(lines_of(result.out).size() == 1);
    REQUIRE(std::regex_match(result.out, std::regex{"troupe [0-9]+\\.[0-9]+\\.[0-9]+\n"}));
    if (first.empty())
      first = result.out;
    REQUIRE(result.out == first);
  }
}

TEST_CASE("cli: a config file that cannot be read exits 2 naming it", "[cli][config]") {
  temp_dir dir;
  auto missing = dir.path() + "/no-such.ini";
  require_usage_error(run_node(dir, {"--config", missing}), missing);
}

TEST_CASE("cli: an HTTP address already in use stops the start naming it", "[cli]") {
  node_process first{{}};
  temp_dir dir;
  auto address = "127.0.0.1:" + std::to_string(first.port());
  auto result = run_command({TROUPE_BINARY, "node", "--http", address, "--data",
                             dir.path() + "/data", "--module", counter_module()},
                            cli_timeout);
  INFO("exit " << result.exit_code << "; stderr: " << result.err);
  REQUIRE(result.exit_code == 1);
  auto lines = lines_of(result.err);
  REQUIRE_FALSE(lines.empty());
  REQUIRE(contains(lines.back(), address));
  REQUIRE_FALSE(contains(result.out, "ready"));
  // The first node is untouched.
  REQUIRE(http_call(first.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("cli: a data directory in use by another node stops the start naming it",
          "[cli]") {
  node_process first{{}};
  auto data_dir = admin_get<admin::NodeInfo>(first.port(), "/admin/v1/node").data_dir();
  REQUIRE_FALSE(data_dir.empty());
  auto result = run_command(
    {TROUPE_BINARY, "node", "--http", "127.0.0.1:0", "--data", data_dir}, cli_timeout);
  INFO("exit " << result.exit_code << "; stderr: " << result.err);
  REQUIRE(result.exit_code == 1);
  auto lines = lines_of(result.err);
  REQUIRE(lines.size() == 1);
  REQUIRE(contains(lines[0], data_dir));
  REQUIRE(http_call(first.port(), "GET", "/healthz").status == 200);
}

namespace {

/// A TCP listener on 127.0.0.1:`port` for as long as it lives: another
/// process's port.
class held_port {
public:
  explicit held_port(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(fd_ >= 0);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
  }
  held_port(const held_port&) = delete;
  held_port& operator=(const held_port&) = delete;
  ~held_port() {
    if (fd_ >= 0)
      ::close(fd_);
  }

private:
  int fd_;
};

} // namespace

TEST_CASE("cli: a cluster port, or the consensus port after it, in use stops the start "
          "naming it",
          "[cli]") {
  // The consensus log binds its port only once the node has joined; taken,
  // it must still stop the start at once.
  bool consensus = GENERATE(false, true);
  auto port = troupe::test::free_port_pair();
  auto taken = static_cast<std::uint16_t>(consensus ? port + 1 : port);
  held_port other{taken};
  temp_dir dir;
  auto result = run_command({TROUPE_BINARY, "node", "--http", "127.0.0.1:0", "--data",
                             dir.path() + "/data", "--module", counter_module(),
                             "--cluster-listen", "127.0.0.1:" + std::to_string(port),
                             "--cluster-secret", "a-long-s3cret"},
                            cli_timeout);
  INFO("exit " << result.exit_code << "; stderr: " << result.err);
  REQUIRE(result.exit_code == 1);
  auto lines = lines_of(result.err);
  REQUIRE(lines.size() == 1);
  REQUIRE(contains(lines[0], std::to_string(taken)));
  REQUIRE(contains(lines[0], consensus ? "consensus" : "cannot listen"));
  REQUIRE_FALSE(contains(result.out, "ready"));
}
