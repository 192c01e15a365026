"""Reductions: sum, mean, max, min, prod, var, std, logsumexp (axis int or tuple, keepdims)."""

from __future__ import annotations

import builtins
import math
from typing import Any

from ..autocast import to_float32
from ..backends import primitives
from ..graph import Function
from ..variable import Variable
from . import _docstrings
from ._util import normalize_axes
from .arithmetic import _c, exp, where
from .shape import broadcast_to

__all__ = ["logsumexp", "max", "mean", "min", "prod", "std", "sum", "var"]


def _expand(grad: Variable, ctx: Any) -> Variable:
    """Put the reduced axes back as size 1, so ``grad`` broadcasts against the input."""
    axes = ctx.axes
    n = len(axes)
    if ctx.keepdims or axes == (_ALL_AXES[n] if n < len(_ALL_AXES) else tuple(range(n))):
        return grad  # reduced leading axes (or all of them) come back by broadcasting alone
    shape = list(ctx.in_shape)
    for a in ctx.axes:
        shape[a] = 1
    return grad.reshape(tuple(shape))


_ALL_AXES = [tuple(range(n)) for n in range(33)]  # axis=None, the common case: no work


def _setup(ctx: Any, x: Any) -> tuple[int, ...]:
    shape = x.shape
    ctx.in_shape = shape if type(shape) is tuple else tuple(shape)
    axis = ctx.axis
    ndim = len(shape)
    if axis is None and ndim < len(_ALL_AXES):
        ctx.axes = _ALL_AXES[ndim]
    else:
        ctx.axes = normalize_axes(axis, ndim, ctx.function.name)
    return ctx.axes


class Sum(Function):
    """Sum over ``axis``."""

    autocast_policy = "float32"

    @staticmethod
    def forward(ctx, x):
        axes = _setup(ctx, x)
        impl = primitives.sum.implementation(ctx.xp)  # not __call__: a hot path
        return impl(x, axis=axes, keepdims=ctx.keepdims, xp=ctx.xp)

    @staticmethod
    def backward(ctx, grad):  # d Σx/dx = 1: spread the gradient back over the reduced axes
        return (broadcast_to(_expand(grad, ctx), ctx.in_shape),)


class Mean(Function):
    """Mean over ``axis``."""

    autocast_policy = "float32"

    @staticmethod
    def forward(ctx, x):
        axes = _setup(ctx, x)
        ctx.count = math.prod(x.shape[a] for a in axes)
        return ctx.xp.mean(x, axis=axes, keepdims=ctx.keepdims)

    @staticmethod
    def backward(ctx, grad):  # d mean/dx = 1/n
        return (_expand(grad, ctx).broadcast_to(ctx.in_shape) * (1.0 / builtins.max(ctx.count, 1)),)


class _Extremum(Function):
    """max/min over ``axis``; tied maxima share the gradient evenly."""

    @staticmethod
    def forward(ctx, x):
        axes = _setup(ctx, x)
        if x.size == 0:
            raise ValueError(
                f"{ctx.function.name}: cannot reduce an empty value (shape {tuple(x.shape)})"
            )
        out = ctx.function.reduce(ctx.xp, x, axes, ctx.keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_values
        xp = ctx.xp
        hit = xp.astype(x.data == _expand(out, ctx).data, x.dtype)
        share = hit / xp.sum(hit, axis=ctx.axes, keepdims=True)
        return (_expand(grad, ctx) * Variable(share),)


class Max(_Extremum):
    reduce = staticmethod(lambda xp, x, axes, keep: xp.max(x, axis=axes, keepdims=keep))


class Min(_Extremum):
    reduce = staticmethod(lambda xp, x, axes, keep: xp.min(x, axis=axes, keepdims=keep))


class Prod(Function):
    """Product over ``axis``; the gradient is right when inputs contain zeros."""

    autocast_policy = "float32"

    @staticmethod
    def forward(ctx, x):
        axes = _setup(ctx, x)
        ctx.save_for_backward(x)
        return ctx.xp.prod(x, axis=axes, keepdims=ctx.keepdims)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        xp = ctx.xp
        # d Πx/dx_i = Π_{j≠i} x_j. With no zero that is prod/x_i; with one zero only the zero's
        # entry is non-zero (the product of the others); with two or more, all are zero.
        is_zero = x.data == 0
        ones = Variable(xp.ones_like(x.data))
        nonzero = where(is_zero, ones, x)
        prod_nz = nonzero.prod(axis=ctx.axes, keepdims=True)
        zeros = xp.sum(xp.astype(is_zero, x.dtype), axis=ctx.axes, keepdims=True)
        others = where(is_zero, prod_nz * ones, prod_nz / nonzero)
        keep = (zeros == 0) | ((zeros == 1) & is_zero)
        return (_expand(grad, ctx) * _c(where(keep, others, ones * 0.0)),)


class Logsumexp(Function):
    """``log Σ e^x`` over ``axis``; a dedicated rule for stability."""

    autocast_policy = "float32"

    @staticmethod
    def forward(ctx, x):
        axes = _setup(ctx, x)
        out = primitives.logsumexp(x, axis=axes, keepdims=ctx.keepdims, xp=ctx.xp)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_values  # d lse/dx = softmax(x) = e^(x - lse)
        return (_expand(grad, ctx) * exp(x - _expand(out, ctx)),)


def sum(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Sum over ``axis`` (all axes by default)."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return Min.apply(x, axis=axis, keepdims=keepdims)


def prod(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:
    return Prod.apply(x, axis=axis, keepdims=keepdims)


def var(
    x: Any,
    axis: int | tuple[int, ...] | None = None,
    keepdims: bool = False,
    correction: float = 0.0,
) -> Variable:
    """Variance, ``Σ(x - mean)² / (n - correction)``."""
    x = to_float32(x if isinstance(x, Variable) else Variable(x))  # float32 under autocast
    axes = normalize_axes(axis, x.ndim, "var")
    n = math.prod(x.shape[a] for a in axes)
    centered = x - x.mean(axis=axes, keepdims=True)
    total = (centered * centered).sum(axis=axes, keepdims=keepdims)
    return total / builtins.max(n - correction, 0.0)


def std(
    x: Any,
    axis: int | tuple[int, ...] | None = None,
    keepdims: bool = False,
    correction: float = 0.0,
) -> Variable:
    """Standard deviation, the square root of :func:`var`."""
    return var(x, axis=axis, keepdims=keepdims, correction=correction).sqrt()


def logsumexp(
    x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Variable:
    return Logsumexp.apply(x, axis=axis, keepdims=keepdims)


_docstrings.document(globals())
