"""Fused elementwise (``a * b + c``) and a full float32 sum on 16M values: OpenCL vs numpy.

Plain script: ``python benchmarks/elementwise.py [--n N] [--repeats R]``. Each repeat times the
OpenCL call (with ``queue.finish()`` inside the timed region) and then the numpy call, so both
see the same machine state (interleaved A/B); medians are reported. ``speed`` is
numpy time / OpenCL time (above 1: OpenCL is faster; the target is at least 0.7).
Writes ``benchmarks/results/elementwise.json`` and ``elementwise.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

try:
    import axoncl  # noqa: F401
except ImportError:  # run from a checkout without installing
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from axoncl.backends.opencl.array import from_numpy
from axoncl.backends.opencl.device import get_device
from axoncl.backends.opencl.fused import fused_multiply_add
from axoncl.backends.opencl.reduction import sum as cl_sum

RESULTS = Path(__file__).resolve().parent / "results"


def interleaved(cl_fn, np_fn, queue, repeats: int) -> tuple[list[float], list[float]]:
    cl_fn()
    queue.finish()
    np_fn()
    cl_times, np_times = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cl_fn()
        queue.finish()
        cl_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        np_fn()
        np_times.append(time.perf_counter() - t0)
    return cl_times, np_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1 << 24)
    parser.add_argument("--repeats", type=int, default=31)
    args = parser.parse_args()

    device = get_device()
    rng = np.random.default_rng(0)
    a, b, c = (rng.random(args.n, dtype=np.float32) for _ in range(3))
    xa, xb, xc = (from_numpy(v, device) for v in (a, b, c))

    # Correctness first, so a fast wrong kernel cannot report a result.
    np.testing.assert_array_equal(fused_multiply_add(xa, xb, xc).to_numpy(), a * b + c)
    ref_sum = float(np.sum(a, dtype=np.float64))
    assert abs(float(cl_sum(xa).to_numpy()) - ref_sum) <= 1e-5 * ref_sum

    cases = {
        "fused a*b+c": (lambda: fused_multiply_add(xa, xb, xc), lambda: a * b + c),
        "sum": (lambda: cl_sum(xa), lambda: np.sum(a)),
    }
    results = {}
    for name, (cl_fn, np_fn) in cases.items():
        cl_t, np_t = interleaved(cl_fn, np_fn, device.queue, args.repeats)
        cl_med, np_med = statistics.median(cl_t), statistics.median(np_t)
        results[name] = {
            "opencl_ms": cl_med * 1e3,
            "numpy_ms": np_med * 1e3,
            "speed_vs_numpy": np_med / cl_med,
            "opencl_ms_all": [t * 1e3 for t in cl_t],
            "numpy_ms_all": [t * 1e3 for t in np_t],
        }
        print(
            f"{name:14s} opencl {cl_med * 1e3:8.3f} ms   numpy {np_med * 1e3:8.3f} ms   "
            f"speed {np_med / cl_med:5.2f}x numpy (target >= 0.7)"
        )

    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "n": args.n,
        "dtype": "float32",
        "repeats": args.repeats,
        "device": device.caps.name,
        "device_kind": device.caps.kind,
        "compute_units": device.caps.compute_units,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "note": "numpy side of the fused case is the plain expression a * b + c",
    }
    (RESULTS / "elementwise.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2)
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(x - 0.2, [results[k]["numpy_ms"] for k in names], 0.4, label="numpy")
    ax.bar(
        x + 0.2,
        [results[k]["opencl_ms"] for k in names],
        0.4,
        label=f"axoncl OpenCL ({device.caps.kind})",
    )
    for i, k in enumerate(names):
        ax.annotate(
            f"{results[k]['speed_vs_numpy']:.2f}x",
            (i + 0.2, results[k]["opencl_ms"]),
            ha="center",
            va="bottom",
        )
    ax.set_xticks(x, names)
    ax.set_ylabel("median time (ms)")
    ax.set_title(f"{args.n:,} float32 values, {args.repeats} interleaved repeats")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "elementwise.png", dpi=120)
    print(f"wrote {RESULTS / 'elementwise.json'} and {RESULTS / 'elementwise.png'}")


if __name__ == "__main__":
    main()
