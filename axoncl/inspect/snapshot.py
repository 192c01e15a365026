"""``trace_backward``: an immutable ``GraphSnapshot`` of the graph behind a value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import graph
from ..backends import backend_name, namespace_of
from ..graph import LeafEdge, Node
from ..variable import Variable
from ._hooks import TensorStats, installed, tensor_stats

if TYPE_CHECKING:
    from .health import GradientFlowReport

__all__ = [
    "Edge",
    "GraphSnapshot",
    "NodeInfo",
    "record_activations",
    "record_modules",
    "trace_backward",
]

LEAF = "leaf"


@dataclass(frozen=True)
class NodeInfo:
    """One node of a :class:`GraphSnapshot`: a recorded op, or a leaf Variable that requires grad.

    Attributes
    ----------
    id
        Position in the snapshot's topological order (inputs come before their consumers).
    op
        The op name (``"matmul"``, ``"relu"``, …), or ``"leaf"``.
    name
        The parameter name for a named leaf (``"fc1.weight"``), the ``.name`` of a retained
        non-leaf value, or ``None``.
    inputs, outputs
        Ids of the nodes this one reads (one per input that requires grad, in argument order;
        constants are not nodes) and of the nodes that read it.
    grad
        Statistics of the gradient: a leaf's ``.grad``, or a non-leaf's retained gradient.
    value
        Statistics of the value: a leaf's data, or an op's output when it was recorded
        (:func:`record_activations`) or is still saved for backward.
    creation_site
        ``file:line`` where the op was called, when sites were tracked (shadow execution).
    module
        The module call that made the op, as a path below the outermost module called
        (``"layer1.0.bn"``; ``""`` is the outermost module itself, ``"relu#2"`` a second call of
        the same module), when the forward ran under :func:`record_modules`; else ``None``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> w = axoncl.Variable(np.array([1.0, -2.0]), requires_grad=True, name="w")
    >>> loss = (w * 3.0).relu().sum()
    >>> loss.backward()
    >>> leaf = trace_backward(loss).nodes[0]
    >>> leaf.op, leaf.name, leaf.is_parameter, leaf.outputs, leaf.grad.norm
    ('leaf', 'w', True, (1,), 3.0)
    """

    id: int
    op: str
    shape: tuple[int, ...]
    dtype: str
    device: str
    requires_grad: bool = True
    is_leaf: bool = False
    is_parameter: bool = False
    is_output: bool = False
    name: str | None = None
    inputs: tuple[int, ...] = ()
    outputs: tuple[int, ...] = ()
    grad: TensorStats | None = None
    value: TensorStats | None = None
    creation_site: str | None = None
    module: str | None = None

    @property
    def label(self) -> str:
        """``name`` for a named leaf, else the op name."""
        if self.is_leaf:
            return self.name or f"leaf {self.id}"
        return self.op if self.name is None else f"{self.op} ({self.name})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "op": self.op,
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "device": self.device,
            "requires_grad": self.requires_grad,
            "is_leaf": self.is_leaf,
            "is_parameter": self.is_parameter,
            "is_output": self.is_output,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "grad": None if self.grad is None else self.grad.to_dict(),
            "value": None if self.value is None else self.value.to_dict(),
            "creation_site": self.creation_site,
            "module": self.module,
        }


@dataclass(frozen=True)
class Edge:
    """Data flows from node ``source`` into input ``index`` of node ``target``; gradients flow
    back the other way.

    Parameters
    ----------
    source, target
        Node ids (positions in :attr:`GraphSnapshot.nodes`).
    index
        Which input of ``target``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> w = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> trace_backward((w * 3.0).sum()).edges[0]
    Edge(source=0, target=1, index=0)
    """

    source: int
    target: int
    index: int


@dataclass(frozen=True)
class GraphSnapshot:
    """An immutable record of a computation graph, taken by :func:`trace_backward`.

    Parameters
    ----------
    nodes
        One :class:`NodeInfo` per op and leaf, in topological order (inputs first).
    edges
        One :class:`Edge` per input of each op.
    outputs
        The ids of the traced outputs.
    backend
        The short name of the arrays' namespace.
    modules
        Module call path to module class name, recorded under :func:`record_modules`.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> x = axoncl.Variable(np.array([-1.0, 2.0]), requires_grad=True)
    >>> snap = trace_backward(x.pow(2).relu().sum())
    >>> snap.node_count(), snap.depth(), snap.operation_names()
    (3, 3, ['pow', 'relu', 'sum'])
    """

    nodes: tuple[NodeInfo, ...]
    edges: tuple[Edge, ...]
    outputs: tuple[int, ...]
    backend: str = "numpy"
    modules: Mapping[str, str] = field(default_factory=dict)  # module path -> class name
    _by_op: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    # -- structure -------------------------------------------------------------------------
    def node_count(self, include_leaves: bool = False) -> int:
        """Number of op nodes (plus leaves with ``include_leaves=True``)."""
        if include_leaves:
            return len(self.nodes)
        return sum(1 for node in self.nodes if not node.is_leaf)

    def depth(self) -> int:
        """Op nodes on the longest path from a leaf to an output (``x.pow(2).relu().sum()``: 3)."""
        depth = [0] * len(self.nodes)
        for node in self.nodes:
            if not node.is_leaf:
                depth[node.id] = 1 + max((depth[i] for i in node.inputs), default=0)
        return max(depth, default=0)

    def operation_names(self) -> list[str]:
        """Op names in topological order (inputs before consumers), one per op node."""
        return [node.op for node in self.nodes if not node.is_leaf]

    def op_counts(self) -> dict[str, int]:
        """How many nodes each op has, most frequent first."""
        return dict(Counter(self.operation_names()).most_common())

    def leaves(self) -> list[NodeInfo]:
        """Leaf Variables that require grad (inputs and parameters)."""
        return [node for node in self.nodes if node.is_leaf]

    def parameters(self) -> list[NodeInfo]:
        """Leaves known as parameters: named ones (``names=``, a module, or ``.name``)."""
        return [node for node in self.nodes if node.is_parameter]

    def find(self, op: str) -> list[NodeInfo]:
        """The nodes of op ``op`` (``"leaf"`` finds the leaves), in topological order."""
        return [self.nodes[i] for i in self._by_op.get(op, ())]

    def node(self, node_id: int) -> NodeInfo:
        return self.nodes[node_id]

    def predecessors(self, node_id: int) -> list[NodeInfo]:
        """The nodes that ``node_id`` reads."""
        return [self.nodes[i] for i in self.nodes[node_id].inputs]

    def successors(self, node_id: int) -> list[NodeInfo]:
        """The nodes that read ``node_id``."""
        return [self.nodes[i] for i in self.nodes[node_id].outputs]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (non-finite floats become strings)."""
        return {
            "backend": self.backend,
            "outputs": list(self.outputs),
            "modules": dict(self.modules),
            "nodes": [node.to_dict() for node in self.nodes],
            "edges": [[edge.source, edge.target, edge.index] for edge in self.edges],
        }

    def __repr__(self) -> str:
        return (
            f"GraphSnapshot({self.node_count()} ops, {len(self.leaves())} leaves, "
            f"depth {self.depth()}, backend {self.backend!r})"
        )

    # -- rendering and health, delegated ---------------------------------------------------
    def to_dot(self, **options: Any) -> str:
        """See :func:`axoncl.inspect.to_dot`."""
        from .render import to_dot

        return to_dot(self, **options)

    def to_svg(self, **options: Any) -> str:
        """See :func:`axoncl.inspect.to_svg`."""
        from .render import to_svg

        return to_svg(self, **options)

    def to_html(self, **options: Any) -> str:
        """See :func:`axoncl.inspect.to_html`."""
        from .page import to_html

        return to_html(self, **options)

    def gradient_flow_summary(self, **thresholds: float) -> GradientFlowReport:
        """See :func:`axoncl.inspect.gradient_flow_summary`."""
        from .health import gradient_flow_summary

        return gradient_flow_summary(self, **thresholds)

    def gradient_flow_plot(self, path: str, **thresholds: float) -> str:
        """See :func:`axoncl.inspect.gradient_flow_plot`."""
        from .health import gradient_flow_plot

        return gradient_flow_plot(self, path, **thresholds)


