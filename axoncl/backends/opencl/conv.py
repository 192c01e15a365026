"""Host side of the convolution kernels (``kernels/gemm.cl`` built with ``-DGEMM_CONV=1``,
``kernels/im2col.cl``): the OpenCL overrides of the convolution primitives of
:mod:`axoncl.backends.primitives` (pooling is in ``pooling.py``). docs/kernels.md, section 3.

CPU devices run one-group convolutions of stride 1 or 2 in float32/float64 as an *implicit*
GEMM (:func:`_implicit_ok` says when): ``conv_implicit`` reads zero-padded images through a
table of tap offsets, so no column matrix is built; the stride-1 input gradient is the same
kernel over the padded ``dY`` with flipped taps, and ``conv_weight_grad`` reads the forward's
padded images against ``dY`` packed by channel panels.

Elsewhere (GPUs, groups, 16-bit, small layers) im2col into a column buffer laid out
``[C*KH*KW, n, P]`` (row, image, output pixel) for a chunk of ``n`` images, then
:func:`.gemm.gemm`:

* forward: one strided-batched GEMM per group over the chunk's images, bias fused per row;
* input gradient: a batched GEMM with ``W^T`` into the column buffer, then col2im (a gather);
* weight gradient: one GEMM per group with ``K = n*P`` against the same column layout, after
  permuting ``dY`` to ``[O, n, P]``; chunks after the first accumulate (``beta = 1``).

A 1x1 / stride-1 / pad-0 convolution reads the input (and writes the input gradient) in place.
When autograd will ask for the weight gradient (``conv2d(..., keep_columns=stash)``), the
forward leaves its column buffers (or padded images) in the node's stash for it, within a
per-device budget (:class:`_KeptColumns`), so a training step builds them once.
float16 and bfloat16 run natively: 16-bit columns, the 16-bit GEMM (float32 accumulation), and
col2im summing the 16-bit column gradients into a float32 ``dx`` that is rounded once.
Importing this module registers the overrides for the ``axoncl.backends.opencl`` namespace.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from .. import primitives
from . import dtypes as _dt
from .array import CLArray, ascontiguous, empty, from_numpy
from .copy import astype
from .gemm import MatrixOperand, VectorOperand, gemm, gemm_defines
from .gemm_params import load_params
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


# ---------------------------------------------------------------------------------------------
# Implicit GEMM (CPU devices, float32/float64, one group): ``conv_implicit`` of kernels/gemm.cl
# reads the (zero-padded) images through a table of tap offsets instead of a column matrix.


def _implicit_ok(
    device, dtype, groups: int, stride, plane: int, macs: int, out_w: int, rows: int = 0
) -> bool:
    """Whether the implicit kernels serve a convolution of ``macs`` multiply-adds that writes
    rows of ``out_w`` pixels for ``rows`` channels (0: any), reading padded image planes of
    about ``plane`` elements (their offsets are 32-bit).

    CPU devices (the packed GEMM), float32/float64, one group, stride 1 or 2. The kernel
    computes blocks of RM channels and segments of output pixels: with fewer channels (an
    input gradient into 1-3 channels) or rows that leave over a quarter of a segment's lanes
    idle (4x4 outputs), im2col + GEMM was faster here. Below ``_IMPLICIT_MIN_MACS`` neither
    path is faster, and a run of only small layers (the demo's) builds no implicit program."""
    if not (
        groups == 1
        and macs >= _IMPLICIT_MIN_MACS
        and plane < 2**30
        and dtype in (_dt.float32, _dt.float64)
        and stride[0] == stride[1]
        and stride[0] in (1, 2)
    ):
        return False
    defines, p = _conv_defines(device, dtype)
    seg_w = _segment_width(out_w, defines["VW"])
    return (
        p.large == "packed"
        and (rows == 0 or rows >= p.rm)
        and out_w >= 0.75 * (-(-out_w // seg_w) * seg_w)
    )


_IMPLICIT_MIN_MACS = 1 << 22


def _plane(channels: int, h: int, w: int, padding, reach) -> int:
    """A bound on the elements of one padded image of :func:`_layout` (rows of up to 64
    pixels of padding)."""
    return channels * (h + 2 * padding[0] + reach[0] + 4) * (w + 2 * padding[1] + reach[1] + 64)


def _conv_defines(device, dtype) -> tuple[dict, object]:
    p = load_params(device)
    key = ("conv_implicit", dtype.str, p)
    found = device.state.get(key)
    if found is None:
        found = device.state[key] = ({**gemm_defines(device, dtype, p), "GEMM_CONV": 1}, p)
    return found


def _conv_kernel(device, dtype, name: str):
    """The implicit-convolution kernel ``name`` for ``dtype`` (cached per device: the launch
    path would otherwise sort the build options on every call)."""
    defines, p = _conv_defines(device, dtype)
    key = ("conv_kernel", name, dtype.str, p)
    found = device.state.get(key)
    if found is None:
        found = device.state[key] = get_kernel(device, "gemm", name, **defines)
    return found


def _tap_table(device, taps: tuple, hp: int, wp: int) -> CLArray:
    """The int32 table ``[A offsets | image offsets]`` of ``taps`` over ``[hp, wp]`` planes,
    built on first use and kept per device: ``("fwd", c, kh, kw, dh, dw)`` for the forward and
    the weight gradient (k = c, kh, kw; A = W row by row), ``("dx", o, c, kh, kw, dh, dw)`` for
    the stride-1 input gradient (k = o, kh, kw over the padded dY with the taps flipped; row c
    of A is W read across its first axis, so W needs no transposed copy)."""
    key = ("conv_taps", taps, hp, wp)
    found = device.state.get(key)
    if found is None:
        kind, *dims = taps
        if kind == "fwd":
            c, kh, kw, dh, dw = dims
            ci, hi, wi = (g.ravel() for g in np.indices((c, kh, kw)))
            a_taps = np.arange(c * kh * kw)
            b_taps = ci * hp * wp + hi * dh * wp + wi * dw
        else:
            o, c, kh, kw, dh, dw = dims
            oi, hi, wi = (g.ravel() for g in np.indices((o, kh, kw)))
            a_taps = oi * c * kh * kw + hi * kw + wi
            b_taps = oi * hp * wp + (kh - 1 - hi) * dh * wp + (kw - 1 - wi) * dw
        table = np.concatenate([a_taps, b_taps]).astype(np.int32)
        found = device.state[key] = from_numpy(table, device)
    return found


def _segment_width(out_w: int, vw: int) -> int:
    """Output pixels per row of a segment of ``conv_implicit``: ``vw``, or half of it (two rows
    per segment) for rows no longer than that, so narrow layers do not compute padding."""
    return vw // 2 if out_w <= vw // 2 else vw


def _layout(x: CLArray, out_h: int, out_w: int, stride: int, reach, pad, vw: int):
    """``(hp, wp)``: the padded planes the implicit kernels read for this output (``x``'s own
    when no padding is needed): rows padded to whole segments of output pixels, and one more
    output row when half segments (two rows) meet an odd height."""
    seg_w = _segment_width(out_w, vw)
    rows = out_h + (out_h % 2 if seg_w < vw else 0)
    hp = (rows - 1) * stride + reach[0] + 1
    wp = -(-out_w // seg_w) * seg_w * stride + reach[1]
    if tuple(pad) == (0, 0) and wp <= x.shape[3]:
        return x.shape[2], x.shape[3]
    return hp, wp


def _padded(x: CLArray, pad, hp: int, wp: int, op: str) -> CLArray:
    """``x`` (contiguous NCHW) as ``[n, c, hp, wp]`` planes, zero outside ``x`` (``x`` itself
    when that is its shape)."""
    n, c, h, w = x.shape
    if (hp, wp) == (h, w):
        return x
    out = empty((n, c, hp, wp), x.dtype, x.device)
    launch_planes(
        _conv_kernel(x.device, x.dtype, "conv_pad"),
        hp,
        n * c,
        h,
        w,
        hp,
        wp,
        pad[0],
        pad[1],
        n * c,
        x.buffer,
        x.offset,
        out.buffer,
        op=op,
    )
    return out


def _conv_implicit(
    src: CLArray,
    a: CLArray,
    a_row: int,
    taps,
    pad,
    reach: tuple[int, int],
    stride: int,
    out: CLArray,
    bias: CLArray | None,
    op: str,
) -> CLArray:
    """``out[i] = A @ columns(src[i]) (+ bias per row)`` for every image ``i``; returns the
    padded ``src`` it read.

    ``taps`` names the tap table (:func:`_tap_table`). ``reach`` = ((KH-1)*DH,
    (KW-1)*DW): how far a window reaches past its first row and column."""
    device, dtype = src.device, src.dtype
    defines, p = _conv_defines(device, dtype)
    n, m, out_h, out_w = out.shape
    vw = defines["VW"]
    seg_w = _segment_width(out_w, vw)
    row_segs = -(-out_w // seg_w)
    hp, wp = _layout(src, out_h, out_w, stride, reach, pad, vw)
    table = _tap_table(device, taps, hp, wp)
    padded = _padded(src, pad, hp, wp, op)
    k = table.size // 2
    m_panels = -(-m // p.rm)
    n_panels = -(-(-(-out_h // (vw // seg_w)) * row_segs) // p.nv)
    m_block = max(1, min(p.m_block, m_panels))
    items = -(-m_panels // m_block) * m_block * n_panels
    kernel = _conv_kernel(device, dtype, "conv_implicit")
    kernel.launch(
        (-(-items // p.lws) * p.lws, n),
        (p.lws, 1),
        m,
        k,
        a.buffer,
        a.offset,
        a_row,
        padded.buffer,
        padded.offset,
        src.shape[1] * hp * wp,
        table.buffer,
        out.buffer,
        out.offset,
        m * out_h * out_w,
        out_h * out_w,
        out_h,
        out_w,
        row_segs,
        seg_w,
        wp,
        stride,
        0 if bias is None else 2,  # EP_BIAS (per row)
        out.buffer if bias is None else bias.buffer,
        0 if bias is None else bias.offset,
        m_panels,
        n_panels,
        m_block,
        op=op,
    )
    return padded


def _weight_grad_implicit(grad: CLArray, x: CLArray, geo, padded: CLArray | None, xp):
    """dW without columns: ``conv_weight_grad`` reads the padded images (the forward's, when
    it left them in the stash) through the tap table and dY packed by channel panels. Slices
    of images run in parallel when there are few (tap, channel) blocks; their sum is one
    launch."""
    device, dtype = x.device, x.dtype
    defines, p = _conv_defines(device, dtype)
    n, c, _, _ = x.shape
    o = grad.shape[1]
    kh, kw, sh, _, ph, pw, dh, dw, oh, ow = geo[2:]
    vw = defines["VW"]
    nr = p.nv * vw
    reach = ((kh - 1) * dh, (kw - 1) * dw)
    hp, wp = _layout(x, oh, ow, sh, reach, (ph, pw), vw)
    if padded is None or padded.shape != (n, c, hp, wp):
        padded = _padded(x, (ph, pw), hp, wp, "conv2d_weight_grad")
    table = _tap_table(device, ("fwd", c, kh, kw, dh, dw), hp, wp)
    m, pixels, panels = c * kh * kw, oh * ow, -(-o // nr)
    packed = empty((n, panels, pixels, nr), dtype, device)
    launch_planes(
        _conv_kernel(device, dtype, "conv_pack_dy"),
        pixels,
        n * panels,
        o,
        pixels,
        panels,
        grad.buffer,
        grad.offset,
        packed.buffer,
        op="conv2d_weight_grad",
    )
    m_panels = -(-m // p.rm)
    items = m_panels * panels
    per_slice = -(-n // min(n, -(-_WGRAD_BLOCKS // items)))
    slices = -(-n // per_slice)
    out = empty((slices, o, m), dtype, device)
    _conv_kernel(device, dtype, "conv_weight_grad").launch(
        (items, slices),
        (1, 1),
        m,
        o,
        oh,
        ow,
        padded.buffer,
        padded.offset,
        c * hp * wp,
        wp,
        sh,
        table.buffer,
        m,  # the image offsets: the table's second half
        packed.buffer,
        panels,
        n,
        per_slice,
        out.buffer,
        out.offset,
        o * m,
        1,
        m,
        m_panels,
        op="conv2d_weight_grad",
    )
    gw = out[0] if slices == 1 else primitives.sum(out, axis=(0,), keepdims=False, xp=xp)
    return xp.reshape(gw, (o, c, kh, kw))


# Work-groups the weight-gradient kernel should have at least (image slices fill it up).
_WGRAD_BLOCKS = 32


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
    dh, dw = dilation
    reach = ((kh - 1) * dh, (kw - 1) * dw)
    plane = _plane(c, h, w, padding, reach)
    if not pointwise and _implicit_ok(device, dtype, groups, stride, plane, n * o * kg * p, ow):
        taps = ("fwd", c, kh, kw, dh, dw)
        padded = _conv_implicit(x, weight, kg, taps, padding, reach, stride[0], out, bias, "conv2d")
        if keep_columns is not None and padded is not x:  # for the weight gradient
            _kept_columns(device).keep(keep_columns, ("padded", geo, dtype), padded)
        return out
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
    dh, dw = dilation
    reach = ((kh - 1) * dh, (kw - 1) * dw)
    flip_pad = (reach[0] - padding[0], reach[1] - padding[1])
    if (
        not pointwise
        and tuple(stride) == (1, 1)
        and min(flip_pad) >= 0
        and _implicit_ok(
            device,
            dtype,
            groups,
            stride,
            _plane(o, oh, ow, flip_pad, reach),
            n * c * kh * kw * o * p,
            w,
            c,
        )
    ):
        # dX is the stride-1 convolution of dY, padded by (KH-1)*DH - PH, with W's taps flipped
        dx = empty((n, c, h, w), dtype, device)
        taps = ("dx", o, c, kh, kw, dh, dw)
        _conv_implicit(
            grad, weight, kh * kw, taps, flip_pad, reach, 1, dx, None, "conv2d_input_grad"
        )
        return dx
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
    reach = ((kh - 1) * dilation[0], (kw - 1) * dilation[1])
    plane, macs = _plane(c, h, w, padding, reach), n * o * kg * p
    if not _pointwise(kernel_size, stride, padding) and _implicit_ok(
        device, dtype, groups, stride, plane, macs, ow
    ):  # as the forward chose, so that its kept padded images or columns serve
        kept = None if columns is None else columns.entries.pop(("padded", geo, dtype), None)
        return _weight_grad_implicit(grad, x, geo, kept, xp)
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
