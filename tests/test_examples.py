"""Each script in examples/ runs to the end in a subprocess, within its time limit.

The scripts assert their own results (the same numbers on four backends, gradcheck, a resumed
run equal to a straight one, the flagged layers, OpenCL equal to numpy), so exit status 0 is the
check. Limits are about ten times the run time on PoCL with 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "backend_swap.py": 90,
    "custom_op.py": 60,
    "train_digits.py": 120,
    "inspector_vanishing.py": 60,
    "opencl_arrays.py": 60,
}


def test_every_example_is_run_here():
    assert {path.name for path in (ROOT / "examples").glob("*.py")} == set(EXAMPLES)


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs_and_its_checks_pass(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=EXAMPLES[script],
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
