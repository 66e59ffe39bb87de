"""Python models in the library's collapse loop."""
import os
from collections.abc import Mapping

from . import _ouroboros as _core
from ._results import Results, _run_args


def _metrics(metrics):
    if not isinstance(metrics, Mapping):
        raise TypeError("metrics: give a dict of name -> function(model), not "
                        f"{type(metrics).__name__}")
    return dict(metrics)


def _settings(samples, generations, replicates, seed, regime, real_fraction, real_source,
              budget):
    s = {"samples": samples, "generations": generations, "replicates": replicates, "seed": seed,
         "regime": regime}
    # given only when given: a setting the regime ignores is refused, as the programs do
    for k, v in (("real_fraction", real_fraction), ("real_source", real_source),
                 ("budget", budget)):
        if v is not None:
            s[k] = v
    return s


def collapse(model, *, metrics, fit=None, samples=100, generations=100, replicates=100, seed=42,
             regime="replace", real_fraction=None, real_source=None, budget=None, threads=1,
             keep="auto", progress=False, name="collapse", checkpoint=None, resume=False,
             schedule=None):
    """Runs a Python model through the library's collapse loop and returns ouroboros.Results.

    model: the truth; an object with sample(n, rng) returning n samples (a 1-D array of n
        numbers, or an (n, d) array). Generation 0 is fitted on its samples.
    fit: a callable fit(data, rng) returning the next model (default: model.fit). data is a
        numpy array (1-D or (n, d), as sample returns).
    metrics: a dict of name -> function(model) returning a number; the results' columns.
    samples: M per generation; a list makes one run per value.
    schedule: how M changes over generations: None (constant), ("linear", step) (M + step g),
        ("geometric", ratio) (M ratio^g), or a callable g -> M_g.
    regime: replace, accumulate, accumulate_subsample (budget) or mix (real_fraction,
        real_source 'fixed' or 'fresh').
    rng: every call gets a numpy.random.Generator seeded from the replicate's own stream, so the
        numbers depend on the seed only (not on threads).
    threads: worker threads (Python code holds the GIL: more threads help only when the model's
        calls release it, as large numpy operations do).
    checkpoint: a file to save the run to after every generation (models pickled); with
        resume=True a run killed at any moment continues from it.
    A model, fit or metric that raises stops the run with ouroboros.RunError, raised from the
    original exception (its traceback is the cause)."""
    s = _settings(samples, generations, replicates, seed, regime, real_fraction, real_source,
                  budget)
    ckpt = os.fspath(checkpoint) if checkpoint is not None else ""
    if resume and not ckpt:
        raise ValueError("resume: needs checkpoint=<file>")
    threads, keep, progress = _run_args(threads, keep, progress)
    return Results(_core._collapse(model, fit, _metrics(metrics), s, threads, keep, progress, name,
                                   ckpt, bool(resume), schedule))


class Stepper:
    """A run that Python advances generation by generation (ouroboros.start).

        run = ouroboros.start(model, metrics={...}, samples=100, generations=50)
        while not run.done:
            run.advance()              # one generation, every replicate
            run.models()               # every replicate's model (a list)
            run.values()               # numpy [replicate, metric] of the last generation
        res = run.finish()             # ouroboros.Results
    """

    def __init__(self, core, experiment):
        self._core = core
        self._experiment = experiment

    @property
    def done(self):
        return self._core.done

    @property
    def generation(self):
        """Generations run so far."""
        return self._core.generation

    @property
    def metric_names(self):
        return self._core.metric_names

    def advance(self):
        """Runs the next generation for every replicate."""
        self._core.advance()

    def models(self):
        """Every replicate's model after the last generation run."""
        return self._core.models()

    def values(self):
        """The last generation's metric values, a numpy array [replicate, metric]."""
        return self._core.values()

    def finish(self):
        """Records the last generation and returns ouroboros.Results (one run)."""
        return Results(self._core.finish(self._experiment))


