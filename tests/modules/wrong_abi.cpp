// A module built against another SDK: its manifest claims sdk_abi 999, so the
// node must refuse it before calling register_services.
#include "troupe/module.hpp"

namespace {

void register_nothing(troupe::module_registrar&) {
}

} // namespace

extern "C" __attribute__((visibility("default")))
const troupe::module_manifest* troupe_module_v1() {
  static const troupe::module_manifest manifest{999, "wrong_abi", "1.0.0",
                                                &register_nothing};
  return &manifest;
}
