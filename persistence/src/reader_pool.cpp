#include "reader_pool.hpp"

#include <algorithm>
#include <optional>

#include <rocksdb/db.h>

#include "value_codec.hpp"

namespace troupe::persistence {

reader_pool::reader_pool(database& db, std::size_t threads, std::size_t max_pending,
                         store_counters& counters, fault_log& faults)
  : db_(db), max_pending_(max_pending), counters_(counters), faults_(faults) {
  threads = std::max<std::size_t>(threads, 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

reader_pool::~reader_pool() {
  stop();
}

void reader_pool::stop() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

std::size_t reader_pool::pending() const {
  std::lock_guard guard{mtx_};
  return queue_.size();
}

status reader_pool::enqueue(queued& item) {
  bool wake = false;
  {
    std::lock_guard guard{mtx_};
    if (stopping_)
      return {status_code::unavailable, "the state store is closed"};
    if (queue_.size() >= max_pending_) {
      store_counters::add(counters_.refused_overloaded);
      return {status_code::unavailable, "the state store is overloaded"};
    }
    wake = idle_ > 0;
    queue_.push_back(std::move(item));
  }
  if (wake)
    wake_.notify_one();
  return {};
}

void reader_pool::submit(read_request request) {
  queued item{std::move(request)};
  if (auto refusal = enqueue(item); !refusal.is_ok())
    std::get<read_request>(item).done(std::move(refusal), {});
}

void reader_pool::submit(read_job job) {
  queued item{std::move(job)};
  if (auto refusal = enqueue(item); !refusal.is_ok())
    std::get<read_job>(item).refuse(std::move(refusal));
}

void reader_pool::run() {
  for (;;) {
    std::optional<queued> item;
    {
      std::unique_lock lock{mtx_};
      while (queue_.empty() && !stopping_) {
        ++idle_;
        wake_.wait(lock);
        --idle_;
      }
      if (queue_.empty())
        return;  // stopping, and nothing left to serve
      item.emplace(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (auto* request = std::get_if<read_request>(&*item))
      serve(*request);
    else
      std::get<read_job>(*item).run(db_);
  }
}

void reader_pool::serve(read_request& request) {
  status result;
  runtime::stored_state state;
  {
    auto db = db_.use();
    rocksdb::PinnableSlice value;
    auto s = db ? db->Get(rocksdb::ReadOptions{}, request.family->handle, request.key, &value)
                : rocksdb::Status::Incomplete("RocksDB is closed after an error");
    if (s.ok()) {
      if (auto decoded = decode_value({value.data(), value.size()}))
        state = {decoded->version, std::string{decoded->bytes}};
      else
        result = {status_code::data_loss, "the stored state is not in a format this version reads"};
    } else if (!s.IsNotFound()) {
      faults_.report("state store: a load failed: " + one_line(s.ToString()));
      result = s.IsCorruption()
                 ? status{status_code::data_loss, "the stored state is damaged"}
                 : status{status_code::unavailable, "the state store cannot read now"};
    }
  }
  // The callback runs without the database's lock.
  request.done(std::move(result), std::move(state));
}

} // namespace troupe::persistence
