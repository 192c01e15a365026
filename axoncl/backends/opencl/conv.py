"""Host side of ``kernels/im2col.cl`` and ``kernels/philox.cl``: the OpenCL overrides of the
convolution, pooling and dropout primitives of :mod:`axoncl.backends.primitives`.

Convolution follows KERNELS.md §4: im2col into a column buffer laid out ``[C*KH*KW, n, P]``
(row, image, output pixel) for a chunk of ``n`` images, then :func:`.gemm.gemm`:

* forward: one strided-batched GEMM per group over the chunk's images, bias fused per row;
* input gradient: a batched GEMM with ``W^T`` into the column buffer, then col2im (a gather);
* weight gradient: one GEMM per group with ``K = n*P`` against the same column layout, after
  permuting ``dY`` to ``[O, n, P]``; chunks after the first accumulate (``beta = 1``).

A 1x1 / stride-1 / pad-0 convolution reads the input (and writes the input gradient) in place.
Importing this module registers the overrides for the ``axoncl.backends.opencl`` namespace.
"""

from __future__ import annotations

import math

import numpy as np

from .. import primitives
from .array import CLArray, ascontiguous, empty
from .gemm import gemm
from .programs import get_kernel

__all__: list[str] = []

_NAMESPACE = "axoncl.backends.opencl"
_LWS = 64
_i32, _i64 = np.int32, np.int64


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def _defines(dtype: np.dtype, op: str) -> dict[str, int | str]:
    if dtype == np.float32:
        return {"REAL": "float"}
    if dtype == np.float64:
        return {"REAL": "double", "FP64": 1}
    raise TypeError(f"{op}: expected float32 or float64 arrays, got {dtype}")


def _same_dtype(op: str, *arrays: CLArray | None) -> np.dtype:
    present = [a for a in arrays if a is not None]
    dtype = present[0].dtype
    for a in present[1:]:
        if a.dtype != dtype:
            raise TypeError(f"{op}: expected operands of one dtype, got {dtype} and {a.dtype}")
    if dtype == np.float64 and not present[0].device.caps.fp64:
        raise TypeError(
            f"{op}: float64 needs cl_khr_fp64, which {present[0].device.caps.name} lacks"
        )
    return dtype


def _geometry(h: int, w: int, kernel_size, stride, padding, dilation) -> tuple[int, ...]:
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    oh = primitives.conv_output_size(h, kh, sh, ph, dh)
    ow = primitives.conv_output_size(w, kw, sw, pw, dw)
    return h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow


def _geometry_args(geo: tuple[int, ...]) -> tuple[np.int32, ...]:
    return tuple(_i32(v) for v in geo)


def _launch_flat(kernel, queue, items: int, *args) -> None:
    """A 1-D launch of ``items`` work-items (64-bit indices in the kernel)."""
    if items:
        kernel(queue, (_round_up(items, _LWS),), (_LWS,), *args)


def _launch_1d(kernel, queue, items: int, images: int, *args, lws: int = _LWS) -> None:
    """``items`` work-items per image (32-bit indices in the kernel) for each of ``images``."""
    if items == 0 or images == 0:
        return
    if items >= 2**31:
        raise ValueError(
            f"conv: {items} elements per image exceed the kernels' 32-bit "
            "per-image indexing; use smaller images or fewer channels"
        )
    kernel(queue, (_round_up(items, lws), images), (lws, 1), *args)


def _im2col_into(
    x: CLArray,
    image0: int,
    images: int,
    geo,
    col_buf,
    col_off: int,
    col_img: int,
    col_row: int,
    pad_value: float = 0.0,
) -> None:
    """Columns of images ``image0 .. image0+images`` of contiguous ``x`` into ``col_buf``."""
    _, c, h, w = x.shape
    oh, ow = geo[-2:]
    kernel = get_kernel(x.device, "im2col", "im2col_nchw", **_defines(x.dtype, "im2col"))
    kh, kw = geo[2], geo[3]
    _launch_1d(
        kernel,
        x.device.queue,
        c * kh * kw * oh,
        images,
        _i32(c),
        *_geometry_args(geo),
        x.dtype.type(pad_value),
        x.buffer,
        _i64(x.offset + image0 * c * h * w),
        _i64(c * h * w),
        col_buf,
        _i64(col_off),
        _i64(col_img),
        _i64(col_row),
    )


