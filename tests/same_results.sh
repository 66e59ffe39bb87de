#!/usr/bin/env bash
# Whether two results folders hold the same files with the same content, what may differ between
# runs of the same computation aside: checkpoint files, the provenance block of a JSON file
# (start time, seconds, threads, ranks; written with one-space indents), and the folder's own
# name (figure scripts name their data files). Prints a line per difference; exit status 1 if
# there is one.
#
#   same_results.sh REFERENCE_DIR OTHER_DIR
set -uo pipefail
ref=$1 got=$2

normal() {  # normal DIR FILE
  if [[ $2 == *.json ]]; then
    awk '/^ "provenance": \{/ { skip = 1 } !skip { print } skip && /^ \},?$/ { skip = 0 }' "$1/$2"
  else
    sed "s|$1|OUT|g" "$1/$2"
  fi
}
list() { (cd "$1" && find . -type f ! -name '*.ckpt' | sort); }

if [[ "$(list "$ref")" != "$(list "$got")" ]]; then
  echo "FAIL: $got holds other files than $ref"
  diff <(list "$ref") <(list "$got")
  exit 1
fi
status=0
while read -r f; do
  if ! cmp -s <(normal "$ref" "$f") <(normal "$got" "$f"); then
    echo "FAIL: $got/$f differs from $ref/$f"
    diff <(normal "$ref" "$f") <(normal "$got" "$f") | head -10
    status=1
  fi
done < <(list "$ref")
exit $status
