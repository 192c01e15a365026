"""Scans on OpenCL: ``cumulative_sum``, ``cumulative_prod``, ``nonzero`` (``kernels/reduction.cl``)
and their inverse, ``diff``.

``cumulative_sum`` and ``cumulative_prod`` scan each line of the input's line view
(:mod:`.lines`); long lines are split into chunks whose totals are scanned first, so every
compute unit works. ``nonzero``
counts per chunk, reads the counts back (the output's size depends on the data), then writes
the flat indices and unravels them per dimension.
"""

from __future__ import annotations

import operator

import numpy as np

from . import complexes as _cx
from . import dtypes as _dt
from .array import CLArray, ascontiguous, empty, from_numpy
from .elementwise import binary
from .launch import get_kernel
from .lines import check_array, chunking, line_view, normalize_axes, view_args
from .manipulation import concat
from .reduction import pass1_kernel, reduce_defines, sum_dtype

__all__ = ["cumulative_prod", "cumulative_sum", "diff", "nonzero"]

_FAMILY = "reduction"


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

    Returns
    -------
    CLArray
        ``x``'s shape (the axis one longer with ``include_initial``).

    Examples
    --------
    >>> cumulative_sum(from_numpy(np.array([1, 2, 3]), dev)).to_numpy()  # doctest: +SKIP
    array([1, 3, 6])
    """
    return _scan("cumulative_sum", "sum", x, axis, dtype, include_initial)


def cumulative_prod(
    x: CLArray, /, *, axis: int | None = None, dtype=None, include_initial: bool = False
) -> CLArray:
    """Running product along ``axis``; arguments as for :func:`cumulative_sum` (the initial
    value is one).

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int or None
        The axis (may be omitted for 1-D input).
    dtype : dtype or None
        As for :func:`cumulative_sum`.
    include_initial : bool
        Start each line with a one.

    Returns
    -------
    CLArray
        ``x``'s shape (the axis one longer with ``include_initial``).

    Examples
    --------
    >>> cumulative_prod(from_numpy(np.array([1, 2, 3]), dev)).to_numpy()  # doctest: +SKIP
    array([1, 2, 6])
    """
    return _scan("cumulative_prod", "prod", x, axis, dtype, include_initial)


def _scan(name: str, op: str, x, axis, dtype, include_initial: bool) -> CLArray:
    if name == "cumulative_sum" and isinstance(x, CLArray) and x.dtype.kind == "c":
        return _complex_cumulative_sum(x, axis, dtype, include_initial)
    x = check_array(name, x)
    if x.ndim == 0:
        raise ValueError(f"{name}: expected an array with at least one dimension, got 0-d")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(
                f"{name}: expected axis for a {x.ndim}-D array (shape {x.shape}); pass axis=..."
            )
        axis = 0
    (axis,) = normalize_axes(name, x.ndim, axis)
    acc = sum_dtype(name, x, dtype)
    incl = 1 if include_initial else 0
    shape = tuple(n + incl if a == axis else n for a, n in enumerate(x.shape))
    out = empty(shape, acc, x.device)
    if out.size == 0:
        return out
    view = line_view(name, x, axis)
    device = x.device
    n_lines = view.n_out
    kernel = get_kernel(device, _FAMILY, "reduction_scan", **reduce_defines(op, x.dtype, acc))
    n_chunks, chunk, _, _ = chunking(device, n_lines, view.n_red, contiguous_only=True)
    start = out.buffer
    if n_chunks > 1:
        # Three phases: chunk totals, their exclusive scan per line, then each chunk's own scan
        # started from its offset.
        totals = empty((n_lines * n_chunks,), acc, device)
        name1, n_items1 = pass1_kernel(device, view, n_chunks, acc)
        k1 = get_kernel(device, _FAMILY, name1, **reduce_defines(op, x.dtype, acc))
        args1 = (
            *view_args(view, n_lines, n_chunks, chunk),
            chunk,
            1,
            totals.buffer,
            0,
            totals.buffer,
            1.0 if acc.kind == "f" else 0,
        )
        k1.launch_items(n_items1, *args1, op=name)
        starts = empty((n_lines * (n_chunks + 1),), acc, device)
        k2 = get_kernel(device, _FAMILY, "reduction_scan", **reduce_defines(op, acc, acc))
        args2 = (
            totals.buffer,
            0,
            n_lines,
            1,
            n_chunks,
            0,
            n_chunks,
            1,
            1,
            n_chunks,
            starts.buffer,
            0,
            1,
            starts.buffer,
            0,
        )
        k2.launch_items(n_lines, *args2, op=name)
        start = starts.buffer
    args = (
        *view_args(view, n_lines, n_chunks, chunk),
        out.buffer,
        out.offset,
        incl,
        start,
        int(n_chunks > 1),
    )
    kernel.launch_items(n_lines * n_chunks, *args, op=name)
    return out


def _complex_cumulative_sum(x: CLArray, axis, dtype, include_initial: bool) -> CLArray:
    """cumulative_sum of a complex array: one real scan of its pair view."""
    acc = x.dtype if dtype is None else _dt.as_dtype(dtype, x.device, "cumulative_sum")
    if acc.kind != "c":
        raise TypeError(f"cumulative_sum: cannot accumulate complex {x.dtype} in {acc}")
    if x.ndim == 0:
        raise ValueError("cumulative_sum: expected an array with at least one dimension, got 0-d")
    if axis is None and x.ndim != 1:
        raise ValueError(
            f"cumulative_sum: expected axis for a {x.ndim}-D array (shape {x.shape}); pass axis=..."
        )
    (axis,) = normalize_axes("cumulative_sum", x.ndim, 0 if axis is None else axis)
    pairs = _cx.pairs(_cx.cast(x, acc))
    out = _scan("cumulative_sum", "sum", pairs, axis, pairs.dtype, include_initial)
    return _cx.from_pairs(out)


def diff(x: CLArray, /, *, axis: int = -1, n: int = 1, prepend=None, append=None) -> CLArray:
    """The ``n``-th forward difference along ``axis``, after joining ``prepend`` and ``append``.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int
        The axis differenced.
    n : int
        How many times, >= 0.
    prepend, append : CLArray or scalar
        Joined before and after ``x`` along ``axis`` first.

    Returns
    -------
    CLArray
        ``n`` fewer elements along ``axis`` (after the joins).

    Raises
    ------
    ValueError
        When ``x`` is 0-d or ``n`` is negative.

    Examples
    --------
    >>> diff(from_numpy(np.array([1, 4, 9]), dev)).to_numpy()  # doctest: +SKIP
    array([3, 5])
    """
    x = check_array("diff", x)
    if x.ndim == 0:
        raise ValueError("diff: expected an array with at least one dimension, got 0-d")
    (axis,) = normalize_axes("diff", x.ndim, axis)
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: expected n >= 0, got {n}")
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = concat([check_array("diff", p) for p in parts], axis=axis)
    for _ in range(n):
        length = x.shape[axis]
        head = tuple(slice(1, None) if a == axis else slice(None) for a in range(x.ndim))
        tail = tuple(slice(None, length - 1) if a == axis else slice(None) for a in range(x.ndim))
        x = binary("not_equal" if x.dtype == _dt.bool else "subtract", x[head], x[tail])
    return x


def nonzero(x: CLArray, /) -> tuple[CLArray, ...]:
    """Indices of the nonzero elements, one int64 array per dimension, in C order.

    Host-bound: the number of nonzero elements is read back to size the outputs (one wait).

    Parameters
    ----------
    x : CLArray
        The input array. At least 1-D.

    Returns
    -------
    tuple of CLArray
        int64 indices, one array per dimension.

    Raises
    ------
    ValueError
        When ``x`` is 0-d.

    Examples
    --------
    >>> [a.to_numpy() for a in nonzero(from_numpy(np.array([0, 3, 0, 4]), dev))]  # doctest: +SKIP
    [array([1, 3])]
    """
    if isinstance(x, CLArray) and x.dtype.kind == "c":  # nonzero: either part is
        x = binary("not_equal", x, 0)
    x = check_array("nonzero", x)
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
    chunk = max(-(-n // target), 1024)
    n_chunks = -(-n // chunk)
    counts = empty((n_chunks,), _dt.int64, device)
    # Pass 1 of a count_nonzero: one count per chunk, written as partials (no pass 2).
    k1 = get_kernel(
        device,
        _FAMILY,
        "reduction_rows",
        **reduce_defines("sum", xc.dtype, _dt.int64, "MAP_NONZERO"),
    )
    args1 = (
        xc.buffer,
        xc.offset,
        1,
        1,
        0,
        0,
        n,
        1,
        n_chunks,
        chunk,
        chunk,
        1,
        counts.buffer,
        0,
        counts.buffer,
        0,
    )
    k1.launch_items(n_chunks, *args1, op="nonzero")
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
        **reduce_defines("sum", xc.dtype, _dt.int64, "MAP_NONZERO"),
    )
    kernel.launch_items(
        n_chunks,
        xc.buffer,
        xc.offset,
        n,
        chunk,
        n_chunks,
        offsets_dev.buffer,
        flat.buffer,
        op="nonzero",
    )
    if x.ndim == 1:
        return (flat,)
    unravel = get_kernel(
        device,
        _FAMILY,
        "reduction_unravel",
        **reduce_defines("sum", xc.dtype, _dt.int64, "MAP_NONZERO"),
    )
    result = []
    step = 1
    steps = []
    for dim in reversed(x.shape):
        steps.append(step)
        step *= dim
    for dim, step in zip(x.shape, reversed(steps), strict=True):
        coord = empty((total,), _dt.int64, device)
        unravel.launch_items(total, flat.buffer, total, step, dim, coord.buffer, op="nonzero")
        result.append(coord)
    return tuple(result)
