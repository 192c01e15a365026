"""The backend boundary (STYLE §4): the autograd layer runs without pyopencl.

A subprocess makes ``pyopencl`` unimportable, imports axoncl, and runs a backward on
``array_api_strict``, the strictest namespace. No pyopencl module may be imported on the way.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import importlib.abc
    import json
    import sys


    class BlockPyopencl(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "pyopencl" or name.startswith("pyopencl."):
                raise ImportError(f"{name} is blocked by test_boundaries", name=name)
            return None


    sys.meta_path.insert(0, BlockPyopencl())

    import array_api_strict as xp
    import axoncl
    from axoncl import functions, grad_mode, gradcheck  # noqa: F401 - the autograd modules

    x = axoncl.Variable(xp.asarray([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True)
    w = axoncl.Variable(xp.asarray([[1.0], [-0.5]]), requires_grad=True)
    loss = ((x @ w).relu() + x.sum(axis=1, keepdims=True).exp()).mean()
    loss.backward()
    print(json.dumps({
        "x_grad": [[float(v) for v in row] for row in x.grad.numpy()],
        "w_grad": [float(v) for v in w.grad.numpy().ravel()],
        "grad_type": type(x.grad.data).__module__,
        "pyopencl_modules": sorted(m for m in sys.modules if m.split(".")[0] == "pyopencl"),
    }))
""")


def test_autograd_runs_on_array_api_strict_without_pyopencl():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["pyopencl_modules"] == []
    assert result["grad_type"].startswith("array_api_strict")
    # loss = ½ Σ_i (relu(r_i) + e^(s_i)) with r = x w = [1, 1.875] > 0 and row sums s:
    # dL/dx_ij = ½ (w_j + e^(s_i)), dL/dw_j = ½ Σ_i x_ij.
    w0 = [1.0, -0.5]
    s = [-0.5, 2.25]
    expected_x = [[0.5 * (w0[j] + math.exp(s[i])) for j in range(2)] for i in range(2)]
    for got, want in zip(result["x_grad"], expected_x, strict=True):
        assert all(abs(g - e) < 1e-12 for g, e in zip(got, want, strict=True)), (got, want)
    assert all(abs(g - e) < 1e-12 for g, e in zip(result["w_grad"], [1.25, -0.375], strict=True))
