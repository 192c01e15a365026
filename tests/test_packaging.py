"""The package as users get it: sdist and wheel built from this checkout, the wheel installed
into a fresh virtual environment, and the command line run from outside the checkout."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from needs import missing

import axoncl

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AXONCL_DEVICE")}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr}"
    return done


def test_version_is_written_in_one_place():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'path = "axoncl/__init__.py"' in pyproject
    assert "\nversion =" not in pyproject
    out = run([sys.executable, "-m", "axoncl", "--version"], ROOT).stdout
    assert out.strip() == f"axoncl {axoncl.__version__}"


def test_license_is_mit_and_names_the_developers():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the axoncl developers\n")
    assert (ROOT / "axoncl" / "py.typed").is_file()


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build``: the sdist, then the wheel built from the unpacked sdist."""
    try:
        import build  # noqa: F401
    except ImportError:
        missing("python -m build is not installed; it comes with the test extra (.[test])")
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], out, timeout=300)
    return out


@pytest.mark.slow
def test_sdist_holds_what_the_readme_commands_need(dist):
    (sdist,) = dist.glob("axoncl-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("scripts/setup.sh", "pyproject.toml", "README.md", "LICENSE"):
        assert needed in names
    assert "kernels/gemm.cl" in names and "tests/conftest.py" in names
    assert "docs/kernels.md" in names


@pytest.mark.slow
def test_wheel_metadata(dist):
    (wheel,) = dist.glob("axoncl-*.whl")
    assert wheel.name == f"axoncl-{axoncl.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"axoncl-{axoncl.__version__}.dist-info"
        meta = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        license_text = archive.read(f"{info}/licenses/LICENSE").decode()
    assert "axoncl/py.typed" in names and "axoncl/kernels/gemm.cl" in names
    assert "Copyright (c) 2026 the axoncl developers" in license_text
    assert meta["Version"] == axoncl.__version__
    assert meta["License-Expression"] == "MIT"
    urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(urls)
    classifiers = meta.get_all("Classifier")
    assert "License :: OSI Approved :: MIT License" not in classifiers  # License-Expression
    assert "Typing :: Typed" in classifiers and "Programming Language :: Python :: 3" in classifiers


@pytest.mark.slow
def test_installed_wheel_runs_outside_the_checkout(dist, tmp_path):
    (wheel,) = dist.glob("axoncl-*.whl")
    venv = tmp_path / "venv"
    # System site-packages bring numpy, pyopencl and scikit-learn; axoncl must be the wheel's.
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], tmp_path)
    python, script = venv / "bin" / "python", venv / "bin" / "axoncl"
    run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp_path
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run(
        [
            str(python),
            "-c",
            "import axoncl; from axoncl.backends.opencl.programs import kernel_dir; "
            "print(axoncl.__file__); print(kernel_dir())",
        ],
        work,
    ).stdout.split()
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert Path(where[0]) == site / "site-packages" / "axoncl" / "__init__.py"
    assert Path(where[1]) == site / "site-packages" / "axoncl" / "kernels"
    assert run([str(script), "--version"], work).stdout.strip() == f"axoncl {axoncl.__version__}"
    info = run([str(script), "info"], work).stdout
    assert "backends available: numpy" in info and "default device: opencl:" in info
    demo = run([str(script), "demo", "--epochs", "1", "--no-progress", "--out", "out"], work)
    accuracy = float(demo.stdout.split("test accuracy:")[1].split()[0])
    assert 0.5 < accuracy <= 1.0, demo.stdout  # one epoch of the CNN on digits
    assert "device: opencl:" in demo.stdout  # the kernels were built from the wheel's copy
    for name in ("graph.svg", "weights.npz", "summary.json"):
        assert (work / "out" / name).is_file()
    bench = subprocess.run([str(script), "bench"], cwd=work, capture_output=True, text=True)
    assert bench.returncode == 1
    (line,) = bench.stderr.strip().splitlines()
    assert "benchmarks/ folder" in line and "run from a checkout" in line