def _col2im_into(
    col_buf,
    col_off: int,
    col_img: int,
    col_row: int,
    channels: int,
    images: int,
    geo,
    dx: CLArray,
    image0: int,
) -> None:
    h, w = geo[0], geo[1]
    kernel = get_kernel(dx.device, "im2col", "col2im_nchw", **_defines(dx.dtype, "col2im"))
    _launch_1d(
        kernel,
        dx.device.queue,
        channels * h,
        images,
        _i32(channels),
        *_geometry_args(geo),
        col_buf,
        _i64(col_off),
        _i64(col_img),
        _i64(col_row),
        dx.buffer,
        _i64(dx.offset + image0 * channels * h * w),
        _i64(channels * h * w),
    )


@primitives.im2col.register(_NAMESPACE)
def _im2col_cl(x, kernel_size, *, stride, padding, dilation, pad_value=0.0, xp):
    x = ascontiguous(x)
    _defines(x.dtype, "im2col")
    n, c, h, w = x.shape
    geo = _geometry(h, w, kernel_size, stride, padding, dilation)
    rows, p = c * kernel_size[0] * kernel_size[1], geo[-2] * geo[-1]
    out = empty((n, rows, p), x.dtype, x.device)
    _im2col_into(x, 0, n, geo, out.buffer, out.offset, rows * p, p, pad_value)
    return out


@primitives.col2im.register(_NAMESPACE)
def _col2im_cl(col, input_size, kernel_size, *, stride, padding, dilation, xp):
    col = ascontiguous(col)
    _defines(col.dtype, "col2im")
    n, rows, p = col.shape
    channels = rows // (kernel_size[0] * kernel_size[1])
    geo = _geometry(*input_size, kernel_size, stride, padding, dilation)
    dx = empty((n, channels, *input_size), col.dtype, col.device)
    _col2im_into(col.buffer, col.offset, rows * p, p, channels, n, geo, dx, 0)
    return dx


def _pointwise(kernel_size, stride, padding) -> bool:
    return tuple(kernel_size) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)


