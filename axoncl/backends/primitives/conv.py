"""Convolution and pooling windows: im2col/col2im, conv2d and its two gradients, max and average
pooling with their adjoints, and ``conv_output_size``.

Sizes arrive normalised by ``functions/conv.py``: every ``kernel_size``, ``stride``,
``padding`` and ``dilation`` is a pair of ints, inputs are NCHW. Column matrices follow
docs/kernels.md, section 3.1: row ``r = (c*KH + kh)*KW + kw``, column ``p = oh*OW + ow``.
"""

from __future__ import annotations

import math
from typing import Any

from .. import device_kwargs
from . import _device, primitive
from .core import set_index

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "col2im",
    "conv2d",
    "conv2d_input_grad",
    "conv2d_weight_grad",
    "conv_output_size",
    "im2col",
    "max_pool2d_argmax",
    "max_pool2d_gather",
    "max_pool2d_gather_index",
    "max_pool2d_scatter",
    "max_pool2d_scatter_index",
]


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """``(size + 2*padding - dilation*(kernel-1) - 1) // stride + 1`` (may be <= 0)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _full_like_device(shape: tuple[int, ...], value: float, like: Any, xp: Any) -> Any:
    return xp.full(shape, value, dtype=like.dtype, **device_kwargs(_device(like)))


def _pad_hw(x: Any, padding: tuple[int, int], value: float, xp: Any) -> Any:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    out = _full_like_device((n, c, h + 2 * ph, w + 2 * pw), value, x, xp)
    return set_index(
        out, (slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w)), x, xp=xp
    )


def _windows(x: Any, kernel_size, stride, padding, dilation, pad_value: float, xp: Any) -> Any:
    """``[N, C, KH*KW, OH, OW]``: the input under each kernel tap (strided slices)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    oh = conv_output_size(h, kh, sh, padding[0], dh)
    ow = conv_output_size(w, kw, sw, padding[1], dw)
    padded = _pad_hw(x, padding, pad_value, xp)
    taps = []
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            taps.append(
                padded[:, :, r0 : r0 + sh * (oh - 1) + 1 : sh, c0 : c0 + sw * (ow - 1) + 1 : sw]
            )
    return xp.stack(taps, axis=2)


def _unwindows(cols: Any, input_size, kernel_size, stride, padding, dilation, xp: Any) -> Any:
    """The adjoint of :func:`_windows`: ``[N, C, KH*KW, OH, OW]`` summed back into NCHW."""
    n, c, _, oh, ow = cols.shape
    h, w = input_size
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    hp, wp = h + 2 * ph, w + 2 * pw
    out = _full_like_device((n, c, hp, wp), 0.0, cols, xp)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            key = (
                slice(None),
                slice(None),
                slice(r0, r0 + sh * (oh - 1) + 1, sh),
                slice(c0, c0 + sw * (ow - 1) + 1, sw),
            )
            out = set_index(out, key, out[key] + cols[:, :, i * kw + j, ...], xp=xp)
    if ph == 0 and pw == 0:
        return out
    return out[:, :, ph : ph + h, pw : pw + w]


@primitive
def im2col(
    x: Any, kernel_size, *, stride, padding, dilation, pad_value: float = 0.0, xp: Any
) -> Any:
    """``[N, C, H, W]`` -> column matrices ``[N, C*KH*KW, OH*OW]`` (padding reads
    ``pad_value``). Portable version: one strided slice per kernel tap."""
    n, c = x.shape[:2]
    cols = _windows(x, kernel_size, stride, padding, dilation, pad_value, xp)
    return xp.reshape(cols, (n, c * kernel_size[0] * kernel_size[1], cols.shape[3] * cols.shape[4]))


