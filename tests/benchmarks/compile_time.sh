#!/usr/bin/env bash
# Compile time of programs that use one layer or all of them: the tutorial
# (examples/custom_model: core and I/O), the embedding example (core only), and the README's
# example with every layer included through ouroboros/ouroboros.hpp. One compile at a time, -O2,
# best of ROUNDS (default 3); prints seconds per program.
#   tests/benchmarks/compile_time.sh [CXX] [ROUNDS]
# With OLD_INCLUDE=<include dir of another checkout>, also times the tutorial of that checkout
# (its own source) for a before/after comparison.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cxx=${1:-g++} rounds=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/all.cpp" <<'CPP'
#include <ouroboros/ouroboros.hpp>
int main() {
  using namespace ouro;
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::mix{0.1}, metrics::variance{}, metrics::w2_sq{}};
  run_options opt;
  opt.generations = 5;
  results res;
  res.runs.push_back(loop.run(from_truth(models::gaussian{0.0, 1.0}), opt));
  io::write_results(res, "results", "my_experiment");
}
CPP
best() {  # best SOURCE INCLUDE...
  local src=$1 b=999
  shift
  for _ in $(seq "$rounds"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$cxx" -std=c++20 -O2 "${@/#/-I}" -c "$src" -o "$tmp/x.o"
    t1=$(date +%s.%N)
    b=$(echo "$t0 $t1 $b" | awk '{ d = $2 - $1; print (d < $3 ? d : $3) }')
  done
  printf '%.2f' "$b"
}
echo "tutorial (core + I/O):      $(best "$root/examples/custom_model/custom_model.cpp" "$root/include") s"
echo "conditional (core + I/O):   $(best "$root/examples/conditional_model/conditional_model.cpp" "$root/include") s"
echo "embedding (core only):      $(best "$root/examples/embedding/embedding.cpp" "$root/include") s"
echo "ouroboros.hpp (all layers): $(best "$tmp/all.cpp" "$root/include") s"
if [ -n "${OLD_INCLUDE:-}" ]; then
  old_src=$(dirname "$OLD_INCLUDE")/examples/custom_model/custom_model.cpp
  echo "tutorial of $OLD_INCLUDE: $(best "$old_src" "$OLD_INCLUDE") s"
fi
