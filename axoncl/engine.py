"""The backward engine: reverse topological order, accumulation, freeing saved values.

The graph is walked iteratively, never recursively, so a chain of 100,000 ops works. A node runs
once every gradient flowing into its output has arrived (dependency counting), so a value used
several times gets the sum of its gradients before its own rule runs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

from .anomaly import check_gradients
from .autocast import _AUTOCAST
from .backends import namespace_of, primitives
from .grad_mode import _MODE, _NO_GRAD
from .graph import _ANOMALY, _INSPECT_HOOKS, LeafEdge, Node, _observed
from .variable import Variable, _new_variable

__all__ = ["backward", "grad"]


def _as_variables(values: Any) -> list[Variable]:
    if isinstance(values, Variable):
        return [values]
    return list(values)


def _initial_gradient(output: Variable, gradient: Any, who: str) -> Variable:
    if gradient is None:
        if math.prod(output.data.shape) != 1:
            raise RuntimeError(
                f"{who}: gradient can be implied only for a value with one element; got shape "
                f"{output.shape}; pass gradient= (d loss / d output) of that shape"
            )
        xp = namespace_of(output.data)
        ones_like = primitives.ones_like.implementation(xp)  # not __call__: a hot path
        return _new_variable(ones_like(output.data, xp=xp))
    if not isinstance(gradient, Variable):
        gradient = Variable(gradient)
    if gradient.shape != output.shape:
        raise ValueError(
            f"{who}: expected a gradient of shape {output.shape} (the output's), "
            f"got {gradient.shape}"
        )
    return gradient


def _dependencies(roots: Sequence[Node]) -> dict[Node, int]:
    """How many edges point at each node reachable from ``roots`` (iterative DFS)."""
    counts: dict[Node, int] = {}
    root_set = set(roots) if len(roots) > 1 else roots  # one root: a list lookup is cheaper
    stack = list(roots)
    while stack:
        for edge in stack.pop().edges:
            if edge is None or type(edge) is LeafEdge:
                continue
            if edge in counts:
                counts[edge] += 1
            else:
                counts[edge] = 1
                if edge not in root_set:  # a root is on the stack already
                    stack.append(edge)
    return counts


def _run_hooks(hooks: list[Any] | None, grad: Variable) -> Variable:
    for hook in hooks or ():
        result = hook(grad)
        if result is not None:
            grad = result if isinstance(result, Variable) else Variable(result)
    return grad


def _engine(
    outputs: list[Variable],
    gradients: list[Variable],
    retain_graph: bool,
    create_graph: bool,
    capture: dict[int, Variable] | None,
    who: str,
) -> dict[int, Any]:
    """Runs backward. With ``capture`` (id of Variable -> Variable), gradients for those are
    returned instead of being accumulated into ``.grad``."""
    captured: dict[int, Any] = {}
    capture_nodes = None  # node -> key of a captured non-leaf input (axoncl.grad only)
    if capture is not None:
        capture_nodes = {
            var.grad_fn: key for key, var in capture.items() if var.grad_fn is not None
        }
    pending: dict[Node, Variable] = {}
    # Leaf gradients are summed here and delivered once at the end, so that a leaf's hooks see
    # its whole gradient even when the leaf feeds several ops.
    leaves: dict[int, tuple[Variable, Variable]] = {}
    roots = []
    for out, g in zip(outputs, gradients):  # noqa: B905 - one seed per output, by construction
        if not out._requires_grad:
            raise RuntimeError(
                f"{who}: output {out.shape} does not require grad and has no "
                "grad_fn; did you make it under no_grad, or from values with "
                "requires_grad=False?"
            )
        if out.grad_fn is None:  # a leaf: its gradient is the seed itself
            _collect_leaf(leaves, out, g)
            continue
        if out.grad_fn in pending:
            pending[out.grad_fn] = pending[out.grad_fn] + g
        else:
            pending[out.grad_fn] = g
            roots.append(out.grad_fn)
    counts = _dependencies(roots)
    ready = []
    for node in roots:
        if node not in counts:
            ready.append(node)
    mode = _MODE.get()  # backward formulas are recorded only under create_graph
    token = _MODE.set(mode & ~_NO_GRAD if create_graph else mode | _NO_GRAD)
    # Backward formulas run in the dtypes their forward saw, never autocast's.
    cast_token = _AUTOCAST.set(None) if _AUTOCAST.get() is not None else None
    try:
        while ready:
            node = ready.pop()
            grad = pending.pop(node)
            if node.pre_hooks or node.retained is not None or capture_nodes:
                grad = _node_hooks(node, grad, capture, capture_nodes, captured, create_graph)
            if node._saved is None:
                raise RuntimeError(
                    f"{who}: saved values of {node.name} were freed by an earlier backward(); "
                    "pass retain_graph=True to the first call"
                )
            if _INSPECT_HOOKS:
                run = functools.partial(node.function.backward, node, grad)
                grads = _observed("backward", node, run)
            else:
                grads = node.function.backward(node, grad)
            if type(grads) is not tuple:
                grads = grads if isinstance(grads, tuple) else (grads,)
            if _ANOMALY[0]:
                check_gradients(node, grads)
            edges = node.edges
            if len(grads) != len(edges):
                raise RuntimeError(
                    f"{node.name}.backward returned {len(grads)} gradients for {len(edges)} inputs"
                )
            if not retain_graph:
                node.release()
            for edge, g in zip(edges, grads):  # noqa: B905 - lengths checked above
                if edge is None:
                    continue
                if type(edge) is LeafEdge:
                    if g is not None:
                        var = edge.variable
                        key = id(var)
                        data = g.data
                        if (
                            key in leaves
                            or data.shape != var.data.shape
                            or data.dtype != var.data.dtype
                        ):
                            _collect_leaf(leaves, var, g)  # sums, checks shape, casts
                        else:
                            leaves[key] = (var, g)
                    continue
                if g is not None:
                    shape = g.data.shape
                    if shape != edge.out_shape and tuple(shape) != edge.out_shape:
                        raise RuntimeError(
                            f"{node.name}.backward produced a gradient of shape {tuple(shape)} "
                            f"for an input of shape {edge.out_shape}"
                        )
                    if g.data.dtype != edge.out_dtype:  # e.g. a float64 batch into float32
                        g = _cast_gradient(g, edge.out_dtype)
                    previous = pending.get(edge)
                    pending[edge] = g if previous is None else previous + g
                    count = counts[edge] - 1
                    counts[edge] = count
                    if count == 0:
                        ready.append(edge)
                else:
                    _visited(edge, counts, ready, pending)
        for var, g in leaves.values():
            if capture is None and var.grad is None and not var._hooks and g.grad_fn is None:
                var.grad = g  # the common case of _deliver_leaf, without the call
            else:
                _deliver_leaf(var, g, capture, captured, create_graph)
    finally:
        _MODE.reset(token)
        if cast_token is not None:
            _AUTOCAST.reset(cast_token)
    return captured


def _node_hooks(
    node: Node,
    grad: Variable,
    capture: dict[int, Variable] | None,
    capture_nodes: dict[Node, int],
    captured: dict[int, Any],
    create_graph: bool,
) -> Variable:
    """A node's hooks, retain_grad and capture, before its rule runs; returns its gradient."""
    if node.pre_hooks:
        grad = _run_hooks(node.pre_hooks, grad)
    if node.retained is not None and capture is None:
        kept = grad if create_graph else grad.detach()
        old = node.retained.grad  # accumulates across backward calls, as a leaf's does
        node.retained.grad = kept if old is None else _sum_grads(old, kept, create_graph)
    if capture_nodes and node in capture_nodes:
        captured[capture_nodes[node]] = grad
    return grad


