"""Shadow execution: run a model on its own backend and on a reference one, and name the first
op whose output or gradient disagrees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends import backend_name, get_backend, namespace_of, to_backend, to_numpy
from ..graph import Node
from ..variable import Variable
from ._hooks import TensorStats, installed, tensor_stats, tracking_sites
from .snapshot import topological_order

__all__ = ["Divergence", "ShadowReport", "shadow", "tolerance_for"]

# (rtol, atol) by the dtype of the values under test; the reference runs in float64.
# An output diverges when max|a - b| > atol + rtol * max|b|: the error is measured against the
# largest reference entry, so values near zero in a tensor of normal scale do not trip it.
_TOLERANCES = {
    "float16": (1e-2, 1e-4),
    "bfloat16": (3e-2, 1e-4),
    "float32": (1e-3, 1e-6),
    "complex64": (1e-3, 1e-6),
    "float64": (1e-7, 1e-12),
    "complex128": (1e-7, 1e-12),
}


def tolerance_for(dtype: Any) -> tuple[float, float]:
    """``(rtol, atol)`` used by :func:`shadow` for values of ``dtype`` (by name).

    Parameters
    ----------
    dtype
        A dtype, or its name.

    Returns
    -------
    tuple of float
        ``(rtol, atol)``.

    Examples
    --------
    >>> from axoncl.inspect import tolerance_for
    >>> tolerance_for("float32"), tolerance_for("float64")
    ((0.001, 1e-06), (1e-07, 1e-12))
    """
    return _TOLERANCES.get(str(dtype).rsplit(".", 1)[-1], (1e-3, 1e-6))


@dataclass(frozen=True)
class Divergence:
    """The first disagreement found by :func:`shadow`.

    Attributes
    ----------
    phase
        ``"forward"``: the op's output differs. ``"backward"``: the op's backward returned a
        gradient for input ``input_index`` that differs, although the gradient it received
        agreed.
    op, node_index
        The op name and its position in the topological order of the graph.
    creation_site
        ``file:line`` of the call that made the op.
    max_abs_error, tolerance
        ``max|a - b|``, and the bound it exceeded.
    value, reference
        Statistics of the value on the tested backend and on the reference.

    Examples
    --------
    >>> import dataclasses
    >>> from axoncl.inspect import Divergence
    >>> [field.name for field in dataclasses.fields(Divergence)][:4]
    ['phase', 'op', 'node_index', 'creation_site']
    """

    phase: str
    op: str
    node_index: int
    creation_site: str | None
    input_index: int | None
    shape: tuple[int, ...]
    max_abs_error: float
    tolerance: float
    value: TensorStats
    reference: TensorStats

    def __str__(self) -> str:
        what = "output" if self.phase == "forward" else f"gradient for input {self.input_index}"
        return (
            f"{self.phase}: {self.op} (node #{self.node_index}, created at "
            f"{self.creation_site or '<unknown>'}): {what} {self.shape} differs by "
            f"{self.max_abs_error:.3g} > tolerance {self.tolerance:.3g}\n"
            f"  value:     {self.value}\n  reference: {self.reference}"
        )


@dataclass(frozen=True)
class ShadowReport:
    """What :func:`shadow` found: ``divergence`` is ``None`` for a clean run.

    Parameters
    ----------
    backend, reference
        The two backends' short names.
    ops
        Ops in the graph.
    compared
        Values compared (outputs and gradients).
    divergence
        The first disagreement, or ``None``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import shadow
    >>> import axoncl.backends.opencl as xp
    >>> x = axoncl.Variable(xp.asarray([1.0, 2.0]), requires_grad=True)
    >>> report = shadow(lambda v: (v * v).sum(), x)
    >>> report.backend, report.reference, report.ops, report.divergence is None
    ('opencl', 'numpy', 2, True)
    """

    backend: str
    reference: str
    ops: int
    compared: int
    divergence: Divergence | None

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = (
            f"shadow: {self.backend} vs {self.reference} (float64), {self.ops} ops, "
            f"{self.compared} values compared"
        )
        if self.divergence is None:
            return head + ": no divergence"
        return head + "\nfirst divergence at " + str(self.divergence)


class _Recorder:
    """Keeps each recorded op's forward output and the gradients its backward returns."""

    def __init__(self) -> None:
        self.outputs: dict[Node, Any] = {}
        self.returned: dict[Node, tuple[Any, ...]] = {}
        self._depth = 0

    def __call__(self, kind: str, node: Node, run: Callable[[], Any]) -> Any:
        if kind == "forward" and self._depth == 0:
            result = run()
            self.outputs[node] = result
            return result
        self._depth += 1
        try:
            result = run()
        finally:
            self._depth -= 1
        if kind == "backward" and self._depth == 0:
            grads = result if isinstance(result, tuple) else (result,)
            self.returned[node] = tuple(None if g is None else g.data for g in grads)
        return result


