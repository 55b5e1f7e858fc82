#!/usr/bin/env bash
# What of deploy/Dockerfile runs without a Docker engine:
#  - the build stage's staging step (deploy/docker-build-stage.sh, reusing
#    this build tree instead of configuring and building afresh),
#  - that the runtime stage's apt packages provide every shared library the
#    staged files need beyond the base image's C and C++ runtime,
#  - the image's entrypoint and node.conf, run from the staged root with the
#    example module in /modules, called with curl,
#  - that node.conf, VOLUME, EXPOSE and USER agree.
# Not run here: `docker build` itself, install-deps.sh on a fresh image, and
# the fresh configure + build (the same commands `make build` runs, with
# BUILD_TESTING=OFF).
#
# usage: docker_build_stage.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
source "$source_dir/tests/packaging/lib.sh"
dockerfile=$source_dir/deploy/Dockerfile

# The Dockerfile's parts this test relies on.
grep -qx 'FROM debian:bookworm AS build' "$dockerfile" || fail "Dockerfile: no 'FROM debian:bookworm AS build'"
grep -qx 'RUN bash deploy/install-deps.sh' "$dockerfile" || fail "Dockerfile: the build stage does not run deploy/install-deps.sh"
grep -qx 'RUN bash deploy/docker-build-stage.sh /src /build /stage' "$dockerfile" \
  || fail "Dockerfile: the build stage does not run deploy/docker-build-stage.sh into /stage"
grep -qx 'COPY --from=build /stage/ /' "$dockerfile" || fail "Dockerfile: the runtime stage does not copy /stage"
[[ $(grep -c '^FROM ' "$dockerfile") -eq 2 && $(grep '^FROM ' "$dockerfile" | tail -1) == "FROM debian:bookworm"* ]] \
  || fail "Dockerfile: want two stages, the second on debian:bookworm"
user=$(sed -n 's/^USER \(.*\)$/\1/p' "$dockerfile")
[[ -n $user && $user != root && $user != 0 && $user != 0:* ]] || fail "Dockerfile: runs as '${user:-root}', not a user of its own"
volume=$(sed -n 's/^VOLUME \["\(.*\)"\]$/\1/p' "$dockerfile")
port=$(sed -n 's/^EXPOSE \([0-9]*\)$/\1/p' "$dockerfile")
read -r -a entrypoint < <(sed -n 's/^ENTRYPOINT \[\(.*\)\]$/\1/p' "$dockerfile" | tr -d '",')
[[ ${entrypoint[0]:-} == troupe && ${entrypoint[1]:-} == node ]] \
  || fail "Dockerfile: the entrypoint is '${entrypoint[*]}', not troupe node"
packages=$(sed -n '/--no-install-recommends/,/&&/p' "$dockerfile" | tr -s ' \\\n' '\n' \
  | grep -v -e '^-' -e '^/' -e '^&&' -e '^$' -e '=' -e '^apt-get$' -e '^install$' -e '^rm$')
[[ -n $packages ]] || fail "Dockerfile: no runtime packages found"

conf=$source_dir/deploy/node.conf
grep -qx "http = 0.0.0.0:$port" "$conf" || fail "node.conf: the gateway is not on 0.0.0.0:$port (EXPOSE)"
grep -qx "data = $volume" "$conf" || fail "node.conf: the data dir is not the VOLUME $volume"
grep -q "install -d -o $user -g $user $volume" "$dockerfile" || fail "Dockerfile: $volume is not owned by $user"

root=$scratch/stage
run "$scratch/stage.log" "$source_dir/deploy/docker-build-stage.sh" --reuse-build "$source_dir" "$build" "$root"
for f in usr/local/bin/troupe etc/troupe/node.conf modules/libcounter.so modules/libgreeter.so; do
  [[ -f $root/$f ]] || fail "the build stage did not stage /$f"
done
sdk_libs=("$root"/usr/local/lib/libtroupe_sdk.so.*)
[[ -f ${sdk_libs[0]} ]] || fail "the build stage did not stage /usr/local/lib/libtroupe_sdk.so.N"
[[ ! -e $root/usr/local/include ]] || fail "the runtime image would carry the SDK headers"

# Every library a staged binary needs comes from the image itself, the base
# image's C/C++ runtime, or a package the runtime stage installs.
base="libc6 libgcc-s1 libstdc++6"
while IFS= read -r elf; do
  while IFS= read -r needed; do
    [[ -e $root/usr/local/lib/$needed ]] && continue
    path=$(ldd "$elf" | awk -v lib="$needed" '$1 == lib {print $3}')
    [[ -n $path && -e $path ]] || fail "$elf needs $needed, which is not found here"
    owner=""
    for candidate in "$path" "$(readlink -f "$path")" "/usr${path#/usr}" "${path#/usr}"; do
      owner=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n $owner ]] && break
    done
    [[ -n $owner ]] || fail "no Debian package owns $path ($needed, needed by $elf)"
    grep -qxF "$owner" <<<"$packages"$'\n'"${base// /$'\n'}" \
      || fail "${elf#"$root"} needs $needed from $owner; add it to the runtime stage's apt-get install"
  done < <(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done < <(find "$root" -type f \( -name '*.so*' -o -path '*/bin/*' \))

# The entrypoint as the image runs it, its paths inside the staged root, with
# the node's gateway moved to loopback (flags win over node.conf).
command=()
for word in "${entrypoint[@]}"; do
  if [[ $word == troupe ]]; then
    command+=("$root/usr/local/bin/troupe")
  elif [[ $word == /* ]]; then
    command+=("$root$word")
  else
    command+=("$word")
  fi
done
mkdir -p "$scratch/data"
start_node "$scratch/data" "${command[@]}" --module "$root/modules/libcounter.so"
expect_sdk_from "$node_pid" "$root/usr/local/lib"
expect_call 200 '{"value":3}' -X POST "$node_url/v1/counters/apples:add" \
  -H 'Content-Type: application/json' -d '{"delta": 3}'
stop_node
echo "ok: the build stage's files run with the runtime stage's packages"
