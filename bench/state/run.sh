#!/usr/bin/env bash
# bench/state/run.sh BUILD_DIR — durable increments per second through the
# gateway against RocksDB's db_bench, same disk, same run.
#
# Anchor: `db_bench --benchmarks=fillrandom --sync=1 --threads=T` (Debian's
# rocksdb-tools), T = 1 and 64, 16-byte keys, 100-byte values, lz4, for
# DURATION seconds in a fresh directory beside the node's --data.
# Troupe: `troupe node` with the counter example (state declared SYNC: the
# WAL is synced before the reply), driven by troupe_bench_overload
# (bench/overload/main.cpp) in closed loop on T keep-alive connections:
# POST /v1/counters/k<i>:add, request i to key k<i mod KEYS>, so that calls
# in flight go to distinct keys and each answer is an increment stored
# durably. Each 2xx is one durable write; the rate is 2xx/s.
# BATCHED beside it: examples/counter built from bench/state/batched (state
# BATCHED, synced every 100 ms) against db_bench --sync=0, without a goal.
#
# ROUNDS rounds alternate anchor and node so that a change in the machine's
# speed hits both alike; the medians and the median of the rounds' ratios
# are printed with the goal (>= 0.5, shared/PRODUCT.md). A missed goal is a
# result (exit 0); exit 1 only when the benchmark could not run or calls
# failed. The store alone (no HTTP) is troupe_bench_state, beside this.
# First it prints one synced write's cost on the disk by how the file was
# prepared (troupe_bench_sync_cost): db_bench's WAL and the store's are
# prepared differently, and the ratios reflect that too.
#
# Everything listens on 127.0.0.1; all files live in one temporary directory
# under DIR (default /tmp), removed on exit with the processes started here.
set -euo pipefail

usage() {
  echo "usage: bench/state/run.sh BUILD_DIR   (env: DURATION=5 s per side and round, ROUNDS=3, KEYS=1000, DIR=/tmp, NO_BATCHED=)" >&2
  exit 2
}
die() { echo "bench-state: $*" >&2; exit 1; }

