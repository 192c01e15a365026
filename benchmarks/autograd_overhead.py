"""Autograd overhead: microseconds per op (forward + backward) on tiny arrays.

The chain is ``((x * w + b).relu()).sum()`` on 8-element float32 arrays, followed by
``backward()``: four ops, so the time per op is the time of one step divided by four. On 8
elements the arithmetic is free and the time is the bookkeeping: building graph nodes, the
namespace lookup, the engine's walk, gradient accumulation into ``.grad``.

Compared with the same chain in PyTorch (CPU, ``torch.set_num_threads(1)``: one thread is fair
for 8 elements and keeps thread hand-offs out of the number) when torch is installed. Runs are
interleaved (A, B, A, B, ...) so that load from other processes hits both sides alike, and the
medians are reported. The target is axoncl on numpy at no more than 0.6x PyTorch's time per op.

Usage::

    python benchmarks/autograd_overhead.py [--steps 2000] [--repeats 15]

Writes ``benchmarks/results/autograd_overhead.json``.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import axoncl  # noqa: E402

OPS_PER_STEP = 4  # multiply, add, relu, sum
TARGET_RATIO = 0.6
RESULTS = Path(__file__).resolve().parent / "results" / "autograd_overhead.json"


def axoncl_step_runner(size: int):
    rng = np.random.default_rng(0)
    x = axoncl.Variable(rng.standard_normal(size).astype(np.float32))
    w = axoncl.Variable(rng.standard_normal(size).astype(np.float32), requires_grad=True)
    b = axoncl.Variable(rng.standard_normal(size).astype(np.float32), requires_grad=True)

    def run(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            w.grad = None
            b.grad = None
            ((x * w + b).relu()).sum().backward()
        return time.perf_counter() - start

    return run


def torch_step_runner(size: int):
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal(size).astype(np.float32))
    w = torch.from_numpy(rng.standard_normal(size).astype(np.float32)).requires_grad_()
    b = torch.from_numpy(rng.standard_normal(size).astype(np.float32)).requires_grad_()

    def run(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            w.grad = None
            b.grad = None
            ((x * w + b).relu()).sum().backward()
        return time.perf_counter() - start

    return run, torch.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=15, help="interleaved runs per side")
    parser.add_argument("--size", type=int, default=8, help="elements per array")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    runners = {"axoncl-numpy": axoncl_step_runner(args.size)}
    torch_version = None
    try:
        runners["torch-cpu"], torch_version = torch_step_runner(args.size)
    except ImportError:
        print("torch not installed: timing axoncl only")

    for run in runners.values():  # warm up: imports, caches, allocator
        run(max(args.steps // 10, 10))
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, run in runners.items():
            seconds = run(args.steps)
            samples[name].append(seconds / (args.steps * OPS_PER_STEP) * 1e6)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"chain ((x*w + b).relu()).sum() + backward, {args.size} float32 elements, "
        f"{args.steps} steps x {args.repeats} interleaved repeats; median us per op:"
    )
    for name, value in medians.items():
        spread = f"{min(samples[name]):.2f}-{max(samples[name]):.2f}"
        print(f"  {name:14s} {value:8.2f} us/op   (range {spread})")
    ratio = None
    if "torch-cpu" in medians:
        ratio = medians["axoncl-numpy"] / medians["torch-cpu"]
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        print(f"  ratio axoncl/torch = {ratio:.3f} ({verdict} the target of <= {TARGET_RATIO})")
        print("  torch uses torch.set_num_threads(1)")

    result = {
        "benchmark": "autograd_overhead",
        "chain": "((x * w + b).relu()).sum().backward()",
        "ops_per_step": OPS_PER_STEP,
        "size": args.size,
        "dtype": "float32",
        "steps": args.steps,
        "repeats": args.repeats,
        "us_per_op_median": medians,
        "us_per_op_samples": samples,
        "ratio_axoncl_over_torch": ratio,
        "target_ratio": TARGET_RATIO,
        "torch_threads": 1 if torch_version else None,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "axoncl": axoncl.__version__,
            "torch": torch_version,
        },
        "machine": platform.machine(),
        "processor": platform.processor(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
