#include "troupe/runtime/sharded_counter.hpp"

namespace troupe::runtime {

std::shared_ptr<sharded_counter::slot> sharded_counter::new_slot() {
  auto s = std::make_shared<slot>();
  std::lock_guard<std::mutex> guard{mtx_};
  slots_.push_back(s);
  return s;
}

std::uint64_t sharded_counter::load() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::uint64_t sum = 0;
  for (const auto& s : slots_)
    sum += s->value();
  return sum;
}

} // namespace troupe::runtime