[ $# -eq 1 ] || usage
build=$1
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
keys=${KEYS:-1000}
base_dir=${DIR:-/tmp}
goal=0.5
troupe_bin=$build/program/troupe
sync_module=$build/examples/libcounter.so
batched_module=$build/bench/state/libcounter_batched.so
load_bin=$build/bench/overload/troupe_bench_overload
sync_cost_bin=$build/bench/state/troupe_bench_sync_cost
db_bench=$(command -v db_bench || true)

for n in "$duration" "$rounds" "$keys"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "DURATION, ROUNDS and KEYS must be positive whole numbers, not '$n'"
done
[ -d "$base_dir" ] || die "DIR $base_dir is not a directory"
[ -x "$troupe_bin" ] || die "$troupe_bin not found: build first (make build)"
[ -f "$sync_module" ] || die "$sync_module not found: build first (make build)"
[ -f "$batched_module" ] || die "$batched_module not found: build first (make build)"
[ -x "$load_bin" ] || die "$load_bin not found: build first (make build)"
[ -x "$sync_cost_bin" ] || die "$sync_cost_bin not found: build first (make build)"
[ -n "$db_bench" ] || die "db_bench not found: run deploy/install-deps.sh (rocksdb-tools)"
command -v curl >/dev/null || die "curl not found: run deploy/install-deps.sh"

tmp=$(mktemp -d "$base_dir/troupe-bench-state.XXXXXX")
node_pid=""
child_pid=""

# SIGTERM, up to 15 s to finish (the node drains), then SIGKILL.
stop_process() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_process "$child_pid"
  stop_process "$node_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts a node with module $1 on a fresh --data; sets node_pid and port.
start_node() {
  rm -rf "$tmp/data"
  "$troupe_bin" node --http 127.0.0.1:0 --data "$tmp/data" --module "$1" \
    --log-level warn >"$tmp/node.out" 2>"$tmp/node.err" &
  node_pid=$!
  local url=""
  for _ in $(seq 300); do
    url=$(sed -n 's/^troupe node .* ready: \(http:\/\/127\.0\.0\.1:[0-9]*\).*$/\1/p' \
            "$tmp/node.out" | head -1)
    [ -n "$url" ] && break
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$url" ] || die "troupe node did not become ready:
$(tail -5 "$tmp/node.err")"
  port=${url##*:}
  local answer
  answer=$(curl -s -X POST -H 'Content-Type: application/json' -d '{"delta":1}' \
             "$url/v1/counters/check:add" | tr -d ' \n')
  [ "$answer" = '{"value":1}' ] || die "the counter route answered: $answer"
}

# node_rate CONNECTIONS SECONDS: durable increments per second (2xx/s).
node_rate() {
  "$load_bin" --port "$port" --rate 0 --duration "$2" --connections "$1" \
    --keys "$keys" >"$tmp/load.txt" 2>"$tmp/load.err" &
  child_pid=$!
  wait "$child_pid" || die "the load generator failed: $(tail -3 "$tmp/load.err")"
  child_pid=""
  local line
  line=$(cat "$tmp/load.txt")
  local bad
  bad=$(tr ' ' '\n' <<<"$line" | awk -F= '$1=="shed"||$1=="other"||$1=="errors"{s+=$2} END{print s+0}')
  [ "$bad" -eq 0 ] || die "calls failed during the run: $line"
  tr ' ' '\n' <<<"$line" | sed -n 's/^goodput=//p'
}

# anchor_rate THREADS SYNC: db_bench fillrandom's ops/sec.
anchor_rate() {
  rm -rf "$tmp/db_bench"
  "$db_bench" --benchmarks=fillrandom --sync="$2" --threads="$1" --duration="$duration" \
    --num=100000000 --key_size=16 --value_size=100 --compression_type=lz4 \
    --db="$tmp/db_bench" >"$tmp/db_bench.txt" 2>&1 &
  child_pid=$!
  wait "$child_pid" || die "db_bench failed: $(tail -3 "$tmp/db_bench.txt")"
  child_pid=""
  rm -rf "$tmp/db_bench"
  local ops
  ops=$(sed -n 's/^fillrandom *:.* \([0-9][0-9]*\) ops\/sec.*$/\1/p' "$tmp/db_bench.txt")
  [ -n "$ops" ] || die "no ops/sec in db_bench's output: $(tail -3 "$tmp/db_bench.txt")"
  echo "$ops"
}

median() {
  sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'
}

echo "bench-state: durable increments through the gateway vs db_bench fillrandom, in $tmp"
echo "  $(df -h "$tmp" | awk 'NR==2 {print "disk: " $1 " (" $2 ", mounted on " $6 ")"}'), cores: $(nproc), $rounds rounds of $duration s per side"
echo "  load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# db_bench's WAL grows into keep-size preallocation; the store's fills
# preallocation with the size set (docs/architecture.md, "The WAL's space").
sync_cost=$("$sync_cost_bin" "$tmp" 1000) || die "troupe_bench_sync_cost failed"
echo "  $sync_cost"
echo "  (db_bench's WAL: keep-size; the store's WAL: size-set)"

summary=()
modes=(SYNC)
[ -n "${NO_BATCHED:-}" ] || modes+=(BATCHED)
for mode in "${modes[@]}"; do
  if [ "$mode" = SYNC ]; then module=$sync_module; sync=1; else module=$batched_module; sync=0; fi
  start_node "$module"
  node_rate 64 2 >/dev/null  # warm-up: every key activated and stored once
  for clients in 1 64; do
    anchors=(); nodes=(); ratios=()
    for r in $(seq "$rounds"); do
      a=$(anchor_rate "$clients" "$sync")
      t=$(node_rate "$clients" "$duration")
      ratio=$(awk -v t="$t" -v a="$a" 'BEGIN {printf "%.2f", (a > 0 ? t / a : 0)}')
      anchors+=("$a"); nodes+=("$t"); ratios+=("$ratio")
      printf '  %-7s %2d clients, round %d: db_bench --sync=%d %9.0f/s  gateway %9.0f/s  ratio %s\n' \
        "$mode" "$clients" "$r" "$sync" "$a" "$t" "$ratio"
    done
    ma=$(printf '%s\n' "${anchors[@]}" | median)
    mt=$(printf '%s\n' "${nodes[@]}" | median)
    mr=$(printf '%s\n' "${ratios[@]}" | median)
    if [ "$mode" = SYNC ]; then
      verdict=$(awk -v r="$mr" -v g="$goal" 'BEGIN {print (r >= g ? "PASS" : "BELOW")}')
      summary+=("$(printf '%-7s %2d clients: db_bench --sync=1 %9.0f/s  gateway %9.0f/s  ratio %.2f  goal >= %.1f  %s' \
        "$mode" "$clients" "$ma" "$mt" "$mr" "$goal" "$verdict")")
    else
      summary+=("$(printf '%-7s %2d clients: db_bench --sync=0 %9.0f/s  gateway %9.0f/s  ratio %.2f  (no goal)' \
        "$mode" "$clients" "$ma" "$mt" "$mr")")
    fi
  done
  figures=$(curl -s "http://127.0.0.1:$port/admin/v1/node" | tr ',' '\n' \
              | sed -n 's/.*"\(writesCommitted\|walSyncs\|commitRounds\)":"\{0,1\}\([0-9]*\).*/\1=\2/p' | tr '\n' ' ')
  echo "  $mode node's store: $figures"
  stop_process "$node_pid"
  node_pid=""
done

echo "  load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%s\n' "${summary[@]}"
