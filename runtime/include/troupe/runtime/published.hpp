// A value that a writer replaces now and then and many readers read all the
// time, without a lock on the read path: the writer publishes an immutable
// snapshot; each reader keeps the snapshot it last saw and checks one atomic
// version number per read, picking up the new snapshot only after a publish.
//
//   published<directory> current{std::make_shared<local_directory>(...)};
//   published<directory>::reader view{current};   // one per thread or actor
//   view.get().resolve(service, key);              // no lock
//   current.publish(std::make_shared<cluster_directory>(...));  // any thread
//
// A reader that has not read since a publish keeps the old snapshot alive
// until its next read (or its end): memory for one old snapshot per idle
// reader at most. A reader refreshing after a publish takes the writers'
// mutex once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace troupe::runtime {

template <class T>
class published {
public:
  explicit published(std::shared_ptr<const T> initial) : current_(std::move(initial)) {
  }

  published(const published&) = delete;
  published& operator=(const published&) = delete;

  /// Makes `next` the current snapshot for every reader's next read.
  void publish(std::shared_ptr<const T> next) {
    std::lock_guard guard{mtx_};
    current_ = std::move(next);
    version_.fetch_add(1, std::memory_order_release);
  }

  /// The current snapshot, under the mutex: for callers that read rarely.
  std::shared_ptr<const T> load() const {
    std::lock_guard guard{mtx_};
    return current_;
  }

  /// Bumped by every publish.
  std::uint64_t version() const noexcept {
    return version_.load(std::memory_order_acquire);
  }

  /// One reader's view. Not thread-safe itself: one per thread or actor.
  class reader {
  public:
    /// `source` must outlive the reader.
    explicit reader(const published& source) : source_(&source) {
      refresh();
    }

    /// The current snapshot; valid until the next get() of this reader.
    const T& get() {
      if (source_->version_.load(std::memory_order_acquire) != seen_)
        refresh();
      return *snapshot_;
    }

    /// Lets go of the snapshot until the next get(): for an owner that
    /// stops reading, so that it keeps nothing alive.
    void release() noexcept {
      snapshot_.reset();
      seen_ = ~std::uint64_t{0};
    }

  private:
    void refresh() {
      std::lock_guard guard{source_->mtx_};
      seen_ = source_->version_.load(std::memory_order_relaxed);
      snapshot_ = source_->current_;
    }

    const published* source_;
    std::uint64_t seen_ = 0;
    std::shared_ptr<const T> snapshot_;
  };

private:
  mutable std::mutex mtx_;  // writers, and readers picking up a publish
  std::shared_ptr<const T> current_;
  std::atomic<std::uint64_t> version_{0};
};

} // namespace troupe::runtime
