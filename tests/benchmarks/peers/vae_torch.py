#!/usr/bin/python3
# Peer of bench_vae (and of examples/vae_collapse): the classic MNIST VAE in PyTorch on the CPU,
# to compare training speed and results with Ouroboros.
#
# Model: encoder 784-400 (ReLU) with two 400-20 heads (mean and log-variance of q(z|x)); decoder
# 20-400 (ReLU)-784 (sigmoid: Bernoulli means). Loss per batch = binary cross-entropy summed over
# pixels and digits (grey values in [0, 1] as targets) + KL(q(z|x) || N(0, I)); Adam, learning rate
# 1e-3; batch 128; a fresh permutation every epoch; torch.manual_seed(seed); --threads torch
# threads (default 2). Data: an IDX image file (--data, e.g. the mnist10k-images-idx3-ubyte that
# scripts/fetch_data.sh mnist DIR writes), pixels / 255 as float32.
#
# Timing part: --reps times, train a fresh model (seed = rep) for --epochs epochs; report the
# seconds of every epoch (s_per_epoch_median: median over all epochs of all reps), the mean loss
# of each epoch and the negative ELBO per digit on the data after training (one z per digit from
# a generator seeded 12345), as bench_vae does.
# Collapse part (--G > 0): generation 0 trains a fresh model for --gen_epochs epochs on the data;
# generation g + 1 trains one on 10,000 decoder means of generation g's prior draws z ~ N(0, I)
# (continuous targets, not binarised). Per generation: negative ELBO per digit on the original
# data and on its own training data, and the pixel variance of its 10,000 samples. --G 0 times
# training only.
#
# Usage: tests/benchmarks/peers/vae_torch.py --data DIR/mnist10k-images-idx3-ubyte --epochs 5 \
#            --reps 1 --G 0 --out v.json            [--threads 2] [--gen_epochs 5] [--skip_timing]
# JSON: "timing": {"s_per_epoch_median", "final_neg_elbo_median", "reps": [...]} and, with
# --G > 0, "collapse": [one entry per generation] (tests/benchmarks/vae_vs_torch.sh reads timing).
# Needs Debian's python3-torch and python3-numpy.
import os

# Debian's torch calls the system OpenBLAS for its matrix products. OpenBLAS' own threads on top of
# torch's threads oversubscribe a small machine and make epochs several times slower and erratic,
# so OpenBLAS gets one thread unless the caller says otherwise; torch's threads still split the
# work.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

PIXELS, HIDDEN, LATENT = 784, 400, 20


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(PIXELS, HIDDEN)
        self.enc_mu = nn.Linear(HIDDEN, LATENT)
        self.enc_logvar = nn.Linear(HIDDEN, LATENT)
        self.dec = nn.Linear(LATENT, HIDDEN)
        self.dec_out = nn.Linear(HIDDEN, PIXELS)

    def encode(self, x):
        h = torch.relu(self.enc(x))
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z):
        return torch.sigmoid(self.dec_out(torch.relu(self.dec(z))))

    def loss(self, x, eps):
        """Negative ELBO summed over the batch, with the given standard normal noise eps."""
        mu, logvar = self.encode(x)
        recon = self.decode(mu + eps * torch.exp(0.5 * logvar))
        bce = F.binary_cross_entropy(recon, x, reduction="sum")
        kl = 0.5 * torch.sum(mu.square() + logvar.exp() - 1.0 - logvar)
        return bce + kl


def read_idx_images(path):
    with open(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in range(0, 16, 4))
    if magic != 0x803:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes with 3 dimensions")
    if rows * cols != PIXELS or len(raw) != 16 + n * PIXELS:
        raise ValueError(f"{path}: expected {n} images of 28 x 28 pixels")
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, PIXELS)
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


def train(data, epochs, seed, batch=128):
    torch.manual_seed(seed)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = data.shape[0]
    seconds, losses = [], []
    model.train()
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n)
        total = 0.0
        for lo in range(0, n, batch):
            x = data[order[lo:lo + batch]]
            opt.zero_grad()
            loss = model.loss(x, torch.randn(x.shape[0], LATENT))
            loss.backward()
            opt.step()
            total += loss.item()
        seconds.append(time.perf_counter() - t0)
        losses.append(total / n)
    return model, seconds, losses


