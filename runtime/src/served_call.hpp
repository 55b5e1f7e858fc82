// The runtime's implementation of troupe::detail::call_state: one call an
// activation serves, and where its answer goes.
//
// A call starts as a frame on the stack of activation::serve(), pointing into
// the envelope in the actor's mailbox: a handler that answers before it
// returns costs no allocation and no copy of the envelope. The first share()
// (a promise, a copy of the call_context, a call to another service) moves the
// call to the heap, where the shares hold it; from then on the frame forwards
// to that copy, so everyone sees one answer.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "messages.hpp"
#include "reply_to.hpp"
#include "troupe/detail/call_state.hpp"
#include "troupe/runtime/envelope.hpp"

namespace troupe::runtime {

class activation;

class served_call : public detail::call_state,
                    public std::enable_shared_from_this<served_call> {
public:
  /// A frame for `env` and `reply`, which must outlive it (the handler's
  /// run); a share() moves both to the heap copy. `self` serves the call and
  /// outlives every share of it: a restart or passivation drops the handlers'
  /// continuations and promises first.
  served_call(activation& self, envelope& env, reply_to& reply) noexcept;

  /// Answers `internal` if nobody answered and nobody else holds the call:
  /// a handler that dropped its promise never leaves its caller waiting.
  ~served_call();

  served_call(const served_call&) = delete;
  served_call& operator=(const served_call&) = delete;

  const std::string& service() const noexcept override;
  const std::string& method() const noexcept override {
    return current().env_->method;
  }
  const std::string& key() const noexcept override {
    return current().env_->key;
  }
  const std::string& principal() const noexcept override {
    return current().env_->principal;
  }
  const std::string& traceparent() const noexcept override {
    return current().env_->traceparent;
  }
  std::chrono::system_clock::time_point deadline() const noexcept override;
  const std::string& instance() const noexcept override;
  const std::string& node() const noexcept override;

  const google::protobuf::MessageLite* request_object() const noexcept override {
    return current().env_->object.get();
  }

  void ok(std::string payload) override;
  void ok_object(std::shared_ptr<const google::protobuf::MessageLite> response) override;
  void fail(status error) override;
  bool done() const noexcept override {
    return current().answered_.load(std::memory_order_acquire);
  }

  void call_raw(std::string_view service, std::string_view method,
                std::string_view key,
                std::shared_ptr<const google::protobuf::MessageLite> request,
                std::chrono::system_clock::time_point deadline,
                detail::raw_callback done) override;

  void kv_get(std::string key, detail::kv_get_callback done) override;
  void kv_scan(std::string prefix, std::string after, std::uint32_t limit,
               detail::kv_scan_callback done) override;
  void kv_write(std::vector<detail::kv_op> ops, detail::kv_write_callback done) override;

  std::unique_ptr<google::protobuf::MessageLite>& request_slot(int method_index) override;

  std::shared_ptr<call_state> share() override;

protected:
  /// For the heap copy, which points env_ and reply_ at its own.
  served_call(activation& self, bool answered) noexcept;

  /// Answers `internal` unless answered.
  void answer_dropped();

  envelope* env_ = nullptr;   // the mailbox's envelope, or the heap copy's
  reply_to* reply_ = nullptr;

private:
  /// This call, or its heap copy once the frame was shared.
  const served_call& current() const noexcept {
    return heap_ ? *heap_ : *this;
  }
  served_call& current() noexcept {
    return heap_ ? *heap_ : *this;
  }

  /// Delivers `r` unless the call was answered already.
  void answer(reply_envelope&& r);

  activation* self_;
  std::atomic<bool> answered_;
  bool on_heap_;
  std::shared_ptr<served_call> heap_;  // a frame's copy, once shared
};

} // namespace troupe::runtime
