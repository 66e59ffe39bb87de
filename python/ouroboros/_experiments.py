"""The experiments of the library's programs as functions (ouro::experiments in C++)."""
import inspect
import os

from . import _ouroboros as _core
from ._results import Results, _run_args

_DOCS = {
    "gaussian_collapse": "The 1-D Gaussian of Shumailov et al. against the exact expectations "
                         "(replace, accumulate, mix with fresh real data); exact=True draws each "
                         "training set's sufficient statistics instead of M points.",
    "categorical_collapse": "Wright-Fisher resampling of a categorical distribution: rare states "
                            "vanish, the heterozygosity decays as H0 (1 - 1/M)^n.",
    "gmm_collapse": "The GMM experiment of Shumailov et al.: EM on samples of the previous "
                    "generation's mixture; the results JSON keeps replicate 0's snapshots.",
    "kde_collapse": "Kernel density estimates refitted to their own samples (Kazdan et al.): the "
                    "variance grows instead of collapsing.",
    "linreg_collapse": "Least squares with a fixed design refitted on its own labels (Dohmatob et "
                       "al.; Gerstgrasser et al.); rows replaces samples.",
    "ngram_collapse": "The language-model experiment of Shumailov et al. with an n-gram model on "
                      "the Brown corpus (data: the folder of scripts/fetch_data.sh brown); "
                      "real_fraction is a list (one run per value), samples are real sentences "
                      "(empty: all).",
    "vae_collapse": "The VAE experiment of Shumailov et al. on MNIST digits (data: the folder of "
                    "scripts/fetch_data.sh mnist, or images and labels files); samples are real "
                    "digits (empty: all).",
}

_COMMON = ("Keyword arguments are the program's options with underscores (--real-fraction is "
           "real_fraction); a list value (samples=[20, 100]) makes one run per value. Also: "
           "threads (0: all cores; the numbers do not depend on it), keep ('auto', 'all' or "
           "'none': which per-replicate values the results keep) and progress (print progress "
           "on stderr). Returns ouroboros.Results. Raises ValueError for a setting the program "
           "refuses, TypeError for an unknown one; Ctrl-C stops after the generation in "
           "progress with KeyboardInterrupt.")


def _experiment(name):
    run = getattr(_core, name)
    defaults = getattr(_core, name + "_defaults")()

    def experiment(*, threads=0, keep="auto", progress=False, **settings):
        return Results(run(settings, *_run_args(threads, keep, progress)))

    params = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
              for k, v in defaults.items()]
    params += [inspect.Parameter("threads", inspect.Parameter.KEYWORD_ONLY, default=0),
               inspect.Parameter("keep", inspect.Parameter.KEYWORD_ONLY, default="auto"),
               inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=False)]
    experiment.__signature__ = inspect.Signature(params)
    experiment.__name__ = experiment.__qualname__ = name
    listing = "\n".join(f"    {k} = {v!r}" for k, v in defaults.items())
    experiment.__doc__ = (f"{_DOCS[name]}\n\n{_COMMON}\n\nSettings and their defaults (the "
                          f"program's):\n{listing}\n")
    return experiment


gaussian_collapse = _experiment("gaussian_collapse")
categorical_collapse = _experiment("categorical_collapse")
gmm_collapse = _experiment("gmm_collapse")
kde_collapse = _experiment("kde_collapse")
linreg_collapse = _experiment("linreg_collapse")
ngram_collapse = _experiment("ngram_collapse")
vae_collapse = _experiment("vae_collapse")


def read_results(folder, name):
    """Reads the results that a program (or Results.write) wrote into `folder` under `name`:
    <name>_results.json and, when present, the per-replicate <name>.csv."""
    if not isinstance(name, str):
        raise TypeError(f"name: must be a string, not {type(name).__name__}")
    return Results(_core.read_results(os.fspath(folder), name))
