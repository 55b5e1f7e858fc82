#!/usr/bin/env bash
# bench/gateway/run.sh BUILD_DIR — HTTP through the gateway to an actor and
# back, against nginx returning the same small JSON body, in one run.
#
# Anchor: nginx with ONE worker answering GET /v1/counters/bench with
# {"value":42} (application/json) from its config. Troupe: `troupe node` with
# the counter example, key "bench" set to 42, the same GET route, which goes
# gateway -> envelope -> keyed shard -> activation -> JSON reply.
# Both get `wrk -t1 -c64 --latency` (keep-alive) for DURATION (default 5s)
# per round after a short warm-up, in ROUNDS (default 3) rounds that
# alternate between the sides. Prints each round's requests/s and p99 of
# both, the medians, and the median of the rounds' ratios troupe/nginx
# against the goal (>= 0.5), and troupe's median p99 against <= 5 ms. Exits
# non-zero only when the benchmark could not run or got error responses,
# never for a missed goal.
# NODE_FLAGS adds flags to `troupe node` for experiments (e.g.
# NODE_FLAGS="--scheduler-threads 2"); recorded results use none.
#
# Everything listens on 127.0.0.1 only; all files live in one temporary
# directory, removed on exit together with the processes started here.
set -euo pipefail

usage() {
  echo "usage: bench/gateway/run.sh BUILD_DIR   (env: DURATION=5s per side and round, ROUNDS=3, NODE_FLAGS=)" >&2
  exit 2
}
die() { echo "bench-gateway: $*" >&2; exit 1; }

[ $# -eq 1 ] || usage
build=$1
duration=${DURATION:-5s}
rounds=${ROUNDS:-3}
warmup=2s
goal=0.5
troupe_bin=$build/program/troupe
module=$build/examples/libcounter.so
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

[[ $duration =~ ^[0-9]+[smh]?$ ]] || die "DURATION must be like 10s, 30s or 1m, not '$duration'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive whole number, not '$rounds'"
[ -x "$troupe_bin" ] || die "$troupe_bin not found: build first (make build)"
[ -f "$module" ] || die "$module not found: build first (make build)"
[ -x "$nginx_bin" ] || die "nginx not found: run deploy/install-deps.sh"
for tool in wrk curl awk; do
  command -v "$tool" >/dev/null || die "$tool not found: run deploy/install-deps.sh"
done

tmp=$(mktemp -d /tmp/troupe-bench-gateway.XXXXXX)
nginx_pid=""
node_pid=""
wrk_pid=""

# Stops a process started here: SIGTERM, up to 15 s to finish (the node
# drains for up to its 10 s shutdown timeout), then SIGKILL.
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
  stop_process "$wrk_pid"
  stop_process "$node_pid"
  stop_process "$nginx_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Is something listening on 127.0.0.1:$1? (bash's /dev/tcp: no extra tool)
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits up to 10 s until GET $1 answers 200; fails early when process $2 died.
wait_for_200() {
  local url=$1 pid=$2
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

# -- nginx: one worker, its own config and prefix in $tmp ---------------------

start_nginx() {
  local port=$1
  mkdir -p "$tmp/nginx"
  cat >"$tmp/nginx/nginx.conf" <<EOF
# Written by bench/gateway/run.sh; runs in the foreground, killed after.
daemon off;
master_process on;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events {
  worker_connections 1024;
}
http {
  access_log off;
  client_body_temp_path $tmp/nginx/client_body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  # Keep connections open for the whole run, as the gateway does (nginx's
  # default closes one after 1000 requests).
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$port;
    location = /v1/counters/bench {
      default_type application/json;
      return 200 '{"value":42}';
    }
  }
}
EOF
  "$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" \
    >"$tmp/nginx/stdout.log" 2>&1 &
  nginx_pid=$!
  wait_for_200 "http://127.0.0.1:$port/v1/counters/bench" "$nginx_pid"
}

# A free port is one nothing listens on; should another process take it
# before nginx binds, nginx exits and the next candidate is tried.
nginx_port=""
for _ in $(seq 20); do
  candidate=$((20000 + RANDOM % 40000))
  port_in_use "$candidate" && continue
  if start_nginx "$candidate"; then
    nginx_port=$candidate
    break
  fi
  stop_process "$nginx_pid"
  nginx_pid=""
done
[ -n "$nginx_port" ] || die "nginx did not start; last error log:
$(cat "$tmp/nginx/error.log" "$tmp/nginx/stdout.log" 2>/dev/null | tail -5)"
nginx_url="http://127.0.0.1:$nginx_port/v1/counters/bench"

# -- troupe node with the counter module ---------------------------------------

# shellcheck disable=SC2086 # NODE_FLAGS is a list of words
"$troupe_bin" node --http 127.0.0.1:0 --data "$tmp/data" --module "$module" \
  --log-level warn ${NODE_FLAGS:-} >"$tmp/node.out" 2>"$tmp/node.err" &
node_pid=$!
node_base=""
for _ in $(seq 300); do
  node_base=$(sed -n 's/^troupe node .* ready: \(http:\/\/127\.0\.0\.1:[0-9]*\).*$/\1/p' \
                "$tmp/node.out" | head -1)
  [ -n "$node_base" ] && break
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$node_base" ] || die "troupe node did not become ready:
$(tail -5 "$tmp/node.err")"
troupe_url="$node_base/v1/counters/bench"

added=$(curl -s -X POST -H 'Content-Type: application/json' -d '{"delta":42}' \
          "$node_base/v1/counters/bench:add" | tr -d ' \n')
[ "$added" = '{"value":42}' ] || die "adding 42 to counter bench answered: $added"
for url in "$nginx_url" "$troupe_url"; do
  body=$(curl -s "$url" | tr -d ' \n')
  [ "$body" = '{"value":42}' ] || die "GET $url answered: $body"
done

# -- wrk ------------------------------------------------------------------------

# Runs wrk against $1 for $3, report in $2. In the background, so that a
# signal to this script ends the run at once (bash runs traps only between
# foreground commands, but during `wait`).
run_wrk() {
  wrk -t1 -c64 -d"$3" --latency "$1" >"$2" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || die "wrk against $1 failed: $(tail -3 "$2")"
  wrk_pid=""
}

# Requests/s, p99 in ms, non-2xx responses and socket errors (connect, read,
# write, timeout) from one wrk report.
parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/)  return substr(v, 1, length(v) - 1) * 1000
      if (v ~ /m$/)  return substr(v, 1, length(v) - 1) * 60000
      return -1
    }
    $1 == "Requests/sec:" { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ {
      gsub(",", "")
      socket = $4 + $6 + $8 + $10
    }
    END { printf "%s %s %d %d\n", rps, p99, bad, socket }
  ' "$1"
}

