"""What the device error flag costs a training step on OpenCL.

Kernels that can meet an invalid value (cross-entropy targets, gather and index kernels, pooling
indices) report it in a small per-device flag buffer instead of clamping (``kernels/errors.h``).
The host looks at the flag at its next read or ``synchronize()``: when a checking kernel ran
since the last look, one 64-byte read of the flag is enqueued, without waiting, just before the
caller's own blocking read, so one wait covers both.

This benchmark measures that cost where a user pays it: a training step of
``benchmarks/train_step.py``'s MLP and CNN (cross-entropy, backward, SGD) that ends by reading
the loss to the host, as every training loop that logs its loss does. Two variants run in the
same process on the same model, data and device:

* ``checked``: the library as shipped (the cross-entropy kernel checks every target, and the
  loss read also reads the flag);
* ``unchecked``: the flag read switched off (``Device.queue_error_read`` returns nothing), so the
  difference is the cost of looking at the flag. The kernels' own compare per target is in both.

Paired rounds alternate which variant runs first; a sample is the mean over ``--steps`` steps,
after one untimed step. Reported: each variant's median, and the median of the per-round ratios
checked / unchecked. A second table times ``Device.synchronize()`` on an idle queue with the
flag pending and not pending (the bare cost of the flag read).

Usage::

    python benchmarks/error_flag.py [--rounds 21] [--steps 20] [--device opencl:cpu]

Writes ``benchmarks/results/error_flag.json`` (or into ``--out``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout
sys.path.insert(0, str(HERE))

import train_step  # noqa: E402


def _sample(runner: train_step.AxonclRunner, steps: int) -> float:
    """Mean seconds per step, each step ending with the loss read on the host."""
    float(runner.step().item())
    start = time.perf_counter()
    for _ in range(steps):
        float(runner.step().item())
    return (time.perf_counter() - start) / steps


def _without_flag_reads(device):
    """The device's own ``queue_error_read``, and a stand-in that forgets the pending flag."""
    original = device.queue_error_read

    def skip():
        device.errors_pending = False
        return None

    return original, skip


def step_cost(kind: str, device: str | None, rounds: int, steps: int) -> dict:
    runner = train_step.AxonclRunner(kind, train_step.BATCH[kind], "opencl", device)
    dev = runner.device
    checked, unchecked = _without_flag_reads(dev)
    times: dict[str, list[float]] = {"checked": [], "unchecked": []}
    ratios = []
    for r in range(rounds):
        order = ("checked", "unchecked") if r % 2 == 0 else ("unchecked", "checked")
        sample = {}
        for variant in order:
            dev.queue_error_read = checked if variant == "checked" else unchecked
            time.sleep(0.05)  # let PoCL's workers go idle before each sample
            sample[variant] = _sample(runner, steps)
            times[variant].append(sample[variant])
        ratios.append(sample["checked"] / sample["unchecked"])
    dev.queue_error_read = checked
    return {
        "model": kind,
        "batch": train_step.BATCH[kind],
        "device": f"{dev.id} {dev.caps.name}",
        "checked_ms": 1e3 * statistics.median(times["checked"]),
        "unchecked_ms": 1e3 * statistics.median(times["unchecked"]),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


def read_cost(device: str | None, reps: int) -> dict:
    """Seconds of ``synchronize()`` on an idle queue, with and without the flag pending."""
    import axoncl

    xp = axoncl.get_backend("opencl")
    dev = xp.get_device(device) if device else xp.default_device()
    dev.synchronize()
    result = {}
    for pending in (False, True):
        samples = []
        for _ in range(reps):
            dev.errors_pending = pending
            start = time.perf_counter()
            dev.synchronize()
            samples.append(time.perf_counter() - start)
        result["pending" if pending else "idle"] = 1e6 * statistics.median(samples)
    return {"synchronize_us": result["idle"], "synchronize_with_flag_us": result["pending"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="OpenCL device spec (default: default)")
    parser.add_argument("--rounds", type=int, default=21, help="paired rounds")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per sample")
    parser.add_argument("--models", default="mlp,cnn", help="mlp, cnn, resnet")
    parser.add_argument("--out", default=str(HERE / "results"), help="results folder")
    args = parser.parse_args(argv)

    rows = [step_cost(k, args.device, args.rounds, args.steps) for k in args.models.split(",")]
    flag = read_cost(args.device, 2000)
    print(f"device: {rows[0]['device']}; {args.rounds} paired rounds of {args.steps} steps")
    print("| model | batch | checked (ms) | flag reads off (ms) | ratio (median, min–max) |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['model']} | {row['batch']} | {row['checked_ms']:.3f} | "
            f"{row['unchecked_ms']:.3f} | {row['ratio']:.4f} "
            f"({row['ratio_min']:.3f}–{row['ratio_max']:.3f}) |"
        )
    print(
        f"synchronize() on an idle queue: {flag['synchronize_us']:.1f} µs; with the flag "
        f"pending (one 64-byte read): {flag['synchronize_with_flag_us']:.1f} µs"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "error_flag.json").write_text(json.dumps({"steps": rows, "read": flag}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