def _visited(
    edge: Node, counts: dict[Node, int], ready: list[Node], pending: dict[Node, Variable]
) -> None:
    """One gradient edge into ``edge`` is settled; queue it when all are."""
    stack = [edge]
    while stack:
        node = stack.pop()
        counts[node] -= 1
        if counts[node] != 0:
            continue
        if node in pending:
            ready.append(node)
        else:  # no gradient reached it along any path; its inputs get none from it either
            stack.extend(inner for inner in node.edges if isinstance(inner, Node))


def _cast_gradient(g: Variable, dtype: Any) -> Variable:
    """``g`` in ``dtype``; a complex gradient of a real value keeps its real part (the real
    value's derivative, as in PyTorch)."""
    xp = namespace_of(g.data)
    if xp.isdtype(g.data.dtype, "complex floating") and not xp.isdtype(dtype, "complex floating"):
        from .functions import real

        g = real(g)
    return g if g.data.dtype == dtype else g.astype(dtype)


def _collect_leaf(leaves: dict[int, tuple[Variable, Variable]], var: Variable, g: Variable) -> None:
    """Add ``g`` to the gradient that ``var`` will receive at the end of this backward."""
    shape = g.data.shape
    if shape != var.data.shape and tuple(shape) != tuple(var.data.shape):
        raise RuntimeError(
            f"backward: gradient of shape {tuple(shape)} for a leaf of shape {var.shape}"
        )
    if g.data.dtype != var.data.dtype:
        # A gradient has its value's dtype (as in PyTorch): a float64 batch fed to a float32
        # model gives float32 parameter gradients, so an update never changes a dtype.
        g = _cast_gradient(g, var.data.dtype)
    key = id(var)
    if key in leaves:
        leaves[key] = (var, leaves[key][1] + g)
    else:
        leaves[key] = (var, g)


