// The gateway's bounds under load: a connection limit with a 503 past it,
// a memory budget for request bodies with back-pressure past it, and
// clients too slow (idle, a header or a body dribbled in) cut off. Each test
// runs a real node and checks the bound by what clients see, the admin API's
// counters and, for memory, the node's resident set (/proc/PID/status).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;
using troupe::admin::v1::NodeInfo;

namespace {

/// NodeInfo read on a connection already open (a new one may be refused).
NodeInfo node_info_on(raw_connection& conn) {
  auto r = round_trip(conn, make_request("GET", "/admin/v1/node"));
  require_json_ok(r);
  NodeInfo info;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  REQUIRE(google::protobuf::util::JsonStringToMessage(r.body, &info, options).ok());
  return info;
}

NodeInfo node_info(std::uint16_t port) {
  return admin_get<NodeInfo>(port, "/admin/v1/node");
}

/// The "reasons" of an unready answer (a 503 problem document).
std::vector<std::string> reasons_of(const http_response& r) {
  require_problem(r, 503);
  auto doc = parse_json(r.body);
  std::vector<std::string> reasons;
  if (auto* list = find_field(doc, "reasons"))
    for (const auto& value : list->list_value().values())
      reasons.push_back(value.string_value());
  return reasons;
}

bool has_reason(const std::vector<std::string>& reasons, const std::string& prefix) {
  return std::any_of(reasons.begin(), reasons.end(),
                     [&](const std::string& r) { return r.rfind(prefix, 0) == 0; });
}

/// The resident set of process `pid`, in bytes (VmRSS of /proc/PID/status).
std::int64_t resident_bytes(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields{line.substr(6)};
      std::int64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  FAIL("no VmRSS in /proc/" << pid << "/status");
  return 0;
}

/// A counter add whose JSON body is padded with spaces to `size` bytes.
std::string padded_add_body(std::size_t size) {
  std::string body = R"({"delta": 1})";
  body.resize(size, ' ');
  return body;
}

std::string add_header(const std::string& key, std::size_t content_length) {
  return "POST /v1/counters/" + key + ":add HTTP/1.1\r\nHost: x\r\n"
         "Content-Type: application/json\r\nContent-Length: "
         + std::to_string(content_length) + "\r\n\r\n";
}

/// A non-blocking client socket, for clients that send at their own pace
/// and must not block the test when the server stops reading.
class paced_client {
public:
  explicit paced_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~paced_client() {
    ::close(fd_);
  }
  paced_client(const paced_client&) = delete;
  paced_client& operator=(const paced_client&) = delete;

  /// Sends what the socket takes now of `bytes` from `offset` up to `end`;
  /// returns the count, 0 when the socket is full or the peer is gone.
  std::size_t send_some(const std::string& bytes, std::size_t offset,
                        std::size_t end = std::string::npos) {
    end = std::min(end, bytes.size());
    auto n = ::send(fd_, bytes.data() + offset, end - offset, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        peer_gone_ = true;
      return 0;
    }
    return static_cast<std::size_t>(n);
  }

  /// Waits up to `wait` for bytes from the server and appends them to
  /// received(); notes when the server closed.
  void receive(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0)
      return;
    char buffer[4096];
    for (;;) {
      auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        received_.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        peer_gone_ = true;
      return;
    }
  }

  bool peer_gone() const noexcept {
    return peer_gone_;
  }
  const std::string& received() const noexcept {
    return received_;
  }
  /// The status code of the first response received, 0 when none.
  int status() const {
    if (received_.rfind("HTTP/1.1 ", 0) != 0 || received_.size() < 12)
      return 0;
    return std::stoi(received_.substr(9, 3));
  }

private:
  int fd_ = -1;
  bool peer_gone_ = false;
  std::string received_;
};

} // namespace

