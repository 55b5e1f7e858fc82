// test.crashing.v1.Crashing: handlers that end the process on purpose.
#include <cstdlib>

#include "crashing.troupe.h"

namespace {

using namespace test::crashing::v1;

class CrashingService : public CrashingBase {
public:
  troupe::reply<CrashReply> Segfault(troupe::call_context&, const CrashRequest&) override {
    volatile int* nowhere = nullptr;
    *nowhere = 1;
    return CrashReply{};
  }

  troupe::reply<CrashReply> Abort(troupe::call_context&, const CrashRequest&) override {
    std::abort();
  }
};

} // namespace

TROUPE_MODULE("crashing", "1.0.0") {
  registrar.add_service<CrashingService>();
}
