#!/usr/bin/env bash
# Checks that protoc-gen-troupe refuses bad service definitions with a clear
# one-line error, and accepts a good one.
#
#   check_plugin_errors.sh PLUGIN PROTOC [PROTO_DIR]
#
# PLUGIN: path of protoc-gen-troupe; PROTOC: path of protoc; PROTO_DIR: where
# troupe/options.proto lives (default: the proto/ folder of this source tree).
# Exits 0 when every case behaves, 1 otherwise (listing the failing cases).
set -u

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 PLUGIN PROTOC [PROTO_DIR]" >&2
  exit 2
fi
plugin=$1
protoc=$2
proto_dir=${3:-"$(cd "$(dirname "$0")/../../proto" && pwd)"}
for f in "$plugin" "$protoc"; do
  [[ -x $f ]] || { echo "$0: not an executable: $f" >&2; exit 2; }
done
[[ -f $proto_dir/troupe/options.proto ]] ||
  { echo "$0: no troupe/options.proto in $proto_dir" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/out"
failures=0

# Messages every case may use; the case's own text follows.
preamble='syntax = "proto3";
package check.v1;
import "troupe/options.proto";
message Req { string key = 1; string name = 2; }
message Resp { int32 value = 1; }'

run_protoc() {  # NAME BODY -> protoc's stderr in $work/NAME.err, its status returned
  printf '%s\n%s\n' "$preamble" "$2" > "$work/$1.proto"
  "$protoc" "--plugin=protoc-gen-troupe=$plugin" -I "$work" -I "$proto_dir" \
    "--troupe_out=$work/out" "$work/$1.proto" 2> "$work/$1.err"
}

# expect_error NAME EXPECTED_SUBSTRING BODY
expect_error() {
  if run_protoc "$1" "$3"; then
    echo "FAIL $1: protoc succeeded, expected an error containing: $2"
    failures=$((failures + 1))
  elif ! grep -qF -- "$1.proto:" "$work/$1.err" || ! grep -qF -- "$2" "$work/$1.err"; then
    echo "FAIL $1: expected an error naming $1.proto and containing: $2"
    sed 's/^/  | /' "$work/$1.err"
    failures=$((failures + 1))
  else
    echo "ok   $1: $(grep -F -- "$2" "$work/$1.err")"
  fi
}

expect_success() {  # NAME BODY
  if run_protoc "$1" "$2" && [[ -f $work/out/$1.troupe.h && -f $work/out/$1.troupe.cc ]]; then
    echo "ok   $1: accepted"
  else
    echo "FAIL $1: expected success"
    sed 's/^/  | /' "$work/$1.err"
    failures=$((failures + 1))
  fi
}

expect_success good '
service Good {
  option (troupe.service) = {kind: KEYED};
  rpc Add(Req) returns (Resp) { option (troupe.http) = {post: "/v1/good/{key}:add" body: "*"}; }
  rpc Get(Req) returns (Resp) { option (troupe.http) = {get: "/v1/good/{key}"}; }
  rpc Internal(Req) returns (Resp);
}'

expect_error no_service_option 'service check.v1.S: no (troupe.service) option' '
service S { rpc M(Req) returns (Resp); }'

expect_error kind_unspecified 'service check.v1.S: (troupe.service) kind is unspecified' '
service S { option (troupe.service) = {instances: 2}; rpc M(Req) returns (Resp); }'

expect_error keyed_route_without_key 'rpc M: route "GET /v1/things/{name}" of a KEYED service must bind the actor key with {key}' '
service S {
  option (troupe.service) = {kind: KEYED};
  rpc M(Req) returns (Resp) { option (troupe.http) = {get: "/v1/things/{name}"}; }
}'

expect_error route_without_verb 'rpc M: (troupe.http) sets no verb' '
service S {
  option (troupe.service) = {kind: STATELESS};
  rpc M(Req) returns (Resp) { option (troupe.http) = {body: "*"}; }
}'

expect_error route_without_slash 'rpc M: route "GET v1/things": bad route template "v1/things": must begin with '"'"'/'"'"'' '
service S {
  option (troupe.service) = {kind: STATELESS};
  rpc M(Req) returns (Resp) { option (troupe.http) = {get: "v1/things"}; }
}'

expect_error client_streaming 'rpc M: streaming rpcs are not supported' '
service S { option (troupe.service) = {kind: STATELESS}; rpc M(stream Req) returns (Resp); }'

expect_error server_streaming 'rpc M: streaming rpcs are not supported' '
service S { option (troupe.service) = {kind: STATELESS}; rpc M(Req) returns (stream Resp); }'

expect_error unknown_route_field 'binds {nam}, but check.v1.Req has no field nam' '
service S {
  option (troupe.service) = {kind: STATELESS};
  rpc M(Req) returns (Resp) { option (troupe.http) = {get: "/v1/things/{nam}"}; }
}'

expect_error get_with_body 'route "GET /v1/things" cannot take a body' '
service S {
  option (troupe.service) = {kind: STATELESS};
  rpc M(Req) returns (Resp) { option (troupe.http) = {get: "/v1/things" body: "*"}; }
}'

expect_error duplicate_route 'rpc N: route "GET /v1/things" is already the route of another rpc' '
service S {
  option (troupe.service) = {kind: STATELESS};
  rpc M(Req) returns (Resp) { option (troupe.http) = {get: "/v1/things"}; }
  rpc N(Req) returns (Resp) { option (troupe.http) = {get: "/v1/things"}; }
}'

expect_error state_on_stateless 'state "Resp" is declared, but only a KEYED service has state' '
service S {
  option (troupe.service) = {kind: STATELESS state: {type: "Resp"}};
  rpc M(Req) returns (Resp);
}'

expect_error unknown_state_type 'state type "Nope" is not a message defined in this file' '
service S {
  option (troupe.service) = {kind: KEYED state: {type: "Nope"}};
  rpc M(Req) returns (Resp);
}'

expect_error batch_interval_without_batched 'batch_interval_ms is set, but durability is not BATCHED' '
service S {
  option (troupe.service) = {kind: KEYED state: {type: "Resp" batch_interval_ms: 50}};
  rpc M(Req) returns (Resp);
}'

expect_error reserved_state_name 'rpc state: the name is reserved by the generated base class' '
service S {
  option (troupe.service) = {kind: KEYED state: {type: "Resp"}};
  rpc state(Req) returns (Resp);
}'

# The state type resolves like a field type: relative to the package, or in full.
expect_success keyed_state_relative '
service S {
  option (troupe.service) = {kind: KEYED state: {type: "Resp"}};
  rpc M(Req) returns (Resp);
}'
if ! grep -qF 'public ::troupe::keyed_state< ::check::v1::Resp>' "$work/out/keyed_state_relative.troupe.h" \
   && ! grep -qF 'public ::troupe::keyed_state<::check::v1::Resp>' "$work/out/keyed_state_relative.troupe.h"; then
  echo "FAIL keyed_state_relative: the base class does not derive from keyed_state<::check::v1::Resp>"
  failures=$((failures + 1))
fi

expect_success keyed_state_full_name '
service S {
  option (troupe.service) = {kind: KEYED state: {type: "check.v1.Resp" durability: BATCHED batch_interval_ms: 20}};
  rpc M(Req) returns (Resp);
}'

expect_success blocking_services '
service Files {
  option (troupe.service) = {kind: STATELESS blocking: true threads: 8};
  rpc Read(Req) returns (Resp);
}
service Accounts {
  option (troupe.service) = {kind: KEYED blocking: true threads: 4 max_activations: 500};
  rpc Get(Req) returns (Resp) { option (troupe.http) = {get: "/v1/accounts/{key}"}; }
}
service Defaults {
  option (troupe.service) = {kind: STATELESS blocking: true instances: 3};
  rpc Read(Req) returns (Resp);
}'

expect_error threads_without_blocking 'service check.v1.S: threads (4) is for a blocking service' '
service S { option (troupe.service) = {kind: STATELESS threads: 4}; rpc M(Req) returns (Resp); }'

expect_error too_many_threads 'service check.v1.S: threads (1000) exceeds 256' '
service S {
  option (troupe.service) = {kind: KEYED blocking: true threads: 1000};
  rpc M(Req) returns (Resp);
}'

expect_error instances_differ_from_threads 'instances (2) differs from threads (8)' '
service S {
  option (troupe.service) = {kind: STATELESS blocking: true instances: 2 threads: 8};
  rpc M(Req) returns (Resp);
}'

expect_error stateless_max_activations 'service check.v1.S: max_activations bounds a KEYED service' '
service S {
  option (troupe.service) = {kind: STATELESS max_activations: 10};
  rpc M(Req) returns (Resp);
}'

if [[ $failures -ne 0 ]]; then
  echo "$failures case(s) failed"
  exit 1
fi
echo "all cases passed"
