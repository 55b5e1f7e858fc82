#!/usr/bin/env bash
# README.md's "Writing a module" shows the project that CI builds
# (tests/out_of_tree): each of its files appears in the README verbatim.
#
# usage: readme_walkthrough.sh SOURCE_DIR
set -euo pipefail
source_dir=$(cd "$1" && pwd)
status=0
for f in CMakeLists.txt shop.proto shop.cpp; do
  if ! awk -v file="$source_dir/tests/out_of_tree/$f" '
        BEGIN { RS = "^$"; getline wanted < file }
        { found = index($0, wanted) > 0 }
        END { exit found ? 0 : 1 }' "$source_dir/README.md"; then
    echo "FAIL: README.md does not show tests/out_of_tree/$f as it is" >&2
    status=1
  fi
done
exit $status
