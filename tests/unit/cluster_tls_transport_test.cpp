// The consensus log's transport over mutual TLS (cluster/src/auth_transport
// and tls_stream): two transports on one libuv loop, as two nodes' raft
// would use them, on 127.0.0.1. The stream raft gets carries bytes both ways,
// intact, however slowly its reader reads (the relay stops and resumes); the
// peer's id and address reach the acceptor; closing one end closes the
// other; a certificate of another CA, a wrong secret and a silent client are
// refused, and each side says why. Certificates come from the `openssl`
// command.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster/src/auth_transport.hpp"
#include "support/temp_dir.hpp"

namespace troupe::cluster {
namespace {

using namespace std::chrono_literals;

const std::string secret = "the-cluster-secret";

/// A CA and the certificates it signs (EC P-256: quick to make).
class pki {
public:
  explicit pki(const std::string& name) : ca_(dir_.path() + "/ca.pem") {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
        + dir_.path() + "/ca.key -out " + ca_ + " -days 2 -subj /CN=" + name);
  }

  const std::string& ca() const {
    return ca_;
  }

  struct issued {
    std::string cert;
    std::string key;
  };

  issued issue(const std::string& name) const {
    auto base = dir_.path() + "/" + name;
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + base
        + ".key -out " + base + ".csr -subj /CN=" + name);
    run("openssl x509 -req -in " + base + ".csr -CA " + ca_ + " -CAkey " + dir_.path()
        + "/ca.key -CAcreateserial -out " + base + ".pem -days 2");
    return {base + ".pem", base + ".key"};
  }

private:
  static void run(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
      throw std::runtime_error("failed: " + command);
  }

  test::temp_dir dir_;
  std::string ca_;
};

/// A loopback port nothing listens on now.
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

void free_raft_stream(uv_handle_t* h) {
  raft_free(h);
}

/// Byte `i` of the test stream `seed`.
char pattern_byte(std::uint64_t i, unsigned seed) {
  return static_cast<char>((i * 131 + seed + i / 7919) % 251);
}

/// A stream raft would own. It can send a long test stream, a few chunks in
/// flight at a time, and check what it reads against one, byte by byte.
struct raft_stream {
  static constexpr std::size_t chunk = 1 << 20;

  uv_stream_t* stream = nullptr;
  bool eof = false;
  // Reading: bytes read, and the first that differs from the expected stream.
  unsigned expect_seed = 0;
  std::uint64_t received = 0;
  std::int64_t first_wrong = -1;
  // Sending.
  unsigned send_seed = 0;
  std::uint64_t send_total = 0;
  std::uint64_t sent = 0;  // handed to uv_write
  int in_flight = 0;
  int write_errors = 0;

  void start_reading(unsigned seed) {
    expect_seed = seed;
    stream->data = this;
    uv_read_start(
      stream,
      [](uv_handle_t*, std::size_t suggested, uv_buf_t* buf) {
        static thread_local std::string space;
        space.resize(suggested);
        *buf = uv_buf_init(space.data(), static_cast<unsigned>(suggested));
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* self = static_cast<raft_stream*>(s->data);
        if (n < 0)
          self->eof = true;
        for (ssize_t i = 0; i < n; ++i, ++self->received)
          if (self->first_wrong < 0
              && buf->base[i] != pattern_byte(self->received, self->expect_seed))
            self->first_wrong = static_cast<std::int64_t>(self->received);
      });
  }

  void send(std::uint64_t total, unsigned seed) {
    send_total = total;
    send_seed = seed;
    while (in_flight < 4 && sent < send_total)
      write_next();
  }

  void write_next() {
    struct req {
      uv_write_t write{};
      raft_stream* owner = nullptr;
      std::string bytes;
    };
    auto r = std::make_unique<req>();
    auto n = std::min<std::uint64_t>(chunk, send_total - sent);
    r->bytes.resize(n);
    for (std::uint64_t i = 0; i < n; ++i)
      r->bytes[i] = pattern_byte(sent + i, send_seed);
    r->owner = this;
    r->write.data = r.get();
    auto buf = uv_buf_init(r->bytes.data(), static_cast<unsigned>(n));
    auto rv = uv_write(&r->write, stream, &buf, 1, [](uv_write_t* w, int status) {
      std::unique_ptr<req> done{static_cast<req*>(w->data)};
      auto* self = done->owner;
      --self->in_flight;
      if (status != 0) {
        ++self->write_errors;
        return;
      }
      if (self->sent < self->send_total)
        self->write_next();
    });
    REQUIRE(rv == 0);
    r.release();
    sent += n;
    ++in_flight;
  }

  void close() {
    if (stream != nullptr && !uv_is_closing(reinterpret_cast<uv_handle_t*>(stream)))
      uv_close(reinterpret_cast<uv_handle_t*>(stream), free_raft_stream);
  }
};

/// One node's side: its transport as raft would drive it.
struct node {
  std::uint64_t id;
  std::string address;
  std::unique_ptr<tls_context> tls;
  std::vector<std::string> log;
  std::unique_ptr<auth_transport> transport;
  raft_stream accepted;
  std::uint64_t accepted_id = 0;
  std::string accepted_address;
  raft_uv_connect connect_req{};
  raft_stream connected;
  int connect_status = 1;  // 1: not answered yet
  bool closed = false;
  bool close_started = false;