@torch.no_grad()
def neg_elbo_per_digit(model, data, seed=12345, chunk=1000):
    model.eval()
    g = torch.Generator().manual_seed(seed)
    total = sum(model.loss(x, torch.randn(x.shape[0], LATENT, generator=g)).item()
                for x in torch.split(data, chunk))
    return total / data.shape[0]


@torch.no_grad()
def generate(model, n, seed):
    model.eval()
    return model.decode(torch.randn(n, LATENT, generator=torch.Generator().manual_seed(seed)))


def main():
    p = argparse.ArgumentParser(description="MNIST VAE in PyTorch on the CPU (benchmark peer)")
    p.add_argument("--data", required=True, help="IDX image file (mnist10k-images-idx3-ubyte)")
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--epochs", type=int, default=10, help="epochs of each timed training")
    p.add_argument("--reps", type=int, default=3, help="timed trainings (seeds 0, 1, ...)")
    p.add_argument("--G", type=int, default=6, help="generations of the collapse part (0: none)")
    p.add_argument("--gen_epochs", type=int, default=5, help="epochs per generation")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--skip_timing", action="store_true", help="run the collapse part only")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    # Bernoulli means near 0 may be float32 subnormals, which are slow on x86: flush them.
    ftz = torch.set_flush_denormal(True)
    data = read_idx_images(a.data)
    out = {"versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                        "numpy": np.__version__, "num_threads": torch.get_num_threads(),
                        "flush_denormal": ftz,
                        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")},
           "params": vars(a), "digits": int(data.shape[0])}
    print(json.dumps(out["versions"]), flush=True)

    if not a.skip_timing:
        reps = []
        for r in range(a.reps):
            model, seconds, losses = train(data, a.epochs, seed=r)
            ne = neg_elbo_per_digit(model, data)
            reps.append({"seed": r, "epoch_s": seconds, "train_loss_per_sample": losses,
                         "final_neg_elbo_per_sample": ne})
            print(f"rep {r}: median {statistics.median(seconds):.3f} s/epoch "
                  f"({', '.join(f'{s:.3f}' for s in seconds)}); last epoch loss {losses[-1]:.2f}; "
                  f"-ELBO/digit {ne:.2f}", flush=True)
        every = [s for r in reps for s in r["epoch_s"]]
        out["timing"] = {"reps": reps, "s_per_epoch_median": statistics.median(every),
                         "rep_total_train_s": [sum(r["epoch_s"]) for r in reps],
                         "final_neg_elbo_median":
                             statistics.median(r["final_neg_elbo_per_sample"] for r in reps)}
        print(f"median over {len(every)} epochs: {out['timing']['s_per_epoch_median']:.3f} s/epoch",
              flush=True)

    if a.G > 0:
        gens = []
        train_on = data
        t0 = time.perf_counter()
        for g in range(a.G):
            model, seconds, losses = train(train_on, a.gen_epochs, seed=1000 + g)
            samples = generate(model, 10_000, seed=2000 + g)
            rec = {"gen": g, "neg_elbo_original": neg_elbo_per_digit(model, data),
                   "neg_elbo_own_train": neg_elbo_per_digit(model, train_on),
                   "pixel_var_per_pixel_mean": float(samples.var(dim=0).mean()),
                   "pixel_var_pooled": float(samples.var()),
                   "sample_mean_intensity": float(samples.mean()),
                   "train_loss_last_epoch": losses[-1], "train_s": sum(seconds)}
            gens.append(rec)
            print(f"gen {g}: -ELBO original {rec['neg_elbo_original']:.2f}, own "
                  f"{rec['neg_elbo_own_train']:.2f}; pixel variance "
                  f"{rec['pixel_var_per_pixel_mean']:.5f}; {rec['train_s']:.1f} s", flush=True)
            train_on = samples
        out["collapse_wall_s"] = time.perf_counter() - t0
        out["original_pixel_var_per_pixel_mean"] = float(data.var(dim=0).mean())
        out["original_pixel_var_pooled"] = float(data.var())
        out["collapse"] = gens

    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
