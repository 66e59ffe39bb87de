#!/usr/bin/env bash
# Every program with every class of bad option value: NaN, infinity, negative, overflow,
# octal/hex-looking, empty, an empty list item, a repeated list item, a value out of range and an
# option that the chosen settings ignore. Each must exit with status 2, print one line that names
# the option, and leave --out untouched (not even created). Also the sweep's JSON configuration:
# non-integers, out-of-range and repeated values are refused with the key's path.
#
#   bad_values.sh EXAMPLES_DIR WORKDIR
set -uo pipefail
ex=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
out=$work/out
failures=0 tried=0

# check PROGRAM EXPECTED_OPTION ARGS... : exit status 2, one line naming the option, no --out
check() {
  local program=$1 expect=$2
  shift 2
  tried=$((tried + 1))
  local err rc lines
  err=$("$ex/$program" "$@" --out "$out" 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [ "$rc" -ne 2 ] || [ "$lines" -ne 1 ] || [[ "$err" != *"$expect"* ]] || [ -e "$out" ]; then
    echo "FAIL $program $*: exit $rc, $lines line(s), out $([ -e "$out" ] && echo created || echo untouched): $err"
    failures=$((failures + 1))
    rm -rf "$out"
  else
    echo "ok   $program $*  ->  $err"
  fi
}

# The classes of bad value, for a whole-number option and a real-number option.
whole_bad=(nan inf -1 18446744073709551616 0x14 1e3 1.5 "" " 5" +5)
real_bad=(nan NaN inf -inf 1e999 0x1p3 "" abc 1,2)

for p in gaussian_collapse categorical_collapse gmm_collapse ngram_collapse vae_collapse; do
  for v in "${whole_bad[@]}"; do
    check $p --generations --generations "$v"
    check $p --seed --seed "$v"
  done
  check $p --replicates --replicates 0
  check $p --replicates --replicates 100000001
  check $p --checkpoint-every --checkpoint-every -1
  check $p --threads --threads 4097
  check $p --budget --budget -1 --regime accumulate_subsample
  for v in "${real_bad[@]}"; do
    check $p --checkpoint-interval --checkpoint-interval "$v"
  done
  check $p --checkpoint-interval --checkpoint-interval -5
  # lists: empty items, repeated items, bad items
  for v in "100,,200" ",100" "100," "100,100" "0" "-5" "1e2" "0x10"; do
    check $p --samples --samples "$v"
  done
  # options that the chosen settings ignore
  check $p --budget --budget 10 --regime accumulate
  check $p --real-source --real-source fresh --regime replace
  check $p --checkpoint-interval --checkpoint-every 0 --checkpoint-interval 5
done
for p in gaussian_collapse categorical_collapse gmm_collapse vae_collapse; do
  check $p --real-fraction --real-fraction 0.5 --regime replace
  for v in "${real_bad[@]}" 1.5 -0.1; do
    check $p --real-fraction --regime mix --real-fraction "$v"
  done
done
for v in "${real_bad[@]}" -1; do
  check gaussian_collapse --variance-floor --variance-floor "$v"
  check categorical_collapse --pseudocount --pseudocount "$v"
  check gmm_collapse --reg-covar --reg-covar "$v"
  check gmm_collapse --tol --tol "$v"
  check gmm_collapse --truncate --truncate "$v"
  check ngram_collapse --temperature --temperature "$v"
  check ngram_collapse --top-p --top-p "$v"
  check ngram_collapse --repetition-penalty --repetition-penalty "$v"
  check vae_collapse --lr --lr "$v"
  check vae_collapse --truncate --truncate "$v"
done
check gmm_collapse --components --components 010x
check gmm_collapse --max-iter --max-iter 0
check categorical_collapse --probs --probs "1,,2"
check categorical_collapse --probs --probs "0.5,nan"
check categorical_collapse --zipf --zipf 3
check categorical_collapse --zipf --zipf "10,nan"
check ngram_collapse --real-fraction --real-fraction "0,0"
check ngram_collapse --real-fraction --real-fraction "0,,0.1"
check ngram_collapse --real-fraction --regime replace --real-fraction 0.1
check ngram_collapse --top-p --top-p 0
check ngram_collapse --beams --beams 3
check ngram_collapse --top-k --top-k -1
check ngram_collapse --order --order 017x
check vae_collapse --lr --lr 0
check vae_collapse --hidden --hidden 0
check vae_collapse --epochs --epochs 1.5
check collapse_sweep --threads --config /dev/null --threads nan
check collapse_sweep --checkpoint-interval --config /dev/null --checkpoint-interval inf

# a line break in a value never splits the message; values that overflow or underflow
check gaussian_collapse --generations --generations $'5\n'
check gaussian_collapse --samples --samples $'20,\n30'
check gaussian_collapse --real-fraction --regime mix --real-fraction 1e-400
check categorical_collapse --probs --probs 1e308,1e308
check vae_collapse --truncate --truncate 1e-400
# empty paths name nothing
check ngram_collapse --data --data ""
check vae_collapse --images --images "" --labels ""
check collapse_sweep --config --config ""
# options beam search ignores
for opt in --top-k --top-p --temperature; do
  check ngram_collapse "$opt" --decoding beam "$opt" 0.5
done

# octal-looking values are decimal: --samples 010 is M = 10
tried=$((tried + 1))
if "$ex/gaussian_collapse" --samples 010 --generations 1 --replicates 2 --no-plot \
  --checkpoint-every 0 --out "$out" >/dev/null 2>&1 && grep -q '"M=10"' "$out/gaussian_collapse_results.json"; then
  echo "ok   --samples 010 runs M = 10"
else
  echo "FAIL --samples 010 does not run M = 10"
  failures=$((failures + 1))
fi
rm -rf "$out"

# Sizes that cannot fit: refused before anything is allocated or written, with the estimate
check gaussian_collapse "GB of memory" --replicates 100000000 --samples 4294967296 --generations 2
check categorical_collapse "GB of memory" --zipf 10000000,1
check gmm_collapse "GB of memory" --replicates 100000000 --samples 100000000 --regime accumulate

# The sweep's configuration: integers must be integers in range, lists must not repeat.
sweep() {
  local expect=$1 json=$2
  printf '%s\n' "$json" >"$work/sweep.json"
  check collapse_sweep "$expect" --config "$work/sweep.json"
}
base='"models": ["gaussian"], "regimes": ["replace"], "replicates": 2'
sweep '"generations"' "{$base, \"samples\": [20], \"generations\": 1.5}"
sweep '"samples[0]"' "{$base, \"samples\": [20.9], \"generations\": 2}"
sweep '"seed"' "{$base, \"samples\": [20], \"generations\": 2, \"seed\": 1e30}"
sweep '"seed"' "{$base, \"samples\": [20], \"generations\": 2, \"seed\": -1}"
sweep '"samples[0]"' "{$base, \"samples\": [18446744073709551615], \"generations\": 2}"
sweep '"samples[1]"' "{$base, \"samples\": [20, 20], \"generations\": 2}"
sweep '"samples"' "{$base, \"samples\": [], \"generations\": 2}"
sweep '"replicates"' "{\"models\": [\"gaussian\"], \"regimes\": [\"replace\"], \"samples\": [20], \"replicates\": 0}"
sweep '"real_fractions' "{$base, \"samples\": [20], \"real_fractions\": [0.1]}"
sweep 'GB of memory' "{\"models\": [\"gaussian\"], \"regimes\": [\"replace\"], \"samples\": [4294967296], \"replicates\": 100000000, \"generations\": 1000}"
sweep 'nested more than 32 levels' "{$base, \"samples\": [20], \"seed\": $(printf '[%.0s' $(seq 100000))$(printf ']%.0s' $(seq 100000))}"
sweep "number overflow parsing '1e999'" "{\"models\": [\"gmm\"], \"regimes\": [\"replace\"], \"samples\": [20], \"gmm\": {\"components\": 1e999}}"
sweep '"gmm.tol"' "{\"models\": [\"gmm\"], \"regimes\": [\"replace\"], \"samples\": [20], \"gmm\": {\"tol\": -1}}"

echo "$((tried - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
