// A value or the reason there is none: the subset of C++23 std::expected the
// gateway needs, until the toolchain has <expected>. Replace with std::expected
// (same names, same semantics) when the project moves to C++23.
#pragma once

#include <cassert>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace troupe::gateway {

template <class E>
class unexpected {
public:
  explicit unexpected(E error) : error_(std::move(error)) {
  }

  E& error() & noexcept {
    return error_;
  }
  E&& error() && noexcept {
    return std::move(error_);
  }

private:
  E error_;
};

template <class T, class E>
class expected {
public:
  template <class U = T,
            class = std::enable_if_t<std::is_constructible_v<T, U&&>>>
  expected(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {
  }

  template <class G>
  expected(unexpected<G> error)
    : state_(std::in_place_index<1>, std::move(error).error()) {
  }

  bool has_value() const noexcept {
    return state_.index() == 0;
  }
  explicit operator bool() const noexcept {
    return has_value();
  }

  T& value() & {
    assert(has_value());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(state_));
  }

  T& operator*() & {
    return value();
  }
  const T& operator*() const& {
    return value();
  }
  T&& operator*() && {
    return std::move(*this).value();
  }
  T* operator->() {
    return &value();
  }
  const T* operator->() const {
    return &value();
  }

  E& error() & {
    assert(!has_value());
    return std::get<1>(state_);
  }
  const E& error() const& {
    assert(!has_value());
    return std::get<1>(state_);
  }
  E&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(state_));
  }

private:
  std::variant<T, E> state_;
};

/// Success without a value, or the reason for the failure.
template <class E>
class expected<void, E> {
public:
  expected() = default;

  template <class G>
  expected(unexpected<G> error) : error_(std::in_place, std::move(error).error()) {
  }

  bool has_value() const noexcept {
    return !error_.has_value();
  }
  explicit operator bool() const noexcept {
    return has_value();
  }

  const E& error() const& {
    assert(!has_value());
    return *error_;
  }
  E&& error() && {
    assert(!has_value());
    return std::move(*error_);
  }

private:
  std::optional<E> error_;
};

} // namespace troupe::gateway
