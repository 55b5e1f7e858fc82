// Key-value storage for a STATELESS service that declares it
// (`option (troupe.service) = {kind: STATELESS, kv: {}}`): keys and values of
// bytes (or protobuf messages) in the service's own namespace of the node's
// state store, reached from a handler through ctx.kv():
//
//   auto answer = ctx.make_promise<Profile>();
//   ctx.kv().get<Profile>("user/" + request.id())
//     .then([answer](std::optional<Profile> p) {
//             if (p) answer.deliver(*p);
//             else answer.deliver(troupe::status{troupe::status_code::not_found, "no such user"});
//           },
//           [answer](troupe::status e) { answer.deliver(std::move(e)); });
//   return answer;
//
// Every operation is asynchronous: it is sent when then() is called, and
// both callbacks run later on the actor that asked, never concurrently with
// its handlers (as those of ctx.call do); a thread never waits for the
// store. A write is acknowledged once it is as durable as the service's
// kv durability says (SYNC: on disk). kv_batch writes several keys
// atomically: all or none. Conditional writes (put_if, erase_if) happen
// only when the key is at the version given (0: absent), and fail with
// `aborted` otherwise: a read-modify-write that lost a race can retry.
//
// Bounds (kv_types.hpp): keys of 1 to 1024 bytes, values up to 1 MiB, scans
// of at most 1000 entries per page (continue from the page's `next`),
// batches of at most 1000 operations.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "troupe/detail/call_state.hpp"
#include "troupe/kv_types.hpp"
#include "troupe/status.hpp"

namespace troupe {

namespace detail {

template <class T>
struct kv_value_handler {
  using type = std::function<void(T)>;
};
template <>
struct kv_value_handler<void> {
  using type = std::function<void()>;
};

} // namespace detail

/// One key-value operation, sent when then() is called.
template <class T>
class kv_pending {
public:
  using value_handler = typename detail::kv_value_handler<T>::type;
  using error_handler = std::function<void(status)>;
  using launcher = std::function<void(detail::call_state&, value_handler, error_handler)>;

  kv_pending(std::shared_ptr<detail::call_state> call, launcher launch)
    : call_(std::move(call)), launch_(std::move(launch)) {
  }

  void then(value_handler on_value, error_handler on_error) && {
    launch_(*call_, std::move(on_value), std::move(on_error));
  }

private:
  std::shared_ptr<detail::call_state> call_;
  launcher launch_;
};

/// Several writes committed atomically; made by key_value::batch().
class kv_batch {
public:
  explicit kv_batch(std::shared_ptr<detail::call_state> call) : call_(std::move(call)) {
  }

  kv_batch& put(std::string key, std::string value) {
    return add(detail::kv_op::kind::put, std::move(key), std::move(value), std::nullopt);
  }
  kv_batch& put(std::string key, const google::protobuf::MessageLite& value) {
    return put(std::move(key), value.SerializeAsString());
  }
  /// Puts only when `key` is at `version` (0: absent).
  kv_batch& put_if(std::string key, std::string value, std::uint64_t version) {
    return add(detail::kv_op::kind::put, std::move(key), std::move(value), version);
  }
  kv_batch& put_if(std::string key, const google::protobuf::MessageLite& value,
                   std::uint64_t version) {
    return put_if(std::move(key), value.SerializeAsString(), version);
  }
  kv_batch& erase(std::string key) {
    return add(detail::kv_op::kind::erase, std::move(key), {}, std::nullopt);
  }
  /// Erases only when `key` is at `version`.
  kv_batch& erase_if(std::string key, std::uint64_t version) {
    return add(detail::kv_op::kind::erase, std::move(key), {}, version);
  }

  std::size_t size() const noexcept {
    return ops_.size();
  }

  /// Writes every operation, in order, atomically: all of them or none. An
  /// erase of an absent key is no error.
  kv_pending<void> commit() && {
    return {std::move(call_),
            [ops = std::move(ops_)](detail::call_state& call, std::function<void()> on_value,
                                    std::function<void(status)> on_error) mutable {
              call.kv_write(std::move(ops), [on_value = std::move(on_value),
                                             on_error = std::move(on_error)](status st) {
                if (st.is_ok())
                  on_value();
                else
                  on_error(std::move(st));
              });
            }};
  }

private:
  kv_batch& add(detail::kv_op::kind what, std::string key, std::string value,
                std::optional<std::uint64_t> expected) {
    ops_.push_back(detail::kv_op{what, std::move(key), std::move(value), expected});
    return *this;
  }

