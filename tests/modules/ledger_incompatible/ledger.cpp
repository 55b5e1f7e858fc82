// test.ledger.v1.Ledger with an incompatible state message: never serves;
// the node refuses it at start when state of the real Ledger is stored.
#include "ledger.troupe.h"

namespace {

using namespace test::ledger::v1;

class LedgerService : public LedgerBase {
public:
  troupe::reply<Balance> Post(troupe::call_context&, const Entry&) override {
    return Balance{};
  }
  troupe::reply<Balance> Get(troupe::call_context&, const GetRequest&) override {
    return Balance{};
  }
  troupe::reply<Balance> PostThenRefuse(troupe::call_context&, const Entry&) override {
    return Balance{};
  }
  troupe::reply<Balance> PostThenThrow(troupe::call_context&, const Entry&) override {
    return Balance{};
  }
};

} // namespace

TROUPE_MODULE("ledger_incompatible", "2.0.0") {
  registrar.add_service<LedgerService>();
}
