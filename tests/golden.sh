#!/usr/bin/env bash
# The same numbers: quick runs of every example program, with fixed options and seeds, compared
# with the results recorded in tests/golden/ (summaries, per-replicate values, theory, events,
# figure data; everything but the provenance block of the JSON files, checkpoints, locks and
# images). A change to the library that moves any number fails this test. After a change that
# is meant to move numbers, record them again with --update and say why in the commit.
#
#   golden.sh EXAMPLES_DIR DATA_DIR WORK_DIR [--update]
#
# Cases on the Brown corpus or the MNIST digits are skipped (with a note) when DATA_DIR lacks
# them. The VAE case runs one replicate with one BLAS thread (BLAS sums depend on its threads).
set -uo pipefail
ex=$1 data=$(cd "$2" 2>/dev/null && pwd || echo "$2") work=$3 update=${4:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
golden=$here/golden
rm -rf "$work"
mkdir -p "$work"

status=0
ran=0
# case NAME PROGRAM ARGS...: runs PROGRAM --out WORK/NAME ARGS and compares WORK/NAME with
# tests/golden/NAME
case_() {
  local name=$1 prog=$2
  shift 2
  local out=$work/$name
  if ! "$ex/$prog" --out "$out" "$@" >"$work/$name.log" 2>&1; then
    echo "FAIL: $name: $prog exited with an error:"
    tail -5 "$work/$name.log"
    status=1
    return
  fi
  # keep the numbers only: no images, checkpoints, locks or figure scripts; the data folder is
  # named DATA wherever it is
  find "$out" \( -name '*.png' -o -name '*.ckpt' -o -name '.ouroboros.lock' -o -name '*.gp' \
    -o -name '*.lock' \) -delete
  find "$out" -type f -exec sed -i "s|$data|DATA|g" {} +
  ran=$((ran + 1))
  if [ "$update" = --update ]; then
    rm -rf "${golden:?}/$name"
    mkdir -p "$golden/$name"
    cp -R "$out/." "$golden/$name/"
    # the provenance block changes from run to run: keep it out of the recorded files
    for f in "$golden/$name"/*.json; do
      [ -f "$f" ] || continue
      awk '/^ "provenance": \{/ { skip = 1 } !skip { print } skip && /^ \},?$/ { skip = 0 }' \
        "$f" >"$f.tmp" && mv "$f.tmp" "$f"
    done
    echo "recorded $name"
    return
  fi
  if ! bash "$here/same_results.sh" "$golden/$name" "$out" >"$work/$name.diff" 2>&1; then
    echo "FAIL: $name: the numbers moved (tests/golden/$name):"
    head -20 "$work/$name.diff"
    status=1
  else
    echo "ok: $name"
  fi
}

common=(--no-plot --checkpoint-every 0 --threads 2)
case_ gaussian_replace gaussian_collapse "${common[@]}" --samples 20,100 --generations 30 \
  --replicates 30
case_ gaussian_mix_fresh gaussian_collapse "${common[@]}" --samples 20 --generations 30 \
  --replicates 40 --regime mix --real-fraction 0.2 --real-source fresh --seed 7
case_ gaussian_subsample gaussian_collapse "${common[@]}" --samples 20 --generations 25 \
  --replicates 30 --regime accumulate_subsample --budget 30 --estimator mle
case_ categorical_quick categorical_collapse "${common[@]}" --samples 20,50 --generations 30 \
  --replicates 30
case_ gaussian_exact gaussian_collapse "${common[@]}" --exact --samples 20,100 --generations 30 \
  --replicates 30 --regime accumulate
case_ categorical_exact categorical_collapse "${common[@]}" --exact --samples 20,50 \
  --generations 30 --replicates 30
case_ kde_silverman kde_collapse "${common[@]}" --samples 20,50 --generations 15 --replicates 40
case_ linreg_accumulate linreg_collapse "${common[@]}" --rows 20,40 --dim 5 --generations 15 \
  --replicates 40 --regime accumulate
case_ gmm_quick gmm_collapse "${common[@]}" --quick --generations 12
case_ gmm_accumulate gmm_collapse "${common[@]}" --quick --generations 6 --regime accumulate \
  --seed 3
if [ -f "$data/brown/brown.train.txt" ]; then
  case_ ngram_quick ngram_collapse "${common[@]}" --quick --generations 2 --data "$data/brown"
else
  echo "skipped: ngram_quick (no Brown corpus in $data/brown)"
fi
if [ -f "$data/mnist/mnist10k-images-idx3-ubyte" ]; then
  OPENBLAS_NUM_THREADS=1 case_ vae_quick vae_collapse --no-plot --checkpoint-every 0 --threads 1 \
    --quick --generations 2 --replicates 1 --data "$data/mnist"
else
  echo "skipped: vae_quick (no MNIST digits in $data/mnist)"
fi
case_ sweep collapse_sweep --config "$here/data/golden_sweep.json" --threads 2 --no-plot \
  --quiet
case_ custom_model custom_model --generations 60 --replicates 30 --samples 50 --threads 2

[ "$ran" -gt 0 ] || { echo "FAIL: no case ran"; status=1; }
exit $status
