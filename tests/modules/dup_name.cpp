// A module that registers one service twice: the node must refuse it.
#include "dup_name.troupe.h"

namespace {

class TwiceService : public test::dupname::v1::TwiceBase {
public:
  troupe::reply<test::dupname::v1::Empty> Ping(troupe::call_context&,
                                               const test::dupname::v1::Empty&) override {
    return test::dupname::v1::Empty{};
  }
};

} // namespace

TROUPE_MODULE("dup_name", "1.0.0") {
  registrar.add_service<TwiceService>();
  registrar.add_service<TwiceService>();
}