TEST_CASE("bounds: past --max-connections new connections get 503 and are closed, the "
          "others are served, /readyz says why and recovers",
          "[bounds]") {
  constexpr int limit = 100;
  constexpr int extra = 50;
  // A header timeout longer than the test: connections that wait their turn
  // are not closed for it.
  node_process node{{"--module", counter_module(), "--max-connections", std::to_string(limit),
                     "--header-timeout", "5m"}};
  raw_connection probe{node.port()};
  require_json_ok(round_trip(probe, make_request("GET", "/readyz")));
  std::vector<std::unique_ptr<raw_connection>> served;
  for (int i = 1; i < limit; ++i)
    served.push_back(std::make_unique<raw_connection>(node.port()));
  // All accepted (the acceptor takes them in order) before any more come.
  REQUIRE(eventually([&] { return node_info_on(probe).http_connections_open() == limit; },
                     100, 50ms));

  for (int i = 0; i < extra; ++i) {
    raw_connection refused{node.port()};
    refused.send(get_request("conn-limit"));
    auto r = refused.read_response(10s);
    INFO("extra connection " << i);
    REQUIRE(r.has_value());
    auto reasons = reasons_of(*r);
    REQUIRE(reasons == std::vector<std::string>{"connection limit reached (100)"});
    CHECK(string_field(r->body, "detail") == "connection limit reached (100)");
    CHECK(r->header("retry-after") == "1");
    CHECK_FALSE(r->keep_alive);
    REQUIRE(refused.closed_by_peer(10s));
  }

  // The first hundred are served, each on its own connection.
  for (auto& conn : served)
    counter_value(round_trip(*conn, add_request("conn-limit", 1)));
  auto info = node_info_on(probe);
  CHECK(info.http_connections_open() == limit);
  CHECK(info.http_connections_max() == limit);
  CHECK(info.http_connections_refused() == extra);
  CHECK(has_reason({info.unready_reasons().begin(), info.unready_reasons().end()},
                   "connection limit reached (100)"));
  // At the limit, /readyz says why.
  auto unready = round_trip(probe, make_request("GET", "/readyz"));
  CHECK(reasons_of(unready) == std::vector<std::string>{"connection limit reached (100)"});
  CHECK(unready.header("retry-after") == "1");

  // Below it again once connections close.
  served.resize(served.size() / 2);
  REQUIRE(eventually(
    [&] { return round_trip(probe, make_request("GET", "/readyz")).status == 200; }, 100,
    50ms));
  require_json_ok(round_trip(probe, make_request("GET", "/readyz")));
  REQUIRE(counter_get(node.port(), "conn-limit") == limit - 1);
}

TEST_CASE("bounds: out of file descriptors, new connections get 503 on the spare "
          "descriptor rather than waiting in the backlog",
          "[bounds]") {
  node_process node{{"--module", counter_module(), "--max-connections", "10000",
                     "--header-timeout", "5m"}};
  raw_connection probe{node.port()};
  require_json_ok(round_trip(probe, make_request("GET", "/healthz")));
  // New descriptors take the lowest free number below the soft limit: a
  // limit 8 above the lowest free one leaves the node at most 8 more.
  std::set<int> open;
  for (const auto& entry :
       std::filesystem::directory_iterator{"/proc/" + std::to_string(node.pid()) + "/fd"})
    open.insert(std::stoi(entry.path().filename().string()));
  int lowest_free = 0;
  while (open.count(lowest_free) > 0)
    ++lowest_free;
  rlimit before{};
  REQUIRE(::prlimit(node.pid(), RLIMIT_NOFILE, nullptr, &before) == 0);
  rlimit tight = before;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free + 8);
  REQUIRE(::prlimit(node.pid(), RLIMIT_NOFILE, &tight, nullptr) == 0);

  std::vector<std::unique_ptr<raw_connection>> clients;
  int served = 0;
  int refused = 0;
  for (int i = 0; i < 60; ++i) {
    clients.push_back(std::make_unique<raw_connection>(node.port()));
    auto& conn = *clients.back();
    conn.send(make_request("GET", "/healthz"));
    auto r = conn.read_response(10s);
    INFO("connection " << i);
    REQUIRE(r.has_value());  // none is left waiting
    if (r->status == 200) {
      ++served;
      continue;
    }
    REQUIRE(reasons_of(*r) == std::vector<std::string>{"out of file descriptors"});
    ++refused;
  }
  CHECK(refused > 0);
  // The node still serves on the connections it has.
  require_json_ok(round_trip(probe, make_request("GET", "/healthz")));
  clients.clear();
  REQUIRE(::prlimit(node.pid(), RLIMIT_NOFILE, &before, nullptr) == 0);
  REQUIRE(eventually([&] { return http_call(node.port(), "GET", "/readyz").status == 200; },
                     100, 50ms));
  CHECK(node_info(node.port()).http_connections_refused() == static_cast<std::uint64_t>(refused));
  REQUIRE(counter_add(node.port(), "after-emfile", 1) == 1);
}

