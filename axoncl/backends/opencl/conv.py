"""Host side of the convolution kernels of ``kernels/im2col.cl``: the OpenCL overrides of the
convolution primitives of :mod:`axoncl.backends.primitives` (pooling is in ``pooling.py``).

Convolution follows docs/kernels.md, section 3: im2col into a column buffer laid out
``[C*KH*KW, n, P]`` (row, image, output pixel) for a chunk of ``n`` images, then :func:`.gemm.gemm`:

* forward: one strided-batched GEMM per group over the chunk's images, bias fused per row;
* input gradient: a batched GEMM with ``W^T`` into the column buffer, then col2im (a gather);
* weight gradient: one GEMM per group with ``K = n*P`` against the same column layout, after
  permuting ``dY`` to ``[O, n, P]``; chunks after the first accumulate (``beta = 1``).

A 1x1 / stride-1 / pad-0 convolution reads the input (and writes the input gradient) in place.
When autograd will ask for the weight gradient (``conv2d(..., keep_columns=stash)``), the
forward leaves its column buffers in the node's stash for it, within a per-device budget
(:class:`_KeptColumns`), so a training step builds each layer's columns once instead of twice.
float16 and bfloat16 run natively: 16-bit columns, the 16-bit GEMM (float32 accumulation), and
col2im summing the 16-bit column gradients into a float32 ``dx`` that is rounded once.
Importing this module registers the overrides for the ``axoncl.backends.opencl`` namespace.
"""

from __future__ import annotations

import threading
import weakref

from .. import primitives
from . import dtypes as _dt
from .array import CLArray, ascontiguous, empty
from .copy import astype
from .gemm import MatrixOperand, VectorOperand, gemm
from .launch import get_kernel
from .windows import NAMESPACE, geometry, launch_planes, same_dtype, storage_real_defines

__all__: list[str] = []


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
    kernel = get_kernel(
        x.device, "im2col", "im2col_nchw", **storage_real_defines(x.dtype, "im2col")
    )
    kh, kw = geo[2], geo[3]
    launch_planes(
        kernel,
        c * kh * kw * oh,
        images,
        c,
        *geo,
        float(pad_value),
        x.buffer,
        x.offset + image0 * c * h * w,
        c * h * w,
        col_buf,
        col_off,
        col_img,
        col_row,
        op="im2col",
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
    col_dtype,
) -> None:
    """Sum the column gradients into ``dx`` (float32 for 16-bit columns, see the module)."""
    h, w = geo[0], geo[1]
    kernel = get_kernel(
        dx.device, "im2col", "col2im_nchw", **storage_real_defines(col_dtype, "col2im")
    )
    launch_planes(
        kernel,
        channels * h,
        images,
        channels,
        *geo,
        col_buf,
        col_off,
        col_img,
        col_row,
        dx.buffer,
        dx.offset + image0 * channels * h * w,
        channels * h * w,
        op="col2im",
    )


@primitives.im2col.register(NAMESPACE)
def _im2col_cl(x, kernel_size, *, stride, padding, dilation, pad_value=0.0, xp):
    x = ascontiguous(x)
    storage_real_defines(x.dtype, "im2col")
    n, c, h, w = x.shape
    geo = geometry(h, w, kernel_size, stride, padding, dilation)
    rows, p = c * kernel_size[0] * kernel_size[1], geo[-2] * geo[-1]
    out = empty((n, rows, p), x.dtype, x.device)
    _im2col_into(x, 0, n, geo, out.buffer, out.offset, rows * p, p, pad_value)
    return out


@primitives.col2im.register(NAMESPACE)
def _col2im_cl(col, input_size, kernel_size, *, stride, padding, dilation, xp):
    col = ascontiguous(col)
    storage_real_defines(col.dtype, "col2im")
    n, rows, p = col.shape
    channels = rows // (kernel_size[0] * kernel_size[1])
    geo = geometry(*input_size, kernel_size, stride, padding, dilation)
    dx = empty((n, channels, *input_size), _sum_dtype(col.dtype), col.device)
    _col2im_into(col.buffer, col.offset, rows * p, p, channels, n, geo, dx, 0, col.dtype)
    return astype(dx, col.dtype, copy=False)


def _sum_dtype(dtype):
    """The dtype col2im sums into: float32 for the 16-bit dtypes, else the columns' own."""
    return _dt.float32 if dtype in _dt.STORAGE else dtype