def _chunks(n: int, per_image: int) -> list[tuple[int, int]]:
    step = max(1, primitives.COLUMN_BUDGET // max(per_image, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)]


@primitives.conv2d.register(_NAMESPACE)
def _conv2d_cl(x, weight, bias, *, stride, padding, dilation, groups, xp):
    dtype = _same_dtype("conv2d", x, weight, bias)
    _defines(dtype, "conv2d")
    x, weight = ascontiguous(x), ascontiguous(weight)
    bias = None if bias is None else ascontiguous(bias)
    device = x.device
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    geo = _geometry(h, w, (kh, kw), stride, padding, dilation)
    oh, ow = geo[-2:]
    p, og, kg, rows = oh * ow, o // groups, cg * kh * kw, c * kh * kw
    out = empty((n, o, oh, ow), dtype, device)
    pointwise = _pointwise((kh, kw), stride, padding)
    for a, b in _chunks(n, rows * p):
        images = b - a
        if pointwise:  # x[n] is already the [C, P] column matrix of image n
            src, src_off, src_strides = x.buffer, x.offset + a * c * p, (c * p, p, 1)
            group_step = kg * p
        else:
            col = empty((rows, images, p), dtype, device)
            _im2col_into(x, a, images, geo, col.buffer, 0, p, images * p)
            src, src_off, src_strides = col.buffer, 0, (p, images * p, 1)
            group_step = kg * images * p
        for g in range(groups):
            gemm(
                device,
                weight.buffer,
                src,
                out.buffer,
                m=og,
                n=p,
                k=kg,
                batch=images,
                a_offset=weight.offset + g * og * kg,
                a_strides=(0, kg, 1),
                b_offset=src_off + g * group_step,
                b_strides=src_strides,
                c_offset=out.offset + a * o * p + g * og * p,
                c_strides=(o * p, p, 1),
                dtype=dtype,
                bias_buf=None if bias is None else bias.buffer,
                bias_offset=0 if bias is None else bias.offset + g * og,
                bias_axis=0,
            )
    return out


@primitives.conv2d_input_grad.register(_NAMESPACE)
def _conv2d_input_grad_cl(grad, weight, input_size, *, stride, padding, dilation, groups, xp):
    dtype = _same_dtype("conv2d_input_grad", grad, weight)
    _defines(dtype, "conv2d")
    grad, weight = ascontiguous(grad), ascontiguous(weight)
    device = grad.device
    n, o, oh, ow = grad.shape
    _, cg, kh, kw = weight.shape
    c = cg * groups
    geo = _geometry(*input_size, (kh, kw), stride, padding, dilation)
    p, og, kg, rows = oh * ow, o // groups, cg * kh * kw, c * kh * kw
    h, w = input_size
    dx = empty((n, c, h, w), dtype, device)
    pointwise = _pointwise((kh, kw), stride, padding)
    for a, b in _chunks(n, rows * p):
        images = b - a
        if pointwise:  # dcol of image n is dx[n] itself
            dst, dst_off, dst_strides = dx.buffer, dx.offset + a * c * p, (c * p, p, 1)
            group_step = kg * p
        else:
            dcol = empty((rows, images, p), dtype, device)
            dst, dst_off, dst_strides = dcol.buffer, 0, (p, images * p, 1)
            group_step = kg * images * p
        for g in range(groups):  # dcol[g] = W[g]^T @ dY[g]: A is W[g] read column-major
            gemm(
                device,
                weight.buffer,
                grad.buffer,
                dst,
                m=kg,
                n=p,
                k=og,
                batch=images,
                a_offset=weight.offset + g * og * kg,
                a_strides=(0, 1, kg),
                b_offset=grad.offset + a * o * p + g * og * p,
                b_strides=(o * p, p, 1),
                c_offset=dst_off + g * group_step,
                c_strides=dst_strides,
                dtype=dtype,
            )
        if not pointwise:
            _col2im_into(dcol.buffer, 0, p, images * p, c, images, geo, dx, a)
    return dx


@primitives.conv2d_weight_grad.register(_NAMESPACE)
def _conv2d_weight_grad_cl(grad, x, kernel_size, *, stride, padding, dilation, groups, xp):
    dtype = _same_dtype("conv2d_weight_grad", grad, x)
    _defines(dtype, "conv2d")
    grad, x = ascontiguous(grad), ascontiguous(x)
    device = x.device
    n, c, h, w = x.shape
    _, o, oh, ow = grad.shape
    kh, kw = kernel_size
    geo = _geometry(h, w, kernel_size, stride, padding, dilation)
    p, og, cg = oh * ow, o // groups, c // groups
    kg, rows = cg * kh * kw, c * kh * kw
    if n == 0 or p == 0:
        return xp.zeros((o, cg, kh, kw), dtype=dtype, device=device)
    if o * kg <= rows * p:
        return _weight_grad_per_image(grad, x, geo, groups, xp)
    gw = empty((o, cg, kh, kw), dtype, device)
    for i, (a, b) in enumerate(_chunks(n, rows * p)):
        images = b - a
        col = empty((rows, images, p), dtype, device)
        _im2col_into(x, a, images, geo, col.buffer, 0, p, images * p)
        # dY of the chunk as [O, n, P], so that (n, p) is one contiguous K axis of length n*P.
        gperm = ascontiguous(
            CLArray(
                device, grad.buffer, grad.offset + a * o * p, (o, images, p), (p, o * p, 1), dtype
            )
        )
        k = images * p
        for g in range(groups):  # dW[g] (+)= dY[g] [Og, nP] @ col[g]^T [nP, Kg]
            gemm(
                device,
                gperm.buffer,
                col.buffer,
                gw.buffer,
                m=og,
                n=kg,
                k=k,
                a_offset=gperm.offset + g * og * k,
                a_strides=(0, k, 1),
                b_offset=g * kg * k,
                b_strides=(0, 1, k),
                c_offset=gw.offset + g * og * kg,
                c_strides=(0, kg, 1),
                dtype=dtype,
                beta=0.0 if i == 0 else 1.0,
            )
    return gw


def _weight_grad_per_image(grad: CLArray, x: CLArray, geo, groups: int, xp) -> CLArray:
    """dW as one batched GEMM over the images, ``part[n, g]^T = col[n, g] @ dY[n, g]^T``
    (no copy of dY, K = P per image, ``n*O*Kg`` partial sums), then a sum over the images.
    The caller uses it when the partials are no bigger than the column buffer (O*Kg <=
    C*KH*KW*P), i.e. for the large-image layers where one long-K GEMM starves the cores."""
    dtype, device = x.dtype, x.device
    n, c, _, _ = x.shape
    o = grad.shape[1]
    kh, kw, oh, ow = geo[2], geo[3], geo[-2], geo[-1]
    p, og, cg = oh * ow, o // groups, c // groups
    kg, rows = cg * kh * kw, c * kh * kw
    pointwise = _pointwise((kh, kw), geo[4:6], geo[6:8])
    total = None
    for a, b in _chunks(n, rows * p):
        images = b - a
        if pointwise:  # x[n] is the [C, P] column matrix
            src, src_off, src_strides = x.buffer, x.offset + a * c * p, (c * p, p, 1)
            group_step = kg * p
        else:  # columns [images, rows, P]
            col = empty((images, rows, p), dtype, device)
            _im2col_into(x, a, images, geo, col.buffer, 0, rows * p, p)
            src, src_off, src_strides = col.buffer, 0, (rows * p, p, 1)
            group_step = kg * p
        part = empty((images, o, kg), dtype, device)
        for g in range(groups):  # part[n, g]^T [Kg, Og] = col[n, g] [Kg, P] @ dY[n, g]^T
            gemm(
                device,
                src,
                grad.buffer,
                part.buffer,
                m=kg,
                n=og,
                k=p,
                batch=images,
                a_offset=src_off + g * group_step,
                a_strides=src_strides,
                b_offset=grad.offset + a * o * p + g * og * p,
                b_strides=(o * p, 1, p),
                c_offset=g * og * kg,
                c_strides=(o * kg, 1, kg),
                dtype=dtype,
            )
        chunk = xp.sum(part, axis=0)
        total = chunk if total is None else total + chunk
    return xp.reshape(total, (o, cg, kh, kw))


def _pool_setup(x: CLArray, kernel_size, stride, padding, dilation, op: str):
    x = ascontiguous(x)
    defines = _defines(x.dtype, op)
    n, c, h, w = x.shape
    return x, defines, n * c, _geometry(h, w, kernel_size, stride, padding, dilation)


def _pool_index(index: CLArray, out_shape: tuple[int, ...]) -> CLArray:
    index = ascontiguous(index)
    if tuple(index.shape) != tuple(out_shape):
        raise ValueError(
            f"max_pool2d: expected a tap index of shape {tuple(out_shape)}, got {index.shape}"
        )
    if index.dtype != np.int32:
        raise TypeError(f"max_pool2d: expected an int32 tap index, got {index.dtype}")
    return index


_ROW_POOL_TAPS = 16  # windows up to this many taps get the row kernels (one build per window)
_ROW_LWS = 8


def _row_pool_defines(geo, defines) -> dict[str, int | str] | None:
    """Defines of the row kernels (``kernels/im2col.cl``) when they apply to ``geo``: no padding,
    no dilation and a small window, which the kernels take as compile-time constants."""
    _, _, kh, kw, sh, sw, ph, pw, dh, dw, _, _ = geo
    if (ph, pw, dh, dw) != (0, 0, 1, 1) or kh * kw > _ROW_POOL_TAPS:
        return None
    return {**defines, "POOL_KH": kh, "POOL_KW": kw, "POOL_SH": sh, "POOL_SW": sw}


def _max_pool2d_argmax(x: CLArray, geo, defines) -> tuple[CLArray, CLArray]:
    oh, ow = geo[-2:]
    planes = x.shape[0] * x.shape[1]
    out = empty((*x.shape[:2], oh, ow), x.dtype, x.device)
    index = empty(out.shape, np.dtype(np.int32), x.device)
    rows = _row_pool_defines(geo, defines)
    if rows is None:
        kernel = get_kernel(x.device, "im2col", "maxpool_argmax_nchw", **defines)
        items, lws = oh * ow, _LWS
    else:
        kernel = get_kernel(x.device, "im2col", "maxpool_argmax_rows_nchw", **rows)
        items, lws = oh, _ROW_LWS
    _launch_1d(
        kernel,
        x.device.queue,
        items,
        planes,
        _i64(planes),
        *_geometry_args(geo),
        x.buffer,
        _i64(x.offset),
        out.buffer,
        _i64(out.offset),
        index.buffer,
        _i64(index.offset),
        lws=lws,
    )
    return out, index


def _max_pool2d_gather_index(index: CLArray, values: CLArray, geo, defines) -> CLArray:
    planes = values.shape[0] * values.shape[1]
    out = empty(index.shape, values.dtype, values.device)
    kernel = get_kernel(values.device, "im2col", "maxpool_gather_index_nchw", **defines)
    _launch_1d(
        kernel,
        values.device.queue,
        geo[-2] * geo[-1],
        planes,
        _i64(planes),
        *_geometry_args(geo),
        index.buffer,
        _i64(index.offset),
        values.buffer,
        _i64(values.offset),
        out.buffer,
        _i64(out.offset),
    )
    return out


def _max_pool2d_scatter_index(index: CLArray, grad: CLArray, geo, defines) -> CLArray:
    n, c = grad.shape[:2]
    dx = empty((n, c, geo[0], geo[1]), grad.dtype, grad.device)
    rows = _row_pool_defines(geo, defines)
    if rows is None:
        kernel = get_kernel(grad.device, "im2col", "maxpool_scatter_index_nchw", **defines)
        items, lws = geo[0] * geo[1], _LWS
    else:
        kernel = get_kernel(grad.device, "im2col", "maxpool_scatter_rows_nchw", **rows)
        items, lws = geo[0], _ROW_LWS
    _launch_1d(
        kernel,
        grad.device.queue,
        items,
        n * c,
        _i64(n * c),
        *_geometry_args(geo),
        index.buffer,
        _i64(index.offset),
        grad.buffer,
        _i64(grad.offset),
        dx.buffer,
        _i64(dx.offset),
        lws=lws,
    )
    return dx


@primitives.max_pool2d_argmax.register(_NAMESPACE)
def _max_pool2d_argmax_cl(x, kernel_size, *, stride, padding, dilation, xp):
    x, defines, _, geo = _pool_setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    return _max_pool2d_argmax(x, geo, defines)


@primitives.max_pool2d_gather_index.register(_NAMESPACE)
def _max_pool2d_gather_index_cl(index, values, kernel_size, *, stride, padding, dilation, xp):
    values, defines, _, geo = _pool_setup(
        values, kernel_size, stride, padding, dilation, "max_pool2d"
    )
    index = _pool_index(index, (*values.shape[:2], *geo[-2:]))
    return _max_pool2d_gather_index(index, values, geo, defines)


@primitives.max_pool2d_scatter_index.register(_NAMESPACE)
def _max_pool2d_scatter_index_cl(
    index, grad, input_size, kernel_size, *, stride, padding, dilation, xp
):
    grad = ascontiguous(grad)
    defines = _defines(grad.dtype, "max_pool2d")
    geo = _geometry(*input_size, kernel_size, stride, padding, dilation)
    index = _pool_index(index, (*grad.shape[:2], *geo[-2:]))
    return _max_pool2d_scatter_index(index, grad, geo, defines)


@primitives.max_pool2d_gather.register(_NAMESPACE)
def _max_pool2d_gather_cl(x, values, kernel_size, *, stride, padding, dilation, xp):
    if values is not None:
        _same_dtype("max_pool2d", x, values)
        values = ascontiguous(values)
    x, defines, _, geo = _pool_setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    out, index = _max_pool2d_argmax(x, geo, defines)
    return out if values is None else _max_pool2d_gather_index(index, values, geo, defines)


@primitives.max_pool2d_scatter.register(_NAMESPACE)
def _max_pool2d_scatter_cl(x, grad, kernel_size, *, stride, padding, dilation, xp):
    _same_dtype("max_pool2d", x, grad)
    grad = ascontiguous(grad)
    x, defines, _, geo = _pool_setup(x, kernel_size, stride, padding, dilation, "max_pool2d")
    _, index = _max_pool2d_argmax(x, geo, defines)
    return _max_pool2d_scatter_index(index, grad, geo, defines)


@primitives.avg_pool2d.register(_NAMESPACE)
def _avg_pool2d_cl(x, kernel_size, *, stride, padding, xp):
    x, defines, planes, geo = _pool_setup(x, kernel_size, stride, padding, (1, 1), "avg_pool2d")
    oh, ow = geo[-2:]
    out = empty((*x.shape[:2], oh, ow), x.dtype, x.device)
    kernel = get_kernel(x.device, "im2col", "avgpool_nchw", **defines)
    _launch_1d(
        kernel,
        x.device.queue,
        oh * ow,
        planes,
        _i64(planes),
        *_geometry_args(geo),
        x.buffer,
        _i64(x.offset),
        out.buffer,
        _i64(out.offset),
    )
    return out


@primitives.avg_pool2d_backward.register(_NAMESPACE)
def _avg_pool2d_backward_cl(grad, input_size, kernel_size, *, stride, padding, xp):
    grad = ascontiguous(grad)
    defines = _defines(grad.dtype, "avg_pool2d")
    n, c = grad.shape[:2]
    geo = _geometry(*input_size, kernel_size, stride, padding, (1, 1))
    dx = empty((n, c, *input_size), grad.dtype, grad.device)
    kernel = get_kernel(grad.device, "im2col", "avgpool_backward_nchw", **defines)
    _launch_1d(
        kernel,
        grad.device.queue,
        input_size[0] * input_size[1],
        n * c,
        _i64(n * c),
        *_geometry_args(geo),
        grad.buffer,
        _i64(grad.offset),
        dx.buffer,
        _i64(dx.offset),
    )
    return dx


@primitives.philox4x32.register(_NAMESPACE)
def _philox4x32_cl(counters, key, *, xp):
    counters = ascontiguous(counters)
    if counters.dtype != np.uint32 or counters.ndim != 2 or counters.shape[1] != 4:
        raise TypeError(
            f"philox4x32: expected an [n, 4] uint32 array, got shape "
            f"{counters.shape} and dtype {counters.dtype}"
        )
    n = counters.shape[0]
    out = empty((n, 4), counters.dtype, counters.device)
    kernel = get_kernel(counters.device, "philox", "philox_raw")
    _launch_flat(
        kernel,
        counters.device.queue,
        n,
        _i64(n),
        counters.buffer,
        _i64(counters.offset),
        np.uint32(key[0] & 0xFFFFFFFF),
        np.uint32(key[1] & 0xFFFFFFFF),
        out.buffer,
    )
    return out


@primitives.dropout.register(_NAMESPACE)
def _dropout_cl(x, *, p, seed, xp):
    x = ascontiguous(x)
    defines = _defines(x.dtype, "dropout")
    out = empty(x.shape, x.dtype, x.device)
    n = math.prod(x.shape)
    k0, k1 = primitives.seed_key(seed)
    kernel = get_kernel(x.device, "philox", "philox_dropout", **defines)
    _launch_flat(
        kernel,
        x.device.queue,
        -(-n // 4),
        _i64(n),
        x.buffer,
        _i64(x.offset),
        out.buffer,
        _i64(out.offset),
        np.uint32(k0),
        np.uint32(k1),
        np.uint32(primitives.dropout_threshold(p)),
        x.dtype.type(1.0 / (1.0 - p)),
    )
    return out
