#!/usr/bin/env bash
# Whether the worker pool's spin-before-sleep pays: a run of many short generations (small M, so a
# generation lasts tens of microseconds and the pool's threads wait twice per generation) with
# OUROBOROS_SPIN=1 (spin, then sleep) and OUROBOROS_SPIN=0 (sleep at once), on two threads:
#   * alone on the machine, where the library spins by default;
#   * beside another busy process (a shell loop that keeps one core busy), where cores are shared
#     and the library does not spin by default when it can tell (an MPI rank beside it, or more
#     threads than its CPU binding allows).
# Prints the best wall time and the CPU time of ROUNDS rounds (default 3) for each.
#
#   tests/benchmarks/bench_spin.sh build/test/examples/gaussian_collapse
set -uo pipefail
program=$1
rounds=${ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(--samples 20 --generations 20000 --replicates 64 --threads 2 --checkpoint-every 0 --no-plot)

# one RUN-NAME SPIN [beside]: wall and CPU seconds of one run (a busy loop beside it when asked)
one() {
  local name=$1 spin=$2 beside=${3:-} pid=
  if [ -n "$beside" ]; then
    bash -c 'while :; do :; done' &
    pid=$!
  fi
  rm -rf "${work:?}/$name"
  local t
  t=$( { TIMEFORMAT='%R %U %S'; time OUROBOROS_SPIN=$spin "$program" "${args[@]}" \
    --out "$work/$name" >/dev/null 2>&1; } 2>&1)
  if [ -n "$pid" ]; then
    kill "$pid"
    wait "$pid" 2>/dev/null
  fi
  echo "$t"
}
best() {  # best NAME SPIN [beside]: the round with the least wall time
  local b=""
  for ((r = 0; r < rounds; ++r)); do
    local t
    t=$(one "$@")
    if [ -z "$b" ] || awk -v a="${t%% *}" -v c="${b%% *}" 'BEGIN { exit !(a < c) }'; then b=$t; fi
  done
  echo "$b"
}
printf '%-44s %8s %8s\n' "run (best of $rounds)" "wall s" "CPU s"
for case in "alone, spin 1 alone" "alone, spin 0 alone" "beside a busy loop, spin 1 beside" \
  "beside a busy loop, spin 0 beside"; do
  label=${case% *}
  where=${case##* }
  spin=${label##* }
  name=${label// /_}
  name=${name//,/}
  b=$(best "$name" "$spin" "$([ "$where" = beside ] && echo beside)")
  read -r wall user sys <<<"$b"
  printf '%-44s %8s %8s\n' "$label" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
done
