#!/usr/bin/python3
"""Parity of Ouroboros' EM with scikit-learn's GaussianMixture (run by hand, not in CI).

Both fit the same data from the same initial responsibilities for a fixed number of iterations
(tol 0): scikit-learn gets the parameters those responsibilities imply as weights_init, means_init
and precisions_init, which makes its first iteration start where Ouroboros' does. Prints the
largest relative difference of weights, means and covariances; it must be below 1e-6.
Needs Debian's python3-sklearn.
Usage: gmm_parity.py PATH/TO/gmm_parity_runner [--N 2000 --D 2 --K 3 --iters 50 --seed 1]
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

ap = argparse.ArgumentParser()
ap.add_argument("runner")
ap.add_argument("--N", type=int, default=2000)
ap.add_argument("--D", type=int, default=2)
ap.add_argument("--K", type=int, default=3)
ap.add_argument("--iters", type=int, default=50)
ap.add_argument("--reg-covar", type=float, default=1e-6)
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
centres = rng.normal(0, 3, size=(a.K, a.D))
X = centres[rng.integers(0, a.K, size=a.N)] + rng.standard_normal((a.N, a.D))
resp = rng.uniform(size=(a.N, a.K))
resp /= resp.sum(axis=1, keepdims=True)

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "input.txt")
    with open(path, "w") as f:
        f.write(f"{a.N} {a.D} {a.K}\n")
        np.savetxt(f, X, fmt="%.17g")
        np.savetxt(f, resp, fmt="%.17g")
    ours = json.loads(subprocess.run([a.runner, path, str(a.iters), repr(a.reg_covar)],
                                     check=True, capture_output=True, text=True).stdout)

nk, means0, covs0 = _estimate_gaussian_parameters(X, resp, a.reg_covar, "full")
gm = GaussianMixture(n_components=a.K, covariance_type="full", max_iter=a.iters, tol=0.0,
                     reg_covar=a.reg_covar, weights_init=nk / a.N, means_init=means0,
                     precisions_init=np.linalg.inv(covs0))
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "did not converge": tol 0 on purpose
    gm.fit(X)

def rel(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1e-300)))

diffs = {"weights": rel(ours["weights"], gm.weights_), "means": rel(ours["means"], gm.means_),
         "covariances": rel(ours["covariances"], gm.covariances_)}
worst = max(diffs.values())
print(f"N={a.N} D={a.D} K={a.K} iterations={a.iters}: largest relative differences {diffs}; "
      f"lower bound ours {ours['lower_bound']:.12g}, scikit-learn {gm.lower_bound_:.12g}")
print("PASS" if worst < 1e-6 else "FAIL", f"(largest {worst:.3g}, bound 1e-6)")
sys.exit(0 if worst < 1e-6 else 1)
