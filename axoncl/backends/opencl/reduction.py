"""Reductions, arg-reductions, cumulative sums and ``nonzero`` on OpenCL (``kernels/reduction.cl``).

Every reduction views its input as ``x[o, r, i]`` (outer, reduced, inner) without copying:
size-1 axes are dropped, the reduced axes collapse into one strided axis and the kept axes into
at most two (outer and inner), each with one stride. When the strides do not allow that (for
example a reduced axis tuple interleaved with a transposed kept axis), the input is copied once
into the layout ``(kept..., reduced...)``.

Launch shapes (KERNELS.md section 7):

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
from collections.abc import Sequence

import numpy as np
import pyopencl as cl

from . import dtypes as _dt
from .array import CLArray, ascontiguous, empty, from_numpy
from .device import Device
from .programs import get_kernel, status_name

__all__ = [
    "all",
    "any",
    "argmax",
    "argmin",
    "count_nonzero",
    "cumulative_sum",
    "max",
    "mean",
    "min",
    "nonzero",
    "prod",
    "std",
    "sum",
    "var",
]

_builtin_all = all
_builtin_max = max
_builtin_min = min

_FAMILY = "reduction"
_MIN_CHUNK = 4096  # shortest chunk worth a work-item of its own

# ---- launching --------------------------------------------------------------------------

_KERNEL_WG_LIMIT: dict[int, int] = {}


def _local_size(device: Device, kernel: cl.Kernel, n_items: int) -> int:
    """An explicit local size from a small fixed set (each one is a PoCL JIT specialisation)."""
    caps = device.caps
    if caps.kind == "cpu":
        # Small grids use work-groups of 8 so that every core gets some (PoCL runs one
        # work-group per pthread); large ones 64 to cut per-group overhead.
        local = 64 if n_items >= 64 * 4 * caps.compute_units else 8
    else:
        local = 256 if n_items >= 256 * 2 * caps.compute_units else 64
    limit = _KERNEL_WG_LIMIT.get(id(kernel))
    if limit is None:
        limit = kernel.get_work_group_info(
            cl.kernel_work_group_info.WORK_GROUP_SIZE, device.cl_device
        )
        _KERNEL_WG_LIMIT[id(kernel)] = limit
    while local > limit and local > 1:
        local //= 2
    return local


def _view_args(view, n_out: int, n_chunks: int, chunk: int) -> tuple:
    """The kernel arguments every reduction pass over ``view`` starts with: the source, its
    (outer, inner, reduced) geometry, and the chunking of the reduced axis."""
    return (
        view.x.buffer,
        _i64(view.offset),
        _i64(n_out),
        _i64(view.n_inner),
        _i64(view.s_o),
        _i64(view.s_i),
        _i64(view.n_red),
        _i64(view.s_r),
        _i64(n_chunks),
        _i64(chunk),
    )


def _launch(device: Device, kernel: cl.Kernel, n_items: int, args: Sequence, what: str) -> None:
    """Enqueue ``kernel`` over ``n_items`` work-items (global size rounded up; kernels guard)."""
    if n_items <= 0:
        return
    local = _local_size(device, kernel, n_items)
    global_size = -(-n_items // local) * local
    try:
        kernel.set_args(*args)
        cl.enqueue_nd_range_kernel(device.queue, kernel, (global_size,), (local,))
    except cl.Error as exc:
        code = exc.code if hasattr(exc, "code") else getattr(exc.args[0], "code", -9999)
        raise RuntimeError(
            f"{what}: launching {kernel.function_name} (global {global_size}, local {local}) on "
            f"{device.caps.name} failed with {status_name(code)}: {exc}"
        ) from None


def _scratch(device: Device, n: int, dtype: np.dtype):
    """A pooled device buffer for ``n`` elements (at least one, never 0 bytes)."""
    return device.allocator.allocate(_builtin_max(n, 1) * np.dtype(dtype).itemsize)


def _i64(v: int) -> np.int64:
    return np.int64(v)


# ---- dtype plumbing ---------------------------------------------------------------------


def _ctype(dtype: np.dtype) -> str:
    return _dt.C_TYPE[np.dtype(dtype)]


def _vector_width(acc: np.dtype) -> int:
    return 8 if np.dtype(acc).itemsize == 8 else 16


def _check_array(op: str, x) -> CLArray:
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected a CLArray, got {type(x).__name__}")
    if x.dtype not in _dt.C_TYPE:
        raise TypeError(f"{op}: dtype {x.dtype} is not supported by the OpenCL namespace")
    return x


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


def _sum_dtype(op: str, x: CLArray, dtype) -> np.dtype:
    if dtype is None:
        return _default_sum_dtype(x)
    return _dt.as_dtype(dtype, x.device, op)


# ---- axes and views ---------------------------------------------------------------------


def _normalize_axes(op: str, ndim: int, axis) -> tuple[int, ...]:
    """Sorted, unique, non-negative axes; ``None`` means all of them."""
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: expected axis to be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of bounds for an array of dimension {ndim}")
        a = int(a) % ndim if ndim else 0
        if a in out:
            raise ValueError(f"{op}: repeated axis {a} in {axis!r}")
        out.append(a)
    return tuple(sorted(out))


def _collapse(dims: list[tuple[int, int]]) -> tuple[int, int] | None:
    """(size, stride) of dims that form one strided axis (C order), or None."""
    if not dims:
        return 1, 0
    n, s = dims[-1]
    for size, stride in reversed(dims[:-1]):
        if stride != s * n:
            return None
        n *= size
    return n, s


class _View:
    """``x[o, r, i] = buffer[offset + o*s_o + r*s_r + i*s_i]`` with ``n_outer*n_inner`` outputs."""

    __slots__ = ("x", "offset", "n_outer", "s_o", "n_red", "s_r", "n_inner", "s_i")

    def __init__(self, x, offset, n_outer, s_o, n_red, s_r, n_inner, s_i) -> None:
        self.x = x
        self.offset = offset
        self.n_outer, self.s_o = n_outer, s_o
        self.n_red, self.s_r = n_red, s_r
        self.n_inner, self.s_i = n_inner, s_i

    @property
    def n_out(self) -> int:
        return self.n_outer * self.n_inner

    @property
    def rows(self) -> bool:
        """Whether the work-items should walk the reduced axis (innermost reduction)."""
        return self.n_inner == 1


def _try_view(x: CLArray, axes: tuple[int, ...], ordered: bool) -> _View | None:
    kept = [(x.shape[a], x.strides[a]) for a in range(x.ndim) if a not in axes and x.shape[a] != 1]
    red = [(x.shape[a], x.strides[a]) for a in axes if x.shape[a] != 1]
    if not ordered:
        # Order does not matter for sum/max/...: try the memory order, which collapses more.
        red.sort(key=lambda d: -abs(d[1]))
    r = _collapse(red)
    if r is None:
        return None
    best = None
    best_score = -1
    for p in range(len(kept), -1, -1):
        outer = _collapse(kept[:p])
        inner = _collapse(kept[p:])
        if outer is None or inner is None:
            continue
        if inner[0] == 1:
            score = 3 if r[1] == 1 else 1
        else:
            score = 2 if inner[1] == 1 else 0
        if score > best_score:
            best, best_score = (outer, inner), score
    if best is None:
        return None
    (n_o, s_o), (n_i, s_i) = best
    return _View(x, x.offset, n_o, s_o, r[0], r[1], n_i, s_i)


def _make_view(x: CLArray, axes: tuple[int, ...], ordered: bool = False) -> _View:
    """The (outer, reduced, inner) view of ``x``; one contiguous copy when strides forbid it."""
    if x.size == 0:  # nothing is read; only the counts matter
        n_red = math.prod(x.shape[a] for a in axes)
        n_out = math.prod(n for a, n in enumerate(x.shape) if a not in axes)
        return _View(x, x.offset, n_out, 0, n_red, 0, 1, 0)
    view = _try_view(x, axes, ordered)
    if view is not None:
        return view
    kept = [a for a in range(x.ndim) if a not in axes]
    perm = kept + list(axes)
    permuted = CLArray(
        x.device,
        x.buffer,
        x.offset,
        tuple(x.shape[a] for a in perm),
        tuple(x.strides[a] for a in perm),
        x.dtype,
    )
    xc = ascontiguous(permuted)
    n_red = math.prod(x.shape[a] for a in axes)
    n_out = math.prod(x.shape[a] for a in kept)
    return _View(xc, xc.offset, n_out, n_red, n_red, 1, 1, 0)


def _out_shape(x: CLArray, axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if a in axes else n for a, n in enumerate(x.shape))
    return tuple(n for a, n in enumerate(x.shape) if a not in axes)


def _chunking(device: Device, n_out: int, n_red: int, contiguous_only: bool = False):
    """(n_chunks, chunk, c_step, k_step) splitting each reduction so all compute units work."""
    cpu = device.caps.kind == "cpu"
    target = 64 * device.caps.compute_units if cpu else 8192
    if n_out >= target or n_red < 2 * _MIN_CHUNK:
        return 1, n_red, n_red, 1
    n_chunks = _builtin_min(-(-target // n_out), -(-n_red // _MIN_CHUNK))
    chunk = -(-n_red // n_chunks)
    if cpu or contiguous_only:
        n_chunks = -(-n_red // chunk)  # every chunk non-empty
        return n_chunks, chunk, chunk, 1
    # GPU: interleaved chunks, so neighbouring work-items read neighbouring elements.
    return n_chunks, chunk, 1, n_chunks


# ---- the generic reduction --------------------------------------------------------------

_OPS = {
    "sum": "OP_SUM",
    "prod": "OP_PROD",
    "max": "OP_MAX",
    "min": "OP_MIN",
    "all": "OP_ALL",
    "any": "OP_ANY",
}


def _defines(op: str, in_dtype, acc_dtype, mapk: str = "MAP_ID", finalk: str = "FINAL_ID"):
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


def _pass1_kernel(device: Device, view: _View, n_chunks: int, acc) -> tuple[str, int]:
    """Kernel name and work-item count of the first pass over ``view``."""
    if view.rows:
        return "reduction_rows", view.n_out * n_chunks
    if view.s_i == 1 and device.caps.kind == "cpu":
        n_strips = -(-view.n_inner // _vector_width(acc))  # strips of VW outputs
        return "reduction_cols_vec", view.n_outer * n_strips * n_chunks
    return "reduction_cols", view.n_out * n_chunks


def _reduce_view(
    op_name: str,
    view: _View,
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
    scale_arg = acc.type(scale) if acc.kind == "f" else acc.type(0)
    center_buf = center.buffer if center is not None else out.buffer
    n_chunks, chunk, c_step, k_step = chunks or _chunking(device, n_out, view.n_red)
    two_pass = n_chunks > 1
    name, n_items = _pass1_kernel(device, view, n_chunks, acc)
    kernel = get_kernel(
        device,
        _FAMILY,
        name,
        **_defines(op, view.x.dtype, acc, mapk, "FINAL_ID" if two_pass else finalk),
    )
    if two_pass:
        partial = _scratch(device, n_out * n_chunks, acc)
        dst, dst_off = partial, 0
    else:
        dst, dst_off = out.buffer, out.offset
    args = (
        *_view_args(view, n_out, n_chunks, chunk),
        _i64(c_step),
        _i64(k_step),
        dst,
        _i64(dst_off),
        center_buf,
        scale_arg,
    )
    _launch(device, kernel, n_items, args, op_name)
    if two_pass:
        kernel2 = get_kernel(
            device, _FAMILY, "reduction_rows", **_defines(op, acc, acc, "MAP_ID", finalk)
        )
        args2 = (
            partial,
            _i64(0),
            _i64(n_out),
            _i64(1),
            _i64(n_chunks),
            _i64(0),
            _i64(n_chunks),
            _i64(1),
            _i64(1),
            _i64(n_chunks),
            _i64(n_chunks),
            _i64(1),
            out.buffer,
            _i64(out.offset),
            center_buf,
            scale_arg,
        )
        _launch(device, kernel2, n_out, args2, op_name)
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
    axes = _normalize_axes(op_name, x.ndim, axis)
    shape = _out_shape(x, axes, keepdims)
    out = empty(shape, np.dtype(acc_dtype), x.device)
    if out.size == 0:
        return out
    view = _make_view(x, axes)
    if op in ("max", "min") and view.n_red == 0:
        raise ValueError(
            f"{op_name}: expected a non-empty reduction, got an array of shape "
            f"{x.shape} reduced over axes {axes}; {op_name} has no identity"
        )
    s = scale(view.n_red) if scale is not None else 1.0
    _reduce_view(op_name, view, op, acc_dtype, mapk=mapk, finalk=finalk, scale=s, out=out)
    return out


# ---- public reductions ------------------------------------------------------------------


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

    Examples
    --------
    >>> x = from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3), dev)  # doctest: +SKIP
    >>> sum(x, axis=1).to_numpy()                                          # doctest: +SKIP
    array([ 3., 12.], dtype=float32)
    """
    x = _check_array("sum", x)
    return _reduce("sum", x, axis, keepdims, "sum", _sum_dtype("sum", x, dtype))


