"""Run a Python script under the oclgrind OpenCL simulator and fail on any reported error.

Test modules import this (like ``xp_backends``); the script must print ``ok`` at its end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def assert_clean_under_oclgrind(
    tmp_path: Path, source: str, *args: str, checks: tuple[str, ...] = ()
) -> None:
    """Run ``source`` with ``args`` under ``oclgrind --check-api`` and the further oclgrind
    ``checks`` (e.g. ``--data-races``); assert it printed ``ok`` and that oclgrind reported no
    error (out-of-bounds access, invalid API use, a race when asked)."""
    if shutil.which("oclgrind") is None:
        pytest.skip("oclgrind binary not found (Debian package `oclgrind`)")
    script = tmp_path / "run.py"
    script.write_text(source)
    log = tmp_path / "oclgrind.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("AXONCL_DEVICE", None)
    result = subprocess.run(
        ["oclgrind", "--check-api", *checks, "--log", str(log), sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout
    report = log.read_text() if log.exists() else ""
    # (--uninitialized is not used: oclgrind aborts on LLVM's `freeze` instruction.)
    # pyopencl probes device parameters that oclgrind (OpenCL 1.2) does not know; those
    # clGetDeviceInfo/clGetPlatformInfo answers are not errors in our kernels.
    blocks = [b for b in report.split("\n\n") if b.strip()]
    errors = [b for b in blocks if "clGetDeviceInfo" not in b and "clGetPlatformInfo" not in b]
    assert not errors, "\n\n".join(errors[:10])
