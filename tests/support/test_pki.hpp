// Certificates for tests of mutual TLS between nodes: a certificate
// authority and node certificates it signs, made by the `openssl` command
// (Debian's openssl, installed by deploy/install-deps.sh) into a temporary
// directory that goes with the object.
#pragma once

#include <string>

#include "support/temp_dir.hpp"

namespace troupe::test {

struct node_certificate {
  std::string cert;  // PEM file paths
  std::string key;
};

class test_pki {
public:
  /// A new CA named `name` (its key RSA 2048, valid for two days).
  /// Throws when openssl fails.
  explicit test_pki(const std::string& name = "troupe-test-ca");

  /// The CA's certificate (PEM): what --tls-ca names.
  const std::string& ca() const noexcept {
    return ca_cert_;
  }

  /// A certificate for node `name` signed by this CA, with its key.
  node_certificate issue(const std::string& name) const;

private:
  temp_dir dir_;
  std::string ca_cert_;
  std::string ca_key_;
};

} // namespace troupe::test
