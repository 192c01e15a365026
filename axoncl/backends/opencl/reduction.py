"""Reductions and arg-reductions on OpenCL (``kernels/reduction.cl``); scans are in ``scan.py``.

Every reduction works on the (outer, reduced, inner) line view of its input (:mod:`.lines`).

Launch shapes (docs/kernels.md, section 4):

* innermost (contiguous) reduced axis: ``reduction_rows``, one work-item per output, a ``float16``
  (``double8``) vector loop over the row;
* non-innermost reduced axis: ``reduction_cols``, one work-item per output with the inner axis
  spread across neighbouring work-items, so PoCL's work-item loop vectoriser makes SIMD loads;
* few outputs with long reductions (full reductions): the reduced axis is split into chunks
  (pass 1 writes one partial per chunk, enough work-groups for every compute unit), and pass 2
  reduces the partials of each output.

Float32 sums accumulate in float with blocked partial sums (64 vectors per block) and then the
chunk partials, so the rounding error grows like ``(64 + n / 1024 + chunks) eps`` rather than
``n eps``; float64 accumulates in double, integer sums in int64/uint64.
"""

from __future__ import annotations

import math

import numpy as np

from . import complexes as _cx
from . import dtypes as _dt
from .array import CLArray, empty
from .device import Device
from .launch import get_kernel
from .lines import (
    LineView,
    check_array,
    chunking,
    make_view,
    normalize_axes,
    out_shape,
    scratch,
    try_view,
    view_args,
)

__all__ = [
    "all",
    "any",
    "argmax",
    "argmin",
    "count_nonzero",
    "max",
    "mean",
    "min",
    "prod",
    "std",
    "sum",
    "var",
]

_builtin_all = all
_builtin_max = max
_builtin_min = min

_FAMILY = "reduction"


_OPS = {
    "sum": "OP_SUM",
    "prod": "OP_PROD",
    "max": "OP_MAX",
    "min": "OP_MIN",
    "all": "OP_ALL",
    "any": "OP_ANY",
}


def _ctype(dtype: np.dtype) -> str:
    return _dt.C_TYPE[np.dtype(dtype)]


def _vector_width(acc: np.dtype) -> int:
    return 8 if np.dtype(acc).itemsize == 8 else 16


def _require_float(op: str, x: CLArray) -> None:
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: expected a real floating-point array, got {x.dtype}; "
            f"cast first with astype(x, float32)"
        )


def _default_sum_dtype(x: CLArray) -> np.dtype:
    if x.dtype == _dt.bool or x.dtype.kind == "i":
        return _dt.int64
    if x.dtype.kind == "u":
        return _dt.uint64
    return x.dtype


def sum_dtype(op: str, x: CLArray, dtype) -> np.dtype:
    if dtype is None:
        return _default_sum_dtype(x)
    return _dt.as_dtype(dtype, x.device, op)


def reduce_defines(op: str, in_dtype, acc_dtype, mapk: str = "MAP_ID", finalk: str = "FINAL_ID"):
    acc = np.dtype(acc_dtype)
    return {
        "IN_T": _ctype(in_dtype),
        "ACC_T": _ctype(acc),
        "OP": _OPS.get(op, op),
        "MAPK": mapk,
        "FINALK": finalk,
        "IS_FLOAT": int(acc.kind == "f"),
        "VW": _vector_width(acc),
    }


