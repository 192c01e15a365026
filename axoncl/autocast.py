"""Automatic mixed precision: ``autocast`` runs products in a low-precision dtype.

Inside ``autocast(dtype="float16")`` (or ``"bfloat16"``), each op rule with a class attribute
``autocast_policy`` casts its floating inputs before it runs:

* ``"low"`` (matmul, linear, conv2d; so conv1d and einsum too): float32 inputs are cast to the
  low dtype and the product is computed there;
* ``"float32"`` (sum, mean, prod, logsumexp, cumsum, softmax, log_softmax, the losses, batch
  norm; layer norm, norm and the composed losses cast on entry with :func:`to_float32`): inputs
  in a low dtype are cast up to float32;
* every other op follows the namespace's type promotion (float16 with float32 gives float32).

float64 inputs are never cast. The casts are ``astype`` ops of the graph, so a float32
parameter used by a float16 matmul gets a float32 gradient (master weights). The mode is per
thread and per asyncio task (a ``ContextVar``), like the grad modes; new threads start
without it, and backward runs without it (each backward formula sees the dtypes its forward
saw). Only this module sets the variable, besides the engine, which clears it for the length of
a backward; ``Function.apply`` reads it only for op rules that have a policy.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from .backends import backend_name, namespace_of
from .grad_mode import _GradMode

__all__ = ["autocast", "get_autocast_dtype", "is_autocast_enabled", "to_float32"]

# The low dtype's name while autocast is on in this thread/task, else None.
_AUTOCAST: ContextVar[str | None] = ContextVar("axoncl_autocast", default=None)

LOW_DTYPES = ("float16", "bfloat16")


def get_autocast_dtype() -> str | None:
    """The name of the low dtype of the active :class:`autocast`, or None outside one.

    Returns
    -------
    str or None
        ``"float16"``, ``"bfloat16"`` or None.

    Examples
    --------
    >>> import axoncl
    >>> axoncl.get_autocast_dtype() is None
    True
    >>> with axoncl.autocast(dtype="bfloat16"):
    ...     axoncl.get_autocast_dtype()
    'bfloat16'
    """
    return _AUTOCAST.get()


def is_autocast_enabled() -> bool:
    """Whether an :class:`autocast` region is active in this thread or task.

    Returns
    -------
    bool
        True inside an enabled ``autocast`` block.

    Examples
    --------
    >>> import axoncl
    >>> axoncl.is_autocast_enabled()
    False
    >>> with axoncl.autocast():
    ...     axoncl.is_autocast_enabled()
    True
    """
    return _AUTOCAST.get() is not None


class autocast(_GradMode):  # noqa: N801 - a function-like name, as users expect
    """Run matrix products and convolutions in ``dtype`` and reductions, softmax, losses and
    normalisation in float32; a context manager and a decorator.

    Parameters
    ----------
    dtype
        ``"float16"`` or ``"bfloat16"``, looked up in each array's namespace when an op casts:
        a backend without it raises a ``TypeError`` naming the backend and the dtype.
    enabled
        ``False`` turns autocast off inside the block (also within an enclosing autocast).

    Raises
    ------
    ValueError
        When ``dtype`` is not ``"float16"`` or ``"bfloat16"``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> w = axoncl.Variable(np.ones((3, 2), np.float32), requires_grad=True)
    >>> with axoncl.autocast(dtype="float16"):
    ...     y = axoncl.Variable(np.ones((4, 3), np.float32)) @ w
    ...     loss = y.sum()
    >>> str(y.dtype), str(loss.dtype)
    ('float16', 'float32')
    >>> loss.backward()
    >>> str(w.grad.dtype)
    'float32'
    """

    def __init__(self, dtype: str = "float16", enabled: bool = True) -> None:
        if dtype not in LOW_DTYPES:
            raise ValueError(f"autocast: expected dtype 'float16' or 'bfloat16', got {dtype!r}")
        self._args = (dtype, bool(enabled))
        self.dtype = dtype
        self.enabled = bool(enabled)
        self._stack: list[list[tuple[ContextVar, Token]]] = []

    def _enter(self) -> list[tuple[ContextVar, Token]]:
        return [(_AUTOCAST, _AUTOCAST.set(self.dtype if self.enabled else None))]


class _Dtypes:
    """float32, float16 and bfloat16 of one namespace (None where it lacks one)."""

    __slots__ = ("bfloat16", "float16", "float32")

    def __init__(self, xp: Any) -> None:
        self.float32 = xp.float32
        self.float16 = getattr(xp, "float16", None)
        self.bfloat16 = getattr(xp, "bfloat16", None)


_DTYPES: dict[Any, _Dtypes] = {}


def _dtypes(xp: Any) -> _Dtypes:
    found = _DTYPES.get(xp)
    if found is None:
        found = _DTYPES[xp] = _Dtypes(xp)
    return found


def low_dtype(xp: Any, name: str, op: str = "autocast") -> Any:
    """The dtype object ``name`` of namespace ``xp``; a clear error when it has none."""
    dtype = getattr(_dtypes(xp), name)
    if dtype is None:
        raise TypeError(
            f"{op}: the {backend_name(xp)} backend has no {name} dtype; use a backend that has "
            "it, another autocast dtype, or full precision (autocast(enabled=False))"
        )
    return dtype


def _is_low(dtype: Any, dts: _Dtypes) -> bool:
    return dtype is not None and (dtype == dts.float16 or dtype == dts.bfloat16)


def cast_inputs(policy: str, low: str, args: tuple[Any, ...], op: str) -> tuple[Any, ...]:
    """``args`` with the floating inputs cast as ``policy`` says (``Function.apply`` calls it
    while autocast is on); everything else passes through unchanged."""
    from .functions.shape import astype  # the cast op: a graph op, so gradients come back
    from .variable import Variable

    out = list(args)
    for i, arg in enumerate(args):
        data = arg.data if isinstance(arg, Variable) else arg
        dtype = getattr(data, "dtype", None)
        if dtype is None:
            continue
        xp = namespace_of(data)
        dts = _dtypes(xp)
        if policy == "low":
            if dtype == dts.float32:
                out[i] = astype(arg, low_dtype(xp, low, op))
        elif _is_low(dtype, dts):
            out[i] = astype(arg, dts.float32)
    return tuple(out)


def to_float32(*values: Any) -> Any:
    """``values`` with low-precision floating ones cast to float32 while autocast is on (the
    entry of a composed float32 op: layer_norm, norm, mse_loss, ...); unchanged otherwise.
    One value in, one out; several in, a tuple out."""
    if _AUTOCAST.get() is None:
        return values[0] if len(values) == 1 else values
    cast = cast_inputs("float32", "", values, "autocast")
    return cast[0] if len(values) == 1 else cast
