#!/usr/bin/env bash
# Kill-and-resume test of an example program: a run killed with SIGKILL at pseudo-random moments
# (and once stopped with SIGINT or SIGTERM, which must exit 130 after writing the results so far)
# and then resumed with --resume must write the same files as an uninterrupted run, byte for
# byte, the provenance block of the JSON (start time, seconds, threads) and the folder's name in figure
# scripts aside.
#
#   kill_resume.sh PROGRAM WORKDIR SEED KILLS [ARGS...]
#
# ARGS are the program's options (without --out). The moments are drawn from SEED; the thread
# count alternates between 2 and 1 from one attempt to the next, which must not matter either.
set -euo pipefail

program=$1 work=$2 seed=$3 kills=$4
shift 4
args=("$@")
name=$(basename "$program")

rm -rf "$work"
mkdir -p "$work"
ref=$work/uninterrupted
got=$work/resumed

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The uninterrupted run, checkpointing after every generation as the killed ones do (so that its
# duration is theirs).
t0=$(now_ms)
"$program" "${args[@]}" --no-plot --checkpoint-interval 0 --out "$ref" >"$work/ref.out" 2>&1
duration=$(($(now_ms) - t0))
echo "$name: uninterrupted run took ${duration} ms"

RANDOM=$seed
mid_run=0     # attempts killed while the program was still running
continued=0   # resumed attempts that continued a run in progress from its checkpoint
for ((i = 0; i <= kills; ++i)); do
  extra=(--checkpoint-interval 0 --threads $((2 - i % 2)))
  ((i > 0)) && extra+=(--resume)
  "$program" "${args[@]}" --no-plot "${extra[@]}" --out "$got" >"$work/attempt$i.out" \
    2>"$work/attempt$i.err" &
  pid=$!
  # a moment between 5% and 45% of the uninterrupted run's duration
  wait_ms=$((duration * (5 + RANDOM % 41) / 100))
  sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
  signal=KILL
  # the last stop is a clean interrupt: SIGINT for an even seed, SIGTERM for an odd one
  ((i == kills)) && signal=$( ((seed % 2 == 0)) && echo INT || echo TERM)
  if kill -s "$signal" "$pid" 2>/dev/null; then
    set +e
    wait "$pid"
    rc=$?
    set -e
    if [[ $signal != KILL ]]; then
      # it may have finished its last generation before the signal arrived: 0 or 130
      if [[ $rc -ne 130 && $rc -ne 0 ]]; then
        echo "FAIL: after SIG$signal $name exited $rc, expected 130"
        cat "$work/attempt$i.err"
        exit 1
      fi
      if [[ $rc -eq 130 ]]; then
        mid_run=$((mid_run + 1))
        ls "$got"/*.json >/dev/null || { echo "FAIL: no results written at SIG$signal"; exit 1; }
      fi
    elif [[ $rc -eq 137 ]]; then
      mid_run=$((mid_run + 1))
    fi
    echo "attempt $i: $signal after ${wait_ms} ms, exit status $rc"
  else
    wait "$pid"
    echo "attempt $i: finished before the $signal at ${wait_ms} ms"
  fi
  if grep -q "continues at generation" "$work/attempt$i.err"; then
    continued=$((continued + 1))
  fi
done
"$program" "${args[@]}" --no-plot --checkpoint-interval 0 --resume --out "$got" \
  >"$work/final.out" 2>"$work/final.err"
grep -q "continues at generation" "$work/final.err" && continued=$((continued + 1))

# The test must have tested something: at least one stop in the middle of a run, and at least
# one resume that continued a run from its checkpoint.
if ((mid_run == 0 || continued == 0)); then
  echo "FAIL: no attempt was stopped in the middle of a run and resumed ($mid_run stopped," \
    "$continued continued); the run is too short for the test"
  exit 1
fi

status=0
bash "$(dirname "${BASH_SOURCE[0]}")/same_results.sh" "$ref" "$got" || status=1
((status == 0)) && echo "$name: $mid_run stops in the middle of a run, $continued resumes" \
  "continued a run; every file is identical to the uninterrupted run's"
exit $status
