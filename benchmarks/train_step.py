"""One training step (forward, cross-entropy, backward, SGD update): axoncl vs PyTorch.

Models (float32, SGD lr 0.01, the same initial weights and data in every framework):

* ``mlp``: 784-512-256-10 with ReLU, batch 128;
* ``cnn``: conv3×3(1→16, pad 1) ReLU maxpool2 → conv3×3(16→32, pad 1) ReLU maxpool2 → flatten →
  linear(32·7·7 → 10), on 1×28×28 inputs, batch 64;
* ``resnet``: a ResNet-8 on 3×32×32 inputs, batch 128: stem conv3×3(3→16) BN ReLU, three basic
  residual blocks (conv3×3 BN ReLU conv3×3 BN, plus the input or a strided conv1×1+BN, then
  ReLU) at 16, 32 and 64 channels with stride 2 between them, global average pool, linear 64→10.
  Convolutions have no bias; BatchNorm is in training mode (batch statistics).
* ``transformer``: the decoder-only character transformer of ``axoncl demo --model
  transformer`` (``axoncl.demo_transformer.build_transformer``), 2 pre-LN blocks of width 128
  with 4 heads and a GELU MLP, context 64, vocabulary 128, on random token ids, batch 32; the
  cross-entropy is over all 32·64 positions.

Frameworks (columns): axoncl on OpenCL (``--device``, default the default device, e.g. PoCL),
the same step through ``axoncl.capture`` (``capture``: recorded after a warm-up, then replayed),
axoncl on numpy, PyTorch (``--torch-device cpu`` with ``torch.set_num_threads(2)``, or ``cuda``)
and, when installed, tinygrad on its OpenCL backend (``DEV=CL``) with ``TinyJit``. A missing
framework is skipped with its reason. A step ends with the device finished (``queue.finish()``
on OpenCL, ``torch.cuda.synchronize()`` on CUDA, tinygrad's device ``synchronize()``); the host
never reads a value inside the step.

Method (``_isolation.py``): each framework runs in its own worker process; paired rounds
(default 15) ask every worker for one sample in a rotating order, each after a pause until all
workers' threads are idle; a sample runs one untimed step (and more for ``--settle`` seconds),
then timed steps, at least ``--steps`` (5) of them and for at least ``--sample-s`` (0.1) seconds,
and is their mean (a sample of a few milliseconds was at the mercy of one descheduling on 2
cores). Reports give each framework's median over the rounds and the median of the paired
per-round ratios to PyTorch, and tinygrad's to axoncl's. Before timing, every framework
runs two steps from the initial weights and the script prints their losses' difference to
PyTorch's (a check that the models, weights and data really are the same).

Usage::

    python benchmarks/train_step.py [--quick] [--device opencl:cpu] [--rounds 15] [--steps 5]
    python benchmarks/train_step.py --models resnet           # or --model resnet
    python benchmarks/train_step.py --sweep     # MLP, CNN at batch 32/128/512, ResNet-8 at 128
    python benchmarks/train_step.py --profile   # per-op forward/backward times on OpenCL
    python benchmarks/train_step.py --precision fp32,bf16,fp16 --quick   # mixed precision

``--precision`` times axoncl alone (numpy and OpenCL columns, in this process, without the
paired rounds), one row per model and precision: ``bf16``/``fp16`` train under
``axoncl.autocast``, ``fp16`` with ``axoncl.GradScaler`` (one host read per step, its overflow
flag). It reports the mean step time and, on OpenCL, the peak bytes of the device's memory pool
during the timed steps (``memory_stats``). A backend without the dtype is reported as skipped,
with the reason.

Writes ``benchmarks/results/train_step.json`` (``--sweep``: ``train_step_sweep.json`` and
``.png``; ``--profile``: ``train_step_profile.json``; ``--precision``:
``train_step_precision.json``), or into ``--out``.
"""

from __future__ import annotations

import argparse
import gc
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

