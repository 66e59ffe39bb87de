"""What an attacker tried: misuse of a stepped run, threads, paths where a checkpoint or a
results folder goes, values that parse as numbers, states that do not fit. None may crash,
corrupt a run or touch a file it was not given."""
import os
import pickle
import threading

import numpy as np
import pytest

import ouroboros
from ouroboros import models


class G:
    def __init__(self, mu=0.0, sigma=1.0, fail=False):
        self.mu, self.sigma, self.fail = mu, sigma, fail

    def sample(self, n, rng):
        if self.fail:
            raise ValueError("cannot sample")
        return rng.normal(self.mu, self.sigma, n)

    def fit(self, data, rng):
        return G(data.mean(), data.std())


M = {"v": lambda m: m.sigma ** 2}


def test_a_failed_step_cannot_be_finished_or_continued():
    calls = [0]

    def fit(data, rng):
        calls[0] += 1
        return G(data.mean(), data.std(), fail=calls[0] > 3)   # generation 2 cannot sample

    run = ouroboros.start(G(), fit=fit, metrics=M, samples=10, generations=5, replicates=3,
                          keep="all")
    run.advance()
    run.advance()
    with pytest.raises(ouroboros.RunError):
        run.advance()
    with pytest.raises(ValueError, match="earlier advance\\(\\) failed"):
        run.advance()
    with pytest.raises(ValueError, match="cannot continue"):
        run.finish()


def test_one_call_at_a_time_on_a_stepped_run():
    holder = {}

    def fit(data, rng):
        if "run" in holder:
            holder["run"].advance()     # the model's own code steps the run it is part of
        return G(data.mean(), data.std())

    run = ouroboros.start(G(), fit=fit, metrics=M, samples=5, generations=3, replicates=2)
    holder["run"] = run
    with pytest.raises(ouroboros.RunError, match="in use by another call"):
        run.advance()


