#!/usr/bin/python3
# Peer of bench_gaussian_collapse: the 1-D Gaussian collapse loop written as plain vectorised
# numpy, to compare speed and results with Ouroboros on the same workload.
#
# Workload: R independent replicates start from mu = 0, s^2 = 1. In every generation each
# replicate draws M values x = mu + s * z (z standard normal, float64, numpy's default
# Generator, PCG64) and refits mu <- mean(x), s^2 <- sum (x - mean)^2 / (M - 1) (unbiased
# variance). All R replicates are one (R, M) array; G generations; R * M * G draws in all.
# Reported per repetition: wall time, draws per second, mean and median of s_G^2, mean of
# log s_G^2 and of mu_G^2, next to what theory says (E[s_G^2] = 1, E[log s_G^2] = G (psi(k/2) +
# log(2/k)) with k = M - 1, E[mu_G^2] = G / M).
#
# Usage: tests/benchmarks/peers/gauss1d_numpy.py --R 10000 --M 100 --G 2000 --reps 1 --out g.json
# The JSON holds one entry per repetition under "runs" and the speed at the median wall time
# under "samples_per_s_at_median" (what tests/benchmarks/gaussian_vs_numpy.sh reads).
# Needs Debian's python3-numpy and python3-scipy.
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np
from scipy.special import digamma


def collapse(R, M, G, seed, every):
    """Runs the loop once; returns its figures and a trajectory every `every` generations."""
    gen = np.random.default_rng(seed)
    mu = np.zeros((R, 1))
    sd = np.ones((R, 1))
    x = np.empty((R, M))
    trajectory = []
    start = time.perf_counter()
    for g in range(1, G + 1):
        gen.standard_normal(out=x)
        x *= sd
        x += mu
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, ddof=1, keepdims=True)
        mu, sd = mean, np.sqrt(var)
        if every and g % every == 0:
            v = var.ravel()
            trajectory.append({"gen": g, "mean_s2": float(v.mean()),
                               "median_s2": float(np.median(v)),
                               "mean_mu2": float(np.square(mu).mean())})
    seconds = time.perf_counter() - start
    v = np.square(sd).ravel()
    return {"seed": seed, "wall_s": seconds, "samples_per_s": R * M * G / seconds,
            "mean_s2": float(v.mean()), "median_s2": float(np.median(v)),
            "mean_log_s2": float(np.log(v).mean()),
            "mean_mu2": float(np.square(mu).mean()), "traj": trajectory}


def main():
    p = argparse.ArgumentParser(description="1-D Gaussian collapse loop in numpy (benchmark peer)")
    p.add_argument("--R", type=int, default=10_000, help="replicates")
    p.add_argument("--M", type=int, default=100, help="samples per generation (>= 2)")
    p.add_argument("--G", type=int, default=2000, help="generations")
    p.add_argument("--reps", type=int, default=3, help="timed runs (seeds seed, seed+1, ...)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--record-every", type=int, default=100,
                   help="keep the figures every this many generations (0: none)")
    p.add_argument("--out", required=True, help="JSON file to write")
    a = p.parse_args()
    if a.M < 2 or a.R < 1 or a.G < 1 or a.reps < 1:
        p.error("need R >= 1, M >= 2, G >= 1, reps >= 1")

    k = a.M - 1
    e_log = float(digamma(k / 2) + math.log(2 / k))  # E[log(chi2_k / k)]
    theory = {"E_s2": 1.0, "E_log_s2": a.G * e_log, "median_s2_approx": math.exp(a.G * e_log),
              "E_mu2": a.G / a.M}
    runs = []
    for r in range(a.reps):
        res = collapse(a.R, a.M, a.G, a.seed + r, a.record_every)
        runs.append(res)
        print(f"rep {r} (seed {res['seed']}): {res['wall_s']:.3f} s, "
              f"{res['samples_per_s'] / 1e6:.1f} M samples/s; mean s2 {res['mean_s2']:.4g}, "
              f"median s2 {res['median_s2']:.4g}, mean log s2 {res['mean_log_s2']:.4g}, "
              f"mean mu2 {res['mean_mu2']:.4g}", flush=True)
    wall = statistics.median(r["wall_s"] for r in runs)
    out = {"versions": {"python": sys.version.split()[0], "numpy": np.__version__},
           "params": vars(a), "theory": theory, "runs": runs,
           "wall_s_median": wall, "samples_per_s_at_median": a.R * a.M * a.G / wall}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"theory: E[log s2] {theory['E_log_s2']:.4g}, E[mu2] {theory['E_mu2']:.4g}")
    print(f"median wall {wall:.3f} s: {out['samples_per_s_at_median'] / 1e6:.1f} M samples/s")


if __name__ == "__main__":
    main()
