#!/usr/bin/env bash
# The one command that tests Ouroboros: installs missing Debian packages (as root), fetches the
# test data (scripts/fetch_data.sh, into data/), configures a Release build with warnings as
# errors, builds every test, example and benchmark, and runs ctest.
# Exits non-zero on any failure.
# Usage: scripts/test.sh [-R regex]   (extra arguments go to ctest)
# Environment: OUROBOROS_BUILD_DIR (default build/test), JOBS (default: number of cores).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${OUROBOROS_BUILD_DIR:-$root/build/test}
jobs=${JOBS:-$(nproc)}

"$root/scripts/install_deps.sh"
"$root/scripts/fetch_data.sh" brown "$root/data/brown"
"$root/scripts/fetch_data.sh" mnist "$root/data/mnist"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUROBOROS_WERROR=ON \
  -DOUROBOROS_DATA_DIR="$root/data"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
