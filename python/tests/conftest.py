"""Shared fixtures: where the example programs are (OUROBOROS_EXAMPLES, set by CTest) and a
runner that runs one into a folder."""
import os
import subprocess

import pytest


@pytest.fixture(scope="session")
def program():
    examples = os.environ.get("OUROBOROS_EXAMPLES")
    if not examples or not os.path.isdir(examples):
        pytest.skip("OUROBOROS_EXAMPLES does not name the built example programs")

    def run(name, out, *args):
        cmd = [os.path.join(examples, name), "--out", str(out), "--no-plot",
               "--checkpoint-every", "0", *map(str, args)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return out

    return run