TEST_CASE("bounds: 300 connections sending 1 MiB bodies stay within --max-body-memory",
          "[bounds]") {
  constexpr std::int64_t budget = 16 << 20;
  constexpr std::size_t body_size = 1 << 20;
  constexpr std::size_t sent_of_body = 768 << 10;  // then the clients hold
  constexpr int clients = 300;
  node_process node{{"--module", counter_module(), "--max-body-memory", "16MiB",
                     "--header-timeout", "5m", "--http-threads", "2"}};
  // Warm up: a whole body of that size, so the node's allocator has met one.
  REQUIRE(counter_value(http_call(node.port(), "POST", "/v1/counters/warm:add",
                                  padded_add_body(body_size)))
          == 1);
  auto baseline = resident_bytes(node.pid());

  const auto request = add_header("held", body_size) + padded_add_body(body_size);
  const auto to_send = request.size() - (body_size - sent_of_body);
  std::vector<std::unique_ptr<paced_client>> holders;
  std::vector<std::size_t> sent(clients, 0);
  for (int i = 0; i < clients; ++i)
    holders.push_back(std::make_unique<paced_client>(node.port()));
  // Send until no client gets another byte in (the node reads only the
  // bodies it has memory for), at most 30 s.
  int idle_passes = 0;
  for (int pass = 0; pass < 3000 && idle_passes < 20; ++pass) {
    std::size_t progress = 0;
    for (int i = 0; i < clients; ++i) {
      if (sent[i] < to_send) {
        auto n = holders[i]->send_some(request, sent[i], to_send);
        sent[i] += n;
        progress += n;
      }
    }
    idle_passes = progress == 0 ? idle_passes + 1 : 0;
    std::this_thread::sleep_for(10ms);
  }
  auto grown = resident_bytes(node.pid()) - baseline;
  INFO("resident set grew by " << grown / 1024 << " KiB (budget " << budget / 1024 << " KiB)");
  // Without the budget it would grow by clients x 768 KiB = 225 MiB.
  CHECK(grown < budget + (32 << 20));
  // The node holds what the budget allows and no more; the rest wait.
  NodeInfo info;
  REQUIRE(eventually(
    [&] {
      info = node_info(node.port());
      return info.http_body_reads_paused() == clients - budget / body_size;
    },
    100, 100ms));
  CHECK(info.http_body_bytes_in_flight() == static_cast<std::uint64_t>(budget));
  CHECK(info.http_body_memory_max() == static_cast<std::uint64_t>(budget));
  auto ready = http_call(node.port(), "GET", "/readyz");
  CHECK(has_reason(reasons_of(ready), "request body memory budget reached (16777216 bytes)"));

  holders.clear();  // the clients go away: their bodies are released
  REQUIRE(eventually(
    [&] {
      auto now = node_info(node.port());
      return now.http_body_bytes_in_flight() == 0 && now.http_body_reads_paused() == 0;
    },
    100, 100ms));
  REQUIRE(counter_value(http_call(node.port(), "POST", "/v1/counters/after:add",
                                  padded_add_body(body_size)))
          == 1);
  require_json_ok(http_call(node.port(), "GET", "/readyz"));
}

TEST_CASE("bounds: a budget held by clients that stopped sending is released by the rate "
          "rule, and a waiting body is then served",
          "[bounds]") {
  constexpr std::size_t body_size = 1 << 20;
  node_process node{{"--module", counter_module(), "--max-body-memory", "2MiB",
                     "--min-request-rate", "100000", "--min-request-rate-grace", "1s"}};
  const auto held = add_header("stalled", body_size) + padded_add_body(256 << 10);
  std::vector<std::unique_ptr<raw_connection>> stalled;
  for (int i = 0; i < 2; ++i) {
    stalled.push_back(std::make_unique<raw_connection>(node.port()));
    stalled.back()->send(held);
  }
  REQUIRE(eventually([&] { return node_info(node.port()).http_body_bytes_in_flight() == 2 * body_size; },
                     100, 50ms));
  // A whole body that must wait: the budget is spent.
  paced_client waiting{node.port()};
  const auto whole = add_header("waited", body_size) + padded_add_body(body_size);
  std::size_t offset = 0;
  for (int i = 0; i < 100 && offset < whole.size() && !waiting.peer_gone(); ++i) {
    offset += waiting.send_some(whole, offset);
    waiting.receive(50ms);
    if (waiting.status() != 0)
      break;
  }
  // The stalled clients fall below the rate and are dropped with 408 ...
  for (auto& conn : stalled) {
    auto r = conn->read_response(20s);
    REQUIRE(r.has_value());
    auto p = require_problem(*r, 408);
    CHECK(contains(p.detail, "100000 bytes per second"));
    REQUIRE(conn->closed_by_peer(10s));
  }
  // ... which lets the waiting body in.
  for (int i = 0; i < 400 && waiting.status() == 0 && !waiting.peer_gone(); ++i) {
    offset += waiting.send_some(whole, offset);
    waiting.receive(50ms);
  }
  INFO("received: " << waiting.received().substr(0, 300));
  REQUIRE(waiting.status() == 200);
  CHECK(node_info(node.port()).http_slow_clients_dropped() == 2);
  REQUIRE(counter_get(node.port(), "waited") == 1);
}

