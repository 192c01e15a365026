"""Host side of ``kernels/norm.cl``: the OpenCL versions of the ``batch_norm_forward`` and
``batch_norm_backward`` primitives. Statistics come from the namespace's reductions (over the
batch and spatial axes, without transposing copies); the per-element work is one fused pass
each way: ``y = x * scale + shift`` forward and ``dx = grad * p + x * q + r`` backward, with
per-channel coefficients computed on small arrays. Inputs that are not float32/float64 take the
portable path."""

from __future__ import annotations

import math

from .. import primitives
from .array import CLArray, ascontiguous, empty
from .launch import get_kernel
from .layout import check_device
from .windows import NAMESPACE, real_defines

__all__: list[str] = []


def _fits(x, *others) -> bool:
    return (
        isinstance(x, CLArray)
        and x.dtype.kind == "f"
        and x.ndim >= 2
        and all(isinstance(o, CLArray) and o.dtype == x.dtype for o in others)
    )


def _channel_pass(name: str, x: CLArray, operands: list[CLArray], coefficients) -> CLArray:
    """``out`` from ``kernels/norm.cl``'s ``norm_channel_<name>`` over contiguous ``x``-shaped
    ``operands`` and per-channel ``coefficients``."""
    device = check_device("batch_norm", x, *operands, *coefficients)
    channels = x.shape[1]
    inner = math.prod(x.shape[2:])
    planes = x.shape[0] * channels
    out = empty(x.shape, x.dtype, device)
    run = device.vector_width
    kernel = get_kernel(
        device, "norm", f"norm_channel_{name}", RUN=run, **real_defines(x.dtype, "batch_norm")
    )
    args = [v for a in operands for v in (a.buffer, a.offset)]
    args += [ascontiguous(c).buffer for c in coefficients]
    kernel.launch_grid(
        -(-inner // run),
        planes,
        inner,
        channels,
        *args,
        out.buffer,
        op="batch_norm",
        shapes=(x.shape,),
    )
    return out


def _flat(v: CLArray, xp) -> CLArray:
    return ascontiguous(xp.reshape(v, (v.size,)))


@primitives.batch_norm_forward.register(NAMESPACE)
def _batch_norm_forward_cl(x, weight, bias, *, eps, xp):
    if not _fits(x, weight, bias) or x.size == 0:
        return primitives.batch_norm_forward.portable(x, weight, bias, eps=eps, xp=xp)
    x = ascontiguous(x)
    axes = (0, *range(2, x.ndim))
    mean = xp.mean(x, axis=axes, keepdims=True)
    var = xp.var(x, axis=axes, keepdims=True)
    invstd = 1.0 / xp.sqrt(var + eps)
    scale = _flat(invstd, xp) * weight  # y = x * scale + (bias - mean * scale)
    shift = bias - _flat(mean, xp) * scale
    y = _channel_pass("affine", x, [x], [scale, shift])
    return y, mean, var, invstd


@primitives.batch_norm_backward.register(NAMESPACE)
def _batch_norm_backward_cl(grad, x, weight, mean, invstd, *, xp):
    if not _fits(x, grad, weight, mean, invstd) or x.size == 0:
        return primitives.batch_norm_backward.portable(grad, x, weight, mean, invstd, xp=xp)
    x, grad = ascontiguous(x), ascontiguous(grad)
    axes = (0, *range(2, x.ndim))
    count = x.size // x.shape[1]
    dbias = xp.sum(grad, axis=axes)
    dweight = xp.sum(grad * (x - mean), axis=axes) * _flat(invstd, xp)
    # dx = k (grad - dbias/M - xhat dweight/M), k = weight invstd, xhat = (x - mean) invstd:
    # grad * k + x * (-k invstd dweight / M) + k (mean invstd dweight - dbias) / M.
    m, s = _flat(mean, xp), _flat(invstd, xp)
    k = weight * s
    q = -(k * s * dweight) / count
    r = k * (m * s * dweight - dbias) / count
    dx = _channel_pass("combine", x, [grad, x], [k, q, r])
    return dx, dweight, dbias
