"""The experiments from Python: the programs' numbers to the last bit, the files they write, the
settings they refuse, the results object, the figure."""
import csv
import inspect
import json
import math
import os

import numpy as np
import pytest

import ouroboros


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def without_provenance(path):
    with open(path) as f:
        j = json.load(f)
    j.pop("provenance", None)
    return j


CASES = [
    ("gaussian_collapse", dict(samples=[20, 100], generations=30, replicates=30, seed=5),
     ["--samples", "20,100", "--generations", "30", "--replicates", "30", "--seed", "5"]),
    ("gaussian_collapse", dict(samples=[20], generations=25, replicates=40, regime="mix",
                               real_fraction=0.2, real_source="fresh", estimator="mle",
                               exact=True),
     ["--samples", "20", "--generations", "25", "--replicates", "40", "--regime", "mix",
      "--real-fraction", "0.2", "--real-source", "fresh", "--estimator", "mle", "--exact"]),
    ("categorical_collapse", dict(samples=[20, 50], generations=30, replicates=30,
                                  probs=[3, 2, 1]),
     ["--samples", "20,50", "--generations", "30", "--replicates", "30", "--probs", "3,2,1"]),
    ("kde_collapse", dict(samples=[20], generations=10, replicates=30, bandwidth="0.3",
                          regime="accumulate"),
     ["--samples", "20", "--generations", "10", "--replicates", "30", "--bandwidth", "0.3",
      "--regime", "accumulate"]),
    ("linreg_collapse", dict(rows=[20, 40], dim=5, generations=12, replicates=40),
     ["--rows", "20,40", "--dim", "5", "--generations", "12", "--replicates", "40"]),
    ("gmm_collapse", dict(samples=[60], generations=5, replicates=2, seed=3),
     ["--samples", "60", "--generations", "5", "--replicates", "2", "--seed", "3"]),
]


@pytest.mark.parametrize("name,kwargs,args", CASES, ids=[c[0] + str(i) for i, c in
                                                         enumerate(CASES)])
def test_same_numbers_and_files_as_the_program(tmp_path, program, name, kwargs, args):
    out = program(name, tmp_path / "program", "--threads", "2", *args)
    res = getattr(ouroboros, name)(threads=2, **kwargs)
    # the summary, to the last bit (the CSV holds every digit a double needs)
    rows = read_csv(out / f"{name}_summary.csv")
    df = res.to_pandas()
    assert len(rows) == len(df)
    for col in ("mean", "sd", "se", "ci95_lo", "ci95_hi", "median"):
        want = np.array([float(r[col]) for r in rows])
        assert np.array_equal(want, df[col].to_numpy(), equal_nan=True), col
    theory = np.array([float(r["theory"]) if r["theory"] else math.nan for r in rows])
    assert np.array_equal(theory, df["theory"].to_numpy(), equal_nan=True)
    assert [r["run"] for r in rows] == list(df["run"])
    assert [r["metric"] for r in rows] == list(df["metric"])
    # the files Results.write writes are the program's, byte for byte (the JSON but provenance)
    mine = tmp_path / "python"
    res.write(mine, figure=False)
    def listing(folder):
        return sorted(p.name for p in folder.iterdir() if not p.name.endswith((".ckpt", ".lock")))
    files = listing(out)
    assert listing(mine) == files
    for f in files:
        if f.endswith(".json"):
            assert without_provenance(mine / f) == without_provenance(out / f), f
        else:
            assert (mine / f).read_bytes() == (out / f).read_bytes(), f


def test_threads_do_not_change_the_numbers():
    a = ouroboros.gaussian_collapse(samples=[30], generations=20, replicates=50, threads=1)
    b = ouroboros.gaussian_collapse(samples=[30], generations=20, replicates=50, threads=2)
    assert np.array_equal(a.runs[0].values, b.runs[0].values)


def test_defaults_are_the_programs():
    sig = inspect.signature(ouroboros.gaussian_collapse)
    assert sig.parameters["samples"].default == [100, 1000]
    assert sig.parameters["generations"].default == 1000
    assert sig.parameters["estimator"].default == "unbiased"
    assert inspect.signature(ouroboros.linreg_collapse).parameters["rows"].default == [50]
    assert "generations = 1000" in ouroboros.gaussian_collapse.__doc__


