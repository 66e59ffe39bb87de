#!/usr/bin/env bash
# collapse_sweep gives the same files on one process and under mpirun with 1, 2 and 3 ranks (and 1
# or 2 threads per rank); a job killed with SIGKILL mid-run and restarted with --resume runs only
# the missing work items and ends with the same files. The provenance block of the JSON (start time,
# seconds, threads, ranks) and the folder's name in the figure script are left out of the
# comparison.
#
#   compare_sweep.sh PROGRAM CONFIG WORKDIR MPIEXEC
set -euo pipefail
program=$1 config=$2 work=$3 mpiexec=$4
mpi=("$mpiexec" --allow-run-as-root --oversubscribe)
rm -rf "$work"
mkdir -p "$work"

run() {  # run OUT [launcher args...] -- [program args...]
  local out=$1 launcher=()
  shift
  while [[ $1 != -- ]]; do
    launcher+=("$1")
    shift
  done
  shift
  "${launcher[@]}" "$program" --config "$config" --out "$work/$out" --no-plot "$@" \
    >"$work/$out.log" 2>&1
}
compare() {  # compare REF OTHER (folders under WORKDIR)
  bash "$(dirname "${BASH_SOURCE[0]}")/same_results.sh" "$work/$1" "$work/$2"
}

run single env -- --threads 2 --quiet
echo "one process: $(grep -m1 'work items on' "$work/single.log")"
for spec in "1 2" "2 1" "3 1"; do
  set -- $spec
  run "np$1" "${mpi[@]}" -np "$1" -- --threads "$2" --quiet
  compare single "np$1"
  echo "mpirun -np $1, $2 thread(s): identical files"
done

# kill the whole job with SIGKILL once some items are saved, then resume. mpirun puts each rank in
# a process group of its own, so every process whose command line names this job's folder is
# killed, and the resume starts only when none is left (a survivor would still write there)
killed_job="--out $work/killed --no-plot --quiet"
"${mpi[@]}" -np 2 "$program" --config "$config" $killed_job --threads 1 \
  --checkpoint-interval 0 >"$work/killed.log" 2>&1 &
pid=$!
for ((i = 0; i < 2000; ++i)); do
  [[ -s $work/killed/collapse_sweep.ckpt ]] && break
  sleep 0.005
done
sleep 0.05
for ((i = 0; i < 100; ++i)); do
  pkill -KILL -f -- "$killed_job" || true
  pgrep -f -- "$killed_job" >/dev/null || break
  sleep 0.05
done
wait "$pid" 2>/dev/null || true
if pgrep -f -- "$killed_job" >/dev/null; then
  echo "FAIL: the killed job's processes survive"
  exit 1
fi
"${mpi[@]}" -np 2 "$program" --config "$config" --out "$work/killed" --no-plot --resume \
  --threads 1 >"$work/resumed.log" 2>&1
done_before=$(grep -o 'resuming: [0-9]* of [0-9]*' "$work/resumed.log" || true)
echo "killed and resumed: ${done_before:-no resume message}"
if [[ -z $done_before ]] || [[ $done_before == "resuming: 0 of"* ]]; then
  echo "FAIL: the resumed job found no finished items"
  cat "$work/resumed.log"
  exit 1
fi
ran=$(grep -c 'work items,' "$work/resumed.log" || true)
total=${done_before##* of }
found=${done_before#resuming: }
found=${found%% of*}
if ((found == total)); then
  echo "FAIL: the job finished before it was killed; nothing was resumed"
  exit 1
fi
if ((ran != total - found)); then
  echo "FAIL: the resumed job ran $ran items, expected the $((total - found)) missing ones"
  exit 1
fi
compare single killed
echo "the resumed job ran the $ran missing items of $total and wrote identical files"
