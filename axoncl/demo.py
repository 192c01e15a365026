"""``axoncl demo``: train a small CNN on scikit-learn's bundled digits, on OpenCL or numpy.

(``--model transformer`` trains a character-level transformer instead: see
``axoncl.demo_transformer``.)

The 1797 8×8 digit images ship with scikit-learn (no download). They are split 80/20,
stratified, with a fixed seed, so every run evaluates on the same held-out images. The model

    conv3×3(1→16, pad 1) ReLU maxpool2 → conv3×3(16→32, pad 1) ReLU maxpool2 → flatten
    → linear(128 → 10)

trains with Adam. At the end the demo prints the test accuracy, the time per epoch and the
device, and writes into ``--out``: the graph of one training step as DOT and SVG (through
``axoncl.inspect``), a loss curve (PNG), the trained weights (``.npz``) and a JSON summary.

During an epoch the host never waits for the device: each step's loss and logits stay on the
device and are read back once per epoch, when the host sums the losses and counts the right
predictions (so the device builds only the kernels of training itself).

``--precision bf16`` or ``fp16`` trains under ``axoncl.autocast`` (products in the low dtype,
losses and reductions in float32, float32 master weights); ``fp16`` adds dynamic loss scaling
(``axoncl.GradScaler``), whose overflow check is one read of the device per step. A backend
without the dtype stops the demo with a one-line error. On OpenCL the summary records the peak
bytes of the device's memory pool during training.

Started by ``mpiexec -n N``, the demo trains data-parallel (``axoncl.distributed``): every rank
draws the same global batches and takes every N-th sample of each; ``DistributedDataParallel``
averages the gradients. Each rank sums its samples' losses and weights the sum by N / (global
batch size), so the averaged gradient is the global batch's mean gradient, uneven last batch
included, and the per-step losses match the 1-process run. Only rank 0 prints and writes files.

Examples
--------
$ axoncl demo                       # the default OpenCL device (AXONCL_DEVICE honoured)
$ axoncl demo --device numpy --epochs 2
$ axoncl demo --device numpy --precision fp16
$ mpiexec -n 2 python -m axoncl demo   # two ranks, half of each global batch each
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import numpy as np

from . import distributed, nn, optim
from .autocast import autocast
from .backends import DeviceSpecError, backend_name, get_backend, to_backend, to_numpy
from .functions import cross_entropy
from .grad_mode import no_grad
from .grad_scaler import GradScaler

__all__ = [
    "DemoResult",
    "MissingExtraError",
    "PrecisionError",
    "build_model",
    "load_digits_split",
    "main",
    "resolve_device",
    "run",
]

DEFAULTS = {"epochs": 15, "batch_size": 32, "lr": 1e-2, "seed": 0}
DEFAULT_OUT = "axoncl-demo-output"
# --precision: the autocast dtype of each choice (None: full float32).
PRECISIONS = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}


class PrecisionError(TypeError):
    """The chosen ``--precision`` needs a dtype that the chosen backend lacks."""


class MissingExtraError(ImportError):
    """The demo needs a package that this installation lacks; the message names the extra
    (``pip install 'axoncl[train]'``) that brings it."""


DEFAULT_TRANSFORMER_OUT = "axoncl-demo-transformer"


@dataclass
class DemoResult:
    """What a demo run measured and wrote."""

    device: str
    test_accuracy: float
    train_losses: list[float] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    train_accuracies: list[float] = field(default_factory=list)
    test_accuracies: list[float] = field(default_factory=list)
    epoch_times: list[float] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    world_size: int = 1
    precision: str = "fp32"
    peak_memory_bytes: int | None = None  # the OpenCL pool's peak during training

    @property
    def time_per_epoch(self) -> float:
        return float(np.median(self.epoch_times)) if self.epoch_times else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["time_per_epoch"] = self.time_per_epoch
        return out


def build_model(kind: str = "cnn", generator: nn.Generator | None = None) -> nn.Module:
    """The demo's model: ``"cnn"`` (default) or ``"mlp"`` (64-128-10), for 1×8×8 inputs."""
    if kind == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 128, generator=generator),
            nn.ReLU(),
            nn.Linear(128, 10, generator=generator),
        )
    if kind != "cnn":
        raise ValueError(f"demo: expected model 'cnn' or 'mlp', got {kind!r}")
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1, generator=generator),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1, generator=generator),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10, generator=generator),
    )


