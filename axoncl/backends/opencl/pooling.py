"""Host side of the pooling kernels of ``kernels/im2col.cl``: the OpenCL overrides of the
max- and average-pooling primitives of :mod:`axoncl.backends.primitives`.

Max pooling runs as an argmax pass that writes the pooled values and an int32 tap index per
output, so backward is one scatter through that index (``maxpool_scatter_*``) with no extra
pass. Windows without padding or dilation and at most 16 taps use row kernels that take the
window as compile-time constants (one build per window shape).
"""

from __future__ import annotations

import numpy as np

from .. import primitives
from .array import CLArray, ascontiguous, empty
from .launch import get_kernel
from .windows import NAMESPACE, geometry, launch_planes, real_defines, same_dtype

__all__: list[str] = []

_ROW_POOL_TAPS = 16  # windows up to this many taps get the row kernels (one build per window)


def _pool_setup(x: CLArray, kernel_size, stride, padding, dilation, op: str):
    x = ascontiguous(x)
    defines = real_defines(x.dtype, op)
    n, c, h, w = x.shape
    return x, defines, n * c, geometry(h, w, kernel_size, stride, padding, dilation)


def _pool_index(index: CLArray, out_shape: tuple[int, ...]) -> CLArray:
    index = ascontiguous(index)
    if tuple(index.shape) != tuple(out_shape):
        raise ValueError(
            f"max_pool2d: expected a tap index of shape {tuple(out_shape)}, got {index.shape}"
        )
    if index.dtype != np.int32:
        raise TypeError(f"max_pool2d: expected an int32 tap index, got {index.dtype}")
    return index


def _row_pool_defines(geo, defines) -> dict[str, int | str] | None:
    """Defines of the row kernels (``kernels/im2col.cl``) when they apply to ``geo``: no padding,
    no dilation and a small window, which the kernels take as compile-time constants. The 2x2
    stride-2 window is in the general program; another window builds a small program of its own."""
    _, _, kh, kw, sh, sw, ph, pw, dh, dw, _, _ = geo
    if (ph, pw, dh, dw) != (0, 0, 1, 1) or kh * kw > _ROW_POOL_TAPS:
        return None
    if (kh, kw, sh, sw) == (2, 2, 2, 2):
        return defines
    return {**defines, "POOL_KH": kh, "POOL_KW": kw, "POOL_SH": sh, "POOL_SW": sw}


def _max_pool2d_argmax(x: CLArray, geo, defines) -> tuple[CLArray, CLArray]:
    oh, ow = geo[-2:]
    planes = x.shape[0] * x.shape[1]
    out = empty((*x.shape[:2], oh, ow), x.dtype, x.device)
    index = empty(out.shape, np.dtype(np.int32), x.device)
    rows = _row_pool_defines(geo, defines)
    if rows is None:
        kernel = get_kernel(x.device, "im2col", "maxpool_argmax_nchw", **defines)
        items = oh * ow
    else:
        kernel = get_kernel(x.device, "im2col", "maxpool_argmax_rows_nchw", **rows)
        items = oh
    launch_planes(
        kernel,
        items,
        planes,
        planes,
        *geo,
        x.buffer,
        x.offset,
        out.buffer,
        out.offset,
        index.buffer,
        index.offset,
        op="max_pool2d",
    )
    return out, index


def _max_pool2d_gather_index(index: CLArray, values: CLArray, geo, defines) -> CLArray:
    planes = values.shape[0] * values.shape[1]
    out = empty(index.shape, values.dtype, values.device)
    kernel = get_kernel(values.device, "im2col", "maxpool_gather_index_nchw", **defines)
    launch_planes(
        kernel,
        geo[-2] * geo[-1],
        planes,
        planes,
        *geo,
        index.buffer,
        index.offset,
        values.buffer,
        values.offset,
        out.buffer,
        out.offset,
        op="max_pool2d",
    )
    return out