def pass1_kernel(device: Device, view: LineView, n_chunks: int, acc) -> tuple[str, int]:
    """Kernel name and work-item count of the first pass over ``view``."""
    if view.rows:
        return "reduction_rows", view.n_out * n_chunks
    if view.s_i == 1 and device.caps.kind == "cpu":
        n_strips = -(-view.n_inner // _vector_width(acc))  # strips of VW outputs
        return "reduction_cols_vec", view.n_outer * n_strips * n_chunks
    return "reduction_cols", view.n_out * n_chunks


def _reduce_view(
    op_name: str,
    view: LineView,
    op: str,
    acc_dtype,
    *,
    mapk: str = "MAP_ID",
    finalk: str = "FINAL_ID",
    scale: float = 1.0,
    center=None,
    out=None,
    chunks: tuple[int, int, int, int] | None = None,
):
    """Reduce ``view`` into ``out`` (a CLArray of ``n_out`` elements, dtype ``acc_dtype``)."""
    device = view.x.device
    acc = np.dtype(acc_dtype)
    n_out = view.n_out
    if out is None:
        out = empty((n_out,), acc, device)
    if n_out == 0:
        return out
    scale_arg = float(scale) if acc.kind == "f" else 0  # typed by the kernel (launch.py)
    center_buf = center.buffer if center is not None else out.buffer
    n_chunks, chunk, c_step, k_step = chunks or chunking(device, n_out, view.n_red)
    two_pass = n_chunks > 1
    name, n_items = pass1_kernel(device, view, n_chunks, acc)
    kernel = get_kernel(
        device,
        _FAMILY,
        name,
        **reduce_defines(op, view.x.dtype, acc, mapk, "FINAL_ID" if two_pass else finalk),
    )
    if two_pass:
        partial = scratch(device, n_out * n_chunks, acc)
        dst, dst_off = partial, 0
    else:
        dst, dst_off = out.buffer, out.offset
    args = (
        *view_args(view, n_out, n_chunks, chunk),
        c_step,
        k_step,
        dst,
        dst_off,
        center_buf,
        scale_arg,
    )
    kernel.launch_items(n_items, *args, op=op_name)
    if two_pass:
        kernel2 = get_kernel(
            device, _FAMILY, "reduction_rows", **reduce_defines(op, acc, acc, "MAP_ID", finalk)
        )
        args2 = (
            partial,
            0,
            n_out,
            1,
            n_chunks,
            0,
            n_chunks,
            1,
            1,
            n_chunks,
            n_chunks,
            1,
            out.buffer,
            out.offset,
            center_buf,
            scale_arg,
        )
        kernel2.launch_items(n_out, *args2, op=op_name)
    return out


def _reduce(
    op_name: str,
    x: CLArray,
    axis,
    keepdims: bool,
    op: str,
    acc_dtype,
    *,
    mapk: str = "MAP_ID",
    finalk: str = "FINAL_ID",
    scale=None,
) -> CLArray:
    axes = normalize_axes(op_name, x.ndim, axis)
    shape = out_shape(x, axes, keepdims)
    out = empty(shape, np.dtype(acc_dtype), x.device)
    if out.size == 0:
        return out
    split = _split_axes(x, axes, op, mapk)
    if split is not None:
        # Reduce the trailing group of axes first (keeping them as size 1), then the rest, so
        # e.g. a (N, C, H, W) sum over (0, 2, 3) is two passes and no transposing copy.
        total = math.prod(x.shape[a] for a in axes)
        partial = _reduce(op_name, x, split, True, op, acc_dtype)
        s = scale(total) if scale is not None else 1.0
        return _reduce(
            op_name, partial, axes, keepdims, op, acc_dtype, finalk=finalk, scale=lambda _: s
        )
    view = make_view(x, axes)
    if op in ("max", "min") and view.n_red == 0:
        raise ValueError(
            f"{op_name}: expected a non-empty reduction, got an array of shape "
            f"{x.shape} reduced over axes {axes}; {op_name} has no identity"
        )
    s = scale(view.n_red) if scale is not None else 1.0
    _reduce_view(op_name, view, op, acc_dtype, mapk=mapk, finalk=finalk, scale=s, out=out)
    return out


_ASSOCIATIVE = frozenset({"sum", "prod", "max", "min", "all", "any"})


def _split_axes(x: CLArray, axes: tuple[int, ...], op: str, mapk: str) -> tuple[int, ...] | None:
    """The trailing reduced axes to reduce first when ``axes`` admit no single line view of
    ``x`` (which would cost a transposing copy); None when one view serves, or for ops whose
    partial results cannot be reduced again the same way."""
    if op not in _ASSOCIATIVE or mapk != "MAP_ID" or x.size == 0 or len(axes) < 2:
        return None
    if try_view(x, axes, False) is not None:
        return None
    for k in range(1, len(axes)):
        if try_view(x, axes[k:], False) is not None:
            return axes[k:]
    return None


def sum(  # noqa: A001 - the standard's name
    x: CLArray,
    /,
    *,
    axis: int | tuple[int, ...] | None = None,
    dtype=None,
    keepdims: bool = False,
) -> CLArray:
    """Sum of the elements over ``axis`` (all axes when ``None``).

    Parameters
    ----------
    dtype
        Accumulation and result dtype. Default: int64 for bool and signed integers, uint64 for
        unsigned integers, the input dtype for floats (float32 accumulates in float with
        blocked partial sums).

    Returns
    -------
    CLArray
        ``x``'s shape without the reduced axes, in ``dtype``.

    Examples
    --------
    >>> x = from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3), dev)  # doctest: +SKIP
    >>> sum(x, axis=1).to_numpy()                                          # doctest: +SKIP
    array([ 3., 12.], dtype=float32)
    """
    if _complex(x, dtype):
        return _complex_reduce("sum", x, axis, keepdims, dtype)
    x = check_array("sum", x)
    return _reduce("sum", x, axis, keepdims, "sum", sum_dtype("sum", x, dtype))


def prod(
    x: CLArray,
    /,
    *,
    axis: int | tuple[int, ...] | None = None,
    dtype=None,
    keepdims: bool = False,
) -> CLArray:
    """Product of the elements over ``axis``; ``dtype`` defaults as in :func:`sum`.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.
    dtype : dtype or None
        The accumulation and result dtype, defaulting as for :func:`sum`.

    Returns
    -------
    CLArray
        ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> prod(from_numpy(np.array([1, 2, 3, 4]), dev)).to_numpy()  # doctest: +SKIP
    array(24)
    """
    if _complex(x, dtype):
        return _complex_reduce("prod", x, axis, keepdims, dtype)
    x = check_array("prod", x)
    return _reduce("prod", x, axis, keepdims, "prod", sum_dtype("prod", x, dtype))


def max(  # noqa: A001 - the standard's name
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Largest element over ``axis``; NaN propagates like ``numpy.max``.

    Raises ``ValueError`` for an empty reduction (no identity), like numpy.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.

    Returns
    -------
    CLArray
        ``x``'s dtype, ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> max(from_numpy(np.array([1.0, 5.0, 2.0]), dev)).to_numpy()  # doctest: +SKIP
    array(5.)
    """
    x = check_array("max", x)
    return _reduce("max", x, axis, keepdims, "max", x.dtype)


def min(  # noqa: A001 - the standard's name
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Smallest element over ``axis``; NaN propagates; empty reductions raise ``ValueError``.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.

    Returns
    -------
    CLArray
        ``x``'s dtype, ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> min(from_numpy(np.array([1.0, 5.0, 2.0]), dev)).to_numpy()  # doctest: +SKIP
    array(1.)
    """
    x = check_array("min", x)
    return _reduce("min", x, axis, keepdims, "min", x.dtype)


def mean(
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Arithmetic mean over ``axis`` of a floating array; an empty reduction gives NaN.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.

    Returns
    -------
    CLArray
        ``x``'s floating dtype, ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> mean(from_numpy(np.array([1.0, 2.0, 6.0]), dev)).to_numpy()  # doctest: +SKIP
    array(3.)
    """
    if _complex(x, None):
        return _complex_reduce("mean", x, axis, keepdims, None)
    x = check_array("mean", x)
    _require_float("mean", x)
    return _reduce(
        "mean",
        x,
        axis,
        keepdims,
        "sum",
        x.dtype,
        finalk="FINAL_SCALE",
        scale=lambda n: 1.0 / n if n else math.inf,
    )


def _complex(x, dtype) -> bool:
    return (isinstance(x, CLArray) and x.dtype.kind == "c") or (
        dtype is not None and np.dtype(dtype).kind == "c"
    )


def _complex_reduce(op_name: str, x: CLArray, axis, keepdims: bool, dtype) -> CLArray:
    """sum, mean and prod of complex arrays: sums on the pair view (the (real, imaginary) axis
    last and kept), products by halving with complex multiplies."""
    if not isinstance(x, CLArray):
        raise TypeError(f"{op_name}: expected a CLArray, got {type(x).__name__}")
    acc = x.dtype if dtype is None else _dt.as_dtype(dtype, x.device, op_name)
    if acc.kind != "c":
        raise TypeError(f"{op_name}: cannot accumulate complex {x.dtype} in {acc}")
    x = _cx.cast(x, acc)
    axes = normalize_axes(op_name, x.ndim, axis)
    if op_name == "prod":
        return _cx.prod(x, axes, keepdims)
    scale = None
    if op_name == "mean":
        scale = lambda n: 1.0 / n if n else math.nan  # noqa: E731
    pairs = _cx.pairs(x)
    out = _reduce(
        op_name,
        pairs,
        axes,
        keepdims,
        "sum",
        pairs.dtype,
        finalk="FINAL_SCALE" if scale else "FINAL_ID",
        scale=scale,
    )
    return _cx.from_pairs(out)


def _moment(op_name: str, x: CLArray, axis, correction, keepdims: bool, finalk: str):
    x = check_array(op_name, x)
    _require_float(op_name, x)
    if isinstance(correction, bool) or not isinstance(correction, (int, float, np.number)):
        raise TypeError(f"{op_name}: expected correction to be an int or float, got {correction!r}")
    axes = normalize_axes(op_name, x.ndim, axis)
    out = empty(out_shape(x, axes, keepdims), x.dtype, x.device)
    if out.size == 0:
        return out
    view = make_view(x, axes)
    n = view.n_red
    # Two passes over x: the mean, then the sum of squared deviations from it (stabler than
    # E[x^2] - E[x]^2). A non-positive number of degrees of freedom gives inf/NaN like numpy.
    center = _reduce_view(
        op_name, view, "sum", x.dtype, finalk="FINAL_SCALE", scale=1.0 / n if n else math.inf
    )
    dof = n - correction
    scale = 1.0 / dof if dof > 0 else math.inf
    _reduce_view(
        op_name,
        view,
        "sum",
        x.dtype,
        mapk="MAP_SQDEV",
        finalk=finalk,
        scale=scale,
        center=center,
        out=out,
    )
    return out


def var(
    x: CLArray,
    /,
    *,
    axis: int | tuple[int, ...] | None = None,
    correction: int | float = 0.0,
    keepdims: bool = False,
) -> CLArray:
    """Variance over ``axis``: ``sum((x - mean)^2) / (N - correction)``.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.
    correction : int or float
        Subtracted from the number of elements in the divisor.

    Returns
    -------
    CLArray
        ``x``'s floating dtype, ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> x = from_numpy(np.array([1.0, 2.0, 3.0, 4.0]), dev)  # doctest: +SKIP
    >>> var(x, correction=1).to_numpy()                   # doctest: +SKIP
    array(1.66666667)
    """
    return _moment("var", x, axis, correction, keepdims, "FINAL_SCALE")


def std(
    x: CLArray,
    /,
    *,
    axis: int | tuple[int, ...] | None = None,
    correction: int | float = 0.0,
    keepdims: bool = False,
) -> CLArray:
    """Standard deviation over ``axis``: the square root of :func:`var`.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.
    correction : int or float
        Subtracted from the number of elements in the divisor.

    Returns
    -------
    CLArray
        ``x``'s floating dtype, ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> std(from_numpy(np.array([1.0, 3.0]), dev)).to_numpy()  # doctest: +SKIP
    array(1.)
    """
    return _moment("std", x, axis, correction, keepdims, "FINAL_SQRT")


def all(  # noqa: A001 - the standard's name
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Whether every element over ``axis`` is nonzero (NaN counts as nonzero); bool result.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.

    Returns
    -------
    CLArray
        bool, ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> all(from_numpy(np.array([1, 0, 2]), dev)).to_numpy()  # doctest: +SKIP
    array(False)
    """
    x = check_array("all", x)
    return _reduce("all", x, axis, keepdims, "all", _dt.bool, mapk="MAP_NONZERO")


def any(  # noqa: A001 - the standard's name
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Whether any element over ``axis`` is nonzero; bool result.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.

    Returns
    -------
    CLArray
        bool, ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> any(from_numpy(np.array([0, 0, 2]), dev)).to_numpy()  # doctest: +SKIP
    array(True)
    """
    x = check_array("any", x)
    return _reduce("any", x, axis, keepdims, "any", _dt.bool, mapk="MAP_NONZERO")


def count_nonzero(
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Number of nonzero elements over ``axis`` (int64).

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reduced (negative counts from the end); ``None``: all.
    keepdims : bool
        Keep the reduced axes with size 1.

    Returns
    -------
    CLArray
        int64, ``x``'s shape without the reduced axes.

    Examples
    --------
    >>> count_nonzero(from_numpy(np.array([0, 3, 2]), dev)).to_numpy()  # doctest: +SKIP
    array(2)
    """
    x = check_array("count_nonzero", x)
    return _reduce("count_nonzero", x, axis, keepdims, "sum", _dt.int64, mapk="MAP_NONZERO")


def _arg_reduce(op_name: str, op: str, x: CLArray, axis, keepdims: bool) -> CLArray:
    x = check_array(op_name, x)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op_name}: expected axis to be an int or None, got {axis!r}")
    axes = normalize_axes(op_name, x.ndim, axis)
    out = empty(out_shape(x, axes, keepdims), _dt.int64, x.device)
    if out.size == 0:
        return out
    # The index counts along the reduced axes in C order, so they must collapse in that order.
    view = make_view(x, axes, ordered=True)
    if view.n_red == 0:
        raise ValueError(
            f"{op_name}: expected a non-empty reduction, got an array of shape "
            f"{x.shape} reduced over axes {axes}"
        )
    device = x.device
    n_out = view.n_out
    n_chunks, chunk, c_step, k_step = chunking(device, n_out, view.n_red)
    defines = reduce_defines(op, x.dtype, x.dtype)
    kernel = get_kernel(device, _FAMILY, "reduction_arg", **defines)
    vals = scratch(device, n_out * n_chunks, x.dtype)
    idx = scratch(device, n_out * n_chunks, _dt.int64) if n_chunks > 1 else out.buffer
    args = (
        *view_args(view, n_out, n_chunks, chunk),
        c_step,
        k_step,
        vals,
        0,
        vals,
        idx,
    )
    kernel.launch_items(n_out * n_chunks, *args, op=op_name)
    if n_chunks > 1:
        vals2 = scratch(device, n_out, x.dtype)
        args2 = (
            vals,
            0,
            n_out,
            1,
            n_chunks,
            0,
            n_chunks,
            1,
            1,
            n_chunks,
            n_chunks,
            1,
            idx,
            1,
            vals2,
            out.buffer,
        )
        kernel.launch_items(n_out, *args2, op=op_name)
    return out


def argmax(x: CLArray, /, *, axis: int | None = None, keepdims: bool = False) -> CLArray:
    """Index of the largest element along ``axis`` (flattened when ``None``), int64.

    Ties give the first occurrence; a NaN counts as the largest value (first NaN wins), like
    numpy.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int or None
        The axis searched; ``None``: the flattened array.
    keepdims : bool
        Keep the axis with size 1.

    Returns
    -------
    CLArray
        int64 indices, ``x``'s shape without ``axis`` (0-d for ``None``).

    Examples
    --------
    >>> argmax(from_numpy(np.array([1.0, 7.0, 7.0]), dev)).to_numpy()  # doctest: +SKIP
    array(1)
    """
    return _arg_reduce("argmax", "OP_ARGMAX", x, axis, keepdims)


def argmin(x: CLArray, /, *, axis: int | None = None, keepdims: bool = False) -> CLArray:
    """Index of the smallest element along ``axis``; first occurrence, NaN first like numpy.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int or None
        The axis searched; ``None``: the flattened array.
    keepdims : bool
        Keep the axis with size 1.

    Returns
    -------
    CLArray
        int64 indices, ``x``'s shape without ``axis`` (0-d for ``None``).

    Examples
    --------
    >>> argmin(from_numpy(np.array([3.0, 1.0, 1.0]), dev)).to_numpy()  # doctest: +SKIP
    array(1)
    """
    return _arg_reduce("argmin", "OP_ARGMIN", x, axis, keepdims)
