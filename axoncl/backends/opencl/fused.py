"""Fused elementwise chains as single kernels (``kernels/fused.cl``).

Fusing is the biggest lever for elementwise code on PoCL (docs/kernels.md, section 5):
``a * b + c`` through the namespace is two launches and a temporary; here it is one pass over
memory.
Non-standard, like ``softmax``; the benchmarks use it. ``fused_relu`` and ``fused_relu_backward``
are the OpenCL versions of the ``relu`` and ``relu_backward`` primitives: one launch each
(ReLU's backward would be three through the namespace), and ``fused_channel_sum`` that of the
``sum`` primitive over every axis but 1 of a float32/float64 array of three or more dimensions
(a convolution's bias gradient: one launch instead of two passes), ``fused_column_sum`` that
of the ``sum`` primitive over axis 0 of an array of at most ``_COLUMN_ROWS`` rows (a linear
layer's bias gradient, a convolution's per-image weight gradients). All come from one small
program that the training path needs anyway.
"""

from __future__ import annotations

from .. import primitives
from . import dtypes as _dt
from .array import CLArray, empty
from .launch import get_kernel, tree_defines, tree_size
from .layout import buffer_args
from .lines import normalize_axes
from .windows import NAMESPACE

__all__ = ["fused_multiply_add"]


