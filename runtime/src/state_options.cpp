#include "state_options.hpp"

namespace troupe::runtime {

namespace_options state_options_from(const troupe::StateOptions& options) {
  namespace_options result;
  if (options.durability() == troupe::StateOptions::BATCHED) {
    result.mode = namespace_options::durability::batched;
    if (options.batch_interval_ms() > 0)
      result.batch_interval = std::chrono::milliseconds{options.batch_interval_ms()};
  }
  result.journal = options.has_journal();
  return result;
}

namespace_options key_value_options_from(const troupe::KeyValueOptions& options) {
  namespace_options result;
  if (options.durability() == troupe::StateOptions::BATCHED) {
    result.mode = namespace_options::durability::batched;
    if (options.batch_interval_ms() > 0)
      result.batch_interval = std::chrono::milliseconds{options.batch_interval_ms()};
  }
  return result;
}

} // namespace troupe::runtime
