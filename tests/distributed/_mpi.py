"""Launch a worker script under ``mpiexec -n 2`` with a time limit, and read what each rank
reported. The tests skip, saying why, only when mpi4py or mpiexec is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import axoncl

WORKERS = Path(__file__).parent / "workers"
_REPO = str(Path(axoncl.__file__).resolve().parent.parent)


def find_mpiexec() -> str | None:
    """The ``mpiexec`` of this Python's MPI (the mpich wheel installs it beside the
    interpreter), else the first on PATH."""
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / "mpiexec"
        if candidate.exists():
            return str(candidate)
    return shutil.which("mpiexec")


def require_mpi() -> str:
    """``mpiexec``'s path, or a skip that says what is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py not installed (pip install 'axoncl[distributed]')")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        pytest.skip("no mpiexec found (pip install mpich)")
    return mpiexec


@dataclass
class Launch:
    returncode: int
    seconds: float
    output: str
    reports: dict[int, Any]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    # The ranks import the same axoncl as this test process (a checkout or an install).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_REPO, env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def launch(
    args: list[str],
    tmp_path: Path,
    *,
    ranks: int | None = 2,
    limit: float = 120.0,
    env: dict[str, str] | None = None,
    mpiexec_flags: tuple[str, ...] = (),
    report: bool = True,
) -> Launch:
    """Run ``python ARGS... REPORT_DIR`` (a worker script under ``workers/``; without
    ``report``, no REPORT_DIR) under ``mpiexec -n ranks`` (``ranks=None``: plain python); fail
    the test when it outlives ``limit`` seconds. Each rank's JSON report is read from
    ``REPORT_DIR/rank<r>.json``."""
    report_dir = tmp_path / "reports"
    report_dir.mkdir(exist_ok=True)
    command = [sys.executable, *args, *([str(report_dir)] if report else [])]
    if ranks is not None:
        command = [require_mpi(), *mpiexec_flags, "-n", str(ranks), *command]
    start = time.monotonic()
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=limit,
            env=_env(env),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(command)} still ran after {limit} s (a hang):\n{exc.output}")
    seconds = time.monotonic() - start
    reports = {}
    for path in report_dir.glob("rank*.json"):
        reports[int(path.stem[4:])] = json.loads(path.read_text())
    return Launch(proc.returncode, seconds, proc.stdout + proc.stderr, reports)


def worker(name: str) -> str:
    return str(WORKERS / f"{name}.py")
