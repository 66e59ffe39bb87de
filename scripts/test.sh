#!/usr/bin/env bash
# The one command that tests Ouroboros: installs missing Debian packages (as root), fetches the
# test data (scripts/fetch_data.sh, into data/), configures a Release build with warnings as
# errors, builds every test, example and benchmark, and runs ctest.
# Exits non-zero on any failure.
# Usage: scripts/test.sh [--sanitize] [-R regex]   (further arguments go to ctest)
#   --sanitize: build the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer (in
#   build/sanitize; any finding fails the run) and run them.
# Environment: OUROBOROS_BUILD_DIR (default build/test, or build/sanitize), JOBS (default: number
# of cores).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=0
if [ "${1:-}" = --sanitize ]; then
  sanitize=1
  shift
fi
jobs=${JOBS:-$(nproc)}
if [ $sanitize -eq 1 ]; then
  build=${OUROBOROS_BUILD_DIR:-$root/build/sanitize}
  "$root/scripts/install_deps.sh"
  "$root/scripts/fetch_data.sh" brown "$root/data/brown"
  "$root/scripts/fetch_data.sh" mnist "$root/data/mnist"
  flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOUROBOROS_WERROR=ON \
    -DOUROBOROS_DATA_DIR="$root/data" -DOUROBOROS_BUILD_BENCHMARKS=OFF \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  # unit_tests: every executable behind a ctest name that starts with test_ (tests/CMakeLists.txt)
  cmake --build "$build" -j "$jobs" --target unit_tests
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir "$build" --output-on-failure -j "$jobs" -R '^test_' "$@"
  exit 0
fi
build=${OUROBOROS_BUILD_DIR:-$root/build/test}

"$root/scripts/install_deps.sh"
"$root/scripts/fetch_data.sh" brown "$root/data/brown"
"$root/scripts/fetch_data.sh" mnist "$root/data/mnist"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUROBOROS_WERROR=ON \
  -DOUROBOROS_DATA_DIR="$root/data"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
