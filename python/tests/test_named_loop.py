"""The loop of named parts (ouroboros.loop): the library's reference models, fitters, samplers,
regimes and metrics by name, run in C++. Its numbers are those of the experiments that use the
same parts."""
import numpy as np
import pytest

import ouroboros
from ouroboros import models

GAUSSIAN = ["mean", "variance", "std", "log_variance", "mean_sq_error", "w2_sq"]


@pytest.mark.parametrize("regime,extra", [("replace", {}), ("accumulate", {}),
                                          ("mix", {"real_fraction": 0.3, "real_source": "fresh"})])
def test_gaussian_equals_the_experiment(regime, extra):
    kw = dict(samples=[20, 50], generations=10, replicates=30, seed=5, regime=regime, **extra)
    named = ouroboros.loop(models.Gaussian(0, 1), models.GaussianFitter("mle"), metrics=GAUSSIAN,
                           **kw)
    exp = ouroboros.gaussian_collapse(estimator="mle", **kw)
    for a, b in zip(named.runs, exp.runs):
        assert a.metric_names == b.metric_names
        assert np.array_equal(a.values, b.values)


def test_categorical_and_kde_equal_their_experiments():
    kw = dict(samples=[20], generations=8, replicates=25, seed=3)
    named = ouroboros.loop(models.Categorical([0.5, 0.3, 0.15, 0.05]),
                           models.CategoricalFitter(4), metrics=["heterozygosity", "entropy"],
                           **kw)
    exp = ouroboros.categorical_collapse(**kw)
    assert np.array_equal(named.runs[0].values, exp.runs[0].values[:, :, :2])
    named = ouroboros.loop(models.Gaussian(0, 1), models.GaussianFitter(), metrics=["variance"],
                           **kw)
    assert named.runs[0].metric_names == ["variance"]
    points = np.random.default_rng(0).normal(size=50)
    kde = ouroboros.loop(models.KDE(points, 0.3), models.KDEFitter(),
                         metrics=["l2_distance", "variance"], **kw)
    assert kde.runs[0].metric_names == ["l2_distance", "variance"]
    assert kde.runs[0].values.shape == (8, 25, 2)
    assert np.all(kde.runs[0].values[:, :, 1] > 0)


def test_gmm_with_truncation():
    truth = models.GMM([1.0], [[0.0, 0.0]], [np.eye(2)])
    kw = dict(samples=[60], generations=4, replicates=2, seed=3)
    plain = ouroboros.loop(truth, models.GMMFitter(), metrics=["total_variance"], **kw)
    exp = ouroboros.gmm_collapse(**kw)
    assert np.array_equal(plain.runs[0].values[:, :, 0], exp.runs[0].value("total_variance"))
    cut = ouroboros.loop(truth, models.GMMFitter(), metrics=["total_variance"],
                         sampler=("truncate", 0.2), **kw)
    trunc = ouroboros.gmm_collapse(truncate=0.2, **kw)
    assert np.array_equal(cut.runs[0].values[:, :, 0], trunc.runs[0].value("total_variance"))


def test_named_loop_refusals():
    g, f = models.Gaussian(0, 1), models.GaussianFitter()
    with pytest.raises(ValueError, match="'heterozygosity' is not a metric of the Gaussian model"):
        ouroboros.loop(g, f, metrics=["heterozygosity"])
    with pytest.raises(ValueError, match="give at least one"):
        ouroboros.loop(g, f, metrics=[])
    with pytest.raises(TypeError, match="GaussianFitter"):
        ouroboros.loop(g, models.KDEFitter(), metrics=["mean"])
    with pytest.raises(ValueError, match="truncation needs a model with densities"):
        ouroboros.loop(g, f, metrics=["mean"], sampler=("truncate", 0.1))
    with pytest.raises(TypeError, match="a model of your own runs in ouroboros.collapse"):
        ouroboros.loop(object(), f, metrics=["mean"])
    with pytest.raises(TypeError, match="list of metric names"):
        ouroboros.loop(g, f, metrics="mean")
    with pytest.raises(ValueError, match="real_fraction: applies only to regime mix"):
        ouroboros.loop(g, f, metrics=["mean"], real_fraction=0.2)


def test_a_named_loop_steps_to_the_same_run():
    kw = dict(samples=30, generations=6, replicates=5, seed=9)
    whole = ouroboros.loop(models.Gaussian(0, 1), models.GaussianFitter("mle"),
                           metrics=["variance", "mean"], **kw)
    run = ouroboros.start_loop(models.Gaussian(0, 1), models.GaussianFitter("mle"),
                               metrics=["variance", "mean"], **kw)
    while not run.done:
        run.advance()
        ms = run.models()
        assert len(ms) == 5 and all(isinstance(m, models.Gaussian) for m in ms)
        assert run.values()[3, 0] == ms[3].variance
    res = run.finish()
    assert np.array_equal(res.runs[0].values, whole.runs[0].values)
    with pytest.raises(ValueError, match="one sample size"):
        ouroboros.start_loop(models.Gaussian(0, 1), models.GaussianFitter(), metrics=["mean"],
                             samples=[5, 6])
