#!/usr/bin/env bash
# The output folder under attack and misuse:
#  1. links planted at every temporary and final name a program uses (results, summaries, the
#     per-replicate CSV and its partial file, the checkpoint, figure scripts, figures, the old
#     fixed temporary names) never let a write reach their targets; the results replace the links;
#     a link at a lock file is refused (exit 1) and its target is left alone;
#  2. two runs in one folder: the second exits 1 at once with a sentence naming the folder,
#     whatever the checkpoint options, and the first finishes with the files of a lone run;
#  3. a folder where a file belongs (--out, a result's name, an input file) and a regular file
#     where a folder belongs: exit 1 with one line naming it, no crash, no temporary file left;
#  4. no NaN in results: a run with one replicate writes empty fields, not "nan".
#
#   hostile_outputs.sh EXAMPLES_DIR WORKDIR
set -uo pipefail
ex=$(cd "$1" && pwd) work=$2
rm -rf "$work"
mkdir -p "$work"
failures=0 tried=0
pass() { tried=$((tried + 1)); echo "ok   $*"; }
fail() { tried=$((tried + 1)); failures=$((failures + 1)); echo "FAIL $*"; }
quick=(--samples 20,100 --generations 30 --replicates 50 --threads 2)

# 1. links at every name
victim=$work/victim
printf 'precious\n' >"$victim"
out=$work/links
mkdir -p "$out"
names=()
for stem in gaussian_collapse; do
  for f in "${stem}_results.json" "${stem}_summary.csv" "${stem}_theory.csv" "$stem.csv" "$stem.ckpt" \
    "$stem.gp" "$stem.png"; do
    names+=("$f" "$f.tmp")
  done
done
for f in "${names[@]}"; do ln -s "$victim" "$out/$f"; done
ln -s "$victim" "$out/plot.tmp.AAAAAA"
"$ex/gaussian_collapse" "${quick[@]}" --checkpoint-interval 0 --out "$out" >"$work/links.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$victim")" = precious ]; then
  pass "links at ${#names[@]} names: exit 0, the target unchanged"
else
  fail "links at every name: exit $rc, target now: $(head -c 80 "$victim")"
fi
for f in "${stem}_results.json" "${stem}_summary.csv" "$stem.csv" "$stem.ckpt"; do
  if [ -L "$out/$f" ] || [ ! -f "$out/$f" ]; then fail "$f is not a regular file after the run"; fi
done
if ls "$out" | grep -q '\.tmp\.'; then fail "temporary files left: $(ls "$out" | grep '\.tmp\.')"; fi
# a link at a lock file: refused, target untouched
for lock in .ouroboros.lock gaussian_collapse.ckpt.lock; do
  out=$work/lock_link
  rm -rf "$out" && mkdir -p "$out"
  ln -s "$victim" "$out/$lock"
  "$ex/gaussian_collapse" "${quick[@]}" --out "$out" >/dev/null 2>"$work/lock.err"
  rc=$?
  if [ $rc -eq 1 ] && [ "$(cat "$victim")" = precious ] && grep -q "symbolic link" "$work/lock.err"; then
    pass "a link at $lock: exit 1 ($(cat "$work/lock.err"))"
  else
    fail "a link at $lock: exit $rc, $(cat "$work/lock.err")"
  fi
done
# the sweep too
out=$work/sweep_links
mkdir -p "$out"
cat >"$work/sweep.json" <<'EOF'
{"models": ["gaussian"], "regimes": ["replace"], "samples": [20], "generations": 5, "replicates": 4}
EOF
for f in collapse_sweep_results.json collapse_sweep_results.json.tmp collapse_sweep.csv collapse_sweep.csv.tmp \
  collapse_sweep_summary.csv collapse_sweep_final.csv collapse_sweep.ckpt collapse_sweep.ckpt.tmp \
  collapse_sweep.gp collapse_sweep.png; do
  ln -s "$victim" "$out/$f"
done
"$ex/collapse_sweep" --config "$work/sweep.json" --quiet --out "$out" >/dev/null 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$victim")" = precious ] && [ ! -L "$out/collapse_sweep_results.json" ]; then
  pass "collapse_sweep with links at its names: exit 0, the target unchanged"
else
  fail "collapse_sweep with links: exit $rc, target now: $(head -c 80 "$victim")"
fi

# a hard link planted at the partial CSV before a resume: refused, the other name's file untouched
out=$work/hardlink
"$ex/gaussian_collapse" --samples 20 --generations 40 --replicates 10 --no-plot \
  --checkpoint-interval 0 --out "$out" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -s "$out/gaussian_collapse.ckpt" ] && break; sleep 0.01; done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
