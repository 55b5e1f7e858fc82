// The shell against a stand-in admin API served from this process: the HTTP
// client (keep-alive, reconnects, timeouts, unreachable nodes), problem
// answers, and whole command lines through shell_session and run_shell.
#include <utility>  // before Boost.Asio: its 1.74 headers miss it under C++20

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <google/protobuf/util/json_util.h>

#include "shell/src/admin_api.hpp"
#include "shell/src/admin_client.hpp"
#include "troupe/shell/shell.hpp"
#include "shell/src/shell_session.hpp"

using namespace troupe::shell;
namespace admin = troupe::admin::v1;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

/// An admin API stand-in on 127.0.0.1 with a free port. Each connection is
/// served by its own thread; `answer` makes the response, or nullopt to keep
/// the client waiting. With close_after_answer it closes every connection
/// after one answer without saying so, as a node's idle timeout would.
class fake_node {
public:
  using answer_fn = std::function<std::optional<response>(const request&)>;

  explicit fake_node(answer_fn answer, bool close_after_answer = false)
    : answer_(std::move(answer)), close_after_answer_(close_after_answer) {
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::address_v4::loopback(), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accepter_ = std::thread([this] { accept_loop(); });
  }

  ~fake_node() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(io_);  // unblocks accept()
    wake.connect({asio::ip::address_v4::loopback(), port_}, ec);
    accepter_.join();
    {
      std::lock_guard lock(mutex_);
      for (auto& socket : sockets_)
        socket->shutdown(tcp::socket::shutdown_both, ec);
    }
    for (auto& worker : workers_)
      worker.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }

  int connections() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(sockets_.size());
  }

  std::vector<request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  /// Waits until the node has closed N connections itself.
  void wait_until_closed(int n) {
    std::unique_lock lock(mutex_);
    closed_changed_.wait(lock, [&] { return closed_ >= n; });
  }

private:
  void accept_loop() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (stopping_ || ec)
        return;
      std::lock_guard lock(mutex_);
      sockets_.push_back(socket);
      workers_.emplace_back([this, socket] { serve(*socket); });
    }
  }

  void serve(tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    for (;;) {
      request req;
      http::read(socket, buffer, req, ec);
      if (ec)
        return;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(req);
      }
      auto res = answer_(req);
      if (!res) {  // hold the client until it gives up
        char byte;
        while (!ec)
          socket.read_some(asio::buffer(&byte, 1), ec);
        return;
      }
      res->version(11);
      res->keep_alive(true);
      res->prepare_payload();
      http::write(socket, *res, ec);
      if (ec)
        return;
      if (close_after_answer_) {
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        std::lock_guard lock(mutex_);
        ++closed_;
        closed_changed_.notify_all();
        return;
      }
    }
  }

  answer_fn answer_;
  bool close_after_answer_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accepter_;
  mutable std::mutex mutex_;
  std::condition_variable closed_changed_;
  int closed_ = 0;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> workers_;
  std::vector<request> requests_;
};

