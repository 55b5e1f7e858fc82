#!/usr/bin/env bash
# Installs the Debian 12 packages Troupe builds, tests and benchmarks with.
# Idempotent: asks apt only for what is missing, and runs `apt-get update` once
# before the first install on this machine.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config make git curl ca-certificates
  libcaf-dev                                   # CAF 0.17.6: core, io (BASP), openssl
  libprotobuf-dev protobuf-compiler libprotoc-dev  # messages, JSON mapping, protoc plugin
  librocksdb-dev                               # durable state
  libraft-dev libuv1-dev                       # cluster membership: consensus (raft) on libuv
  rocksdb-tools                                # db_bench: bench/state anchor
  libssl-dev                                   # TLS, token signatures
  libboost-dev libboost-program-options-dev    # Beast/Asio, CLI and config files
  libedit-dev                                  # line editing in `troupe shell`
  libjemalloc-dev                              # the node's allocator
  nlohmann-json3-dev                           # `troupe shell` prints replies keeping their field order
  catch2                                       # unit and integration tests
  iproute2                                     # the partition test: network namespaces, veth, bridges
  openssl                                      # tests of mutual TLS: certificates made at test time
  nginx-light wrk                              # bench/gateway anchor and load generator
  file dpkg-dev                                # `make package`: cpack, dpkg-shlibdeps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
