"""Python models in the C++ loop: the exact law of the MLE Gaussian, regimes, streams and
threads, stepping, errors with their tracebacks, checkpoints and a kill -9 resume."""
import os
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ouroboros


class Gaussian:
    """N(mu, sigma^2) refitted by maximum likelihood (the variance divides by n)."""

    def __init__(self, mu=0.0, sigma=1.0, n=0):
        self.mu, self.sigma, self.n = mu, sigma, n

    def sample(self, n, rng):
        return rng.normal(self.mu, self.sigma, n)

    def fit(self, data, rng):
        return Gaussian(data.mean(), data.std(), len(data))


METRICS = {"variance": lambda m: m.sigma ** 2, "mean": lambda m: m.mu,
           "n": lambda m: m.n}


def test_mle_variance_follows_the_exact_law():
    # E[sigma_n^2] = ((M - 1) / M)^n for n fits of the MLE (replace); 4 standard errors
    M, G = 10, 12
    res = ouroboros.collapse(Gaussian(), metrics=METRICS, samples=M, generations=G,
                             replicates=2000, seed=11)
    s = res.runs[0].summary["variance"]
    for g in range(G):
        law = ((M - 1) / M) ** (g + 1)
        assert abs(s["mean"][g] - law) <= 4 * s["se"][g], (g, s["mean"][g], law)
    # the mean is a martingale around 0
    m = res.runs[0].summary["mean"]
    assert all(abs(m["mean"][g]) <= 4 * m["se"][g] for g in range(G))


def test_regimes_build_the_training_sets():
    M, G = 7, 5
    n = {}
    for regime, extra in (("replace", {}), ("accumulate", {}),
                          ("accumulate_subsample", {"budget": 9}),
                          ("mix", {"real_fraction": 0.5, "real_source": "fresh"})):
        res = ouroboros.collapse(Gaussian(), metrics=METRICS, samples=M, generations=G,
                                 replicates=3, regime=regime, **extra)
        n[regime] = res.runs[0].value("n")[:, 0]
        assert res.config["regime"] == regime
    assert n["replace"].tolist() == [M] * G
    assert n["accumulate"].tolist() == [M * (g + 1) for g in range(G)]
    assert n["accumulate_subsample"].tolist() == [M] + [9] * (G - 1)
    assert n["mix"].tolist() == [M] * G


def test_same_seed_same_numbers_any_threads():
    kw = dict(metrics=METRICS, samples=[8, 16], generations=6, replicates=12, seed=3)
    a = ouroboros.collapse(Gaussian(), threads=1, **kw)
    b = ouroboros.collapse(Gaussian(), threads=2, **kw)
    c = ouroboros.collapse(Gaussian(), threads=1, **{**kw, "seed": 4})
    for ra, rb in zip(a.runs, b.runs):
        assert np.array_equal(ra.values, rb.values)
    assert not np.array_equal(a.runs[0].values, c.runs[0].values)
    assert [r.label for r in a.runs] == ["M=8", "M=16"]


def test_rng_is_a_numpy_generator_and_rows_work():
    seen = []

    class Cloud:
        def __init__(self, centre=(0.0, 0.0)):
            self.centre = np.asarray(centre)

        def sample(self, n, rng):
            seen.append(type(rng))
            return self.centre + rng.standard_normal((n, 2))

        def fit(self, data, rng):
            assert data.shape[1] == 2
            return Cloud(data.mean(axis=0))

    res = ouroboros.collapse(Cloud(), metrics={"x": lambda m: m.centre[0],
                                               "y": lambda m: m.centre[1]},
                             samples=20, generations=4, replicates=5, regime="accumulate")
    assert res.runs[0].values.shape == (4, 5, 2)
    assert seen and all(t is np.random.Generator for t in seen)


