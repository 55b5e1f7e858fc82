// troupe_bench_overload: an HTTP load generator for bench/overload/run.sh.
//
// Two modes against POST /v1/counters/k<i>:add over --keys keys, on
// --connections keep-alive connections (one request at a time each, as
// browsers and most clients do; no pipelining):
//
//   --rate 0  closed loop: every connection sends its next request as soon
//             as the previous answer is in. Finds the node's capacity.
//   --rate R  open loop: request i is due at start + i/R, whatever the
//             node does. A due request goes out on the first free
//             connection; its latency counts from when it was DUE, not sent,
//             so time a request spent waiting for a connection (because the
//             node was slow to answer the previous ones) is counted. That
//             avoids coordinated omission, as wrk2 does.
//
// Runs --duration seconds, then stops sending and waits up to --drain
// seconds for answers still due. Prints one line of key=value pairs:
// offered and sent rates, goodput (2xx/s) and shed rate (503/s) over the
// run, other statuses and errors, requests never sent (the generator or the
// node could not keep up), and p50/p99/max latency of the 2xx calls in ms.
#include <utility>  // before Boost.Asio under C++20

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  double rate = 0;  // requests/s; 0: closed loop
  double duration = 5;
  double drain = 5;
  int connections = 64;
  int keys = 1000;
};

[[noreturn]] void usage(const char* fault) {
  std::fprintf(stderr,
               "troupe_bench_overload: %s\n"
               "usage: troupe_bench_overload --port P [--host 127.0.0.1] [--rate R|0]"
               " [--duration S] [--drain S] [--connections N] [--keys K]\n",
               fault);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc)
      usage(("missing value for " + flag).c_str());
    std::string value = argv[++i];
    char* end = nullptr;
    double number = std::strtod(value.c_str(), &end);
    bool numeric = end != value.c_str() && *end == '\0' && number >= 0;
    if (flag == "--host")
      o.host = value;
    else if (!numeric)
      usage((flag + ": expected a number, got '" + value + "'").c_str());
    else if (flag == "--port")
      o.port = static_cast<unsigned short>(number);
    else if (flag == "--rate")
      o.rate = number;
    else if (flag == "--duration")
      o.duration = number;
    else if (flag == "--drain")
      o.drain = number;
    else if (flag == "--connections")
      o.connections = std::max(1, static_cast<int>(number));
    else if (flag == "--keys")
      o.keys = std::max(1, static_cast<int>(number));
    else
      usage(("unknown option " + flag).c_str());
  }
  if (o.port == 0)
    usage("--port is required");
  return o;
}

struct results {
  std::uint64_t ok = 0;          // 2xx within the run
  std::uint64_t shed = 0;        // 503 within the run
  std::uint64_t other = 0;       // any other status
  std::uint64_t errors = 0;      // connection failures (each reconnects)
  std::uint64_t late = 0;        // answered after the run, during the drain
  std::vector<std::uint32_t> ok_latency_us;
};

class generator;

/// One keep-alive connection, one request at a time.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(net::io_context& io, generator& owner) : stream_(io), owner_(owner) {
  }
  void connect(const tcp::endpoint& endpoint);
  void send(const std::string& request, clock_type::time_point due);
  bool busy() const noexcept {
    return busy_;
  }
  bool ready() const noexcept {
    return connected_ && !busy_;
  }

private:
  void on_read(beast::error_code ec);
  void fail();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  generator& owner_;
  tcp::endpoint endpoint_;
  clock_type::time_point due_;
  bool busy_ = false;
  bool connected_ = false;
};

class generator {
public:
  explicit generator(options o) : o_(std::move(o)), tick_(io_) {
    for (int k = 0; k < o_.keys; ++k) {
      std::string body = R"({"delta": 1})";
      requests_.push_back("POST /v1/counters/k" + std::to_string(k)
                          + ":add HTTP/1.1\r\nHost: " + o_.host
                          + "\r\nContent-Type: application/json\r\nContent-Length: "
                          + std::to_string(body.size()) + "\r\n\r\n" + body);
    }
  }

  int run() {
    tcp::endpoint endpoint{net::ip::make_address(o_.host), o_.port};
    for (int i = 0; i < o_.connections; ++i) {
      connections_.push_back(std::make_shared<connection>(io_, *this));
      connections_.back()->connect(endpoint);
    }
    // Connect first, then start the clock.
    auto connect_deadline = clock_type::now() + std::chrono::seconds{10};
    while (ready_count_ < o_.connections && clock_type::now() < connect_deadline)
      io_.run_one_for(std::chrono::milliseconds{100});
    if (ready_count_ < o_.connections) {
      std::fprintf(stderr, "troupe_bench_overload: only %d of %d connections opened\n",
                   ready_count_, o_.connections);
      return 1;
    }
    start_ = clock_type::now();
    end_ = start_ + std::chrono::duration_cast<clock_type::duration>(
                      std::chrono::duration<double>{o_.duration});
    total_ = o_.rate > 0 ? static_cast<std::uint64_t>(o_.rate * o_.duration) : 0;
    send_due();
    schedule_tick();
    auto drain_end = end_ + std::chrono::duration_cast<clock_type::duration>(
                              std::chrono::duration<double>{o_.drain});
    while (clock_type::now() < drain_end) {
      io_.run_one_for(std::chrono::milliseconds{50});
      if (clock_type::now() >= end_ && in_flight_ == 0 && (o_.rate == 0 || next_ >= total_))
        break;
    }
    report();
    return 0;
  }

