#!/usr/bin/env bash
# The one command that reproduces the experiments: builds Release, fetches the data sets
# (scripts/fetch_data.sh, into data/) and runs every experiment with its default settings,
# writing results files and figures into results/ (or $1), and the example sweep.
# Usage: scripts/reproduce.sh [results-folder]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$root/results}")
build=${OUROBOROS_BUILD_DIR:-$root/build/release}

"$root/scripts/install_deps.sh" gnuplot-nox
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUROBOROS_BUILD_TESTS=OFF \
  -DOUROBOROS_BUILD_BENCHMARKS=OFF -DOUROBOROS_BUILD_EXAMPLES=ON
cmake --build "$build" -j "$(nproc)"

"$root/scripts/fetch_data.sh" brown "$root/data/brown"
"$root/scripts/fetch_data.sh" mnist "$root/data/mnist"

mkdir -p "$out"
for experiment in gaussian_collapse categorical_collapse gmm_collapse ngram_collapse vae_collapse \
  linreg_collapse kde_collapse; do
  echo "== $experiment" >&2
  mkdir -p "$out/$experiment"
  extra=()
  [ "$experiment" = ngram_collapse ] && extra=(--data "$root/data/brown")
  [ "$experiment" = vae_collapse ] && extra=(--data "$root/data/mnist")
  "$build/examples/$experiment" --out "$out/$experiment" "${extra[@]}" |
    tee "$out/$experiment/$experiment.txt"
done
echo "== collapse_sweep (examples/collapse_sweep.json, one process)" >&2
mkdir -p "$out/collapse_sweep"
"$build/examples/collapse_sweep" --config "$root/examples/collapse_sweep.json" \
  --out "$out/collapse_sweep" --quiet | tee "$out/collapse_sweep/collapse_sweep.txt"
echo
echo "results written:"
find "$out" -maxdepth 2 -type f | sort
