// The threads that serve loads: a bounded queue and a few threads each doing
// one point lookup at a time, or one range read (a page of a journal or of a
// key-value scan, range_reads.hpp). A load sees every write acknowledged
// before it was asked (the writer acknowledges after RocksDB applied the
// write).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "database.hpp"
#include "fault_log.hpp"
#include "store_counters.hpp"
#include "troupe/runtime/state_store.hpp"


namespace troupe::persistence {

/// A point lookup of `key`.
struct read_request {
  family_slot* family;
  std::string key;
  runtime::state_store::load_callback done;
};

/// A read other than a point lookup: `run` does it on a reader thread;
/// `refuse` answers its caller instead when the pool cannot take it.
struct read_job {
  std::function<void(database&)> run;
  std::function<void(status)> refuse;
};

class reader_pool {
public:
  reader_pool(database& db, std::size_t threads, std::size_t max_pending,
              store_counters& counters, fault_log& faults);
  ~reader_pool();

  reader_pool(const reader_pool&) = delete;
  reader_pool& operator=(const reader_pool&) = delete;

  /// Queues `request`; past the bound, or once stopped, answers it at once
  /// on this thread with unavailable.
  void submit(read_request request);
  void submit(read_job job);

  /// Refuses new loads, serves the queued ones and joins the threads.
  void stop();

  std::size_t pending() const;

private:
  using queued = std::variant<read_request, read_job>;

  void run();
  void serve(read_request& request);
  /// Queues `item`; the refusal when the pool cannot take it.
  status enqueue(queued& item);

  database& db_;
  const std::size_t max_pending_;
  store_counters& counters_;
  fault_log& faults_;

  mutable std::mutex mtx_;
  std::condition_variable wake_;
  std::deque<queued> queue_;
  std::size_t idle_ = 0;  // threads waiting on wake_
  bool stopping_ = false;

  std::vector<std::thread> threads_;  // last: start once the rest is ready
};

} // namespace troupe::persistence
