#!/usr/bin/env bash
# A full disk: runs whose output folder lies on a small tmpfs (mounted here; as root only: the
# test is skipped, exit status 77, otherwise) must fail with exit status 1 and one line, leave no
# temporary file and no half-written file, and keep the checkpoint and the per-replicate CSV in
# step, so that the folder, moved to a larger disk, resumes to the files of an uninterrupted run.
#
#   full_disk.sh EXAMPLES_DIR WORKDIR
set -uo pipefail
ex=$1 work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work"
mkdir -p "$work/small"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=1m tmpfs "$work/small" 2>/dev/null; then
  echo "skipped: mounting a small tmpfs needs root (and the permission to mount)"
  exit 77
fi
trap 'umount "$work/small" 2>/dev/null' EXIT
failures=0 tried=0
pass() { tried=$((tried + 1)); echo "ok   $*"; }
fail() { tried=$((tried + 1)); failures=$((failures + 1)); echo "FAIL $*"; }
no_temporaries() {  # DIR WHAT
  if find "$1" -name '*.tmp.*' | grep -q .; then
    fail "$2: temporary files left: $(find "$1" -name '*.tmp.*')"
  else
    pass "$2: no temporary file left"
  fi
}

# gaussian_collapse: the per-replicate CSV outgrows the disk in the middle of a run
args=(--samples 20,100 --generations 300 --replicates 100 --threads 2 --no-plot
  --checkpoint-interval 0)
"$ex/gaussian_collapse" "${args[@]}" --out "$work/ref" >/dev/null 2>&1 || fail "the reference run"
out=$work/small/gauss
"$ex/gaussian_collapse" "${args[@]}" --out "$out" >/dev/null 2>"$work/gauss.err"
rc=$?
err=$(grep -v 'generation ' "$work/gauss.err")
if [ "$rc" -eq 1 ] && [[ "$err" == *"no space left"* || "$err" == *"disk full"* ]]; then
  pass "gaussian_collapse on a full disk: exit 1, $err"
else
  fail "gaussian_collapse on a full disk: exit $rc, $err"
fi
no_temporaries "$work/small" "gaussian_collapse"
[ -f "$out/gaussian_collapse.ckpt" ] && pass "the checkpoint is kept" || fail "no checkpoint kept"
[ -f "$out/gaussian_collapse.csv.tmp" ] && pass "the partial CSV is kept" ||
  fail "the partial CSV was removed"
cp -a "$out" "$work/moved"
rm -rf "$out"
if "$ex/gaussian_collapse" "${args[@]}" --resume --out "$work/moved" >/dev/null 2>&1 &&
  bash "$here/same_results.sh" "$work/ref" "$work/moved"; then
  pass "moved to a larger disk, --resume gives the files of an uninterrupted run"
else
  fail "the resumed run differs from the uninterrupted one"
fi

# a full disk before the first byte: every program fails cleanly
dd if=/dev/zero of="$work/small/filler" bs=4k count=10000 2>/dev/null
out=$work/small/sweep
cat >"$work/sweep.json" <<'EOF'
{"models": ["gaussian"], "regimes": ["replace"], "samples": [20], "generations": 5, "replicates": 4}
EOF
"$ex/collapse_sweep" --config "$work/sweep.json" --quiet --out "$out" >/dev/null 2>"$work/sweep.err"
rc=$?
[ $rc -eq 1 ] && pass "collapse_sweep on a full disk: exit 1, $(tail -1 "$work/sweep.err")" ||
  fail "collapse_sweep on a full disk: exit $rc, $(cat "$work/sweep.err")"
no_temporaries "$work/small" "collapse_sweep"
out=$work/small/cat
"$ex/categorical_collapse" --quick --checkpoint-every 0 --no-plot --out "$out" >/dev/null \
  2>"$work/cat.err"
rc=$?
[ $rc -eq 1 ] && pass "categorical_collapse on a full disk: exit 1, $(tail -1 "$work/cat.err")" ||
  fail "categorical_collapse on a full disk: exit $rc, $(cat "$work/cat.err")"
no_temporaries "$work/small" "categorical_collapse"

# a failed rewrite keeps the previous complete file
rm -f "$work/small/filler"
out=$work/small/keep
"$ex/gaussian_collapse" --samples 20 --generations 5 --replicates 4 --no-plot --checkpoint-every 0 \
  --out "$out" >/dev/null 2>&1 || fail "the small run"
cp "$out/gaussian_collapse_results.json" "$work/before.json"
dd if=/dev/zero of="$work/small/filler" bs=4k count=10000 2>/dev/null
"$ex/gaussian_collapse" --samples 20 --generations 500 --replicates 400 --no-plot \
  --checkpoint-every 0 --out "$out" >/dev/null 2>&1
rc=$?
if [ $rc -eq 1 ] && cmp -s "$out/gaussian_collapse_results.json" "$work/before.json"; then
  pass "a failed rewrite keeps the previous complete file"
else
  fail "a failed rewrite: exit $rc, the previous file $(cmp -s "$out/gaussian_collapse_results.json" "$work/before.json" && echo kept || echo lost)"
fi
no_temporaries "$work/small" "the failed rewrite"

echo "$((tried - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