  /// A connection finished a request (status 0: the connection failed).
  /// `c` is free again unless it reconnects.
  void completed(connection* c, unsigned status, clock_type::time_point due) {
    --in_flight_;
    if (c->ready())
      free_.push_back(c);
    auto now = clock_type::now();
    if (status == 0) {
      ++r_.errors;
    } else if (now > end_) {
      ++r_.late;
      if (status / 100 == 2)
        record(now - due);
    } else if (status / 100 == 2) {
      ++r_.ok;
      record(now - due);
    } else if (status == 503) {
      ++r_.shed;
    } else {
      ++r_.other;
    }
    send_due();
  }

  void connected(connection* c) {
    free_.push_back(c);
    ++ready_count_;
    if (start_ != clock_type::time_point{})
      send_due();
  }

private:
  void record(clock_type::duration latency) {
    r_.ok_latency_us.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(latency).count(), UINT32_MAX)));
  }

  /// Sends every request that is due, on free connections.
  void send_due() {
    auto now = clock_type::now();
    if (now >= end_)
      return;
    while (!free_.empty()) {
      clock_type::time_point due;
      if (o_.rate > 0) {
        if (next_ >= total_)
          return;
        due = start_ + std::chrono::duration_cast<clock_type::duration>(
                         std::chrono::duration<double>{static_cast<double>(next_) / o_.rate});
        if (due > now)
          return;  // the tick sends it
      } else {
        due = now;
      }
      auto* c = free_.back();
      free_.pop_back();
      ++in_flight_;
      c->send(requests_[next_ % requests_.size()], due);
      ++next_;
    }
  }

  void schedule_tick() {
    // Every 200 us: requests due between answers go out on time.
    tick_.expires_after(std::chrono::microseconds{200});
    tick_.async_wait([this](beast::error_code ec) {
      if (ec || clock_type::now() >= end_)
        return;
      send_due();
      schedule_tick();
    });
  }

  void report() {
    auto& lat = r_.ok_latency_us;
    auto pct = [&](double p) -> double {
      if (lat.empty())
        return 0;
      auto k = static_cast<std::size_t>(p * static_cast<double>(lat.size() - 1));
      std::nth_element(lat.begin(), lat.begin() + static_cast<std::ptrdiff_t>(k), lat.end());
      return lat[k] / 1000.0;
    };
    double p50 = pct(0.50);
    double p99 = pct(0.99);
    double max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()) / 1000.0;
    std::uint64_t unsent = o_.rate > 0 && next_ < total_ ? total_ - next_ : 0;
    std::printf("offered=%.0f sent=%.0f goodput=%.0f shed_rate=%.0f ok=%llu shed=%llu "
                "other=%llu errors=%llu late=%llu unsent=%llu p50_ms=%.3f p99_ms=%.3f "
                "max_ms=%.3f\n",
                o_.rate, static_cast<double>(next_) / o_.duration,
                static_cast<double>(r_.ok) / o_.duration,
                static_cast<double>(r_.shed) / o_.duration,
                static_cast<unsigned long long>(r_.ok), static_cast<unsigned long long>(r_.shed),
                static_cast<unsigned long long>(r_.other),
                static_cast<unsigned long long>(r_.errors),
                static_cast<unsigned long long>(r_.late),
                static_cast<unsigned long long>(unsent), p50, p99, max);
  }

  options o_;
  net::io_context io_{1};
  // Keeps run_one_for() from finding the context stopped when, for a moment,
  // nothing is pending.
  net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};
  net::steady_timer tick_;
  std::vector<std::string> requests_;
  std::vector<std::shared_ptr<connection>> connections_;
  std::vector<connection*> free_;  // connected and idle
  clock_type::time_point start_{};
  clock_type::time_point end_{};
  std::uint64_t total_ = 0;
  std::uint64_t next_ = 0;
  std::uint64_t in_flight_ = 0;
  int ready_count_ = 0;
  results r_;
};

void connection::connect(const tcp::endpoint& endpoint) {
  endpoint_ = endpoint;
  stream_.async_connect(endpoint, [self = shared_from_this()](beast::error_code ec) {
    if (ec) {
      std::fprintf(stderr, "troupe_bench_overload: connect: %s\n", ec.message().c_str());
      return;
    }
    beast::error_code ignored;
    self->stream_.socket().set_option(tcp::no_delay{true}, ignored);
    self->connected_ = true;
    self->owner_.connected(self.get());
  });
}

void connection::send(const std::string& request, clock_type::time_point due) {
  busy_ = true;
  due_ = due;
  net::async_write(stream_.socket(), net::buffer(request),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     if (ec) {
                       self->fail();
                       return;
                     }
                     self->parser_.emplace();
                     http::async_read(self->stream_, self->buffer_, *self->parser_,
                                      [self](beast::error_code ec, std::size_t) {
                                        self->on_read(ec);
                                      });
                   });
}

void connection::on_read(beast::error_code ec) {
  if (ec) {
    fail();
    return;
  }
  busy_ = false;
  bool keep = parser_->get().keep_alive();
  auto status = parser_->get().result_int();
  if (!keep) {
    // The node closed it (a refusal at its limits): open another.
    connected_ = false;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    connect(endpoint_);
  }
  owner_.completed(this, status, due_);
}

void connection::fail() {
  busy_ = false;
  connected_ = false;
  beast::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
  connect(endpoint_);
  owner_.completed(this, 0, due_);
}

} // namespace

int main(int argc, char** argv) {
  generator g{parse(argc, argv)};
  return g.run();
}
