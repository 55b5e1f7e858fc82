// The logger: a bounded queue that drops and counts rather than wait for its
// output, rate-limited repeats, and everything written at destruction. The
// output is a sink the test controls: it can hold the writer thread as a
// stderr pipe nobody reads would.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "troupe/runtime/logger.hpp"

using namespace std::chrono_literals;
using troupe::runtime::log_level;
using troupe::runtime::logger;
using troupe::runtime::logger_options;

namespace {

/// Collects what the writer writes, and can hold the writer inside the sink
/// until released. Shared with the sink, which may outlive the test's frame
/// (a writer left behind by the destructor).
struct output {
  std::mutex mutex;
  std::condition_variable changed;
  std::string text;
  bool held = false;
  bool writer_inside = false;

  std::function<void(std::string_view)> sink(std::shared_ptr<output> self) {
    return [self](std::string_view bytes) {
      std::unique_lock lock{self->mutex};
      self->writer_inside = true;
      self->changed.notify_all();
      self->changed.wait(lock, [&] { return !self->held; });
      self->text.append(bytes);
      self->writer_inside = false;
    };
  }

  void hold() {
    std::lock_guard lock{mutex};
    held = true;
  }

  void release() {
    std::lock_guard lock{mutex};
    held = false;
    changed.notify_all();
  }

  /// Waits (bounded) until the writer is held inside the sink.
  bool wait_writer_inside() {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, 10s, [&] { return writer_inside; });
  }

