#!/usr/bin/env bash
# bench/overload/run.sh BUILD_DIR — offered load past the node's capacity on
# the counter route: does the node keep its goodput and the latency of the
# calls it accepts, shedding the rest (503), as Envoy's overload manager and
# Orleans' load shedding promise?
#
# Starts `troupe node` with the counter example (plus NODE_FLAGS, e.g.
# NODE_FLAGS="--max-inflight 256" once the runtime sheds calls), then drives
# it with troupe_bench_overload (bench/overload/main.cpp), POST
# /v1/counters/k<i>:add over KEYS keys:
#   1. capacity: closed loop on CAP_CONNECTIONS connections for DURATION:
#      the peak goodput P (2xx/s);
#   2. unloaded: open loop at P/10: the reference p99;
#   3. open loop at 1x, 2x and 4x P on CONNECTIONS connections, DURATION
#      each, latency counted from each request's due time (no coordinated
#      omission).
# Prints per phase: offered and sent rate, goodput, shed rate (503/s), other
# answers and errors, requests never sent, p50/p99 of the accepted (2xx)
# calls; then the goals: goodput at 4x >= 90% of P, p99 of accepted calls at
# 4x <= 10x the unloaded p99. A missed goal is a result (exit 0); exit 1 only
# when the benchmark could not run.
#
# Everything listens on 127.0.0.1; the node's files live in a temporary
# directory removed on exit with the node.
set -euo pipefail

usage() {
  echo "usage: bench/overload/run.sh BUILD_DIR   (env: DURATION=5 s per phase, CONNECTIONS=512, CAP_CONNECTIONS=CONNECTIONS, KEYS=1000, NODE_FLAGS=)" >&2
  exit 2
}
die() { echo "bench-overload: $*" >&2; exit 1; }

[ $# -eq 1 ] || usage
build=$1
duration=${DURATION:-5}
connections=${CONNECTIONS:-512}
cap_connections=${CAP_CONNECTIONS:-$connections}
keys=${KEYS:-1000}
troupe_bin=$build/program/troupe
module=$build/examples/libcounter.so
load_bin=$build/bench/overload/troupe_bench_overload

for n in "$duration" "$connections" "$cap_connections" "$keys"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "DURATION, CONNECTIONS, CAP_CONNECTIONS and KEYS must be positive whole numbers, not '$n'"
done
[ -x "$troupe_bin" ] || die "$troupe_bin not found: build first (make build)"
[ -f "$module" ] || die "$module not found: build first (make build)"
[ -x "$load_bin" ] || die "$load_bin not found: build first (make build)"
command -v curl >/dev/null || die "curl not found: run deploy/install-deps.sh"

tmp=$(mktemp -d /tmp/troupe-bench-overload.XXXXXX)
node_pid=""
load_pid=""

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
  stop_process "$load_pid"
  stop_process "$node_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The node's descriptor limit decides its default connection limit: CONNECTIONS
# must fit under it, or the run measures refusals of connections.
# shellcheck disable=SC2086 # NODE_FLAGS is a list of words
"$troupe_bin" node --http 127.0.0.1:0 --data "$tmp/data" --module "$module" \
  --log-level warn ${NODE_FLAGS:-} >"$tmp/node.out" 2>"$tmp/node.err" &
node_pid=$!
base=""
for _ in $(seq 300); do
  base=$(sed -n 's/^troupe node .* ready: \(http:\/\/127\.0\.0\.1:[0-9]*\).*$/\1/p' \
           "$tmp/node.out" | head -1)
  [ -n "$base" ] && break
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$base" ] || die "troupe node did not become ready:
$(tail -5 "$tmp/node.err")"
port=${base##*:}
answer=$(curl -s -X POST -H 'Content-Type: application/json' -d '{"delta":1}' \
           "$base/v1/counters/k0:add" | tr -d ' \n')
[ "$answer" = '{"value":1}' ] || die "the counter route answered: $answer"

# Runs one phase (rate 0: closed loop) in the background, so that a signal
# ends it at once; prints the generator's key=value line.
phase() {
  local rate=$1 conns=$2 seconds=$3
  "$load_bin" --port "$port" --rate "$rate" --duration "$seconds" --connections "$conns" \
    --keys "$keys" >"$tmp/phase.txt" 2>"$tmp/phase.err" &
  load_pid=$!
  wait "$load_pid" || die "the load generator failed: $(tail -3 "$tmp/phase.err")"
  load_pid=""
  cat "$tmp/phase.txt"
}
field() {  # field NAME LINE
  tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"
}

echo "bench-overload: counter route POST /v1/counters/k<i>:add, $keys keys, on $(nproc) cores"
echo "  node: $base${NODE_FLAGS:+ (node flags: $NODE_FLAGS)}"
echo "  load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

phase 0 "$cap_connections" 2 >/dev/null  # warm-up
capacity_line=$(phase 0 "$cap_connections" "$duration")
peak=$(field goodput "$capacity_line")
[ "${peak%.*}" -gt 0 ] || die "no 2xx answers while finding the capacity: $capacity_line"
unloaded_rate=$(( ${peak%.*} / 10 ))
unloaded_line=$(phase "$unloaded_rate" "$connections" "$duration")
lines=("$capacity_line" "$unloaded_line")
labels=("capacity (closed loop, $cap_connections conns)" "unloaded (0.1x)")
for x in 1 2 4; do
  lines+=("$(phase $(( ${peak%.*} * x )) "$connections" "$duration")")
  labels+=("${x}x capacity")
done
echo "  load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

printf '\n%-34s %9s %9s %9s %9s %7s %9s %9s %9s\n' phase "offered/s" "sent/s" "2xx/s" "503/s" other unsent "p50 ms" "p99 ms"
for i in "${!lines[@]}"; do
  l=${lines[$i]}
  offered=$(field offered "$l")
  [ "$offered" = 0 ] && offered="-"
  printf '%-34s %9s %9s %9s %9s %7s %9s %9s %9s\n' "${labels[$i]}" "$offered" \
    "$(field sent "$l")" "$(field goodput "$l")" "$(field shed_rate "$l")" \
    "$(( $(field other "$l") + $(field errors "$l") ))" "$(field unsent "$l")" \
    "$(field p50_ms "$l")" "$(field p99_ms "$l")"
done

four=${lines[4]}
awk -v peak="$peak" -v good="$(field goodput "$four")" \
    -v p99="$(field p99_ms "$four")" -v ref="$(field p99_ms "$unloaded_line")" '
  BEGIN {
    g = good / peak
    printf "\ngoodput at 4x: %.0f/s = %.2f of the peak %.0f/s (goal >= 0.90) %s\n",
           good, g, peak, (g >= 0.9 ? "PASS" : "BELOW")
    r = (ref > 0 ? p99 / ref : 0)
    printf "p99 of accepted calls at 4x: %.2f ms = %.1fx the unloaded p99 %.2f ms (goal <= 10x) %s\n",
           p99, r, ref, (ref > 0 && r <= 10 ? "PASS" : "BELOW")
  }'
refused=$(curl -s "$base/admin/v1/node" | tr ',' '\n' | sed -n 's/.*"httpConnectionsRefused":"\{0,1\}\([0-9]*\).*/\1/p')
echo "connections refused by the node during the run: ${refused:-?}"