def _max_pool2d_scatter_index(index: CLArray, grad: CLArray, geo, defines) -> CLArray:
    n, c = grad.shape[:2]
    dx = empty((n, c, geo[0], geo[1]), grad.dtype, grad.device)
    rows = _row_pool_defines(geo, defines)
    if rows is None:
        kernel = get_kernel(grad.device, "im2col", "maxpool_scatter_index_nchw", **defines)
        items = geo[0] * geo[1]
    else:
        kernel = get_kernel(grad.device, "im2col", "maxpool_scatter_rows_nchw", **rows)
        items = geo[0]
    launch_planes(
        kernel,
        items,
        n * c,
        n * c,
        *geo,
        index.buffer,
        index.offset,
        grad.buffer,
        grad.offset,
        dx.buffer,
        dx.offset,
        op="max_pool2d",
    )
    return dx


@primitives.max_pool2d_argmax.register(NAMESPACE)
def _max_pool2d_argmax_cl(x, kernel_size, *, stride, padding, dilation, xp):
    x, defines, _, geo = _pool_setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    return _max_pool2d_argmax(x, geo, defines)


@primitives.max_pool2d_gather_index.register(NAMESPACE)
def _max_pool2d_gather_index_cl(index, values, kernel_size, *, stride, padding, dilation, xp):
    values, defines, _, geo = _pool_setup(
        values, kernel_size, stride, padding, dilation, "max_pool2d"
    )
    index = _pool_index(index, (*values.shape[:2], *geo[-2:]))
    return _max_pool2d_gather_index(index, values, geo, defines)


@primitives.max_pool2d_scatter_index.register(NAMESPACE)
def _max_pool2d_scatter_index_cl(
    index, grad, input_size, kernel_size, *, stride, padding, dilation, xp
):
    grad = ascontiguous(grad)
    defines = real_defines(grad.dtype, "max_pool2d")
    geo = geometry(*input_size, kernel_size, stride, padding, dilation)
    index = _pool_index(index, (*grad.shape[:2], *geo[-2:]))
    return _max_pool2d_scatter_index(index, grad, geo, defines)


@primitives.max_pool2d_gather.register(NAMESPACE)
def _max_pool2d_gather_cl(x, values, kernel_size, *, stride, padding, dilation, xp):
    if values is not None:
        same_dtype("max_pool2d", x, values)
        values = ascontiguous(values)
    x, defines, _, geo = _pool_setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    out, index = _max_pool2d_argmax(x, geo, defines)
    return out if values is None else _max_pool2d_gather_index(index, values, geo, defines)


@primitives.max_pool2d_scatter.register(NAMESPACE)
def _max_pool2d_scatter_cl(x, grad, kernel_size, *, stride, padding, dilation, xp):
    same_dtype("max_pool2d", x, grad)
    grad = ascontiguous(grad)
    x, defines, _, geo = _pool_setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    _, index = _max_pool2d_argmax(x, geo, defines)
    return _max_pool2d_scatter_index(index, grad, geo, defines)


@primitives.avg_pool2d.register(NAMESPACE)
def _avg_pool2d_cl(x, kernel_size, *, stride, padding, xp):
    x, defines, planes, geo = _pool_setup(x, kernel_size, stride, padding, (1, 1), "avg_pool2d")
    oh, ow = geo[-2:]
    out = empty((*x.shape[:2], oh, ow), x.dtype, x.device)
    kernel = get_kernel(x.device, "im2col", "avgpool_nchw", **defines)
    launch_planes(
        kernel,
        oh * ow,
        planes,
        planes,
        *geo,
        x.buffer,
        x.offset,
        out.buffer,
        out.offset,
        op="avg_pool2d",
    )
    return out


@primitives.avg_pool2d_backward.register(NAMESPACE)
def _avg_pool2d_backward_cl(grad, input_size, kernel_size, *, stride, padding, xp):
    grad = ascontiguous(grad)
    defines = real_defines(grad.dtype, "avg_pool2d")
    n, c = grad.shape[:2]
    geo = geometry(*input_size, kernel_size, stride, padding, (1, 1))
    dx = empty((n, c, *input_size), grad.dtype, grad.device)
    kernel = get_kernel(grad.device, "im2col", "avgpool_backward_nchw", **defines)
    launch_planes(
        kernel,
        input_size[0] * input_size[1],
        n * c,
        n * c,
        *geo,
        grad.buffer,
        grad.offset,
        dx.buffer,
        dx.offset,
        op="avg_pool2d",
    )
    return dx
