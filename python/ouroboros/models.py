"""The library's reference models: parameters as numpy arrays, sample(n, rng) and
log_likelihood(x), and fitters whose fit(data, rng) returns the next model. They run in
ouroboros.collapse like any Python model:

    from ouroboros import models
    res = ouroboros.collapse(models.Gaussian(0, 1), fit=models.GaussianFitter("mle").fit,
                             metrics={"variance": lambda m: m.variance}, samples=100)

`rng` is a numpy.random.Generator (one 64-bit draw of it seeds the C++ stream of the call), an
int seed, or None (seed 0).
"""
from ._ouroboros import models as _m

Gaussian = _m.Gaussian
GaussianFitter = _m.GaussianFitter
Categorical = _m.Categorical
CategoricalFitter = _m.CategoricalFitter
KDE = _m.KDE
KDEFitter = _m.KDEFitter
GMM = _m.GMM
GMMFitter = _m.GMMFitter

__all__ = ["Gaussian", "GaussianFitter", "Categorical", "CategoricalFitter", "KDE", "KDEFitter",
           "GMM", "GMMFitter"]
