#include "activation.hpp"

#include <atomic>
#include <chrono>

#include "activation_host.hpp"
#include "crash_report.hpp"
#include "reply_mapping.hpp"
#include "served_call.hpp"
#include "troupe/call_context.hpp"

namespace troupe::runtime {

namespace {

/// Requests larger than this do not stay behind in the host's request slots.
constexpr size_t max_kept_request = 64 * 1024;

} // namespace

activation::activation(activation_host& host, const service_entry& entry,
                       std::string key, std::string instance_name)
  : host_(&host),
    entry_(&entry),
    key_(std::move(key)),
    instance_name_(std::move(instance_name)) {
  start_service();
}

const std::string& activation::instance_name() const {
  if (instance_name_.empty())
    instance_name_ = node_name() + "/" + entry_->name + "[" + key_ + "]";
  return instance_name_;
}

const std::string& activation::node_name() const noexcept {
  return host_->node_name();
}

bool activation::start_service() {
  incarnation_ = host_->next_incarnation();
  running_call running{entry_->name, "on_activate", key_};
  try {
    impl_ = entry_->definition.factory();
    impl_->on_activate(key_);
    return true;
  } catch (const std::exception& e) {
    handle_failure("on_activate", e.what());
  } catch (...) {
    handle_failure("on_activate", "unknown exception");
  }
  return false;
}

void activation::receive(envelope& env, reply_to&& rp) {
  ++received_;
  auto& stats = *entry_->stats;
  host_->count_call();
  if (stats.failed.load(std::memory_order_relaxed)) {
    // The whole service failed: no activation serves until an operator
    // resets it, new ones included.
    mode_ = mode::gave_up;
    rp.deliver(to_reply(service_failed(entry_->name)));
    return;
  }
  if (mode_ == mode::gave_up) {
    // An operator reset the service: start afresh (a failing start switches
    // the mode again).
    mode_ = mode::running;
    start_service();
  } else if (mode_ == mode::quarantined) {
    if (auto left = host_->quarantine_left(key_); left.count() > 0) {
      rp.deliver(key_quarantined(left));
      return;
    }
    // The quarantine is over (or an operator reset the service): a fresh
    // service object, as for a key never seen.
    mode_ = mode::running;
    start_service();
  }
  switch (mode_) {
    case mode::running:
      serve(env, std::move(rp));
      break;
    case mode::backing_off:
      if (!stash_)
        stash_ = std::make_unique<std::deque<stashed_call>>();
      if (stash_->size() >= host_->node_bounds().max_mailbox()) {
        // What waits for the restart is bounded like a mailbox.
        host_->count_shed(shed_reason::mailbox);
        rp.deliver(host_->node_bounds().shed_reply(shed_reason::mailbox, *entry_));
        break;
      }
      rp.keep_past_handler();
      stash_->emplace_back(std::move(env), std::move(rp));
      break;
    case mode::gave_up:
      rp.deliver(to_reply(service_failed(entry_->name)));
      break;
    case mode::quarantined:
      // The fresh start above failed at once and was quarantined again.
      rp.deliver(key_quarantined(host_->quarantine_left(key_)));
      break;
  }
}

void activation::serve(envelope& env, reply_to&& rp) {
  // A coarse clock (a few ms) is enough to drop calls that waited too long,
  // and costs a fraction of a precise one on every call.
  if (too_late_to_start(env.deadline_unix_ns)) {
    rp.deliver(to_reply(deadline_passed()));
    return;
  }
  // How long the handler holds the thread, by the coarse clock too: the
  // threshold is tens of milliseconds at least.
  auto started = steady_coarse_now_ns();
  // The handler may move the envelope's fields away (see served_call::share):
  // keep the request bytes here.
  std::string payload = std::move(env.payload);
  served_call call{*this, env, rp};
  call_context ctx{call};
  running_call running{entry_->name, env.method, key_};
  try {
    impl_->dispatch(ctx, env.method, payload);
  } catch (const std::exception& e) {
    // Supervision first: whoever sees the 500 sees the restart counted.
    handle_failure(ctx.method().c_str(), e.what());
    call.fail(status{status_code::internal, "the handler failed"});
  } catch (...) {
    handle_failure(ctx.method().c_str(), "unknown exception");
    call.fail(status{status_code::internal, "the handler failed"});
  }
  if (payload.size() > max_kept_request)
    host_->release_request_slots();
  auto took = steady_coarse_now_ns() - started;
  if (took > host_->node_bounds().slow_handler_threshold_ns() && !entry_->blocking)
    host_->report_slow(ctx.method(), took);
}

void activation::handle_failure(const char* where, const char* what) {
  auto& stats = *entry_->stats;
  stats.failures.fetch_add(1, std::memory_order_relaxed);
  // The service object may be in any state after a throw: drop it, and with
  // it the continuations of the calls it made (continue_with skips them).
  impl_.reset();
  auto decision = host_->on_failure(*this);
  switch (decision.what) {
    case supervision_decision::action::give_up:
      stats.failed.store(true);
      mode_ = mode::gave_up;
      host_->log().error("service failed: " + std::string{decision.reason} + ", giving up",
                         {{"troupe.service", entry_->name},
                          {"troupe.instance", instance_name()},
                          {"troupe.handler", where},
                          {"error.message", what}});
      answer_stash(to_reply(service_failed(entry_->name)));
      return;
    case supervision_decision::action::quarantine:
      // The activation stays, without a service object, refusing the key's
      // calls until the quarantine ends (idle_since_last_check keeps it).
      mode_ = mode::quarantined;
      host_->log().warn("key quarantined after repeated failures",
                        {{"troupe.service", entry_->name},
                         {"troupe.key", key_},
                         {"troupe.handler", where},
                         {"error.message", what},
                         {"troupe.quarantine_ms", std::to_string(decision.delay.count())}});
      answer_stash(key_quarantined(decision.delay));
      return;
    case supervision_decision::action::restart:
      break;
  }
  stats.restarts.fetch_add(1, std::memory_order_relaxed);
  mode_ = mode::backing_off;
  host_->log().warn("handler failed, restarting",
                    {{"troupe.service", entry_->name},
                     {"troupe.instance", instance_name()},
                     {"troupe.handler", where},
                     {"error.message", what},
                     {"troupe.backoff_ms", std::to_string(decision.delay.count())}});
  host_->schedule_restart(*this, decision.delay);
}

void activation::restart(std::uint64_t incarnation) {
  if (mode_ != mode::backing_off || incarnation != incarnation_)
    return;
  if (entry_->stats->failed.load()) {
    mode_ = mode::gave_up;
    answer_stash(to_reply(service_failed(entry_->name)));
    return;
  }
  mode_ = mode::running;
  if (!start_service())
    return;
  // Serve what arrived during the back-off, in order, unless a handler fails
  // again (then the rest waits for the next restart).
  while (mode_ == mode::running && stash_ && !stash_->empty()) {
    auto [env, rp] = std::move(stash_->front());
    stash_->pop_front();
    serve(env, std::move(rp));
  }
  if (stash_ && stash_->empty())
    stash_.reset();
}

bool activation::idle_since_last_check() noexcept {
  bool idle = received_ == received_at_check_ && mode_ != mode::backing_off
              && pending_calls_ == 0
              && (mode_ != mode::quarantined || host_->quarantine_left(key_).count() == 0);
  received_at_check_ = received_;
  return idle;
}

bool activation::passivatable() noexcept {
  return mode_ != mode::backing_off && pending_calls_ == 0
         && (mode_ != mode::quarantined || host_->quarantine_left(key_).count() == 0);
}

void activation::stop(const status& for_stashed) {
  if (impl_) {
    try {
      running_call running{entry_->name, "on_passivate", key_};
      impl_->on_passivate();
    } catch (...) {
      // The activation is going away; nothing useful can be done with the
      // error.
    }
    impl_.reset();
  }
  answer_stash(to_reply(for_stashed));
}

void activation::answer_stash(const reply_envelope& answer) {
  if (!stash_)
    return;
  for (auto& [env, rp] : *stash_)
    rp.deliver(reply_envelope{answer});
  stash_.reset();
}

void activation::call_service(std::string_view service, envelope env,
                              detail::raw_callback done) {
  ++pending_calls_;
  host_->call_service(*this, service, std::move(env), std::move(done));
}

} // namespace troupe::runtime