def _is_float(xp: Any, array: Any) -> bool:
    return xp.isdtype(array.dtype, ("real floating", "complex floating"))


def _to_reference(value: Any, xp_ref: Any) -> Any:
    if isinstance(value, Variable):
        moved = Variable(_to_reference(value.data, xp_ref))
        if value.requires_grad:
            moved.requires_grad = True
        return moved
    try:
        namespace_of(value)
    except TypeError:
        return value  # Python scalars, None, options: passed as they are
    moved = to_backend(value, xp_ref)
    if _is_float(xp_ref, moved) and hasattr(xp_ref, "float64"):
        wide = (
            xp_ref.complex128 if xp_ref.isdtype(moved.dtype, "complex floating") else xp_ref.float64
        )
        moved = xp_ref.astype(moved, wide)
    return moved


def _fresh(value: Any) -> Any:
    """A new leaf over the same data, so the user's Variables get no ``.grad``."""
    if isinstance(value, Variable):
        copy = Variable(value.data)
        if value.requires_grad:
            copy.requires_grad = True
        return copy
    return value


def _run(
    fn: Callable[..., Any], inputs: list[Any], backward: bool
) -> tuple[list[Any], _Recorder, list[Any]]:
    recorder = _Recorder()
    with tracking_sites(), installed(recorder):
        out = fn(*inputs)
        if not isinstance(out, Variable):
            raise TypeError(f"shadow: expected fn to return a Variable, got {type(out).__name__}")
        if not out.requires_grad:
            raise ValueError(
                "shadow: fn's result does not require grad; give at least one "
                "input requires_grad=True"
            )
        roots = [out.grad_fn] if out.grad_fn is not None else []
        order = [item for item in topological_order(roots) if isinstance(item, Node)]
        if backward:
            xp = namespace_of(out.data)
            out.backward(xp.ones_like(out.data))
    leaves = [
        value.grad.data if isinstance(value, Variable) and value.grad is not None else None
        for value in inputs
    ]
    return order, recorder, leaves


def _compare(value: Any, reference: Any, rtol: float, atol: float) -> tuple[bool, float, float]:
    """(diverges, max|a - b|, bound)."""
    a = np.asarray(to_numpy(value)).astype(
        np.complex128 if np.iscomplexobj(to_numpy(value)) else np.float64
    )
    b = np.asarray(to_numpy(reference)).astype(a.dtype)
    if a.shape != b.shape:
        return True, float("inf"), 0.0
    if a.size == 0:
        return False, 0.0, atol
    bad_a = ~np.isfinite(a)
    bad_b = ~np.isfinite(b)
    if (bad_a != bad_b).any():
        return True, float("inf"), atol
    both = bad_a & bad_b
    if both.any() and not np.array_equal(a[both], b[both], equal_nan=True):
        return True, float("inf"), atol  # +inf against -inf, or inf against nan
    finite = ~bad_a
    if not finite.any():
        return False, 0.0, atol
    error = float(np.abs(a[finite] - b[finite]).max())
    bound = atol + rtol * float(np.abs(b[finite]).max())
    return error > bound, error, bound