  node(uv_loop_t* loop, std::uint64_t node_id, const pki& cluster, const pki& signer,
       const std::string& cluster_secret = secret)
    : id(node_id), address("127.0.0.1:" + std::to_string(free_port())) {
    auto cert = signer.issue("node" + std::to_string(node_id));
    tls = std::make_unique<tls_context>(cert.cert, cert.key, cluster.ca());
    transport = std::make_unique<auth_transport>(
      loop, "troupe", cluster_secret, [this](const std::string& line) { log.push_back(line); },
      tls.get());
    REQUIRE(transport->init() == 0);
    auto* t = transport->transport();
    t->data = this;
    REQUIRE(t->init(t, id, address.c_str()) == 0);
    REQUIRE(t->listen(t,
                      [](raft_uv_transport* t, raft_id peer, const char* peer_address,
                         uv_stream_t* stream) {
                        auto* self = static_cast<node*>(t->data);
                        self->accepted.stream = stream;
                        self->accepted_id = peer;
                        self->accepted_address = peer_address;
                      })
            == 0);
  }

  void connect(const node& to) {
    connect_req.data = this;
    auto* t = transport->transport();
    REQUIRE(t->connect(t, &connect_req, to.id, to.address.c_str(),
                       [](raft_uv_connect* req, uv_stream_t* stream, int status) {
                         auto* self = static_cast<node*>(req->data);
                         self->connect_status = status;
                         self->connected.stream = stream;
                       })
            == 0);
  }

  void close() {
    accepted.close();
    connected.close();
    if (close_started)
      return;
    close_started = true;
    auto* t = transport->transport();
    t->close(t, [](raft_uv_transport* t) { static_cast<node*>(t->data)->closed = true; });
  }

  std::string said() const {
    std::string out;
    for (const auto& line : log)
      out += line + "\n";
    return out;
  }

  bool logged(const std::string& text) const {
    for (const auto& line : log)
      if (line.find(text) != std::string::npos)
        return true;
    return false;
  }
};

/// A loop that runs in this thread, ticking so that waits are bounded.
struct loop_fixture {
  uv_loop_t loop{};
  uv_timer_t tick{};
  std::vector<std::unique_ptr<node>> nodes;

  loop_fixture() {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, [](uv_timer_t*) {}, 10, 10);
  }

  ~loop_fixture() {
    // Close everything, then every handle must be gone: no link is left
    // behind, whatever it was doing.
    for (auto& n : nodes)
      n->close();
    run_until([&] {
      for (auto& n : nodes)
        if (!n->closed)
          return false;
      return true;
    });
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (uv_run(&loop, UV_RUN_NOWAIT) != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    CHECK(uv_loop_close(&loop) == 0);
    nodes.clear();
  }

  node& add(std::uint64_t id, const pki& cluster, const pki& signer,
            const std::string& cluster_secret = secret) {
    nodes.push_back(std::make_unique<node>(&loop, id, cluster, signer, cluster_secret));
    return *nodes.back();
  }

  /// Runs the loop until `done` or `limit` passed; `done()` at the end.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 15s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
      uv_run(&loop, UV_RUN_ONCE);
    return done();
  }
};

} // namespace

TEST_CASE("consensus TLS transport: raft's stream carries bytes both ways intact, however slowly "
          "the other side reads, and closing one end closes the other") {
  pki cluster{"cluster-ca"};
  loop_fixture f;
  auto& a = f.add(1, cluster, cluster);
  auto& b = f.add(2, cluster, cluster);
  b.connect(a);
  REQUIRE(f.run_until([&] { return b.connect_status != 1 && a.accepted.stream != nullptr; }));
  INFO("a said:\n" << a.said() << "b said:\n" << b.said());
  REQUIRE(b.connect_status == 0);
  // The preamble came through TLS: who connected, and where it listens.
  CHECK(a.accepted_id == 2);
  CHECK(a.accepted_address == b.address);

  // 64 MiB each way, far over the relay's bound (1 MiB per direction) and
  // what loopback TCP buffers, while the receiving side does not read for a
  // while: the relays stop reading and resume, and nothing is lost or
  // reordered.
  const std::uint64_t total = 64 << 20;
  b.connected.send(total, 1);
  a.accepted.send(total, 2);
  auto until = std::chrono::steady_clock::now() + 300ms;
  f.run_until([&] { return std::chrono::steady_clock::now() > until; }, 1s);
  a.accepted.start_reading(1);
  b.connected.start_reading(2);
  bool arrived = f.run_until(
    [&] { return a.accepted.received >= total && b.connected.received >= total; }, 60s);
  INFO("a read " << a.accepted.received << " bytes, b " << b.connected.received);
  REQUIRE(arrived);
  CHECK(a.accepted.received == total);
  CHECK(b.connected.received == total);
  CHECK(a.accepted.first_wrong == -1);
  CHECK(b.connected.first_wrong == -1);
  CHECK(a.accepted.write_errors + b.connected.write_errors == 0);
  CHECK(a.log.empty());
  CHECK(b.log.empty());

  // b's raft closes its stream: a's reads EOF.
  b.connected.close();
  b.connected.stream = nullptr;
  CHECK(f.run_until([&] { return a.accepted.eof; }));
}