def _pointwise(kernel_size, stride, padding) -> bool:
    return tuple(kernel_size) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)


class _KeptColumns:
    """The device's count of column elements that forward passes left in
    :class:`~axoncl.backends.primitives.ColumnStash` es for their weight gradients: a column
    matrix is kept only while the count stays within ``primitives.KEPT_COLUMNS_BUDGET``, and
    leaves the count when it is freed (taken and used, or dropped with its graph)."""

    def __init__(self) -> None:
        self.elements = 0
        self._lock = threading.Lock()

    def keep(self, stash, key: tuple, col: CLArray) -> None:
        with self._lock:
            if self.elements + col.size > primitives.KEPT_COLUMNS_BUDGET:
                return
            self.elements += col.size
        weakref.finalize(col, self._release, col.size)
        stash.entries[key] = col

    def _release(self, size: int) -> None:
        with self._lock:
            self.elements -= size


def _kept_columns(device) -> _KeptColumns:
    kept = device.state.get(_KeptColumns)
    if kept is None:
        kept = device.state.setdefault(_KeptColumns, _KeptColumns())
    return kept


def _take_columns(stash, geo, a: int, b: int, dtype) -> CLArray | None:
    """The forward's columns of images ``a:b`` from ``stash`` (removed: a second backward
    builds them again), or None."""
    if stash is None:
        return None
    return stash.entries.pop((geo, a, b, dtype), None)


# Weight gradients of fewer multiply-adds than this take the per-image path (see below).
_SMALL_WEIGHT_GRAD = 1 << 23


def _chunks(n: int, per_image: int) -> list[tuple[int, int]]:
    step = max(1, primitives.COLUMN_BUDGET // max(per_image, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)]


@primitives.conv2d.register(NAMESPACE)
def _conv2d_cl(x, weight, bias, *, stride, padding, dilation, groups, xp, keep_columns=None):
    dtype = same_dtype("conv2d", x, weight, bias)
    storage_real_defines(dtype, "conv2d")
    x, weight = ascontiguous(x), ascontiguous(weight)
    bias = None if bias is None else ascontiguous(bias)
    device = x.device
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    geo = geometry(h, w, (kh, kw), stride, padding, dilation)
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
            if keep_columns is not None:
                _kept_columns(device).keep(keep_columns, (geo, a, b, dtype), col)
        for g in range(groups):
            gemm(
                device,
                MatrixOperand(weight.buffer, weight.offset + g * og * kg, (0, kg, 1)),
                MatrixOperand(src, src_off + g * group_step, src_strides),
                MatrixOperand(out.buffer, out.offset + a * o * p + g * og * p, (o * p, p, 1)),
                m=og,
                n=p,
                k=kg,
                batch=images,
                dtype=dtype,
                op="conv2d",
                bias_axis=0,
                bias=None if bias is None else VectorOperand(bias.buffer, bias.offset + g * og, 1),
            )
    return out


@primitives.conv2d_input_grad.register(NAMESPACE)
def _conv2d_input_grad_cl(grad, weight, input_size, *, stride, padding, dilation, groups, xp):
    dtype = same_dtype("conv2d_input_grad", grad, weight)
    storage_real_defines(dtype, "conv2d")
    grad, weight = ascontiguous(grad), ascontiguous(weight)
    device = grad.device
    n, o, oh, ow = grad.shape
    _, cg, kh, kw = weight.shape
    c = cg * groups
    geo = geometry(*input_size, (kh, kw), stride, padding, dilation)
    p, og, kg, rows = oh * ow, o // groups, cg * kh * kw, c * kh * kw
    h, w = input_size
    pointwise = _pointwise((kh, kw), stride, padding)
    dx = empty((n, c, h, w), dtype if pointwise else _sum_dtype(dtype), device)
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
                MatrixOperand(weight.buffer, weight.offset + g * og * kg, (0, 1, kg)),
                MatrixOperand(grad.buffer, grad.offset + a * o * p + g * og * p, (o * p, p, 1)),
                MatrixOperand(dst, dst_off + g * group_step, dst_strides),
                m=kg,
                n=p,
                k=og,
                batch=images,
                dtype=dtype,
                op="conv2d_input_grad",
            )
        if not pointwise:
            _col2im_into(dcol.buffer, 0, p, images * p, c, images, geo, dx, a, dtype)
    return astype(dx, dtype, copy=False)


