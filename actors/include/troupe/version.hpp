// Versions a module is built against. The node refuses a module whose
// sdk_abi differs from its own: SDK types cross the module boundary by value.
#pragma once

#include <cstdint>

#define TROUPE_VERSION_STRING "0.1.0"

namespace troupe {

/// Bumped whenever a type or virtual function that modules see changes layout.
inline constexpr std::uint32_t sdk_abi_version = 5;

inline constexpr const char* version_string = TROUPE_VERSION_STRING;

} // namespace troupe
