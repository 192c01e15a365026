"""Scaled dot-product attention: axoncl's fused OpenCL kernels vs its composed ops vs PyTorch.

Columns (float32, q, k, v of shape (B, H, L, D), the same data everywhere):

* ``fused``: ``axoncl.nn.functional.scaled_dot_product_attention`` on OpenCL (``--device``,
  default the default device, e.g. PoCL), which takes ``kernels/attention.cl``;
* ``composite``: the same call with ``fused=False`` (matmul, softmax, matmul) on the same device;
* ``torch``: ``torch.nn.functional.scaled_dot_product_attention`` on the CPU with
  ``torch.set_num_threads(2)``, when PyTorch is installed (else skipped with the reason).

Two measurements per configuration: ``forward`` (no graph) and ``train`` (forward, then
backward to q, k and v). Every call ends with the device finished (``Device.synchronize``).

Method (``_isolation.py``, as ``gemm.py`` and ``train_step.py``): each column runs in its own
worker process; paired rounds (default 7) ask every worker for one sample in a rotating order,
each after a pause until all workers' threads are idle; a sample runs untimed for ``--settle``
seconds, then times ``--calls`` calls and is their median. Reports give each column's median
over the rounds (absolute times) and the median of the paired per-round ratios to ``fused``.
Before timing, the script prints each column's largest output difference to ``composite``.

Usage::

    python benchmarks/attention.py [--quick] [--configs 8x4x128x32,8x4x128x32c] [--rounds 7]

A configuration is ``BxHxLxD``, with a trailing ``c`` for a causal mask. Writes
``benchmarks/results/attention.json`` (or into ``--out``).
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout

import _isolation as iso  # noqa: E402

COLUMNS = ("fused", "composite", "torch")
CONFIGS = "8x4x128x32,8x4x128x32c,2x4x512x64"


def _parse_config(text: str) -> tuple[tuple[int, int, int, int], bool]:
    causal = text.endswith("c")
    b, h, length, d = (int(n) for n in text.rstrip("c").split("x"))
    return (b, h, length, d), causal


def _data(shape: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]  # q, k, v, grad


class Runner:
    """One column's attention call on fixed data: ``call(train)`` runs it to completion."""

    def __init__(self, column: str, config: str, device: str | None) -> None:
        shape, self.causal = _parse_config(config)
        q, k, v, grad = _data(shape)
        if column == "torch":
            import torch

            torch.set_num_threads(2)
            self.tensors = [torch.from_numpy(a).requires_grad_() for a in (q, k, v)]
            self.grad = torch.from_numpy(grad)
            self.sdpa = torch.nn.functional.scaled_dot_product_attention
            self.no_grad = torch.no_grad
            self.sync = lambda: None
            self.label = f"torch {torch.__version__} cpu, 2 threads"
            return
        import axoncl as ax
        import axoncl.backends.opencl as xp
        from axoncl.nn import functional as F

        dev = xp.default_device() if device is None else xp.get_device(device)
        fused = None if column == "fused" else False
        self.tensors = [
            ax.Variable(xp.asarray(a, device=dev), requires_grad=True) for a in (q, k, v)
        ]
        self.grad = xp.asarray(grad, device=dev)
        self.sdpa = lambda *t, is_causal: F.scaled_dot_product_attention(
            *t, is_causal=is_causal, fused=fused
        )
        self.no_grad = ax.no_grad
        self.sync = dev.synchronize
        self.label = f"axoncl {column} on {dev.caps.name}"

    def call(self, train: bool):
        if not train:
            with self.no_grad():
                out = self.sdpa(*self.tensors, is_causal=self.causal)
            self.sync()
            return out
        for t in self.tensors:
            t.grad = None
        out = self.sdpa(*self.tensors, is_causal=self.causal)
        out.backward(self.grad)
        self.sync()
        return out

    def output(self) -> list:
        out = self.call(False)
        return np.asarray(out.detach().numpy() if hasattr(out, "detach") else out.numpy()).tolist()

    def time(self, train: bool, calls: int) -> float:
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            self.call(train)
            times.append(time.perf_counter() - start)
        return statistics.median(times)


