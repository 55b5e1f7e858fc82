#!/usr/bin/env bash
# The build stage of deploy/Dockerfile, as a script so that it also runs
# outside Docker (tests/packaging/docker_build_stage.sh runs it in CI).
#
# usage: docker-build-stage.sh [--reuse-build] SOURCE_DIR BUILD_DIR ROOT
#
# Configures and builds the node and the example modules in BUILD_DIR, then
# lays out in ROOT what the runtime image holds, to be copied over its /:
#   ROOT/usr/local/bin/troupe, ROOT/usr/local/lib/libtroupe_sdk.so.N
#                                 (cmake --install --component runtime, stripped)
#   ROOT/etc/troupe/node.conf     the node's configuration (deploy/node.conf)
#   ROOT/modules/libcounter.so, libgreeter.so   the examples; mount your own
#                                 modules over /modules
# --reuse-build skips the configure and build steps and takes BUILD_DIR as it
# is (a tree already built with the targets above).
set -euo pipefail
reuse=0
if [[ ${1:-} == --reuse-build ]]; then
  reuse=1
  shift
fi
if [[ $# -ne 3 ]]; then
  echo "usage: docker-build-stage.sh [--reuse-build] SOURCE_DIR BUILD_DIR ROOT" >&2
  exit 2
fi
src=$1 build=$2 root=$3

if [[ $reuse -eq 0 ]]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF
  cmake --build "$build" -j "$(nproc)" --target troupe counter greeter
fi

cmake --install "$build" --prefix "$root/usr/local" --component runtime --strip
install -D -m 0644 "$src/deploy/node.conf" "$root/etc/troupe/node.conf"
install -d "$root/modules"
install -m 0644 -s "$build/examples/libcounter.so" "$build/examples/libgreeter.so" "$root/modules/"