def load_digits_split(seed: int = 0, test_size: float = 0.2) -> tuple[np.ndarray, ...]:
    """``(x_train, y_train, x_test, y_test)``: float32 images (N, 1, 8, 8) scaled to [0, 1] and
    int64 labels, split stratified with ``seed`` (the split does not depend on ``--seed``'s
    training randomness unless you pass it here)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise MissingExtraError(
            "demo: the digits data set comes with scikit-learn, which is not installed; "
            "pip install 'axoncl[train]'"
        ) from None

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    return x_tr, y_tr, x_te, y_te


def resolve_device(spec: str | None, notes: list[str] | None = None) -> tuple[Any, Any, str]:
    """``(namespace, device or None, description)`` for ``--device``.

    ``None`` or ``"default"``: ``AXONCL_DEVICE`` when set, else the default OpenCL device (a GPU
    if present, else the first CPU device such as PoCL); without pyopencl the default falls back
    to numpy and says so in ``notes``. ``"numpy"`` runs on numpy.
    """
    source = "--device"
    if spec in (None, "", "default"):
        source = "AXONCL_DEVICE"
        spec = os.environ.get("AXONCL_DEVICE", "").strip()
        if not spec:
            spec = "opencl"
            if notes is not None and not _importable("pyopencl"):
                notes.append(
                    "pyopencl is not installed, so the demo runs on numpy; "
                    "pip install 'axoncl[opencl]' for the OpenCL backend"
                )
                spec = "numpy"
    if spec.lower() == "numpy":
        return get_backend("numpy"), None, "numpy (host)"
    if not spec.lower().startswith("opencl"):
        raise DeviceSpecError(
            f"demo: expected {source} 'numpy', 'opencl', 'opencl:cpu', "
            f"'opencl:gpu' or 'opencl:P:D', got {spec!r}"
        )
    try:
        xp = get_backend("opencl")
    except ImportError as exc:
        raise MissingExtraError(
            f"demo: {source} {spec!r} needs pyopencl ({exc.__cause__ or exc}); "
            "pip install 'axoncl[opencl]', or run with --device numpy"
        ) from None
    device = xp.get_device(spec)
    caps = device.caps
    return xp, device, f"{device.id} {caps.name} ({caps.kind}, {caps.platform})"


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _to(host: np.ndarray, xp: Any, device: Any) -> Any:
    return to_backend(host, xp, device=device)


@dataclass(frozen=True)
class _Ranks:
    """This process's place among the demo's ranks: 0 of 1 unless mpiexec started several."""

    size: int = 1
    rank: int = 0

    @classmethod
    def join(cls) -> _Ranks:
        if distributed.launcher_world_size() <= 1:
            return cls()  # the 1-process demo never touches MPI
        distributed.init()
        return cls(distributed.get_world_size(), distributed.get_rank())

    def share(self, indices: np.ndarray) -> np.ndarray:
        """This rank's part of a global batch (all of it with one rank)."""
        return indices if self.size == 1 else distributed.shard(indices, self.rank, self.size)

    def total(self, value: Any) -> Any:
        """``value`` summed over the ranks."""
        return value if self.size == 1 else distributed.all_reduce(value)

    def mean(self, value: Any) -> Any:
        """``value`` averaged over the ranks."""
        return value if self.size == 1 else distributed.all_reduce(value, op="mean")


def _evaluate(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    xp: Any,
    device: Any,
    ranks: _Ranks | None = None,
    batch_size: int = 512,
    precision: str = "fp32",
) -> float:
    """Accuracy on ``(x, y)``; with several ranks each scores its share."""
    ranks = _Ranks() if ranks is None else ranks
    model.eval()
    mine = ranks.share(np.arange(len(x)))
    correct = 0
    with no_grad(), _autocast(precision):
        for start in range(0, len(mine), batch_size):
            part = mine[start : start + batch_size]
            correct += _correct(to_numpy(model(_to(x[part], xp, device)).data), y[part])
    model.train()
    return float(ranks.total(np.array(correct, dtype=np.int64))) / len(x)


def _batch_loss(logits: Any, labels: Any, global_count: int, ranks: _Ranks) -> Any:
    """The mean cross-entropy of the batch, or, with W ranks, this rank's summed losses times
    W / (global batch size): DDP's average of those is the global batch's mean gradient, also
    when the last batch splits unevenly."""
    if ranks.size == 1:
        return cross_entropy(logits, labels)
    return cross_entropy(logits, labels, reduction="sum") * (ranks.size / global_count)