response answer(http::status status, std::string content_type, std::string body) {
  response res{status, 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

template <class Message>
response json_answer(const Message& message) {
  std::string json;
  REQUIRE(google::protobuf::util::MessageToJsonString(message, &json).ok());
  return answer(http::status::ok, "application/json", json);
}

response problem_answer(http::status status, const std::string& detail) {
  admin::Problem problem;
  problem.set_type("about:blank");
  problem.set_title(std::string(http::obsolete_reason(status)));
  problem.set_status(static_cast<int>(status));
  problem.set_detail(detail);
  std::string json;
  REQUIRE(google::protobuf::util::MessageToJsonString(problem, &json).ok());
  return answer(status, "application/problem+json", json);
}

// A port nothing listens on: bound once, then released.
std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

base_url url_of(const fake_node& node) {
  return parse_base_url(node.url());
}

admin::ServiceInfo counter_info() {
  admin::ServiceInfo info;
  info.set_name("demo.counter.v1.Counter");
  info.set_kind("keyed");
  info.set_module("counter");
  info.set_status("running");
  info.set_active_actors(3);
  for (const char* name : {"Add", "Get", "Reset"}) {
    auto* method = info.add_methods();
    method->set_name(name);
    method->set_input_type(std::string("demo.counter.v1.") + name + "Request");
    method->set_output_type("demo.counter.v1.CounterValue");
  }
  return info;
}

admin::ServiceInfo greeter_info() {
  admin::ServiceInfo info;
  info.set_name("demo.greeter.v1.Greeter");
  info.set_kind("stateless");
  info.set_status("running");
  info.set_instances(2);
  info.add_methods()->set_name("Hello");
  return info;
}

// The request timeout example_node tells in its NodeInfo.
constexpr std::uint32_t example_request_timeout_ms = 2500;

// The admin API of a node with the two example services.
std::optional<response> example_node(const request& req) {
  const std::string target(req.target());
  if (req.method() == http::verb::get && target == "/admin/v1/node") {
    admin::NodeInfo info;
    info.set_name("n1");
    info.set_request_timeout_ms(example_request_timeout_ms);
    return json_answer(info);
  }
  if (req.method() == http::verb::get && target == "/admin/v1/services") {
    admin::ServiceList list;
    *list.add_services() = counter_info();
    *list.add_services() = greeter_info();
    return json_answer(list);
  }
  if (req.method() == http::verb::get && target == "/admin/v1/services/demo.counter.v1.Counter")
    return json_answer(counter_info());
  if (req.method() == http::verb::get && target == "/admin/v1/services/demo.greeter.v1.Greeter")
    return json_answer(greeter_info());
  if (req.method() == http::verb::get && target.starts_with("/admin/v1/services/"))
    return problem_answer(http::status::not_found,
                          "no service named '" + target.substr(19) + "' on this node");
  if (req.method() == http::verb::post
      && target == "/admin/v1/services/demo.counter.v1.Counter/methods/Add:call?key=a%20b")
    return answer(http::status::ok, "application/json", R"({"value":5})");
  if (req.method() == http::verb::post
      && target == "/admin/v1/services/demo.counter.v1.Counter:reset")
    return json_answer(counter_info());
  return problem_answer(http::status::not_found, "no route for " + target);
}

} // namespace

TEST_CASE("the client returns the answer and keeps the connection", "[shell][client]") {
  fake_node node([](const request&) {
    return answer(http::status::ok, "application/json", R"({"name":"n1"})");
  });
  admin_client client(url_of(node));
  const auto first = client.get("/admin/v1/node");
  CHECK(first.status == 200);
  CHECK(first.content_type == "application/json");
  CHECK(first.body == R"({"name":"n1"})");
  CHECK(client.get("/admin/v1/nodes").status == 200);
  CHECK(client.post("/admin/v1/x", "{}").status == 200);

  CHECK(node.connections() == 1);
  const auto seen = node.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].target() == "/admin/v1/node");
  CHECK(seen[0][http::field::host] == "127.0.0.1:" + std::to_string(node.port()));
  CHECK(seen[2].method() == http::verb::post);
  CHECK(seen[2][http::field::content_type] == "application/json");
  CHECK(seen[2].body() == "{}");
}

TEST_CASE("a connection the node closed is opened again, and no request is sent twice",
          "[shell][client]") {
  fake_node node([](const request&) { return answer(http::status::ok, "application/json", "{}"); },
                 /*close_after_answer=*/true);
  admin_client client(url_of(node));
  CHECK(client.get("/a").status == 200);
  node.wait_until_closed(1);
  CHECK(client.post("/b", R"({"delta":1})").status == 200);
  node.wait_until_closed(2);
  CHECK(client.get("/c").status == 200);
  CHECK(node.connections() == 3);
  CHECK(node.requests().size() == 3);
}

TEST_CASE("an unreachable node is one line naming the URL and the cause", "[shell][client]") {
  const auto url = base_url{"127.0.0.1", closed_port()};
  admin_client client(url);
  CHECK_THROWS_WITH(client.get("/admin/v1/node"),
                    "cannot reach " + url.to_string() + ": Connection refused");
  CHECK_THROWS_AS(client.get("/admin/v1/node"), transport_error);
}

