"""Indexing along an axis: take_along_axis, gather, one_hot, argmax, argmin."""

from __future__ import annotations

from typing import Any

from ..backends import device_kwargs, primitives
from ..graph import Function
from ..variable import Variable
from ._util import as_variable

__all__ = ["argmax", "argmin", "gather", "one_hot", "take_along_axis"]

# The ignore_index of one_hot's check: int64's minimum, which no class index can be.
_NO_CLASS = -(2**63)


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Variable) else value


def _index_array(indices: Any, xp: Any, op: str) -> Any:
    """``indices`` as an int64 array of ``xp``; a float or bool array is a TypeError."""
    raw = _raw(indices)
    if not hasattr(raw, "dtype"):
        raw = xp.asarray(raw)
    if not xp.isdtype(raw.dtype, "integral"):
        raise TypeError(f"{op}: expected integer indices, got dtype {raw.dtype}")
    return xp.astype(raw, xp.int64)


def _scatter_add(grad: Any, indices: Any, size: int, axis: int, xp: Any) -> Any:
    """Zeros with ``size`` entries on ``axis``, plus ``grad`` added at ``indices`` along it
    (repeats add up): the adjoint of ``take_along_axis``.

    Portable: each line of ``k`` indices becomes a ``k × size`` one-hot block that ``grad``
    weights, summed over ``k``; memory grows with ``k · size`` per line.
    """
    moved_grad = xp.moveaxis(grad, axis, -1)
    moved_idx = xp.moveaxis(indices, axis, -1)
    positions = xp.arange(size, dtype=xp.int64, **device_kwargs(getattr(grad, "device", None)))
    hits = xp.astype(xp.expand_dims(moved_idx, axis=-1) == positions, grad.dtype)
    out = xp.sum(xp.expand_dims(moved_grad, axis=-1) * hits, axis=-2)
    return xp.moveaxis(out, -1, axis)


