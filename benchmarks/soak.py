"""Soak: train the demo CNN for a long time, drop many graphs, train from many threads; no leaks.

Three legs, each on demand (not in CI; ``tests/test_soak.py`` runs a short version):

* **Training.** ``--steps`` steps of the demo's CNN (``axoncl.demo.build_model("cnn")``) on the
  digits, batch 32, Adam (or ``--optimizer sgd``), on ``--device``. Every ``--bad-every`` steps
  one step gets an out-of-range class label instead: it must raise an ``IndexError`` (on
  OpenCL, from the device's error flag at the read of its loss), and the next step must work.
  Every step reads its loss, which must be finite.
* **Dropped graphs.** ``--graphs`` forward passes with gradients on (the graph is built) that
  are dropped without a backward.
* **Threads.** ``--threads`` threads each train their own CNN at once, on numpy and on the
  OpenCL device; each thread's losses must equal, exactly, those of the same seed trained alone.

Every ``--every`` steps (or graphs) the script collects cyclic garbage (the count found is
printed: the graphs should make none) and prints the host's resident memory (from /proc) and,
on OpenCL, the memory pool's managed (held + active) and active bytes and blocks. "Flat" means
that, past the first ``--warmup`` steps, the least-squares slope of each of resident memory and
the pool's managed and active bytes against steps stays under ``--bound`` MB (10^6 bytes) per
1,000 steps. The slopes go to ``benchmarks/results/soak.json``; the exit status is 1 when a bound
is broken, an expected error did not come, an unexpected one did, a loss went non-finite, or a
thread's losses differ from the sequential run's.

Usage::

    python benchmarks/soak.py                      # 20,000 steps, 10,000 graphs, 8 threads
    python benchmarks/soak.py --quick              # a short smoke run (about 20 s)
    python benchmarks/soak.py --steps 20000 --graphs 10000 --threads 8 --device opencl|numpy
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from axoncl import demo, nn, optim  # noqa: E402
from axoncl.backends import to_backend  # noqa: E402
from axoncl.functions import cross_entropy  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
BATCH = 32
MB = 1e6
# What each sample records, and which of those the bound applies to.
MEMORY_KEYS = ("rss", "pool_managed", "pool_active")


def rss_bytes() -> int:
    """Resident memory of this process now (from /proc), else its peak (ru_maxrss)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_sample(step: int, device: Any, start: float) -> dict[str, float]:
    """Collect cyclic garbage, then read resident memory and the device pool's counters."""
    cycles = gc.collect()
    sample = {"step": step, "seconds": time.perf_counter() - start, "cycles": cycles}
    sample["rss"] = rss_bytes()
    if device is not None:
        pool = device.allocator
        sample["pool_managed"] = pool.managed_bytes
        sample["pool_active"] = pool.active_bytes
        sample["pool_held_blocks"] = pool.held_blocks
        sample["pool_active_blocks"] = pool.active_blocks
    return sample


def format_sample(label: str, sample: dict[str, float]) -> str:
    parts = [f"{label} {sample['step']:>6}", f"{sample['seconds']:7.1f}s"]
    parts.append(f"rss {sample['rss'] / 2**20:8.2f} MiB")
    if "pool_managed" in sample:
        parts.append(
            f"pool managed {sample['pool_managed'] / 2**20:6.2f} MiB "
            f"active {sample['pool_active'] / 2**20:6.2f} MiB "
            f"(blocks held {sample['pool_held_blocks']} active {sample['pool_active_blocks']})"
        )
    parts.append(f"cycles {sample['cycles']}")
    return "  ".join(parts)


def slope_per_1000(steps: list[float], values: list[float]) -> float:
    """Least-squares slope of ``values`` against ``steps``, per 1,000 steps."""
    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.size < 2 or np.ptp(x) == 0:
        return float("nan")
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum() * 1000)


def memory_slopes(
    samples: list[dict[str, float]], warmup: int, bound_mb: float
) -> tuple[dict[str, float], list[str]]:
    """Slopes in MB per 1,000 steps of each memory counter over the samples past ``warmup``,
    and a problem for each slope at or over ``bound_mb`` (or too few samples to fit)."""
    kept = [s for s in samples if s["step"] >= warmup]
    if len(kept) < 3:
        return {}, [f"only {len(kept)} samples past the warm-up of {warmup}; need 3 to fit"]
    slopes: dict[str, float] = {}
    problems: list[str] = []
    for key in MEMORY_KEYS:
        if key not in kept[0]:
            continue
        slope = slope_per_1000([s["step"] for s in kept], [s[key] for s in kept]) / MB
        slopes[key] = slope
        if not slope < bound_mb:
            problems.append(f"{key} grows {slope:.3f} MB per 1,000 steps (bound {bound_mb})")
    return slopes, problems


class Digits:
    """The demo's training images and a stream of shuffled batches of 32, as the demo draws
    them (the last, shorter batch of each epoch included)."""

    def __init__(self) -> None:
        self.x, self.y, _, _ = demo.load_digits_split()

    def batches(self, seed: int):
        shuffle = np.random.default_rng(seed)
        while True:
            order = shuffle.permutation(len(self.x))
            for start in range(0, len(order), BATCH):
                part = order[start : start + BATCH]
                yield self.x[part], self.y[part]


