"""Scans: cumsum."""

from __future__ import annotations

from typing import Any

from ..graph import Function
from ..variable import Variable
from ._util import as_variable

__all__ = ["cumsum"]


class Cumsum(Function):
    """Running sum along ``axis`` (``out[i] = Σ_{j≤i} x[j]``)."""

    autocast_policy = "float32"

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.cumulative_sum(x, axis=ctx.axis)

    @staticmethod
    def backward(ctx, grad):
        # d out[i]/d x[j] = 1 for j ≤ i, so gx[j] = Σ_{i≥j} grad[i], the reversed running sum,
        # written as total − running sum + grad (no flip needed).
        total = grad.sum(axis=ctx.axis, keepdims=True)
        return (total - Cumsum.apply(grad, axis=ctx.axis) + grad,)


def cumsum(x: Any, axis: int | None = None) -> Variable:
    """Running sum along ``axis``; ``axis=None`` flattens first (as in NumPy).

    Parameters
    ----------
    x
        At least 1-D.
    axis
        The axis summed along; ``None``: the flattened value.

    Returns
    -------
    Variable
        ``x``'s shape (1-D for ``axis=None``); the gradient is the reversed running sum.

    Raises
    ------
    ValueError
        When ``x`` is 0-d or ``axis`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import cumsum
    >>> cumsum(np.array([1.0, 2.0, 3.0])).numpy()
    array([1., 3., 6.])
    """
    x = as_variable(x)
    if axis is None:
        x = x.reshape((-1,))
        axis = 0
    if x.ndim == 0:
        raise ValueError("cumsum: expected at least 1 dimension, got a 0-d value")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"cumsum: axis {axis} is out of range for shape {x.shape}")
    return Cumsum.apply(x, axis=axis % x.ndim)
