// Loads a module (a shared library with the TROUPE_MODULE entry point) and
// collects the services it registers. Every fault becomes a startup_error
// whose message is one line naming the module and the fault.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "troupe/module.hpp"

namespace troupe::runtime {

/// Keeps a dlopen'ed library loaded; closes it on destruction. The node keeps
/// these alive until every actor running the module's code is gone.
class shared_library {
public:
  explicit shared_library(void* handle) noexcept : handle_(handle) {
  }
  ~shared_library();
  shared_library(const shared_library&) = delete;
  shared_library& operator=(const shared_library&) = delete;

  void* handle() const noexcept {
    return handle_;
  }

private:
  void* handle_;
};

struct loaded_module {
  // Declared first so that it is destroyed last: the factories below run code
  // that lives in the library.
  std::shared_ptr<shared_library> library;
  std::string name;
  std::string version;
  std::string path;
  std::vector<service_definition> services;
};

/// Loads the module at `path`. Throws startup_error when the file is missing or
/// not a shared library, has no entry point, was built against another SDK ABI,
/// or registers an invalid service. Two modules defining the same proto types
/// cannot both be loaded: protobuf aborts the process on the second, so the
/// loader prints the one-line error itself and exits with status 1.
loaded_module load_module(const std::string& path);

} // namespace troupe::runtime