# -- tracing -------------------------------------------------------------------------------


def _name_table(names: Any) -> dict[int, str]:
    """id(Variable) -> name, from a mapping (keys: Variables or ids) or a module."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        return {id(param): str(name) for name, param in names.named_parameters()}
    if not isinstance(names, Mapping):
        raise TypeError(
            "trace_backward: expected names= as a mapping {Variable or id: name} or "
            f"a module with named_parameters(), got {type(names).__name__}"
        )
    return {key if isinstance(key, int) else id(key): str(value) for key, value in names.items()}


def _children(item: Any) -> tuple[Any, ...]:
    if isinstance(item, Node):
        return tuple(edge for edge in item.edges if edge is not None)
    return ()


def _key(item: Any) -> Any:
    """Leaves are deduplicated by Variable (each use makes a new LeafEdge); nodes by identity."""
    return id(item.variable) if isinstance(item, LeafEdge) else item


def topological_order(roots: Sequence[Any]) -> list[Any]:
    """Nodes and LeafEdges reachable from ``roots``, inputs first (iterative post-order DFS,
    inputs visited in argument order, so two graphs of the same structure give the same order)."""
    order: list[Any] = []
    done: set[Any] = set()
    entered: set[Any] = set()
    for root in roots:
        if _key(root) in done:
            continue
        stack = [(root, iter(_children(root)))]
        entered.add(_key(root))
        while stack:
            item, children = stack[-1]
            for child in children:
                key = _key(child)
                if key not in entered:
                    entered.add(key)
                    stack.append((child, iter(_children(child))))
                    break
            else:
                stack.pop()
                done.add(_key(item))
                order.append(item)
    return order


def _dtype_name(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _saved_output(node: Node) -> Any:
    recorded = getattr(node, "inspect_activation", None)
    if recorded is not None:
        return recorded
    data = node._output_data
    return None if data is None else tensor_stats(data)


def trace_backward(
    y: Variable | Sequence[Variable], names: Any = None, *, values: bool = True
) -> GraphSnapshot:
    """Snapshot the graph behind ``y``, before or after ``backward``.

    Parameters
    ----------
    y
        The output Variable (or several): it must require grad.
    names
        Parameter names: a mapping ``{Variable or id(Variable): name}``, or a module with
        ``named_parameters()``. Leaves named here, or with a ``.name``, are parameters.
    values
        Record statistics of leaf data and of op outputs still available (recorded by
        :func:`record_activations`, or saved for backward); costs a host copy of each.

    Returns
    -------
    GraphSnapshot
        Gradient statistics are filled for leaves with a ``.grad`` and for retained non-leaf
        gradients, so trace after ``backward`` to see them.

    Raises
    ------
    TypeError
        When ``y`` is not a Variable (or a sequence of them).
    ValueError
        When an output does not require grad (it has no graph to trace).

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> w = axoncl.Variable(np.ones((3, 2)), requires_grad=True)
    >>> x = axoncl.Variable(np.ones((4, 3)))
    >>> loss = (x @ w).relu().mean()
    >>> loss.backward()
    >>> snap = trace_backward(loss, names={w: "w"})
    >>> [p.name for p in snap.parameters()], snap.parameters()[0].grad.norm
    (['w'], 1.224744871391589)
    """
    outputs = [y] if isinstance(y, Variable) else list(y)
    roots = []
    for out in outputs:
        if not isinstance(out, Variable):
            raise TypeError(f"trace_backward: expected Variables, got {type(out).__name__}")
        if not out.requires_grad:
            raise ValueError(
                f"trace_backward: expected a value that requires grad, got one of "
                f"shape {out.shape} without a graph; was it made under no_grad, or "
                "from values with requires_grad=False?"
            )
        roots.append(out.grad_fn if out.grad_fn is not None else LeafEdge(out))
    table = _name_table(names)
    order = topological_order(roots)
    index = {_key(item): i for i, item in enumerate(order)}
    output_ids = tuple(index[_key(root)] for root in roots)
    consumers: list[list[int]] = [[] for _ in order]
    edges = []
    for i, item in enumerate(order):
        position = 0
        for edge in item.edges if isinstance(item, Node) else ():
            if edge is not None:
                source = index[_key(edge)]
                edges.append(Edge(source, i, position))
                if i not in consumers[source]:
                    consumers[source].append(i)
            position += 1
    infos = []
    by_op: dict[str, list[int]] = {}
    modules: dict[str, str] = {}
    for i, item in enumerate(order):
        inputs = tuple(index[_key(e)] for e in _children(item))
        if isinstance(item, LeafEdge):
            var = item.variable
            name = table.get(id(var), var.name)
            info = NodeInfo(
                id=i,
                op=LEAF,
                shape=var.shape,
                dtype=_dtype_name(var.dtype),
                device=str(var.device),
                requires_grad=var.requires_grad,
                is_leaf=True,
                is_parameter=name is not None or type(var).__name__ == "Parameter",
                is_output=i in output_ids,
                name=name,
                outputs=tuple(consumers[i]),
                grad=None if var.grad is None else tensor_stats(var.grad.data),
                value=tensor_stats(var.data) if values else None,
            )
        else:
            retained = item.retained
            scope = item.module_scope
            if scope:
                modules.update(scope)
            grad = None
            name = None
            if retained is not None:
                name = table.get(id(retained), retained.name)
                grad = None if retained.grad is None else tensor_stats(retained.grad.data)
            info = NodeInfo(
                id=i,
                op=item.name,
                shape=tuple(item.out_shape),
                dtype=_dtype_name(item.out_dtype),
                device=str(item.out_device),
                is_output=i in output_ids,
                name=name,
                inputs=inputs,
                outputs=tuple(consumers[i]),
                grad=grad,
                value=_saved_output(item) if values else None,
                creation_site=item.creation_site,
                module=scope[-1][0] if scope else None,
            )
        infos.append(info)
        by_op.setdefault(info.op, []).append(i)
    first = outputs[0]
    return GraphSnapshot(
        nodes=tuple(infos),
        edges=tuple(edges),
        outputs=output_ids,
        backend=backend_name(namespace_of(first.data)),
        modules=modules,
        _by_op={op: tuple(ids) for op, ids in by_op.items()},
    )


@contextmanager
def record_activations(ops: Sequence[str] | None = None) -> Iterator[None]:
    """Keep statistics of op outputs made inside the block, for :func:`trace_backward`.

    Backward frees saved outputs, so without this a snapshot taken after ``backward`` has no
    activation statistics (needed to spot dead ReLUs). Only statistics are kept, never arrays;
    each costs a host copy of the output. The block also records modules
    (:func:`record_modules`), so drawings group ops by the module call that made them.

    Parameters
    ----------
    ops
        Op names to record (default: all).

    Yields
    ------
    None
        Statistics of the ops made inside the block are kept until the snapshot is taken.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.array([-1.0, 2.0]), requires_grad=True)
    >>> with record_activations(["relu"]):
    ...     y = x.relu().sum()
    >>> y.backward()
    >>> trace_backward(y).find("relu")[0].value.zero_fraction
    0.5
    """
    wanted = None if ops is None else frozenset(ops)
    depth = [0]

    def hook(kind: str, node: Node, run: Any) -> Any:
        if kind == "backward" or depth[0]:  # ops run inside a backward are not the model's
            depth[0] += 1
            try:
                return run()
            finally:
                depth[0] -= 1
        result = run()
        if wanted is None or node.name in wanted:
            node.inspect_activation = tensor_stats(result)
        return result

    with installed(hook), record_modules():
        yield


@contextmanager
def record_modules() -> Iterator[None]:
    """Note which module call makes each op inside the block, so that drawings group ops by
    module (:attr:`NodeInfo.module`).

    Off by default; while on, each ``Module.__call__`` and each recorded op does a little more
    work. :func:`record_activations` turns it on too.

    Yields
    ------
    None
        Ops made inside the block carry the module call that made them.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    >>> with record_modules():
    ...     y = net(np.ones((4, 3))).sum()
    >>> [(node.op, node.module) for node in trace_backward(y).nodes if not node.is_leaf]
    [('linear', '0'), ('relu', '1'), ('sum', None)]
    """
    from ..nn import module

    previous = graph._TRACK_MODULES[0]
    if not previous:
        module._SCOPE_CALLS.clear()
    graph._TRACK_MODULES[0] = True
    try:
        yield
    finally:
        graph._TRACK_MODULES[0] = previous
