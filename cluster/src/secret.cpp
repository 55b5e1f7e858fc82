#include "secret.hpp"

#include <cstring>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace troupe::cluster {

std::string prove(std::string_view secret, std::initializer_list<std::string_view> parts) {
  std::string message;
  for (auto part : parts) {
    message.append(part);
    message.push_back('\0');
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out,
           &length)
      == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string{reinterpret_cast<const char*>(out), length};
}

bool same_proof(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t n) {
  std::string result(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(result.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("no random bytes from OpenSSL");
  return result;
}

std::uint64_t random_id() {
  for (;;) {
    auto bytes = random_bytes(sizeof(std::uint64_t));
    std::uint64_t id = 0;
    std::memcpy(&id, bytes.data(), sizeof id);
    // Raft ids and process ids are positive in every language that reads them.
    id &= 0x7fffffffffffffffull;
    if (id != 0)
      return id;
  }
}

} // namespace troupe::cluster
