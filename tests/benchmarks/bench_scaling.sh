#!/usr/bin/env bash
# Scaling of collapse_sweep: the example sweep (examples/collapse_sweep.json) with GENERATIONS
# generations (default 1,000: about 20 s of single-core work here), run as
#   1 process x 1 thread, 1 process x 2 threads, 2 ranks x 1 thread, 2 ranks x 2 threads
# (the ranks through MPIEXEC, default mpirun, with --bind-to none so that each rank may use every
# core). Prints for each layout the wall time, the CPU time of every process (user + system) and of
# its main thread (which only hands out work, collects results and writes files: it should sleep
# while the workers compute), the speed-up against 1 x 1, and checks that every layout writes the
# same files as 1 x 1 (tests/same_results.sh). Exit status 1 if the files differ. The layouts run
# ROUNDS times (default 2), interleaved; the best wall time of each is shown, with the CPU times of
# that run and the time the hypervisor stole from this machine meanwhile (/proc/stat), which
# explains the outliers of a shared machine. Last, an idle-rank check: a sweep of one item on two
# ranks, where rank 1's CPU time must stay near the cost of starting MPI.
#
#   ROUNDS=2 tests/benchmarks/bench_scaling.sh build/test/examples/collapse_sweep [MPIEXEC] [GENERATIONS]
set -uo pipefail
program=$1
mpiexec=${2:-mpirun}
generations=${3:-1000}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s/\"generations\": [0-9]*/\"generations\": $generations/" "$root/examples/collapse_sweep.json" \
  >"$work/sweep.json"
mpi=(--allow-run-as-root --oversubscribe --bind-to none)

rounds=${ROUNDS:-2}
now() { date +%s.%N; }
steal() { awk '/^cpu / { print $9 }' /proc/stat; }  # clock ticks stolen from all CPUs
# run NAME RANKS THREADS: one layout; keeps the best round's wall time, CPU lines (--cpu-report)
# and stolen time in $work/NAME.{wall,cpu,steal}
run() {
  local name=$1 ranks=$2 threads=$3 t0 t1 s0 s1
  local cmd=("$program" --config "$work/sweep.json" --threads "$threads" --no-plot --quiet
    --cpu-report --out "$work/$name")
  rm -rf "${work:?}/$name"
  s0=$(steal)
  t0=$(now)
  if [ "$ranks" -eq 1 ]; then
    "${cmd[@]}" >"$work/$name.out" 2>"$work/$name.err"
  else
    "$mpiexec" "${mpi[@]}" -np "$ranks" "${cmd[@]}" >"$work/$name.out" 2>"$work/$name.err"
  fi
  local rc=$?
  t1=$(now)
  s1=$(steal)
  [ $rc -eq 0 ] || { echo "$name failed ($rc):"; cat "$work/$name.err"; exit 1; }
  local wall
  wall=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }')
  if [ ! -f "$work/$name.wall" ] || awk -v a="$wall" -v b="$(cat "$work/$name.wall")" 'BEGIN { exit !(a < b) }'; then
    echo "$wall" >"$work/$name.wall"
    grep '^collapse_sweep: cpu:' "$work/$name.err" >"$work/$name.cpu"
    echo "$s0 $s1" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($2 - $1) / hz }' >"$work/$name.steal"
  fi
}

layouts=("1x1 1 1" "1x2 1 2" "2x1 2 1" "2x2 2 2")
for ((round = 1; round <= rounds; ++round)); do
  for l in "${layouts[@]}"; do
    read -r name ranks threads <<<"$l"
    run "$name" "$ranks" "$threads"
  done
done

base=$(cat "$work/1x1.wall")
echo "best of $rounds rounds, $generations generations"
printf '%-28s %8s %8s %8s  %s\n' "layout" "wall s" "speed-up" "stolen s" \
  "CPU s per process: total (main thread)"
status=0
for l in "${layouts[@]}"; do
  read -r name ranks threads <<<"$l"
  wall=$(cat "$work/$name.wall")
  cpu=$(awk '{ for (i = 1; i <= NF; ++i) { if ($i == "process") p = $(i + 1); if ($i == "thread") m = $(i + 1) }
               printf "%s%s (%s)", (NR > 1 ? ", " : ""), p, m }' "$work/$name.cpu")
  printf '%-28s %8s %8s %8s  %s\n' "$ranks process(es) x $threads thread(s)" "$wall" \
    "$(awk -v b="$base" -v w="$wall" 'BEGIN { printf "%.2fx", b / w }')" "$(cat "$work/$name.steal")" "$cpu"
  if [ "$name" != 1x1 ]; then
    bash "$root/tests/same_results.sh" "$work/1x1" "$work/$name" >"$work/$name.diff" ||
      { echo "  FILES DIFFER from 1 x 1:"; head -5 "$work/$name.diff"; status=1; }
  fi
done
[ $status -eq 0 ] && echo "every layout wrote the same files"

# An idle rank: a sweep of one work item on two ranks. Rank 1 gets nothing to do; its CPU time
# must stay near the cost of starting MPI, however long rank 0 works.
cat >"$work/one.json" <<'EOF'
{"models": ["gmm"], "regimes": ["replace"], "samples": [200], "generations": 4000,
 "replicates": 8, "replicates_per_item": 8}
EOF
"$mpiexec" "${mpi[@]}" -np 2 "$program" --config "$work/one.json" --threads 1 --no-plot --quiet \
  --cpu-report --out "$work/one" >/dev/null 2>"$work/one.err" || { cat "$work/one.err"; exit 1; }
awk '/cpu: rank/ { sub(/^collapse_sweep: cpu: /, ""); print "idle-rank check (one item, two ranks): " $0 }' \
  "$work/one.err"
exit $status
