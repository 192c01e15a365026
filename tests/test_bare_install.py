"""A bare ``pip install axoncl`` (numpy and array-api-compat only): the command line says in one
line what is missing, or runs on numpy, and never shows a traceback.

Missing packages are simulated in a child process: a ``sitecustomize`` module on its
``PYTHONPATH`` puts an import hook first on ``sys.meta_path`` that refuses the named packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BLOCKER = '''
import os
import sys

BLOCKED = set(os.environ["AXONCL_TEST_BLOCKED"].split(","))


class RefuseBlocked:
    """Import hook: the packages in AXONCL_TEST_BLOCKED behave as if not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, RefuseBlocked())
'''

BARE = "pyopencl,sklearn,matplotlib,tqdm,mpi4py,reikna,torch"


def run_cli(tmp_path: Path, blocked: str, *args: str) -> subprocess.CompletedProcess:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(BLOCKER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)]),
        "AXONCL_TEST_BLOCKED": blocked,
    }
    env.pop("AXONCL_DEVICE", None)
    return subprocess.run(
        [sys.executable, "-m", "axoncl", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_hook_really_blocks(tmp_path):
    done = run_cli(tmp_path, BARE, "info")
    assert done.returncode == 0, done.stderr
    assert "pyopencl is not importable" in done.stdout
    assert "pip install 'axoncl[opencl]'" in done.stdout
    assert "backends available: numpy" in done.stdout and "opencl" not in done.stdout.split("\n")[0]


@pytest.mark.parametrize("device", [[], ["--device", "numpy"], ["--device", "opencl"]])
def test_bare_demo_names_the_extra_in_one_line(tmp_path, device):
    done = run_cli(tmp_path, BARE, "demo", "--epochs", "1", *device)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "axoncl demo: error: the digits data set comes with scikit-learn, which is not "
        "installed; pip install 'axoncl[train]'"
    ]
    assert not (tmp_path / "axoncl-demo-output").exists()


def test_demo_without_pyopencl_runs_on_numpy_with_a_note(tmp_path):
    pytest.importorskip("sklearn")
    done = run_cli(tmp_path, "pyopencl,matplotlib,tqdm", "demo", "--epochs", "1", "--model", "mlp")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "note: pyopencl is not installed, so the demo runs on numpy; "
        "pip install 'axoncl[opencl]' for the OpenCL backend"
    )
    assert "device numpy (host)" in lines[1]
    accuracy = float(next(x for x in lines if x.startswith("test accuracy:")).split()[-1])
    assert 0.5 < accuracy <= 1.0  # one epoch of the MLP on digits
    assert "note: loss curve not written: matplotlib is not installed" in done.stdout
    out = tmp_path / "axoncl-demo-output"
    assert (out / "weights.npz").exists() and (out / "summary.json").exists()
    assert not (out / "loss_curve.png").exists()


def test_demo_asking_for_opencl_without_pyopencl_says_so_in_one_line(tmp_path):
    pytest.importorskip("sklearn")
    done = run_cli(tmp_path, "pyopencl", "demo", "--epochs", "1", "--device", "opencl:cpu")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("axoncl demo: error: --device 'opencl:cpu' needs pyopencl")
    assert line.endswith("pip install 'axoncl[opencl]', or run with --device numpy")
