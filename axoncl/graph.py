"""Graph nodes: ``Function`` (an op rule) and ``Node`` (its record in a graph, the ``ctx``).

An op is a :class:`Function` subclass with ``forward(ctx, *arrays)`` on raw arrays and
``backward(ctx, grad)`` on :class:`~axoncl.variable.Variable` objects. ``Function.apply`` runs the
forward and, when gradients are recorded, leaves a :class:`Node` as the output's ``grad_fn``.
Subclasses register by name in :data:`registry`, the one table that tests, docs and the
inspector iterate.
"""

from __future__ import annotations

import functools
import operator
import re
import sys
import zlib
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ClassVar

import numpy as np

from . import grad_mode
from .autocast import _AUTOCAST, cast_inputs
from .backends import device_kwargs, namespace_of, namespace_of_type, to_numpy

__all__ = ["Function", "LeafEdge", "Node", "registry"]

registry: dict[str, type[Function]] = {}

_SCALARS = (int, float, bool, complex)
_FLOATING = ("real floating", "complex floating")
_NUMPY_NUMBER = (np.number, np.bool_)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class LeafEdge:
    """Where a gradient for a leaf Variable lands: its ``.grad`` (or an ``axoncl.grad`` result)."""

    __slots__ = ("variable",)

    def __init__(self, variable: Variable) -> None:
        self.variable = variable


class Node:
    """One recorded op: the ``ctx`` of its ``forward`` and ``backward``, and the output's
    ``grad_fn``.

    Attributes
    ----------
    function
        The :class:`Function` subclass that made it.
    edges
        One entry per positional input: the input's ``Node``, a :class:`LeafEdge` for a leaf that
        requires grad, or ``None``.
    needs_input_grad
        One flag per positional input.
    xp
        The array namespace of the inputs.
    """

    # The first six are set on every node, the next five when the node is recorded in a graph
    # (the engine reads them). The rest are class-level defaults that a node overrides only
    # when needed (a saved output, the inspector's site), and options (``axis``, ``stride``)
    # are the instance dict: creating a node is the hot path of every op.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "function",
        "edges",
        "needs_input_grad",
        "xp",
        "_saved",
        "_inputs",
        "out_shape",
        "out_dtype",
        "out_device",
    )

    creation_site: str | None = None
    module_scope: tuple[tuple[str, str], ...] | None = None  # (path, class name), outer first
    _output_data = None
    _versions: list[Any] | None = None  # (getter, version) per saved array that has one
    pre_hooks: list[Any] | tuple[()] = ()  # a node's own list once a hook is registered
    retained: Variable | None = None  # the Variable whose .grad retain_grad() keeps

    def __init__(self, function: type[Function], xp: Any) -> None:
        self.function = function
        self.xp = xp
        self.edges: tuple[Node | LeafEdge | None, ...] = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self._saved: tuple[Any, ...] | None = ()
        self._inputs: tuple[Variable | None, ...] = ()

    @property
    def name(self) -> str:
        return self.function.name

    def __repr__(self) -> str:
        return f"<{self.function.__name__}Backward shape={self.out_shape}>"

    @property
    def next_functions(self) -> tuple[Node | LeafEdge | None, ...]:
        return self.edges

    # -- saving for backward -------------------------------------------------------------
    def save_for_backward(self, *values: Any) -> None:
        """Keep inputs (or the output) for backward; they come back as Variables.

        Each saved array that counts its in-place writes (an OpenCL array, a torch tensor; a
        host array under :func:`axoncl.detect_anomaly`, by checksum) has its version noted, and
        backward raises if it changed in between.
        """
        self._saved = values
        for value in values:  # the hot path: numpy arrays have no version, so one lookup each
            if _VERSION_OF[type(value)] is not None or _CHECK_HOST[0]:
                self._note_versions(values)
                return

    def _note_versions(self, values: tuple[Any, ...]) -> None:
        versions = []
        for value in values:
            get = _VERSION_OF[type(value)]
            if get is None and _CHECK_HOST[0] and hasattr(value, "shape"):
                get = _fingerprint
            versions.append(None if get is None else (get, get(value)))
        self._versions = versions

    def _check_versions(self) -> None:
        """Raise if a saved array was written in place since it was saved."""
        for i, (value, entry) in enumerate(zip(self._saved, self._versions, strict=True)):
            if entry is None:
                continue
            get, saved = entry
            if get(value) == saved:
                continue
            what = "its output"
            for j, var in enumerate(self._inputs):
                if isinstance(var, Variable) and var.data is value:
                    what = f"its input {j}"
                    break
            site = f" (made at {self.creation_site})" if self.creation_site else ""
            raise RuntimeError(
                f"backward: {self.name}{site} saved {what} (shape {tuple(value.shape)}, saved "
                f"value {i}) for its gradient, and that array was modified in place after the "
                "op ran; change a copy instead (x = x.copy() / xp.asarray(x, copy=True)), or do "
                "the in-place change before the op or after backward"
            )

    @property
    def saved_arrays(self) -> tuple[Any, ...]:
        """What ``forward`` saved, as it was saved: for a rule that needs only data (a mask),
        not a graph; cheaper than :attr:`saved_values`."""
        if self._saved is None:
            raise RuntimeError(
                f"backward: saved values of {self.name} were freed by an earlier backward(); "
                "pass retain_graph=True to the first call"
            )
        if self._versions is not None:
            self._check_versions()
        return self._saved

    @property
    def saved_values(self) -> tuple[Variable, ...]:
        """The saved arrays as Variables: inputs keep their graph, the output gets this node."""
        if self._saved is None:
            raise RuntimeError(
                f"backward: saved values of {self.name} were freed by an earlier backward(); "
                "pass retain_graph=True to the first call"
            )
        if self._versions is not None:
            self._check_versions()
        out = []
        inputs = self._inputs
        for value in self._saved:
            if isinstance(value, Variable):
                out.append(value)
                continue
            for var in inputs:
                if isinstance(var, Variable) and var.data is value:
                    out.append(var)
                    break
            else:
                if value is self._output_data:  # floating, or this node would not be recorded
                    var = _new_variable(value)
                    var._requires_grad = True
                    var.grad_fn = self
                    out.append(var)
                else:
                    out.append(Variable(value))
        return tuple(out)

    def release(self) -> None:
        """Free the saved values (after a backward without ``retain_graph``)."""
        self._saved = None  # also the mark of a released node (``_freed``)
        self._inputs = ()
        if self._output_data is not None:
            self._output_data = None

    @property
    def _freed(self) -> bool:
        return self._saved is None


