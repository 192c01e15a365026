"""The elementwise/copy/index kernels load from a checkout and from an installed wheel."""

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from axoncl.backends.opencl import programs

ROOT = Path(__file__).resolve().parents[3]
OUR_FILES = ("elementwise.cl", "copy.cl", "index.cl", "errors.h", "layout.h", "lines.h")


def test_checkout_kernel_dir_has_our_sources():
    folder = programs.kernel_dir()
    for name in OUR_FILES:
        assert (folder / name).is_file(), f"{name} missing from {folder}"
    # The wheel layout (pyproject force-includes kernels/ as axoncl/kernels) is the first place
    # programs.py looks, so an installed package never reads a stray checkout.
    assert programs._CANDIDATES[0] == Path(programs.__file__).resolve().parents[2] / "kernels"


@pytest.mark.slow
def test_kernels_load_from_an_installed_wheel(tmp_path):
    wheel_dir = tmp_path / "whl"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", str(ROOT), "-w", str(wheel_dir)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.append("--no-build-isolation")  # the build backend is here: no index needed
    built = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheel_dir.glob("axoncl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in OUR_FILES:
        assert f"axoncl/kernels/{name}" in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    code = (
        "import numpy as np, axoncl.backends.opencl as xp\n"
        "from axoncl.backends.opencl import programs\n"
        "print(programs.kernel_dir())\n"
        "x = xp.asarray(np.arange(5, dtype=np.float32))\n"
        "assert (xp.exp(x[::-1]) + x[0]).shape == (5,)\n"
        "assert x[xp.asarray([1])].to_numpy().tolist() == [1.0]\n"
    )
    # The wheel first; other PYTHONPATH entries stay (dependencies installed with --target),
    # all but the checkout, which must not be imported.
    kept = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]
    kept = [e for e in kept if Path(e).resolve() != ROOT]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *kept])}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(target)), out.stdout