  std::shared_ptr<detail::call_state> call_;
  std::vector<detail::kv_op> ops_;
};

/// The service's key-value namespace, as ctx.kv() gives it. Cheap to copy;
/// copies share the call it came from.
class key_value {
public:
  explicit key_value(std::shared_ptr<detail::call_state> call) : call_(std::move(call)) {
  }

  /// The entry of `key`; nullopt when it is absent.
  kv_pending<std::optional<kv_entry>> get(std::string key) const {
    return {call_, [key = std::move(key)](detail::call_state& call,
                                          std::function<void(std::optional<kv_entry>)> on_value,
                                          std::function<void(status)> on_error) mutable {
              call.kv_get(std::move(key), [on_value = std::move(on_value),
                                           on_error = std::move(on_error)](status st,
                                                                           kv_entry entry) {
                if (!st.is_ok())
                  on_error(std::move(st));
                else if (entry.version == 0)
                  on_value(std::nullopt);
                else
                  on_value(std::move(entry));
              });
            }};
  }

  /// The value of `key` parsed as `Message`; nullopt when it is absent. A
  /// value that does not parse fails with data_loss.
  template <class Message>
  kv_pending<std::optional<Message>> get(std::string key) const {
    return {call_, [key = std::move(key)](detail::call_state& call,
                                          std::function<void(std::optional<Message>)> on_value,
                                          std::function<void(status)> on_error) mutable {
              call.kv_get(std::move(key), [on_value = std::move(on_value),
                                           on_error = std::move(on_error)](status st,
                                                                           kv_entry entry) {
                if (!st.is_ok()) {
                  on_error(std::move(st));
                } else if (entry.version == 0) {
                  on_value(std::nullopt);
                } else if (auto parsed = entry.as<Message>()) {
                  on_value(std::move(parsed));
                } else {
                  on_error(status{status_code::data_loss,
                                  "the value of the key is not a valid "
                                    + Message{}.GetTypeName()});
                }
              });
            }};
  }

  /// The keys that start with `prefix` (every key when empty), in byte
  /// order, one page at a time: at most options.limit entries after
  /// options.after.
  kv_pending<kv_page> scan(std::string prefix, kv_scan_options options = {}) const {
    return {call_, [prefix = std::move(prefix), options = std::move(options)](
                     detail::call_state& call, std::function<void(kv_page)> on_value,
                     std::function<void(status)> on_error) mutable {
              call.kv_scan(std::move(prefix), std::move(options.after), options.limit,
                           [on_value = std::move(on_value),
                            on_error = std::move(on_error)](status st, kv_page page) {
                             if (st.is_ok())
                               on_value(std::move(page));
                             else
                               on_error(std::move(st));
                           });
            }};
  }

  kv_pending<void> put(std::string key, std::string value) const {
    return commit_one(batch().put(std::move(key), std::move(value)));
  }
  kv_pending<void> put(std::string key, const google::protobuf::MessageLite& value) const {
    return put(std::move(key), value.SerializeAsString());
  }
  /// Puts only when `key` is at `version` (0: absent); aborted otherwise.
  kv_pending<void> put_if(std::string key, std::string value, std::uint64_t version) const {
    return commit_one(batch().put_if(std::move(key), std::move(value), version));
  }
  kv_pending<void> put_if(std::string key, const google::protobuf::MessageLite& value,
                          std::uint64_t version) const {
    return put_if(std::move(key), value.SerializeAsString(), version);
  }
  /// Erases `key`; an absent key is no error.
  kv_pending<void> erase(std::string key) const {
    return commit_one(batch().erase(std::move(key)));
  }
  /// Erases only when `key` is at `version`; aborted otherwise.
  kv_pending<void> erase_if(std::string key, std::uint64_t version) const {
    return commit_one(batch().erase_if(std::move(key), version));
  }

  /// An empty batch of writes, committed atomically by commit().
  kv_batch batch() const {
    return kv_batch{call_};
  }

private:
  static kv_pending<void> commit_one(kv_batch& batch) {
    return std::move(batch).commit();
  }

  std::shared_ptr<detail::call_state> call_;
};

} // namespace troupe
