"""``axoncl inspect``: trace a model's graph and write it as DOT, SVG, HTML and JSON."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..backends import get_backend, to_backend
from ..variable import Variable
from .page import to_html
from .render import to_dot, to_svg
from .snapshot import GraphSnapshot, record_activations, trace_backward

__all__ = ["cli_main"]

_FORMATS = ("dot", "svg", "html", "json", "png")


def _builtin_mlp(backend: str, seed: int) -> tuple[Variable, dict[Variable, str]]:
    """A 16 → 32 → 32 → 4 ReLU MLP with a cross-entropy loss on random data."""
    from .. import functions as F

    rng = np.random.default_rng(seed)
    xp = get_backend(backend)

    def param(*shape: int, scale: float) -> Variable:
        data = (rng.normal(size=shape) * scale).astype(np.float32)
        return Variable(to_backend(data, xp), requires_grad=True)

    sizes = [16, 32, 32, 4]
    names: dict[Variable, str] = {}
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        weight = param(n_in, n_out, scale=(2.0 / n_in) ** 0.5)
        bias = param(n_out, scale=0.0)
        names[weight] = f"fc{k}.weight"
        names[bias] = f"fc{k}.bias"
        layers.append((weight, bias))
    x = Variable(to_backend(rng.normal(size=(64, 16)).astype(np.float32), xp))
    target = to_backend(rng.integers(0, 4, size=64), xp)
    h = x
    for k, (weight, bias) in enumerate(layers):
        h = h @ weight + bias
        if k < len(layers) - 1:
            h = h.relu()
    return F.cross_entropy(h, target), names


def _load_script(spec: str) -> Callable[[], Any]:
    path, _, function = spec.rpartition(":")
    if not path or not function:
        raise ValueError(f"inspect: expected --script PATH.py:FUNCTION, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"inspect: script {path!r} does not exist")
    module_spec = importlib.util.spec_from_file_location(f"_axoncl_inspect_{file.stem}", file)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"inspect: cannot import {path!r}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    fn = getattr(module, function, None)
    if not callable(fn):
        raise ValueError(f"inspect: {path!r} has no function {function!r}")
    return fn


def _run_user(fn: Callable[[], Any]) -> tuple[Variable, Any]:
    result = fn()
    names = None
    if isinstance(result, tuple):
        if len(result) != 2:
            raise ValueError(
                "inspect: expected the function to return a Variable or "
                f"(Variable, names), got a tuple of {len(result)}"
            )
        result, names = result
    if not isinstance(result, Variable):
        raise ValueError(
            f"inspect: expected the function to return a Variable, got {type(result).__name__}"
        )
    return result, names


def _write(
    snapshot: GraphSnapshot, out: Path, formats: Sequence[str], engine: str, max_nodes: int
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out / ("gradient_flow.png" if fmt == "png" else f"graph.{fmt}")
        if fmt == "dot":
            path.write_text(to_dot(snapshot), encoding="utf-8")
        elif fmt == "svg":
            path.write_text(to_svg(snapshot, engine=engine, max_nodes=max_nodes), encoding="utf-8")
        elif fmt == "html":
            path.write_text(to_html(snapshot, engine=engine, max_nodes=max_nodes), encoding="utf-8")
        elif fmt == "json":
            path.write_text(json.dumps(snapshot.to_dict(), indent=1), encoding="utf-8")
        else:
            snapshot.gradient_flow_plot(str(path))
        written.append(path)
    return written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axoncl inspect",
        description="Trace a model's computation graph and write it as DOT, SVG, HTML and JSON, "
        "with a gradient-flow summary.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model", choices=["mlp"], default="mlp", help="built-in model to run (default: mlp)"
    )
    source.add_argument(
        "--script",
        metavar="PATH.py:FUNCTION",
        help="call FUNCTION() from PATH.py; it returns a loss Variable, or "
        "(loss, names) with names a {Variable: name} mapping or a module",
    )
    parser.add_argument("-o", "--out", default="axoncl-inspect", help="output folder")
    parser.add_argument(
        "--format",
        default="dot,svg,html,json",
        help=f"comma-separated, from {','.join(_FORMATS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--engine",
        choices=["auto", "python", "dot"],
        default="auto",
        help="SVG layout: Graphviz when present (auto), or built in",
    )
    parser.add_argument(
        "--max-nodes",
        type=int,
        default=400,
        help="collapse or cut larger graphs in SVG/HTML (default: %(default)s)",
    )
    parser.add_argument("--backend", default="numpy", help="backend for the built-in model")
    parser.add_argument("--seed", type=int, default=0, help="seed for the built-in model")
    return parser


def cli_main(argv: list[str]) -> int:
    """Entry point of ``axoncl inspect``; returns the exit status.

    Parameters
    ----------
    argv
        The arguments after ``axoncl inspect``.

    Returns
    -------
    int
        The exit status (0 on success).

    Raises
    ------
    ValueError
        When the model's loss does not require grad (nothing to trace).

    Examples
    --------
    >>> import contextlib, io, tempfile
    >>> with contextlib.redirect_stdout(io.StringIO()) as printed:
    ...     status = cli_main(["--out", tempfile.mkdtemp(), "--format", "dot,svg"])
    >>> status, printed.getvalue().startswith("GraphSnapshot(")
    (0, True)
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse already printed
        return int(exc.code or 0)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in _FORMATS]
    if unknown:
        print(
            f"axoncl inspect: unknown format(s) {unknown}; choose from {list(_FORMATS)}",
            file=sys.stderr,
        )
        return 2
    try:
        with record_activations(["relu"]):
            if args.script:
                loss, names = _run_user(_load_script(args.script))
            else:
                loss, names = _builtin_mlp(args.backend, args.seed)
        if not loss.requires_grad:
            raise ValueError("inspect: the loss does not require grad, so it has no graph")
        if loss.size == 1 and not any(
            node.grad is not None for node in trace_backward(loss, values=False).leaves()
        ):
            loss.backward(retain_graph=True)
        snapshot = trace_backward(loss, names)
        written = _write(snapshot, Path(args.out), formats, args.engine, args.max_nodes)
    except (ValueError, TypeError, ImportError, OSError) as exc:
        print(f"axoncl inspect: {exc}", file=sys.stderr)
        return 1
    print(repr(snapshot))
    print("ops: " + ", ".join(f"{op}×{n}" for op, n in snapshot.op_counts().items()))
    print(snapshot.gradient_flow_summary())
    for path in written:
        print(f"wrote {path}")
    return 0