def _autocast(precision: str) -> autocast:
    """The autocast region of ``precision`` (a disabled one for fp32)."""
    low = PRECISIONS[precision]
    return autocast(dtype=low or "float16", enabled=low is not None)


def _check_precision(precision: str, xp: Any, description: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"demo: expected --precision in {tuple(PRECISIONS)}, got {precision!r}")
    low = PRECISIONS[precision]
    if low is not None and getattr(xp, low, None) is None:
        raise PrecisionError(
            f"demo: --precision {precision} needs {low}, which the {backend_name(xp)} backend "
            f"({description}) lacks; use --precision fp32"
            + (", or --device numpy (it has float16)" if low == "float16" else "")
        )


def _correct(logits: np.ndarray, labels: np.ndarray) -> int:
    """Number of right predictions (host arrays)."""
    return int(np.count_nonzero(np.argmax(logits, axis=1) == labels))


def run(
    device: str | None = None,
    epochs: int = DEFAULTS["epochs"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    seed: int = DEFAULTS["seed"],
    out: str | None = DEFAULT_OUT,
    model: str = "cnn",
    progress: bool = True,
    stream: TextIO | None = None,
    precision: str = "fp32",
) -> DemoResult:
    """Train the demo model and write its artefacts; see the module docstring.

    Parameters
    ----------
    device
        ``None``/``"default"``, ``"numpy"``, ``"opencl"``, ``"opencl:cpu"``, ``"opencl:P:D"``.
    out
        Output folder (created), or ``None`` to write nothing.
    progress
        Show a tqdm progress bar (on ``stream``).
    precision
        ``"fp32"``, ``"bf16"`` (autocast to bfloat16) or ``"fp16"`` (autocast to float16 with
        loss scaling); :class:`PrecisionError` if the backend lacks the dtype.
    """
    stream = sys.stdout if stream is None else stream
    if epochs < 1 or batch_size < 1 or not (math.isfinite(lr) and lr > 0):
        raise ValueError(
            f"demo: expected epochs >= 1, batch_size >= 1 and lr > 0, got "
            f"{epochs}, {batch_size}, {lr}"
        )
    ranks = _Ranks.join()
    if ranks.size > 1:
        device = distributed.select_device(device)
        if ranks.rank != 0:  # only rank 0 prints and writes
            stream, progress, out = io.StringIO(), False, None
    x_tr, y_tr, x_te, y_te = load_digits_split()  # first: without scikit-learn, say only that
    fallback: list[str] = []
    xp, dev, description = resolve_device(device, fallback)
    for note in fallback:
        print(f"note: {note}", file=stream)
    _check_precision(precision, xp, description)
    nn.manual_seed(seed)
    net = build_model(model)
    if dev is not None:
        net.to(xp, device=dev)
    # With several ranks, DDP copies rank 0's weights to all and averages the gradients.
    trained = distributed.DistributedDataParallel(net) if ranks.size > 1 else net
    opt = optim.Adam(net.parameters(), lr=lr)
    # Cosine annealing to zero lets the last epochs settle instead of bouncing around.
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    shuffle = np.random.Generator(np.random.PCG64(seed + 1))
    scaler = GradScaler(enabled=precision == "fp16")
    result = DemoResult(
        device=description,
        test_accuracy=float("nan"),
        world_size=ranks.size,
        precision=precision,
    )
    memory_stats = getattr(xp, "memory_stats", None)
    if memory_stats is not None:
        xp.reset_peak_memory_stats(dev)
    print(
        f"axoncl demo: {model} on digits ({len(x_tr)} train / {len(x_te)} test), "
        f"device {description}, precision {precision}",
        file=stream,
    )
    if ranks.size > 1:
        print(
            f"data-parallel over {ranks.size} ranks: global batch {batch_size}, about "
            f"{-(-batch_size // ranks.size)} samples per rank",
            file=stream,
        )

    n_batches = (len(x_tr) + batch_size - 1) // batch_size
    bar = _progress(epochs * n_batches, progress, stream)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = shuffle.permutation(len(x_tr))
        step_losses, step_logits, step_labels, step_sizes = [], [], [], []
        for b in range(n_batches):
            batch = order[b * batch_size : (b + 1) * batch_size]
            idx = ranks.share(batch)
            xb = _to(x_tr[idx], xp, dev)
            yb = _to(y_tr[idx], xp, dev)
            with _autocast(precision):
                logits = trained(xb)
                loss = _batch_loss(logits, yb, len(batch), ranks)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)  # opt.step(), unless fp16 gradients overflowed
            scaler.update()
            step_losses.append(loss.data)
            step_logits.append(logits.data)
            step_labels.append(y_tr[idx])
            step_sizes.append(len(batch))
            if bar is not None:
                bar.update(1)
        # The host reads of the epoch: they also wait for the queued work, so the time is the
        # device's, not just the enqueueing. A step's loss averaged over the ranks is the global
        # batch's mean loss.
        schedule.step()
        losses = to_numpy(ranks.mean(xp.stack(step_losses))).astype(np.float64)
        train_loss = float(losses @ np.array(step_sizes, dtype=np.float64)) / len(x_tr)
        hits = sum(_correct(to_numpy(z), t) for z, t in zip(step_logits, step_labels, strict=True))
        train_acc = float(ranks.total(np.array(hits, dtype=np.int64))) / len(x_tr)
        result.step_losses += losses.tolist()
        elapsed = time.perf_counter() - start
        test_acc = _evaluate(net, x_te, y_te, xp, dev, ranks, precision=precision)
        result.train_losses.append(train_loss)
        result.train_accuracies.append(train_acc)
        result.test_accuracies.append(test_acc)
        result.epoch_times.append(elapsed)
        line = (
            f"epoch {epoch:2d}/{epochs}  loss {train_loss:.4f}  train acc {train_acc:.4f}  "
            f"test acc {test_acc:.4f}  {elapsed:.2f}s"
        )
        if bar is not None:
            bar.set_postfix(loss=f"{train_loss:.4f}", acc=f"{test_acc:.4f}")
            bar.write(line, file=stream)
        else:
            print(line, file=stream)
    if bar is not None:
        bar.close()
    result.test_accuracy = result.test_accuracies[-1]
    if memory_stats is not None:
        result.peak_memory_bytes = memory_stats(dev)["allocated_bytes.all.peak"]

    if out is not None:
        os.makedirs(out, exist_ok=True)
        _write_graph(net, x_tr[:batch_size], y_tr[:batch_size], xp, dev, out, result)
        opt.zero_grad()
        try:
            result.files["loss_curve"] = _plot(result, os.path.join(out, "loss_curve.png"))
        except ImportError:
            result.notes.append(
                "loss curve not written: matplotlib is not installed (pip install 'axoncl[train]')"
            )
        result.files["weights"] = nn.save(net, os.path.join(out, "weights.npz"))
        summary = os.path.join(out, "summary.json")
        result.files["summary"] = summary
        with open(summary, "w") as f:
            json.dump(
                {
                    **result.to_dict(),
                    "model": model,
                    "epochs": epochs,
                    "batch_size": batch_size,
                    "lr": lr,
                    "seed": seed,
                },
                f,
                indent=2,
            )

    print(f"test accuracy: {result.test_accuracy:.4f}", file=stream)
    print(f"time per epoch: {result.time_per_epoch:.2f} s (median of {epochs})", file=stream)
    print(f"device: {description}", file=stream)
    if result.peak_memory_bytes is not None:
        print(f"peak device memory: {result.peak_memory_bytes / 2**20:.1f} MiB", file=stream)
    for note in result.notes:
        print(f"note: {note}", file=stream)
    if result.files:
        print("wrote:", file=stream)
        for kind, path in result.files.items():
            print(f"  {kind:<11} {path}", file=stream)
    return result