def shadow(
    fn: Callable[..., Variable],
    *inputs: Any,
    reference: str = "numpy",
    rtol: float | None = None,
    atol: float | None = None,
    backward: bool = True,
) -> ShadowReport:
    """Run ``fn(*inputs)`` and its backward twice, on the inputs' backend and on ``reference``
    in float64, and report the first op whose output or gradient diverges.

    Both runs record every op's output and the gradients its backward returns. The graphs
    must have the same structure; they are walked in the same topological order: first every
    output (inputs first), then, if all agree, every backward (output first), so a wrong
    backward is named even when all forwards are right.

    Parameters
    ----------
    fn
        Builds the model's output (usually a scalar loss) from ``inputs``. Every array it uses
        must come through ``inputs`` (weights too), so that it can be moved.
    inputs
        Variables and arrays of one backend; others (Python numbers, options) pass as they are.
        Variables are copied, so their ``.grad`` is left alone.
    reference
        The reference backend's name. Floating inputs are cast to float64 there.
    rtol, atol
        Override the tolerance for the tested dtype (:func:`tolerance_for`): a value diverges
        when ``max|a - b| > atol + rtol * max|reference|``.
    backward
        Compare gradients too (default).

    Returns
    -------
    ShadowReport
        Whether the runs agree, and else the first diverging op with both values, their
        largest difference and the tolerance used.

    Raises
    ------
    TypeError
        When no Variable or array is among the inputs.
    RuntimeError
        When the two runs build different graphs (``fn`` branches on values).

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.random.default_rng(0).normal(size=(4, 3)).astype("float32"))
    >>> w = axoncl.Variable(np.ones((3, 2), dtype="float32"), requires_grad=True)
    >>> report = shadow(lambda x, w: (x @ w).softmax().sum(), x, w)
    >>> report.ok, report.ops
    (True, 3)
    """
    xp_ref = get_backend(reference)
    arrays = [v.data if isinstance(v, Variable) else v for v in inputs]
    candidates = []
    for array in arrays:
        try:
            namespace_of(array)
        except TypeError:
            continue
        candidates.append(array)
    if not candidates:
        raise TypeError("shadow: expected at least one Variable or array among the inputs")
    xp = namespace_of(*candidates)
    order_a, rec_a, leaves_a = _run(fn, [_fresh(v) for v in inputs], backward)
    order_b, rec_b, leaves_b = _run(fn, [_to_reference(v, xp_ref) for v in inputs], backward)
    names_a = [node.name for node in order_a]
    names_b = [node.name for node in order_b]
    if names_a != names_b:
        raise RuntimeError(
            f"shadow: the two runs built different graphs ({len(names_a)} ops on "
            f"{backend_name(xp)}, {len(names_b)} on {backend_name(xp_ref)}); "
            "does fn branch on the backend or on data values?"
        )

    compared = 0

    def check(
        phase: str, index: int, node: Node, value: Any, ref: Any, input_index: int | None
    ) -> Divergence | None:
        nonlocal compared
        compared += 1
        dtype = getattr(value, "dtype", "float64")
        tol_r, tol_a = tolerance_for(dtype)
        tol_r = tol_r if rtol is None else rtol
        tol_a = tol_a if atol is None else atol
        diverges, error, bound = _compare(value, ref, tol_r, tol_a)
        if not diverges:
            return None
        return Divergence(
            phase,
            node.name,
            index,
            node.creation_site,
            input_index,
            tuple(getattr(value, "shape", ())),
            error,
            bound,
            tensor_stats(value),
            tensor_stats(ref),
        )

    found = None
    for index, (node_a, node_b) in enumerate(zip(order_a, order_b, strict=True)):
        found = check("forward", index, node_a, rec_a.outputs[node_a], rec_b.outputs[node_b], None)
        if found:
            break
    if found is None and backward:
        for index in range(len(order_a) - 1, -1, -1):
            node_a, node_b = order_a[index], order_b[index]
            returned_a = rec_a.returned.get(node_a, ())
            returned_b = rec_b.returned.get(node_b, ())
            for position, (ga, gb) in enumerate(zip(returned_a, returned_b, strict=False)):
                if ga is None or gb is None:
                    continue
                found = check("backward", index, node_a, ga, gb, position)
                if found:
                    break
            if found:
                break
        if found is None:
            for position, (ga, gb) in enumerate(zip(leaves_a, leaves_b, strict=True)):
                if ga is not None and gb is not None:
                    found = check("backward", -1, _LeafPseudoNode(), ga, gb, position)
                    if found:
                        break
    return ShadowReport(backend_name(xp), backend_name(xp_ref), len(order_a), compared, found)


class _LeafPseudoNode:
    """Stands for "the accumulated .grad of input i" in a Divergence."""

    name = "leaf gradient"
    creation_site = None
