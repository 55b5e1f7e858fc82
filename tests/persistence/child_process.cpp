// troupe_persistence_child: a process of its own for the store's tests.
//
//   write DIR KEYS LIMIT   opens the store in DIR, namespace "svc" (SYNC), and
//                          keeps KEYS writers busy, one per key "key-<i>":
//                          each saves "key-<i>@<version>" as the next version
//                          and, once acknowledged, prints "ack key-<i>
//                          <version>" on stdout and saves the next. Exits
//                          after LIMIT acknowledgements (or 60 s); the test
//                          kills it with SIGKILL long before.
//   append DIR KEYS LIMIT  the same with event journals, namespace
//                          "journaled": each writer appends 1 to 3 events
//                          "key-<i>#<number>" at a time (with a snapshot
//                          "key-<i>@<number>" whenever they pass a multiple
//                          of 10) and, once acknowledged, prints "ack key-<i>
//                          <last number>".
//   hold DIR               opens the store in DIR, prints "open", and keeps it
//                          open until stdin closes.
//
// A store that does not open prints "error: <what>" and exits 3.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>

#include "troupe/persistence/rocksdb_store.hpp"

namespace {

using troupe::persistence::rocksdb_store;

void print_line(const std::string& line) {
  // One write per line (shorter than PIPE_BUF): lines never interleave.
  auto text = line + "\n";
  if (::write(STDOUT_FILENO, text.data(), text.size()) < 0)
    std::_Exit(4);
}

struct chains {
  chains(rocksdb_store& s, long l) : store(s), limit(l) {
  }
  rocksdb_store& store;
  long limit;
  std::atomic<long> acks{0};
  std::mutex mtx;
  std::condition_variable finished;
  bool failed = false;

  void next(std::string key, std::uint64_t replaces) {
    auto bytes = key + "@" + std::to_string(replaces + 1);
    store.save("svc", key, replaces, std::move(bytes),
               [this, key, replaces](troupe::status st) {
                 if (!st.is_ok()) {
                   print_line("error: " + st.message());
                   std::lock_guard guard{mtx};
                   failed = true;
                   finished.notify_all();
                   return;
                 }
                 print_line("ack " + key + " " + std::to_string(replaces + 1));
                 if (++acks >= limit) {
                   std::lock_guard guard{mtx};
                   finished.notify_all();
                   return;
                 }
                 next(key, replaces + 1);
               });
  }
};

struct journal_chains {
  journal_chains(rocksdb_store& s, long l) : store(s), limit(l) {
  }
  rocksdb_store& store;
  long limit;
  std::atomic<long> acks{0};
  std::mutex mtx;
  std::condition_variable finished;
  bool failed = false;

  void next(std::string key, std::uint64_t last) {
    troupe::runtime::journal_append append;
    append.first_seq = last + 1;
    auto n = 1 + last % 3;
    for (std::uint64_t seq = last + 1; seq <= last + n; ++seq)
      append.events.push_back(key + "#" + std::to_string(seq));
    if ((last + n) / 10 != last / 10)
      append.snapshot = key + "@" + std::to_string(last + n);
    store.append("journaled", key, std::move(append),
                 [this, key, last = last + n](troupe::status st) {
                   if (!st.is_ok()) {
                     print_line("error: " + st.message());
                     std::lock_guard guard{mtx};
                     failed = true;
                     finished.notify_all();
                     return;
                   }
                   print_line("ack " + key + " " + std::to_string(last));
                   if (++acks >= limit) {
                     std::lock_guard guard{mtx};
                     finished.notify_all();
                     return;
                   }
                   next(key, last);
                 });
  }
};

/// The last event number of `key`'s journal in `store`; nullopt on a failure.
std::optional<std::uint64_t> journal_end(rocksdb_store& store, const std::string& key) {
  std::uint64_t from = 1;
  std::uint64_t last = 0;
  for (int page = 0; page < 100'000; ++page) {
    std::mutex m;
    std::condition_variable cv;
    bool answered = false;
    troupe::status result;
    troupe::runtime::journal_page got;
    store.read_events("journaled", key, from, 1000,
                      [&](troupe::status st, troupe::runtime::journal_page p) {
                        std::lock_guard guard{m};
                        result = std::move(st);
                        got = std::move(p);
                        answered = true;
                        cv.notify_all();
                      });
    std::unique_lock lock{m};
    if (!cv.wait_for(lock, std::chrono::seconds{30}, [&] { return answered; }) || !result.is_ok())
      return std::nullopt;
    if (!got.events.empty())
      last = got.events.back().seq;
    if (!got.more)
      return last;
    from = last + 1;
  }
  return std::nullopt;
}

int append_mode(const std::string& dir, int keys, long limit) {
  rocksdb_store store{dir};
  troupe::runtime::namespace_options options;
  options.journal = true;
  if (auto st = store.open_namespace("journaled", options); !st.is_ok()) {
    print_line("error: " + st.message());
    return 3;
  }
  journal_chains c{store, limit};
  for (int i = 0; i < keys; ++i) {
    auto key = "key-" + std::to_string(i);
    auto last = journal_end(store, key);
    if (!last)
      return 5;
    c.next(key, *last);
  }
  std::unique_lock lock{c.mtx};
  c.finished.wait_for(lock, std::chrono::seconds{60},
                      [&] { return c.failed || c.acks >= limit; });
  std::_Exit(c.failed ? 1 : 0);
}

int write_mode(const std::string& dir, int keys, long limit) {
  rocksdb_store store{dir};
  if (auto st = store.open_namespace("svc", {}); !st.is_ok()) {
    print_line("error: " + st.message());
    return 3;
  }
  chains c{store, limit};
  for (int i = 0; i < keys; ++i) {
    auto key = "key-" + std::to_string(i);
    std::mutex m;
    std::condition_variable cv;
    bool loaded = false;
    std::uint64_t version = 0;
    store.load("svc", key, [&](troupe::status st, troupe::runtime::stored_state s) {
      std::lock_guard guard{m};
      version = st.is_ok() ? s.version : 0;
      loaded = true;
      cv.notify_all();
    });
    std::unique_lock lock{m};
    if (!cv.wait_for(lock, std::chrono::seconds{30}, [&] { return loaded; }))
      return 5;
    lock.unlock();
    c.next(key, version);
  }
  std::unique_lock lock{c.mtx};
  c.finished.wait_for(lock, std::chrono::seconds{60},
                      [&] { return c.failed || c.acks >= limit; });
  // Leave without waiting for the chains still running: the test is about
  // kill -9, not about a clean stop.
  std::_Exit(c.failed ? 1 : 0);
}

int hold_mode(const std::string& dir) {
  rocksdb_store store{dir};
  print_line("open");
  char c;
  while (::read(STDIN_FILENO, &c, 1) > 0) {
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "write" && argc == 5)
      return write_mode(argv[2], std::atoi(argv[3]), std::atol(argv[4]));
    if (mode == "append" && argc == 5)
      return append_mode(argv[2], std::atoi(argv[3]), std::atol(argv[4]));
    if (mode == "hold" && argc == 3)
      return hold_mode(argv[2]);
    std::fprintf(stderr, "usage: troupe_persistence_child write|append DIR KEYS LIMIT | hold DIR\n");
    return 2;
  } catch (const troupe::persistence::storage_error& e) {
    print_line(std::string{"error: "} + e.what());
    return 3;
  }
}