TEST_CASE("consensus TLS transport: a certificate another CA signed is refused, and both sides "
          "say why") {
  pki cluster{"cluster-ca"};
  pki other{"another-ca"};
  loop_fixture f;
  SECTION("the connecting node's") {
    auto& a = f.add(1, cluster, cluster);
    auto& b = f.add(2, cluster, other);  // trusts the cluster CA, signed by another
    b.connect(a);
    REQUIRE(f.run_until([&] {
      return b.connect_status != 1 && a.logged("refused a consensus link") && !b.log.empty();
    }));
    INFO("a said:\n" << a.said() << "b said:\n" << b.said());
    CHECK(b.connect_status != 0);
    CHECK(a.accepted.stream == nullptr);
    CHECK(a.logged("refused a consensus link from 127.0.0.1:"));
    CHECK(a.logged("its certificate is not signed by the cluster CA"));
    CHECK(b.logged("the consensus link to " + a.address + " failed: it refused this node's "
                                                          "certificate"));
  }
  SECTION("the accepting node's") {
    auto& a = f.add(1, cluster, other);
    auto& b = f.add(2, cluster, cluster);
    b.connect(a);
    REQUIRE(f.run_until([&] {
      return b.connect_status != 1 && !b.log.empty() && !a.log.empty();
    }));
    INFO("a said:\n" << a.said() << "b said:\n" << b.said());
    CHECK(b.connect_status != 0);
    CHECK(a.accepted.stream == nullptr);
    CHECK(a.logged("refused a consensus link from 127.0.0.1:"));
    CHECK(a.logged("it refused this node's certificate"));
    CHECK(b.logged("the consensus link to " + a.address
                   + " failed: its certificate is not signed by the cluster CA"));
  }
}

TEST_CASE("consensus TLS transport: a node with the wrong secret is refused inside TLS") {
  pki cluster{"cluster-ca"};
  loop_fixture f;
  auto& a = f.add(1, cluster, cluster);
  auto& b = f.add(2, cluster, cluster, "not-the-cluster-secret");
  b.connect(a);
  bool both_said = f.run_until([&] {
    return b.connect_status != 1 && a.logged("refused") && b.logged("refused");
  });
  INFO("a said:\n" << a.said() << "b said:\n" << b.said());
  REQUIRE(both_said);
  CHECK(b.connect_status != 0);
  CHECK(a.accepted.stream == nullptr);
  CHECK(a.logged("refused a consensus link from " + b.address
                 + ": it does not know the cluster secret"));
  CHECK(b.logged("the peer refused this node's cluster secret"));
}

TEST_CASE("consensus TLS transport: a client that says nothing is dropped after 5 s") {
  pki cluster{"cluster-ca"};
  loop_fixture f;
  auto& a = f.add(1, cluster, cluster);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct closer {
    int fd;
    ~closer() {
      ::close(fd);
    }
  } close_fd{fd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(a.address.substr(10))));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(f.run_until([&] { return a.logged("no answer within 5 s"); }, 20s));
  INFO(a.said());
  CHECK(a.logged("dropped a consensus link from 127.0.0.1:"));
  // And the connection is closed.
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    f.run_until([] { return false; }, 50ms);
    pollfd p{fd, POLLIN, 0};
    char byte;
    closed = ::poll(&p, 1, 0) == 1 && ::recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
  }
  CHECK(closed);
}

TEST_CASE("consensus TLS transport: at most 128 handshakes at a time, further connections are "
          "closed at once") {
  pki cluster{"cluster-ca"};
  loop_fixture f;
  auto& a = f.add(1, cluster, cluster);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(a.address.substr(10))));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> fds;
  struct closer {
    std::vector<int>& fds;
    ~closer() {
      for (int fd : fds)
        ::close(fd);
    }
  } close_fds{fds};
  // In batches smaller than the listen backlog, each connected before the
  // next, so that none waits for a SYN to be sent again.
  for (int batch = 0; batch < 140 / 14; ++batch) {
    std::vector<pollfd> waiting;
    for (int i = 0; i < 14; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      REQUIRE(fd >= 0);
      fds.push_back(fd);
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // in progress
      waiting.push_back({fd, POLLOUT, 0});
    }
    REQUIRE(f.run_until([&] {
      return ::poll(waiting.data(), waiting.size(), 0) == static_cast<int>(waiting.size());
    }, 5s));
  }
  auto refusals = [&] {
    int n = 0;
    for (const auto& line : a.log)
      n += line.find("128 handshakes are in progress already") != std::string::npos;
    return n;
  };
  bool refused = f.run_until([&] { return refusals() >= 12; }, 20s);
  INFO(a.said());
  CHECK(refused);
}

} // namespace troupe::cluster
