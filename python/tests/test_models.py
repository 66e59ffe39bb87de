"""The reference models from Python: parameters, sampling, likelihoods, fits, pickling, and the
reference models in the Python loop against the exact law."""
import math
import pickle

import numpy as np
import pytest

import ouroboros
from ouroboros import models


def test_gaussian():
    g = models.Gaussian(1.0, 4.0)
    assert (g.mean, g.variance, g.sd) == (1.0, 4.0, 2.0)
    x = g.sample(20000, 5)
    assert abs(x.mean() - 1.0) < 4 * 2.0 / math.sqrt(20000)
    assert np.array_equal(x, g.sample(20000, 5))            # an int seed is a fixed stream
    rng = np.random.default_rng(3)
    assert len(g.sample(7, rng)) == 7                        # a numpy Generator seeds it
    ll = g.log_likelihood([1.0, 3.0])
    want = 2 * -0.5 * math.log(2 * math.pi * 4.0) - 0.5 * 4.0 / 4.0
    assert ll == pytest.approx(want, rel=1e-12)
    f = models.GaussianFitter("mle").fit(x)
    assert f.variance == pytest.approx(np.var(x), rel=1e-12)
    assert models.GaussianFitter().fit(x).variance == pytest.approx(np.var(x, ddof=1), rel=1e-12)
    assert pickle.loads(pickle.dumps(g)).variance == 4.0
    with pytest.raises(ValueError, match="variance"):
        models.Gaussian(0.0, -1.0)
    with pytest.raises(ValueError, match="estimator"):
        models.GaussianFitter("median")
    with pytest.raises(ValueError, match="empty"):
        models.GaussianFitter().fit([])
    with pytest.raises(TypeError, match="rng"):
        g.sample(3, "seed")


def test_categorical():
    c = models.Categorical([3, 1])
    assert c.probs.tolist() == [0.75, 0.25]
    x = c.sample(40000, 1)
    assert set(np.unique(x)) <= {0, 1}
    assert abs((x == 0).mean() - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 40000)
    fit = models.CategoricalFitter(2).fit(x)
    assert fit.probs[0] == pytest.approx((x == 0).mean(), rel=1e-12)
    assert c.log_likelihood([0, 1]) == pytest.approx(math.log(0.75) + math.log(0.25))
    with pytest.raises(ValueError, match="not a state index"):
        models.CategoricalFitter(2).fit([0, 2])
    with pytest.raises(ValueError):
        models.Categorical([-1, 2])


def test_kde_and_gmm():
    k = models.KDEFitter().fit(np.linspace(-1, 1, 50))
    assert k.h == pytest.approx(1.06 * np.std(np.linspace(-1, 1, 50), ddof=1) * 50 ** -0.2)
    assert len(k.sample(10, 2)) == 10
    truth = models.GMM([0.5, 0.5], [[-3.0, 0.0], [3.0, 0.0]], [np.eye(2), np.eye(2)])
    assert truth.means.shape == (2, 2) and truth.covariances.shape == (2, 2, 2)
    x = truth.sample(2000, 9)
    assert x.shape == (2000, 2)
    fit = models.GMMFitter(components=2).fit(x, 1)
    assert sorted(np.round(fit.means[:, 0])) == [-3.0, 3.0]
    assert fit.log_likelihood(x) > truth.log_likelihood(x) - 10
    back = pickle.loads(pickle.dumps(fit))
    assert np.array_equal(back.means, fit.means)
    with pytest.raises(ValueError, match="covariances"):
        models.GMM([1.0], [[0.0, 0.0]], [np.eye(3)])


def test_reference_model_in_the_python_loop():
    # the MLE Gaussian's variance: E[sigma_n^2] = ((M - 1) / M)^n, within 4 standard errors
    M, G = 10, 8
    res = ouroboros.collapse(models.Gaussian(0, 1), fit=models.GaussianFitter("mle").fit,
                             metrics={"variance": lambda m: m.variance}, samples=M,
                             generations=G, replicates=1500, seed=2)
    s = res.runs[0].summary["variance"]
    for g in range(G):
        assert abs(s["mean"][g] - ((M - 1) / M) ** (g + 1)) <= 4 * s["se"][g]
