// Nothing a client sends may crash or wedge the node: each test misbehaves on
// one connection while a well-behaved client keeps being served on another,
// and checks afterwards that the node is still up and its state intact.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <thread>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

/// A client that behaves: one keep-alive connection adding 1 to its own key,
/// checking each running total.
class good_client {
public:
  explicit good_client(std::uint16_t port) : port_(port), conn_(port) {
  }

  /// One add on the kept connection; the total must be one more than before.
  void add_one() {
    auto r = round_trip(conn_, add_request("good-client", 1));
    REQUIRE(counter_value(r) == ++expected_);
  }

  /// The node is alive and has lost nothing: /healthz on a fresh connection,
  /// and the total read back on another.
  void check_node_serves() const {
    REQUIRE(http_call(port_, "GET", "/healthz").status == 200);
    REQUIRE(counter_get(port_, "good-client") == expected_);
  }

private:
  std::uint16_t port_;
  raw_connection conn_;
  std::int64_t expected_ = 0;
};

/// After a malformed request, the server may answer 400 and/or close the
/// connection; anything else (a 200, a 5xx, leaving it open without an
/// answer) is a fault. An answer, if any, is a problem document.
void require_rejected(raw_connection& conn) {
  auto r = conn.read_response(std::chrono::seconds{10});
  if (r.has_value())
    require_problem(*r, 400);
  REQUIRE(conn.closed_by_peer(std::chrono::seconds{10}));
}

bool process_alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

/// A connection with a tiny receive buffer that writes pipelined requests
/// and never reads a response: soon the server cannot write to it.
class non_reader {
public:
  explicit non_reader(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int small = 2048;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~non_reader() {
    ::close(fd_);
  }
  non_reader(const non_reader&) = delete;
  non_reader& operator=(const non_reader&) = delete;

  /// Writes `request` up to `count` times, stopping early once the socket
  /// has stayed full for a while (the server stopped reading). Returns how
  /// many requests went out whole.
  int flood(const std::string& request, int count) {
    int sent = 0;
    int full_tries = 0;
    std::size_t offset = 0;
    while (sent < count && full_tries < 50) {
      auto n = ::send(fd_, request.data() + offset, request.size() - offset, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
          break;
        ++full_tries;
        std::this_thread::sleep_for(10ms);
        continue;
      }
      full_tries = 0;
      offset += static_cast<std::size_t>(n);
      if (offset == request.size()) {
        offset = 0;
        ++sent;
      }
    }
    return sent;
  }

private:
  int fd_ = -1;
};

} // namespace

TEST_CASE("robustness: garbage bytes are rejected while others are served",
          "[robustness]") {
  node_process node{{"--module", counter_module()}};
  good_client good{node.port()};
  good.add_one();

  std::string junk;
  SECTION("a line of garbage") {
    junk = "GARBAGE\r\n\r\n";
  }
  SECTION("a request line without a target and version") {
    junk = "GET\r\n\r\n";
  }
  SECTION("a misspelt protocol") {
    junk = "GET /healthz HTXP/1.1\r\nHost: x\r\n\r\n";
  }
  SECTION("a header line without a colon") {
    junk = "GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n";
  }
  SECTION("a non-numeric Content-Length") {
    junk = "POST /v1/counters/good-client:add HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}";
  }
  SECTION("two different Content-Lengths") {
    junk = "POST /v1/counters/good-client:add HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nContent-Length: 13\r\n"
           "Content-Length: 5\r\n\r\n{\"delta\": 50}";
  }
  SECTION("binary junk with NUL bytes") {
    std::mt19937 rng{42};
    for (int i = 0; i < 4096; ++i)
      junk.push_back(static_cast<char>(rng() & 0xff));
    junk[10] = '\0';
    junk += "\r\n\r\n";
  }
  {
    raw_connection bad{node.port()};
    bad.send(junk);
    require_rejected(bad);
  }
  good.add_one();
  good.check_node_serves();
  REQUIRE(process_alive(node.pid()));
}