class TakeAlongAxis(Function):
    """``out[..., j, ...] = x[..., indices[..., j, ...], ...]`` along ``axis``; backward adds
    the gradient back at the indices (repeated indices add up)."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        ctx.size = x.shape[ctx.axis]
        ctx.in_shape = tuple(x.shape)
        return xp.take_along_axis(x, ctx.indices, axis=ctx.axis)

    @staticmethod
    def backward(ctx, grad):
        return (_TakeAlongAxisBackward.apply(grad, owner=ctx),)


class _TakeAlongAxisBackward(Function):
    """The adjoint of :class:`TakeAlongAxis`; its own backward takes again, so second
    derivatives work."""

    name = "take_along_axis_backward"

    @staticmethod
    def forward(ctx, grad):
        owner = ctx.owner
        return _scatter_add(grad, owner.indices, owner.size, owner.axis, ctx.xp)

    @staticmethod
    def backward(ctx, grad):
        owner = ctx.owner
        return (TakeAlongAxis.apply(grad, indices=owner.indices, axis=owner.axis),)


def take_along_axis(x: Any, indices: Any, axis: int = -1) -> Variable:
    """Pick values of ``x`` along ``axis`` at ``indices`` (the array-API function).

    Parameters
    ----------
    x
        Any shape.
    indices
        Integer array with ``x``'s number of dimensions; its other axes match ``x``'s.
    axis
        The axis the indices run along.

    Returns
    -------
    Variable
        ``indices``'s shape, ``x``'s dtype; the gradient scatters back into ``x``'s shape.

    Raises
    ------
    ValueError
        When ``indices`` has not ``x``'s number of dimensions, ``axis`` is out of range, or
        the other axes' sizes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable, take_along_axis
    >>> x = Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    >>> take_along_axis(x, np.array([[2], [0]]), axis=1).numpy()
    array([[3.],
           [4.]])
    """
    x = as_variable(x)
    xp = x.xp
    idx = _index_array(indices, xp, "take_along_axis")
    if idx.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: expected indices with {x.ndim} dimensions like x, got shape "
            f"{tuple(idx.shape)} for x of shape {x.shape}"
        )
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"take_along_axis: axis {axis} is out of range for shape {x.shape}")
    axis %= x.ndim
    for a, (n, k) in enumerate(zip(x.shape, idx.shape, strict=True)):
        if a != axis and n != k:
            raise ValueError(
                f"take_along_axis: expected indices of shape matching x {x.shape} except on "
                f"axis {axis}, got {tuple(idx.shape)}"
            )
    return TakeAlongAxis.apply(x, indices=idx, axis=axis)


def gather(x: Any, axis: int, index: Any) -> Variable:
    """PyTorch's ``gather(input, dim, index)``: ``take_along_axis`` where ``index`` may be
    smaller than ``x`` on the other axes too (``x`` is cut to match).

    Parameters
    ----------
    x
        Any shape.
    axis
        The axis indexed.
    index
        An integer array with ``x``'s number of dimensions, no larger than ``x`` off ``axis``.

    Returns
    -------
    Variable
        ``index``'s shape.

    Raises
    ------
    ValueError
        When ``index`` has a different number of dimensions, or is larger than ``x`` off
        ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable, gather
    >>> gather(Variable(np.arange(6.0).reshape(2, 3)), 1, np.array([[0, 0]])).numpy()
    array([[0., 0.]])
    """
    x = as_variable(x)
    shape = tuple(_raw(index).shape)
    if len(shape) != x.ndim:
        raise ValueError(
            f"gather: expected index with {x.ndim} dimensions like x, got shape {shape}"
        )
    axis %= max(x.ndim, 1)
    if any(k > n for a, (n, k) in enumerate(zip(x.shape, shape, strict=True)) if a != axis):
        raise ValueError(
            f"gather: expected index no larger than x {x.shape} off axis {axis}, got {shape}"
        )
    key = tuple(slice(None) if a == axis else slice(0, k) for a, k in enumerate(shape))
    if any(k != n for a, (n, k) in enumerate(zip(x.shape, shape, strict=True)) if a != axis):
        x = x[key]
    return take_along_axis(x, index, axis=axis)


def one_hot(indices: Any, num_classes: int = -1, *, dtype: Any = None) -> Variable:
    """A new last axis of length ``num_classes`` holding 1 at each index, 0 elsewhere.

    ``num_classes=-1`` uses ``max(indices) + 1`` (a read from the device). ``dtype`` defaults
    to int64, as in PyTorch; pass ``"float32"`` (or a dtype) for a float mask.

    Parameters
    ----------
    indices
        An integer array or Variable of any shape.
    num_classes
        The length of the new axis; -1: ``max(indices) + 1``.
    dtype
        The result's dtype (default int64).

    Returns
    -------
    Variable
        ``indices.shape + (num_classes,)``; no gradient flows through it.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import one_hot
    >>> one_hot(np.array([0, 2]), 3).numpy()
    array([[1, 0, 0],
           [0, 0, 1]])
    """
    raw = _raw(indices)
    if not hasattr(raw, "dtype"):
        raw = as_variable(raw).data
    xp = as_variable(raw).xp
    idx = _index_array(raw, xp, "one_hot")
    if num_classes < 0:
        num_classes = int(xp.max(idx)) + 1 if idx.size else 0
    # Every index must name a class: a negative one or one >= num_classes raises (on OpenCL
    # from the device's error flag, at the next read) instead of giving a row of zeros.
    primitives.check_targets(idx, num_classes, ignore_index=_NO_CLASS, op="one_hot", xp=xp)
    dtype = xp.int64 if dtype is None else (getattr(xp, dtype) if isinstance(dtype, str) else dtype)
    positions = xp.arange(
        num_classes, dtype=xp.int64, **device_kwargs(getattr(idx, "device", None))
    )
    return Variable(xp.astype(xp.expand_dims(idx, axis=-1) == positions, dtype))


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Variable:
    """Index of the largest value (the first one on ties), over the flattened value when
    ``axis`` is None; an int64 Variable outside any graph.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    axis : int or None
        The axis searched; ``None``: the flattened value.
    keepdims : bool
        Keep the axis with size 1.

    Returns
    -------
    Variable
        int64 indices, not differentiable.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.argmax(np.array([1.0, 3.0, 3.0])).numpy()
    array(1)
    """
    raw = _raw(x)
    xp = as_variable(raw).xp
    return Variable(xp.argmax(raw, axis=axis, keepdims=keepdims))


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Variable:
    """Index of the smallest value (the first one on ties); see :func:`argmax`.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    axis : int or None
        The axis searched; ``None``: the flattened value.
    keepdims : bool
        Keep the axis with size 1.

    Returns
    -------
    Variable
        int64 indices, not differentiable.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.argmin(np.array([[2.0, 1.0], [0.0, 5.0]]), axis=1).numpy()
    array([1, 0])
    """
    raw = _raw(x)
    xp = as_variable(raw).xp
    return Variable(xp.argmin(raw, axis=axis, keepdims=keepdims))
