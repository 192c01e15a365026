"""Activations: relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus, elu, softmax, log_softmax."""

from __future__ import annotations

import math
from typing import Any

from ..backends import primitives
from ..grad_mode import is_grad_enabled
from ..graph import Function
from ..variable import Variable, _new_variable
from . import _docstrings
from .arithmetic import _c, abs, exp, expm1, log1p, maximum, minimum, where

__all__ = [
    "elu",
    "erf",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]


class Relu(Function):
    """``max(x, 0)``; the gradient at 0 is 0, as in PyTorch."""

    name = "relu"

    @staticmethod
    def forward(ctx, x):
        out = primitives.relu.implementation(ctx.xp)(x, xp=ctx.xp)  # not __call__: a hot path
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays  # d relu/dx = 1 where x > 0, i.e. where the output is > 0
        if not is_grad_enabled():  # no graph through the gradient: one fused primitive
            fused = primitives.relu_backward.implementation(ctx.xp)  # not __call__: hot path
            return (_new_variable(fused(grad.data, out, xp=ctx.xp)),)
        mask = primitives.positive_mask.implementation(ctx.xp)
        return (grad * _new_variable(mask(out, xp=ctx.xp)),)


class LeakyRelu(Function):
    """``x`` for x > 0, else ``negative_slope * x``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.where(x > 0, x, x * ctx.negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        xp = ctx.xp
        positive = xp.astype(x.data > 0, x.dtype)
        slope = positive + (1.0 - positive) * ctx.negative_slope
        return (grad * Variable(slope),)


class Sigmoid(Function):
    """``1 / (1 + e^-x)``, computed without overflow for large |x|."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        e = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows
        out = xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_values  # dσ/dx = σ(1 - σ)
        return (grad * s * (1.0 - s),)


class Tanh(Function):
    """Hyperbolic tangent."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_values  # d tanh/dx = 1 - tanh²
        return (grad * _c(1.0 - t * t),)


class Erf(Function):
    """The error function (a primitive: portable fit, exact on numpy)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return primitives.erf(x, xp=ctx.xp)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values  # d erf/dx = 2/sqrt(pi) e^(-x²)
        return (grad * exp(-(x * x)) * (2.0 / math.sqrt(math.pi)),)


class Softmax(Function):
    """Softmax along ``axis``; a dedicated rule so backends can fuse it (speed, stability)."""

    autocast_policy = "float32"

    @staticmethod
    def forward(ctx, x):
        out = primitives.softmax(x, axis=ctx.axis, xp=ctx.xp)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_values  # ds_i/dx_j = s_i (δ_ij - s_j)  ⇒  s * (g - Σ g s)
        return (s * (grad - (grad * s).sum(axis=ctx.axis, keepdims=True)),)


class LogSoftmax(Function):
    """``x - logsumexp(x)`` along ``axis``; a dedicated rule for stability and fusion."""

    autocast_policy = "float32"

    @staticmethod
    def forward(ctx, x):
        out = primitives.log_softmax(x, axis=ctx.axis, xp=ctx.xp)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_values  # d/dx_j = g_j - softmax_j Σ g
        return (grad - exp(out) * grad.sum(axis=ctx.axis, keepdims=True),)


def relu(x: Any) -> Variable:
    """``max(x, 0)``."""
    return Relu.apply(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Variable:
    """``x`` for x > 0, else ``negative_slope * x``.

    Differentiable, on any backend.

    Parameters
    ----------
    x : Variable or array
        Any shape.
    negative_slope : float
        The slope for negative ``x``.

    Returns
    -------
    Variable
        ``x``'s shape and dtype.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.leaky_relu(np.array([-1.0, 2.0])).numpy()
    array([-0.01,  2.  ])
    """
    return LeakyRelu.apply(x, negative_slope=float(negative_slope))


def sigmoid(x: Any) -> Variable:
    return Sigmoid.apply(x)


def tanh(x: Any) -> Variable:
    return Tanh.apply(x)


def erf(x: Any) -> Variable:
    return Erf.apply(x)


def gelu(x: Any, approximate: str = "none") -> Variable:
    """``x Φ(x)``; ``approximate="tanh"`` uses the tanh formula, as in PyTorch.

    Differentiable, on any backend.

    Parameters
    ----------
    x : Variable or array
        Any shape.
    approximate : str
        ``"none"`` (the erf form) or ``"tanh"``.

    Returns
    -------
    Variable
        ``x``'s shape and dtype.

    Raises
    ------
    ValueError
        When ``approximate`` is neither ``"none"`` nor ``"tanh"``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = np.array([1.0])
    >>> axoncl.gelu(x).numpy().round(4), axoncl.gelu(x, approximate="tanh").numpy().round(4)
    (array([0.8413]), array([0.8412]))
    """
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + tanh(c * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise ValueError(f"gelu: expected approximate='none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def silu(x: Any) -> Variable:
    """``x σ(x)``."""
    return x * sigmoid(x)


def softplus(x: Any, beta: float = 1.0) -> Variable:
    """``log(1 + e^(βx)) / β``, as ``max(βx, 0) + log1p(e^-|βx|)`` to avoid overflow.

    Differentiable, on any backend.

    Parameters
    ----------
    x : Variable or array
        Any shape.
    beta : float
        Sharpness; large values approach ``relu``.

    Returns
    -------
    Variable
        ``x``'s shape and dtype.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.softplus(np.array([0.0])).numpy().round(4)   # log 2
    array([0.6931])
    """
    z = x * beta if beta != 1.0 else x
    out = maximum(z, 0.0) + log1p(exp(-abs(z)))
    return out / beta if beta != 1.0 else out


def elu(x: Any, alpha: float = 1.0) -> Variable:
    """``x`` for x > 0, else ``alpha (e^x - 1)``.

    Differentiable, on any backend.

    Parameters
    ----------
    x : Variable or array
        Any shape.
    alpha : float
        The value approached for large negative ``x`` is ``-alpha``.

    Returns
    -------
    Variable
        ``x``'s shape and dtype.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.elu(np.array([-1.0, 2.0])).numpy().round(4)
    array([-0.6321,  2.    ])
    """
    data = x.data if isinstance(x, Variable) else x

    # expm1 of min(x, 0) keeps the unused branch finite (no overflow, no NaN gradient).
    return where(data > 0, x, alpha * expm1(minimum(x, 0.0)))


def softmax(x: Any, axis: int = -1) -> Variable:
    """``exp(x) / sum(exp(x))`` along ``axis``, computed stably (the maximum subtracted first).

    Differentiable, on any backend.

    Parameters
    ----------
    x : Variable or array
        Any shape.
    axis : int
        The axis normalised.

    Returns
    -------
    Variable
        ``x``'s shape and dtype.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.softmax(np.array([0.0, np.log(3.0)])).numpy().round(4)
    array([0.25, 0.75])
    """
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Variable:
    """``x - logsumexp(x)`` along ``axis``, computed stably.

    Differentiable, on any backend.

    Parameters
    ----------
    x : Variable or array
        Any shape.
    axis : int
        The axis normalised.

    Returns
    -------
    Variable
        ``x``'s shape and dtype.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.log_softmax(np.array([0.0, 0.0])).numpy().round(4)
    array([-0.6931, -0.6931])
    """
    return LogSoftmax.apply(x, axis=axis)


_docstrings.document(globals())
