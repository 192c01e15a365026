"""The first epoch of ``axoncl demo`` on a machine whose OpenCL runtime has compiled nothing yet.

PoCL compiles every program with LLVM when it is first built (about 0.1 s each, most of it
parsing the OpenCL C header, plus about 0.4 s to start LLVM in a process) and every kernel when
it is first launched with a work-group size (40 ms and up), and keeps both in its disk cache
(``POCL_CACHE_DIR``). A fresh machine, a new CI runner or a wiped cache pays all of it during
the demo's first epoch.

Each run starts ``axoncl demo --epochs 2`` in a new process with ``POCL_CACHE_DIR`` pointing at a
new empty folder, so nothing is cached, and reads the epoch times from its ``summary.json``:
epoch 1 is the cold epoch, epoch 2 a warm one (everything compiled). A final run reuses the last
run's cache (a second install, or the next run on the same machine): its first epoch shows what
a warm cache costs. The OpenCL device is the demo's default (``--device`` to choose). Runs are
sequential, with a pause between them; the report gives the medians and every run.

Usage::

    python benchmarks/cold_start.py [--runs 5] [--device opencl:cpu] [--quick]

Writes ``benchmarks/results/cold_start.json`` (or into ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def demo_epochs(cache: Path, device: str | None) -> dict:
    """One ``axoncl demo --epochs 2`` with ``POCL_CACHE_DIR=cache``: its epoch times."""
    with tempfile.TemporaryDirectory(prefix="axoncl-cold-out-") as out:
        cmd = [sys.executable, "-m", "axoncl", "demo", "--epochs", "2", "--no-progress"]
        cmd += ["--out", out] + (["--device", device] if device else [])
        env = {**os.environ, "POCL_CACHE_DIR": str(cache)}
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"axoncl demo failed ({done.returncode}):\n{done.stderr[-2000:]}")
        summary = json.loads((Path(out) / "summary.json").read_text())
    first, second = summary["epoch_times"][:2]
    return {
        "first_epoch_s": first,
        "warm_epoch_s": second,
        "command_s": wall,
        "test_accuracy": summary["test_accuracy"],
        "device": summary["device"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="cold runs (default 5)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 cold runs")
    parser.add_argument("--device", default=None, help="the demo's --device")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between runs")
    parser.add_argument("--out", default=str(HERE / "results"), help="results folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 2
    runs = []
    with tempfile.TemporaryDirectory(prefix="axoncl-cold-") as root:
        for i in range(args.runs):
            cache = Path(root) / f"cache{i}"
            cache.mkdir()
            if i:
                shutil.rmtree(Path(root) / f"cache{i - 1}")
            runs.append(demo_epochs(cache, args.device))
            r = runs[-1]
            print(
                f"cold run {i + 1}: first epoch {r['first_epoch_s']:.2f} s, warm epoch "
                f"{r['warm_epoch_s']:.3f} s, command {r['command_s']:.1f} s, "
                f"test accuracy {r['test_accuracy']:.4f}"
            )
            time.sleep(args.pause)
        warm = demo_epochs(cache, args.device)  # the last run's cache, now full
    print(
        f"warm cache: first epoch {warm['first_epoch_s']:.2f} s, command {warm['command_s']:.1f} s"
    )
    result = {
        "device": runs[0]["device"],
        "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "median_first_epoch_s": statistics.median(r["first_epoch_s"] for r in runs),
        "median_warm_epoch_s": statistics.median(r["warm_epoch_s"] for r in runs),
        "median_command_s": statistics.median(r["command_s"] for r in runs),
        "warm_cache_first_epoch_s": warm["first_epoch_s"],
        "warm_cache_command_s": warm["command_s"],
        "runs": runs,
    }
    print(
        f"median of {len(runs)} cold runs on {result['device']}: first epoch "
        f"{result['median_first_epoch_s']:.2f} s, warm epoch "
        f"{result['median_warm_epoch_s']:.3f} s, command {result['median_command_s']:.1f} s"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cold_start.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out / 'cold_start.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
