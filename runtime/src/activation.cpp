#include "activation.hpp"

#include <atomic>
#include <chrono>


#include "messages.hpp"
#include "reply_mapping.hpp"
#include "service_directory.hpp"
#include "troupe/call_context.hpp"

namespace troupe::runtime {

namespace {

constexpr size_t max_stash = 10'000;

/// Delivers a handler's answer through CAF's response promise, exactly once.
class promise_sink final : public detail::reply_sink {
public:
  explicit promise_sink(reply_to reply) : reply_(std::move(reply)) {
  }

  ~promise_sink() override {
    if (!done_.exchange(true))
      reply_.deliver(to_reply(status{status_code::internal,
                                     "the handler dropped its promise unanswered"}));
  }

  void ok(std::string payload) override {
    if (!done_.exchange(true))
      reply_.deliver(reply_envelope{0, std::move(payload), {}});
  }

  void fail(status error) override {
    if (!done_.exchange(true))
      reply_.deliver(to_reply(error));
  }

  bool done() const noexcept override {
    return done_.load();
  }

private:
  reply_to reply_;
  std::atomic<bool> done_{false};
};

/// One call as the handler sees it. Lives as long as the handler or its
/// continuations hold the call_context.
class actor_call_state final : public detail::call_state {
public:
  actor_call_state(activation* self, envelope& env, detail::reply_sink_ptr sink)
    : self_(self), sink_(std::move(sink)) {
    info_.service = std::move(env.service);
    info_.method = std::move(env.method);
    info_.key = std::move(env.key);
    info_.principal = std::move(env.principal);
    info_.traceparent = std::move(env.traceparent);
    info_.deadline = std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds{env.deadline_unix_ns})};
  }

  const detail::call_info& info() const noexcept override {
    return info_;
  }
  const std::string& instance() const noexcept override {
    return self_->instance_name();
  }
  const std::string& node() const noexcept override {
    return self_->node_name();
  }
  const detail::reply_sink_ptr& sink() const noexcept override {
    return sink_;
  }

  void call_raw(std::string_view service, std::string_view method,
                std::string_view key, std::string payload,
                std::chrono::system_clock::time_point deadline,
                detail::raw_callback done) override {
    envelope env;
    env.service = std::string{service};
    env.method = std::string{method};
    env.key = std::string{key};
    env.payload = std::move(payload);
    env.traceparent = info_.traceparent;
    env.principal = info_.principal;
    env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             deadline.time_since_epoch())
                             .count();
    self_->call_service(std::move(env), std::move(done));
  }

private:
  activation* self_;
  detail::reply_sink_ptr sink_;
  detail::call_info info_;
};

} // namespace

activation::activation(caf::actor_config& cfg, activation_args args)
  : caf::event_based_actor(cfg), args_(std::move(args)) {
  // nop
}

template <class F>
void activation::guarded(const char* where, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    handle_failure(where, e.what());
  } catch (...) {
    handle_failure(where, "unknown exception");
  }
}

caf::behavior activation::make_behavior() {
  start_service();
  if (args_.entry->kind == service_kind::keyed)
    delayed_send(this, args_.entry->idle_timeout, idle_check_atom::value);
  return {
    [this](envelope& env) {
      // Taking the promise marks the request answered; serve() delivers it.
      receive(env, reply_to{make_response_promise()});
    },
    [this](local_call& call) { receive(call.env, reply_to{std::move(call.done)}); },
    [this](restart_atom) { restart(); },
    [this](deferred_work& work) { guarded("continuation", work.fn); },
    [this](expire_atom) {
      deadlines_.timer_fired();
      deadlines_.expire(unix_now_ns());
      arm_deadline_timer();
    },
    [this](idle_check_atom) { check_idle(); },
    [this](passivate_atom) { quit(); },
  };
}

void activation::check_idle() {
  // Passivate only with nothing pending; the shard agrees only if it
  // forwarded no envelope since (received_ counts them).
  if (received_ == received_at_check_ && mode_ == mode::running && stash_.empty()
      && deadlines_.pending() == 0)
    send(args_.shard, idle_atom::value, args_.key, received_);
  received_at_check_ = received_;
  delayed_send(this, args_.entry->idle_timeout, idle_check_atom::value);
}

void activation::arm_deadline_timer() {
  if (auto delay = deadlines_.timer_to_arm(unix_now_ns()))
    delayed_send(this, *delay, expire_atom::value);
}

void activation::on_exit() {
  if (impl_) {
    try {
      impl_->on_passivate();
    } catch (...) {
      // The actor is going away; nothing useful can be done with the error.
    }
    impl_.reset();
  }
  answer_stash(status{status_code::unavailable, "the service instance stopped"});
  if (args_.entry->kind == service_kind::keyed)
    args_.entry->stats->active_actors.fetch_sub(1, std::memory_order_relaxed);
}

bool activation::start_service() {
  try {
    impl_ = args_.entry->definition.factory();
    impl_->on_activate(args_.key);
    return true;
  } catch (const std::exception& e) {
    handle_failure("on_activate", e.what());
  } catch (...) {
    handle_failure("on_activate", "unknown exception");
  }
  return false;
}

