"""``axoncl demo --model transformer``: a small character-level transformer trained on the Python
standard library's own source code.

The corpus is the ``.py`` files at the top level of ``sysconfig.get_paths()["stdlib"]``, in
sorted order, joined and cut at a fixed byte budget (2 MB); the first 90 % is the training text
and the rest the validation text. Tokens are bytes: the vocabulary is the bytes present in the
training text plus one id for any other byte. The corpus therefore depends on the Python
version, and the validation loss a run reaches does too (a little): bounds on it are loose.

The model is a decoder-only (GPT-style) transformer:

    token embedding + learned position embedding
    → N pre-LN blocks: x + attn(LN(x)), x + MLP(LN(x)), with causal multi-head self-attention
      (``nn.functional.scaled_dot_product_attention(..., is_causal=True)``) and a GELU MLP 4× wide
    → LayerNorm → linear head to the vocabulary

It trains with AdamW, a linear warm-up then a cosine decay of the learning rate (per step) and
gradient clipping (``nn.utils.clip_grad_norm_``) on random windows of the training text; the
windows of step ``k`` depend only on the seed and ``k``, so a run resumed from a checkpoint
sees the same batches as an uninterrupted one. Every ``eval_every`` steps it prints the mean
training loss and the validation loss on fixed windows, in nats and in bits per character
(loss / ln 2; a character is a byte here). At the end it prints a sample generated from a fixed
prompt with a fixed seed and writes into ``--out``: the loss curve (``loss_curve.json``, and
``loss_curve.png`` when matplotlib is installed), a checkpoint (``checkpoint.npz``: model,
optimizer, scheduler and step, through ``nn.save``) that ``--resume`` continues from, and
``summary.json``.

Between evaluations the host never waits for the device: losses stay on the device and are
read in one go at the next evaluation.

Examples
--------
$ axoncl demo --model transformer --quick           # about 30 s on two CPU cores (PoCL)
$ axoncl demo --model transformer                   # about 5 minutes
$ axoncl demo --model transformer --stop-after 200  # ... then continue:
$ axoncl demo --model transformer --resume axoncl-demo-transformer/checkpoint.npz
"""

from __future__ import annotations

import glob
import json
import math
import os
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import numpy as np

from . import distributed, nn, optim
from .backends import to_backend, to_numpy
from .demo import DEFAULT_TRANSFORMER_OUT as DEFAULT_OUT
from .demo import _progress, resolve_device
from .functions import cross_entropy
from .grad_mode import no_grad

__all__ = [
    "QUICK",
    "STANDARD",
    "Corpus",
    "TextConfig",
    "TextResult",
    "build_transformer",
    "generate",
    "load_corpus",
    "run",
]


@dataclass(frozen=True)
class TextConfig:
    """The model's shape and the training schedule (counted in steps, so a run is the same
    on every machine; only its duration differs)."""

    steps: int = 3000
    batch_size: int = 32
    context: int = 64
    width: int = 64
    layers: int = 2
    heads: int = 4
    lr: float = 1e-2
    min_lr_ratio: float = 0.1
    warmup: int = 150
    weight_decay: float = 0.1
    clip: float = 1.0
    eval_every: int = 250
    eval_batches: int = 8
    sample_chars: int = 240
    corpus_bytes: int = 2_000_000
    seed: int = 0


STANDARD = TextConfig()
QUICK = TextConfig(steps=300, warmup=30, eval_every=50, eval_batches=4, sample_chars=120)


@dataclass
class TextResult:
    """What a run measured and wrote."""

    device: str
    config: dict[str, Any]
    steps: list[int] = field(default_factory=list)
    train_losses: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    time_per_step: float = float("nan")
    sample: str = ""
    files: dict[str, str] = field(default_factory=dict)
    start_step: int = 0

    @property
    def val_bpc(self) -> float:
        """The last validation loss in bits per character."""
        return self.val_losses[-1] / math.log(2) if self.val_losses else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["val_bpc"] = self.val_bpc
        return out


# ---------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Corpus:
    """Token ids of the training and validation text, and the byte of each id (id 0 stands
    for every byte that the training text lacks)."""

    train: np.ndarray
    val: np.ndarray
    vocab: tuple[int, ...]
    files: int

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + 1

    def decode(self, ids: Any) -> str:
        data = bytes(self.vocab[i - 1] if i > 0 else ord("?") for i in ids)
        return data.decode("utf-8", errors="replace")

    def encode(self, text: str) -> np.ndarray:
        table = self._table()
        return table[np.frombuffer(text.encode("utf-8"), dtype=np.uint8)]

    def _table(self) -> np.ndarray:
        table = np.zeros(256, dtype=np.int64)
        table[list(self.vocab)] = np.arange(1, len(self.vocab) + 1)
        return table


