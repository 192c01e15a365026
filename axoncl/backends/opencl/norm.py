"""Host side of ``kernels/norm.cl``: the OpenCL versions of the ``batch_norm_forward`` and
``batch_norm_backward`` primitives, and of ``batch_norm_running``. Each direction of batch
normalisation is two launches: a statistics kernel with one work-group per channel
(``norm_bn_stats``: the mean, the variance over centred values and the scale;
``norm_bn_grad_stats``: dbias, dweight and the coefficients of dx) and one fused pass over the
elements, ``y = (x - mean) * scale + bias`` forward and ``dx = grad * k + (x - mean) * q + r``
backward; the running statistics are one more (``norm_running``). Inputs that are not
float32/float64 take the portable path (16-bit ones are widened first)."""

from __future__ import annotations

import math

import numpy as np

from .. import primitives
from .array import CLArray, ascontiguous, empty
from .launch import get_kernel, tree_defines, tree_size
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


def _defines(x: CLArray) -> dict:
    """The defines of norm.cl for ``x``: one program for all of its kernels."""
    return {
        "RUN": x.device.vector_width,
        **real_defines(x.dtype, "batch_norm"),
        **tree_defines(x.device),
    }


def _stats(name: str, a: CLArray, *operands, size: int, extra=()) -> CLArray:
    """``norm_<name>`` (one work-group per channel) over contiguous ``a``: ``size`` values.
    ``operands`` are arrays (passed as buffer and offset), ``extra`` scalars after them."""
    device = a.device
    images, channels = a.shape[0], a.shape[1]
    defines = _defines(a)
    lws = tree_size(device)
    out = empty((size,), a.dtype, device)
    args = [v for o in map(ascontiguous, (a, *operands)) for v in (o.buffer, o.offset)]
    get_kernel(device, "norm", f"norm_{name}", **defines).launch(
        (lws, channels),
        (lws, 1),
        images,
        channels,
        math.prod(a.shape[2:]),
        *args,
        *extra,
        out.buffer,
        op="batch_norm",
        shapes=(a.shape,),
    )
    return out


def _block(stats: CLArray, i: int, shape: tuple[int, ...]) -> CLArray:
    """Block ``i`` of ``stats`` (blocks of ``prod(shape)`` = channels values), as an array of
    ``shape``."""
    offset = stats.offset + i * math.prod(shape)
    return CLArray(stats.device, stats.buffer, offset, shape, None, stats.dtype)


def _channel_pass(name: str, x: CLArray, operands: list[CLArray], coef: CLArray, blocks) -> CLArray:
    """``out`` from ``kernels/norm.cl``'s ``norm_channel_<name>`` over contiguous ``x``-shaped
    ``operands``, with the per-channel coefficients in ``blocks`` (of ``channels``) of ``coef``."""
    device = check_device("batch_norm", x, *operands, coef)
    channels = x.shape[1]
    inner = math.prod(x.shape[2:])
    planes = x.shape[0] * channels
    out = empty(x.shape, x.dtype, device)
    run = device.vector_width
    kernel = get_kernel(device, "norm", f"norm_channel_{name}", **_defines(x))
    args = [v for a in operands for v in (a.buffer, a.offset)]
    kernel.launch_grid(
        -(-inner // run),
        planes,
        inner,
        channels,
        *args,
        coef.buffer,
        *(coef.offset + i * channels for i in blocks),
        out.buffer,
        op="batch_norm",
        shapes=(x.shape,),
    )
    return out


@primitives.batch_norm_forward.register(NAMESPACE)
def _batch_norm_forward_cl(x, weight, bias, *, eps, xp):
    if not _fits(x, weight, bias) or x.size == 0:
        return primitives.batch_norm_forward.portable(x, weight, bias, eps=eps, xp=xp)
    check_device("batch_norm", x, weight, bias)
    x = ascontiguous(x)
    # mean, var, invstd, scale, bias: y = (x - mean) * scale + bias
    stats = _stats("bn_stats", x, weight, bias, size=5 * x.shape[1], extra=(float(eps),))
    y = _channel_pass("affine", x, [x], stats, (0, 3, 4))
    keep = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return y, _block(stats, 0, keep), _block(stats, 1, keep), _block(stats, 2, keep)


@primitives.batch_norm_backward.register(NAMESPACE)
def _batch_norm_backward_cl(grad, x, weight, mean, invstd, *, xp):
    if not _fits(x, grad, weight, mean, invstd) or x.size == 0:
        return primitives.batch_norm_backward.portable(grad, x, weight, mean, invstd, xp=xp)
    check_device("batch_norm", x, grad, weight, mean, invstd)
    x, grad = ascontiguous(x), ascontiguous(grad)
    # dbias, dweight, and dx = grad * k + (x - mean) * q + r (per channel: see norm.cl).
    stats = _stats("bn_grad_stats", grad, x, weight, mean, invstd, size=6 * x.shape[1])
    dx = _channel_pass("combine", x, [grad, x], stats, (5, 2, 3, 4))
    return dx, _block(stats, 1, (x.shape[1],)), _block(stats, 0, (x.shape[1],))


@primitives.batch_norm_running.register(NAMESPACE)
def _batch_norm_running_cl(running_mean, running_var, mean, var, *, momentum, count, xp):
    arrays = (running_mean, running_var, mean, var)
    channels = running_mean.shape[0] if running_mean.ndim == 1 else -1
    if not (
        all(isinstance(a, CLArray) and a.dtype == running_mean.dtype for a in arrays)
        and running_mean.dtype in (np.float32, np.float64)
        and all(a.size == channels for a in arrays)
    ):
        return primitives.batch_norm_running.portable(
            running_mean, running_var, mean, var, momentum=momentum, count=count, xp=xp
        )
    device = check_device("batch_norm", *arrays)
    out_mean, out_var = (empty((channels,), running_mean.dtype, device) for _ in range(2))
    m = float(momentum)
    kernel = get_kernel(device, "norm", "norm_running", **_defines(running_mean))
    kernel.launch_items(
        channels,
        channels,
        *(v for a in map(ascontiguous, arrays) for v in (a.buffer, a.offset)),
        1.0 - m,
        m,
        count / max(count - 1, 1),
        out_mean.buffer,
        out_var.buffer,
        op="batch_norm",
        shapes=(running_mean.shape,),
    )
    return out_mean, out_var
