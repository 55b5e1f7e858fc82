#!/usr/bin/env bash
# A module author's way, start to finish: install the build into a fresh
# prefix (cmake --install), build tests/out_of_tree (find_package(Troupe) +
# troupe_add_module, nothing else) from a folder outside the tree against that
# prefix, load the module into the INSTALLED troupe, call it with curl, stop
# the node with SIGTERM.
#
# usage: out_of_tree_module.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
source "$source_dir/tests/packaging/lib.sh"

prefix=$scratch/prefix
run "$scratch/install.log" cmake --install "$build" --prefix "$prefix"

version=$(env -u LD_LIBRARY_PATH "$prefix/bin/troupe" --version) \
  || fail "installed troupe --version failed"
[[ $version == "troupe "* ]] || fail "installed troupe --version printed '$version'"

# The compatibility rule (actors/README.md, "Versions"): while 0.x, a request
# is met by the releases of its minor version only.
version_number=${version#troupe }
IFS=. read -r major minor _ <<<"$version_number"
refused="${major}.$((minor + 1)) $((major + 1)).0"
((minor == 0)) || refused+=" ${major}.$((minor - 1))"
mkdir -p "$scratch/versions"
cat >"$scratch/versions/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.25)
project(versions CXX)
foreach(refused $refused)
  find_package(Troupe \${refused} QUIET)
  if(Troupe_FOUND)
    message(FATAL_ERROR "find_package(Troupe \${refused}) accepted \${Troupe_VERSION}")
  endif()
endforeach()
find_package(Troupe ${major}.${minor} REQUIRED)
find_package(Troupe ${version_number} EXACT REQUIRED)
EOT
run "$scratch/versions.log" cmake -S "$scratch/versions" -B "$scratch/versions/build" \
  -DCMAKE_PREFIX_PATH="$prefix"

build_shop "$prefix" "$source_dir/tests/out_of_tree" "$scratch/shop"
[[ $shop_module != "$source_dir"/* && $shop_module != "$build"/* ]] \
  || fail "the module was built inside the tree: $shop_module"

mkdir -p "$scratch/data"
start_node "$scratch/data" "$prefix/bin/troupe" node --module "$shop_module"
# The installed node runs on the installed SDK library (its RUNPATH), not on
# the build tree's, and the module binds to that same library.
expect_sdk_from "$node_pid" "$prefix/lib"
expect_mapped "$node_pid" "$shop_module"
call_shop
stop_node
echo "ok: module built outside the tree against $prefix, served by the installed troupe"
