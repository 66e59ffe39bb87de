#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer) and runs each for SECONDS (default 60) from its seed corpus in
# tests/fuzz/corpus/<target>. Any crash, sanitizer finding or uncaught exception fails the run;
# the input that caused it is saved in build/fuzz/artifacts/ (turn it into a regression test:
# copy it into the target's corpus folder, which tests/test_fuzz_regressions.cpp replays).
# The mutations start from a fixed seed (FUZZ_SEED, default 1), so a run is repeatable up to where
# its time ends; set FUZZ_SEED=0 for a random one.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
seed=${FUZZ_SEED:-1}
build=${OUROBOROS_FUZZ_BUILD_DIR:-$root/build/fuzz}
"$root/scripts/install_deps.sh" clang libclang-rt-14-dev
CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOUROBOROS_FUZZ=ON -DOUROBOROS_BUILD_TESTS=OFF -DOUROBOROS_BUILD_EXAMPLES=OFF \
  -DOUROBOROS_BUILD_BENCHMARKS=OFF -DOUROBOROS_INSTALL=OFF > /dev/null
cmake --build "$build" --target fuzz_idx fuzz_text fuzz_vae_file fuzz_checkpoint
mkdir -p "$build/artifacts"
for target in fuzz_idx fuzz_text fuzz_vae_file fuzz_checkpoint; do
  work="$build/corpus/$target"
  mkdir -p "$work"
  echo "== $target: ${seconds}s" >&2
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -seed="$seed" -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
    "$work" "$root/tests/fuzz/corpus/$target" 2>&1 | tail -n 12
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz.sh: $target failed; see $build/artifacts" >&2; exit 1; }
done
echo "fuzz.sh: no findings" >&2