def _is_builtin(cls: type) -> bool:
    return cls.__module__.startswith("axoncl.")


class Function:
    """Base of every op rule. Subclasses define ``forward`` and ``backward`` as staticmethods.

    Options (``axis``, ``stride``) are passed to :meth:`apply` as keywords and become attributes
    of ``ctx``; ``forward`` and ``backward`` read them there.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> class Cube(axoncl.Function):
    ...     name = "doc_cube"                 # the registry name (default: the class's, snake_case)
    ...     @staticmethod
    ...     def forward(ctx, x):              # raw arrays of any namespace
    ...         ctx.save_for_backward(x)
    ...         return x * x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):          # Variables, so it is differentiable again
    ...         (x,) = ctx.saved_values
    ...         return (grad * 3.0 * x * x,)
    >>> x = axoncl.Variable(np.array([1.0, 2.0]), requires_grad=True)
    >>> Cube.apply(x).sum().backward()
    >>> x.grad.numpy()
    array([ 3., 12.])
    >>> axoncl.gradcheck(Cube.apply, [x])
    True
    """

    name: ClassVar[str] = "function"
    # "low" or "float32": how autocast casts the floating inputs (axoncl/autocast.py); None:
    # the rule follows the namespace's type promotion.
    autocast_policy: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = _snake(cls.__name__)
        if not cls.__name__.startswith("_"):
            taken = registry.get(cls.name)
            if taken is not None and _is_builtin(taken) and not _is_builtin(cls):
                raise TypeError(
                    f"Function: {cls.__module__}.{cls.__qualname__} would be registered as "
                    f"{cls.name!r}, the name of the built-in rule "
                    f"{taken.__module__}.{taken.__qualname__}; give it its own name "
                    f"(name = 'my_{cls.name}' in the class body), or start the class name "
                    "with '_' to keep it out of the registry"
                )
            registry[cls.name] = cls

    @staticmethod
    def forward(ctx: Node, *args: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Node, grad: Variable) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **options: Any) -> Variable:
        """Run the forward on the inputs' data and record a graph node when needed."""
        # The hot path of every op (and of every backward formula): keep it lean. One and two
        # Variable inputs (nearly every call) skip the general loop.
        if cls.autocast_policy is not None:
            low = _AUTOCAST.get()
            if low is not None:
                args = cast_inputs(cls.autocast_policy, low, args, cls.name)
        nargs = len(args)
        scalars = False
        pair = False
        if nargs == 2 and isinstance(args[0], Variable) and isinstance(args[1], Variable):
            pair = True
            first, second = args
            raw = (first.data, second.data)
            wants_grad = first._requires_grad or second._requires_grad
        elif nargs == 1 and isinstance(args[0], Variable):
            raw = (args[0].data,)
            wants_grad = args[0]._requires_grad
        else:
            raw = []
            wants_grad = False
            for arg in args:
                if isinstance(arg, Variable):
                    raw.append(arg.data)
                    if arg._requires_grad:
                        wants_grad = True
                else:
                    if isinstance(arg, _NUMPY_NUMBER):  # acts as the Python scalar it holds
                        arg = arg.item()
                    raw.append(arg)
                    if isinstance(arg, _SCALARS):
                        scalars = True
        if wants_grad and _NOTING[0]:
            _note_inputs(args)
        # namespace_of's own cache, read inline for the common all-one-type case.
        kind = type(raw[0]) if raw else None
        xp = namespace_of_type(kind)
        if xp is None or (nargs == 2 and type(raw[1]) is not kind) or nargs > 2:
            xp = namespace_of(*raw)
        if scalars:
            raw = _lift_scalars(raw, xp)
        ctx = _new(Node)
        ctx.function = cls
        ctx.xp = xp
        ctx.edges = ()
        ctx._saved = ()
        if options:  # a fresh dict per call: it becomes the node's (no option names a slot)
            ctx.__dict__ = options

        mode = _MODE.get()  # grad mode bits, read once (grad_mode.py)
        record = wants_grad and not mode & _NO_GRAD
        if record and pair:
            # Two Variables (the common binary op): no lists.
            edges = (_edge_of(first, cls), _edge_of(second, cls))
            ctx.needs_input_grad = (edges[0] is not None, edges[1] is not None)
        elif record:
            needs = []
            edges = []
            for v in args:
                if not isinstance(v, Variable):
                    needs.append(False)
                    edges.append(None)
                    continue
                if v._inference:
                    raise RuntimeError(
                        f"{cls.name}: an inference-mode value cannot be used in an op that "
                        "records gradients; make it outside inference_mode, or clone it with "
                        "Variable(x.data.copy()) first"
                    )
                if v._requires_grad:
                    fn = v.grad_fn
                    if fn is None:
                        fn = _new(LeafEdge)  # LeafEdge(v) without the __init__ call
                        fn.variable = v
                    needs.append(True)
                    edges.append(fn)
                else:
                    needs.append(False)
                    edges.append(None)
            ctx.needs_input_grad = tuple(needs)
            edges = tuple(edges)
        else:
            ctx.needs_input_grad = _NO_GRADS[nargs] if nargs < 8 else (False,) * nargs
        ctx._inputs = args
        if _INSPECT_HOOKS:
            data = _observed("forward", ctx, functools.partial(cls.forward, ctx, *raw))
        else:
            data = cls.forward(ctx, *raw)
        # _new_variable(data), inlined: this is the one place every op result is made.
        out = _new(Variable)
        out.data = _as_array(data) if isinstance(data, _NUMPY_SCALAR) else data
        out.grad = None
        out.grad_fn = None
        out._requires_grad = False
        if mode & _INFERENCE:
            out._inference = True
        if record and _is_floating(out.data):
            ctx.edges = edges
            shape = out.data.shape
            ctx.out_shape = shape if type(shape) is tuple else tuple(shape)
            ctx.out_dtype = out.data.dtype
            ctx.out_device = getattr(out.data, "device", None)
            if _TRACK_SITES[0]:
                ctx.creation_site = _creation_site()
            if _TRACK_MODULES[0]:
                ctx.module_scope = MODULE_SCOPE.get()
            out._requires_grad = True
            out.grad_fn = ctx
            # Inputs are kept only if saved; otherwise the graph holds nodes, not data.
            saved = ctx._saved
            if saved:
                kept = []
                for v in args:
                    if isinstance(v, Variable):
                        d = v.data
                        for value in saved:
                            if value is d:
                                break
                        else:
                            v = None
                    else:
                        v = None
                    kept.append(v)
                ctx._inputs = tuple(kept)
                for value in saved:
                    if value is data:
                        ctx._output_data = data
                        break
            else:
                ctx._inputs = ()
        return out


