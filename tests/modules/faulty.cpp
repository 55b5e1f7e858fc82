// The faulty test module: handlers that throw or block on purpose.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "faulty.troupe.h"

namespace {

using namespace test::faulty::v1;

/// Blocks the thread until `request.path()` exists or max_millis passed.
WaitReply wait_for_file(const WaitRequest& request) {
  auto limit = std::chrono::milliseconds{std::clamp(request.max_millis(), 0, 30'000)};
  auto until = std::chrono::steady_clock::now() + limit;
  WaitReply reply;
  for (;;) {
    std::error_code ec;
    if (!request.path().empty() && std::filesystem::exists(request.path(), ec)) {
      reply.set_released(true);
      return reply;
    }
    if (std::chrono::steady_clock::now() >= until)
      return reply;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

class FaultyService : public FaultyBase {
public:
  troupe::reply<OkReply> Ok(troupe::call_context&, const Empty&) override {
    OkReply reply;
    reply.set_ok(true);
    return reply;
  }

  troupe::reply<OkReply> Fail(troupe::call_context&, const Empty&) override {
    throw std::runtime_error{"faulty: secret internals /srv/faulty 0xdeadbeef"};
  }

  troupe::reply<OkReply> Forget(troupe::call_context& ctx, const Empty&) override {
    return ctx.make_promise<OkReply>();
  }

  troupe::reply<SlowReply> Slow(troupe::call_context&, const SlowRequest& request) override {
    auto millis = std::clamp(request.millis(), 0, 5000);
    std::this_thread::sleep_for(std::chrono::milliseconds{millis});
    SlowReply reply;
    reply.set_millis(millis);
    return reply;
  }
};

/// Counts the calls of one activation: a restart starts again from zero.
class FaultyKeyedService : public FaultyKeyedBase {
public:
  troupe::reply<CallCount> Fail(troupe::call_context&, const KeyedRequest&) override {
    ++calls_;
    throw std::runtime_error{"faulty-keyed: secret internals"};
  }

  troupe::reply<CallCount> Get(troupe::call_context&, const KeyedRequest&) override {
    CallCount reply;
    reply.set_calls(++calls_);
    return reply;
  }

  troupe::reply<CallCount> Relay(troupe::call_context& ctx, const RelayRequest& request) override {
    ++calls_;
    auto answer = ctx.make_promise<CallCount>();
    if (!request.wait_path().empty()) {
      WaitRequest wait;
      wait.set_path(request.wait_path());
      wait.set_max_millis(20'000);
      FaultyBlockingClient{ctx}.Wait(wait).then(
        [this, answer](WaitReply) {
          CallCount count;
          count.set_calls(calls_);
          answer.deliver(count);
        },
        [answer](troupe::status error) { answer.deliver(std::move(error)); });
      return answer;
    }
    if (request.slow_millis() > 0) {
      SlowRequest slow;
      slow.set_millis(request.slow_millis());
      // The continuation uses this object: it must never run after a restart
      // replaced it.
      FaultyClient{ctx}.Slow(slow).then(
        [this, answer](SlowReply) {
          CallCount count;
          count.set_calls(calls_);
          answer.deliver(count);
        },
        [answer](troupe::status error) { answer.deliver(std::move(error)); });
      return answer;
    }
    KeyedRequest get;
    get.set_key(request.target());
    FaultyKeyedClient{ctx}.Get(request.target(), get).then(
      [answer](CallCount count) { answer.deliver(count); },
      [answer](troupe::status error) { answer.deliver(std::move(error)); });
    return answer;
  }

  troupe::reply<WaitReply> Block(troupe::call_context&, const WaitRequest& request) override {
    ++calls_;
    auto reply = wait_for_file(request);
    reply.set_calls(calls_);
    return reply;
  }

  troupe::reply<CallInfo> Describe(troupe::call_context& ctx, const KeyedRequest& request) override {
    ++calls_;
    troupe::call_context copy = ctx;
    if (request.key() == "direct") {
      // Answered by the return value, through the handler's own context,
      // after the copy moved the call off the stack.
      CallInfo info;
      info.set_service(copy.service());
      info.set_method(copy.method());
      info.set_key(copy.key());
      info.set_instance(copy.instance());
      return info;
    }
    auto answer = copy.make_promise<CallInfo>();
    CallInfo info;
    // Through the handler's own context and through the copy: both must see
    // the one call.
    info.set_service(ctx.service());
    info.set_method(copy.method());
    info.set_key(ctx.key());
    info.set_instance(copy.instance());
    answer.deliver(info);
    // Answered through the copy: the handler's own context must see it, and
    // a second answer must be ignored. Either failing is a handler failure,
    // which the test sees in the service's stats.
    if (ctx.make_promise<CallInfo>().pending() || answer.pending())
      throw std::logic_error{"faulty-keyed: the call does not know it was answered"};
    CallInfo late;
    late.set_key("answered twice");
    answer.deliver(late);
    return answer;
  }

private:
  std::int32_t calls_ = 0;
};

/// A key's calls, for per-key supervision: a restart starts again from zero.
class FaultyKeysService : public FaultyKeysBase {
public:
  void on_activate(const std::string& key) override {
    if (key.starts_with("bad-start"))
      throw std::runtime_error{"faulty-keys: this key cannot start"};
  }

  troupe::reply<CallCount> Fail(troupe::call_context&, const KeyedRequest&) override {
    ++calls_;
    throw std::runtime_error{"faulty-keys: poison"};
  }

  troupe::reply<CallCount> Get(troupe::call_context&, const KeyedRequest&) override {
    CallCount reply;
    reply.set_calls(++calls_);
    return reply;
  }

private:
  std::int32_t calls_ = 0;
};

class FaultyBlockingService : public FaultyBlockingBase {
public:
  troupe::reply<WaitReply> Wait(troupe::call_context&, const WaitRequest& request) override {
    return wait_for_file(request);
  }
};

/// Counts the calls of one activation, like FaultyKeyed.
class FaultyBlockingKeyedService : public FaultyBlockingKeyedBase {
public:
  troupe::reply<WaitReply> Wait(troupe::call_context&, const WaitRequest& request) override {
    auto reply = wait_for_file(request);
    reply.set_calls(++calls_);
    return reply;
  }

private:
  std::int32_t calls_ = 0;
};

class FaultyCappedService : public FaultyCappedBase {
public:
  troupe::reply<CallCount> Get(troupe::call_context&, const KeyedRequest&) override {
    CallCount reply;
    reply.set_calls(++calls_);
    return reply;
  }

  troupe::reply<CallCount> Hold(troupe::call_context& ctx, const WaitRequest& request) override {
    ++calls_;
    auto answer = ctx.make_promise<CallCount>();
    WaitRequest wait = request;
    FaultyBlockingClient{ctx}.Wait(wait).then(
      [this, answer](WaitReply) {
        CallCount count;
        count.set_calls(calls_);
        answer.deliver(count);
      },
      [answer](troupe::status error) { answer.deliver(std::move(error)); });
    return answer;
  }

private:
  std::int32_t calls_ = 0;
};

} // namespace

TROUPE_MODULE("faulty", "1.0.0") {
  registrar.add_service<FaultyService>();
  registrar.add_service<FaultyKeyedService>();
  registrar.add_service<FaultyKeysService>();
  registrar.add_service<FaultyBlockingService>();
  registrar.add_service<FaultyBlockingKeyedService>();
  registrar.add_service<FaultyCappedService>();
}
