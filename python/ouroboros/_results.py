"""Results of an experiment: runs, summaries, per-replicate values, events, theory, provenance."""
import json

import numpy as np

_SUMMARY_COLUMNS = ["run", "generation", "metric", "mean", "sd", "se", "ci95_lo", "ci95_hi",
                    "median", "theory"]


class Run:
    """One run: one configuration (one sample size), R replicates, G generations.

    Attributes: label, config (dict), replicates, generations, metric_names, summary (metric ->
    dict of numpy arrays: generation, mean, sd, se, ci95_lo, ci95_hi, median), values (numpy
    array [generation, replicate, metric], or None when not kept), theory (metric -> numpy array
    of the exact expectation per generation), events (list of dicts), events_dropped, seconds,
    seed, threads, started (ISO-8601 UTC), interrupted.
    """

    def __init__(self, d):
        self.__dict__.update(d)

    def value(self, metric):
        """Every replicate's value of `metric`: a numpy array [generation, replicate]."""
        if self.values is None:
            raise ValueError(f"run {self.label}: the per-replicate values were not kept "
                             "(run with keep='all')")
        if metric not in self.metric_names:
            raise KeyError(f"run {self.label}: no metric '{metric}' (its metrics: "
                           f"{', '.join(self.metric_names)})")
        return self.values[:, :, self.metric_names.index(metric)]

    def __repr__(self):
        return (f"<ouroboros.Run {self.label}: {self.generations} generations x "
                f"{self.replicates} replicates, metrics {', '.join(self.metric_names)}>")


