#!/usr/bin/env bash
# Side-by-side benchmarks of the GMM code against scikit-learn
# (tests/benchmarks/peers/gmm_sklearn.py), one after the other in one run: seconds per EM
# iteration on two workloads, and seconds per generation of the paper's experiment (one replicate,
# one thread).
# Usage: tests/benchmarks/gmm_vs_sklearn.sh [BUILD_DIR] [GENERATIONS] [MORE_BUILD_DIRS...]
# (the experiment is also timed with the gmm_collapse of every further build directory, e.g. one
# configured with -DOUROBOROS_NATIVE=ON, in the same run)
# Needs Debian's python3-sklearn. For the experiment ratio, build the examples with
# -DOUROBOROS_NATIVE=ON to compare like with like (numpy/scikit-learn use vectorised kernels).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build/test}
G=${2:-2000}
shift $(( $# > 2 ? 2 : $# ))
more=("$@")
peer=$root/tests/benchmarks/peers/gmm_sklearn.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py() { /usr/bin/python3 "$@"; }

for w in "1000000 2" "100000 16"; do
  set -- $w
  ours1=$("$build/tests/benchmarks/bench_gmm_em" --points "$1" --dim "$2" --components 8 --iterations 10 --threads 1)
  ours2=$("$build/tests/benchmarks/bench_gmm_em" --points "$1" --dim "$2" --components 8 --iterations 10 --threads 2)
  py "$peer" em --N "$1" --D "$2" --K 8 --iters 10 --reps 1 --out "$tmp/em.json" > /dev/null
  py - "$tmp/em.json" "$ours1" "$ours2" <<'PY'
import json, sys
peer = json.load(open(sys.argv[1]))["em_timing"][0]
o1, o2 = (json.loads(s) for s in sys.argv[2:4])
p = peer["s_per_iter_median"]
print(f"EM N={peer['N']} D={peer['D']} K={peer['K']}: scikit-learn {p*1e3:.1f} ms/iter; "
      f"ouroboros {o1['seconds_per_iteration']*1e3:.1f} ms (1 thread, {p/o1['seconds_per_iteration']:.1f}x), "
      f"{o2['seconds_per_iteration']*1e3:.1f} ms (2 threads, {p/o2['seconds_per_iteration']:.1f}x)")
PY
done

py "$peer" collapse --G "$G" --Ns 500 --out "$tmp/sk.json" > /dev/null
for b in "$build" "${more[@]}"; do
  "$b/examples/gmm_collapse" --samples 500 --replicates 1 --threads 1 --generations "$G" --no-plot \
    --out "$tmp/ours" > /dev/null 2>&1
  py - "$tmp/sk.json" "$tmp/ours/gmm_collapse_results.json" "$G" "$b" <<'PY'
import json, sys
sk = json.load(open(sys.argv[1]))["runs"][0]["s_per_gen"]
ours_json = json.load(open(sys.argv[2]))
ours = ours_json["provenance"]["seconds"] / int(sys.argv[3])
print(f"GMM experiment N=500, {sys.argv[3]} generations, one replicate, one thread: scikit-learn "
      f"{sk*1e3:.2f} ms/generation; ouroboros ({sys.argv[4]}) {ours*1e3:.3f} ms/generation "
      f"({sk/ours:.0f}x; ours includes its Monte Carlo metrics)")
PY
done
