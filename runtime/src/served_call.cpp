#include "served_call.hpp"

#include <utility>

#include <google/protobuf/message_lite.h>

#include "activation.hpp"
#include "activation_host.hpp"
#include "reply_mapping.hpp"

namespace troupe::runtime {

served_call::served_call(activation& self, envelope& env, reply_to&& reply)
  : self_(&self), env_(&env), reply_(std::move(reply)), answered_(false) {
  // nop
}

served_call::served_call(activation& self, envelope env, reply_to reply,
                         bool answered)
  : self_(&self),
    owned_env_(std::move(env)),
    env_(&owned_env_),
    reply_(std::move(reply)),
    answered_(answered) {
  // nop
}

served_call::~served_call() {
  // A shared frame left its answer to the heap copy. Nothing else refers to
  // this call any more: a plain load is enough.
  if (!heap_ && !answered_.load(std::memory_order_relaxed))
    reply_.deliver(
      to_reply(status{status_code::internal, "the handler dropped its promise unanswered"}));
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

void served_call::answer(reply_envelope r) {
  if (!answered_.exchange(true, std::memory_order_acq_rel))
    reply_.deliver(std::move(r));
}

void served_call::ok(std::string payload) {
  current().answer(reply_envelope{0, std::move(payload), {}});
}

void served_call::fail(status error) {
  current().answer(to_reply(error));
}

void served_call::call_raw(std::string_view service, std::string_view method,
                           std::string_view key, std::string payload,
                           std::chrono::system_clock::time_point deadline,
                           detail::raw_callback done) {
  const auto& origin = *current().env_;
  envelope env;
  env.method = std::string{method};
  env.key = std::string{key};
  env.payload = std::move(payload);
  env.traceparent = origin.traceparent;
  env.principal = origin.principal;
  env.deadline_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           deadline.time_since_epoch())
                           .count();
  self_->call_service(service, std::move(env), std::move(done));
}

std::unique_ptr<google::protobuf::MessageLite>&
served_call::request_slot(int method_index) {
  return self_->host().request_slot(method_index);
}

std::shared_ptr<detail::call_state> served_call::share() {
  if (heap_)
    return heap_;
  if (env_ == &owned_env_)  // the heap copy itself
    return shared_from_this();
  heap_ = std::make_shared<served_call>(*self_, std::move(*env_), std::move(reply_),
                                        answered_.load(std::memory_order_relaxed));
  return heap_;
}

} // namespace troupe::runtime
