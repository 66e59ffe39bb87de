"""Ouroboros: simulating model collapse, from Python.

The C++ library's engine under a notebook: the experiments of its programs as functions with the
programs' options as keyword arguments (the same numbers, to the last bit, for the same options
and seed), and Python models in the library's loop with its regimes, replicates, random streams,
summaries, checkpoints and results.

    >>> import ouroboros
    >>> res = ouroboros.gaussian_collapse(samples=[100], generations=50, replicates=1000, seed=7)
    >>> res.to_pandas()          # run, generation, metric, mean, sd, se, ci95_lo, ci95_hi, median, theory
    >>> res.plot()               # a matplotlib figure of the program's panels
    >>> res.write("results")     # the files the program writes

See docs/python.md.
"""
from . import _ouroboros as _core
from ._results import Results, Run
from ._experiments import (categorical_collapse, gaussian_collapse, gmm_collapse, kde_collapse,
                           linreg_collapse, ngram_collapse, read_results, vae_collapse)
from . import models
from ._loop import Stepper, collapse, collapse_batched, loop, start, start_loop

RunError = _core.RunError
DataError = _core.DataError
__version__ = _core.__version__

__all__ = ["models", "Results", "Run", "Stepper", "RunError", "DataError", "collapse",
           "collapse_batched", "loop", "start", "start_loop",
           "gaussian_collapse", "categorical_collapse", "gmm_collapse", "kde_collapse",
           "linreg_collapse", "ngram_collapse", "vae_collapse", "read_results", "__version__"]
