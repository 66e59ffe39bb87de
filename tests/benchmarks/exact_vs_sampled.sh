#!/usr/bin/env bash
# Side-by-side benchmark of gaussian_collapse's exact path (--exact: the mean and the sum of
# squared deviations of each training set drawn from their laws) against its sampled path (M
# points drawn and fitted), on the same replicates, generations and threads, alternating, best
# of three each; then the exact path at a million replicates.
# Usage: tests/benchmarks/exact_vs_sampled.sh [BUILD_DIR] [R M G THREADS] [--big]
#   --big also times 1,000,000 replicates x 1,000 generations of the exact path (about a minute).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build/test}
R=${2:-10000} M=${3:-100} G=${4:-1000} T=${5:-1}
big=${6:-}
prog=$build/examples/gaussian_collapse
[ -x "$prog" ] || { echo "build the examples first (scripts/test.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {  # prints the seconds the program reports for its runs
  "$prog" "$@" --samples "$M" --generations "$G" --replicates "$R" --threads "$T" --no-plot \
    --checkpoint-every 0 --out "$tmp/out" 2>/dev/null |
    sed -n 's/.*replicates.*, \([0-9.]*\)s$/\1/p'
}
best() { sort -g | head -1; }
exact=() sampled=()
for i in 1 2 3; do
  exact+=("$(run --exact)")
  sampled+=("$(run)")
done
e=$(printf '%s\n' "${exact[@]}" | best)
s=$(printf '%s\n' "${sampled[@]}" | best)
echo "R=$R M=$M G=$G threads=$T"
echo "sampled path: ${sampled[*]} s (best $s)"
echo "exact path:   ${exact[*]} s (best $e)"
python3 -c "import sys; e,s=float(sys.argv[1]),float(sys.argv[2]); print(f'ratio (sampled / exact): {s/e:.1f}x; exact {e*1e9/($R*$G):.1f} ns, sampled {s*1e9/($R*$G):.1f} ns per replicate and generation')" "$e" "$s"
if [ "$big" = --big ]; then
  R=1000000 G=1000 T=2
  echo "exact path, 1,000,000 replicates x 1,000 generations, M=$M, 2 threads: $(run --exact) s"
fi