def fused_multiply_add(a: CLArray, b: CLArray, c: CLArray, /) -> CLArray:
    """``a * b + c`` in one kernel, for contiguous floating arrays of one shape and dtype.

    The product is rounded before the addition, so the result equals numpy's ``a * b + c``.

    Examples
    --------
    >>> fused_multiply_add(x, y, z).to_numpy()  # doctest: +SKIP
    """
    for name, arr in (("a", a), ("b", b), ("c", c)):
        if not isinstance(arr, CLArray):
            raise TypeError(
                f"fused_multiply_add: expected CLArray {name}, got {type(arr).__name__}"
            )
        if arr.dtype != a.dtype or not _dt.is_floating(arr.dtype):
            raise TypeError(
                f"fused_multiply_add: expected a, b, c of one floating dtype, got "
                f"{a.dtype}, {b.dtype}, {c.dtype}"
            )
        if arr.shape != a.shape or not arr.is_contiguous():
            raise ValueError(
                f"fused_multiply_add: expected contiguous arrays of one shape, got "
                f"{a.shape}, {b.shape}, {c.shape}; broadcast and copy first"
            )
        if arr.device is not a.device:
            raise ValueError(
                f"fused_multiply_add: arrays live on {a.device.id} and "
                f"{arr.device.id}; move one with to_device(...)"
            )
    device = a.device
    out = empty(a.shape, a.dtype, device)
    n = a.size
    if n == 0:
        return out
    vec = device.vector_width
    kernel = get_kernel(
        device, "fused", "fused_multiply_add", **_dt.storage_defines(a.dtype), VEC=vec
    )
    kernel.launch_items(
        -(-n // vec), n, *buffer_args(out, a, b, c), op="fused_multiply_add", shapes=(a.shape,)
    )
    return out


@primitives.relu.register(NAMESPACE)
def _relu_cl(x, *, xp):
    if not (isinstance(x, CLArray) and _dt.is_floating(x.dtype) and x.is_contiguous()):
        return primitives.relu.portable(x, xp=xp)
    device = x.device
    result = empty(x.shape, x.dtype, device)
    n = x.size
    vec = device.vector_width
    kernel = get_kernel(device, "fused", "fused_relu", **_dt.storage_defines(x.dtype), VEC=vec)
    kernel.launch_items(-(-n // vec), n, *buffer_args(result, x), op="relu", shapes=(x.shape,))
    return result


@primitives.relu_backward.register(NAMESPACE)
def _relu_backward_cl(grad, out, *, xp):
    if not (
        isinstance(grad, CLArray)
        and isinstance(out, CLArray)
        and grad.dtype == out.dtype
        and _dt.is_floating(grad.dtype)
        and grad.shape == out.shape
        and grad.is_contiguous()
        and out.is_contiguous()
        and grad.device is out.device
    ):
        return primitives.relu_backward.portable(grad, out, xp=xp)
    device = grad.device
    result = empty(grad.shape, grad.dtype, device)
    n = grad.size
    vec = device.vector_width
    kernel = get_kernel(
        device, "fused", "fused_relu_backward", **_dt.storage_defines(grad.dtype), VEC=vec
    )
    kernel.launch_items(
        -(-n // vec), n, *buffer_args(result, grad, out), op="relu_backward", shapes=(grad.shape,)
    )
    return result


# Matrices up to this many rows are summed over axis 0 by fused_column_sum (one work-item per
# VEC columns, each adding its rows in order); taller ones go to the namespace's reductions,
# which split the rows into chunks across work-items.
_COLUMN_ROWS = 4096


def _reduced_axes(x: CLArray, axis) -> tuple[int, ...] | None:
    try:
        return normalize_axes("sum", x.ndim, axis)
    except (TypeError, ValueError):
        return None  # the namespace's sum raises its own error


@primitives.sum.register(NAMESPACE)
def _sum_cl(x, *, axis, keepdims, xp):
    # (A strided array goes to the namespace, which reads the strides without a copy.)
    if not (
        isinstance(x, CLArray)
        and x.dtype in (_dt.float32, _dt.float64)  # (16-bit arrays arrive widened)
        and x.size
        and axis is not None
        and x.is_contiguous()
    ):
        return xp.sum(x, axis=axis, keepdims=keepdims)
    axes = _reduced_axes(x, axis)
    if x.ndim >= 3 and axes == (0, *range(2, x.ndim)):
        out = _channel_sum(x)
    elif x.ndim >= 2 and axes == (0,) and x.shape[0] <= _COLUMN_ROWS:
        matrix = xp.reshape(x, (x.shape[0], x.size // x.shape[0]))  # a view (at once when 2-D)
        out = xp.reshape(_column_sum(matrix), x.shape[1:])
    else:
        return xp.sum(x, axis=axis, keepdims=keepdims)
    return (
        xp.reshape(out, tuple(1 if a in axes else n for a, n in enumerate(x.shape)))
        if keepdims
        else out
    )


def relu_backward_column_sum(grad: CLArray, out: CLArray) -> tuple[CLArray, CLArray] | None:
    """``(g, sums)``: ``g = relu_backward(grad, out)`` and its column sums (a linear layer's
    bias gradient after its fused ReLU) in one launch, or None where the two separate kernels
    must run (other dtypes or layouts, taller matrices). The same values in the same order as
    ``fused_relu_backward`` then ``fused_column_sum``, so the results are identical."""
    if not (
        grad.ndim == 2
        and grad.shape == out.shape
        and grad.dtype == out.dtype
        and grad.dtype in (_dt.float32, _dt.float64)
        and 0 < grad.shape[0] <= _COLUMN_ROWS
        and grad.is_contiguous()
        and out.is_contiguous()
        and grad.device is out.device
    ):
        return None
    cols = grad.shape[1]
    masked = empty(grad.shape, grad.dtype, grad.device)
    sums = empty((cols,), grad.dtype, grad.device)
    args = (masked.buffer, grad.buffer, grad.offset, out.buffer, out.offset, sums.buffer)
    _launch_columns("fused_relu_backward_column_sum", grad, args, op="linear")
    return masked, sums


def _channel_sum(x: CLArray) -> CLArray:
    device, channels = x.device, x.shape[1]
    lws = tree_size(device)
    defines = {**_dt.storage_defines(x.dtype), "VEC": device.vector_width, **tree_defines(device)}
    out = empty((channels,), x.dtype, device)
    get_kernel(device, "fused", "fused_channel_sum", **defines).launch(
        (lws, channels),
        (lws, 1),
        x.shape[0],
        channels,
        x.size // (x.shape[0] * channels),
        x.buffer,
        x.offset,
        out.buffer,
        0,
        op="sum",
        shapes=(x.shape,),
    )
    return out


def _column_sum(x: CLArray) -> CLArray:
    out = empty((x.shape[1],), x.dtype, x.device)
    _launch_columns("fused_column_sum", x, (x.buffer, x.offset, out.buffer, 0), op="sum")
    return out


def _launch_columns(name: str, x: CLArray, args: tuple, *, op: str) -> None:
    """Launch the column kernel ``name`` over the rows x cols matrix ``x`` (its arguments after
    rows and cols: ``args``). A bias gradient (tens to thousands of columns) or a convolution's
    per-image weight gradients summed (O * C * KH * KW columns): a work-item per VEC columns,
    small grids, so always the small work-group (PoCL compiles one per size)."""
    device, (rows, cols) = x.device, x.shape
    vec = device.vector_width
    kernel = get_kernel(device, "fused", name, **_dt.storage_defines(x.dtype), VEC=vec)
    kernel.launch_items(-(-cols // vec), rows, cols, *args, op=op, shapes=(x.shape,), one_size=True)