TEST_CASE("robustness: pathological JSON bodies are rejected with 400", "[robustness]") {
  node_process node{{"--module", counter_module()}};
  good_client good{node.port()};
  good.add_one();
  std::string body;
  SECTION("arrays nested half a million deep") {
    body = std::string(500000, '[');
  }
  SECTION("objects nested a hundred thousand deep") {
    for (int i = 0; i < 100000; ++i)
      body += R"({"a":)";
  }
  SECTION("a number beyond double") {
    body = R"({"delta": 1e400})";
  }
  SECTION("a lone UTF-16 surrogate") {
    body = R"({"key": "\ud800", "delta": 1})";
  }
  SECTION("bytes that are not UTF-8") {
    body = "{\"key\": \"\xff\xfe\", \"delta\": 1}";
  }
  auto r = http_call(node.port(), "POST", "/v1/counters/good-client:add", body);
  require_problem(r, 400);
  good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: a body shorter than announced, then a disconnect, changes nothing",
          "[robustness]") {
  node_process node{{"--module", counter_module()}};
  good_client good{node.port()};
  good.add_one();
  {
    raw_connection bad{node.port()};
    bad.send("POST /v1/counters/good-client:add HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
             "{\"delta\": ");  // 10 of the 100 bytes
    // The server waits for the rest meanwhile; others are served.
    good.add_one();
    bad.close();
  }
  good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: bytes beyond Content-Length are read as the next request",
          "[robustness]") {
  node_process node{{"--module", counter_module()}};
  good_client good{node.port()};
  good.add_one();
  {
    raw_connection bad{node.port()};
    bad.send("POST /v1/counters/extra:add HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nContent-Length: 12\r\n\r\n"
             "{\"delta\": 1}"
             "{\"delta\": 1000} AND MORE BYTES\r\n\r\n");
    // The announced body is a complete request and answered as such ...
    auto first = bad.read_response();
    REQUIRE(first.has_value());
    REQUIRE(counter_value(*first) == 1);
    // ... and what follows is not a request: rejected.
    require_rejected(bad);
  }
  REQUIRE(counter_get(node.port(), "extra") == 1);
  good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: a client that connects and sends nothing blocks no one",
          "[robustness]") {
  node_process node{{"--module", counter_module()}};
  raw_connection silent{node.port()};
  good_client good{node.port()};
  for (int i = 0; i < 5; ++i)
    good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: a client that never reads its responses blocks no one",
          "[robustness]") {
  // One I/O thread: a write that blocked it would stop every connection.
  node_process node{{"--module", counter_module(), "--module", greeter_module(),
                     "--http-threads", "1"}};
  good_client good{node.port()};
  good.add_one();
  {
    non_reader hog{node.port()};
    // Each reply echoes the 8 KB name: the server's send buffer fills fast.
    auto sent =
      hog.flood(make_request("GET", "/v1/greetings/" + std::string(8000, 'h')), 4000);
    INFO("requests written before the socket filled up: " << sent);
    REQUIRE(sent > 0);
    REQUIRE(sent < 4000);  // the server stopped reading: its writes are blocked
    good.add_one();
    good.add_one();
    REQUIRE(http_call(node.port(), "GET", "/healthz").status == 200);
  }
  good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: many idle connections block no one", "[robustness]") {
  node_process node{{"--module", counter_module()}};
  std::vector<std::unique_ptr<raw_connection>> idle;
  for (int i = 0; i < 64; ++i)
    idle.push_back(std::make_unique<raw_connection>(node.port()));
  good_client good{node.port()};
  good.add_one();
  // Half of them start a request and stop in the middle of the headers.
  for (std::size_t i = 0; i < idle.size(); i += 2)
    idle[i]->send("GET /v1/counters/good-client HTTP/1.1\r\nHo");
  good.add_one();
  idle.clear();
  good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: a disconnect in the middle of a request changes nothing",
          "[robustness]") {
  node_process node{{"--module", counter_module()}};
  good_client good{node.port()};
  good.add_one();
  std::string partial;
  SECTION("in the request line") {
    partial = "POST /v1/counters/good-cli";
  }
  SECTION("in the headers") {
    partial = "POST /v1/counters/good-client:add HTTP/1.1\r\nHost: x\r\nContent-";
  }
  SECTION("after the headers, before the body") {
    partial = "POST /v1/counters/good-client:add HTTP/1.1\r\nHost: x\r\n"
              "Content-Type: application/json\r\nContent-Length: 12\r\n\r\n";
  }
  SECTION("one byte before the end of the body") {
    partial = "POST /v1/counters/good-client:add HTTP/1.1\r\nHost: x\r\n"
              "Content-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"delta\": 1";
  }
  {
    raw_connection bad{node.port()};
    bad.send(partial);
    bad.close();
  }
  good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: a client that disconnects while its call runs changes nothing "
          "for others",
          "[robustness]") {
  node_process node{{"--module", counter_module(), "--module", test_module("faulty")}};
  good_client good{node.port()};
  {
    raw_connection bad{node.port()};
    bad.send(make_request("POST", "/v1/faulty/slow", R"({"millis": 300})"));
    bad.close();
  }
  good.add_one();
  // The abandoned call's reply has nowhere to go; the node carries on.
  REQUIRE(eventually(
    [&] { return http_call(node.port(), "GET", "/v1/faulty/ok").status == 200; }, 50,
    100ms));
  good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: a request trickled in small pieces is answered correctly",
          "[robustness]") {
  node_process node{{"--module", counter_module()}};
  good_client good{node.port()};
  raw_connection slow{node.port()};
  auto request = add_request("trickled", 5);
  for (std::size_t at = 0; at < request.size(); at += 7) {
    slow.send(request.substr(at, 7));
    if (at % 35 == 0)
      good.add_one();  // served between the slow client's pieces
    std::this_thread::sleep_for(10ms);
  }
  auto r = slow.read_response();
  REQUIRE(r.has_value());
  REQUIRE(counter_value(*r) == 5);
  good.check_node_serves();
}