def test_stepping_gives_the_same_run():
    kw = dict(metrics=METRICS, samples=9, generations=7, replicates=6, seed=21)
    whole = ouroboros.collapse(Gaussian(), **kw)
    run = ouroboros.start(Gaussian(), **kw)
    steps = 0
    while not run.done:
        run.advance()
        steps += 1
        models = run.models()
        assert len(models) == 6 and all(isinstance(m, Gaussian) for m in models)
        vals = run.values()
        assert vals.shape == (6, 3)
        assert vals[2, 0] == models[2].sigma ** 2
    assert steps == 7 and run.generation == 7
    res = run.finish()
    assert np.array_equal(res.runs[0].values, whole.runs[0].values)


class Boom(Exception):
    pass


def test_a_failing_model_stops_the_run_with_its_traceback():
    class Fails(Gaussian):
        def fit(self, data, rng):
            if len(data) and self.n >= 0 and rng.random() < 2:  # always, from generation 0
                raise Boom("the fit broke")

    with pytest.raises(ouroboros.RunError) as err:
        ouroboros.collapse(Fails(), metrics=METRICS, samples=5, generations=3, replicates=2)
    assert isinstance(err.value.__cause__, Boom)
    assert "the fit broke" in str(err.value)
    assert "Traceback" in str(err.value) and "test_loop.py" in str(err.value)
    assert "replicate" in str(err.value) and "generation" in str(err.value)


@pytest.mark.parametrize("model,metrics,text", [
    (type("Short", (Gaussian,), {"sample": lambda self, n, rng: np.zeros(n - 1)})(), METRICS,
     "asked for 5 samples and returned 4"),
    (type("Text", (Gaussian,), {"sample": lambda self, n, rng: "abc"})(), METRICS,
     "array of numbers"),
    (type("NoneFit", (Gaussian,), {"fit": lambda self, d, rng: None})(), METRICS,
     "returned None"),
    (Gaussian(), {"bad": lambda m: "high"}, "metric 'bad' returned str, not a number"),
    (Gaussian(), {"bad": lambda m: 1 / 0}, "ZeroDivisionError"),
])
def test_bad_models_are_named(model, metrics, text):
    with pytest.raises(ouroboros.RunError, match=text):
        ouroboros.collapse(model, metrics=metrics, samples=5, generations=2, replicates=2)


def test_bad_arguments():
    with pytest.raises(TypeError, match="sample"):
        ouroboros.collapse(object(), metrics=METRICS)
    with pytest.raises(ValueError, match="metrics: give at least one"):
        ouroboros.collapse(Gaussian(), metrics={})
    with pytest.raises(TypeError, match="not callable"):
        ouroboros.collapse(Gaussian(), metrics={"x": 3})
    with pytest.raises(ValueError, match="real_fraction: applies only to regime mix"):
        ouroboros.collapse(Gaussian(), metrics=METRICS, real_fraction=0.3)
    with pytest.raises(ValueError, match="replicates"):
        ouroboros.collapse(Gaussian(), metrics=METRICS, replicates=0)
    with pytest.raises(ValueError, match="resume: needs checkpoint"):
        ouroboros.collapse(Gaussian(), metrics=METRICS, resume=True)
    with pytest.raises(ValueError, match="one sample size"):
        ouroboros.start(Gaussian(), metrics=METRICS, samples=[5, 6])


def test_checkpoint_resume_returns_the_same_results(tmp_path):
    ck = tmp_path / "run.ckpt"
    kw = dict(metrics=METRICS, samples=[6, 9], generations=5, replicates=4, seed=8)
    first = ouroboros.collapse(Gaussian(), checkpoint=ck, **kw)
    assert ck.exists()
    again = ouroboros.collapse(Gaussian(), checkpoint=ck, resume=True, **kw)
    for a, b in zip(first.runs, again.runs):
        assert np.array_equal(a.values, b.values)
    with pytest.raises(ValueError, match="seed"):
        ouroboros.collapse(Gaussian(), checkpoint=ck, resume=True, **{**kw, "seed": 9})