class Results:
    """All runs of one experiment, with where they came from.

    Attributes: experiment, config (dict), runs (list of Run), seconds, provenance (dict: seed,
    threads, started, seconds, compiler, build type, library version, git revision).
    """

    def __init__(self, core):
        self._core = core
        self.experiment = core.experiment
        self.config = core.config
        self.seconds = core.seconds
        self.runs = [Run(core.run(i)) for i in range(core.run_count())]

    @property
    def provenance(self):
        return json.loads(self._core.to_json()).get("provenance", {})

    def run(self, label):
        """The run with this label (e.g. "M=100")."""
        for r in self.runs:
            if r.label == label:
                return r
        raise KeyError(f"no run '{label}' (runs: {', '.join(r.label for r in self.runs)})")

    def _summary_columns(self):
        # rows in the summary CSV's order: run, then generation, then metric
        cols = {c: [] for c in _SUMMARY_COLUMNS}
        for r in self.runs:
            names = list(r.metric_names)
            if not names:
                continue
            G = len(r.summary[names[0]]["generation"])
            K = len(names)
            theory = np.full((K, G), np.nan)
            for k, name in enumerate(names):
                t = r.theory.get(name)
                if t is not None:
                    theory[k, :min(G, len(t))] = t[:G]
            cols["run"].append(np.full(G * K, r.label, dtype=object))
            cols["generation"].append(np.repeat(r.summary[names[0]]["generation"], K))
            cols["metric"].append(np.tile(np.asarray(names, dtype=object), G))
            for c in ("mean", "sd", "se", "ci95_lo", "ci95_hi", "median"):
                cols[c].append(np.stack([r.summary[n][c] for n in names]).T.ravel())
            cols["theory"].append(theory.T.ravel())
        out = {}
        for k, parts in cols.items():
            if parts:
                out[k] = np.concatenate(parts)
            else:
                out[k] = np.array([], dtype=object if k in ("run", "metric") else float)
        return out

    def to_pandas(self):
        """The tidy summary, one row per run, generation and metric: run, generation, metric,
        mean, sd, se, ci95_lo, ci95_hi, median and theory (NaN where there is none), as the
        summary CSV. A pandas DataFrame when pandas is installed, else a dict of numpy arrays."""
        cols = self._summary_columns()
        try:
            import pandas as pd
        except ImportError:
            return cols
        return pd.DataFrame(cols, columns=_SUMMARY_COLUMNS)

    def values_to_pandas(self):
        """Every replicate's value, one row per run, generation, replicate and metric (the
        per-replicate CSV), for the runs that kept them. A DataFrame, or a dict of arrays."""
        cols = {"run": [], "generation": [], "replicate": [], "metric": [], "value": []}
        for r in self.runs:
            if r.values is None:
                continue
            G, R, K = r.values.shape
            g, rep, k = np.meshgrid(np.arange(G), np.arange(R), np.arange(K), indexing="ij")
            cols["run"].append(np.full(G * R * K, r.label, dtype=object))
            cols["generation"].append(g.ravel())
            cols["replicate"].append(rep.ravel())
            cols["metric"].append(np.asarray(r.metric_names, dtype=object)[k.ravel()])
            cols["value"].append(r.values.ravel())
        out = {k: (np.concatenate(v) if v else np.array([])) for k, v in cols.items()}
        try:
            import pandas as pd
        except ImportError:
            return out
        return pd.DataFrame(out)

    def write(self, folder, name=None, figure=True):
        """Writes the files the program of the experiment writes into `folder` (created when
        missing, locked while writing; every file replaced atomically): <name>_results.json,
        <name>_summary.csv, <name>_theory.csv, <name>.csv when values were kept, and the figure
        <name>.png when `figure` and gnuplot is installed. `name` defaults to the experiment's.
        Returns the folder."""
        import os
        folder = os.fspath(folder)
        if name is None:
            name = self.experiment
        if not isinstance(name, str):
            raise TypeError(f"name: must be a string, not {type(name).__name__}")
        message = self._core.write(folder, name, bool(figure))
        if message:
            import warnings
            warnings.warn(f"the figure was not drawn: {message}", stacklevel=2)
        return folder

    def plot(self, metrics=None, band=True, theory=True):
        """A matplotlib figure of the same panels as the library's figure: per metric, the mean
        over replicates of every run with its 95% band, and the theory dashed where it exists.
        `metrics` (a list of names) replaces the experiment's panels."""
        import matplotlib.pyplot as plt
        panels, title, columns = self._core.figure_panels()
        if metrics is not None:
            known = {m for r in self.runs for m in r.metric_names}
            unknown = [m for m in metrics if m not in known]
            if unknown:
                raise ValueError(f"metrics: {', '.join(map(str, unknown))} not in the results "
                                 f"(they have {', '.join(sorted(known))})")
            panels = [(m, "", False) for m in metrics]
        elif not panels:
            panels = [(m, "", False) for m in (self.runs[0].metric_names if self.runs else [])]
        n = max(1, len(panels))
        ncols = columns or min(3, n)
        nrows = (n + ncols - 1) // ncols
        fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.6 * nrows), squeeze=False)
        for ax in axes.ravel()[n:]:
            ax.set_visible(False)
        for ax, (metric, label, log_y) in zip(axes.ravel(), panels):
            for i, r in enumerate(self.runs):
                if metric not in r.summary:
                    continue
                s = r.summary[metric]
                color = f"C{i % 10}"
                ax.plot(s["generation"], s["mean"], color=color, label=r.label)
                if band:
                    ax.fill_between(s["generation"], s["ci95_lo"], s["ci95_hi"], color=color,
                                    alpha=0.25, linewidth=0)
                if theory and metric in r.theory:
                    t = r.theory[metric]
                    ax.plot(np.arange(len(t)), t, color=color, linestyle="--", linewidth=1)
            ax.set_title(label or metric)
            ax.set_xlabel("generation")
            if log_y:
                ax.set_yscale("log")
            ax.legend(fontsize="small")
        fig.suptitle(title or self.experiment)
        fig.tight_layout()
        return fig

    def __repr__(self):
        runs = ", ".join(r.label for r in self.runs)
        return f"<ouroboros.Results {self.experiment}: runs {runs} ({self.seconds:.2f} s)>"


def _run_args(threads, keep, progress):
    """threads (a whole number >= 0), keep ('auto', 'all' or 'none') and progress (a bool),
    checked with a sentence rather than a signature mismatch."""
    import numbers
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"threads: must be a whole number (0: all cores), not "
                        f"{type(threads).__name__}")
    if threads < 0:
        raise ValueError(f"threads: {threads} is negative; give 0 (all cores) or more")
    if keep not in ("auto", "all", "none"):
        raise ValueError(f"keep: {keep!r} is not one of 'auto', 'all' and 'none'")
    if not isinstance(progress, bool):
        raise TypeError(f"progress: must be True or False, not {type(progress).__name__}")
    return int(min(threads, 4096)), keep, progress
