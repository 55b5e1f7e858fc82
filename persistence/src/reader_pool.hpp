// The threads that serve loads: a bounded queue and a few threads each doing
// one point lookup at a time. A load sees every write acknowledged before it
// was asked (the writer acknowledges after RocksDB applied the write).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "database.hpp"
#include "fault_log.hpp"
#include "store_counters.hpp"
#include "troupe/runtime/state_store.hpp"


namespace troupe::persistence {

/// A point lookup of `key`, or (list_limit > 0) a page of the keys after it.
struct read_request {
  family_slot* family;
  std::string key;
  runtime::state_store::load_callback done;
  std::size_t list_limit = 0;
  runtime::state_store::keys_callback listed;
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

  /// Refuses new loads, serves the queued ones and joins the threads.
  void stop();

  std::size_t pending() const;

private:
  void run();
  void serve(read_request& request);
  void list(read_request& request);

  database& db_;
  const std::size_t max_pending_;
  store_counters& counters_;
  fault_log& faults_;

  mutable std::mutex mtx_;
  std::condition_variable wake_;
  std::deque<read_request> queue_;
  std::size_t idle_ = 0;  // threads waiting on wake_
  bool stopping_ = false;

  std::vector<std::thread> threads_;  // last: start once the rest is ready
};

} // namespace troupe::persistence