def prod(
    x: CLArray,
    /,
    *,
    axis: int | tuple[int, ...] | None = None,
    dtype=None,
    keepdims: bool = False,
) -> CLArray:
    """Product of the elements over ``axis``; ``dtype`` defaults as in :func:`sum`.

    Examples
    --------
    >>> prod(from_numpy(np.array([1, 2, 3, 4]), dev)).to_numpy()  # doctest: +SKIP
    array(24)
    """
    x = _check_array("prod", x)
    return _reduce("prod", x, axis, keepdims, "prod", _sum_dtype("prod", x, dtype))


def max(  # noqa: A001 - the standard's name
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Largest element over ``axis``; NaN propagates like ``numpy.max``.

    Raises ``ValueError`` for an empty reduction (no identity), like numpy.

    Examples
    --------
    >>> max(from_numpy(np.array([1.0, 5.0, 2.0]), dev)).to_numpy()  # doctest: +SKIP
    array(5.)
    """
    x = _check_array("max", x)
    return _reduce("max", x, axis, keepdims, "max", x.dtype)


def min(  # noqa: A001 - the standard's name
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Smallest element over ``axis``; NaN propagates; empty reductions raise ``ValueError``.

    Examples
    --------
    >>> min(from_numpy(np.array([1.0, 5.0, 2.0]), dev)).to_numpy()  # doctest: +SKIP
    array(1.)
    """
    x = _check_array("min", x)
    return _reduce("min", x, axis, keepdims, "min", x.dtype)


def mean(
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Arithmetic mean over ``axis`` of a floating array; an empty reduction gives NaN.

    Examples
    --------
    >>> mean(from_numpy(np.array([1.0, 2.0, 6.0]), dev)).to_numpy()  # doctest: +SKIP
    array(3.)
    """
    x = _check_array("mean", x)
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


def _moment(op_name: str, x: CLArray, axis, correction, keepdims: bool, finalk: str):
    x = _check_array(op_name, x)
    _require_float(op_name, x)
    if isinstance(correction, bool) or not isinstance(correction, (int, float, np.number)):
        raise TypeError(f"{op_name}: expected correction to be an int or float, got {correction!r}")
    axes = _normalize_axes(op_name, x.ndim, axis)
    out = empty(_out_shape(x, axes, keepdims), x.dtype, x.device)
    if out.size == 0:
        return out
    view = _make_view(x, axes)
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

    Examples
    --------
    >>> all(from_numpy(np.array([1, 0, 2]), dev)).to_numpy()  # doctest: +SKIP
    array(False)
    """
    x = _check_array("all", x)
    return _reduce("all", x, axis, keepdims, "all", _dt.bool, mapk="MAP_NONZERO")


def any(  # noqa: A001 - the standard's name
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Whether any element over ``axis`` is nonzero; bool result.

    Examples
    --------
    >>> any(from_numpy(np.array([0, 0, 2]), dev)).to_numpy()  # doctest: +SKIP
    array(True)
    """
    x = _check_array("any", x)
    return _reduce("any", x, axis, keepdims, "any", _dt.bool, mapk="MAP_NONZERO")


def count_nonzero(
    x: CLArray, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> CLArray:
    """Number of nonzero elements over ``axis`` (int64).

    Examples
    --------
    >>> count_nonzero(from_numpy(np.array([0, 3, 2]), dev)).to_numpy()  # doctest: +SKIP
    array(2)
    """
    x = _check_array("count_nonzero", x)
    return _reduce("count_nonzero", x, axis, keepdims, "sum", _dt.int64, mapk="MAP_NONZERO")


# ---- argmax / argmin --------------------------------------------------------------------


def _arg_reduce(op_name: str, op: str, x: CLArray, axis, keepdims: bool) -> CLArray:
    x = _check_array(op_name, x)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op_name}: expected axis to be an int or None, got {axis!r}")
    axes = _normalize_axes(op_name, x.ndim, axis)
    out = empty(_out_shape(x, axes, keepdims), _dt.int64, x.device)
    if out.size == 0:
        return out
    # The index counts along the reduced axes in C order, so they must collapse in that order.
    view = _make_view(x, axes, ordered=True)
    if view.n_red == 0:
        raise ValueError(
            f"{op_name}: expected a non-empty reduction, got an array of shape "
            f"{x.shape} reduced over axes {axes}"
        )
    device = x.device
    n_out = view.n_out
    n_chunks, chunk, c_step, k_step = _chunking(device, n_out, view.n_red)
    defines = _defines(op, x.dtype, x.dtype)
    kernel = get_kernel(device, _FAMILY, "reduction_arg", **defines)
    vals = _scratch(device, n_out * n_chunks, x.dtype)
    idx = _scratch(device, n_out * n_chunks, _dt.int64) if n_chunks > 1 else out.buffer
    args = (
        *_view_args(view, n_out, n_chunks, chunk),
        _i64(c_step),
        _i64(k_step),
        vals,
        np.int32(0),
        vals,
        idx,
    )
    _launch(device, kernel, n_out * n_chunks, args, op_name)
    if n_chunks > 1:
        vals2 = _scratch(device, n_out, x.dtype)
        args2 = (
            vals,
            _i64(0),
            _i64(n_out),
            _i64(1),
            _i64(n_chunks),
            _i64(0),
            _i64(n_chunks),
            _i64(1),
            _i64(1),
            _i64(n_chunks),
            _i64(n_chunks),
            _i64(1),
            idx,
            np.int32(1),
            vals2,
            out.buffer,
        )
        _launch(device, kernel, n_out, args2, op_name)
    return out


def argmax(x: CLArray, /, *, axis: int | None = None, keepdims: bool = False) -> CLArray:
    """Index of the largest element along ``axis`` (flattened when ``None``), int64.

    Ties give the first occurrence; a NaN counts as the largest value (first NaN wins), like
    numpy.

    Examples
    --------
    >>> argmax(from_numpy(np.array([1.0, 7.0, 7.0]), dev)).to_numpy()  # doctest: +SKIP
    array(1)
    """
    return _arg_reduce("argmax", "OP_ARGMAX", x, axis, keepdims)


def argmin(x: CLArray, /, *, axis: int | None = None, keepdims: bool = False) -> CLArray:
    """Index of the smallest element along ``axis``; first occurrence, NaN first like numpy.

    Examples
    --------
    >>> argmin(from_numpy(np.array([3.0, 1.0, 1.0]), dev)).to_numpy()  # doctest: +SKIP
    array(1)
    """
    return _arg_reduce("argmin", "OP_ARGMIN", x, axis, keepdims)


# ---- cumulative_sum ---------------------------------------------------------------------


def _line_view(op_name: str, x: CLArray, axis: int) -> _View:
    """``x`` as (outer, axis, inner) with the kept axes in C order (a copy if needed)."""
    if x.size == 0:  # nothing is read; only the counts matter
        return _View(
            x,
            x.offset,
            math.prod(x.shape[:axis]),
            0,
            x.shape[axis],
            0,
            math.prod(x.shape[axis + 1 :]),
            0,
        )
    outer = _collapse(
        [(n, s) for n, s in zip(x.shape[:axis], x.strides[:axis], strict=True) if n != 1]
    )
    inner = _collapse(
        [(n, s) for n, s in zip(x.shape[axis + 1 :], x.strides[axis + 1 :], strict=True) if n != 1]
    )
    if outer is None or inner is None:
        if x.is_contiguous():
            raise RuntimeError(f"{op_name}: internal error: contiguous {x.shape} did not collapse")
        return _line_view(op_name, ascontiguous(x), axis)
    return _View(
        x, x.offset, outer[0], outer[1], x.shape[axis], x.strides[axis], inner[0], inner[1]
    )


def cumulative_sum(
    x: CLArray, /, *, axis: int | None = None, dtype=None, include_initial: bool = False
) -> CLArray:
    """Running sum along ``axis`` (which may be omitted only for 1-D input).

    Parameters
    ----------
    dtype
        As for :func:`sum` (int64 for signed integers and bool, uint64 for unsigned).
    include_initial
        Start each line with a zero, so the axis grows by one.

    Examples
    --------
    >>> cumulative_sum(from_numpy(np.array([1, 2, 3]), dev)).to_numpy()  # doctest: +SKIP
    array([1, 3, 6])
    """
    x = _check_array("cumulative_sum", x)
    if x.ndim == 0:
        raise ValueError("cumulative_sum: expected an array with at least one dimension, got 0-d")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(
                f"cumulative_sum: expected axis for a {x.ndim}-D array (shape "
                f"{x.shape}); pass axis=..."
            )
        axis = 0
    (axis,) = _normalize_axes("cumulative_sum", x.ndim, axis)
    acc = _sum_dtype("cumulative_sum", x, dtype)
    incl = 1 if include_initial else 0
    shape = tuple(n + incl if a == axis else n for a, n in enumerate(x.shape))
    out = empty(shape, acc, x.device)
    if out.size == 0:
        return out
    view = _line_view("cumulative_sum", x, axis)
    device = x.device
    n_lines = view.n_out
    kernel = get_kernel(device, _FAMILY, "reduction_cumsum", **_defines("sum", x.dtype, acc))
    n_chunks, chunk, _, _ = _chunking(device, n_lines, view.n_red, contiguous_only=True)
    start = out.buffer
    if n_chunks > 1:
        # Three phases: chunk sums, their exclusive scan per line, then each chunk's own scan
        # started from its offset.
        sums = empty((n_lines * n_chunks,), acc, device)
        name1, n_items1 = _pass1_kernel(device, view, n_chunks, acc)
        k1 = get_kernel(device, _FAMILY, name1, **_defines("sum", x.dtype, acc))
        args1 = (
            *_view_args(view, n_lines, n_chunks, chunk),
            _i64(chunk),
            _i64(1),
            sums.buffer,
            _i64(0),
            sums.buffer,
            acc.type(1) if acc.kind == "f" else acc.type(0),
        )
        _launch(device, k1, n_items1, args1, "cumulative_sum")
        starts = empty((n_lines * (n_chunks + 1),), acc, device)
        k2 = get_kernel(device, _FAMILY, "reduction_cumsum", **_defines("sum", acc, acc))
        args2 = (
            sums.buffer,
            _i64(0),
            _i64(n_lines),
            _i64(1),
            _i64(n_chunks),
            _i64(0),
            _i64(n_chunks),
            _i64(1),
            _i64(1),
            _i64(n_chunks),
            starts.buffer,
            _i64(0),
            _i64(1),
            starts.buffer,
            np.int32(0),
        )
        _launch(device, k2, n_lines, args2, "cumulative_sum")
        start = starts.buffer
    args = (
        *_view_args(view, n_lines, n_chunks, chunk),
        out.buffer,
        _i64(out.offset),
        _i64(incl),
        start,
        np.int32(n_chunks > 1),
    )
    _launch(device, kernel, n_lines * n_chunks, args, "cumulative_sum")
    return out


# ---- nonzero ----------------------------------------------------------------------------


def nonzero(x: CLArray, /) -> tuple[CLArray, ...]:
    """Indices of the nonzero elements, one int64 array per dimension, in C order.

    Host-bound: the number of nonzero elements is read back to size the outputs (one wait).

    Examples
    --------
    >>> [a.to_numpy() for a in nonzero(from_numpy(np.array([0, 3, 0, 4]), dev))]  # doctest: +SKIP
    [array([1, 3])]
    """
    x = _check_array("nonzero", x)
    if x.ndim == 0:
        raise ValueError(
            "nonzero: expected an array with at least one dimension, got 0-d; "
            "use reshape(x, (1,)) first"
        )
    device = x.device
    if x.size == 0:
        return tuple(empty((0,), _dt.int64, device) for _ in range(x.ndim))
    xc = ascontiguous(x)
    n = xc.size
    cpu = device.caps.kind == "cpu"
    target = 64 * device.caps.compute_units if cpu else 4096
    chunk = _builtin_max(-(-n // target), 1024)
    n_chunks = -(-n // chunk)
    counts = empty((n_chunks,), _dt.int64, device)
    # Pass 1 of a count_nonzero: one count per chunk, written as partials (no pass 2).
    k1 = get_kernel(
        device, _FAMILY, "reduction_rows", **_defines("sum", xc.dtype, _dt.int64, "MAP_NONZERO")
    )
    args1 = (
        xc.buffer,
        _i64(xc.offset),
        _i64(1),
        _i64(1),
        _i64(0),
        _i64(0),
        _i64(n),
        _i64(1),
        _i64(n_chunks),
        _i64(chunk),
        _i64(chunk),
        _i64(1),
        counts.buffer,
        _i64(0),
        counts.buffer,
        np.int64(0),
    )
    _launch(device, k1, n_chunks, args1, "nonzero")
    host_counts = counts.to_numpy()  # the one host wait: the output size
    offsets = np.zeros(n_chunks, dtype=np.int64)
    np.cumsum(host_counts[:-1], out=offsets[1:])
    total = int(host_counts.sum())
    flat = empty((total,), _dt.int64, device)
    if total == 0:
        return tuple(empty((0,), _dt.int64, device) for _ in range(x.ndim))
    offsets_dev = from_numpy(offsets, device)
    kernel = get_kernel(
        device,
        _FAMILY,
        "reduction_nonzero_flat",
        **_defines("sum", xc.dtype, _dt.int64, "MAP_NONZERO"),
    )
    _launch(
        device,
        kernel,
        n_chunks,
        (
            xc.buffer,
            _i64(xc.offset),
            _i64(n),
            _i64(chunk),
            _i64(n_chunks),
            offsets_dev.buffer,
            flat.buffer,
        ),
        "nonzero",
    )
    if x.ndim == 1:
        return (flat,)
    unravel = get_kernel(
        device, _FAMILY, "reduction_unravel", **_defines("sum", xc.dtype, _dt.int64, "MAP_NONZERO")
    )
    result = []
    step = 1
    steps = []
    for dim in reversed(x.shape):
        steps.append(step)
        step *= dim
    for dim, step in zip(x.shape, reversed(steps), strict=True):
        coord = empty((total,), _dt.int64, device)
        _launch(
            device,
            unravel,
            total,
            (flat.buffer, _i64(total), _i64(step), _i64(dim), coord.buffer),
            "nonzero",
        )
        result.append(coord)
    return tuple(result)
