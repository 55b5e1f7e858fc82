// The activation_probe test module: a keyed service whose replies carry an id
// drawn when its activation served its first call, so that two activations of
// one key (on two nodes, or one after the other on one node) never share one.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "activation_probe.troupe.h"

namespace {

using namespace test::activation_probe::v1;

class ActivationProbeService : public ActivationProbeBase {
public:
  troupe::reply<ProbeReply> Call(troupe::call_context& ctx, const ProbeRequest&) override {
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
    return reply;
  }

private:
  std::string activation_;  // one object per activation: no lock needed
};

} // namespace

TROUPE_MODULE("activation_probe", "1.0.0") {
  registrar.add_service<ActivationProbeService>();
}
