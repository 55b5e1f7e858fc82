// A keyed counter: the node runs one CounterService per key, activated on the
// first call and never running two calls of one key at once, so value_ needs
// no lock.
//
// value_ lives only in the activation's memory. When a key has had no call for
// the idle timeout, its activation is passivated and value_ is gone with it;
// the key's next call starts again from 0 (so does a restart after a handler
// threw). Until Troupe's durable state lands, a service that must keep a key's
// state overrides on_activate(key), called before the key's first call, to
// load it from somewhere else, and on_passivate(), called before the
// activation goes, to save it there.
#include <cstdint>
#include <limits>
#include <string>

#include "counter.troupe.h"

namespace {

using namespace demo::counter::v1;

class CounterService : public CounterBase {
public:
  troupe::reply<CounterValue> Add(troupe::call_context&, const AddRequest& request) override {
    auto sum = std::int64_t{value_} + request.delta();
    if (sum > std::numeric_limits<std::int32_t>::max()
        || sum < std::numeric_limits<std::int32_t>::min())
      return troupe::status{troupe::status_code::out_of_range,
                            "adding " + std::to_string(request.delta())
                              + " would overflow the counter"};
    value_ = static_cast<std::int32_t>(sum);
    return current();
  }

  troupe::reply<CounterValue> Get(troupe::call_context&, const GetRequest&) override {
    return current();
  }

  troupe::reply<CounterValue> Reset(troupe::call_context&, const ResetRequest&) override {
    value_ = 0;
    return current();
  }

private:
  CounterValue current() const {
    CounterValue reply;
    reply.set_value(value_);
    return reply;
  }

  std::int32_t value_ = 0;  // gone at passivation: see the top of this file
};

} // namespace

TROUPE_MODULE("counter", "1.0.0") {
  registrar.add_service<CounterService>();
}