@primitive
def col2im(col: Any, input_size, kernel_size, *, stride, padding, dilation, xp: Any) -> Any:
    """The adjoint of :func:`im2col`: ``[N, C*KH*KW, OH*OW]`` -> ``[N, C, H, W]``, adding the
    entries that land on the same pixel (padding entries are dropped)."""
    n, rows, _ = col.shape
    kh, kw = kernel_size
    h, w = input_size
    oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    cols = xp.reshape(col, (n, rows // (kh * kw), kh * kw, oh, ow))
    return _unwindows(cols, input_size, kernel_size, stride, padding, dilation, xp)


def _is_pointwise(kernel_size, stride, padding) -> bool:
    return tuple(kernel_size) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)


def _columns(x: Any, kernel_size, stride, padding, dilation, xp: Any) -> Any:
    if _is_pointwise(kernel_size, stride, padding):  # the input already is the column matrix
        n, c, h, w = x.shape
        return xp.reshape(x, (n, c, h * w))
    return im2col(x, kernel_size, stride=stride, padding=padding, dilation=dilation, xp=xp)


def _chunks(n: int, per_image: int) -> list[tuple[int, int]]:
    from . import COLUMN_BUDGET  # the package's setting, read per call (tests lower it)

    step = max(1, COLUMN_BUDGET // max(per_image, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)] or [(0, 0)]


@primitive
def conv2d(
    x: Any,
    weight: Any,
    bias: Any,
    *,
    stride,
    padding,
    dilation,
    groups: int,
    xp: Any,
    keep_columns: Any = None,
) -> Any:
    """NCHW convolution (cross-correlation): im2col, then one batched matmul per chunk of
    images, ``Y[n, g] = W[g] @ col[n, g]``, plus the bias per output channel.

    ``keep_columns``, a :class:`ColumnStash`, says that :func:`conv2d_weight_grad` of this
    ``x`` will follow with ``columns=`` the same stash: a backend may leave the column matrix
    there (the OpenCL one does, within ``KEPT_COLUMNS_BUDGET``); this portable form ignores
    it."""
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    wg = xp.reshape(weight, (groups, o // groups, cg * kh * kw))
    outs = []
    for a, b in _chunks(n, c * kh * kw * oh * ow):
        col = _columns(x[a:b, ...], (kh, kw), stride, padding, dilation, xp)
        col = xp.reshape(col, (b - a, groups, cg * kh * kw, oh * ow))
        outs.append(xp.reshape(xp.matmul(wg, col), (b - a, o, oh, ow)))
    out = outs[0] if len(outs) == 1 else xp.concat(outs, axis=0)
    if bias is not None:
        out = out + xp.reshape(bias, (1, o, 1, 1))
    return out


@primitive
def conv2d_input_grad(
    grad: Any, weight: Any, input_size, *, stride, padding, dilation, groups: int, xp: Any
) -> Any:
    """d(conv2d)/dx applied to ``grad``: ``dcol[n, g] = W[g]^T @ dY[n, g]``, then col2im."""
    n, o, oh, ow = grad.shape
    _, cg, kh, kw = weight.shape
    h, w = input_size
    wt = xp.matrix_transpose(xp.reshape(weight, (groups, o // groups, cg * kh * kw)))
    outs = []
    for a, b in _chunks(n, groups * cg * kh * kw * oh * ow):
        g = xp.reshape(grad[a:b, ...], (b - a, groups, o // groups, oh * ow))
        dcol = xp.reshape(xp.matmul(wt, g), (b - a, groups * cg * kh * kw, oh * ow))
        if _is_pointwise((kh, kw), stride, padding):
            outs.append(xp.reshape(dcol, (b - a, groups * cg, h, w)))
        else:
            outs.append(
                col2im(
                    dcol, (h, w), (kh, kw), stride=stride, padding=padding, dilation=dilation, xp=xp
                )
            )
    return outs[0] if len(outs) == 1 else xp.concat(outs, axis=0)


@primitive
def conv2d_weight_grad(
    grad: Any,
    x: Any,
    kernel_size,
    *,
    stride,
    padding,
    dilation,
    groups: int,
    xp: Any,
    columns: Any = None,
) -> Any:
    """d(conv2d)/dweight applied to ``grad``: ``dW[g] = sum_n dY[n, g] @ col[n, g]^T``.
    ``columns``: the :class:`ColumnStash` of the forward of this ``x`` (ignored here)."""
    n, c = x.shape[:2]
    _, o, oh, ow = grad.shape
    kh, kw = kernel_size
    kg = (c // groups) * kh * kw
    total = None
    for a, b in _chunks(n, c * kh * kw * oh * ow):
        col = xp.reshape(
            _columns(x[a:b, ...], kernel_size, stride, padding, dilation, xp),
            (b - a, groups, kg, oh * ow),
        )
        g = xp.reshape(grad[a:b, ...], (b - a, groups, o // groups, oh * ow))
        part = xp.sum(xp.matmul(g, xp.matrix_transpose(col)), axis=0)
        total = part if total is None else total + part
    if total is None:  # an empty batch
        return _full_like_device((o, c // groups, kh, kw), 0.0, grad, xp)
    return xp.reshape(total, (o, c // groups, kh, kw))


def _window_argmax_onehot(x: Any, kernel_size, stride, padding, dilation, xp: Any):
    """Per window, a one-hot mask over its ``KH*KW`` taps marking the first maximum of ``x``
    (padding counts as -inf, NaN as the largest value)."""
    taps = _windows(x, kernel_size, stride, padding, dilation, -math.inf, xp)
    k = taps.shape[2]
    winner = xp.argmax(taps, axis=2)  # the first maximum, as in PyTorch
    ids = xp.reshape(xp.arange(k, dtype=winner.dtype, device=_device(winner)), (1, 1, k, 1, 1))
    return taps, xp.reshape(winner, winner.shape[:2] + (1,) + winner.shape[2:]) == ids


@primitive
def max_pool2d_gather(
    x: Any, values: Any, kernel_size, *, stride, padding, dilation, xp: Any
) -> Any:
    """For each pooling window, ``values`` at the position of the window's maximum of ``x``
    (the first one on ties); ``values=None`` means ``x`` itself, i.e. max pooling."""
    taps, onehot = _window_argmax_onehot(x, kernel_size, stride, padding, dilation, xp)
    if values is None:
        return xp.max(taps, axis=2)
    vtaps = _windows(values, kernel_size, stride, padding, dilation, 0.0, xp)
    zero = xp.zeros_like(vtaps)
    return xp.sum(xp.where(onehot, vtaps, zero), axis=2)


@primitive
def max_pool2d_scatter(
    x: Any, grad: Any, kernel_size, *, stride, padding, dilation, xp: Any
) -> Any:
    """The adjoint of :func:`max_pool2d_gather` in ``values``: each window's ``grad`` goes to
    the position of its (first) maximum of ``x``; the result has ``x``'s shape."""
    taps, onehot = _window_argmax_onehot(x, kernel_size, stride, padding, dilation, xp)
    g = xp.reshape(grad, grad.shape[:2] + (1,) + grad.shape[2:])
    g = xp.broadcast_to(g, taps.shape)
    cols = xp.where(onehot, g, xp.zeros_like(g))
    return _unwindows(cols, x.shape[2:], kernel_size, stride, padding, dilation, xp)


def _tap_onehot(index: Any, k: int, xp: Any) -> Any:
    """``[N, C, k, OH, OW]`` booleans: tap ``t`` of each window equals ``index``."""
    ids = xp.reshape(xp.arange(k, dtype=index.dtype, device=_device(index)), (1, 1, k, 1, 1))
    return xp.reshape(index, index.shape[:2] + (1,) + index.shape[2:]) == ids


@primitive
def max_pool2d_argmax(x: Any, kernel_size, *, stride, padding, dilation, xp: Any) -> Any:
    """Max pooling plus, per window, the tap index ``kh*KW + kw`` of its first maximum
    (padding counts as -inf, NaN as the largest value): ``(out, index)``, ``index`` an integer
    array of ``out``'s shape (the backend's choice of integer dtype)."""
    taps = _windows(x, kernel_size, stride, padding, dilation, -math.inf, xp)
    return xp.max(taps, axis=2), xp.argmax(taps, axis=2)  # argmax: the first maximum


@primitive
def max_pool2d_gather_index(
    index: Any, values: Any, kernel_size, *, stride, padding, dilation, xp: Any
) -> Any:
    """For each window, ``values`` at the window's tap ``index`` (0 where that tap is
    padding): the forward of max pooling's gradient pair, given :func:`max_pool2d_argmax`."""
    vtaps = _windows(values, kernel_size, stride, padding, dilation, 0.0, xp)
    onehot = _tap_onehot(index, vtaps.shape[2], xp)
    return xp.sum(xp.where(onehot, vtaps, xp.zeros_like(vtaps)), axis=2)


@primitive
def max_pool2d_scatter_index(
    index: Any, grad: Any, input_size, kernel_size, *, stride, padding, dilation, xp: Any
) -> Any:
    """The adjoint of :func:`max_pool2d_gather_index`: each window's ``grad`` added at its tap
    ``index``; the result is ``[N, C, *input_size]``."""
    k = kernel_size[0] * kernel_size[1]
    onehot = _tap_onehot(index, k, xp)
    g = xp.broadcast_to(xp.reshape(grad, grad.shape[:2] + (1,) + grad.shape[2:]), onehot.shape)
    cols = xp.where(onehot, g, xp.zeros_like(g))
    return _unwindows(cols, input_size, kernel_size, stride, padding, dilation, xp)


@primitive
def avg_pool2d(x: Any, kernel_size, *, stride, padding, xp: Any) -> Any:
    """Mean over each window, zero padding included in the count (``count_include_pad``)."""
    taps = _windows(x, kernel_size, stride, padding, (1, 1), 0.0, xp)
    return xp.sum(taps, axis=2) / (kernel_size[0] * kernel_size[1])


@primitive
def avg_pool2d_backward(grad: Any, input_size, kernel_size, *, stride, padding, xp: Any) -> Any:
    """The adjoint of :func:`avg_pool2d`: ``grad / (KH*KW)`` spread over each window."""
    k = kernel_size[0] * kernel_size[1]
    g = xp.reshape(grad / k, grad.shape[:2] + (1,) + grad.shape[2:])
    cols = xp.broadcast_to(g, grad.shape[:2] + (k,) + grad.shape[2:])
    return _unwindows(cols, input_size, kernel_size, stride, padding, (1, 1), xp)
