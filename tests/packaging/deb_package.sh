#!/usr/bin/env bash
# `make package`: builds the .deb with the build's CPack configuration, checks
# its name, fields and file list, unpacks it into a scratch root (dpkg -x) and
# runs the unpacked `troupe --version`, then builds tests/out_of_tree against
# the unpacked SDK and calls it through the unpacked node. Where apt has the
# Debian archive's package lists, also asks apt whether `apt install` of the
# .deb would succeed on a machine with nothing installed (a fresh Debian 12).
#
# usage: deb_package.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
version=$3
source "$source_dir/tests/packaging/lib.sh"

for tool in cpack dpkg-deb dpkg; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh)"
done

run "$scratch/cpack.log" cpack -G DEB --config "$build/CPackConfig.cmake" -B "$scratch/out"
deb=$scratch/out/troupe_${version}_$(dpkg --print-architecture).deb
[[ -f $deb ]] || fail "cpack made $(ls "$scratch/out"/*.deb 2>/dev/null || echo nothing), not $deb"

field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == troupe ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || fail "Version: $(field Version)"
depends=$(field Depends)
# The node's shared libraries (found by dpkg-shlibdeps) and what
# troupe_add_module() needs (protoc, protobuf headers).
for dep in 'libcaf-core[0-9.]*' 'libprotobuf[0-9]+' 'libboost-program-options[0-9.]+' \
           'libedit[0-9]+' 'libprotobuf-dev' 'protobuf-compiler'; do
  [[ ", $depends," =~ ,\ $dep[\ ,] ]] || fail "Depends lacks $dep: $depends"
done

listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
expect_file() {
  grep -qxF "./usr/$1" <<<"$listing" || fail ".deb lacks /usr/$1"
}
expect_file bin/troupe
expect_file bin/protoc-gen-troupe
expect_file lib/libtroupe_sdk.so
grep -qx '\./usr/lib/libtroupe_sdk\.so\.[0-9]*' <<<"$listing" || fail ".deb lacks /usr/lib/libtroupe_sdk.so.N"
expect_file include/troupe/options.pb.h
expect_file include/troupe/options.proto
while IFS= read -r header; do
  expect_file "include/troupe/${header#"$source_dir/actors/include/troupe/"}"
done < <(find "$source_dir/actors/include/troupe" -name '*.hpp')
for f in TroupeConfig TroupeConfigVersion TroupeTargets TroupeModule; do
  expect_file "lib/cmake/Troupe/$f.cmake"
done

root=$scratch/root
dpkg -x "$deb" "$root"
printed=$(env -u LD_LIBRARY_PATH "$root/usr/bin/troupe" --version) \
  || fail "unpacked troupe --version failed"
[[ $printed == "troupe $version" ]] || fail "unpacked troupe --version printed '$printed'"

build_shop "$root/usr" "$source_dir/tests/out_of_tree" "$scratch/shop"
mkdir -p "$scratch/data"
start_node "$scratch/data" "$root/usr/bin/troupe" node --module "$shop_module"
expect_sdk_from "$node_pid" "$root/usr/lib"
call_shop
stop_node

lists=(/var/lib/apt/lists/*_Packages*)
if command -v apt-get >/dev/null && [[ -e ${lists[0]} ]]; then
  : >"$scratch/empty-status"
  run "$scratch/apt.log" apt-get -s -o Dir::State::status="$scratch/empty-status" install "$deb"
  grep -q '^Inst troupe ' "$scratch/apt.log" || { cat "$scratch/apt.log" >&2; fail "apt would not install the .deb"; }
  echo "apt: the .deb's dependencies resolve on an empty Debian system"
else
  echo "apt: no package lists here; the install simulation was not run"
fi
echo "ok: $(basename "$deb")"
