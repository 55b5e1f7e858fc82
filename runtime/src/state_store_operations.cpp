// The defaults of state_store's operational side: a store with nothing to
// show or copy.
#include "troupe/runtime/state_store.hpp"

namespace troupe::runtime {

store_figures state_store::figures() const {
  return {};
}

std::optional<namespace_figures> state_store::figures(std::string_view) const {
  return std::nullopt;
}

void state_store::checkpoint(std::string, std::function<void(status)> done) {
  done({status_code::failed_precondition, "this state store cannot take checkpoints"});
}

} // namespace troupe::runtime
