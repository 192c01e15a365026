"""Cholesky, LU solves and QR: axoncl's blocked device kernels (``xp.linalg``) vs numpy.

Rows, per op, dtype (float32, float64) and size ``n``, the same data for both columns:
``cholesky`` of one ``n x n`` symmetric positive-definite matrix, ``solve`` of one ``n x n``
matrix against ``n x 16`` right-hand sides (LU with partial pivoting), ``qr`` (reduced) of one
``n x n`` matrix (blocked Householder, Q formed). Columns:

* ``device``: ``axoncl.backends.opencl.linalg.<op>`` on the default OpenCL device (PoCL on a
  CPU machine), ending with the device finished (``Device.synchronize``);
* ``numpy``: ``numpy.linalg.<op>`` (LAPACK ``potrf`` / ``gesv`` / ``geqrf`` + ``orgqr``
  through numpy's BLAS).

Method: a short comparison, not the isolated paired rounds of ``gemm.py``: both run in this one
process, alternating, after one untimed call each; each figure is the median of ``--calls``
calls. ``other load`` is the share of the machine's CPU time that other processes took during
the run (``_isolation.LoadMeter``); above a few percent, read the figures as rough.

Usage::

    python benchmarks/linalg.py [--sizes 64,256,512,1024] [--calls 5]

Writes ``benchmarks/results/linalg.json`` (or into ``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout

import _isolation as iso  # noqa: E402


def _spd(n: int, dtype) -> np.ndarray:
    g = np.random.default_rng(n).standard_normal((n, n))
    return (g @ g.T + n * np.eye(n)).astype(dtype)


def _median_s(fn, calls: int) -> float:
    fn()  # untimed: builds kernels, warms pools
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="64,256,512,1024")
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    import axoncl.backends.opencl as xp

    dev = xp.default_device()
    meter = iso.LoadMeter()
    rows = []
    cases = [
        (op, dtype, int(n))
        for op in ("cholesky", "solve", "qr")
        for dtype in (np.float32, np.float64)
        if dtype == np.float32 or dev.caps.fp64
        for n in args.sizes.split(",")
    ]
    for op, dtype, n in cases:
        host = [_spd(n, dtype)]
        if op == "solve":
            host.append(np.random.default_rng(1).standard_normal((n, 16)).astype(dtype))
        on_device = [xp.asarray(h) for h in host]
        device_fn, numpy_fn = getattr(xp.linalg, op), getattr(np.linalg, op)

        def run(device_fn=device_fn, on_device=on_device):
            device_fn(*on_device)
            dev.synchronize()

        device_s = _median_s(run, args.calls)
        numpy_s = _median_s(lambda numpy_fn=numpy_fn, host=host: numpy_fn(*host), args.calls)
        got, want = device_fn(*on_device), numpy_fn(*host)
        if op == "qr":  # the largest difference of Q and R
            error = max(float(np.abs(g.to_numpy() - w).max()) for g, w in zip(got, want))
        else:
            error = float(np.abs(got.to_numpy() - want).max())
        rows.append(
            {
                "op": op,
                "dtype": np.dtype(dtype).name,
                "n": n,
                "device_ms": device_s * 1e3,
                "numpy_ms": numpy_s * 1e3,
                "device_over_numpy": device_s / numpy_s,
                "max_abs_difference": error,
            }
        )
        print(
            f"{op:8} {np.dtype(dtype).name:8} n={n:5}  device {device_s * 1e3:9.2f} ms  "
            f"numpy {numpy_s * 1e3:9.2f} ms  ratio {device_s / numpy_s:6.2f}  "
            f"max |diff| {error:.1e}",
            flush=True,
        )
    other = meter.other_load()
    print(f"other load: {other:.0%} of the machine's CPU time")
    report = {
        "device": dev.caps.name,
        "machine": platform.platform(),
        "numpy": np.__version__,
        "calls": args.calls,
        "other_load": other,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "linalg.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
