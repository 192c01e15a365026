"""Soak: train for a while on one device, with a bad input now and then, and watch for leaks.

Every step is a small MLP training step (forward, cross-entropy, backward, SGD). Every
``--bad-every`` steps one step gets an out-of-range class label instead: it must raise an
``IndexError`` (on OpenCL, from the device's error flag at the next read), and the step after
it must work again. Each ``--report`` seconds the script prints steps per second, the process's
resident memory and, on OpenCL, the memory pool's active and held blocks. It fails (exit status
1) when an expected error did not come, an unexpected one did, a loss went non-finite, or memory
kept growing through the second half of the run.

Usage::

    python benchmarks/soak.py [--seconds 60] [--device opencl|numpy|opencl:P:D] [--bad-every 50]

Writes ``benchmarks/results/soak.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import axoncl  # noqa: E402
from axoncl import nn, optim  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"


def _rss_mib() -> float:
    """Resident memory now (from /proc), else the peak (ru_maxrss), in MiB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--device", default="opencl")
    parser.add_argument("--bad-every", type=int, default=50, help="a bad label every N steps")
    parser.add_argument("--report", type=float, default=5.0, help="seconds between reports")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()

    backend = args.device.split(":", 1)[0]
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 10))
    device = None
    if backend == "opencl":
        xp = axoncl.get_backend("opencl")
        device = xp.get_device(args.device)
        model.to("opencl", device=device)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def batch(bad: bool):
        x = rng.standard_normal((64, 32)).astype(np.float32)
        y = rng.integers(0, 10, 64)
        if bad:
            y[int(rng.integers(0, 64))] = 10 + int(rng.integers(0, 5))
        if device is None:
            return axoncl.Variable(x), y
        return axoncl.Variable(xp.asarray(x, device=device)), xp.asarray(y, device=device)

    samples: list[dict[str, float]] = []
    problems: list[str] = []
    steps = bad_steps = 0
    start = last = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        bad = args.bad_every > 0 and steps % args.bad_every == args.bad_every - 1
        x, y = batch(bad)
        try:
            loss = axoncl.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = loss.item()  # the read where a device error surfaces
            if bad:
                problems.append(f"step {steps}: a bad label raised nothing")
            elif not math.isfinite(value):
                problems.append(f"step {steps}: loss {value}")
        except IndexError as exc:
            if not bad:
                problems.append(f"step {steps}: unexpected {exc}")
            bad_steps += 1
        steps += 1
        now = time.perf_counter()
        if now - last >= args.report:
            sample = {"seconds": now - start, "steps": steps, "rss_mib": _rss_mib()}
            if device is not None:
                sample["pool_active"] = device.allocator.active_blocks
                sample["pool_held"] = device.allocator.held_blocks
            samples.append(sample)
            print(
                "  ".join(
                    f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in sample.items()
                ),
                flush=True,
            )
            last = now
    half = [s for s in samples if s["seconds"] >= args.seconds / 2]
    if len(half) >= 3:
        rss = [s["rss_mib"] for s in half]
        growth = rss[-1] - rss[0]
        if all(b > a for a, b in zip(rss, rss[1:])) and growth > 20:
            problems.append(f"resident memory grew by {growth:.0f} MiB in the second half")
    result = {
        "device": args.device,
        "steps": steps,
        "bad_steps_raised": bad_steps,
        "seconds": time.perf_counter() - start,
        "samples": samples,
        "problems": problems,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(f"{steps} steps, {bad_steps} bad labels raised; problems: {problems or 'none'}")
    print(f"wrote {args.output}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