def load_corpus(budget: int = STANDARD.corpus_bytes, val_fraction: float = 0.1) -> Corpus:
    """The standard library's top-level ``.py`` files, sorted by name, joined and cut at
    ``budget`` bytes; the last ``val_fraction`` is the validation text."""
    root = sysconfig.get_paths()["stdlib"]
    parts, size = [], 0
    names = sorted(glob.glob(os.path.join(root, "*.py")))
    for name in names:
        with open(name, "rb") as f:
            parts.append(f.read(budget - size))
        size += len(parts[-1])
        if size >= budget:
            break
    if size < 10_000:
        raise RuntimeError(f"demo: found only {size} bytes of Python source under {root!r}")
    text = np.frombuffer(b"".join(parts), dtype=np.uint8)
    split = int(len(text) * (1.0 - val_fraction))
    vocab = tuple(int(b) for b in np.unique(text[:split]))
    corpus = Corpus(np.empty(0, np.int64), np.empty(0, np.int64), vocab, len(parts))
    ids = corpus._table()[text]
    return Corpus(ids[:split], ids[split:], vocab, len(parts))


def _windows(ids: np.ndarray, starts: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``ids[s : s + context]`` and next-token targets, one row per start."""
    rows = starts[:, None] + np.arange(context + 1)[None, :]
    chunk = ids[rows]
    return chunk[:, :-1], chunk[:, 1:]


def _train_batch(corpus: Corpus, cfg: TextConfig, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Step ``step``'s batch: random windows drawn from a generator seeded by (seed, step)."""
    rng = np.random.default_rng([cfg.seed, step])
    starts = rng.integers(0, len(corpus.train) - cfg.context - 1, cfg.batch_size)
    return _windows(corpus.train, starts, cfg.context)


def _val_batches(corpus: Corpus, cfg: TextConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed validation windows, spread evenly over the validation text."""
    count = cfg.eval_batches * cfg.batch_size
    starts = np.linspace(0, len(corpus.val) - cfg.context - 1, count).astype(np.int64)
    return [
        _windows(corpus.val, starts[i : i + cfg.batch_size], cfg.context)
        for i in range(0, count, cfg.batch_size)
    ]


# ---------------------------------------------------------------- the model


def build_transformer(
    vocab_size: int,
    context: int = STANDARD.context,
    width: int = STANDARD.width,
    layers: int = STANDARD.layers,
    heads: int = STANDARD.heads,
    nn: Any = nn,
) -> Any:
    """The demo's decoder-only transformer, from the layers of ``nn``.

    Only names that ``axoncl.nn`` shares with ``torch.nn`` are used (``Module``, ``Linear``,
    ``Embedding``, ``LayerNorm``, ``GELU``, ``Sequential``, ``ModuleList`` and
    ``functional.scaled_dot_product_attention``), so passing ``torch.nn`` builds the same model
    with the same parameter names in PyTorch (the benchmark does). Input: token ids (B, T) with
    T <= ``context``; output: logits (B, T, ``vocab_size``).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.demo_transformer import build_transformer
    >>> model = build_transformer(vocab_size=10, context=8, width=16, layers=1, heads=2)
    >>> model(np.zeros((3, 5), dtype=np.int64)).shape
    (3, 5, 10)
    """
    attention = nn.functional.scaled_dot_product_attention

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)

        def forward(self, x: Any) -> Any:
            batch, length, _ = x.shape
            qkv = self.qkv(x).reshape((batch, length, 3, self.heads, width // self.heads))
            qkv = qkv.permute(2, 0, 3, 1, 4)  # (3, B, H, T, D)
            y = attention(qkv[0], qkv[1], qkv[2], is_causal=True)
            return self.proj(y.transpose(1, 2).reshape((batch, length, width)))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(width)
            self.attn = CausalSelfAttention()
            self.ln2 = nn.LayerNorm(width)
            self.mlp = nn.Sequential(
                nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
            )

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class CharTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.context = context
            self.tok = nn.Embedding(vocab_size, width)
            self.pos = nn.Embedding(context, width)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab_size, bias=False)

        def forward(self, ids: Any) -> Any:
            x = self.tok(ids) + self.pos.weight[: ids.shape[1]]
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    if width % heads:
        raise ValueError(f"demo: width {width} is not divisible by heads {heads}")
    return CharTransformer()


def _schedule(cfg: TextConfig):
    """The learning-rate factor at step ``s``: linear warm-up to 1, then cosine down to
    ``min_lr_ratio`` at the last step."""

    def factor(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        done = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
        return cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * done))

    return factor


def generate(
    model: Any,
    corpus: Corpus,
    prompt: str,
    count: int,
    xp: Any,
    device: Any,
    temperature: float = 0.8,
    seed: int = 0,
) -> str:
    """``prompt`` followed by ``count`` sampled characters (softmax of the last logits over
    ``temperature``, drawn by a NumPy generator seeded with ``seed``; 0 means greedy)."""
    rng = np.random.default_rng(seed)
    ids = list(corpus.encode(prompt))
    model.eval()
    with no_grad():
        for _ in range(count):
            window = np.asarray(ids[-model.context :], dtype=np.int64)[None, :]
            logits = model(to_backend(window, xp, device=device))
            last = np.asarray(to_numpy(logits.data[0, -1]), dtype=np.float64)
            if temperature <= 0:
                ids.append(int(np.argmax(last)))
                continue
            z = last / temperature
            p = np.exp(z - z.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return corpus.decode(ids)


# ---------------------------------------------------------------- training


def _evaluate(model: Any, batches: list, xp: Any, device: Any) -> float:
    """The mean validation cross-entropy (nats per character) over the fixed windows."""
    model.eval()
    total = None
    with no_grad():
        for x, y in batches:
            logits = model(to_backend(x, xp, device=device))
            loss = cross_entropy(
                logits.reshape((-1, logits.shape[-1])), to_backend(y.reshape(-1), xp, device=device)
            )
            total = loss.data if total is None else total + loss.data
    model.train()
    return float(to_numpy(total)) / len(batches)


def _make_training(corpus: Corpus, cfg: TextConfig, xp: Any, device: Any) -> tuple[Any, Any, Any]:
    nn.manual_seed(cfg.seed)
    model = build_transformer(corpus.vocab_size, cfg.context, cfg.width, cfg.layers, cfg.heads)
    if device is not None:
        model.to(xp, device=device)
    opt = optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = optim.lr_scheduler.LambdaLR(opt, _schedule(cfg))
    return model, opt, sched


def run(
    device: str | None = None,
    quick: bool = False,
    steps: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int | None = None,
    out: str | None = DEFAULT_OUT,
    resume: str | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
    config: TextConfig | None = None,
) -> TextResult:
    """Train the character-level transformer; see the module docstring.

    Parameters
    ----------
    device
        ``None``/``"default"``, ``"numpy"``, ``"opencl"``, ``"opencl:cpu"``, ``"opencl:P:D"``.
    quick
        The short schedule (:data:`QUICK`, 300 steps) instead of :data:`STANDARD` (3000).
    steps, batch_size, lr, seed
        Override the schedule's values.
    out
        Output folder (created), or ``None`` to write nothing.
    resume
        A ``checkpoint.npz`` to continue from (same flags as the run that wrote it).
    stop_after
        Stop after this step, as if interrupted (the checkpoint is written).
    config
        A whole :class:`TextConfig` (the flags above then override it).
    """
    if distributed.launcher_world_size() > 1:
        raise RuntimeError(
            "demo: --model transformer runs in one process; start it without mpiexec"
        )
    stream = sys.stdout if stream is None else stream
    cfg = config or (QUICK if quick else STANDARD)
    overrides = {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed}
    cfg = TextConfig(**{**asdict(cfg), **{k: v for k, v in overrides.items() if v is not None}})
    if cfg.steps < 1 or cfg.batch_size < 1 or not cfg.lr > 0:
        raise ValueError(f"demo: expected steps >= 1, batch_size >= 1 and lr > 0, got {cfg}")
    xp, dev, description = resolve_device(device)
    corpus = load_corpus(cfg.corpus_bytes)
    model, opt, sched = _make_training(corpus, cfg, xp, dev)
    result = TextResult(device=description, config=asdict(cfg))
    start = 0
    if resume is not None:
        start = _load_checkpoint(resume, model, opt, sched, corpus, cfg)
        result.start_step = start
    params = sum(int(np.prod(p.shape)) for p in model.parameters())
    print(
        f"axoncl demo: transformer ({cfg.layers} blocks, width {cfg.width}, {cfg.heads} heads, "
        f"context {cfg.context}, {params:,} parameters) on {corpus.files} stdlib files "
        f"({len(corpus.train):,} train / {len(corpus.val):,} val characters, vocabulary "
        f"{corpus.vocab_size}), device {description}",
        file=stream,
    )
    if start:
        print(f"resumed from {resume} at step {start}", file=stream)
    val_batches = _val_batches(corpus, cfg)
    last = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    bar = _progress(last - start, progress, stream)
    pending: list[Any] = []
    pending_steps: list[int] = []
    train_time, timed_steps = 0.0, 0
    clock = time.perf_counter()
    for step in range(start, last):
        x, y = _train_batch(corpus, cfg, step)
        logits = model(to_backend(x, xp, device=dev))
        loss = cross_entropy(
            logits.reshape((-1, corpus.vocab_size)), to_backend(y.reshape(-1), xp, device=dev)
        )
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        sched.step()
        pending.append(loss.data)
        pending_steps.append(step + 1)
        if bar is not None:
            bar.update(1)
        done = step + 1
        if done % cfg.eval_every and done != last:
            continue
        # The one host read since the last evaluation; it also waits for the queued steps.
        losses = to_numpy(xp.stack(pending)).tolist()
        train_time += time.perf_counter() - clock
        timed_steps += len(pending)
        val = _evaluate(model, val_batches, xp, dev)
        result.steps += pending_steps
        result.train_losses += [float(v) for v in losses]
        result.eval_steps.append(done)
        result.val_losses.append(val)
        pending, pending_steps = [], []
        line = (
            f"step {done:5d}/{cfg.steps}  train loss {np.mean(losses):.4f}  val loss {val:.4f}  "
            f"val bpc {val / math.log(2):.3f}  lr {sched.get_last_lr()[0]:.2e}  "
            f"{train_time / timed_steps * 1e3:.0f} ms/step"
        )
        if bar is not None:
            bar.set_postfix(val_bpc=f"{val / math.log(2):.3f}")
            bar.write(line, file=stream)
        else:
            print(line, file=stream)
        clock = time.perf_counter()
    if bar is not None:
        bar.close()
    result.time_per_step = train_time / timed_steps if timed_steps else float("nan")
    if last == cfg.steps:
        result.sample = generate(model, corpus, "def ", cfg.sample_chars, xp, dev, seed=cfg.seed)
    if out is not None:
        os.makedirs(out, exist_ok=True)
        result.files["checkpoint"] = nn.save(
            {
                "model": model,
                "optimizer": opt,
                "scheduler": sched,
                "step": last,
                "vocab": list(corpus.vocab),
                "config": asdict(cfg),
            },
            os.path.join(out, "checkpoint.npz"),
        )
        result.files.update(_write_curves(result, out))

    if result.val_losses:
        first, final = result.val_losses[0], result.val_losses[-1]
        print(
            f"validation loss {first:.4f} -> {final:.4f} nats/char "
            f"({first / math.log(2):.3f} -> {result.val_bpc:.3f} bits per character)",
            file=stream,
        )
    print(f"time per step: {result.time_per_step * 1e3:.1f} ms", file=stream)
    print(f"device: {description}", file=stream)
    if result.sample:
        print("sample (prompt 'def ', temperature 0.8):", file=stream)
        print(result.sample, file=stream)
    if result.files:
        print("wrote:", file=stream)
        for kind, path in result.files.items():
            print(f"  {kind:<11} {path}", file=stream)
    return result


def _load_checkpoint(
    path: str, model: Any, opt: Any, sched: Any, corpus: Corpus, cfg: TextConfig
) -> int:
    state = nn.load(path)
    saved = state["config"]
    if list(state["vocab"]) != list(corpus.vocab) or saved != asdict(cfg):
        raise ValueError(
            f"demo: {path!r} was written with another corpus or other settings "
            f"({saved}); resume with the flags of the run that wrote it"
        )
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    return int(state["step"])


def _write_curves(result: TextResult, out: str) -> dict[str, str]:
    files = {}
    summary = os.path.join(out, "summary.json")
    with open(summary, "w") as f:
        json.dump(result.to_dict(), f, indent=2)
    curve = os.path.join(out, "loss_curve.json")
    with open(curve, "w") as f:
        json.dump(
            {
                "steps": result.steps,
                "train_loss": result.train_losses,
                "eval_steps": result.eval_steps,
                "val_loss": result.val_losses,
            },
            f,
        )
    files["loss_json"] = curve
    try:
        import matplotlib
    except ImportError:
        files["summary"] = summary
        return files
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.steps, result.train_losses, lw=0.6, alpha=0.6, label="train (per step)")
    ax.plot(result.eval_steps, result.val_losses, marker="o", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per character)")
    bits = ax.secondary_yaxis(
        "right", functions=(lambda n: n / math.log(2), lambda b: b * math.log(2))
    )
    bits.set_ylabel("bits per character")
    ax.set_title(f"axoncl demo transformer: {result.device.split(' (')[0]}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    png = os.path.join(out, "loss_curve.png")
    fig.savefig(png, dpi=100)
    plt.close(fig)
    files["loss_curve"] = png
    files["summary"] = summary
    return files