TEST_CASE("a node that does not answer in time", "[shell][client]") {
  fake_node node([](const request&) { return std::optional<response>{}; });
  admin_client client(url_of(node), std::chrono::milliseconds{200});
  CHECK_THROWS_WITH(client.get("/admin/v1/node"),
                    "no answer from " + node.url() + " within 200 ms");
}

/// A pipe whose read end stands in for interrupts::fd(): readable after
/// press(), until take().
class fake_ctrl_c {
public:
  fake_ctrl_c() { REQUIRE(::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) == 0); }
  ~fake_ctrl_c() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int fd() const { return fds_[0]; }
  void press() { REQUIRE(::write(fds_[1], "x", 1) == 1); }
  void take() {
    char byte;
    while (::read(fds_[0], &byte, 1) == 1) {
    }
  }

private:
  int fds_[2];
};

/// Waits (a bounded while) until NODE has received N requests.
bool received(const fake_node& node, std::size_t n) {
  for (int i = 0; i < 500; ++i) {
    if (node.requests().size() >= n)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

TEST_CASE("an interrupt abandons the request in progress", "[shell][client]") {
  // The node answers the first request only when the client has given up.
  std::atomic<int> calls{0};
  fake_node node([&](const request&) -> std::optional<response> {
    if (calls++ == 0)
      return std::nullopt;
    return answer(http::status::ok, "application/json", "{}");
  });
  fake_ctrl_c ctrl_c;
  admin_client client(url_of(node));
  client.cancel_on(ctrl_c.fd());
  std::thread presser([&] {
    if (received(node, 1))
      ctrl_c.press();
  });
  CHECK_THROWS_AS(client.post("/slow", "{}"), command_cancelled);
  presser.join();
  REQUIRE(node.requests().size() == 1);

  // Once the interrupt is taken, the client works again, on a new connection.
  ctrl_c.take();
  CHECK(client.get("/next").status == 200);
  CHECK(node.connections() == 2);
}

TEST_CASE("a session reports a cancelled command and goes on", "[shell][session]") {
  fake_ctrl_c ctrl_c;
  std::atomic<bool> hold{true};
  fake_node node([&](const request& req) -> std::optional<response> {
    if (req.target().starts_with("/admin/v1/services/demo.counter.v1.Counter/methods") && hold)
      return std::nullopt;
    return example_node(req);
  });
  admin_client watched(url_of(node));
  watched.cancel_on(ctrl_c.fd());
  std::ostringstream out, err;
  shell_session session(admin_api(std::move(watched)), out, err);
  std::thread presser([&] {
    if (received(node, 4))  // the services, the one named, the node's timeout, the call
      ctrl_c.press();
  });
  CHECK(session.execute(R"(call counter add 'a b' {"delta": 5})") == line_outcome::cancelled);
  presser.join();
  CHECK(err.str() == "cancelled\n");
  CHECK(out.str().empty());
  CHECK(exit_status(line_outcome::cancelled) == 130);

  ctrl_c.take();
  hold = false;
  CHECK(session.execute(R"(call counter add 'a b' {"delta": 5})") == line_outcome::done);
  CHECK(out.str() == "{\n  \"value\": 5\n}\n");
}

TEST_CASE("a call's deadline is the node's request timeout, unless the user sets one",
          "[shell][session]") {
  fake_node node(example_node);
  const auto call_deadline_sent = [&]() -> std::string {
    const auto seen = node.requests();
    REQUIRE_FALSE(seen.empty());
    REQUIRE(seen.back().method() == http::verb::post);
    return std::string(seen.back()["X-Troupe-Timeout-Ms"]);
  };
  std::ostringstream out, err;

  SECTION("the node's, asked once") {
    shell_session session(admin_api(admin_client(url_of(node))), out, err);
    REQUIRE(session.execute(R"(call counter add 'a b' {"delta": 5})") == line_outcome::done);
    CHECK(call_deadline_sent() == std::to_string(example_request_timeout_ms));
    REQUIRE(session.execute(R"(call counter add 'a b' {"delta": 5})") == line_outcome::done);
    CHECK(call_deadline_sent() == std::to_string(example_request_timeout_ms));
    int asked = 0;
    for (const auto& seen : node.requests())
      asked += seen.target() == "/admin/v1/node";
    CHECK(asked == 1);
  }
  SECTION("the node's, learnt when greeting") {
    shell_session session(admin_api(admin_client(url_of(node))), out, err);
    REQUIRE(session.greet() == line_outcome::done);
    REQUIRE(session.execute(R"(call counter add 'a b' {"delta": 5})") == line_outcome::done);
    CHECK(call_deadline_sent() == std::to_string(example_request_timeout_ms));
    CHECK(node.requests().front().target() == "/admin/v1/node");
    CHECK(node.requests().size() == 4);  // the node, the services, the one named, the call
  }
  SECTION("the user's --timeout wins, and the node is not asked") {
    shell_session session(admin_api(admin_client(url_of(node))), out, err,
                          std::chrono::milliseconds{700});
    REQUIRE(session.execute(R"(call counter add 'a b' {"delta": 5})") == line_outcome::done);
    CHECK(call_deadline_sent() == "700");
    for (const auto& seen : node.requests())
      CHECK(seen.target() != "/admin/v1/node");
  }
  SECTION("a node that does not tell its timeout: the shell's default") {
    fake_node silent([](const request& req) -> std::optional<response> {
      if (req.target() == "/admin/v1/node")
        return json_answer(admin::NodeInfo{});
      return example_node(req);
    });
    shell_session session(admin_api(admin_client(url_of(silent))), out, err);
    REQUIRE(session.execute(R"(call counter add 'a b' {"delta": 5})") == line_outcome::done);
    const auto seen = silent.requests();
    CHECK(seen.back()["X-Troupe-Timeout-Ms"]
          == std::to_string(admin_client::default_timeout.count()));
  }
}

TEST_CASE("a call waits past its deadline, so the node's own answer comes first",
          "[shell][client]") {
  fake_node node([](const request&) { return std::optional<response>{}; });
  admin_client client(url_of(node), std::chrono::milliseconds{50'000});
  const auto deadline = std::chrono::milliseconds{100};
  const auto waited = deadline + admin_client::answer_grace;
  REQUIRE(waited > deadline);
  CHECK_THROWS_WITH(client.post_call("/call", "{}", deadline),
                    "no answer from " + node.url() + " within "
                      + std::to_string(waited.count()) + " ms");
  REQUIRE(node.requests().size() == 1);
  CHECK(node.requests().front()["X-Troupe-Timeout-Ms"] == "100");
}

TEST_CASE("a problem answer gives its detail, else its status", "[shell][api]") {
  CHECK(failure_message({404, "application/problem+json",
                         R"({"title":"Not Found","status":404,"detail":"service 'x' not found"})"})
        == "service 'x' not found");
  CHECK(failure_message({404, "application/problem+json", R"({"title":"Not Found","status":404})"})
        == "Not Found");
  CHECK(failure_message({502, "text/html", "<html>bad gateway</html>"})
        == "the node answered HTTP 502 Bad Gateway");
  CHECK(failure_message({599, "", ""}) == "the node answered HTTP 599");
}

TEST_CASE("admin resources are read from their proto3 JSON", "[shell][api]") {
  fake_node node(example_node);
  admin_api api(admin_client(url_of(node)));
  const auto list = api.services();
  REQUIRE(list.services_size() == 2);
  CHECK(list.services(0).active_actors() == 3);  // uint64: a JSON string
  CHECK(api.service("demo.greeter.v1.Greeter").instances() == 2);
  CHECK_THROWS_WITH(api.service("nope.Nope"), "no service named 'nope.Nope' on this node");
}

TEST_CASE("command lines through a session", "[shell][session]") {
  fake_node node(example_node);
  std::ostringstream out, err;
  shell_session session(admin_api(admin_client(url_of(node))), out, err);

  SECTION("services prints the table") {
    CHECK(session.execute("services") == line_outcome::done);
    CHECK(out.str() ==
          "NAME                     KIND       STATUS   ACTORS  RESTARTS  IN-FLIGHT  SHED  SLOW\n"
          "demo.counter.v1.Counter  keyed      running       3         0          0     0     0\n"
          "demo.greeter.v1.Greeter  stateless  running       2         0          0     0     0\n");
    CHECK(err.str().empty());
  }
  SECTION("call resolves short names, encodes the key and prints the answer") {
    CHECK(session.execute(R"(call counter add 'a b' {"delta": 5})") == line_outcome::done);
    CHECK(out.str() == "{\n  \"value\": 5\n}\n");
    const auto seen = node.requests();
    REQUIRE_FALSE(seen.empty());
    CHECK(seen.back().body() == R"({"delta": 5})");
  }
  SECTION("a keyed service needs a key") {
    CHECK(session.execute("call Counter Get") == line_outcome::usage_error);
    CHECK(err.str()
          == "error: demo.counter.v1.Counter is keyed: give a KEY (call SERVICE METHOD KEY JSON)\n");
  }
  SECTION("an unknown method names the methods there are") {
    CHECK(session.execute("call Counter Mul k {}") == line_outcome::failed);
    CHECK(err.str()
          == "error: service 'demo.counter.v1.Counter' has no method 'Mul' (methods: Add, Get, Reset)\n");
  }
  SECTION("an unknown service, by short and by full name") {
    CHECK(session.execute("describe nope") == line_outcome::failed);
    CHECK(session.execute("describe x.Nope") == line_outcome::failed);
    CHECK(err.str()
          == "error: no service named 'nope' on this node\n"
             "error: no service named 'x.Nope' on this node\n");
  }
  SECTION("reset") {
    CHECK(session.execute("reset Counter") == line_outcome::done);
    CHECK(out.str() == "reset demo.counter.v1.Counter (status: running)\n");
  }
  SECTION("an unknown command sends nothing") {
    CHECK(session.execute("foo bar") == line_outcome::usage_error);
    CHECK(err.str() == "error: unknown command 'foo' (try 'help')\n");
    CHECK(node.requests().empty());
  }
  SECTION("quit and blank lines") {
    CHECK(session.execute("quit") == line_outcome::quit);
    CHECK(session.execute("   ") == line_outcome::done);
    CHECK(out.str().empty());
  }
}

TEST_CASE("run_shell's exit statuses", "[shell][run]") {
  std::ostringstream out, err;
  shell_options options;
  options.out = &out;
  options.err = &err;

  SECTION("one-shot, node unreachable: 1") {
    options.url = "http://127.0.0.1:" + std::to_string(closed_port());
    options.command = "services";
    CHECK(run_shell(options) == 1);
    CHECK(err.str() == "error: cannot reach " + options.url + ": Connection refused\n");
  }
  SECTION("one-shot, unknown command: 2") {
    options.url = "http://127.0.0.1:" + std::to_string(closed_port());
    options.command = "foo";
    CHECK(run_shell(options) == 2);
    CHECK(err.str() == "error: unknown command 'foo' (try 'help')\n");
  }
  SECTION("a bad URL: 2") {
    options.url = "https://127.0.0.1:8443";
    options.command = "services";
    CHECK(run_shell(options) == 2);
    CHECK(err.str()
          == "error: bad URL 'https://127.0.0.1:8443': https is not supported yet; use http://HOST:PORT\n");
  }
  SECTION("one-shot success: 0") {
    fake_node node(example_node);
    options.url = node.url();
    options.command = "describe Counter";
    CHECK(run_shell(options) == 0);
    CHECK_THAT(out.str(), Catch::StartsWith("Service:        demo.counter.v1.Counter\n"));
  }
  SECTION("a script runs every line and returns the worst status") {
    fake_node node(example_node);
    std::istringstream script("services\nfoo\ndescribe nope\n");
    options.url = node.url();
    options.in = &script;
    CHECK(run_shell(options) == 2);
    CHECK_THAT(out.str(), Catch::Contains("demo.greeter.v1.Greeter"));
    CHECK(err.str()
          == "error: unknown command 'foo' (try 'help')\n"
             "error: no service named 'nope' on this node\n");
  }
}