def _progress(total: int, enabled: bool, stream: TextIO) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, file=stream, unit="batch", leave=False, dynamic_ncols=True)


def _write_graph(
    net: nn.Module, x: np.ndarray, y: np.ndarray, xp: Any, dev: Any, out: str, result: DemoResult
) -> None:
    """Record one training step's graph, with gradient statistics, as DOT and SVG."""
    try:
        from . import inspect as inspector

        with inspector.record_modules():  # so the drawing groups ops by layer
            loss = cross_entropy(net(_to(x, xp, dev)), _to(y, xp, dev))
        loss.backward()
        snapshot = inspector.trace_backward(loss, names=net)
        to_dot = getattr(inspector, "to_dot", None) or type(snapshot).to_dot
        to_svg = getattr(inspector, "to_svg", None) or type(snapshot).to_svg
        texts = {"graph_dot": to_dot(snapshot), "graph_svg": to_svg(snapshot)}
    except (ImportError, AttributeError) as exc:
        # The inspector is optional for training; say why the graph is missing.
        result.notes.append(f"graph not written: axoncl.inspect is incomplete ({exc})")
        return
    for kind, text in texts.items():
        path = os.path.join(out, "graph." + kind.split("_")[1])
        with open(path, "w") as f:
            f.write(text)
        result.files[kind] = path


