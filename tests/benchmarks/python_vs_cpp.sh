#!/usr/bin/env bash
# Python against C++, side by side in one run:
# 1. the paper's GMM experiment (M = 500 and 1,000, 300 generations, 8 replicates, 2 threads)
#    driven from Python (ouroboros.gmm_collapse) against the program gmm_collapse with the same
#    options, alternating, best of three, wall time of the call against wall time of the process
#    (which also writes its files);
# 2. what a 1-D Gaussian model (MLE fit, one metric) costs per replicate and generation at
#    R = 10,000 and M = 100: written in Python in the library's loop (1 and 2 threads), in the
#    batched form (one Python call per generation for all replicates), the library's own C++
#    Gaussian (gaussian_collapse, six metrics), and a vectorised numpy loop.
# Usage: tests/benchmarks/python_vs_cpp.sh [BUILD_DIR]   (needs the Python package built there)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build/test}
python=${PYTHON:-/usr/bin/python3}
[ -x "$build/examples/gmm_collapse" ] || { echo "build the examples first" >&2; exit 1; }
[ -d "$build/python/ouroboros" ] || { echo "build the Python package first" >&2; exit 1; }
PYTHONPATH=$build/python exec "$python" "$root/tests/benchmarks/python_costs.py" "$build/examples"
