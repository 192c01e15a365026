"""One training step (forward, cross-entropy, backward, SGD update): axoncl vs PyTorch CPU.

Models (float32, the same initial weights everywhere):

* ``mlp``: 784-512-256-10 with ReLU, batch 128;
* ``cnn``: conv3×3(1→16, pad 1) ReLU maxpool2 → conv3×3(16→32, pad 1) ReLU maxpool2 → flatten →
  linear(32·7·7 → 10), on 1×28×28 inputs, batch 64.

Each is timed on axoncl-OpenCL (the default device, e.g. PoCL), axoncl-numpy and PyTorch CPU
(``torch.set_num_threads(2)``) when installed. A step ends with ``queue.finish()`` on OpenCL, so
its time is the device's, not just the enqueueing; the host never reads a value back inside the
step. Runs are interleaved (opencl, numpy, torch, opencl, ...) after warm-up steps, each sample
is the mean of ``--steps`` steps, and the report gives medians and the median of the paired
ratios (each round's OpenCL time over the same round's torch time). Targets on PoCL: OpenCL at
most 1.5× torch on the MLP and 2× on the CNN.

Usage::

    python benchmarks/train_step.py [--quick] [--device opencl:cpu] [--repeats 9] [--steps 5]
    python benchmarks/train_step.py --profile     # per-op forward/backward times on OpenCL

Writes ``benchmarks/results/train_step.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import axoncl  # noqa: E402
from axoncl import nn, optim  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "train_step.json"
TARGETS = {"mlp": 1.5, "cnn": 2.0}
LR = 0.01


def build(kind: str) -> nn.Module:
    axoncl.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )


def data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = (128, 784) if kind == "mlp" else (64, 1, 28, 28)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0]).astype(np.int64)
    return x, y


def axoncl_runner(kind: str, backend: str, device=None):
    model = build(kind)
    x, y = data(kind)
    sync = lambda: None  # noqa: E731
    if backend == "opencl":
        xp = axoncl.get_backend("opencl")
        dev = device or xp.default_device()
        model.to("opencl", device=dev)
        x = xp.asarray(x, device=dev)
        y = xp.asarray(y, device=dev)
        sync = dev.queue.finish
    opt = optim.SGD(model.parameters(), lr=LR)

    def step() -> None:
        loss = axoncl.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def run(steps: int) -> float:
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            step()
            sync()  # once per step: the step's time includes the device's work
        return (time.perf_counter() - start) / steps

    return run, model, x, y


def torch_runner(kind: str):
    import torch

    torch.set_num_threads(2)
    ours = build(kind)
    if kind == "mlp":
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 512),
            torch.nn.ReLU(),
            torch.nn.Linear(512, 256),
            torch.nn.ReLU(),
            torch.nn.Linear(256, 10),
        )
    else:
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(32 * 7 * 7, 10),
        )
    model.load_state_dict(
        {k: torch.from_numpy(np.asarray(v).copy()) for k, v in ours.state_dict().items()}
    )
    x, y = (torch.from_numpy(a) for a in data(kind))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.functional.cross_entropy

    def run(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return (time.perf_counter() - start) / steps

    return run


def bench(kind: str, repeats: int, steps: int, device, with_torch: bool) -> dict:
    runners = {
        "opencl": axoncl_runner(kind, "opencl", device)[0],
        "numpy": axoncl_runner(kind, "numpy")[0],
    }
    if with_torch:
        runners["torch"] = torch_runner(kind)
    for run in runners.values():
        run(2)  # warm-up: kernel builds, memory pools, caches
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(run(steps))
    out = {
        "kind": kind,
        "steps_per_sample": steps,
        "repeats": repeats,
        "median_ms": {n: 1e3 * statistics.median(t) for n, t in times.items()},
        "samples_ms": {n: [1e3 * v for v in t] for n, t in times.items()},
    }
    if with_torch:
        ratios = {
            n: statistics.median(a / b for a, b in zip(times[n], times["torch"], strict=True))
            for n in ("opencl", "numpy")
        }
        out["ratio_vs_torch"] = ratios
        out["target_opencl_vs_torch"] = TARGETS[kind]
        out["meets_target"] = ratios["opencl"] <= TARGETS[kind]
    return out


def profile(kind: str, device, steps: int) -> list[dict]:
    """Per-op times on OpenCL through ``axoncl.inspect.profile`` (when the inspector has it)."""
    from axoncl.inspect import profile as op_profile

    run, model, x, y = axoncl_runner(kind, "opencl", device)
    run(2)
    opt = optim.SGD(model.parameters(), lr=LR)
    with op_profile(sync=True) as prof:
        for _ in range(steps):
            loss = axoncl.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    print(prof)
    return prof.to_dict() if hasattr(prof, "to_dict") else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats of 2 steps")
    parser.add_argument("--device", default=None, help="OpenCL device spec (default: default)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--profile", action="store_true", help="per-op OpenCL profile")
    args = parser.parse_args(argv)
    repeats, steps = (3, 2) if args.quick else (args.repeats, args.steps)
    xp = axoncl.get_backend("opencl")
    device = xp.get_device(args.device) if args.device else xp.default_device()
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    if args.profile:
        for kind in kinds:
            profile(kind, device, steps)
        return 0
    try:
        import torch  # noqa: F401

        with_torch = True
    except ImportError:
        with_torch = False
    results = []
    for kind in kinds:
        row = bench(kind, repeats, steps, device, with_torch)
        results.append(row)
        med = row["median_ms"]
        text = "  ".join(f"{n} {ms:.2f} ms" for n, ms in med.items())
        if with_torch:
            r = row["ratio_vs_torch"]
            text += (
                f"  | opencl/torch {r['opencl']:.2f}x (target <= {TARGETS[kind]}x, "
                f"{'met' if row['meets_target'] else 'NOT met'})  numpy/torch "
                f"{r['numpy']:.2f}x"
            )
        print(f"{kind}: {text}", flush=True)
    load = os.getloadavg()[0]
    if load > 1.0:
        print(
            f"warning: 1-minute load average {load:.1f} on {os.cpu_count()} cores: other "
            "processes share the CPUs and the times are noisy"
        )
    payload = {
        "benchmark": "train_step",
        "load_average_1min": load,
        "device": f"{device.id} {device.caps.name}",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "torch_threads": 2 if with_torch else None,
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