LR = 0.01
BATCH = {"mlp": 128, "cnn": 64, "resnet": 128, "transformer": 32}
TEXT = {"vocab_size": 128, "context": 64, "width": 128, "layers": 2, "heads": 4}
# OpenCL / PyTorch on PoCL at the default batch: eager, and with the step captured.
TARGETS = {"mlp": 1.2, "cnn": 1.3, "resnet": 1.5}
CAPTURE_TARGETS = {"mlp": 1.0, "cnn": 1.0}
SWEEP = [("mlp", 32), ("mlp", 128), ("mlp", 512), ("cnn", 32), ("cnn", 128), ("cnn", 512)]
SWEEP += [("resnet", 128)]
FRAMEWORKS = ("opencl", "capture", "numpy", "torch", "tinygrad")
REFERENCE = "torch"
LOSS_RTOL = 1e-3  # float32, summation orders differ between frameworks
PRECISIONS = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}  # autocast dtypes


# ---------------------------------------------------------------- models, once for all frameworks


def build(kind: str, nn):
    """Model ``kind`` from the layer classes of ``nn`` (``axoncl.nn``, ``torch.nn`` or
    ``_TinyNN()``), so every framework runs the same architecture with the same names."""
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )
    if kind == "cnn":
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
    if kind == "resnet":
        return _resnet8(nn)
    if kind == "transformer":
        from axoncl.demo_transformer import build_transformer

        # Flatten (B, T, vocab) logits to (B·T, vocab): one cross-entropy call for every model.
        return nn.Sequential(build_transformer(**TEXT, nn=nn), nn.Flatten(0, 1))
    raise ValueError(f"train_step: expected a model in {sorted(BATCH)}, got {kind!r}")


