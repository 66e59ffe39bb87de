#!/usr/bin/env bash
# Side-by-side benchmark of training the MNIST VAE (784-400-20, Adam 1e-3, batch 128, 2 threads)
# against the PyTorch peer (tests/benchmarks/peers/vae_torch.py), same workload, one after the
# other in one run: bench_vae, the peer, bench_vae again. Prints seconds per epoch (median over the
# epochs), the negative ELBO per digit after training, and the ratio.
# Usage: tests/benchmarks/vae_vs_torch.sh [BUILD_DIR] [DATA_DIR] [EPOCHS]
# DATA_DIR holds mnist10k-images-idx3-ubyte and mnist10k-labels-idx1-ubyte
# (scripts/fetch_data.sh mnist DIR; default data/mnist); EPOCHS defaults to 10.
# Needs the peer's Debian packages: apt-get install python3-numpy python3-torch
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build/test}
data=${2:-$root/data/mnist}
E=${3:-10}
peer=$root/tests/benchmarks/peers/vae_torch.py
bench=$build/tests/benchmarks/bench_vae
[ -x "$bench" ] || { echo "build the benchmarks first (scripts/test.sh)" >&2; exit 1; }
[ -f "$peer" ] || { echo "peer not found: $peer" >&2; exit 1; }
[ -f "$data/mnist10k-images-idx3-ubyte" ] ||
  { echo "no MNIST in $data (scripts/fetch_data.sh mnist $data)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ours=$("$bench" --data "$data" --epochs "$E" --threads 2)
echo "ouroboros: $ours"
/usr/bin/python3 "$peer" --data "$data/mnist10k-images-idx3-ubyte" --epochs "$E" --reps 1 --G 0 \
  --threads 2 --out "$tmp/torch.json" | tail -1
ours2=$("$bench" --data "$data" --epochs "$E" --threads 2)
echo "ouroboros: $ours2"
/usr/bin/python3 - "$tmp/torch.json" "$ours" "$ours2" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["timing"]
peer, peer_elbo = t["s_per_epoch_median"], t["final_neg_elbo_median"]
ours = [json.loads(s) for s in sys.argv[2:]]
secs = [o["seconds_per_epoch"] for o in ours]
print(f"PyTorch peer: {peer:.3f} s/epoch, -ELBO/digit {peer_elbo:.2f}; ouroboros: "
      f"{', '.join(f'{s:.3f}' for s in secs)} s/epoch, -ELBO/digit "
      f"{', '.join(format(o['neg_elbo_per_digit'], '.2f') for o in ours)}")
print(f"ratio (PyTorch / ouroboros seconds per epoch): {peer / max(secs):.1f}x to "
      f"{peer / min(secs):.1f}x")
PY