void activation::receive(envelope& env, reply_to rp) {
  ++received_;
  auto& stats = *args_.entry->stats;
  stats.calls.fetch_add(1, std::memory_order_relaxed);
  if (mode_ == mode::gave_up && !stats.failed.load()) {
    // An operator reset the service: start afresh (a failing start switches
    // the mode again).
    mode_ = mode::running;
    start_service();
  }
  switch (mode_) {
    case mode::running:
      serve(env, std::move(rp));
      break;
    case mode::backing_off:
      if (stash_.size() >= max_stash) {
        rp.deliver(to_reply(status{status_code::unavailable,
                                   "the service instance is restarting"}));
        break;
      }
      stash_.emplace_back(std::move(env), std::move(rp));
      break;
    case mode::gave_up:
      rp.deliver(to_reply(service_failed(args_.entry->name)));
      break;
  }
}

void activation::serve(envelope& env, reply_to rp) {
  if (env.deadline_unix_ns != 0 && unix_now_ns() > env.deadline_unix_ns) {
    rp.deliver(to_reply(deadline_passed()));
    return;
  }
  auto method = env.method;  // env's strings move into the call state
  std::string payload = std::move(env.payload);
  auto sink = std::make_shared<promise_sink>(std::move(rp));
  call_context ctx{std::make_shared<actor_call_state>(this, env, sink)};
  try {
    impl_->dispatch(ctx, method, payload);
  } catch (const std::exception& e) {
    // Supervision first: whoever sees the 500 sees the restart counted.
    handle_failure(method.c_str(), e.what());
    sink->fail(status{status_code::internal, "the handler failed"});
  } catch (...) {
    handle_failure(method.c_str(), "unknown exception");
    sink->fail(status{status_code::internal, "the handler failed"});
  }
}

void activation::handle_failure(const char* where, const char* what) {
  auto& stats = *args_.entry->stats;
  stats.failures.fetch_add(1, std::memory_order_relaxed);
  // The service object may be in any state after a throw: drop it.
  impl_.reset();
  auto decision = args_.entry->tracker->on_failure(restart_tracker::clock::now());
  if (decision.give_up) {
    stats.failed.store(true);
    mode_ = mode::gave_up;
    args_.log->error("service failed: too many restarts, giving up",
                     {{"troupe.service", args_.entry->name},
                      {"troupe.instance", args_.instance_name},
                      {"troupe.handler", where},
                      {"error.message", what}});
    answer_stash(service_failed(args_.entry->name));
    return;
  }
  stats.restarts.fetch_add(1, std::memory_order_relaxed);
  mode_ = mode::backing_off;
  args_.log->warn("handler failed, restarting",
                  {{"troupe.service", args_.entry->name},
                   {"troupe.instance", args_.instance_name},
                   {"troupe.handler", where},
                   {"error.message", what},
                   {"troupe.backoff_ms", std::to_string(decision.delay.count())}});
  delayed_send(this, decision.delay, restart_atom::value);
}

void activation::restart() {
  if (mode_ != mode::backing_off)
    return;
  if (args_.entry->stats->failed.load()) {
    mode_ = mode::gave_up;
    answer_stash(service_failed(args_.entry->name));
    return;
  }
  mode_ = mode::running;
  if (!start_service())
    return;
  // Serve what arrived during the back-off, in order, unless a handler fails
  // again (then the rest waits for the next restart).
  while (mode_ == mode::running && !stash_.empty()) {
    auto [env, rp] = std::move(stash_.front());
    stash_.pop_front();
    serve(env, std::move(rp));
  }
}

void activation::answer_stash(const status& st) {
  for (auto& [env, rp] : stash_)
    rp.deliver(to_reply(st));
  stash_.clear();
}

void activation::call_service(envelope env, detail::raw_callback done) {
  auto target = args_.directory->resolve(env.service, env.key);
  if (!target.error.is_ok()) {
    // Answer later, on this actor, as a reply would arrive.
    auto err = target.error;
    send(this, deferred_work{[done = std::move(done), err]() mutable {
           done(std::move(err), {});
         }});
    return;
  }
  if (env.deadline_unix_ns <= unix_now_ns()) {
    send(this, deferred_work{[done = std::move(done)]() mutable {
           done(deadline_passed(), {});
         }});
    return;
  }
  auto shared_done = std::make_shared<detail::raw_callback>(std::move(done));
  auto id = deadlines_.add(env.deadline_unix_ns, [this, shared_done] {
    guarded("continuation", [&] {
      (*shared_done)(deadline_passed(), {});
    });
  });
  arm_deadline_timer();
  request(target.actor, caf::infinite, std::move(env))
    .then(
      [this, shared_done, id](reply_envelope& r) {
        if (deadlines_.complete(id))
          guarded("continuation",
                  [&] { (*shared_done)(to_status(r), std::move(r.payload)); });
      },
      [this, shared_done, id](caf::error& err) {
        if (deadlines_.complete(id))
          guarded("continuation", [&] { (*shared_done)(to_status(err), {}); });
      });
}

} // namespace troupe::runtime
