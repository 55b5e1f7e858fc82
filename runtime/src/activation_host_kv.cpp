// Key-value storage of a stateless service (troupe/key_value.hpp): the
// activation_host's side. An operation is checked against the bounds here,
// handed to the state store (which works on threads of its own, or at once),
// and its answer comes back to the host as a message, so that the handler's
// callback runs on the actor, as a continuation of the service object that
// asked.
#include <utility>

#include "activation.hpp"
#include "activation_host.hpp"

namespace troupe::runtime {

namespace {

/// Operations of one service object in flight (key-value operations and
/// calls to other services together); one more is refused.
constexpr std::uint32_t max_pending_operations = 10'000;

status refusal(const service_entry& entry, const activation& a) {
  if (!entry.key_value)
    return {status_code::failed_precondition,
            "service " + entry.name
              + " declares no key-value storage (kv in its (troupe.service) options)"};
  if (a.pending_calls() >= max_pending_operations)
    return {status_code::resource_exhausted,
            "too many operations of this service instance are in flight"};
  return {};
}

status check_key(std::string_view key, const char* what) {
  if (key.empty() || key.size() > kv_max_key_bytes)
    return {status_code::invalid_argument,
            std::string{what} + " must be 1 to " + std::to_string(kv_max_key_bytes)
              + " bytes long, not " + std::to_string(key.size())};
  return {};
}

status check_write(const std::vector<detail::kv_op>& ops) {
  if (ops.size() > kv_max_batch_operations)
    return {status_code::invalid_argument,
            "a batch holds at most " + std::to_string(kv_max_batch_operations)
              + " operations, not " + std::to_string(ops.size())};
  for (const auto& op : ops) {
    if (auto st = check_key(op.key, "a key"); !st.is_ok())
      return st;
    if (op.value.size() > kv_max_value_bytes)
      return {status_code::resource_exhausted,
              "a value holds at most " + std::to_string(kv_max_value_bytes) + " bytes, not "
                + std::to_string(op.value.size())};
  }
  return {};
}

} // namespace

void activation_host::kv_get(activation& a, std::string key, detail::kv_get_callback done) {
  auto st = refusal(entry(), a);
  if (st.is_ok())
    st = check_key(key, "a key");
  auto post = continuation_poster(a);
  if (!st.is_ok()) {
    post([done = std::move(done), st = std::move(st)] { done(st, {}); });
    return;
  }
  ctx_.state->load(entry().name, key,
                   [post = std::move(post), done = std::move(done),
                    key](status result, stored_state stored) mutable {
                     post([done = std::move(done), result = std::move(result),
                           entry = kv_entry{std::move(key), stored.version,
                                            std::move(stored.bytes)}]() mutable {
                       done(std::move(result), std::move(entry));
                     });
                   });
}

void activation_host::kv_scan(activation& a, std::string prefix, std::string after,
                              std::uint32_t limit, detail::kv_scan_callback done) {
  auto st = refusal(entry(), a);
  if (st.is_ok() && (limit == 0 || limit > kv_max_scan_limit))
    st = {status_code::invalid_argument, "a scan's limit must be 1 to "
                                           + std::to_string(kv_max_scan_limit) + ", not "
                                           + std::to_string(limit)};
  if (st.is_ok() && (prefix.size() > kv_max_key_bytes || after.size() > kv_max_key_bytes))
    st = {status_code::invalid_argument, "a scan's prefix and start key must be at most "
                                           + std::to_string(kv_max_key_bytes) + " bytes long"};
  auto post = continuation_poster(a);
  if (!st.is_ok()) {
    post([done = std::move(done), st = std::move(st)] { done(st, {}); });
    return;
  }
  ctx_.state->scan(entry().name, prefix, after, limit,
                   [post = std::move(post), done = std::move(done)](status result,
                                                                    kv_range range) mutable {
                     kv_page page;
                     page.entries.reserve(range.records.size());
                     for (auto& r : range.records)
                       page.entries.push_back(
                         kv_entry{std::move(r.key), r.version, std::move(r.value)});
                     page.next = std::move(range.next);
                     post([done = std::move(done), result = std::move(result),
                           page = std::move(page)]() mutable {
                       done(std::move(result), std::move(page));
                     });
                   });
}

void activation_host::kv_write(activation& a, std::vector<detail::kv_op> ops,
                               detail::kv_write_callback done) {
  auto st = refusal(entry(), a);
  if (st.is_ok())
    st = check_write(ops);
  auto post = continuation_poster(a);
  if (!st.is_ok() || ops.empty()) {
    post([done = std::move(done), st = std::move(st)] { done(st); });
    return;
  }
  std::vector<kv_mutation> batch;
  batch.reserve(ops.size());
  for (auto& op : ops)
    batch.push_back(kv_mutation{op.what == detail::kv_op::kind::put ? kv_mutation::kind::put
                                                                   : kv_mutation::kind::erase,
                                std::move(op.key), std::move(op.value), op.expected});
  ctx_.state->write_batch(entry().name, std::move(batch),
                          [post = std::move(post), done = std::move(done)](status result) mutable {
                            post([done = std::move(done), result = std::move(result)] {
                              done(result);
                            });
                          });
}

} // namespace troupe::runtime