def test_results_object():
    res = ouroboros.gaussian_collapse(samples=[20, 40], generations=10, replicates=25, seed=9)
    assert [r.label for r in res.runs] == ["M=20", "M=40"]
    run = res.run("M=40")
    assert run.values.shape == (10, 25, len(run.metric_names))
    assert np.array_equal(run.value("variance")[3], run.values[3, :, 1])
    assert run.summary["variance"]["mean"][3] == pytest.approx(run.value("variance")[3].mean(),
                                                               rel=1e-12)
    assert "variance" in run.theory and len(run.theory["variance"]) == 10
    assert res.provenance["seed"] == 9
    assert res.config["estimator"] == "unbiased"
    v = res.values_to_pandas()
    assert len(v) == 2 * 10 * 25 * len(run.metric_names)
    with pytest.raises(KeyError):
        res.run("M=7")
    kept = ouroboros.gaussian_collapse(samples=[20], generations=3, replicates=4, keep="none")
    assert kept.runs[0].values is None
    with pytest.raises(ValueError, match="keep='all'"):
        kept.runs[0].value("mean")


def test_to_pandas_without_pandas(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_pandas(name, *a, **k):
        if name == "pandas":
            raise ImportError("no pandas")
        return real(name, *a, **k)

    res = ouroboros.kde_collapse(samples=[20], generations=4, replicates=10)
    monkeypatch.setattr(builtins, "__import__", no_pandas)
    cols = res.to_pandas()
    assert isinstance(cols, dict)
    assert list(cols)[:3] == ["run", "generation", "metric"]
    assert len(cols["mean"]) == 4 * 2


@pytest.mark.parametrize("kwargs,error,text", [
    (dict(samples=[1]), ValueError, "samples: M = 1"),
    (dict(samples=[20, 20]), ValueError, "given twice"),
    (dict(regime="sideways"), ValueError, "regime: unknown"),
    (dict(real_fraction=0.5), ValueError, "real_fraction: applies only to regime mix"),
    (dict(regime="mix", real_fraction=float("nan")), ValueError, "real_fraction"),
    (dict(regime="mix", real_fraction=2.0), ValueError, "real_fraction"),
    (dict(replicates=-3), ValueError, "replicates: -3 is negative"),
    (dict(replicates=0), ValueError, "replicates: 0 is outside"),
    (dict(generations=2 ** 70), ValueError, "does not fit in 64 bits"),
    (dict(generations=1.5), TypeError, "generations: must be a whole number"),
    (dict(samples=True), TypeError, "whole number"),
    (dict(exact="yes"), TypeError, "exact: must be True or False"),
    (dict(exact=True, regime="accumulate_subsample"), ValueError, "no exact form"),
    (dict(estimator="median"), ValueError, "estimator"),
    (dict(varaince_floor=1.0), TypeError, "unexpected keyword argument 'varaince_floor'"),
    (dict(samples=[20], generations=2, replicates=2, keep="some"), ValueError, "keep"),
])
def test_refused_settings(kwargs, error, text):
    with pytest.raises(error, match=text):
        ouroboros.gaussian_collapse(**kwargs)


def test_other_programs_refuse_with_the_setting_named():
    with pytest.raises(ValueError, match="samples: every generation labels the T rows"):
        ouroboros.linreg_collapse(samples=[10])
    with pytest.raises(ValueError, match="rows: 5 is fewer than dim 10"):
        ouroboros.linreg_collapse(rows=[5])
    with pytest.raises(ValueError, match="components: 5 is more than samples 3"):
        ouroboros.gmm_collapse(samples=[3], components=5)
    with pytest.raises(ValueError, match="bandwidth"):
        ouroboros.kde_collapse(bandwidth="-1")
    with pytest.raises(ValueError, match="probs: need at least one state"):
        ouroboros.categorical_collapse(probs=[0, 0])
    with pytest.raises(ValueError, match="zipf: K"):
        ouroboros.categorical_collapse(zipf=[0.5, 1])


def test_write_refuses_what_it_cannot_write(tmp_path):
    res = ouroboros.kde_collapse(samples=[20], generations=3, replicates=5)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="cannot create the output folder"):
        res.write(blocker, figure=False)
    with pytest.raises(ValueError, match="plain file name"):
        res.write(tmp_path / "ok", name="../escape", figure=False)
    # a planted link where a results file goes is replaced, not followed
    target = tmp_path / "victim"
    target.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(target, out / "kde_collapse_summary.csv")
    res.write(out, figure=False)
    assert target.read_text() == "keep me"
    assert not (out / "kde_collapse_summary.csv").is_symlink()