_new = object.__new__
_MODE = grad_mode._MODE
_NO_GRAD = grad_mode._NO_GRAD
_INFERENCE = grad_mode._INFERENCE

_NO_GRADS: list[tuple[bool, ...]] = [(False,) * n for n in range(8)]


# checkpoint (axoncl/checkpoint.py) runs a forward under no_grad and must learn which Variables
# that require grad it used (parameters, values from outside): while it runs, ops note them
# here (id -> Variable), per thread and task. _NOTING counts the notings under way in all
# threads, so that ops elsewhere pay one list lookup.
_NOTED: ContextVar[dict[int, Variable] | None] = ContextVar("axoncl_noted_inputs", default=None)
_NOTING = [0]


def _note_inputs(args: tuple[Any, ...]) -> None:
    noted = _NOTED.get()
    if noted is None:
        return
    for v in args:
        if isinstance(v, Variable) and v._requires_grad and id(v) not in noted:
            noted[id(v)] = v


# The inspector's shadow execution and detect_anomaly want file:line of each op; cheap enough
# to keep off by default.
_TRACK_SITES = [False]

# The inspector's module grouping: while _TRACK_MODULES[0] is set, Module.__call__ sets
# MODULE_SCOPE to the chain of module calls it is inside, and Function.apply copies it onto each
# recorded node. Off by default: the cost is one truth test per module call and per op.
_TRACK_MODULES = [False]
MODULE_SCOPE: ContextVar[tuple[tuple[str, str], ...] | None] = ContextVar(
    "axoncl_module_scope", default=None
)

