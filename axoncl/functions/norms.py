"""Norms: vector p-norms over one or more axes (``fro`` over two axes is the 2-norm)."""

from __future__ import annotations

import math
from typing import Any

from ..autocast import to_float32
from ..variable import Variable
from ._util import as_variable, normalize_axes
from .arithmetic import abs

__all__ = ["norm"]


def norm(
    x: Any,
    ord: float | str = 2,  # noqa: A002 - NumPy's and PyTorch's name
    axis: int | tuple[int, ...] | None = None,
    keepdims: bool = False,
) -> Variable:
    """The vector ``ord``-norm over ``axis`` (all axes by default), built from other ops.

    ``ord``: a real ``p > 0`` (``(Σ|x|ᵖ)^(1/p)``), ``inf`` (max ``|x|``), ``-inf`` (min
    ``|x|``), or ``"fro"`` (the 2-norm). The gradient of the 2-norm is ``x / ‖x‖``: NaN at
    ``x = 0``, where the norm has no derivative.

    Parameters
    ----------
    x
        Any shape.
    ord
        As above.
    axis
        The axes reduced; ``None``: all.
    keepdims
        Keep the reduced axes with size 1.

    Returns
    -------
    Variable
        The norm, ``x``'s shape without the reduced axes.

    Raises
    ------
    ValueError
        When ``ord`` is not a positive number, ``inf``, ``-inf`` or ``"fro"``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import norm
    >>> norm(np.array([3.0, 4.0])).item()
    5.0
    """
    x = to_float32(as_variable(x))  # a reduction: float32 under autocast
    axes = normalize_axes(axis, x.ndim, "norm")
    if ord == "fro":
        ord = 2
    if isinstance(ord, str) or not isinstance(ord, (int, float)):
        raise ValueError(
            f"norm: expected ord as a positive number, inf, -inf or 'fro', got {ord!r}"
        )
    if ord == math.inf:
        return abs(x).max(axis=axes, keepdims=keepdims)
    if ord == -math.inf:
        return abs(x).min(axis=axes, keepdims=keepdims)
    if ord <= 0:
        raise ValueError(f"norm: expected ord > 0 (or ±inf), got {ord}")
    if ord == 2:
        return (x * x).sum(axis=axes, keepdims=keepdims).sqrt()
    if ord == 1:
        return abs(x).sum(axis=axes, keepdims=keepdims)
    return (abs(x) ** float(ord)).sum(axis=axes, keepdims=keepdims) ** (1.0 / ord)
