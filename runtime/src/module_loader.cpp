#include "troupe/runtime/module_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>

#include "troupe/options.pb.h"
#include "troupe/runtime/node.hpp"

namespace troupe::runtime {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& fault) {
  throw startup_error("module " + path + ": " + fault);
}

// protobuf registers a library's descriptors from a static initializer while
// dlopen runs, and aborts the process when they clash with ones already
// registered. Its log handler is a plain function pointer, so the module being
// loaded is kept in this one slot while (and only while) dlopen runs.
struct protobuf_guard {
  static inline const std::string* current_path = nullptr;
  static inline std::string last_error;

  static void handler(google::protobuf::LogLevel level, const char*, int,
                      const std::string& message) {
    if (level < google::protobuf::LOGLEVEL_ERROR)
      return;
    if (level == google::protobuf::LOGLEVEL_ERROR) {
      last_error = message;
      return;
    }
    auto detail = last_error.empty() ? message : last_error;
    std::fprintf(stderr,
                 "troupe node: module %s: defines proto types that another "
                 "module already defined (%s)\n",
                 current_path ? current_path->c_str() : "?", detail.c_str());
    std::fflush(stderr);
    _exit(1);
  }

  explicit protobuf_guard(const std::string& path) {
    current_path = &path;
    last_error.clear();
    previous = google::protobuf::SetLogHandler(&handler);
  }

  ~protobuf_guard() {
    google::protobuf::SetLogHandler(previous);
    current_path = nullptr;
  }

  google::protobuf::LogHandler* previous;
};

class collecting_registrar : public module_registrar {
public:
  explicit collecting_registrar(const std::string& path) : path_(path) {
  }

  void add(service_definition def) override {
    if (def.descriptor == nullptr || !def.factory) {
      errors_.push_back("registers a service without descriptor or factory");
      return;
    }
    auto& name = def.descriptor->full_name();
    for (auto& known : services)
      if (known.descriptor->full_name() == name) {
        errors_.push_back("registers service " + name + " twice");
        return;
      }
    auto& opts = def.descriptor->options().GetExtension(troupe::service);
    if (opts.kind() != troupe::STATELESS && opts.kind() != troupe::KEYED) {
      errors_.push_back("service " + name
                        + " has no (troupe.service).kind (STATELESS or KEYED)");
      return;
    }
    services.push_back(std::move(def));
  }

  const std::vector<std::string>& errors() const {
    return errors_;
  }

  std::vector<service_definition> services;

private:
  const std::string& path_;
  std::vector<std::string> errors_;
};

} // namespace

shared_library::~shared_library() {
  if (handle_ != nullptr)
    dlclose(handle_);
}

loaded_module load_module(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    fail(path, "no such file");
  if (std::filesystem::is_directory(path, ec))
    fail(path, "is a directory, not a shared library");
  void* handle = nullptr;
  {
    protobuf_guard guard{path};
    // A path without a slash would be searched for on the library path.
    auto abs = std::filesystem::absolute(path, ec).string();
    // NODELETE: protobuf's generated pool keeps pointers into the module's
    // data for the life of the process, so its code must never be unmapped;
    // loading it again then finds it resident instead of re-registering.
    handle = dlopen(abs.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  }
  if (handle == nullptr) {
    const char* err = dlerror();
    fail(path, std::string{"cannot be loaded: "} + (err ? err : "unknown error"));
  }
  auto library = std::make_shared<shared_library>(handle);
  using entry_fn = const module_manifest* (*)();
  auto entry = reinterpret_cast<entry_fn>(dlsym(handle, TROUPE_MODULE_ENTRY_POINT));
  if (entry == nullptr)
    fail(path, "not a Troupe module (no " TROUPE_MODULE_ENTRY_POINT
               " entry point; use the TROUPE_MODULE macro)");
  auto manifest = entry();
  if (manifest == nullptr)
    fail(path, "entry point returned no manifest");
  if (manifest->sdk_abi != sdk_abi_version)
    fail(path, "built against Troupe SDK ABI " + std::to_string(manifest->sdk_abi)
                 + ", this node has ABI " + std::to_string(sdk_abi_version)
                 + " (rebuild the module)");
  if (manifest->name == nullptr || *manifest->name == '\0')
    fail(path, "manifest has no module name");
  collecting_registrar registrar{path};
  try {
    if (manifest->register_services != nullptr)
      manifest->register_services(registrar);
  } catch (const std::exception& e) {
    fail(path, std::string{"failed while registering services: "} + e.what());
  }
  if (!registrar.errors().empty())
    fail(path, registrar.errors().front());
  if (registrar.services.empty())
    fail(path, "registers no services");
  loaded_module result;
  result.name = manifest->name;
  result.version = manifest->version ? manifest->version : "";
  result.path = std::filesystem::absolute(path, ec).string();
  result.services = std::move(registrar.services);
  result.library = std::move(library);
  return result;
}

} // namespace troupe::runtime