def _resnet8(nn):
    def conv_bn(cin: int, cout: int, kernel: int, stride: int) -> list:
        conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        return [conv, nn.BatchNorm2d(cout)]

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                *conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout, 3, 1)
            )
            same = cin == cout and stride == 1
            self.shortcut = nn.Identity() if same else nn.Sequential(*conv_bn(cin, cout, 1, stride))

        def forward(self, x):
            return (self.body(x) + self.shortcut(x)).relu()

    return nn.Sequential(
        *conv_bn(3, 16, 3, 1),
        nn.ReLU(),
        BasicBlock(16, 16, 1),
        BasicBlock(16, 32, 2),
        BasicBlock(32, 64, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def initial_state(kind: str) -> dict[str, np.ndarray]:
    """axoncl's seeded initial weights (host arrays), loaded into every framework."""
    import axoncl
    from axoncl import nn

    axoncl.manual_seed(0)
    return {k: np.asarray(v) for k, v in build(kind, nn).state_dict().items()}


def data(kind: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "transformer":
        x = rng.integers(0, TEXT["vocab_size"], (batch, TEXT["context"]))
        y = rng.integers(0, TEXT["vocab_size"], batch * TEXT["context"])
        return x.astype(np.int64), y.astype(np.int64)
    sample = {"mlp": (784,), "cnn": (1, 28, 28), "resnet": (3, 32, 32)}[kind]
    x = rng.standard_normal((batch, *sample)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    return x, y


# ---------------------------------------------------------------- one runner per framework


class Runner:
    """A model, its data and SGD on one framework. ``step`` queues one training step and
    returns its loss (unread); ``sync`` waits for the device."""

    label = ""

    def step(self):
        raise NotImplementedError

    def sync(self) -> None:
        pass

    def loss_value(self, loss) -> float:
        return float(loss.item())

    def run(self, steps: int, min_s: float = 0.0) -> float:
        """Mean seconds per step over at least ``steps`` steps and ``min_s`` seconds, each step
        ending with the device finished."""
        self.sync()
        start = time.perf_counter()
        done = 0
        while done < steps or time.perf_counter() - start < min_s:
            self.step()
            self.sync()
            done += 1
        return (time.perf_counter() - start) / done


class AxonclRunner(Runner):
    """axoncl on numpy or OpenCL; ``captured`` replays the step through ``axoncl.capture``
    after its warm-up and recording calls."""

    def __init__(
        self,
        kind: str,
        batch: int,
        backend: str,
        device: str | None = None,
        captured: bool = False,
        precision: str = "fp32",
    ) -> None:
        import axoncl
        from axoncl import nn, optim

        self.axoncl = axoncl
        self.model = build(kind, nn)
        self.model.load_state_dict(initial_state(kind))
        x, y = data(kind, batch)
        self.label = f"axoncl {backend}"
        if backend == "opencl":
            xp = axoncl.get_backend("opencl")
            dev = xp.get_device(device) if device else xp.default_device()
            self.model.to("opencl", device=dev)
            x = xp.asarray(x, device=dev)
            y = xp.asarray(y, device=dev)
            self.sync = dev.queue.finish
            self.device = dev
            self.label += f" ({dev.id} {dev.caps.name})"
        self.x, self.y = x, y
        self.opt = optim.SGD(self.model.parameters(), lr=LR)
        low = PRECISIONS[precision]
        self.autocast = axoncl.autocast(dtype=low or "float16", enabled=low is not None)
        self.scaler = axoncl.GradScaler(enabled=precision == "fp16")
        self._step = axoncl.capture(self._eager_step) if captured else self._eager_step
        if captured:
            self.label += " captured"

    def _eager_step(self, x, y):
        with self.autocast:
            loss = self.axoncl.cross_entropy(self.model(x), y)
        self.opt.zero_grad()
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        return loss

    def step(self):
        return self._step(self.x, self.y)


class TorchRunner(Runner):
    def __init__(self, kind: str, batch: int, device: str = "cpu", threads: int = 2) -> None:
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.model = build(kind, torch.nn)
        state = {k: torch.from_numpy(v.copy()) for k, v in initial_state(kind).items()}
        self.model.load_state_dict(state, strict=False)  # axoncl keeps no num_batches_tracked
        self.model.to(device)
        self.x, self.y = (torch.from_numpy(a).to(device) for a in data(kind, batch))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.label = f"torch {torch.__version__} {device}"
        if device.startswith("cuda"):
            self.sync = torch.cuda.synchronize
            self.label += f" ({torch.cuda.get_device_name()})"
        else:
            self.label += f" ({threads} threads)"

    def step(self):
        loss = self.torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


class _TinyNN:
    """tinygrad's layers under torch.nn's names, as much as ``build`` uses."""

    def __init__(self) -> None:
        from tinygrad import Tensor
        from tinygrad import nn as tnn

        self.Linear, self.Conv2d, self.BatchNorm2d = tnn.Linear, tnn.Conv2d, tnn.BatchNorm2d
        self.ReLU = lambda: Tensor.relu
        self.MaxPool2d = lambda k: lambda x: x.max_pool2d(k)
        self.Flatten = lambda: lambda x: x.flatten(1)
        self.AdaptiveAvgPool2d = lambda size: lambda x: x.mean(axis=(2, 3), keepdim=True)
        self.Identity = lambda: lambda x: x

    class Module:
        def __call__(self, x):
            return self.forward(x)

    class Sequential(Module):
        def __init__(self, *layers) -> None:
            for i, layer in enumerate(layers):  # attribute names "0", "1", ... as in torch
                setattr(self, str(i), layer)
            self.count = len(layers)

        def forward(self, x):
            for i in range(self.count):
                x = getattr(self, str(i))(x)
            return x


class TinygradRunner(Runner):
    def __init__(self, kind: str, batch: int) -> None:
        from tinygrad import Device, Tensor, TinyJit
        from tinygrad.nn.optim import SGD
        from tinygrad.nn.state import get_parameters, load_state_dict

        model = build(kind, _TinyNN())
        state = {k: Tensor(v) for k, v in initial_state(kind).items()}
        load_state_dict(model, state, strict=False, verbose=False)
        x, y = data(kind, batch)
        x, y = Tensor(x).realize(), Tensor(y.astype(np.int32)).realize()
        _tinygrad_training()
        opt = SGD(get_parameters(model), lr=LR)  # it keeps BN's running stats as buffers

        @TinyJit
        def step():
            loss = model(x).sparse_categorical_crossentropy(y)
            opt.zero_grad()
            loss.backward()
            Tensor.realize(loss, *opt.schedule_step())  # the loss of the weights before the update
            return loss

        self.step = step
        self.sync = Device[Device.DEFAULT].synchronize
        self.label = f"tinygrad {Device.DEFAULT} TinyJit"


def _tinygrad_training() -> None:
    """Training mode (BatchNorm on batch statistics): a context variable since tinygrad 0.12,
    a class attribute before."""
    try:
        from tinygrad.helpers import TRAINING

        TRAINING.value = 1
    except ImportError:
        from tinygrad import Tensor

        Tensor.training = True


def make_runner(framework: str, kind: str, batch: int, options: dict) -> Runner:
    if framework in ("opencl", "numpy"):
        return AxonclRunner(kind, batch, framework, options.get("device"))
    if framework == "capture":
        return AxonclRunner(kind, batch, "opencl", options.get("device"), captured=True)
    if framework == "torch":
        return TorchRunner(kind, batch, options["torch_device"], options["torch_threads"])
    if framework == "tinygrad":
        if kind == "transformer":
            raise NotImplementedError(
                "tinygrad: the transformer is built from axoncl.nn and "
                "torch.nn only (no tinygrad layers for it here)"
            )
        return TinygradRunner(kind, batch)
    raise ValueError(f"train_step: expected a framework in {FRAMEWORKS}, got {framework!r}")


def worker_main(framework: str) -> int:
    """The worker process of one framework: a runner per ``setup``, then samples."""
    state: dict[str, Runner] = {}

    def setup(kind: str, batch: int, options: dict) -> dict:
        state["runner"] = make_runner(framework, kind, batch, options)
        return {"label": state["runner"].label}

    def losses(count: int) -> dict:
        runner = state["runner"]
        return {"losses": [runner.loss_value(runner.step()) for _ in range(count)]}

    def sample(steps: int, settle_s: float, min_s: float = 0.0) -> dict:
        runner = state["runner"]
        iso.settle(lambda: runner.run(1), settle_s)
        return {"step_s": runner.run(steps, min_s)}

    return iso.serve({"setup": setup, "losses": losses, "sample": sample})


# ---------------------------------------------------------------- the parent: rounds and reports


def check_losses(losses: dict[str, list[float]]) -> dict:
    """Each framework's first losses against the reference's; prints and returns the diffs."""
    ref_name = REFERENCE if REFERENCE in losses else "numpy"
    ref = losses.get(ref_name)
    out = {}
    for name, values in losses.items():
        if ref is None or name == ref_name:
            continue
        diff = max(abs(a - b) for a, b in zip(values, ref, strict=True))
        ok = diff <= LOSS_RTOL * max(abs(v) for v in ref)
        out[name] = {"max_abs_diff": diff, "vs": ref_name, "ok": ok}
        shown = ", ".join(f"{v:.6f}" for v in values)
        print(
            f"  loss check {name}: steps 1-{len(values)} {shown}; max |diff| to {ref_name} "
            f"{diff:.2e} {'ok' if ok else 'MISMATCH'}",
            flush=True,
        )
    return out


def bench(
    kind: str, batch: int, workers: dict[str, iso.Worker], args: argparse.Namespace, options: dict
) -> dict:
    """One model and batch on every worker: set up, check losses, warm up, paired rounds."""
    active, labels, skipped, losses = {}, {}, {}, {}
    for name, worker in workers.items():
        try:
            labels[name] = worker.call("setup", kind=kind, batch=batch, options=options)["label"]
            losses[name] = worker.call("losses", count=2)["losses"]
            worker.call("sample", steps=2, settle_s=0.0)  # warm-up: kernel builds, pools, JIT
            active[name] = worker
        except iso.WorkerError as exc:
            skipped[name] = str(exc).splitlines()[-1]
            print(f"  [skip] {skipped[name]}", flush=True)
    checks = check_losses(losses)
    samples, loads = iso.paired_rounds(
        active,
        args.rounds,
        lambda name, worker: worker.call(
            "sample", steps=args.steps, settle_s=args.settle, min_s=args.sample_s
        ),
    )
    times = {name: [s["step_s"] for s in got] for name, got in samples.items()}
    row = {
        "kind": kind,
        "batch": batch,
        "rounds": args.rounds,
        "steps_per_sample": args.steps,
        "min_seconds_per_sample": args.sample_s,
        "frameworks": labels,
        "skipped": skipped,
        "first_losses": losses,
        "loss_check": checks,
        "median_ms": {name: 1e3 * statistics.median(t) for name, t in times.items()},
        "min_ms": {name: 1e3 * min(t) for name, t in times.items()},
        "samples_ms": {name: [1e3 * v for v in t] for name, t in times.items()},
        "other_load_per_round": loads,
        "other_load": statistics.median(loads) if loads else None,
    }
    if REFERENCE in times:
        row["ratio_vs_torch"] = {
            name: iso.paired_ratio(t, times[REFERENCE])
            for name, t in times.items()
            if name != REFERENCE
        }
        if kind in TARGETS and batch == BATCH[kind] and "opencl" in times:
            row["target_opencl_vs_torch"] = TARGETS[kind]
            row["meets_target"] = row["ratio_vs_torch"]["opencl"] <= TARGETS[kind]
        if kind in CAPTURE_TARGETS and batch == BATCH[kind] and "capture" in times:
            row["target_capture_vs_torch"] = CAPTURE_TARGETS[kind]
            row["capture_meets_target"] = row["ratio_vs_torch"]["capture"] <= CAPTURE_TARGETS[kind]
    if "tinygrad" in times:  # how much slower tinygrad is than axoncl, round by round
        row["tinygrad_vs"] = {
            name: iso.paired_ratio(times["tinygrad"], times[name])
            for name in ("opencl", "capture")
            if name in times
        }
    print(format_row(row), flush=True)
    return row


def format_row(row: dict) -> str:
    lines = [f"{row['kind']} batch {row['batch']} (other load {row['other_load'] or 0:.0%}):"]
    ratios = row.get("ratio_vs_torch", {})
    for name, ms in row["median_ms"].items():
        line = f"  {name:<9}{ms:9.2f} ms  (best {row['min_ms'][name]:.2f})"
        if name in ratios:
            line += f"  {ratios[name]:.2f}x torch"
        lines.append(line)
    if "meets_target" in row:
        met = "met" if row["meets_target"] else "NOT met"
        lines.append(f"  target opencl <= {row['target_opencl_vs_torch']}x torch: {met}")
    if "capture_meets_target" in row:
        met = "met" if row["capture_meets_target"] else "NOT met"
        lines.append(f"  target capture <= {row['target_capture_vs_torch']}x torch: {met}")
    for name, ratio in row.get("tinygrad_vs", {}).items():
        lines.append(f"  tinygrad / {name} (paired): {ratio:.2f}x")
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    names = [n for n in FRAMEWORKS if any(n in r["median_ms"] for r in rows)]
    ratio_names = [n for n in names if n != REFERENCE]
    head = "| model | batch | " + " | ".join(f"{n} ms" for n in names)
    head += "".join(f" | {n} / torch" for n in ratio_names) + " | other load |"
    lines = [head, "|" + " --- |" * (3 + len(names) + len(ratio_names))]
    for r in rows:
        cells = [f"{r['median_ms'][n]:.2f}" if n in r["median_ms"] else "n/a" for n in names]
        ratios = r.get("ratio_vs_torch", {})
        cells += [f"{ratios[n]:.2f}x" if n in ratios else "n/a" for n in ratio_names]
        load = f"{r['other_load']:.0%}" if r["other_load"] is not None else "n/a"
        lines.append(f"| {r['kind']} | {r['batch']} | " + " | ".join(cells) + f" | {load} |")
    return "\n".join(lines)


def plot_sweep(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), width_ratios=[3, 2])
    colours = dict(zip(FRAMEWORKS, ["C0", "C4", "C1", "C3", "C2"], strict=True))
    for kind, style in (("mlp", "-o"), ("cnn", "--s")):
        mine = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["batch"])
        for name in FRAMEWORKS:
            pts = [(r["batch"], r["median_ms"][name]) for r in mine if name in r["median_ms"]]
            if pts:
                xs, ys = zip(*pts, strict=True)
                left.plot(xs, ys, style, color=colours[name], label=f"{kind} {name}")
    left.set_xscale("log", base=2)
    batches = sorted({r["batch"] for r in rows if r["kind"] in ("mlp", "cnn")})
    left.set_xticks(batches, [str(b) for b in batches])
    left.minorticks_off()
    left.set_yscale("log")
    left.set_xlabel("batch size")
    left.set_ylabel("ms per training step (median)")
    left.set_title("MLP 784-512-256-10 and CNN, by batch size")
    left.grid(which="both", alpha=0.3)
    left.legend(fontsize=7, ncol=2)
    for r in (r for r in rows if r["kind"] == "resnet"):
        names = [n for n in FRAMEWORKS if n in r["median_ms"]]
        values = [r["median_ms"][n] for n in names]
        bars = right.bar(names, values, color=[colours[n] for n in names])
        right.bar_label(bars, fmt="%.0f")
        right.set_title(f"ResNet-8 (BN), 3x32x32, batch {r['batch']}")
    right.set_ylabel("ms per training step (median)")
    right.grid(axis="y", alpha=0.3)
    worst = max((r["other_load"] or 0.0) for r in rows)
    if worst > 0.05:
        title += f"\nother processes took up to {worst:.0%} of the CPUs: not trustworthy"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- profile (OpenCL, in-process)


def _profile_ops(runner: AxonclRunner, steps: int) -> dict:
    """Per-op forward/backward times (``axoncl.inspect.profile``, synchronised per op)."""
    from axoncl.inspect import profile as op_profile

    with op_profile(sync=True) as prof:
        for _ in range(steps):
            runner.step()
    print(prof)
    return prof.to_dict()


def _profile_launches(runner: AxonclRunner, steps: int) -> dict:
    """Kernel launches per step, the host's time per step (building the graph, running the
    rules, enqueueing; the device finishes after the clock stops) and, of that, the time spent
    inside the launch calls themselves (setting arguments and enqueueing)."""
    from axoncl.backends.opencl import launch

    device = runner.device
    enqueue = [0.0]
    real_launch = launch.Kernel.launch

    def timed_launch(kernel, *args, **kwargs):
        start = time.perf_counter()
        real_launch(kernel, *args, **kwargs)
        enqueue[0] += time.perf_counter() - start

    launch.Kernel.launch = timed_launch
    try:
        runner.sync()
        first = device.launches
        host = 0.0
        for _ in range(steps):
            start = time.perf_counter()
            runner.step()
            host += time.perf_counter() - start
            runner.sync()
        launches = (device.launches - first) / steps
    finally:
        launch.Kernel.launch = real_launch
    result = {
        "launches_per_step": launches,
        "host_ms_per_step": host / steps * 1e3,
        "enqueue_ms_per_step": enqueue[0] / steps * 1e3,
    }
    print(
        f"launches per step {launches:.0f}; host time per step "
        f"{result['host_ms_per_step']:.2f} ms, of which enqueueing "
        f"{result['enqueue_ms_per_step']:.2f} ms"
    )
    return result


# Each section takes the warmed-up OpenCL runner and a step count, prints its table and returns
# a JSON-able dict; add a section by adding an entry.
PROFILE_SECTIONS = {"launches": _profile_launches, "ops": _profile_ops}


def profile(kind: str, batch: int, device: str | None, steps: int) -> dict:
    runner = AxonclRunner(kind, batch, "opencl", device)
    runner.run(2)  # kernel builds, memory pools
    out = {"kind": kind, "batch": batch, "steps": steps, "device": runner.label}
    for name, section in PROFILE_SECTIONS.items():
        print(f"== {kind} batch {batch}: {name}", flush=True)
        out[name] = section(runner, steps)
    return out


def precision_rows(
    configs: list[tuple[str, int]], precisions: list[str], device: str | None, args
) -> list[dict]:
    """Mean step time and peak pool bytes of axoncl per model, backend and precision."""
    import axoncl

    rows = []
    for kind, batch in configs:
        for precision in precisions:
            row = {"model": kind, "batch": batch, "precision": precision}
            for backend in ("numpy", "opencl"):
                xp = axoncl.get_backend(backend)
                low = PRECISIONS[precision]
                if low is not None and getattr(xp, low, None) is None:
                    row[backend] = {"skipped": f"the {backend} backend has no {low} dtype"}
                    print(f"{kind} {precision} {backend}: skipped, no {low}", flush=True)
                    continue
                # The previous runner's model and graph (reference cycles) must be gone before
                # this one's peak is taken: collect them first.
                runner = None  # noqa: F841 - dropped before the collection
                gc.collect()
                runner = AxonclRunner(kind, batch, backend, device, precision=precision)
                runner.run(2)  # kernel builds, pools, the scaler's first steps
                stats = getattr(xp, "memory_stats", None)
                if stats is not None:
                    xp.reset_peak_memory_stats(runner.device)
                times = [runner.run(args.steps) for _ in range(args.rounds)]
                peak = stats(runner.device)["allocated_bytes.all.peak"] if stats else None
                row[backend] = {"step_s": statistics.median(times), "peak_bytes": peak}
                memory = "" if peak is None else f", peak {peak / 2**20:.1f} MiB"
                print(
                    f"{kind} {precision} {backend}: {statistics.median(times) * 1e3:.1f} ms"
                    f"{memory}",
                    flush=True,
                )
            rows.append(row)
    return rows


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 7 rounds of 1 step")
    parser.add_argument("--device", default=None, help="OpenCL device spec (default: default)")
    parser.add_argument("--rounds", "--repeats", type=int, default=15, help="paired rounds")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per sample")
    parser.add_argument("--settle", type=float, default=0.05, help="untimed seconds per sample")
    parser.add_argument(
        "--sample-s", type=float, default=0.1, help="a sample times at least this many seconds"
    )
    parser.add_argument(
        "--models", "--model", default="mlp,cnn", help="mlp, cnn, resnet, transformer"
    )
    parser.add_argument("--batch", type=int, default=None, help="batch size for all models")
    parser.add_argument("--sweep", action="store_true", help="batch 32/128/512 and ResNet-8")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS), help="columns to run")
    parser.add_argument("--torch-device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="per-op OpenCL profile")
    parser.add_argument(
        "--precision", default=None, help="fp32, bf16, fp16 (comma list): axoncl step times"
    )
    parser.add_argument("--out", default=str(HERE / "results"), help="results folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.steps, args.settle, args.sample_s = 7, 1, 0.0, 0.0
    if args.sweep:
        configs = SWEEP
    else:
        kinds = iso.pick(parser, "--models", args.models, BATCH)
        configs = [(k, args.batch or BATCH[k]) for k in kinds]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.precision:
        precisions = iso.pick(parser, "--precision", args.precision, PRECISIONS)
        rows = precision_rows(configs, precisions, args.device, args)
        payload = {"benchmark": "train_step_precision", "steps": args.steps, "results": rows}
        payload["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        (out / "train_step_precision.json").write_text(json.dumps(payload, indent=2))
        print(f"wrote {out / 'train_step_precision.json'}")
        return 0
    if args.profile:
        steps = 2 if args.quick else args.steps
        reports = [profile(kind, batch, args.device, steps) for kind, batch in configs]
        (out / "train_step_profile.json").write_text(json.dumps(reports, indent=2))
        print(f"wrote {out / 'train_step_profile.json'}")
        return 0
    options = {
        "device": args.device,
        "torch_device": args.torch_device,
        "torch_threads": args.torch_threads,
    }
    names = iso.pick(parser, "--frameworks", args.frameworks, FRAMEWORKS)
    env = {"tinygrad": {"DEV": os.environ.get("DEV", "CL")}}
    workers = {n: iso.Worker(n, __file__, env=env.get(n)) for n in names}
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    payload = {
        "benchmark": "train_step",
        "date": started,
        "method": "one worker process per framework, paired rounds in rotating order, each "
        "sample after an idle pause (see benchmarks/_isolation.py); medians over rounds",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "options": options,
        "results": [],
    }
    name = "train_step_sweep" if args.sweep else "train_step"
    try:
        for kind, batch in configs:
            print(f"{kind} batch {batch}: setting up {', '.join(workers)}", flush=True)
            payload["results"].append(bench(kind, batch, workers, args, options))
            payload["load_average_1min"] = os.getloadavg()[0]
            # after every model, so a run cut short by a time limit keeps what it measured
            (out / f"{name}.json").write_text(json.dumps(payload, indent=2))
    finally:
        for worker in workers.values():
            worker.close()
    rows = payload["results"]
    print()
    print(markdown(rows))
    if any((r["other_load"] or 0) > 0.05 for r in rows):
        print(
            "\nwarning: other processes used more than 5% of the CPUs during some rounds "
            "(column 'other load'); the times are not trustworthy"
        )
    print(f"wrote {out / f'{name}.json'}")
    if args.sweep:
        title = f"one training step, float32, {started}; {rows[0]['frameworks'].get('opencl', '')}"
        plot_sweep(rows, out / f"{name}.png", title)
        print(f"wrote {out / f'{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
