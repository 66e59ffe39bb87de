#!/usr/bin/python3
# Peer of the GMM code: the same workloads done with scikit-learn's GaussianMixture, to compare
# speed and results with Ouroboros (examples/gmm_collapse and bench_gmm_em).
#
# collapse: the GMM experiment of Shumailov et al., "The Curse of Recursion". Generation-0 data
#   are N draws from the truth p0: --truth blob (default) is the 2-D standard normal N(0, I);
#   --truth two is the mixture 0.5 N((-2,0), I) + 0.5 N((2,0), I). Each generation g fits
#   GaussianMixture(n_components=2, covariance_type="full", init_params="kmeans", n_init=1,
#   tol=--tol, max_iter=--max-iter, reg_covar=--reg-covar) (defaults 1e-5, 2000, 1e-6) with
#   random_state = seed * 1000003 + g to the current data, records the fit, then replaces the
#   data by N draws from the fitted mixture (gm.sample). Recorded per generation: weights, means
#   and covariances (components in order of the mean's first coordinate), total_var (trace of
#   the mixture's covariance), data_var (trace of the data's sample covariance), l2 = the
#   L2 distance between the fitted density and p0 in closed form, n_iter and converged. The wall
#   time covers fit, sample and these figures; s_per_gen = wall / G.
# em: fixed-iteration EM timing. K cluster means drawn from N(0, 5^2 I) in D dimensions, N points
#   (uniform cluster, unit covariance), numpy Generator seed 7; the fit starts from weights 1/K,
#   the true means plus N(0, 1) noise and identity precisions (init_params="random" with all
#   three *_init given, so no k-means), tol 0, max_iter = --iters, reg_covar 1e-6.
#   s_per_iter = fit time / n_iter_ (it includes scikit-learn's set-up and closing E step).
#
# Usage:
#   tests/benchmarks/peers/gmm_sklearn.py collapse --G 2000 --Ns 500 --out c.json
#       [--truth blob|two] [--tol 1e-5] [--max-iter 2000] [--reg-covar 1e-6] [--seed 0]
#   tests/benchmarks/peers/gmm_sklearn.py em --N 1000000 --D 2 --K 8 --iters 10 --reps 1 \
#       --out e.json
# JSON: collapse -> "runs": [{"N", "G", "seed", "wall_s", "s_per_gen", "gens": [...]}, ...];
#       em -> "em_timing": [{"N", "D", "K", "reps": [...], "s_per_iter_median", "fit_s_median"}]
# (tests/benchmarks/gmm_vs_sklearn.sh reads runs[0].s_per_gen and em_timing[0]).
# Needs Debian's python3-sklearn (which brings python3-numpy and python3-scipy).
import argparse
import json
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture


def library_versions():
    v = {"python": sys.version.split()[0], "numpy": np.__version__, "sklearn": sklearn.__version__}
    try:
        from threadpoolctl import threadpool_info
        v["threadpools"] = [{key: pool.get(key) for key in ("user_api", "internal_api", "version",
                                                            "num_threads")}
                            for pool in threadpool_info()]
    except ImportError:
        v["threadpools"] = "threadpoolctl not installed"
    return v


def truth(name):
    """Weights, means and covariances of p0."""
    if name == "blob":
        return np.ones(1), np.zeros((1, 2)), np.eye(2)[None]
    return np.full(2, 0.5), np.array([[-2.0, 0.0], [2.0, 0.0]]), np.stack([np.eye(2)] * 2)


def draw(n, w, mu, cov, rng):
    comp = rng.choice(len(w), size=n, p=w)
    chol = np.linalg.cholesky(cov)
    z = rng.standard_normal((n, mu.shape[1]))
    return mu[comp] + np.einsum("nij,nj->ni", chol[comp], z)


def gauss_overlaps(mu, cov):
    """Matrix of int N(x; mu_i, S_i) N(x; mu_j, S_j) dx = N(mu_i; mu_j, S_i + S_j)."""
    d = mu[:, None, :] - mu[None, :, :]
    s = cov[:, None] + cov[None, :]
    quad = np.einsum("ijk,ijk->ij", d, np.linalg.solve(s, d[..., None])[..., 0])
    norm = np.sqrt(np.linalg.det(2 * np.pi * s))
    return np.exp(-0.5 * quad) / norm


def l2_squared(w1, mu1, cov1, w2, mu2, cov2):
    """int (p1 - p2)^2 dx for two Gaussian mixtures."""
    a = np.concatenate([w1, -w2])
    sq = float(a @ gauss_overlaps(np.concatenate([mu1, mu2]), np.concatenate([cov1, cov2])) @ a)
    return max(sq, 0.0)


def total_variance(w, mu, cov):
    m = w @ mu
    return float(np.einsum("k,kii->", w, cov) + w @ np.square(mu).sum(axis=1) - m @ m)


