#!/usr/bin/env bash
# Side-by-side benchmark of the 1-D Gaussian collapse loop against the numpy peer
# (tests/benchmarks/peers/gauss1d_numpy.py), same workload, one after the other in one run.
# Usage: tests/benchmarks/gaussian_vs_numpy.sh [BUILD_DIR] [R M G]
# Needs the peer's Debian packages: apt-get install python3-numpy python3-scipy
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build/test}
R=${2:-10000} M=${3:-100} G=${4:-2000}
peer=$root/tests/benchmarks/peers/gauss1d_numpy.py
bench=$build/tests/benchmarks/bench_gaussian_collapse
[ -x "$bench" ] || { echo "build the benchmarks first (scripts/test.sh)" >&2; exit 1; }
[ -f "$peer" ] || { echo "peer not found: $peer" >&2; exit 1; }
tmp=$(mktemp -d)
ours=$("$bench" --replicates "$R" --samples "$M" --generations "$G")
echo "ouroboros: $ours"
/usr/bin/python3 "$peer" --R "$R" --M "$M" --G "$G" --reps 1 --out "$tmp/numpy.json" | tail -1
ours2=$("$bench" --replicates "$R" --samples "$M" --generations "$G")
echo "ouroboros: $ours2"
/usr/bin/python3 - "$tmp/numpy.json" "$ours" "$ours2" <<'PY'
import json, sys
peer = json.load(open(sys.argv[1]))["samples_per_s_at_median"]
ours = [json.loads(s)["samples_per_second"] for s in sys.argv[2:]]
print(f"numpy peer: {peer/1e6:.1f} M samples/s; ouroboros: {', '.join(f'{o/1e6:.1f}' for o in ours)} M samples/s")
print(f"ratio (ouroboros / numpy): {min(ours)/peer:.1f}x to {max(ours)/peer:.1f}x")
PY
rm -rf "$tmp"
