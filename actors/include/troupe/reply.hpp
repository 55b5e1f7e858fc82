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
  explicit promise(detail::reply_sink_ptr sink) : sink_(std::move(sink)) {
  }

  void deliver(const Response& value) const {
    std::string bytes;
    if (!value.SerializeToString(&bytes)) {
      sink_->fail(status{status_code::internal, "response could not be serialized"});
      return;
    }
    sink_->ok(std::move(bytes));
  }

  void deliver(status error) const {
    sink_->fail(std::move(error));
  }

  bool pending() const noexcept {
    return !sink_->done();
  }

private:
  detail::reply_sink_ptr sink_;
};

template <class Response>
class reply {
public:
  reply(Response value) : value_(std::in_place_index<0>, std::move(value)) {
  }

  /// An error. An OK status here is a handler bug and reaches the caller as
  /// `internal`.
  reply(status error) : value_(std::in_place_index<1>, std::move(error)) {
  }

  reply(promise<Response> later) : value_(std::in_place_index<2>, std::move(later)) {
  }

  /// Hands the answer to `sink`, or leaves it to the promise.
  void complete(const detail::reply_sink_ptr& sink) && {
    switch (value_.index()) {
      case 0:
        promise<Response>{sink}.deliver(std::get<0>(value_));
        break;
      case 1: {
        auto& err = std::get<1>(value_);
        if (err.is_ok())
          sink->fail(status{status_code::internal, "handler returned no value"});
        else
          sink->fail(std::move(err));
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
