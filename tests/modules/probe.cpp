// The probe test module: a keyed service whose replies carry an id drawn when
// its activation served its first call, so that two activations of one key
// (on two nodes, or one after the other on the same node) never share one.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "probe.troupe.h"

namespace {

using namespace test::probe::v1;

class ProbeService : public ProbeBase {
public:
  troupe::reply<ProbeReply> Call(troupe::call_context& ctx, const ProbeRequest& request) override {
    if (request.hold_ms() > 0 && request.hold_on() == ctx.node())
      std::this_thread::sleep_for(std::chrono::milliseconds{std::min(request.hold_ms(), 60'000)});
    if (activation_.empty()) {
      // 64 random bits: ids of different activations do not collide.
      std::random_device source;
      std::uint64_t bits = (std::uint64_t{source()} << 32) | source();
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
      activation_ = ctx.node() + "/" + hex;
    }
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
