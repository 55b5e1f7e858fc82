#!/usr/bin/env bash
# `make demo`: a local three-node cluster with the example modules, gateways
# on http://127.0.0.1:8080, 8081 and 8082, in the foreground until Ctrl-C.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/program/troupe"
# A fresh start each time, so the tour in README.md prints what it shows.
demo="$root/.troupe-demo"
rm -rf "$demo"
mkdir -p "$demo"
# Cluster links on 7100, 7102, 7104 (each node's consensus log on the next
# port); all three are seeds, and the first forms the cluster.
seeds=127.0.0.1:7100,127.0.0.1:7102,127.0.0.1:7104
secret=troupe-demo-secret

cat <<EOT

  Troupe demo: a cluster of three nodes (node-1, node-2, node-3), each with the
  counter (keyed) and greeter (stateless) modules.
  Gateways: http://127.0.0.1:8080  http://127.0.0.1:8081  http://127.0.0.1:8082
  Stop: Ctrl-C.  Logs: $demo/node-N.log   State: $demo/node-N/state (emptied at each start)

  Try, in another terminal:
    curl -s localhost:8080/admin/v1/nodes
    curl -s -X POST localhost:8080/v1/counters/apples:add -H 'Content-Type: application/json' -d '{"delta": 3}'
    curl -s -X POST localhost:8081/v1/counters/apples:add -H 'Content-Type: application/json' -d '{"delta": 3}'
    curl -s localhost:8082/v1/counters/apples          # one actor per key, whichever gateway you ask
    curl -s 'localhost:8080/admin/v1/services/demo.counter.v1.Counter:where?key=apples'
    curl -s localhost:8080/v1/greetings/Ada            # "instance" names the node that answered
    $build/program/troupe shell --url http://127.0.0.1:8080
      troupe> nodes
      troupe> where Counter apples
      troupe> drain node-3
    kill -9 the owner of a key (pgrep -f 'troupe node --name node-2'), then call the key
    through another gateway: the counter keeps its state on that node only (not
    replicated yet), so its key answers 503 naming the node until it is back; the
    greeter goes on answering from the other nodes (README "Clusters").

EOT
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for i in 1 2 3; do
  port=$((7100 + 2 * (i - 1)))
  "$bin" node --name "node-$i" --http "127.0.0.1:$((8079 + i))" --data "$demo/node-$i" \
    --module "$root/$build/examples/libcounter.so" \
    --module "$root/$build/examples/libgreeter.so" \
    --cluster-listen "127.0.0.1:$port" --seeds "$seeds" --cluster-secret "$secret" \
    2> "$demo/node-$i.log" &
  pids+=($!)
done
wait