def test_two_threads_cannot_advance_one_run_at_once():
    run = ouroboros.start(G(), metrics=M, samples=200, generations=400, replicates=8)
    errors = []

    def step():
        try:
            while not run.done:
                run.advance()
        except (RuntimeError, ValueError) as e:
            errors.append(e)

    threads = [threading.Thread(target=step) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not errors:     # one thread did every generation
        assert run.finish().runs[0].generations == 400


def test_threads_beyond_the_cores_are_capped():
    res = ouroboros.gaussian_collapse(samples=[20], generations=2, replicates=4, threads=100000)
    assert res.runs[0].threads <= os.cpu_count()
    with pytest.raises(ValueError, match="threads: -1 is negative"):
        ouroboros.gaussian_collapse(threads=-1)
    with pytest.raises(TypeError, match="threads"):
        ouroboros.collapse(G(), metrics=M, threads=None)
    with pytest.raises(ValueError, match="keep"):
        ouroboros.collapse(G(), metrics=M, keep=None)
    with pytest.raises(TypeError, match="progress"):
        ouroboros.kde_collapse(progress="no")


def test_a_checkpoint_never_replaces_what_is_not_one(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    mine = tmp_path / "notes.txt"
    mine.write_text("my notes")
    for path, text in ((folder, "not a regular file"), (mine, "not a checkpoint")):
        with pytest.raises(ValueError, match=text):
            ouroboros.collapse(G(), metrics=M, samples=5, generations=2, replicates=2,
                               checkpoint=path)
    assert folder.is_dir() and mine.read_text() == "my notes"
    assert not (tmp_path / "notes.txt.lock").exists()


def test_write_touches_only_its_own_files(tmp_path):
    res = ouroboros.kde_collapse(samples=[20], generations=2, replicates=4)
    keep = tmp_path / "photos.tmp.200101"
    keep.mkdir()
    (keep / "a.jpg").write_text("x")
    (tmp_path / "exp.tmp.v1.csv").write_text("mine")
    res.write(tmp_path, figure=False)
    res.write(tmp_path, name="exp.tmp.v1", figure=False)
    res.write(tmp_path, figure=False)
    assert (keep / "a.jpg").exists()
    assert (tmp_path / "exp.tmp.v1.csv").exists()
    with pytest.raises(ValueError, match="NUL"):
        res.write(str(tmp_path / "d4") + "\0../x", figure=False)
    with pytest.raises(ValueError, match="plain file name"):
        res.write(tmp_path, name="", figure=False)


def test_numbers_must_be_numbers():
    with pytest.raises(ouroboros.RunError, match="not a number"):
        ouroboros.collapse(G(), metrics={"v": lambda m: "2.5"}, samples=5, generations=2,
                           replicates=2)
    with pytest.raises(ouroboros.RunError, match="not a number"):
        ouroboros.collapse(G(), metrics={"v": lambda m: b"7"}, samples=5, generations=2,
                           replicates=2)

    class Text(G):
        def sample(self, n, rng):
            return np.array(["1.5"] * n)

    with pytest.raises(ouroboros.RunError, match="array of numbers"):
        ouroboros.collapse(Text(), metrics=M, samples=5, generations=2, replicates=2)
    with pytest.raises(TypeError, match="variance_floor: must be a number"):
        ouroboros.gaussian_collapse(variance_floor=b"1.5")
    with pytest.raises(ValueError, match="NUL"):
        ouroboros.gaussian_collapse(regime="replace\0x")
    with pytest.raises(ValueError, match="metrics: the name"):
        ouroboros.collapse(G(), metrics={"a\nb": lambda m: 1.0}, samples=5, generations=2)


def test_settings_that_exclude_or_overflow():
    with pytest.raises(ValueError, match="zipf and probs exclude each other"):
        ouroboros.categorical_collapse(probs=[0.5, 0.5], zipf=[5, 1])
    with pytest.raises(ValueError, match="pseudocount"):
        ouroboros.categorical_collapse(pseudocount=1e308)
    with pytest.raises(ValueError, match="pseudocount"):
        models.CategoricalFitter(3, pseudocount=1e308)


def test_states_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="sizes do not fit"):
        models.GMM.__new__(models.GMM).__setstate__(([1.0], [], [], 0))
    with pytest.raises(ValueError, match="sizes do not fit"):
        models.GMM.__new__(models.GMM).__setstate__(([1.0], [0.0], [1.0], 2 ** 32))
    with pytest.raises(ValueError, match="symmetric"):
        models.GMM([1.0], [[0.0, 0.0]], [[[1.0, 0.9], [0.0, 1.0]]])
    with pytest.raises(ValueError, match="bandwidth"):
        models.KDE.__new__(models.KDE).__setstate__(([0.0], -1.0))
    with pytest.raises(ValueError, match="not finite"):
        models.KDEFitter().fit([float("nan"), 1.0])
    with pytest.raises(ValueError, match="at least one"):
        models.KDEFitter().fit([])


def test_errors_keep_their_own_cause_across_threads():
    class Boom(G):
        def __init__(self, tag):
            super().__init__()
            self.tag = tag

        def fit(self, data, rng):
            raise LookupError(self.tag)

    causes = {}

    def run(tag):
        try:
            ouroboros.collapse(Boom(tag), metrics=M, samples=5, generations=2, replicates=4)
        except ouroboros.RunError as e:
            causes[tag] = str(e.__cause__)

    threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert causes == {f"t{i}": repr(f"t{i}") for i in range(6)} or \
        causes == {f"t{i}": f"t{i}" for i in range(6)} or \
        all(v.strip("'") == k for k, v in causes.items())


def test_a_kept_generator_does_not_disturb_the_run():
    kept = []

    class Keeps(G):
        def sample(self, n, rng):
            kept.append(rng)
            return rng.normal(self.mu, self.sigma, n)

        def fit(self, data, rng):
            if kept:
                kept[0].random(5)      # an old call's generator, used later
            return Keeps(data.mean(), data.std())

    a = ouroboros.collapse(Keeps(), metrics=M, samples=10, generations=4, replicates=3, seed=1)
    b = ouroboros.collapse(G(), metrics=M, samples=10, generations=4, replicates=3, seed=1)
    assert np.array_equal(a.runs[0].values, b.runs[0].values)


def test_system_exit_in_a_model_goes_on_as_it_is():
    class Exits(G):
        def fit(self, data, rng):
            raise SystemExit(3)

    with pytest.raises(SystemExit):
        ouroboros.collapse(Exits(), metrics=M, samples=5, generations=2, replicates=2)