def start(model, *, metrics, fit=None, samples=100, generations=100, replicates=100, seed=42,
          regime="replace", real_fraction=None, real_source=None, budget=None, threads=1,
          keep="auto", progress=False, label=None, name="collapse", schedule=None):
    """Starts a run of a Python model that the caller advances (see Stepper); the arguments are
    those of ouroboros.collapse, with one sample size."""
    s = _settings(samples, generations, replicates, seed, regime, real_fraction, real_source,
                  budget)
    threads, keep, progress = _run_args(threads, keep, progress)
    return Stepper(_core._start(model, fit, _metrics(metrics), s, threads, keep, progress,
                                label or "", schedule), name)


def collapse_batched(model, *, metrics, fit=None, samples=100, generations=100, replicates=100,
                     seed=42, regime="replace", real_fraction=None, real_source=None, budget=None,
                     keep="auto", name="collapse"):
    """The batched form of ouroboros.collapse: one Python call per generation for all replicates,
    for models that numpy vectorises across replicates (several times cheaper per replicate than
    a call per replicate when a model's own work is small).

    model: the truth for every replicate at once; sample(n, rng) returns an array of shape
        (replicates, n) or (replicates, n, d) (row r: replicate r's samples).
    fit: fit(data, rng) with data of that shape returns the next batched model (default:
        model.fit).
    metrics: name -> function(model) returning one number per replicate (a 1-D array).
    The regimes are the library's, applied to each replicate's rows (with its own stream for the
    subsampling regime); every batched call gets a numpy Generator on its own stream of (seed,
    generation), so the numbers depend on the seed only. They are not those of
    ouroboros.collapse, whose calls each draw from a replicate's stream. One thread; no
    checkpoints; Ctrl-C stops the run with KeyboardInterrupt."""
    s = _settings(samples, generations, replicates, seed, regime, real_fraction, real_source,
                  budget)
    _, keep, _ = _run_args(1, keep, False)
    return Results(_core._collapse_batched(model, fit, _metrics(metrics), s, keep, name))


def loop(model, fit, *, metrics, sampler=None, samples=100, generations=100, replicates=100,
         seed=42, regime="replace", real_fraction=None, real_source=None, budget=None,
         threads=0, keep="auto", progress=False, name="loop"):
    """A loop of the library's parts chosen by name, run in C++ with the GIL released.

    model: a model of ouroboros.models (Gaussian, Categorical, KDE or GMM), the truth.
    fit: its fitter (GaussianFitter, CategoricalFitter, KDEFitter or GMMFitter).
    metrics: names of the library's metrics for that model:
        Gaussian: mean, variance, std, log_variance, mean_sq_error, w2_sq (the last two against
            the truth); Categorical: heterozygosity, entropy, support_size; KDE: variance,
            l2_distance (to N(0, 1)); GMM: total_variance, component_std, l2_distance (to the
            truth), l2_distance_to_first, mean_norm.
    sampler: None or 'ancestral', or ('truncate', q) for a GMM (draws below the model's
        q-quantile of density are dropped).
    The rest as in ouroboros.collapse; threads default to all cores (the numbers do not depend
    on them). Returns ouroboros.Results."""
    if isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics):
        raise TypeError("metrics: give a list of metric names")
    s = _settings(samples, generations, replicates, seed, regime, real_fraction, real_source,
                  budget)
    threads, keep, progress = _run_args(threads, keep, progress)
    return Results(_core._loop(model, fit, list(metrics), sampler, s, threads, keep, progress,
                               name))


def start_loop(model, fit, *, metrics, sampler=None, samples=100, generations=100,
               replicates=100, seed=42, regime="replace", real_fraction=None, real_source=None,
               budget=None, threads=0, keep="auto", progress=False, name="loop"):
    """ouroboros.loop stepped by the caller (see Stepper), with one sample size; models() gives
    every replicate's model as an ouroboros.models object."""
    if isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics):
        raise TypeError("metrics: give a list of metric names")
    s = _settings(samples, generations, replicates, seed, regime, real_fraction, real_source,
                  budget)
    threads, keep, progress = _run_args(threads, keep, progress)
    return Stepper(_core._loop(model, fit, list(metrics), sampler, s, threads, keep, progress,
                               name, True), name)