def collapse(N, G, seed, p0, em):
    rng = np.random.default_rng(seed)
    x = draw(N, *p0, rng)
    gens = []
    start = time.perf_counter()
    for g in range(G):
        gm = GaussianMixture(n_components=2, covariance_type="full", init_params="kmeans",
                             n_init=1, random_state=seed * 1_000_003 + g, **em).fit(x)
        order = np.argsort(gm.means_[:, 0])
        w, mu, cov = gm.weights_[order], gm.means_[order], gm.covariances_[order]
        l2sq = l2_squared(w, mu, cov, *p0)
        gens.append({"gen": g, "total_var": total_variance(w, mu, cov),
                     "data_var": float(np.trace(np.cov(x, rowvar=False))),
                     "weights": w.tolist(), "means": mu.tolist(), "covs": cov.tolist(),
                     "l2sq": l2sq, "l2": l2sq ** 0.5,
                     "n_iter": int(gm.n_iter_), "converged": bool(gm.converged_)})
        x = gm.sample(N)[0]
    wall = time.perf_counter() - start
    return {"N": N, "G": G, "seed": seed, "wall_s": wall, "s_per_gen": wall / G, "gens": gens}


def em_timing(N, D, K, iters, reps):
    rng = np.random.default_rng(7)
    centres = rng.normal(0.0, 5.0, size=(K, D))
    x = centres[rng.integers(0, K, size=N)] + rng.standard_normal((N, D))
    start_means = centres + rng.standard_normal((K, D))
    runs = []
    for _ in range(reps):
        gm = GaussianMixture(n_components=K, covariance_type="full", tol=0.0, max_iter=iters,
                             reg_covar=1e-6, init_params="random", random_state=0,
                             weights_init=np.full(K, 1.0 / K), means_init=start_means,
                             precisions_init=np.repeat(np.eye(D)[None], K, axis=0))
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # tol 0 never converges, by design
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(x)
        fit_s = time.perf_counter() - t0
        runs.append({"fit_s": fit_s, "n_iter": int(gm.n_iter_), "s_per_iter": fit_s / gm.n_iter_,
                     "lower_bound": float(gm.lower_bound_)})
    return {"N": N, "D": D, "K": K, "reps": runs,
            "s_per_iter_median": statistics.median(r["s_per_iter"] for r in runs),
            "fit_s_median": statistics.median(r["fit_s"] for r in runs)}


def main():
    p = argparse.ArgumentParser(description="GMM workloads with scikit-learn (benchmark peer)")
    p.add_argument("mode", choices=["collapse", "em"])
    p.add_argument("--out", required=True, help="JSON file to write")
    c = p.add_argument_group("collapse")
    c.add_argument("--G", type=int, default=2000, help="generations")
    c.add_argument("--Ns", type=int, nargs="+", default=[500, 1000], help="samples per generation")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--truth", choices=["blob", "two"], default="blob")
    c.add_argument("--tol", type=float, default=1e-5)
    c.add_argument("--max-iter", type=int, default=2000)
    c.add_argument("--reg-covar", type=float, default=1e-6)
    e = p.add_argument_group("em")
    e.add_argument("--N", type=int, default=1_000_000, help="points")
    e.add_argument("--D", type=int, default=2, help="dimensions")
    e.add_argument("--K", type=int, default=8, help="components")
    e.add_argument("--iters", type=int, default=100, help="EM iterations")
    e.add_argument("--reps", type=int, default=3, help="timed fits")
    a = p.parse_args()

    em = {"tol": a.tol, "max_iter": a.max_iter, "reg_covar": a.reg_covar}
    out = {"versions": library_versions(), "params": vars(a)}
    print(json.dumps(out["versions"]), flush=True)
    if a.mode == "collapse":
        out.update(truth=a.truth, em=em, runs=[])
        p0 = truth(a.truth)
        for N in a.Ns:
            run = collapse(N, a.G, a.seed, p0, em)
            out["runs"].append(run)
            print(f"N={N} G={a.G}: {run['wall_s']:.2f} s, "
                  f"{run['s_per_gen'] * 1e3:.3f} ms/generation", flush=True)
            for g in sorted({0, 1, 10, 100, 1000, a.G - 1}):
                if g < a.G:
                    r = run["gens"][g]
                    print(f"  gen {g:5d}: total_var {r['total_var']:.5g}  l2 {r['l2']:.4f}  "
                          f"weights {np.round(r['weights'], 3).tolist()}  "
                          f"means {np.round(r['means'], 3).tolist()}")
    else:
        t = em_timing(a.N, a.D, a.K, a.iters, a.reps)
        out["em_timing"] = [t]
        print(f"EM N={a.N} D={a.D} K={a.K}: {t['s_per_iter_median'] * 1e3:.2f} ms/iteration "
              f"(n_iter {[r['n_iter'] for r in t['reps']]}, fit {t['fit_s_median']:.3f} s)")
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
