#include "reader_pool.hpp"

#include <algorithm>
#include <memory>

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

void reader_pool::submit(read_request request) {
  status refusal;
  bool wake = false;
  {
    std::lock_guard guard{mtx_};
    if (stopping_) {
      refusal = {status_code::unavailable, "the state store is closed"};
    } else if (queue_.size() >= max_pending_) {
      refusal = {status_code::unavailable, "the state store is overloaded"};
      store_counters::add(counters_.refused_overloaded);
    } else {
      wake = idle_ > 0;
      queue_.push_back(std::move(request));
    }
  }
  if (!refusal.is_ok()) {
    if (request.list_limit > 0)
      request.listed(std::move(refusal), {}, false);
    else
      request.done(std::move(refusal), {});
    return;
  }
  if (wake)
    wake_.notify_one();
}

void reader_pool::run() {
  for (;;) {
    read_request request;
    {
      std::unique_lock lock{mtx_};
      while (queue_.empty() && !stopping_) {
        ++idle_;
        wake_.wait(lock);
        --idle_;
      }
      if (queue_.empty())
        return;  // stopping, and nothing left to serve
      request = std::move(queue_.front());
      queue_.pop_front();
    }
    serve(request);
  }
}

void reader_pool::list(read_request& request) {
  status result;
  std::vector<std::string> keys;
  bool more = false;
  {
    auto db = db_.use();
    if (!db) {
      result = {status_code::unavailable, "the state store cannot read now"};
    } else {
      std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(rocksdb::ReadOptions{},
                                                            request.family->handle)};
      if (request.key.empty())
        it->SeekToFirst();
      else
        it->Seek(request.key);
      if (it->Valid() && !request.key.empty() && it->key() == rocksdb::Slice{request.key})
        it->Next();
      for (; it->Valid(); it->Next()) {
        if (keys.size() == request.list_limit) {
          more = true;
          break;
        }
        keys.emplace_back(it->key().data(), it->key().size());
      }
      if (!it->status().ok()) {
        faults_.report("state store: listing keys failed: " + one_line(it->status().ToString()));
        result = {status_code::unavailable, "the state store cannot read now"};
        keys.clear();
        more = false;
      }
    }
  }
  request.listed(std::move(result), std::move(keys), more);
}

void reader_pool::serve(read_request& request) {
  if (request.list_limit > 0) {
    list(request);
    return;
  }
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