TEST_CASE("robustness: a client that expects 100-continue gets it before it sends "
          "the body",
          "[robustness]") {
  node_process node{{"--module", counter_module()}};
  raw_connection conn{node.port()};
  const std::string body = R"({"delta": 6})";
  // The header alone: the body follows only after the interim response.
  conn.send("POST /v1/counters/continued:add HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Content-Type: application/json\r\nExpect: 100-continue\r\n"
              "Content-Length: "
            + std::to_string(body.size()) + "\r\n\r\n");
  auto interim = conn.read_response(10s);
  REQUIRE(interim.has_value());
  CHECK(interim->status == 100);
  conn.send(body);
  auto r = conn.read_response();
  REQUIRE(r.has_value());
  REQUIRE(counter_value(*r) == 6);
}

TEST_CASE("robustness: pipelined requests followed by garbage are answered, then "
          "rejected",
          "[robustness]") {
  node_process node{{"--module", counter_module()}};
  good_client good{node.port()};
  {
    raw_connection bad{node.port()};
    bad.send(add_request("piped", 1) + add_request("piped", 1) + "\x01\x02GARBAGE\r\n\r\n");
    auto first = bad.read_response();
    auto second = bad.read_response();
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    REQUIRE(counter_value(*first) == 1);
    REQUIRE(counter_value(*second) == 2);
    require_rejected(bad);
  }
  good.add_one();
  good.check_node_serves();
}

