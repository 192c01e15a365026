"""Gradient-flow health: per-parameter gradient norms, and flags for vanishing, exploding,
non-finite gradients and dead ReLUs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .snapshot import GraphSnapshot, NodeInfo

__all__ = ["GradientFlowReport", "ParameterFlow", "gradient_flow_plot", "gradient_flow_summary"]

VANISHING = "vanishing"
EXPLODING = "exploding"
NONFINITE = "nan/inf"
DEAD_RELU = "dead-relu"
NO_GRAD = "no-grad"

_RELU_OPS = frozenset({"relu"})


@dataclass(frozen=True)
class ParameterFlow:
    """Gradient health of one parameter (or leaf).

    ``ratio`` is ``grad_norm / weight_norm`` (``grad_norm`` alone for an all-zero weight, such as
    a freshly zeroed bias): the relative size of one plain SGD step at learning rate 1.

    Parameters
    ----------
    name, node_id, layer, shape
        The parameter's name, its node, its layer (the name before the last dot), its shape.
    grad_norm, weight_norm, ratio, max_abs
        Norms of the gradient and the weight, their ratio, the largest gradient magnitude.
    nan, inf
        Non-finite gradient entries.
    flags
        What was flagged (``"vanishing"``, ``"exploding"``, ``"nan"``, …).

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import gradient_flow_summary, trace_backward
    >>> w = axoncl.Variable(np.array([[1.0, -2.0]]), requires_grad=True, name="w")
    >>> loss = (w * 3.0).relu().sum()
    >>> loss.backward()
    >>> flow = gradient_flow_summary(trace_backward(loss)).parameters[0]
    >>> flow.name, flow.grad_norm, round(flow.ratio, 4), flow.flags
    ('w', 3.0, 1.3416, ())
    """

    name: str
    node_id: int
    layer: str
    shape: tuple[int, ...]
    grad_norm: float
    weight_norm: float
    ratio: float
    max_abs: float
    nan: int
    inf: int
    flags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "node_id": self.node_id,
            "layer": self.layer,
            "shape": list(self.shape),
            "grad_norm": _finite(self.grad_norm),
            "weight_norm": _finite(self.weight_norm),
            "ratio": _finite(self.ratio),
            "max_abs": _finite(self.max_abs),
            "nan": self.nan,
            "inf": self.inf,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class ActivationFlow:
    """Zero fraction of one ReLU output, when its value statistics were recorded."""

    node_id: int
    op: str
    shape: tuple[int, ...]
    zero_fraction: float
    flags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "op": self.op,
            "shape": list(self.shape),
            "zero_fraction": self.zero_fraction,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class GradientFlowReport:
    """The result of :func:`gradient_flow_summary`: readable with ``str()``, data otherwise.

    Attributes
    ----------
    parameters
        One :class:`ParameterFlow` per parameter, in graph order (inputs first).
    layers
        ``{layer: combined gradient norm}``, a layer being the name before its last dot
        (``"fc1.weight"`` → ``"fc1"``).
    activations
        One :class:`ActivationFlow` per ReLU whose output statistics are known.
    flags
        ``(what, where)`` pairs for everything flagged; empty when healthy.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import gradient_flow_summary, trace_backward
    >>> w = axoncl.Variable(np.array([[1.0, -2.0]]), requires_grad=True, name="w")
    >>> loss = (w * 3.0).relu().sum()
    >>> loss.backward()
    >>> report = gradient_flow_summary(trace_backward(loss))
    >>> report.healthy, report.flags, report.layers
    (True, (), {'w': 3.0})
    """

    parameters: tuple[ParameterFlow, ...]
    layers: dict[str, float]
    activations: tuple[ActivationFlow, ...]
    flags: tuple[tuple[str, str], ...]
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.flags

    def flagged(self, kind: str) -> list[str]:
        """Where ``kind`` (``"vanishing"``, ``"exploding"``, ``"nan/inf"``, ``"dead-relu"``,
        ``"no-grad"``) was flagged."""
        return [where for what, where in self.flags if what == kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameters": [p.to_dict() for p in self.parameters],
            "layers": {k: _finite(v) for k, v in self.layers.items()},
            "activations": [a.to_dict() for a in self.activations],
            "flags": [list(f) for f in self.flags],
            "thresholds": dict(self.thresholds),
            "healthy": self.healthy,
        }

    def __str__(self) -> str:
        if not self.parameters and not self.activations:
            return "gradient flow: no leaf gradients (run backward before trace_backward)"
        width = max([len(p.name) for p in self.parameters] + [9])
        lines = [
            f"{'parameter':<{width}}  {'shape':<14} {'|grad|':>10} {'|w|':>10} {'ratio':>10}  flags"
        ]
        for p in self.parameters:
            shape = "x".join(map(str, p.shape)) or "scalar"
            lines.append(
                f"{p.name:<{width}}  {shape:<14} {p.grad_norm:>10.3g} "
                f"{p.weight_norm:>10.3g} {p.ratio:>10.3g}  {', '.join(p.flags)}".rstrip()
            )
        for a in self.activations:
            lines.append(
                f"{a.op} #{a.node_id} {a.shape}: {a.zero_fraction:.0%} zeros"
                + (f"  {', '.join(a.flags)}" if a.flags else "")
            )
        if self.flags:
            found = "; ".join(f"{what} at {where}" for what, where in self.flags)
            lines.append(f"flagged: {found}")
        else:
            lines.append("healthy: nothing flagged")
        return "\n".join(lines)


def _finite(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def _display_name(node: NodeInfo) -> str:
    return node.name if node.name else f"leaf#{node.id}"


def gradient_flow_summary(
    snapshot: GraphSnapshot,
    *,
    vanishing: float = 1e-6,
    exploding: float = 1e3,
    dead_relu: float = 0.9,
) -> GradientFlowReport:
    """Per-parameter gradient norms, with flags for unhealthy training signals.

    Parameters come from :meth:`GraphSnapshot.parameters`; when none are named, every leaf
    counts. Trace after ``backward`` so that gradients are known.

    Parameters
    ----------
    snapshot
        From :func:`trace_backward`.
    vanishing
        Flag ``grad_norm / weight_norm`` below this (and any all-zero gradient).
    exploding
        Flag ``grad_norm / weight_norm`` above this.
    dead_relu
        Flag a ReLU whose output has at least this fraction of zeros. Output statistics exist
        when the forward ran under :func:`record_activations`, or when the snapshot was taken
        before backward freed the saved outputs.

    Returns
    -------
    GradientFlowReport
        One :class:`ParameterFlow` per parameter (``parameters``), the ``flags`` raised as
        ``(kind, where)`` pairs, and ``healthy`` when there are none.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> w = axoncl.Variable(np.full((3, 2), 0.5), requires_grad=True, name="w")
    >>> loss = (axoncl.Variable(np.ones((4, 3))) @ w).tanh().mean()
    >>> loss.backward()
    >>> report = gradient_flow_summary(trace_backward(loss))
    >>> report.healthy, round(report.parameters[0].grad_norm, 4)
    (True, 0.2213)
    """
    params = snapshot.parameters() or snapshot.leaves()
    flows = []
    flags: list[tuple[str, str]] = []
    for node in params:
        name = _display_name(node)
        layer = name.rsplit(".", 1)[0] if "." in name else name
        if node.grad is None:
            flags.append((NO_GRAD, name))
            flows.append(
                ParameterFlow(
                    name,
                    node.id,
                    layer,
                    node.shape,
                    math.nan,
                    math.nan,
                    math.nan,
                    math.nan,
                    0,
                    0,
                    (NO_GRAD,),
                )
            )
            continue
        grad = node.grad
        weight = node.value.norm if node.value is not None else math.nan
        ratio = grad.norm / weight if weight > 0 else grad.norm
        mine = []
        if not grad.finite:
            mine.append(NONFINITE)
        elif grad.norm == 0.0 or ratio < vanishing:
            mine.append(VANISHING)
        elif ratio > exploding:
            mine.append(EXPLODING)
        flags.extend((what, name) for what in mine)
        flows.append(
            ParameterFlow(
                name,
                node.id,
                layer,
                node.shape,
                grad.norm,
                weight,
                ratio,
                grad.max_abs,
                grad.nan,
                grad.inf,
                tuple(mine),
            )
        )
    layers = _layer_norms(flows)
    activations = []
    for node in snapshot.nodes:
        if node.op in _RELU_OPS and node.value is not None:
            zero = node.value.zero_fraction
            mine = (DEAD_RELU,) if zero >= dead_relu else ()
            where = f"{node.op}#{node.id}"
            flags.extend((what, where) for what in mine)
            activations.append(ActivationFlow(node.id, node.op, node.shape, zero, mine))
    return GradientFlowReport(
        tuple(flows),
        layers,
        tuple(activations),
        tuple(flags),
        {"vanishing": vanishing, "exploding": exploding, "dead_relu": dead_relu},
    )


def _layer_norms(flows: list[ParameterFlow]) -> dict[str, float]:
    squares: dict[str, float] = {}
    for flow in flows:
        if math.isfinite(flow.grad_norm):
            squares[flow.layer] = squares.get(flow.layer, 0.0) + flow.grad_norm**2
        else:
            squares.setdefault(flow.layer, math.nan)
    return {layer: math.sqrt(total) for layer, total in squares.items()}


def gradient_flow_plot(snapshot: GraphSnapshot, path: str, **thresholds: float) -> str:
    """Write a PNG bar chart of gradient norms per parameter (log scale), flagged bars in red.

    Uses matplotlib's Agg backend (no display needed). Returns ``path``.

    Parameters
    ----------
    snapshot
        From :func:`trace_backward`, taken after backward.
    path
        Where the PNG is written.
    thresholds
        ``vanishing``, ``exploding``, ``dead_relu``, as for :func:`gradient_flow_summary`.

    Returns
    -------
    str
        ``path``.

    Examples
    --------
    >>> import numpy as np, axoncl, tempfile, os
    >>> from axoncl.inspect import trace_backward
    >>> w = axoncl.Variable(np.ones(3), requires_grad=True, name="w")
    >>> (w * 2.0).sum().backward()
    >>> path = os.path.join(tempfile.mkdtemp(), "flow.png")
    >>> gradient_flow_plot(trace_backward(w * 2.0), path) == path
    True
    """
    from matplotlib.figure import Figure  # no pyplot: renders with Agg, no display needed

    report = gradient_flow_summary(snapshot, **thresholds)
    names = [p.name for p in report.parameters]
    norms = [
        p.grad_norm if math.isfinite(p.grad_norm) and p.grad_norm > 0 else 1e-30
        for p in report.parameters
    ]
    colors = ["#cc3333" if p.flags else "#3a78c2" for p in report.parameters]
    figure = Figure(figsize=(max(6.0, 0.35 * len(names) + 2), 4.5))
    axes = figure.add_subplot()
    axes.bar(range(len(names)), norms, color=colors)
    axes.set_yscale("log")
    axes.set_xticks(range(len(names)))
    axes.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    axes.set_ylabel("gradient L2 norm")
    axes.set_title("gradient flow (red: flagged)" if report.flags else "gradient flow")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    return path
