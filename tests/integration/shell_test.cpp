// `troupe shell -c COMMAND` against a real `troupe node` with the example
// modules: what each command prints, the exit statuses (0 done, 1 failed,
// 2 usage) and the one-line errors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/node_process.hpp"

using troupe::test::command_result;
using troupe::test::node_process;
using troupe::test::run_command;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr std::chrono::seconds command_timeout{30};

std::vector<std::string> example_modules() {
  return {"--module", TROUPE_EXAMPLES_DIR "/libcounter.so",  //
          "--module", TROUPE_EXAMPLES_DIR "/libgreeter.so"};
}

command_result shell(const std::string& url, const std::string& command) {
  return run_command({TROUPE_BINARY, "shell", "--url", url, "-c", command}, command_timeout);
}

/// The line of TEXT that starts with PREFIX; empty when there is none.
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::string::size_type start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    const auto line = text.substr(start, end - start);
    if (line.rfind(prefix, 0) == 0)
      return line;
    start = end + 1;
  }
  return {};
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;)
    words.push_back(word);
  return words;
}

/// A loopback port nothing listens on: bound once, then released.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

} // namespace

TEST_CASE("shell: services, describe, nodes and modules show the node", "[shell]") {
  node_process node{example_modules()};

  SECTION("services lists both example services") {
    const auto r = shell(node.url(), "services");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const auto header = line_starting(r.out, "NAME ");
    for (const char* column :
         {"KIND", "STATUS", "ACTORS", "RESTARTS", "IN-FLIGHT", "SHED", "SLOW"})
      CHECK_THAT(header, Contains(column));
    CHECK_THAT(line_starting(r.out, "demo.counter.v1.Counter "), Contains("keyed"));
    CHECK_THAT(line_starting(r.out, "demo.counter.v1.Counter "), Contains("running"));
    CHECK_THAT(line_starting(r.out, "demo.greeter.v1.Greeter "), Contains("stateless"));
  }

  SECTION("describe counter shows kind, methods and routes") {
    for (const char* name : {"counter", "Counter", "demo.counter.v1.Counter"}) {
      const auto r = shell(node.url(), std::string("describe ") + name);
      INFO(name << ": " << r.err);
      REQUIRE(r.exit_code == 0);
      CHECK_THAT(line_starting(r.out, "Service:"), Contains("demo.counter.v1.Counter"));
      CHECK_THAT(line_starting(r.out, "Kind:"), Contains("keyed"));
      CHECK_THAT(r.out, Contains("Add(demo.counter.v1.AddRequest) returns (demo.counter.v1.CounterValue)"));
      CHECK_THAT(r.out, Contains("POST /v1/counters/{key}:add"));
      CHECK_THAT(r.out, Contains("GET /v1/counters/{key}"));
      CHECK_THAT(r.out, Contains("POST /v1/counters/{key}:reset"));
    }
  }

  SECTION("describe greeter shows a stateless service") {
    const auto r = shell(node.url(), "describe demo.greeter.v1.Greeter");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(line_starting(r.out, "Kind:"), Contains("stateless"));
    CHECK_THAT(line_starting(r.out, "Instances:"), Contains("4"));
    CHECK_THAT(r.out, Contains("GET /v1/greetings/{name}"));
  }

  SECTION("nodes and node show this node") {
    const auto address = node.url().substr(std::string("http://").size());
    const auto nodes = shell(node.url(), "nodes");
    INFO(nodes.err);
    REQUIRE(nodes.exit_code == 0);
    CHECK_THAT(line_starting(nodes.out, "NAME "), Contains("HTTP ADDRESS"));
    CHECK_THAT(nodes.out, Contains(address));
    CHECK_THAT(nodes.out, Contains("serving"));

    const auto one = shell(node.url(), "node");
    REQUIRE(one.exit_code == 0);
    CHECK_THAT(line_starting(one.out, "HTTP address:"), Contains(address));
    // Its limits, at their defaults, and its load.
    CHECK_THAT(line_starting(one.out, "Calls in flight:"), Contains(" of 10000"));
    CHECK_THAT(line_starting(one.out, "Mailbox limit:"), Contains("1000 calls per actor"));
    CHECK_THAT(line_starting(one.out, "Activations:"), Contains(" of 1000000"));
    CHECK_THAT(line_starting(one.out, "Shedding:"), Contains("no"));
    CHECK_THAT(line_starting(one.out, "Slow handlers:"), Contains("over 100ms"));
  }

  SECTION("modules lists what was loaded") {
    const auto r = shell(node.url(), "modules");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("demo.counter.v1.Counter"));
    CHECK_THAT(r.out, Contains("demo.greeter.v1.Greeter"));
    CHECK_THAT(r.out, Contains("libcounter.so"));
  }

  SECTION("help") {
    const auto r = shell(node.url(), "help");
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("call SERVICE METHOD [KEY] JSON"));
  }
}