KILLED = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import ouroboros
    sys.path.insert(0, {here!r})
    from test_loop import Gaussian, METRICS
    calls = [0]
    def variance(m):
        calls[0] += 1
        if {kill} and calls[0] == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)
        return m.sigma ** 2
    res = ouroboros.collapse(Gaussian(), metrics={{**METRICS, "variance": variance}},
                             samples=[6, 9], generations=8, replicates=3, seed=5, threads=1,
                             checkpoint={ck!r}, resume=True)
    np.save({out!r}, np.concatenate([r.values.ravel() for r in res.runs]))
""")


def test_killed_run_resumes_to_the_same_numbers(tmp_path):
    here = os.path.dirname(os.path.abspath(__file__))
    ck, out, ref = str(tmp_path / "k.ckpt"), str(tmp_path / "k.npy"), str(tmp_path / "r.npy")

    def python(kill, kill_at, checkpoint, dest):
        code = KILLED.format(here=here, kill=kill, kill_at=kill_at, ck=checkpoint, out=dest)
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    done = python(False, 0, str(tmp_path / "ref.ckpt"), ref)
    assert done.returncode == 0, done.stderr
    # killed in the second run, at its fourth generation (3 replicates a generation)
    killed = python(True, 8 * 3 + 3 * 3 + 2, ck, out)
    assert killed.returncode == -signal.SIGKILL
    assert not os.path.exists(out)
    resumed = python(False, 0, ck, out)
    assert resumed.returncode == 0, resumed.stderr
    assert np.array_equal(np.load(out), np.load(ref))


def test_models_pickle_for_checkpoints():
    g = pickle.loads(pickle.dumps(Gaussian(1.0, 2.0, 3)))
    assert (g.mu, g.sigma, g.n) == (1.0, 2.0, 3)


class Gaussians:
    """Every replicate's N(mu_r, sigma_r^2) at once, refitted by maximum likelihood."""

    def __init__(self, mu, sigma, n=0):
        self.mu, self.sigma, self.n = np.asarray(mu), np.asarray(sigma), n

    def sample(self, n, rng):
        return rng.normal(self.mu[:, None], self.sigma[:, None], (len(self.mu), n))

    def fit(self, data, rng):
        return Gaussians(data.mean(axis=1), data.std(axis=1), data.shape[1])


BATCH_METRICS = {"variance": lambda m: m.sigma ** 2, "n": lambda m: np.full(len(m.mu), m.n)}


def test_batched_follows_the_exact_law():
    M, G, R = 10, 12, 4000
    res = ouroboros.collapse_batched(Gaussians(np.zeros(R), np.ones(R)), metrics=BATCH_METRICS,
                                     samples=M, generations=G, replicates=R, seed=5)
    s = res.runs[0].summary["variance"]
    for g in range(G):
        assert abs(s["mean"][g] - ((M - 1) / M) ** (g + 1)) <= 4 * s["se"][g]
    again = ouroboros.collapse_batched(Gaussians(np.zeros(R), np.ones(R)), metrics=BATCH_METRICS,
                                       samples=M, generations=G, replicates=R, seed=5)
    assert np.array_equal(res.runs[0].values, again.runs[0].values)
    assert res.config["batched"] is True


def test_batched_regimes():
    M, G, R = 6, 4, 3
    n = {}
    for regime, extra in (("replace", {}), ("accumulate", {}),
                          ("accumulate_subsample", {"budget": 4}),
                          ("mix", {"real_fraction": 0.5}),
                          ("mix", {"real_fraction": 0.5, "real_source": "fresh"})):
        res = ouroboros.collapse_batched(Gaussians(np.zeros(R), np.ones(R)), metrics=BATCH_METRICS,
                                         samples=M, generations=G, replicates=R, regime=regime,
                                         **extra)
        n[regime] = res.runs[0].value("n")[:, 0].tolist()
    assert n["replace"] == [M] * G
    assert n["accumulate"] == [M * (g + 1) for g in range(G)]
    assert n["accumulate_subsample"] == [M] + [4] * (G - 1)
    assert n["mix"] == [M] * G