TEST_CASE("robustness: a reply that comes after its 504 does not answer the next request "
          "on the connection",
          "[robustness]") {
  node_process node{{"--module", test_module("faulty")}};
  raw_connection conn{node.port()};
  auto timed_out =
    round_trip(conn, make_request("POST", "/v1/faulty/slow", R"({"millis": 1000})",
                                  {"X-Troupe-Timeout-Ms: 200"}));
  require_problem(timed_out, 504);
  REQUIRE(timed_out.keep_alive);
  // Still running when the first call's handler answers, late, on this
  // connection: the answer must be this request's own.
  auto next = round_trip(conn, make_request("POST", "/v1/faulty/slow", R"({"millis": 1500})"));
  require_json_ok(next);
  REQUIRE(int_field(next.body, "millis") == 1500);
  REQUIRE(http_call(node.port(), "GET", "/v1/faulty/ok").status == 200);
}

namespace {

/// A counter add whose JSON body is padded with spaces to `size` bytes.
std::string add_body_of_size(std::size_t size) {
  std::string body = R"({"delta": 1})";
  REQUIRE(size >= body.size());
  body.resize(size, ' ');
  return body;
}

std::string chunked_add_header(const std::string& key) {
  return "POST /v1/counters/" + key + ":add HTTP/1.1\r\nHost: x\r\n"
         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
}

std::string chunk(const std::string& data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

} // namespace

TEST_CASE("robustness: a body of exactly --max-body-bytes is taken, one byte more is "
          "refused with 413 before the body is read",
          "[robustness]") {
  // The server's read timeout (30 s) is longer than any wait here: a 413
  // that came only when the server gave up reading would fail the test.
  constexpr std::size_t limit = 64;
  node_process node{{"--module", counter_module(), "--max-body-bytes", std::to_string(limit)}};
  auto body = add_body_of_size(limit);

  SECTION("with Content-Length") {
    raw_connection conn{node.port()};
    REQUIRE(counter_value(round_trip(conn, make_request("POST", "/v1/counters/lim:add", body)))
            == 1);
    raw_connection over{node.port()};
    // The header alone: the server knows from it that the body is too long.
    over.send("POST /v1/counters/lim:add HTTP/1.1\r\nHost: x\r\n"
              "Content-Type: application/json\r\nContent-Length: "
              + std::to_string(limit + 1) + "\r\n\r\n");
    auto r = over.read_response(10s);
    REQUIRE(r.has_value());
    require_problem(*r, 413);
    REQUIRE(over.closed_by_peer(10s));
  }
  SECTION("chunked") {
    raw_connection conn{node.port()};
    auto r = round_trip(conn, chunked_add_header("lim") + chunk(body.substr(0, 40))
                                + chunk(body.substr(40)) + "0\r\n\r\n");
    REQUIRE(counter_value(r) == 1);
    raw_connection over{node.port()};
    // The whole limit, then a chunk header announcing one byte more, without
    // the byte: the announcement alone is refused.
    over.send(chunked_add_header("lim") + chunk(body.substr(0, 40)) + chunk(body.substr(40))
              + "1\r\n");
    auto refused = over.read_response(10s);
    REQUIRE(refused.has_value());
    require_problem(*refused, 413);
    REQUIRE(over.closed_by_peer(10s));
  }
  REQUIRE(counter_get(node.port(), "lim") == 1);
}

TEST_CASE("robustness: a client that never reads cannot keep the node from exiting after "
          "the shutdown deadline",
          "[robustness][shutdown]") {
  node_process node{{"--module", greeter_module(), "--http-threads", "1",
                     "--shutdown-timeout", "300ms"}};
  non_reader hog{node.port()};
  auto sent = hog.flood(make_request("GET", "/v1/greetings/" + std::string(8000, 'h')), 4000);
  REQUIRE(sent > 0);
  REQUIRE(sent < 4000);  // the server's write to it is blocked
  // The answers it owes cannot be written: the node gives up on them after a
  // short grace and exits 0 (not killed by terminate()'s limit: -1).
  REQUIRE(node.terminate(std::chrono::seconds{20}) == 0);
}
