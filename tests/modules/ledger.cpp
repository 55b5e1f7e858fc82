// test.ledger.v1.Ledger: a keyed service whose state is a LedgerState.
#include <stdexcept>

#include "ledger.troupe.h"

namespace {

using namespace test::ledger::v1;

class LedgerService : public LedgerBase {
public:
  troupe::reply<Balance> Post(troupe::call_context&, const Entry& entry) override {
    post(entry);
    return balance();
  }

  troupe::reply<Balance> Get(troupe::call_context&, const GetRequest&) override {
    return balance();
  }

  troupe::reply<Balance> PostThenRefuse(troupe::call_context&, const Entry& entry) override {
    post(entry);
    return troupe::status{troupe::status_code::failed_precondition, "refused after posting"};
  }

  troupe::reply<Balance> PostThenThrow(troupe::call_context&, const Entry& entry) override {
    post(entry);
    throw std::runtime_error("thrown after posting");
  }

private:
  void post(const Entry& entry) {
    auto& s = mutable_state();
    s.set_balance(s.balance() + entry.amount());
    s.set_entries(s.entries() + 1);
  }

  Balance balance() const {
    Balance b;
    b.set_balance(state().balance());
    b.set_entries(state().entries());
    return b;
  }
};

} // namespace

TROUPE_MODULE("ledger", "1.0.0") {
  registrar.add_service<LedgerService>();
}