  std::vector<std::string> lines() {
    std::lock_guard lock{mutex};
    std::vector<std::string> result;
    std::string::size_type start = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      result.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return result;
  }
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::size_t count_with(const std::vector<std::string>& lines, const std::string& part) {
  std::size_t n = 0;
  for (const auto& line : lines)
    n += contains(line, part) ? 1 : 0;
  return n;
}

/// A clock the test moves by hand.
struct manual_clock {
  std::shared_ptr<std::atomic<std::chrono::steady_clock::rep>> ticks =
    std::make_shared<std::atomic<std::chrono::steady_clock::rep>>(1'000'000'000);

  std::function<std::chrono::steady_clock::time_point()> function() const {
    return [t = ticks] {
      return std::chrono::steady_clock::time_point{std::chrono::steady_clock::duration{t->load()}};
    };
  }
  void advance(std::chrono::steady_clock::duration d) const {
    ticks->fetch_add(d.count());
  }
};

/// The length of the line logging `message` at info writes.
std::size_t line_length(const std::string& message) {
  auto out = std::make_shared<output>();
  logger_options options;
  options.sink = out->sink(out);
  logger log{"n", log_level::info, options};
  log.info(message);
  REQUIRE(log.flush(10s));
  auto lines = out->lines();
  REQUIRE(lines.size() == 1);
  return lines.front().size() + 1;  // with its '\n'
}

} // namespace

TEST_CASE("logger: a line is one JSON object with ECS names, integers are numbers",
          "[runtime][logger]") {
  auto out = std::make_shared<output>();
  logger_options options;
  options.sink = out->sink(out);
  logger log{"node-7", log_level::info, options};
  log.info("hello \"world\"", {{"url.path", "/v1/x"}, {"http.response.status_code", 200}});
  log.debug("not at info");
  REQUIRE(log.flush(10s));
  auto lines = out->lines();
  REQUIRE(lines.size() == 1);
  CHECK(contains(lines[0], R"("log.level":"info")"));
  CHECK(contains(lines[0], R"("message":"hello \"world\"")"));
  CHECK(contains(lines[0], R"("service.node.name":"node-7")"));
  CHECK(contains(lines[0], R"("url.path":"/v1/x")"));
  CHECK(contains(lines[0], R"("http.response.status_code":200)"));
  CHECK(lines[0].front() == '{');
  CHECK(lines[0].back() == '}');
}

TEST_CASE("logger: while the output takes nothing, lines past the queue's bound are "
          "dropped and counted, and the count is logged once the writer catches up",
          "[runtime][logger]") {
  const auto length = line_length("line 000");
  const std::size_t fits = 10;
  auto out = std::make_shared<output>();
  logger_options options;
  options.sink = out->sink(out);
  options.queue_bytes = fits * length;
  logger log{"n", log_level::info, options};

  // The writer takes the first line and is held writing it.
  out->hold();
  log.info("first");
  REQUIRE(out->wait_writer_inside());

  // Logging does not wait: the queue takes `fits` lines, the rest are dropped.
  const std::size_t total = 25;
  for (std::size_t i = 0; i < total; ++i) {
    char message[16];
    std::snprintf(message, sizeof message, "line %03zu", i);
    log.info(message);
  }
  CHECK(log.dropped_lines() == total - fits);

  out->release();
  REQUIRE(log.flush(10s));
  auto lines = out->lines();
  INFO(out->lines().size() << " lines");
  REQUIRE(lines.size() == 1 + fits + 1);
  CHECK(contains(lines.front(), "first"));
  for (std::size_t i = 0; i < fits; ++i) {
    char message[16];
    std::snprintf(message, sizeof message, "line %03zu", i);
    CHECK(contains(lines[1 + i], message));
  }
  CHECK(contains(lines.back(), R"("message":"15 log lines dropped")"));
  CHECK(contains(lines.back(), R"("log.level":"warn")"));

  // Reported once: a later line comes without another report.
  log.info("after");
  REQUIRE(log.flush(10s));
  lines = out->lines();
  CHECK(count_with(lines, "log lines dropped") == 1);
  CHECK(contains(lines.back(), "after"));
  CHECK(log.dropped_lines() == total - fits);
}

TEST_CASE("logger: identical warnings within the window are written once, then "
          "reported as repeated",
          "[runtime][logger]") {
  auto out = std::make_shared<output>();
  manual_clock clock;
  logger_options options;
  options.sink = out->sink(out);
  options.clock = clock.function();
  options.rate_window = 1000ms;
  logger log{"n", log_level::info, options};

  for (int i = 0; i < 50; ++i)
    log.warn("http request refused", {{"client.address", "127.0.0.1:" + std::to_string(i)}});
  log.error("http request refused");  // another level: its own window
  for (int i = 0; i < 3; ++i)
    log.info("http request refused");  // info is never limited
  log.warn("another fault");
  REQUIRE(log.flush(10s));
  auto lines = out->lines();
  INFO(out->lines().size() << " lines");
  CHECK(count_with(lines, R"("message":"http request refused")") == 1 + 1 + 3);
  CHECK(count_with(lines, "127.0.0.1:0\"") == 1);  // the first one went out
  CHECK(count_with(lines, "repeated") == 0);       // the window is not over

  clock.advance(999ms);
  log.warn("http request refused");
  REQUIRE(log.flush(10s));
  CHECK(count_with(out->lines(), "repeated") == 0);

  clock.advance(1ms);
  REQUIRE(log.flush(10s));
  lines = out->lines();
  CHECK(count_with(lines, R"("message":"repeated 50 times: http request refused")") == 1);
  CHECK(count_with(lines, R"("troupe.log.repeats":50)") == 1);
  CHECK(count_with(lines, "repeated") == 1);  // nothing for the error and the other warning

  // A new window: the next one goes out again.
  log.warn("http request refused");
  REQUIRE(log.flush(10s));
  CHECK(count_with(out->lines(), R"("message":"http request refused")") == 1 + 1 + 3 + 1);
}

TEST_CASE("logger: a repeat arriving after its window ended reports the window first",
          "[runtime][logger]") {
  auto out = std::make_shared<output>();
  manual_clock clock;
  logger_options options;
  options.sink = out->sink(out);
  options.clock = clock.function();
  logger log{"n", log_level::info, options};
  // Held, so that the writer does not close the window itself.
  out->hold();
  log.warn("boom");
  REQUIRE(out->wait_writer_inside());
  log.warn("boom");
  log.warn("boom");
  clock.advance(2s);
  log.warn("boom");
  out->release();
  REQUIRE(log.flush(10s));
  auto lines = out->lines();
  INFO(out->lines().size() << " lines");
  REQUIRE(lines.size() == 3);
  CHECK(contains(lines[0], R"("message":"boom")"));
  CHECK(contains(lines[1], R"("message":"repeated 2 times: boom")"));
  CHECK(contains(lines[2], R"("message":"boom")"));
}

TEST_CASE("logger: destruction writes every queued line and the pending repeat counts",
          "[runtime][logger]") {
  auto out = std::make_shared<output>();
  {
    logger_options options;
    options.sink = out->sink(out);
    logger log{"n", log_level::info, options};
    out->hold();
    log.info("first");
    REQUIRE(out->wait_writer_inside());
    for (int i = 0; i < 1000; ++i)
      log.info("queued", {{"i", i}});
    for (int i = 0; i < 4; ++i)
      log.error("same fault");
    out->release();
  }
  auto lines = out->lines();
  CHECK(count_with(lines, R"("message":"queued")") == 1000);
  CHECK(count_with(lines, R"("message":"repeated 3 times: same fault")") == 1);
}

TEST_CASE("logger: an output that takes nothing holds destruction only for its grace",
          "[runtime][logger]") {
  auto out = std::make_shared<output>();
  {
    logger_options options;
    options.sink = out->sink(out);
    options.exit_grace = 50ms;
    logger log{"n", log_level::info, options};
    out->hold();
    log.info("stuck");
    REQUIRE(out->wait_writer_inside());
    log.info("never written");
  }  // returns although the writer is still held (else: the test's TIMEOUT)
  CHECK(count_with(out->lines(), "never written") == 0);
  out->release();  // the writer left behind finishes on its own
}

TEST_CASE("logger: past the bound on messages being rate-limited, new messages go out "
          "unlimited",
          "[runtime][logger]") {
  auto out = std::make_shared<output>();
  manual_clock clock;
  logger_options options;
  options.sink = out->sink(out);
  options.clock = clock.function();
  options.rate_limited_messages = 2;
  logger log{"n", log_level::info, options};
  for (int i = 0; i < 3; ++i) {
    log.warn("first fault");
    log.warn("second fault");
    log.warn("third fault");  // no room to track it
  }
  REQUIRE(log.flush(10s));
  auto lines = out->lines();
  CHECK(count_with(lines, R"("message":"first fault")") == 1);
  CHECK(count_with(lines, R"("message":"second fault")") == 1);
  CHECK(count_with(lines, R"("message":"third fault")") == 3);

  // Once the windows are over their room is free again.
  clock.advance(1s);
  REQUIRE(log.flush(10s));
  for (int i = 0; i < 3; ++i)
    log.warn("third fault");
  REQUIRE(log.flush(10s));
  CHECK(count_with(out->lines(), R"("message":"third fault")") == 3 + 1);
}
