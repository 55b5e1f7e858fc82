// A keyed counter: the node runs one CounterService per key, activated on the
// first call and never running two calls of one key at once.
//
// The count is the key's declared state (CounterState, see counter.proto):
// the node loads it before the key's first call and, when a handler changed
// it, stores it before the reply goes out, so a count survives passivation and
// restarts of the node. Members of the class itself would not: an activation
// is dropped when the key has been idle for the idle timeout (and replaced
// after a handler threw), and a fresh object starts with fresh members.
#include <cstdint>
#include <limits>
#include <string>

#include "counter.troupe.h"

namespace {

using namespace demo::counter::v1;

class CounterService : public CounterBase {
public:
  troupe::reply<CounterValue> Add(troupe::call_context&, const AddRequest& request) override {
    auto sum = std::int64_t{state().value()} + request.delta();
    if (sum > std::numeric_limits<std::int32_t>::max()
        || sum < std::numeric_limits<std::int32_t>::min())
      return troupe::status{troupe::status_code::out_of_range,
                            "adding " + std::to_string(request.delta())
                              + " would overflow the counter"};
    mutable_state().set_value(static_cast<std::int32_t>(sum));
    return current();
  }

  troupe::reply<CounterValue> Get(troupe::call_context&, const GetRequest&) override {
    return current();
  }

  troupe::reply<CounterValue> Reset(troupe::call_context&, const ResetRequest&) override {
    mutable_state().set_value(0);
    return current();
  }

private:
  CounterValue current() const {
    CounterValue reply;
    reply.set_value(state().value());
    return reply;
  }
};

} // namespace

TROUPE_MODULE("counter", "1.0.0") {
  registrar.add_service<CounterService>();
}
