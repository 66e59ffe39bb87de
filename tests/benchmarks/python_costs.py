"""The measurements of python_vs_cpp.sh (see there). Usage: python_costs.py EXAMPLES_DIR"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import ouroboros

examples = sys.argv[1]


def best(f, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times), times


# 1. the GMM experiment: the program against the Python call, alternating
opts = dict(samples=[500, 1000], generations=300, replicates=8, seed=1, threads=2)
args = ["--samples", "500,1000", "--generations", "300", "--replicates", "8", "--seed", "1",
        "--threads", "2", "--no-plot", "--checkpoint-every", "0"]
with tempfile.TemporaryDirectory() as tmp:
    prog, py = [], []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([os.path.join(examples, "gmm_collapse"), *args, "--out", tmp],
                       check=True, capture_output=True)
        prog.append(time.perf_counter() - t)
        t = time.perf_counter()
        ouroboros.gmm_collapse(**opts)
        py.append(time.perf_counter() - t)
print(f"GMM experiment (M=500 and 1000, G=300, R=8, 2 threads): program {min(prog):.3f} s "
      f"{[round(x, 3) for x in prog]}, Python {min(py):.3f} s {[round(x, 3) for x in py]}; "
      f"Python / program = {min(py) / min(prog):.3f}")

# 2. a 1-D Gaussian per replicate and generation
R, M, G = 10000, 100, 10


class Gaussian:
    def __init__(self, mu=0.0, sigma=1.0):
        self.mu, self.sigma = mu, sigma

    def sample(self, n, rng):
        return rng.normal(self.mu, self.sigma, n)

    def fit(self, data, rng):
        return Gaussian(data.mean(), data.std())


class Gaussians:
    """All replicates at once, for the batched form: one mean and sd per replicate."""

    def __init__(self, mu, sigma):
        self.mu, self.sigma = mu, sigma

    def sample(self, n, rng):
        return rng.normal(self.mu[:, None], self.sigma[:, None], (len(self.mu), n))

    def fit(self, data, rng):
        return Gaussians(data.mean(axis=1), data.std(axis=1))


def per(seconds, generations=G):
    return seconds / (R * generations) * 1e9


costs = {}
for threads in (1, 2):
    s, _ = best(lambda: ouroboros.collapse(Gaussian(), metrics={"variance": lambda m: m.sigma ** 2},
                                           samples=M, generations=G, replicates=R,
                                           threads=threads, keep="none"), 2)
    costs[f"Python model in the loop, {threads} thread(s)"] = per(s)
if hasattr(ouroboros, "collapse_batched"):
    s, _ = best(lambda: ouroboros.collapse_batched(
        Gaussians(np.zeros(R), np.ones(R)), metrics={"variance": lambda m: m.sigma ** 2},
        samples=M, generations=G, replicates=R, keep="none"))
    costs["Python model, batched form"] = per(s)
with tempfile.TemporaryDirectory() as tmp:
    Gc = 100

    def cpp():
        subprocess.run([os.path.join(examples, "gaussian_collapse"), "--estimator", "mle",
                        "--samples", str(M), "--generations", str(Gc), "--replicates", str(R),
                        "--threads", "1", "--no-plot", "--checkpoint-every", "0", "--out", tmp],
                       check=True, capture_output=True)
    s, _ = best(cpp)
    costs["C++ model (gaussian_collapse, 6 metrics, 1 thread, process)"] = per(s, Gc)


def vectorised():
    rng = np.random.default_rng(1)
    mu, sd = np.zeros(R), np.ones(R)
    for _ in range(G):
        x = rng.normal(mu[:, None], sd[:, None], (R, M))
        mu, sd = x.mean(axis=1), x.std(axis=1)


s, _ = best(vectorised)
costs["numpy, vectorised over replicates (no summaries)"] = per(s)
print(f"1-D Gaussian, R={R}, M={M}: ns per replicate and generation")
for k, v in costs.items():
    print(f"  {v:10.0f}  {k}")