if [ -f "$out/gaussian_collapse.csv.tmp" ]; then
  head -c 100000 /dev/zero | tr '\0' 'v' >"$work/hard_victim"
  rm -f "$out/gaussian_collapse.csv.tmp"
  ln "$work/hard_victim" "$out/gaussian_collapse.csv.tmp"
  before=$(md5sum <"$work/hard_victim")
  "$ex/gaussian_collapse" --samples 20 --generations 40 --replicates 10 --no-plot \
    --checkpoint-interval 0 --resume --out "$out" >/dev/null 2>"$work/hard.err"
  rc=$?
  if [ $rc -eq 1 ] && [ "$(md5sum <"$work/hard_victim")" = "$before" ]; then
    pass "a hard link at the partial CSV on --resume: exit 1, $(grep -v 'elapsed, ETA' "$work/hard.err" | tail -1)"
  else
    fail "a hard link at the partial CSV on --resume: exit $rc, victim $([ "$(md5sum <"$work/hard_victim")" = "$before" ] && echo unchanged || echo CHANGED)"
  fi
else
  pass "a hard link at the partial CSV: the run finished before it was stopped (not tried)"
fi
# figure scripts name their files relative to the output folder, whatever --out is
for f in "$work"/links/gaussian_collapse.gp; do
  if grep -q "$work" "$f"; then fail "$f names the output folder"; else pass "figure script names files relative to the folder"; fi
done

# 2. two runs in one folder, with and without checkpoints
for ck in 0 1; do
  out=$work/two_runs_$ck
  rm -rf "$out"
  ckopt=(--checkpoint-every "$ck")
  "$ex/gaussian_collapse" --samples 1000 --generations 3000 --replicates 200 --threads 1 \
    --no-plot "${ckopt[@]}" --out "$out" >/dev/null 2>&1 &
  first=$!
  for _ in $(seq 100); do [ -e "$out/.ouroboros.lock" ] && break; sleep 0.05; done
  sleep 0.2
  "$ex/gaussian_collapse" "${quick[@]}" --seed 9 --no-plot "${ckopt[@]}" --out "$out" \
    >/dev/null 2>"$work/second.err"
  rc=$?
  kill -TERM $first 2>/dev/null
  wait $first
  if [ $rc -eq 1 ] && grep -q "output folder '$out' is in use by another run" "$work/second.err" &&
    [ "$(grep -c . "$work/second.err")" -eq 1 ]; then
    pass "a second run in one folder (--checkpoint-every $ck): exit 1, $(cat "$work/second.err")"
  else
    fail "a second run in one folder (--checkpoint-every $ck): exit $rc, $(cat "$work/second.err")"
  fi
  if grep -q '"seed": 9' "$out"/gaussian_collapse_results.json 2>/dev/null; then
    fail "the second run wrote into the first one's folder"
  fi
done

# 3. a folder where a file belongs, a file where a folder belongs
one_line_exit1() {  # DESCRIPTION EXPECTED-TEXT COMMAND... (exit status 1, or $status)
  local what=$1 expect=$2 want=${status:-1}
  shift 2
  local err rc
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  err=$(printf '%s\n' "$err" | grep -v 'elapsed, ETA')  # progress lines aside
  if [ $rc -eq "$want" ] && [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] &&
    [[ "$err" == *"$expect"* ]]; then
    pass "$what: exit $rc, $err"
  else
    fail "$what: exit $rc, $err"
  fi
}
printf 'x' >"$work/a_file"
one_line_exit1 "--out is a regular file" "a_file" \
  "$ex/gaussian_collapse" "${quick[@]}" --no-plot --out "$work/a_file"
out=$work/dir_at_result
mkdir -p "$out/gaussian_collapse_results.json"
one_line_exit1 "a folder at the results name" "gaussian_collapse_results.json" \
  "$ex/gaussian_collapse" "${quick[@]}" --no-plot --checkpoint-every 0 --out "$out"
if ls "$out" | grep -q '\.tmp\.'; then fail "temporary files left after a failed write"; fi
mkdir -p "$work/mnist_dir" "$work/brown_dir/brown.train.txt"
one_line_exit1 "vae_collapse --images DIR" "mnist_dir: cannot open the file: it is a folder" \
  "$ex/vae_collapse" --images "$work/mnist_dir" --labels "$work/mnist_dir" --out "$work/o_vae"
one_line_exit1 "ngram_collapse with brown.train.txt a folder" "brown.train.txt: cannot open the file: it is a folder" \
  "$ex/ngram_collapse" --data "$work/brown_dir" --out "$work/o_ngram"
one_line_exit1 "ngram_score --train DIR" "it is a folder" \
  "$ex/ngram_score" --train "$work/mnist_dir" --test "$work/mnist_dir"
