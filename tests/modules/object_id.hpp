// An id for one service object of a test module, "NODE/RANDOM" (64 random
// bits), so that a test tells apart the objects (activations, instances)
// that answered it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

namespace troupe::test_modules {

inline std::string new_object_id(const std::string& node) {
  std::random_device source;
  std::uint64_t bits = (std::uint64_t{source()} << 32) | source();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
  return node + "/" + hex;
}

} // namespace troupe::test_modules
