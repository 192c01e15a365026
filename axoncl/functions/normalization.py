"""Normalisation rules: batch normalisation with batch statistics (training mode)."""

from __future__ import annotations

import math
from typing import Any

from ..backends import primitives
from ..grad_mode import is_grad_enabled
from ..graph import Function
from ..variable import Variable, _new_variable

__all__ = ["batch_norm"]


def _per_channel(v: Variable, ndim: int) -> Variable:
    return v.reshape((1, v.shape[0]) + (1,) * (ndim - 2))


class BatchNorm(Function):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` with the batch mean and biased variance
    of each channel (axis 1) over every other axis.

    A dedicated rule for speed: forward and backward are the ``batch_norm_forward`` and
    ``batch_norm_backward`` primitives (on OpenCL a few reductions and one fused pass each way,
    where the composed form is a dozen broadcasting ops). The batch mean and ``1/sqrt(var +
    eps)`` are kept for backward. Under ``create_graph`` the backward is written with Variable
    ops, statistics included, so higher derivatives are exact.
    """

    autocast_policy = "float32"

    name = "batch_norm"

    @staticmethod
    def forward(ctx, x, weight, bias):
        y, mean, var, invstd = primitives.batch_norm_forward(
            x, weight, bias, eps=ctx.eps, xp=ctx.xp
        )
        ctx.save_for_backward(x, weight)
        ctx.mean, ctx.invstd = mean, invstd
        if ctx.stats is not None:  # the module's running statistics
            ctx.stats["mean"], ctx.stats["var"] = mean, var
        ctx.stats = None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_values
        if not is_grad_enabled():  # no graph through the gradient: one fused primitive
            dx, dw, db = primitives.batch_norm_backward(
                grad.data, x.data, weight.data, ctx.mean, ctx.invstd, xp=ctx.xp
            )
            return _new_variable(dx), _new_variable(dw), _new_variable(db)
        # d/dx of the normalised value, statistics included (M values per channel):
        # dx = w invstd (g - mean(g) - xhat mean(g xhat)), dw = sum(g xhat), db = sum(g).
        axes = (0, *range(2, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        invstd = ((centred * centred).mean(axis=axes, keepdims=True) + ctx.eps) ** -0.5
        xhat = centred * invstd
        db = grad.sum(axis=axes, keepdims=True)
        dw = (grad * xhat).sum(axis=axes, keepdims=True)
        count = math.prod(x.shape) // x.shape[1]
        dx = _per_channel(weight, x.ndim) * invstd * (grad - db / count - xhat * (dw / count))
        return dx, dw.reshape(weight.shape), db.reshape(weight.shape)


def batch_norm(
    x: Any, weight: Any, bias: Any, eps: float = 1e-5, *, stats: dict | None = None
) -> Variable:
    """Batch normalisation with batch statistics over every axis but 1 (training mode).

    Parameters
    ----------
    x
        ``(N, C, ...)`` input.
    weight, bias
        ``(C,)`` scale and shift.
    eps
        Added to the variance.
    stats
        A dict that receives the batch ``"mean"`` and biased ``"var"`` (raw arrays shaped to
        broadcast against ``x``), e.g. for running statistics.

    Returns
    -------
    Variable
        ``x``'s shape: ``(x - mean) / sqrt(var + eps) * weight + bias`` per channel.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.array([[1.0], [3.0]]))
    >>> axoncl.batch_norm(x, np.ones(1), np.zeros(1), eps=0.0).numpy().ravel()
    array([-1.,  1.])
    """
    return BatchNorm.apply(x, weight, bias, eps=float(eps), stats=stats)