TEST_CASE("shell: call reaches the actor: add then get gives the value", "[shell]") {
  node_process node{example_modules()};

  auto r = shell(node.url(), R"(call Counter Add shell-k1 {"delta": 5})");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "{\n  \"value\": 5\n}\n");

  r = shell(node.url(), R"(call demo.counter.v1.Counter Add shell-k1 '{"delta": 2}')");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "{\n  \"value\": 7\n}\n");

  r = shell(node.url(), "call Counter Get shell-k1 {}");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "{\n  \"value\": 7\n}\n");

  SECTION("a key with blanks and reserved characters is its own actor") {
    const std::string key = "'a key/with?odd&chars#'";
    r = shell(node.url(), "call Counter Add " + key + R"( {"delta": 3})");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    r = shell(node.url(), "call Counter Get " + key);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "{\n  \"value\": 3\n}\n");
  }

  SECTION("reset of the key, then get") {
    r = shell(node.url(), "call Counter Reset shell-k1");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    r = shell(node.url(), "call Counter Get shell-k1");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "{\n  \"value\": 0\n}\n");
  }

  SECTION("a stateless service is called without a key") {
    r = shell(node.url(), R"(call Greeter Greet {"name": "Ada"})");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, StartsWith("{\n"));
    CHECK_THAT(r.out, Contains("Ada"));
  }

  SECTION("a reply shows its fields in declaration order, not by name") {
    // demo.greeter.v1.Greeting declares message, then instance.
    r = shell(node.url(), R"(call Greeter Greet {"name": "Ada"})");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto message = r.out.find("\"message\":");
    const auto instance = r.out.find("\"instance\":");
    REQUIRE(message != std::string::npos);
    REQUIRE(instance != std::string::npos);
    CHECK(message < instance);
  }

  SECTION("services counts the active keyed actor") {
    r = shell(node.url(), "services");
    REQUIRE(r.exit_code == 0);
    // NAME KIND STATUS ACTORS RESTARTS IN-FLIGHT SHED SLOW
    const auto cells = words_of(line_starting(r.out, "demo.counter.v1.Counter "));
    REQUIRE(cells.size() == 8);
    CHECK(cells[3] != "0");
  }

  SECTION("reset SERVICE answers with its status") {
    r = shell(node.url(), "reset Counter");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, StartsWith("reset demo.counter.v1.Counter"));
  }
}

TEST_CASE("shell: a call's deadline is the node's request timeout, or --timeout",
          "[shell][deadline]") {
  SECTION("the node's --request-timeout: its 504, not the shell's own give-up") {
    node_process node{{"--request-timeout", "1s", "--module", troupe::test::test_module("faulty")}};
    const auto about = shell(node.url(), "node");
    REQUIRE(about.exit_code == 0);
    CHECK_THAT(line_starting(about.out, "Request timeout:"), Contains("1s"));

    const auto r = shell(node.url(), R"(call Faulty Slow {"millis": 3000})");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, StartsWith("error: ") && Contains("deadline"));
    CHECK_THAT(r.err, !Contains("no answer"));
  }
  SECTION("--timeout wins: the node is asked to answer within it") {
    node_process node{{"--module", troupe::test::test_module("faulty")}};
    const auto r = run_command({TROUPE_BINARY, "shell", "--url", node.url(), "--timeout", "1s",
                                "-c", R"(call Faulty Slow {"millis": 5000})"},
                               command_timeout);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, StartsWith("error: ") && Contains("deadline"));
    CHECK_THAT(r.err, !Contains("no answer"));
  }
}

TEST_CASE("shell: bad commands get one line and a non-zero status", "[shell]") {
  node_process node{example_modules()};

  SECTION("an unknown command: usage error, 2") {
    const auto r = shell(node.url(), "foo");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "error: unknown command 'foo' (try 'help')\n");
    CHECK(r.out.empty());
  }
  SECTION("a missing argument: usage error, 2") {
    const auto r = shell(node.url(), "describe");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "error: usage: describe SERVICE\n");
  }
  SECTION("malformed JSON is refused before sending: 2") {
    const auto r = shell(node.url(), R"(call Counter Add k {"delta": })");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, StartsWith("error: the request is not valid JSON: "));
  }
  SECTION("a keyed service without a key: 2") {
    const auto r = shell(node.url(), "call Counter Get");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, StartsWith("error: demo.counter.v1.Counter is keyed: give a KEY"));
  }
  SECTION("an unknown service, short or full name: failed, 1") {
    for (const char* name : {"nope", "demo.nope.v1.Nope"}) {
      const auto r = shell(node.url(), std::string("describe ") + name);
      INFO(name);
      CHECK(r.exit_code == 1);
      CHECK_THAT(r.err, StartsWith("error: "));
      CHECK_THAT(r.err, Contains(std::string("'") + name + "'"));
      CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
    }
  }
  SECTION("an unknown method names the methods there are: 1") {
    const auto r = shell(node.url(), "call Counter Mul k {}");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("has no method 'Mul'"));
    CHECK_THAT(r.err, Contains("Add, Get, Reset"));
  }
  SECTION("a field of the wrong type: the node's problem detail, 1") {
    const auto r = shell(node.url(), R"(call Counter Add k {"delta": "many"})");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, StartsWith("error: "));
    CHECK_THAT(r.err, Contains("delta"));
  }
}

TEST_CASE("shell: an unreachable node or a bad URL", "[shell]") {
  SECTION("unreachable: 1 and 'cannot reach'") {
    const auto url = "http://127.0.0.1:" + std::to_string(closed_port());
    const auto r = shell(url, "services");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, StartsWith("error: cannot reach " + url + ": "));
    CHECK_THAT(r.err, Contains("Connection refused"));
    CHECK(r.out.empty());
  }
  SECTION("https is refused for now: 2") {
    const auto r = shell("https://127.0.0.1:8443", "services");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("https is not supported yet"));
  }
  SECTION("not a URL: 2") {
    const auto r = shell("127.0.0.1:8080", "services");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("expected http://HOST:PORT"));
  }
}