def _plot(result: DemoResult, path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(result.train_losses) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    (loss_line,) = ax.plot(epochs, result.train_losses, marker="o", label="train loss")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("train cross-entropy")
    ax2 = ax.twinx()
    (acc_line,) = ax2.plot(
        epochs, result.test_accuracies, marker="s", color="tab:green", label="test accuracy"
    )
    ax2.set_ylabel("test accuracy")
    ax.set_title(f"axoncl demo: {result.device.split(' (')[0]}", fontsize=9)
    ax.legend(handles=[loss_line, acc_line], loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _positive(kind: type) -> Any:
    """An argparse type: a finite number of ``kind`` above zero (``--lr nan`` is refused)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's command-line flags (shared with ``axoncl demo``)."""
    parser.add_argument(
        "--device",
        default=None,
        help="numpy, opencl, opencl:cpu, opencl:gpu or opencl:P:D "
        "(default: AXONCL_DEVICE, else a GPU, else the first CPU device)",
    )
    parser.add_argument(
        "--model",
        choices=("cnn", "mlp", "transformer"),
        default="cnn",
        help="cnn (default) or mlp on the digits; transformer: a character-level transformer "
        "on the Python standard library's source (see axoncl.demo_transformer)",
    )
    parser.add_argument(
        "--epochs", type=_positive(int), default=DEFAULTS["epochs"], help="cnn, mlp: default 15"
    )
    parser.add_argument(
        "--batch-size", type=_positive(int), default=None, help="default 32 for every model"
    )
    parser.add_argument("--lr", type=_positive(float), default=None, help="default 1e-2")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument(
        "--precision",
        choices=tuple(PRECISIONS),
        default="fp32",
        help="fp32, or mixed precision: bf16 (autocast) or fp16 (autocast and loss scaling)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help=f"output folder (default {DEFAULT_OUT}, transformer: {DEFAULT_TRANSFORMER_OUT})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    text = parser.add_argument_group("transformer only")
    text.add_argument(
        "--quick",
        action="store_true",
        help="300 steps instead of 3000 (about 30 s instead of 5 minutes)",
    )
    text.add_argument("--steps", type=_positive(int), default=None, help="training steps")
    text.add_argument("--resume", default=None, help="continue from this checkpoint.npz")
    text.add_argument(
        "--stop-after", type=_positive(int), default=None, help="stop after this step"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="axoncl demo", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


def run_from_args(args: argparse.Namespace) -> int:
    if args.model == "transformer":
        from . import demo_transformer

        if args.precision != "fp32":
            print(
                "axoncl demo: error: --precision applies to --model cnn and mlp only "
                "(the transformer demo trains in float32)",
                file=sys.stderr,
            )
            return 2

        demo_transformer.run(
            device=args.device,
            quick=args.quick,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            out=args.out or DEFAULT_TRANSFORMER_OUT,
            resume=args.resume,
            stop_after=args.stop_after,
            progress=not args.no_progress,
        )
        return 0
    text_only = ("quick", "steps", "resume", "stop_after")
    if given := [f"--{n.replace('_', '-')}" for n in text_only if getattr(args, n, None)]:
        print(
            f"axoncl demo: error: {', '.join(given)} apply to --model transformer only",
            file=sys.stderr,
        )
        return 2
    run(
        device=args.device,
        epochs=args.epochs,
        batch_size=args.batch_size or DEFAULTS["batch_size"],
        lr=args.lr or DEFAULTS["lr"],
        seed=args.seed,
        out=args.out or DEFAULT_OUT,
        model=args.model,
        progress=not args.no_progress,
        precision=args.precision,
    )
    return 0
