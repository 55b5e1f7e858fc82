// See bad_spread.proto: never serves, the node refuses it.
#include "bad_spread.troupe.h"

namespace {

using namespace test::badspread::v1;

class KeyedSpreadService : public KeyedSpreadBase {
public:
  troupe::reply<Nothing> Get(troupe::call_context&, const Nothing&) override {
    return Nothing{};
  }
};

} // namespace

TROUPE_MODULE("bad_spread", "1.0.0") {
  registrar.add_service<KeyedSpreadService>();
}
