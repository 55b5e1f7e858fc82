// A module: a shared library with one exported entry point that names itself
// and registers its services. Write, in exactly one source file of the module:
//
//   TROUPE_MODULE("counter", "1.0.0") {
//     registrar.add_service<CounterService>();
//   }
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "troupe/service.hpp"
#include "troupe/version.hpp"

namespace google::protobuf {
class ServiceDescriptor;
} // namespace google::protobuf

namespace troupe {

struct service_definition {
  /// The proto service; its troupe.service option says keyed or stateless.
  const google::protobuf::ServiceDescriptor* descriptor = nullptr;
  /// Makes one instance (stateless) or one activation (keyed).
  std::function<std::unique_ptr<service_base>()> factory;
};

class module_registrar {
public:
  virtual ~module_registrar();

  virtual void add(service_definition definition) = 0;

  /// Registers `Impl`, a class derived from a generated service base.
  template <class Impl>
  void add_service() {
    add({Impl::descriptor(), [] { return std::make_unique<Impl>(); }});
  }

  /// Registers `Impl` made by `factory`, for services with constructor
  /// arguments.
  template <class Impl, class Factory>
  void add_service(Factory factory) {
    add({Impl::descriptor(),
         [f = std::move(factory)]() -> std::unique_ptr<service_base> { return f(); }});
  }
};

/// What the entry point `troupe_module_v1` returns.
struct module_manifest {
  std::uint32_t sdk_abi;
  const char* name;
  const char* version;
  void (*register_services)(module_registrar&);
};

} // namespace troupe

#define TROUPE_MODULE_ENTRY_POINT "troupe_module_v1"

#define TROUPE_MODULE(NAME, VERSION)                                          \
  static void troupe_register_services_(::troupe::module_registrar&);        \
  extern "C" __attribute__((visibility("default")))                          \
  const ::troupe::module_manifest* troupe_module_v1() {                      \
    static const ::troupe::module_manifest manifest{                         \
      ::troupe::sdk_abi_version, NAME, VERSION, &troupe_register_services_}; \
    return &manifest;                                                        \
  }                                                                          \
  static void troupe_register_services_(                                     \
    [[maybe_unused]] ::troupe::module_registrar& registrar)