def test_read_back(tmp_path):
    res = ouroboros.categorical_collapse(samples=[20], generations=5, replicates=8, probs=[1, 1])
    res.write(tmp_path, figure=False)
    back = ouroboros.read_results(tmp_path, "categorical_collapse")
    assert np.array_equal(back.runs[0].values, res.runs[0].values)
    assert back.runs[0].summary["heterozygosity"]["mean"].tolist() == \
        res.runs[0].summary["heterozygosity"]["mean"].tolist()
    with pytest.raises((OSError, ValueError)):
        ouroboros.read_results(tmp_path, "nothing_here")


def test_plot_has_the_programs_panels():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    res = ouroboros.gaussian_collapse(samples=[20, 50], generations=8, replicates=20)
    fig = res.plot()
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["E[log sigma^2]", "E[sigma]", "E[mu^2]",
                                                  "E[W2^2] to N(0,1)"]
    # two runs: a mean line and a dashed theory line each, in every panel with theory
    assert len(visible[0].lines) == 4
    fig2 = res.plot(metrics=["mean"])
    assert [ax.get_title() for ax in fig2.axes if ax.get_visible()] == ["mean"]
    with pytest.raises(ValueError, match="nope not in the results"):
        res.plot(metrics=["nope"])


def data_dir(name, probe):
    d = os.environ.get("OUROBOROS_DATA")
    if not d or not os.path.exists(os.path.join(d, name, probe)):
        pytest.skip(f"no {name} data in OUROBOROS_DATA (scripts/fetch_data.sh {name} DIR)")
    return os.path.join(d, name)


def test_ngram_same_as_the_program(tmp_path, program):
    brown = data_dir("brown", "brown.train.txt")
    args = ["--samples", "2000", "--generations", "2", "--replicates", "2", "--data", brown,
            "--real-fraction", "0,0.1", "--threads", "2"]
    out = program("ngram_collapse", tmp_path / "program", *args)
    res = ouroboros.ngram_collapse(samples=[2000], generations=2, replicates=2, data=brown,
                                   real_fraction=[0, 0.1], threads=2)
    assert [r.label for r in res.runs] == ["real=0", "real=0.1"]
    mine = tmp_path / "python"
    res.write(mine, figure=False)
    for f in ("ngram_collapse_summary.csv", "ngram_collapse.csv",
              "ngram_generated_perplexity.csv"):
        assert (mine / f).read_bytes() == (out / f).read_bytes(), f
    assert without_provenance(mine / "ngram_collapse_results.json") == \
        without_provenance(out / "ngram_collapse_results.json")
    with pytest.raises(ValueError, match="beams: applies only to decoding beam"):
        ouroboros.ngram_collapse(data=brown, beams=3)
    with pytest.raises(ValueError, match="real_fraction: applies only to regime mix"):
        ouroboros.ngram_collapse(data=brown, regime="replace", real_fraction=[0.1])


def test_ngram_missing_data_says_how_to_fetch(tmp_path):
    with pytest.raises(ouroboros.DataError, match="fetch_data.sh brown"):
        ouroboros.ngram_collapse(data=str(tmp_path / "nothing"))


def test_vae_same_as_the_program(tmp_path, program):
    mnist = data_dir("mnist", "mnist10k-images-idx3-ubyte")
    args = ["--samples", "300", "--generations", "2", "--replicates", "1", "--epochs", "1",
            "--gen-samples", "20", "--hidden", "32", "--latent", "4", "--data", mnist,
            "--threads", "1"]
    out = program("vae_collapse", tmp_path / "program", *args)
    res = ouroboros.vae_collapse(samples=[300], generations=2, replicates=1, epochs=1,
                                 gen_samples=20, hidden=32, latent=4, data=mnist, threads=1)
    mine = tmp_path / "python"
    res.write(mine, figure=False)
    for f in ("vae_collapse_summary.csv", "vae_collapse.csv", "vae_samples.png"):
        assert (mine / f).read_bytes() == (out / f).read_bytes(), f
    with pytest.raises(ValueError, match="truncate: 0.05 leaves almost no prior mass"):
        ouroboros.vae_collapse(data=mnist, truncate=0.05)
