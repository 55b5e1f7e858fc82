// The probe test module: a keyed service whose replies carry an id drawn when
// its activation served its first call, so that two activations of one key
// (on two nodes, or one after the other on the same node) never share one.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "object_id.hpp"
#include "probe.troupe.h"

namespace {

using namespace test::probe::v1;

class ProbeService : public ProbeBase {
public:
  troupe::reply<ProbeReply> Call(troupe::call_context& ctx, const ProbeRequest& request) override {
    if (request.hold_ms() > 0 && request.hold_on() == ctx.node())
      std::this_thread::sleep_for(std::chrono::milliseconds{std::min(request.hold_ms(), 60'000)});
    if (activation_.empty())
      activation_ = troupe::test_modules::new_object_id(ctx.node());
    ProbeReply reply;
    reply.set_key(ctx.key());
    reply.set_activation(activation_);
    reply.set_node(ctx.node());
    reply.set_served(++served_);
    return reply;
  }

private:
  std::string activation_;  // one object per activation: no lock needed
  std::int32_t served_ = 0;
};

} // namespace

TROUPE_MODULE("probe", "1.0.0") {
  registrar.add_service<ProbeService>();
}