echo "bench-gateway: $rounds rounds of wrk -t1 -c64 -d$duration --latency per side, keep-alive, on $(nproc) cores"
echo "  nginx  (1 worker): $nginx_url"
echo "  troupe (gateway) : $troupe_url${NODE_FLAGS:+ (node flags: $NODE_FLAGS)}"
echo "  load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

run_wrk "$nginx_url" "$tmp/warm-nginx.txt" "$warmup"
run_wrk "$troupe_url" "$tmp/warm-troupe.txt" "$warmup"
# Rounds alternate between the sides, so that a change in the machine's
# speed hits both alike; the ratio is the median of the rounds' ratios.
nginx_bad=0 nginx_socket=0 troupe_bad=0 troupe_socket=0
: >"$tmp/rounds.txt"
for round in $(seq "$rounds"); do
  run_wrk "$nginx_url" "$tmp/nginx-$round.txt" "$duration"
  run_wrk "$troupe_url" "$tmp/troupe-$round.txt" "$duration"
  read -r n_rps n_p99 n_bad n_socket < <(parse_wrk "$tmp/nginx-$round.txt")
  read -r t_rps t_p99 t_bad t_socket < <(parse_wrk "$tmp/troupe-$round.txt")
  if [ -z "$n_rps" ] || [ -z "$t_rps" ]; then
    die "could not read the wrk reports of round $round"
  fi
  echo "$n_rps $n_p99 $t_rps $t_p99" >>"$tmp/rounds.txt"
  nginx_bad=$((nginx_bad + n_bad)) nginx_socket=$((nginx_socket + n_socket))
  troupe_bad=$((troupe_bad + t_bad)) troupe_socket=$((troupe_socket + t_socket))
done
echo "  load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

# One line per round, then the medians (troupe's worst p99 is printed too).
awk -v goal="$goal" '
  function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    n++
    nr[n] = $1; np[n] = $2; tr[n] = $3; tp[n] = $4; ratio[n] = $3 / $1
    if ($4 > worst) worst = $4
    line[n] = sprintf("round %-14d %12.0f %10.2f %12.0f %10.2f %7.2f", n, $1, $2, $3, $4, ratio[n])
  }
  END {
    printf "\n%-20s %12s %10s %12s %10s %7s\n", "", "nginx req/s", "p99 ms", "troupe req/s", "p99 ms", "ratio"
    for (i = 1; i <= n; i++) print line[i]
    r = median(ratio, n)
    printf "%-20s %12.0f %10.2f %12.0f %10.2f %7.2f\n", "median", median(nr, n), median(np, n),
           median(tr, n), median(tp, n), r
    printf "\nratio troupe/nginx requests/s: %.2f (goal >= %.1f) %s\n",
           r, goal, (r >= goal ? "PASS" : "BELOW")
    p = median(tp, n)
    printf "troupe p99 %.2f ms, median of the rounds; worst round %.2f ms (goal <= 5 ms) %s\n",
           p, worst, (p <= 5 ? "PASS" : "BELOW")
  }' "$tmp/rounds.txt"

# Socket errors (wrk's 2 s timeouts, mostly) are part of the result; error
# responses mean the run measured something else than the route.
if [ "$nginx_socket" -ne 0 ] || [ "$troupe_socket" -ne 0 ]; then
  echo "socket errors: nginx $nginx_socket, troupe $troupe_socket (see wrk's report)"
fi
if [ "$nginx_bad" -ne 0 ] || [ "$troupe_bad" -ne 0 ]; then
  echo "bench-gateway: non-2xx responses (nginx $nginx_bad, troupe $troupe_bad):" \
       "the numbers above are not valid" >&2
  exit 1
fi
