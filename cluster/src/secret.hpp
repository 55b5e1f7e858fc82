// The cluster's shared secret at work: proofs that a peer knows it, without
// sending it. A proof is HMAC-SHA256(secret, the parts joined with '\0'),
// over a fresh nonce where a reply must not be replayed.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace troupe::cluster {

/// HMAC-SHA256 of the parts (each followed by a 0 byte) under `secret`.
std::string prove(std::string_view secret, std::initializer_list<std::string_view> parts);

/// Compares in constant time.
bool same_proof(std::string_view a, std::string_view b) noexcept;

/// `n` bytes from OpenSSL's generator.
std::string random_bytes(std::size_t n);

/// A random non-zero 64-bit number.
std::uint64_t random_id();

} // namespace troupe::cluster
