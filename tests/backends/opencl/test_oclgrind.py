"""The elementwise, copy and index kernels under the oclgrind simulator (memory checks)."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import axoncl.backends.opencl as xp
    from axoncl.backends.opencl import elementwise as ew

    dev = xp.default_device()
    assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
    if sys.argv[1] == "vec16":  # the CPU launch style (vload16 path) on the simulator
        info = ew._launch_for(dev)
        info.vec, info.local_big, info.local_small = 16, 64, 8
        info.threshold = 2 * 64 * max(dev.caps.compute_units, 1)
    a = np.arange(37, dtype=np.float32) - 5
    x = xp.asarray(a)
    m = xp.asarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    idx = xp.asarray(np.zeros((3, 1), np.int64))
    out = [x + x, x * 2.0, 3.0 - x, xp.exp(x[::3]), m + m[0], m.T * m.T,
           xp.astype(m, xp.int32), xp.where(m > 3, m, 0.0), m[xp.asarray([2, 0])],
           xp.take_along_axis(m, idx, axis=1), xp.arange(10), xp.zeros((2, 3)),
           xp.floor_divide(xp.asarray([7, -7]), xp.asarray([2, 2])), xp.flip(x) - 1.0,
           xp.logical_not(x > 0), xp.concat([m, m], axis=1), xp.eye(3)]
    m[xp.asarray([1])] = 5.0
    m[:, ::2] = 1.0
    m[m > 4] = 0.0
    out.append(m)
    for o in out:
        o.to_numpy()
    np.testing.assert_allclose((x + x).to_numpy(), a + a)
    np.testing.assert_allclose((3.0 - x).to_numpy(), 3.0 - a)
    print("ok")
""")


@pytest.mark.oclgrind
@pytest.mark.parametrize("style", ["vec1", "vec16"])
def test_kernels_run_clean_under_oclgrind(tmp_path, style):
    if shutil.which("oclgrind") is None:
        pytest.skip("oclgrind binary not found (Debian package `oclgrind`)")
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    log = tmp_path / "oclgrind.log"
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("AXONCL_DEVICE", None)
    result = subprocess.run(
        ["oclgrind", "--check-api", "--log", str(log), sys.executable, str(script), style],
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
