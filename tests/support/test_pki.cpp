#include "support/test_pki.hpp"

#include <chrono>
#include <stdexcept>
#include <vector>

#include "support/node_process.hpp"

namespace troupe::test {

namespace {

void openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/bin/openssl");
  auto result = run_command(args, std::chrono::seconds{30});
  if (result.exit_code != 0)
    throw std::runtime_error("openssl " + args[1] + " failed: " + result.err);
}

} // namespace

test_pki::test_pki(const std::string& name)
  : ca_cert_(dir_.path() + "/ca.pem"), ca_key_(dir_.path() + "/ca.key") {
  openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key_, "-out", ca_cert_,
           "-days", "2", "-subj", "/CN=" + name});
}

node_certificate test_pki::issue(const std::string& name) const {
  node_certificate out{dir_.path() + "/" + name + ".pem", dir_.path() + "/" + name + ".key"};
  auto request = dir_.path() + "/" + name + ".csr";
  openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", out.key, "-out", request, "-subj",
           "/CN=" + name});
  openssl({"x509", "-req", "-in", request, "-CA", ca_cert_, "-CAkey", ca_key_,
           "-CAcreateserial", "-out", out.cert, "-days", "2"});
  return out;
}

} // namespace troupe::test