def worker_main(column: str) -> int:
    state: dict[str, Runner] = {}

    def setup(config: str, device: str | None) -> dict:
        state["runner"] = Runner(column, config, device)
        return {"label": state["runner"].label}

    def output() -> dict:
        return {"output": state["runner"].output()}

    def sample(train: bool, calls: int, settle_s: float) -> dict:
        runner = state["runner"]
        iso.settle(lambda: runner.call(train), settle_s)
        return {"call_s": runner.time(train, calls)}

    return iso.serve({"setup": setup, "output": output, "sample": sample})


def bench(config: str, workers: dict, args) -> dict:
    labels, live = {}, {}
    for name, worker in workers.items():
        try:
            labels[name] = worker.call("setup", config=config, device=args.device)["label"]
            live[name] = worker
        except iso.WorkerError as exc:
            print(f"  [skip] {name}: {exc}", flush=True)
    outputs = {name: np.asarray(w.call("output")["output"]) for name, w in live.items()}
    if "composite" in outputs:
        for name, out in outputs.items():
            diff = float(np.max(np.abs(out - outputs["composite"])))
            print(f"  {name}: largest output difference to composite {diff:.2e}", flush=True)
    row = {"config": config, "columns": labels, "results": {}}
    for mode in ("forward", "train"):
        meter = iso.LoadMeter(live.values())
        samples, loads = iso.paired_rounds(
            live,
            args.rounds,
            lambda name, w, mode=mode: w.call(
                "sample", train=mode == "train", calls=args.calls, settle_s=args.settle
            ),
        )
        times = {name: [s["call_s"] for s in ss] for name, ss in samples.items()}
        row["results"][mode] = {
            "median_s": {name: statistics.median(t) for name, t in times.items()},
            "best_s": {name: min(t) for name, t in times.items()},
            "ratio_to_fused": {
                name: iso.paired_ratio(t, times["fused"]) for name, t in times.items()
            }
            if "fused" in times
            else {},
            "samples_s": times,
            "other_load": max(loads),
            "overall_other_load": meter.other_load(),
        }
    return row


def report(rows: list[dict]) -> str:
    lines = [
        "| config | mode | " + " | ".join(COLUMNS) + " | other load |",
        "|---|---|" + "---|" * len(COLUMNS) + "---|",
    ]
    for row in rows:
        for mode, result in row["results"].items():
            cells = []
            for name in COLUMNS:
                if name not in result["median_s"]:
                    cells.append("-")
                    continue
                ms = result["median_s"][name] * 1e3
                ratio = result["ratio_to_fused"].get(name)
                cells.append(f"{ms:.2f} ms" + (f" ({ratio:.2f}x)" if ratio else ""))
            load = f"{result['other_load']:.0%}"
            lines.append(f"| {row['config']} | {mode} | " + " | ".join(cells) + f" | {load} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=CONFIGS, help="BxHxLxD[c], comma-separated")
    parser.add_argument("--columns", default=",".join(COLUMNS))
    parser.add_argument("--device", default=None, help="OpenCL device, e.g. opencl:0:0")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5, help="timed calls per sample (median)")
    parser.add_argument("--settle", type=float, default=0.2, help="untimed seconds per sample")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 rounds of 3 calls")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.settle = 3, 3, 0.05
    names = iso.pick(parser, "--columns", args.columns, COLUMNS)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    workers = {name: iso.Worker(name, __file__) for name in names}
    payload = {
        "benchmark": "attention",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "method": "one worker process per column, paired rounds in rotating order, each "
        "sample after an idle pause (see benchmarks/_isolation.py); medians over rounds",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "options": {"rounds": args.rounds, "calls": args.calls, "settle_s": args.settle},
        "results": [],
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        for config in configs:
            print(f"{config}: setting up {', '.join(workers)}", flush=True)
            payload["results"].append(bench(config, workers, args))
            (out / "attention.json").write_text(json.dumps(payload, indent=2))
    finally:
        for worker in workers.values():
            worker.close()
    print()
    print(report(payload["results"]))
    if any(r["other_load"] > 0.05 for row in payload["results"] for r in row["results"].values()):
        print(
            "\nwarning: other processes used more than 5% of the CPUs during some rounds "
            "(column 'other load'); the times are not trustworthy"
        )
    print(f"wrote {out / 'attention.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
