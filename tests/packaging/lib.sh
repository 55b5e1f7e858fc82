# Helpers for the packaging tests, sourced by them: a scratch directory that
# is removed on exit, building the out-of-tree module project against an
# installed Troupe, and a node started from an installed `troupe`, called with
# curl and stopped with SIGTERM.
#
# Every wait is a poll with a bound; the node is killed on any exit path.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/troupe-packaging.XXXXXX")
node_pid=""
cleanup() {
  if [[ -n $node_pid ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -KILL "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# run LOG CMD...: runs CMD with its output in LOG, shown only if it fails.
run() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "command failed: $*"
  fi
}

# build_shop PREFIX SRC DIR: copies the project SRC (tests/out_of_tree) into
# DIR/src, outside the Troupe tree, and builds it in DIR/build with
# CMAKE_PREFIX_PATH=PREFIX, checking that find_package took Troupe from PREFIX.
# Sets shop_module to the built module.
build_shop() {
  local prefix=$1 src=$2 dir=$3
  mkdir -p "$dir"
  cp -r "$src" "$dir/src"
  run "$dir/configure.log" cmake -S "$dir/src" -B "$dir/build" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
  local found
  found=$(sed -n 's/^Troupe_DIR:PATH=//p' "$dir/build/CMakeCache.txt")
  [[ $found -ef $prefix/lib/cmake/Troupe ]] \
    || fail "find_package(Troupe) used '$found', not $prefix/lib/cmake/Troupe"
  run "$dir/build.log" cmake --build "$dir/build" -j 2
  shop_module=$dir/build/libshop.so
  [[ -f $shop_module ]] || fail "no libshop.so in $dir/build"
}

# start_node DATA_DIR COMMAND...: starts COMMAND (an installed `troupe node`
# with its arguments) with the gateway on 127.0.0.1 (a free port) and its data
# in DATA_DIR, waits (bounded) for its ready line, and sets node_pid and
# node_url.
start_node() {
  local data=$1
  shift
  # Created here: the background job opens them only once it runs.
  : >"$scratch/node.out"
  : >"$scratch/node.err"
  env -u LD_LIBRARY_PATH "$@" --http 127.0.0.1:0 --data "$data" \
    >>"$scratch/node.out" 2>>"$scratch/node.err" &
  node_pid=$!
  node_url=""
  local i
  for ((i = 0; i < 300; i++)); do
    node_url=$(sed -n 's/^troupe node .* ready: \(http:.*\)$/\1/p' "$scratch/node.out")
    [[ -n $node_url ]] && return 0
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$scratch/node.err" >&2
  fail "node did not print its ready line ($*)"
}

# stop_node: SIGTERM, then waits (bounded) for the exit; the node must exit 0.
stop_node() {
  kill -TERM "$node_pid"
  local i state
  for ((i = 0; i < 200; i++)); do
    state=$(awk '{print $3}' "/proc/$node_pid/stat" 2>/dev/null || echo gone)
    [[ $state == Z || $state == gone ]] && break
    sleep 0.1
  done
  local status=0
  if [[ $state != Z && $state != gone ]]; then
    kill -KILL "$node_pid"
    wait "$node_pid" 2>/dev/null || true
    node_pid=""
    fail "node did not exit within 20 s of SIGTERM"
  fi
  wait "$node_pid" || status=$?
  node_pid=""
  [[ $status -eq 0 ]] || { cat "$scratch/node.err" >&2; fail "node exited $status after SIGTERM"; }
}

# expect_call EXPECTED_STATUS EXPECTED_BODY CURL_ARGS...: one request to the
# node; its status and body must be exactly the expected ones.
expect_call() {
  local want_status=$1 want_body=$2
  shift 2
  local out status body
  out=$(curl -sS --max-time 10 -w '\n%{http_code}' "$@") || fail "curl $* failed"
  status=${out##*$'\n'}
  body=${out%$'\n'*}
  [[ $status == "$want_status" && $body == "$want_body" ]] \
    || fail "curl $*: got $status $body; want $want_status $want_body"
}

# expect_refusal STATUS DETAIL CURL_ARGS...: the node answers STATUS with a
# problem+json body whose detail is DETAIL.
expect_refusal() {
  local want_status=$1 want_detail=$2
  shift 2
  local out
  out=$(curl -sS --max-time 10 -w '\n%{http_code} %{content_type}' "$@") || fail "curl $* failed"
  [[ ${out##*$'\n'} == "$want_status application/problem+json" \
     && ${out%$'\n'*} == *"\"detail\":\"$want_detail\""* ]] \
    || fail "curl $*: got $out; want $want_status problem+json with detail '$want_detail'"
}

# call_shop: the module's two routes, its refusal, and a second key untouched.
call_shop() {
  local json=(-H 'Content-Type: application/json')
  expect_call 200 '{"lines":[{"item":"apple","quantity":3}],"total":3}' \
    -X POST "$node_url/v1/carts/ada/items" "${json[@]}" -d '{"item":"apple","quantity":3}'
  expect_call 200 '{"lines":[{"item":"apple","quantity":3},{"item":"pear","quantity":2}],"total":5}' \
    -X POST "$node_url/v1/carts/ada/items" "${json[@]}" -d '{"item":"pear","quantity":2}'
  expect_call 200 '{"lines":[{"item":"apple","quantity":3},{"item":"pear","quantity":2}],"total":5}' \
    "$node_url/v1/carts/ada"
  expect_refusal 400 'quantity: 1 to 99 of an item per cart' \
    -X POST "$node_url/v1/carts/ada/items" "${json[@]}" -d '{"item":"pear","quantity":98}'
  expect_call 200 '{"lines":[],"total":0}' "$node_url/v1/carts/bob"
}

# expect_mapped PID PATH: the process has PATH mapped (a library it loaded).
expect_mapped() {
  local pid=$1 path
  path=$(readlink -f "$2")
  grep -qF " $path" "/proc/$pid/maps" \
    || fail "process $pid did not load $path"
}

# expect_sdk_from PID DIR: the process loaded libtroupe_sdk.so.N from DIR,
# and from nowhere else.
expect_sdk_from() {
  local pid=$1 dir loaded
  dir=$(readlink -f "$2")
  loaded=$(grep -o '/[^ ]*/libtroupe_sdk\.so[^ ]*' "/proc/$pid/maps" | sort -u)
  [[ -n $loaded && $(dirname $loaded) == "$dir" ]] \
    || fail "process $pid loaded the SDK from '${loaded//$'\n'/ }', not from $dir"
}