# a configuration that cannot be read is a usage error of the sweep (exit status 2)
status=2 one_line_exit1 "collapse_sweep --config DIR" "it is a folder" \
  "$ex/collapse_sweep" --config "$work/mnist_dir" --out "$work/o_sweep"
# an IDX file with no images, and one whose images have no pixels
printf '\x00\x00\x08\x03\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$work/empty-images"
printf '\x00\x00\x08\x01\x00\x00\x00\x00' >"$work/empty-labels"
one_line_exit1 "vae_collapse on 0 images" "holds no images" \
  "$ex/vae_collapse" --images "$work/empty-images" --labels "$work/empty-labels" --out "$work/o_vae0"
[ -e "$work/o_vae0" ] && fail "vae_collapse on 0 images created its --out"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00' >"$work/flat-images"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x01\x02' >"$work/flat-labels"
one_line_exit1 "vae_collapse on 0x0-pixel images" "0 x 0 pixels" \
  "$ex/vae_collapse" --images "$work/flat-images" --labels "$work/flat-labels" --out "$work/o_vae00"
# ten images (one per class): the fixed split leaves no test image, so the test metric would have
# no data: refused
{ printf '\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x04\x00\x00\x00\x07'; head -c 280 /dev/urandom; } >"$work/ten-images"
{ printf '\x00\x00\x08\x01\x00\x00\x00\x0a'; printf '\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09'; } >"$work/ten-labels"
one_line_exit1 "vae_collapse on 10 images" "leaves 10 for training and 0 for testing" \
  "$ex/vae_collapse" --images "$work/ten-images" --labels "$work/ten-labels" --out "$work/o_vae10"
# non-square images (4 x 7 pixels): they run, and the samples figure has their true shape
{ printf '\x00\x00\x08\x03\x00\x00\x00\x64\x00\x00\x00\x04\x00\x00\x00\x07'; head -c 2800 /dev/urandom; } >"$work/rect-images"
{ printf '\x00\x00\x08\x01\x00\x00\x00\x64'; for _ in $(seq 10); do printf '\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09'; done; } >"$work/rect-labels"
out=$work/o_rect
if "$ex/vae_collapse" --images "$work/rect-images" --labels "$work/rect-labels" --generations 2 \
  --epochs 1 --hidden 8 --latent 2 --gen-samples 10 --no-plot --out "$out" >/dev/null 2>&1; then
  # the PNG header: width and height, big-endian, at bytes 16 and 20; 12 images of 7 + 2 pixels
  # per row, one row of 4 + 2 pixels per generation, 2 pixels of margin
  size=$(od -An -tu1 -j16 -N8 "$out/vae_samples.png" | tr -s ' ' | sed 's/^ //')
  if [ "$size" = "0 0 0 110 0 0 0 14" ]; then
    pass "vae_collapse on 4 x 7-pixel images: a 110 x 14 samples figure"
  else
    fail "vae_collapse on 4 x 7-pixel images: the samples figure's size bytes are $size"
  fi
else
  fail "vae_collapse on 4 x 7-pixel images failed"
fi
status=2 one_line_exit1 "ngram_score --train ''" "--train" "$ex/ngram_score" --train "" --test x
# custom_model: the common options, and ./results as a file
cm=$work/custom
mkdir -p "$cm"
printf 'x' >"$cm/results"
(cd "$cm" && one_line_exit1 "custom_model with ./results a file" "results" "$ex/custom_model" --generations 2 --replicates 2)
(cd "$cm" && "$ex/custom_model" --help | grep -q "usage: custom_model") && pass "custom_model --help" ||
  fail "custom_model --help"
err=$(cd "$cm" && "$ex/custom_model" --bogus 1 2>&1)
[ $? -eq 2 ] && [[ "$err" == *"--bogus"* ]] && pass "custom_model --bogus: exit 2, $err" ||
  fail "custom_model --bogus: $err"
err=$(cd "$cm" && "$ex/custom_model" --seed nan 2>&1)
[ $? -eq 2 ] && [[ "$err" == *"--seed"* ]] && pass "custom_model --seed nan: exit 2" ||
  fail "custom_model --seed nan: $err"
(cd "$cm" && "$ex/custom_model" --generations 20 --replicates 10 --out "$cm/o" >/dev/null) &&
  [ -f "$cm/o/custom_model_results.json" ] && pass "custom_model --out" || fail "custom_model --out"

# 4. no NaN in results
out=$work/one_replicate
"$ex/gaussian_collapse" --samples 20 --generations 3 --replicates 1 --no-plot --out "$out" >/dev/null 2>&1
if grep -qiw 'nan' "$out"/*.csv "$out"/*.json; then
  fail "one replicate: NaN in the results: $(grep -ilw nan "$out"/*)"
else
  pass "one replicate: no NaN in the results (empty fields, null in JSON)"
fi

echo "$((tried - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