def test_batched_refuses_bad_shapes():
    class Flat(Gaussians):
        def sample(self, n, rng):
            return np.zeros(n)

    with pytest.raises(ouroboros.RunError, match="shape"):
        ouroboros.collapse_batched(Flat([0.0, 0.0], [1.0, 1.0]), metrics=BATCH_METRICS,
                                   samples=5, generations=2, replicates=2)
    with pytest.raises(ouroboros.RunError, match=r"returned an array of shape \(2, 5\)"):
        ouroboros.collapse_batched(Gaussians([0.0, 0.0], [1.0, 1.0]), metrics=BATCH_METRICS,
                                   samples=5, generations=2, replicates=3)
    with pytest.raises(ouroboros.RunError, match="one per replicate"):
        ouroboros.collapse_batched(Gaussians([0.0, 0.0], [1.0, 1.0]),
                                   metrics={"x": lambda m: 1.0}, samples=5, generations=2,
                                   replicates=2)

    class Boom(Gaussians):
        def fit(self, data, rng):
            raise KeyError("no fit here")

    with pytest.raises(ouroboros.RunError) as err:
        ouroboros.collapse_batched(Boom([0.0], [1.0]), metrics=BATCH_METRICS, samples=5,
                                   generations=2, replicates=1)
    assert isinstance(err.value.__cause__, KeyError)


def test_schedules():
    def sizes(schedule, M=10, G=4):
        res = ouroboros.collapse(Gaussian(), metrics=METRICS, samples=M, generations=G,
                                 replicates=2, schedule=schedule)
        return res.runs[0].value("n")[:, 0].tolist(), res.config["schedule"]

    assert sizes(None) == ([10] * 4, "constant")
    assert sizes(("linear", -2)) == ([10, 8, 6, 4], "('linear', -2)")
    assert sizes(("geometric", 2), M=3)[0] == [3, 6, 12, 24]
    assert sizes(lambda g: 5 + g)[0] == [5, 6, 7, 8]
    run = ouroboros.start(Gaussian(), metrics=METRICS, samples=4, generations=3, replicates=2,
                          schedule=("linear", 1))
    while not run.done:
        run.advance()
    assert run.finish().runs[0].value("n")[:, 0].tolist() == [4, 5, 6]
    with pytest.raises(ValueError, match="neither linear nor geometric"):
        sizes(("cubic", 1))
    with pytest.raises(ValueError, match="ratio"):
        sizes(("geometric", -1))
    with pytest.raises(TypeError, match="schedule"):
        sizes(42)
    with pytest.raises((ValueError, RuntimeError), match="schedule"):
        sizes(lambda g: 0)


def test_ctrl_c_in_python_code_raises_keyboard_interrupt():
    class Interrupted(Gaussian):
        def fit(self, data, rng):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ouroboros.collapse(Interrupted(), metrics=METRICS, samples=5, generations=3,
                           replicates=2)


def test_clear_refusals_of_the_loop(tmp_path):
    with pytest.raises(TypeError, match="metrics: give a dict"):
        ouroboros.collapse(Gaussian(), metrics=[lambda m: m.mu])

    class Unpicklable(Gaussian):
        def __init__(self, *a):
            super().__init__(*a)
            self.f = lambda: 0

        def fit(self, data, rng):
            return Unpicklable(data.mean(), data.std())

    with pytest.raises(ouroboros.RunError, match="cannot be pickled"):
        ouroboros.collapse(Unpicklable(), metrics=METRICS, samples=5, generations=3,
                           replicates=2, checkpoint=tmp_path / "u.ckpt")
    ck = tmp_path / "c.ckpt"
    ouroboros.collapse(Gaussian(), metrics=METRICS, samples=5, generations=2, replicates=2,
                       checkpoint=ck)
    with pytest.raises(ValueError, match="resume=False") as err:
        ouroboros.collapse(Gaussian(), metrics=METRICS, samples=5, generations=3, replicates=2,
                           checkpoint=ck, resume=True)
    assert "--resume" not in str(err.value)
