"""Batch normalisation in training mode as primitives, so a backend can run it as a few
reductions and one fused pass each way instead of a dozen broadcasting ops.

Statistics are over every axis but 1 (channels); ``mean``, ``var`` and ``invstd`` keep those
axes as size 1, so they broadcast against the input.
"""

from __future__ import annotations

import math
from typing import Any

from . import primitive

__all__ = ["batch_norm_backward", "batch_norm_forward", "batch_norm_running"]


def _axes(x: Any) -> tuple[int, ...]:
    return (0, *range(2, x.ndim))


def _per_channel(v: Any, x: Any, xp: Any) -> Any:
    return xp.reshape(v, (1, x.shape[1]) + (1,) * (x.ndim - 2))


@primitive
def batch_norm_forward(x: Any, weight: Any, bias: Any, *, eps: float, xp: Any) -> tuple:
    """``(y, mean, var, invstd)``: ``y = (x - mean) * invstd * weight + bias`` with the batch
    ``mean`` and biased ``var`` per channel and ``invstd = 1 / sqrt(var + eps)``."""
    axes = _axes(x)
    mean = xp.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = xp.mean(centred * centred, axis=axes, keepdims=True)
    invstd = 1.0 / xp.sqrt(var + eps)
    y = centred * invstd * _per_channel(weight, x, xp) + _per_channel(bias, x, xp)
    return y, mean, var, invstd


@primitive
def batch_norm_backward(
    grad: Any, x: Any, weight: Any, mean: Any, invstd: Any, *, xp: Any
) -> tuple[Any, Any, Any]:
    """``(dx, dweight, dbias)`` of :func:`batch_norm_forward` (batch statistics), with
    ``xhat = (x - mean) invstd`` and M values per channel: ``dbias = sum(grad)``,
    ``dweight = sum(grad xhat)``, ``dx = weight invstd (grad - dbias/M - xhat dweight/M)``."""
    axes = _axes(x)
    count = math.prod(x.shape) // x.shape[1]
    xhat = (x - mean) * invstd
    dbias = xp.sum(grad, axis=axes, keepdims=True)
    dweight = xp.sum(grad * xhat, axis=axes, keepdims=True)
    scale = _per_channel(weight, x, xp) * invstd
    dx = scale * (grad - dbias / count - xhat * (dweight / count))
    return dx, xp.reshape(dweight, weight.shape), xp.reshape(dbias, weight.shape)


@primitive
def batch_norm_running(
    running_mean: Any,
    running_var: Any,
    mean: Any,
    var: Any,
    *,
    momentum: float,
    count: int,
    xp: Any,
) -> tuple[Any, Any]:
    """The running statistics after one training batch, as in PyTorch: ``(1 - m) * running +
    m * batch`` for the mean and for the variance, whose batch value is made unbiased
    (times ``count / (count - 1)``). ``mean`` and ``var`` are the batch's, of any shape with
    ``C`` elements; the results are new ``(C,)`` arrays."""
    channels = running_mean.shape[0]
    mean = xp.reshape(mean, (channels,))
    var = xp.reshape(var, (channels,)) * (count / max(count - 1, 1))
    m = float(momentum)
    return running_mean * (1.0 - m) + mean * m, running_var * (1.0 - m) + var * m
