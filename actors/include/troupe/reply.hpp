// What a handler returns: a value now, an error now, or a promise that is kept
// later (after calling other services, for instance).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "troupe/detail/call_state.hpp"
#include "troupe/status.hpp"

namespace troupe {

/// The answer to one call, to be delivered later. Copies share one answer;
/// the first deliver() wins. Dropping every copy undelivered answers the caller
/// with `internal`.
template <class Response>
class promise {
public:
  explicit promise(std::shared_ptr<detail::call_state> call) : call_(std::move(call)) {
  }

  void deliver(const Response& value) const {
    deliver_to(*call_, value);
  }

  void deliver(status error) const {
    call_->fail(std::move(error));
  }

  bool pending() const noexcept {
    return !call_->done();
  }

  /// Answers `call` with `value`: the object itself to a caller that takes
  /// objects (one in this process), its bytes otherwise.
  template <class Value>
  static void deliver_to(detail::call_state& call, Value&& value) {
    if (call.request_object() != nullptr) {  // asked with an object
      call.ok_object(std::make_shared<const Response>(std::forward<Value>(value)));
      return;
    }
    std::string bytes;
    if (!value.SerializeToString(&bytes)) {
      call.fail(status{status_code::internal, "response could not be serialized"});
      return;
    }
    call.ok(std::move(bytes));
  }

private:
  std::shared_ptr<detail::call_state> call_;
};

template <class Response>
class reply {
public:
  // Two overloads rather than one by value: `return response;` in a handler
  // then moves the message once, not twice (a protobuf move constructs and
  // swaps).
  reply(Response&& value) : value_(std::in_place_index<0>, std::move(value)) {
  }
  reply(const Response& value) : value_(std::in_place_index<0>, value) {
  }

  /// An error. An OK status here is a handler bug and reaches the caller as
  /// `internal`.
  reply(status error) : value_(std::in_place_index<1>, std::move(error)) {
  }

  reply(promise<Response> later) : value_(std::in_place_index<2>, std::move(later)) {
  }

  /// Answers `call`, or leaves it to the promise.
  void complete(detail::call_state& call) && {
    switch (value_.index()) {
      case 0:
        promise<Response>::deliver_to(call, std::move(std::get<0>(value_)));
        break;
      case 1: {
        auto& err = std::get<1>(value_);
        if (err.is_ok())
          call.fail(status{status_code::internal, "handler returned no value"});
        else
          call.fail(std::move(err));
        break;
      }
      default:
        break;
    }
  }

private:
  std::variant<Response, status, promise<Response>> value_;
};

} // namespace troupe