def _deliver_leaf(
    var: Variable,
    g: Variable,
    capture: dict[int, Variable] | None,
    captured: dict[int, Any],
    create_graph: bool,
) -> None:
    """Run the leaf's hooks on its summed gradient, then store it (or capture it)."""
    if var._hooks:
        g = _run_hooks(var._hooks, g)
    if not create_graph and g.grad_fn is not None:
        g = g.detach()
    if capture is not None:
        if id(var) in capture:
            captured[id(var)] = g
        return
    var.grad = g if var.grad is None else _sum_grads(var.grad, g, create_graph)


def _sum_grads(old: Variable, new: Variable, create_graph: bool) -> Variable:
    if create_graph:
        return old + new
    return Variable(old.data + new.data)


def backward(
    outputs: Sequence[Variable] | Variable,
    gradients: Sequence[Any] | None = None,
    retain_graph: bool = False,
    create_graph: bool = False,
) -> None:
    """Accumulate the gradients of ``outputs`` into the ``.grad`` of every leaf they depend on.

    Parameters
    ----------
    outputs
        A Variable or a sequence of them.
    gradients
        d(loss)/d(output) for each output (arrays or Variables); ``None``, or a ``None``
        entry, means 1 for a one-element output.
    retain_graph
        Keep the saved values, so that another backward through the same graph works.
    create_graph
        Record the backward itself, for higher-order gradients.

    Returns
    -------
    None
        The gradients are added into the leaves' ``.grad``.

    Raises
    ------
    ValueError
        When the number of gradients differs from the number of outputs.
    RuntimeError
        When an output of more than one element gets no gradient, or the graph was already
        freed by an earlier backward.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> a = axoncl.Variable(np.array(2.0), requires_grad=True)
    >>> b = axoncl.Variable(np.array(3.0), requires_grad=True)
    >>> axoncl.backward([(a * b) ** 2])
    >>> float(a.grad), float(b.grad)
    (36.0, 24.0)
    """
    outputs = [outputs] if isinstance(outputs, Variable) else list(outputs)
    gradients = [None] * len(outputs) if gradients is None else list(gradients)
    if len(gradients) != len(outputs):
        raise ValueError(
            f"backward: expected one gradient per output ({len(outputs)}), got {len(gradients)}"
        )
    seeds = [_initial_gradient(o, g, "backward") for o, g in zip(outputs, gradients, strict=True)]
    _engine(outputs, seeds, retain_graph or create_graph, create_graph, None, "backward")


def _backward_one(output: Variable, gradient: Any, retain_graph: bool, create_graph: bool) -> None:
    """:func:`backward` of one output (``Variable.backward``), without the list handling."""
    seed = _initial_gradient(output, gradient, "backward")
    _engine([output], [seed], retain_graph or create_graph, create_graph, None, "backward")


def grad(
    outputs: Sequence[Variable] | Variable,
    inputs: Sequence[Variable] | Variable,
    grad_outputs: Sequence[Any] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Variable | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated.

    Parameters
    ----------
    outputs, inputs
        Variables (or sequences of them).
    grad_outputs
        d(loss)/d(output) for each output; ``None`` entries are implied for one-element outputs.
    retain_graph
        Keep the graph for another backward; defaults to ``create_graph``.
    create_graph
        Record the computation of the gradients, for higher-order derivatives.
    allow_unused
        Return ``None`` for an input the outputs do not depend on, instead of raising.

    Returns
    -------
    tuple of Variable or None
        One gradient per input, in order (None for an unused input with ``allow_unused``).

    Raises
    ------
    RuntimeError
        When an input does not require grad, or (without ``allow_unused``) the outputs do
        not depend on it.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.array(3.0), requires_grad=True)
    >>> (g,) = axoncl.grad(x ** 3, x, create_graph=True)
    >>> (gg,) = axoncl.grad(g, x)
    >>> float(g), float(gg)
    (27.0, 18.0)
    """
    outputs = _as_variables(outputs)
    inputs = _as_variables(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Variable):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for var in inputs:
        if not var.requires_grad:
            raise RuntimeError(f"grad: input of shape {var.shape} does not require grad")
    seeds = [_initial_gradient(o, g, "grad") for o, g in zip(outputs, grad_outputs, strict=True)]
    keep = create_graph if retain_graph is None else retain_graph
    captured = _engine(outputs, seeds, keep, create_graph, {id(v): v for v in inputs}, "grad")
    result = []
    for index, var in enumerate(inputs):
        g = captured.get(id(var))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {index} (shape {var.shape}) was not used to compute "
                "the outputs; pass allow_unused=True to get None for it"
            )
        result.append(g)
    return tuple(result)
