// The spread test module: a stateless service with a cluster-wide instance
// count whose replies name the instance and the service object that served
// them.
#include <string>

#include "object_id.hpp"
#include "spread.troupe.h"

namespace {

using namespace test::spread::v1;

class SpreadService : public SpreadBase {
public:
  troupe::reply<WhereReply> Where(troupe::call_context& ctx, const WhereRequest&) override {
    if (object_.empty())
      object_ = troupe::test_modules::new_object_id(ctx.node());
    WhereReply reply;
    reply.set_instance(ctx.instance());
    reply.set_node(ctx.node());
    reply.set_object(object_);
    return reply;
  }

private:
  std::string object_;  // one object per instance: no lock needed
};

} // namespace

TROUPE_MODULE("spread", "1.0.0") {
  registrar.add_service<SpreadService>();
}
