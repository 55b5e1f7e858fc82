#include "served_call.hpp"

#include <utility>

#include <google/protobuf/message_lite.h>

#include "activation.hpp"
#include "activation_host.hpp"
#include "reply_mapping.hpp"

namespace troupe::runtime {

namespace {

/// A served call after its frame was shared: owns what the frame pointed to.
class shared_call final : public served_call {
public:
  shared_call(activation& self, envelope&& env, reply_to&& reply, bool answered)
    : served_call(self, answered), env_copy_(std::move(env)), reply_copy_(std::move(reply)) {
    env_ = &env_copy_;
    reply_ = &reply_copy_;
  }

  ~shared_call() {
    // Before the members go: the last holder dropped an unanswered call.
    answer_dropped();
  }

private:
  envelope env_copy_;
  reply_to reply_copy_;
};

} // namespace

served_call::served_call(activation& self, envelope& env, reply_to& reply) noexcept
  : env_(&env), reply_(&reply), self_(&self), answered_(false), on_heap_(false) {
  // nop
}

served_call::served_call(activation& self, bool answered) noexcept
  : self_(&self), answered_(answered), on_heap_(true) {
  // nop
}

served_call::~served_call() {
  // A shared frame left its answer to the heap copy; the heap copy answered
  // in its own destructor.
  if (!heap_ && !on_heap_)
    answer_dropped();
}

void served_call::answer_dropped() {
  // Nothing else refers to the call any more: a plain load is enough.
  if (!answered_.load(std::memory_order_relaxed))
    answer(to_reply(status{status_code::internal, "the handler dropped its promise unanswered"}));
}

std::chrono::system_clock::time_point served_call::deadline() const noexcept {
  return std::chrono::system_clock::time_point{
    std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds{current().env_->deadline_unix_ns})};
}

const std::string& served_call::service() const noexcept {
  return self_->service_name();
}

const std::string& served_call::instance() const noexcept {
  return self_->instance_name();
}

const std::string& served_call::node() const noexcept {
  return self_->node_name();
}

void served_call::answer(reply_envelope&& r) {
  if (on_heap_) {
    // Shares may answer from any thread: the first one wins.
    if (answered_.exchange(true, std::memory_order_acq_rel))
      return;
  } else {
    // A frame is answered on its actor's thread only, while the handler runs.
    if (answered_.load(std::memory_order_relaxed))
      return;
    answered_.store(true, std::memory_order_relaxed);
  }
  self_->deliver(*reply_, std::move(r));
}

void served_call::ok(std::string payload) {
  current().answer(reply_envelope{0, 0, std::move(payload), {}, {}});
}

void served_call::ok_object(std::shared_ptr<const google::protobuf::MessageLite> response) {
  current().answer(reply_envelope{0, 0, {}, {}, std::move(response)});
}

void served_call::fail(status error) {
  current().answer(to_reply(error));
}

void served_call::call_raw(std::string_view service, std::string_view method,
                           std::string_view key,
                           std::shared_ptr<const google::protobuf::MessageLite> request,
                           std::chrono::system_clock::time_point deadline,
                           detail::raw_callback done) {
  const auto& origin = *current().env_;
  envelope env;
  env.method = std::string{method};
  env.key = std::string{key};
  env.object = std::move(request);
  env.traceparent = origin.traceparent;
  env.principal = origin.principal;
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           deadline.time_since_epoch())
                           .count();
  self_->call_service(service, std::move(env), std::move(done));
}

void served_call::kv_get(std::string key, detail::kv_get_callback done) {
  self_->host().kv_get(*self_, std::move(key), std::move(done));
}

void served_call::kv_scan(std::string prefix, std::string after, std::uint32_t limit,
                          detail::kv_scan_callback done) {
  self_->host().kv_scan(*self_, std::move(prefix), std::move(after), limit, std::move(done));
}

void served_call::kv_write(std::vector<detail::kv_op> ops, detail::kv_write_callback done) {
  self_->host().kv_write(*self_, std::move(ops), std::move(done));
}

std::unique_ptr<google::protobuf::MessageLite>&
served_call::request_slot(int method_index) {
  return self_->host().request_slot(method_index);
}

std::shared_ptr<detail::call_state> served_call::share() {
  if (heap_)
    return heap_;
  if (on_heap_)
    return shared_from_this();
  // Shares may answer after the handler returned. An answered call needs no
  // promise: taking one would hide the answer the handler left as its result.
  bool answered = answered_.load(std::memory_order_relaxed);
  if (!answered)
    reply_->keep_past_handler();
  heap_ = std::make_shared<shared_call>(*self_, std::move(*env_), std::move(*reply_),
                                        answered);
  return heap_;
}

} // namespace troupe::runtime