TEST_CASE("bounds: an idle keep-alive connection is closed after --idle-connection-timeout",
          "[bounds]") {
  node_process node{{"--module", counter_module(), "--idle-connection-timeout", "1s"}};
  raw_connection idle{node.port()};
  REQUIRE(counter_value(round_trip(idle, add_request("idle", 1))) == 1);
  REQUIRE(idle.closed_by_peer(20s));
  CHECK(node_info(node.port()).http_slow_clients_dropped() == 0);  // idle is not slow

  node_process patient{{"--module", counter_module()}};  // the default: 60 s
  raw_connection kept{patient.port()};
  REQUIRE(counter_value(round_trip(kept, add_request("idle", 1))) == 1);
  REQUIRE_FALSE(kept.closed_by_peer(3s));
}

TEST_CASE("bounds: a header sent one byte at a time is cut off at --header-timeout with 408",
          "[bounds]") {
  node_process node{{"--module", counter_module(), "--header-timeout", "2s"}};
  raw_connection good{node.port()};
  paced_client slow{node.port()};
  // 120 bytes at one per 200 ms would take 24 s.
  const auto header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(80, 'p')
                      + "\r\n\r\n";
  std::size_t sent = 0;
  while (sent < header.size() && !slow.peer_gone()) {
    sent += slow.send_some(header.substr(sent, 1), 0);
    slow.receive(200ms);  // the client's pace, and what the server answers
    require_json_ok(round_trip(good, make_request("GET", "/healthz")));
  }
  for (int i = 0; i < 100 && !slow.peer_gone(); ++i)
    slow.receive(100ms);
  INFO("sent " << sent << " of " << header.size() << " bytes; received: " << slow.received());
  CHECK(sent < header.size());
  REQUIRE(slow.status() == 408);
  CHECK(contains(slow.received(), "the request header did not arrive within 2000 ms"));
  REQUIRE(slow.peer_gone());
  CHECK(node_info_on(good).http_slow_clients_dropped() == 1);
}

TEST_CASE("bounds: a body dribbled in below --min-request-rate is cut off with 408",
          "[bounds]") {
  node_process node{{"--module", counter_module(), "--min-request-rate", "1000",
                     "--min-request-rate-grace", "1s"}};
  raw_connection good{node.port()};
  paced_client slow{node.port()};
  // 2 000 bytes at 10 bytes per 200 ms (50 bytes/s) would take 40 s.
  const auto request = add_header("dribbled", 2000) + padded_add_body(2000);
  std::size_t sent = request.size() - 2000;
  REQUIRE(slow.send_some(request, 0, sent) == sent);  // the header at once
  while (sent < request.size() && !slow.peer_gone() && slow.status() == 0) {
    sent += slow.send_some(request, sent, sent + 10);
    slow.receive(200ms);
    REQUIRE(counter_value(round_trip(good, add_request("good", 1))) > 0);
  }
  for (int i = 0; i < 100 && !slow.peer_gone(); ++i)
    slow.receive(100ms);
  INFO("sent " << sent << " of " << request.size() << " bytes; received: " << slow.received());
  CHECK(sent < request.size());
  REQUIRE(slow.status() == 408);
  CHECK(contains(slow.received(), "the request body arrived slower than 1000 bytes per second"));
  REQUIRE(slow.peer_gone());
  CHECK(node_info_on(good).http_slow_clients_dropped() == 1);
  REQUIRE(counter_get(node.port(), "dribbled") == 0);  // the call never ran
}
