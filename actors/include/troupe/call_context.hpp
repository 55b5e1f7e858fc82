// What a handler gets besides its request: who is calling, for which key, by
// when the answer is due, and the means to call other services without
// blocking a thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>

#include <google/protobuf/message_lite.h>

#include "troupe/detail/call_state.hpp"
#include "troupe/key_value.hpp"
#include "troupe/reply.hpp"
#include "troupe/status.hpp"

namespace troupe {

/// A call to another service, sent when then() is called. Both callbacks run
/// later on the calling actor, never concurrently with its handlers.
template <class Response>
class pending {
public:
  using value_handler = std::function<void(Response)>;
  using error_handler = std::function<void(status)>;

  pending(std::shared_ptr<detail::call_state> state, std::string service,
          std::string method, std::string key,
          std::shared_ptr<const google::protobuf::MessageLite> request,
          std::chrono::system_clock::time_point deadline)
    : state_(std::move(state)),
      service_(std::move(service)),
      method_(std::move(method)),
      key_(std::move(key)),
      request_(std::move(request)),
      deadline_(deadline) {
  }

  void then(value_handler on_value, error_handler on_error) && {
    auto done = [on_value = std::move(on_value),
                 on_error = std::move(on_error)](status st, detail::raw_response r) {
      if (!st.is_ok()) {
        on_error(std::move(st));
        return;
      }
      Response response;
      if (r.object != nullptr && typeid(*r.object) == typeid(Response)) {
        response = static_cast<const Response&>(*r.object);
      } else {
        if (r.object != nullptr)  // another class for the type: through its bytes
          r.payload = r.object->SerializeAsString();
        if (!response.ParseFromString(r.payload)) {
          on_error(status{status_code::internal, "malformed response"});
          return;
        }
      }
      on_value(std::move(response));
    };
    state_->call_raw(service_, method_, key_, std::move(request_), deadline_,
                     std::move(done));
  }

private:
  std::shared_ptr<detail::call_state> state_;
  std::string service_;
  std::string method_;
  std::string key_;
  std::shared_ptr<const google::protobuf::MessageLite> request_;
  std::chrono::system_clock::time_point deadline_;
};

/// What a handler knows of its call, and the means to answer it later or to
/// call other services. Copy it into continuations that make further calls:
/// copies share the call (the first copy of a handler's context moves the
/// call's state to the heap, so handlers that answer at once allocate
/// nothing).
class call_context {
public:
  /// The context a handler gets: refers to `state` without owning it.
  explicit call_context(detail::call_state& state) noexcept : state_(&state) {
  }

  explicit call_context(std::shared_ptr<detail::call_state> state) noexcept
    : owner_(std::move(state)), state_(owner_.get()) {
  }

  call_context(const call_context& other)
    : owner_(other.state_->share()), state_(owner_.get()) {
  }

  // Moving a handler's own context must not hand out a reference to a state
  // that ends with the handler: a move from it shares, as a copy does.
  call_context(call_context&& other)
    : owner_(other.owner_ ? std::move(other.owner_) : other.state_->share()),
      state_(owner_.get()) {
  }

  call_context& operator=(const call_context& other) {
    if (this != &other) {
      owner_ = other.state_->share();
      state_ = owner_.get();
    }
    return *this;
  }

  call_context& operator=(call_context&& other) {
    if (this != &other) {
      owner_ = other.owner_ ? std::move(other.owner_) : other.state_->share();
      state_ = owner_.get();
    }
    return *this;
  }

  /// The fully qualified name of the service being called.
  const std::string& service() const noexcept {
    return state_->service();
  }
  const std::string& method() const noexcept {
    return state_->method();
  }
  /// The actor key of a keyed service; empty for stateless services.
  const std::string& key() const noexcept {
    return state_->key();
  }
  /// The authenticated caller; empty for anonymous calls.
  const std::string& principal() const noexcept {
    return state_->principal();
  }
  /// W3C trace context of the call ("traceparent" header value).
  const std::string& traceparent() const noexcept {
    return state_->traceparent();
  }
  std::chrono::system_clock::time_point deadline() const noexcept {
    return state_->deadline();
  }
  /// The actor serving this call, e.g. "node-1/demo.greeter.v1.Greeter#2".
  const std::string& instance() const noexcept {
    return state_->instance();
  }
  const std::string& node() const noexcept {
    return state_->node();
  }

  /// Defers the answer: return the promise from the handler and deliver it
  /// later, typically from the continuation of call().
  template <class Response>
  promise<Response> make_promise() const {
    return promise<Response>{state_->share()};
  }

  /// Calls `method` of `service`; `key` addresses a keyed service's actor and is
  /// empty for stateless ones. The call carries this call's deadline, shortened
  /// to `timeout` from now when that is given and sooner.
  template <class Response, class Request>
  pending<Response> call(std::string_view service, std::string_view method,
                         std::string_view key, const Request& request,
                         std::chrono::milliseconds timeout = {}) const {
    auto deadline = state_->deadline();
    if (timeout.count() > 0)
      deadline = std::min(deadline, std::chrono::system_clock::now() + timeout);
    // The callee gets this copy itself when it is in this process (no
    // serialization, no parse), its bytes otherwise.
    return pending<Response>{state_->share(),
                             std::string{service},
                             std::string{method},
                             std::string{key},
                             std::make_shared<const Request>(request),
                             deadline};
  }

  /// The service's key-value storage (troupe/key_value.hpp): STATELESS
  /// services that declare `kv` in their options. Its operations fail with
  /// failed_precondition for any other service.
  key_value kv() const {
    return key_value{state_->share()};
  }

  /// The call itself, for generated code.
  detail::call_state& state() const noexcept {
    return *state_;
  }

private:
  std::shared_ptr<detail::call_state> owner_;  // empty in a handler's own context
  detail::call_state* state_;
};

} // namespace troupe