def _model(xp: Any, device: Any, seed: int) -> nn.Module:
    model = demo.build_model("cnn", generator=nn.Generator(seed))
    if device is not None:
        model.to(xp, device=device)
    return model


def _loss(model: nn.Module, xb: np.ndarray, yb: np.ndarray, xp: Any, device: Any) -> Any:
    """The model's cross-entropy on one host batch, moved to ``device`` first."""
    return cross_entropy(
        model(to_backend(xb, xp, device=device)), to_backend(yb, xp, device=device)
    )


def _optimizer(model: nn.Module, kind: str) -> optim.Optimizer:
    if kind == "sgd":
        return optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return optim.Adam(model.parameters(), lr=1e-3)


def train(
    spec: str,
    steps: int,
    *,
    every: int = 1000,
    bad_every: int = 0,
    optimizer: str = "adam",
    seed: int = 0,
    data: Digits | None = None,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the demo CNN for ``steps`` steps on ``spec``; samples memory every ``every`` steps
    (and after the last). Returns the samples, steps per second, bad labels raised, problems."""
    xp, device, description = demo.resolve_device(spec)
    data = Digits() if data is None else data
    model = _model(xp, device, seed)
    opt = _optimizer(model, optimizer)
    batches = data.batches(seed + 1)
    samples: list[dict[str, float]] = []
    problems: list[str] = []
    raised = 0
    start = time.perf_counter()
    for step in range(1, steps + 1):
        xb, yb = next(batches)
        # Halfway between samples, so that no sample follows a bad step.
        bad = bad_every > 0 and (step + bad_every // 2) % bad_every == 0
        if bad:
            yb = yb.copy()
            yb[step % len(yb)] = 10 + step % 5
        try:
            loss = _loss(model, xb, yb, xp, device)
            if bad:
                loss.item()  # the read where a device error surfaces, before any update
                problems.append(f"step {step}: a bad label raised nothing")
                continue
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = loss.item()
            if not math.isfinite(value):
                problems.append(f"step {step}: loss {value}")
        except IndexError as exc:
            if not bad:
                problems.append(f"step {step}: unexpected {exc}")
            raised += 1
        if step % every == 0 or step == steps:
            samples.append(memory_sample(step, device, start))
            report(format_sample("step", samples[-1]))
        if len(problems) > 20:
            problems.append("stopped after 20 problems")
            break
    seconds = time.perf_counter() - start
    return {
        "device": description,
        "steps": steps,
        "steps_per_second": steps / seconds,
        "bad_labels_raised": raised,
        "bad_labels_expected": (steps + bad_every // 2) // bad_every if bad_every > 0 else 0,
        "samples": samples,
        "problems": problems,
    }


def drop_graphs(
    spec: str,
    graphs: int,
    *,
    every: int = 1000,
    seed: int = 0,
    data: Digits | None = None,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Build ``graphs`` forward graphs of the CNN's loss with gradients on and drop each one
    without a backward; samples memory every ``every`` graphs (and after the last)."""
    xp, device, description = demo.resolve_device(spec)
    data = Digits() if data is None else data
    model = _model(xp, device, seed)
    batches = data.batches(seed + 1)
    samples: list[dict[str, float]] = []
    problems: list[str] = []
    start = time.perf_counter()
    for graph in range(1, graphs + 1):
        xb, yb = next(batches)
        loss = _loss(model, xb, yb, xp, device)
        if not loss.requires_grad:
            problems.append(f"graph {graph}: the loss has no graph (gradients off?)")
            break
        del loss
        if graph % every == 0 or graph == graphs:
            if device is not None:
                device.synchronize()  # the dropped graphs' kernels are done
            samples.append(memory_sample(graph, device, start))
            report(format_sample("graph", samples[-1]))
    seconds = time.perf_counter() - start
    return {
        "device": description,
        "graphs": graphs,
        "graphs_per_second": graphs / seconds,
        "samples": samples,
        "problems": problems,
    }


def losses_of_seed(
    spec: str, seed: int, steps: int, *, data: Digits, optimizer: str = "adam"
) -> list[float]:
    """The per-step losses of ``steps`` training steps from seed ``seed`` (model and batches)."""
    xp, device, _ = demo.resolve_device(spec)
    model = _model(xp, device, seed)
    opt = _optimizer(model, optimizer)
    batches = data.batches(seed + 1)
    losses = []
    for _ in range(steps):
        xb, yb = next(batches)
        loss = _loss(model, xb, yb, xp, device)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss)
    return [float(v.item()) for v in losses]