@primitives.conv2d_weight_grad.register(NAMESPACE)
def _conv2d_weight_grad_cl(
    grad, x, kernel_size, *, stride, padding, dilation, groups, xp, columns=None
):
    dtype = same_dtype("conv2d_weight_grad", grad, x)
    storage_real_defines(dtype, "conv2d")
    grad, x = ascontiguous(grad), ascontiguous(x)
    device = x.device
    n, c, h, w = x.shape
    _, o, oh, ow = grad.shape
    kh, kw = kernel_size
    geo = geometry(h, w, kernel_size, stride, padding, dilation)
    p, og, cg = oh * ow, o // groups, c // groups
    kg, rows = cg * kh * kw, c * kh * kw
    if n == 0 or p == 0:
        return xp.zeros((o, cg, kh, kw), dtype=dtype, device=device)
    # (16-bit: always the long-K GEMM, which accumulates all images in float32 and rounds once;
    # per-image partials would each be rounded to 16 bits before their sum. A small problem
    # takes the per-image path too: its partial sums cost less than the long-K path's copy of
    # dY, and a run needs no copy kernel for it.)
    small = n * o * kg * p < _SMALL_WEIGHT_GRAD
    if (o * kg <= rows * p or small) and dtype not in _dt.STORAGE:
        return _weight_grad_per_image(grad, x, columns, geo, groups, xp)
    gw = empty((o, cg, kh, kw), dtype, device)
    for i, (a, b) in enumerate(_chunks(n, rows * p)):
        images = b - a
        col = _take_columns(columns, geo, a, b, dtype)
        if col is None:
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
                MatrixOperand(gperm.buffer, gperm.offset + g * og * k, (0, k, 1)),
                MatrixOperand(col.buffer, g * kg * k, (0, 1, k)),
                MatrixOperand(gw.buffer, gw.offset + g * og * kg, (0, kg, 1)),
                m=og,
                n=kg,
                k=k,
                dtype=dtype,
                op="conv2d_weight_grad",
                beta=0.0 if i == 0 else 1.0,
            )
    return gw


def _weight_grad_per_image(grad: CLArray, x: CLArray, columns, geo, groups: int, xp) -> CLArray:
    """dW as one batched GEMM over the images, ``part[n, g]^T = col[n, g] @ dY[n, g]^T``
    (no copy of dY, K = P per image, ``n*O*Kg`` partial sums), then a sum over the images.
    The caller uses it when the partials are no bigger than the column buffer (O*Kg <=
    C*KH*KW*P), i.e. for the large-image layers where one long-K GEMM starves the cores, and
    for problems under ``_SMALL_WEIGHT_GRAD`` multiply-adds (no copy of dY at all).
    ``columns``: the forward's :class:`~axoncl.backends.primitives.ColumnStash`, or None."""
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
        kept = None if pointwise else _take_columns(columns, geo, a, b, dtype)
        if pointwise:  # x[n] is the [C, P] column matrix
            src, src_off, src_strides = x.buffer, x.offset + a * c * p, (c * p, p, 1)
            group_step = kg * p
        elif kept is not None:  # the forward's columns [rows, images, P]
            src, src_off, src_strides = kept.buffer, 0, (p, images * p, 1)
            group_step = kg * images * p
        else:  # columns [images, rows, P]
            col = empty((images, rows, p), dtype, device)
            _im2col_into(x, a, images, geo, col.buffer, 0, rows * p, p)
            src, src_off, src_strides = col.buffer, 0, (rows * p, p, 1)
            group_step = kg * p
        part = empty((images, o, kg), dtype, device)
        for g in range(groups):  # part[n, g]^T [Kg, Og] = col[n, g] [Kg, P] @ dY[n, g]^T
            gemm(
                device,
                MatrixOperand(src, src_off + g * group_step, src_strides),
                MatrixOperand(grad.buffer, grad.offset + a * o * p + g * og * p, (o * p, 1, p)),
                MatrixOperand(part.buffer, g * og * kg, (o * kg, 1, kg)),
                m=kg,
                n=og,
                k=p,
                batch=images,
                dtype=dtype,
                op="conv2d_weight_grad",
            )
        chunk = primitives.sum(part, axis=(0,), keepdims=False, xp=xp)  # one launch
        total = chunk if total is None else total + chunk
    return xp.reshape(total, (o, cg, kh, kw))