# detect_anomaly (axoncl/anomaly.py): checksums of saved host arrays, and NaN/Inf checks of
# every gradient in the engine.
_CHECK_HOST = [False]
_ANOMALY = [False]


class _VersionReaders(dict):
    """``type -> getter`` of the in-place write count of its arrays (``_version``: CLArray,
    torch.Tensor), or None for types without one (numpy, scalars); learned per type."""

    def __missing__(self, kind: type) -> Callable[[Any], int] | None:
        getter = _read_version if hasattr(kind, "_version") and kind is not Variable else None
        self[kind] = getter
        return getter


_read_version = operator.attrgetter("_version")
_VERSION_OF = _VersionReaders()


def _fingerprint(value: Any) -> int:
    """A checksum of a host array's bytes: the version of arrays that count no writes (numpy),
    taken only under detect_anomaly because it reads every byte."""
    host = np.ascontiguousarray(to_numpy(value)).reshape(-1)
    return zlib.crc32(host.view(np.uint8)) if host.size else 0


# Observers of every forward and backward call (axoncl.inspect: profiler, activation recorder,
# shadow execution). Empty by default, so the cost when off is one truth test per call.
# Each is called as ``hook(kind, node, run)`` with kind "forward" or "backward", must call
# ``run()`` once and return its result; the first hook is the outermost.
_INSPECT_HOOKS: list[Callable[[str, Node, Callable[[], Any]], Any]] = []


def _observed(kind: str, node: Node, run: Callable[[], Any]) -> Any:
    """``run()`` (a forward or backward of ``node``) wrapped by every inspector hook."""
    for hook in reversed(_INSPECT_HOOKS):
        run = functools.partial(hook, kind, node, run)
    return run()


def _edge_of(v: Variable, cls: type[Function]) -> Node | LeafEdge | None:
    """The graph edge to input ``v``: its node, a LeafEdge for a leaf that requires grad, or
    None."""
    if v._inference:
        raise RuntimeError(
            f"{cls.name}: an inference-mode value cannot be used in an op that "
            "records gradients; make it outside inference_mode, or clone it with "
            "Variable(x.data.copy()) first"
        )
    if not v._requires_grad:
        return None
    fn = v.grad_fn
    if fn is None:
        fn = _new(LeafEdge)  # LeafEdge(v) without the __init__ call
        fn.variable = v
    return fn


def _creation_site() -> str:
    frame = sys._getframe(2)
    package = __name__.rsplit(".", 1)[0]
    while frame is not None and frame.f_globals.get("__name__", "").startswith(package):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _lift_scalars(raw: list[Any], xp: Any) -> list[Any]:
    """Python scalars become arrays of the array operand's dtype and device (weak scalars)."""
    arrays = [r for r in raw if not isinstance(r, _SCALARS) and r is not None]
    # A boolean condition (where) must not decide the dtype of the scalars beside it.
    like = next((r for r in arrays if not xp.isdtype(r.dtype, "bool")), arrays[0])
    dtype = like.dtype
    on_device = device_kwargs(getattr(like, "device", None))
    out = []
    for r in raw:
        if isinstance(r, _SCALARS):
            target = dtype
            if isinstance(r, complex) and not xp.isdtype(dtype, "complex floating"):
                # a complex scalar beside real floats: the complex dtype of their precision
                floating = xp.isdtype(dtype, "real floating")
                target = xp.result_type(dtype, xp.complex64) if floating else None
            elif isinstance(r, float) and not xp.isdtype(dtype, _FLOATING):
                target = None  # int array with a float scalar: default float dtype
            r = xp.asarray(r, dtype=target, **on_device)
        out.append(r)
    return out


# Imported last: variable.py imports the op rules, which import this module's Function.
from .variable import (  # noqa: E402
    _NUMPY_SCALAR,
    Variable,
    _as_array,
    _is_floating,
    _new_variable,
)