def run_threads(work: Callable[[int], Any], count: int, timeout: float = 600.0) -> list[Any]:
    """``work(i)`` for i in range(count), each in its own thread, all started together."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # reported by the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    if any(t.is_alive() for t in threads):
        raise RuntimeError(f"soak: a training thread still ran after {timeout:.0f} s")
    if errors:
        raise errors[0]
    return results


def threads_match(
    spec: str,
    threads: int,
    steps: int,
    *,
    data: Digits | None = None,
    switch_interval: float = 1e-5,
    optimizer: str = "adam",
) -> dict[str, Any]:
    """Train seeds 0..threads-1 one after another, then all at once in ``threads`` threads (the
    interpreter switching threads every ``switch_interval`` s); each thread's losses must equal
    its seed's sequential losses exactly."""
    data = Digits() if data is None else data
    demo.resolve_device(spec)  # builds the device once, outside the threads

    def work(i: int) -> list[float]:
        return losses_of_seed(spec, i, steps, data=data, optimizer=optimizer)

    start = time.perf_counter()
    sequential = [work(i) for i in range(threads)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    try:
        threaded = run_threads(work, threads)
    finally:
        sys.setswitchinterval(old)
    problems = []
    for i, (alone, together) in enumerate(zip(sequential, threaded)):
        differ = [s for s, (a, b) in enumerate(zip(alone, together)) if a != b]
        if differ:
            s = differ[0]
            problems.append(
                f"{spec} thread {i}: {len(differ)} of {steps} losses differ from the "
                f"sequential run, first at step {s}: {together[s]!r} against {alone[s]!r}"
            )
    return {
        "device": spec,
        "threads": threads,
        "steps": steps,
        "seconds": time.perf_counter() - start,
        "first_losses": [losses[0] for losses in sequential],
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--graphs", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--thread-steps", type=int, default=50, help="steps each thread trains")
    parser.add_argument("--device", default="opencl", help="opencl, opencl:P:D or numpy")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--bad-every", type=int, default=50, help="a bad label every N steps")
    parser.add_argument("--every", type=int, default=1000, help="steps between memory samples")
    parser.add_argument("--warmup", type=int, default=2000, help="steps left out of the fit")
    parser.add_argument("--bound", type=float, default=1.0, help="MB per 1,000 steps")
    parser.add_argument("--quick", action="store_true", help="2,000 steps and graphs, 4 threads")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.graphs, args.threads, args.thread_steps = 2000, 2000, 4, 5
        args.every, args.warmup = 100, 500
    if args.every < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("expected --steps >= 1, --every >= 1 and --warmup >= 0")

    data = Digits()
    result: dict[str, Any] = {"arguments": vars(args), "problems": []}
    print(f"training: {args.steps} steps of the demo CNN on {args.device}", flush=True)
    trained = train(
        args.device,
        args.steps,
        every=args.every,
        bad_every=args.bad_every,
        optimizer=args.optimizer,
        data=data,
        report=lambda line: print(line, flush=True),
    )
    trained["slopes_mb_per_1000"], over = memory_slopes(trained["samples"], args.warmup, args.bound)
    trained["problems"] += over
    if trained["bad_labels_raised"] != trained["bad_labels_expected"]:
        trained["problems"].append(
            f"{trained['bad_labels_raised']} bad labels raised, "
            f"expected {trained['bad_labels_expected']}"
        )
    result["training"] = trained

    if args.graphs > 0:
        print(f"graphs: {args.graphs} built and dropped without backward", flush=True)
        graphs = drop_graphs(
            args.device,
            args.graphs,
            every=args.every,
            data=data,
            report=lambda line: print(line, flush=True),
        )
        graphs["slopes_mb_per_1000"], over = memory_slopes(
            graphs["samples"], args.warmup, args.bound
        )
        graphs["problems"] += over
        result["graphs"] = graphs

    result["threads"] = []
    specs = ["numpy"] + ([args.device] if args.device != "numpy" else [])
    for spec in specs if args.threads > 0 else []:
        print(f"threads: {args.threads} x {args.thread_steps} steps on {spec}", flush=True)
        result["threads"].append(
            threads_match(
                spec, args.threads, args.thread_steps, data=data, optimizer=args.optimizer
            )
        )

    legs = [result["training"], result.get("graphs", {}), *result["threads"]]
    result["problems"] = [p for leg in legs for p in leg.get("problems", [])]
    print()
    print(
        f"training: {trained['steps_per_second']:.0f} steps/s; slopes (MB per 1,000 steps "
        f"after {args.warmup}): "
        + ", ".join(f"{k} {v:+.4f}" for k, v in trained["slopes_mb_per_1000"].items())
    )
    print(f"bad labels: {trained['bad_labels_raised']} of {trained['bad_labels_expected']} raised")
    if "graphs" in result:
        g = result["graphs"]
        print(
            f"graphs: {g['graphs_per_second']:.0f}/s; slopes (MB per 1,000 graphs after "
            f"{args.warmup}): "
            + ", ".join(f"{k} {v:+.4f}" for k, v in g["slopes_mb_per_1000"].items())
        )
    for leg in result["threads"]:
        verdict = "differ" if leg["problems"] else "equal the sequential run's"
        print(
            f"threads: {leg['threads']} x {leg['steps']} steps on {leg['device']}: losses "
            f"{verdict} ({leg['seconds']:.1f} s)"
        )
    print(f"problems: {result['problems'] or 'none'}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.output}")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
