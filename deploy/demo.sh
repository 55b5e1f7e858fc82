#!/usr/bin/env bash
# `make demo`: a local node with the example modules and its gateway on
# http://127.0.0.1:8080, in the foreground until Ctrl-C. (Three nodes once
# clustering exists.)
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/program/troupe"
# A fresh start each time, so the tour in README.md prints what it shows.
data="$root/.troupe-demo/node-1"
rm -rf "$data"
mkdir -p "$data"

cat <<EOT

  Troupe demo: node-1 with the counter (keyed) and greeter (stateless) modules.
  Gateway: http://127.0.0.1:8080          Stop: Ctrl-C
  State: $data/state (emptied at each start of the demo)

  Try, in another terminal:
    curl -s -X POST localhost:8080/v1/counters/apples:add -H 'Content-Type: application/json' -d '{"delta": 3}'
    curl -s localhost:8080/v1/counters/apples
    curl -s -X POST localhost:8080/v1/counters/apples:reset
    curl -s localhost:8080/v1/greetings/Ada
    curl -s -X POST localhost:8080/v1/greetings/Ada:counted
    curl -s localhost:8080/admin/v1/services
    $build/program/troupe shell --url http://127.0.0.1:8080
      troupe> services
      troupe> describe demo.counter.v1.Counter
      troupe> call demo.counter.v1.Counter Add apples {"delta": 2}

EOT
exec "$bin" node --name node-1 --http 127.0.0.1:8080 --data "$data" \
  --module "$root/$build/examples/libcounter.so" \
  --module "$root/$build/examples/libgreeter.so"
