"""Stable ``sort``/``argsort`` along an axis and ``searchsorted`` on OpenCL (``kernels/sort.cl``).

Sorting is a merge sort per line: insertion-sorted blocks of 16, then ``log2(n / 16)`` merge
passes between two scratch buffers. Every pass is one launch over all lines; each work-item
writes 256 outputs and finds where they start by a merge-path binary search, so long single
lines still use every compute unit. Keys travel with their int64 positions, which makes the
merge stable (equal keys keep their input order) and gives ``argsort`` for free.

NaN sorts last in ascending order (like numpy) and first in descending order (numpy's order
for a flip-based stable descending sort, as array-api-compat produces).
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .array import CLArray, ascontiguous, empty, from_numpy
from .copy import astype
from .launch import get_kernel
from .lines import check_array, line_view, normalize_axes, scratch

__all__ = ["argsort", "searchsorted", "sort"]

_BLOCK = 16
_SEG = 256


def _defines(dtype: np.dtype, descending: bool) -> dict:
    return {
        "KEY_T": _dt.C_TYPE[dtype],
        "IS_FLOAT": int(dtype.kind == "f"),
        "DESCENDING": int(bool(descending)),
        "BLOCK": _BLOCK,
        "SEG": _SEG,
    }


def _sorted_lines(op: str, x: CLArray, axis: int, descending: bool):
    """(view, keys, idx): each line of ``x`` along ``axis`` sorted into contiguous scratch."""
    x = check_array(op, x)
    if x.ndim == 0:
        raise ValueError(f"{op}: expected an array with at least one dimension, got 0-d")
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: expected axis to be an int, got {axis!r}")
    (axis,) = normalize_axes(op, x.ndim, axis)
    view = line_view(op, x, axis)
    device = x.device
    n_lines, n = view.n_out, view.n_red
    total = n_lines * n
    keys = scratch(device, total, x.dtype)
    idx = scratch(device, total, _dt.int64)
    if total == 0:
        return view, keys, idx
    defines = _defines(x.dtype, descending)
    blocks = get_kernel(device, "sort", "sort_blocks", **defines)
    n_blocks = -(-n // _BLOCK)
    blocks.launch_items(
        n_lines * n_blocks,
        view.x.buffer,
        view.offset,
        n_lines,
        view.n_inner,
        view.s_o,
        view.s_i,
        n,
        view.s_r,
        keys,
        idx,
        op=op,
    )
    if n > _BLOCK:
        merge = get_kernel(device, "sort", "sort_merge", **defines)
        keys2 = scratch(device, total, x.dtype)
        idx2 = scratch(device, total, _dt.int64)
        n_segs = -(-n // _SEG)
        w = _BLOCK
        while w < n:
            merge.launch_items(n_lines * n_segs, keys, idx, n_lines, n, w, keys2, idx2, op=op)
            keys, keys2 = keys2, keys
            idx, idx2 = idx2, idx
            w *= 2
    return view, keys, idx


def _store(op: str, x: CLArray, axis: int, descending: bool, index: bool) -> CLArray:
    view, keys, idx = _sorted_lines(op, x, axis, descending)
    dtype = _dt.int64 if index else x.dtype
    out = empty(x.shape, dtype, x.device)
    total = view.n_out * view.n_red
    if total:
        name = "sort_store_index" if index else "sort_store_keys"
        kernel = get_kernel(x.device, "sort", name, **_defines(x.dtype, descending))
        kernel.launch_items(
            total,
            idx if index else keys,
            view.n_out,
            view.n_inner,
            view.n_red,
            out.buffer,
            out.offset,
            op=op,
        )
    return out


def sort(
    x: CLArray, /, *, axis: int = -1, descending: bool = False, stable: bool = True
) -> CLArray:
    """``x`` sorted along ``axis`` (always stable; ``stable=False`` is accepted).

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int
        The axis sorted.
    descending : bool
        Largest first.
    stable : bool
        Accepted; the sort is always stable.

    Returns
    -------
    CLArray
        A sorted copy, ``x``'s shape and dtype.

    Examples
    --------
    >>> sort(from_numpy(np.array([3, 1, 2]), dev)).to_numpy()  # doctest: +SKIP
    array([1, 2, 3])
    """
    return _store("sort", x, axis, descending, index=False)


def argsort(
    x: CLArray, /, *, axis: int = -1, descending: bool = False, stable: bool = True
) -> CLArray:
    """Indices (int64) that sort ``x`` along ``axis``; stable, so ties keep input order.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int
        The axis sorted.
    descending : bool
        Largest first (ties still keep input order).
    stable : bool
        Accepted; the sort is always stable.

    Returns
    -------
    CLArray
        int64 indices, ``x``'s shape.

    Examples
    --------
    >>> argsort(from_numpy(np.array([3, 1, 1]), dev), descending=True).to_numpy()  # doctest: +SKIP
    array([0, 1, 2])
    """
    return _store("argsort", x, axis, descending, index=True)


def searchsorted(
    x1: CLArray, x2: CLArray | int | float, /, *, side: str = "left", sorter: CLArray | None = None
) -> CLArray:
    """Insertion points (int64, shape of ``x2``) of ``x2`` into the ascending 1-D ``x1``.

    ``x2`` may be a Python scalar (the result is then 0-d).

    Parameters
    ----------
    side
        ``"left"``: the first suitable position; ``"right"``: the last.
    sorter
        Optional int64 indices that sort ``x1`` (``argsort(x1)``).

    NaN is treated as larger than every number, like numpy.

    Returns
    -------
    CLArray
        int64 positions, ``x2``'s shape (0-d for a scalar ``x2``).

    Raises
    ------
    ValueError
        When ``x1`` is not 1-D, the arrays live on different devices, ``side`` is not
        ``"left"`` or ``"right"``, or ``sorter`` has not ``x1``'s shape.
    TypeError
        When ``x1`` and ``x2`` differ in dtype, or ``sorter`` is not int64.

    Examples
    --------
    >>> searchsorted(from_numpy(np.array([1.0, 2.0, 3.0]), dev),
    ...              from_numpy(np.array([2.0]), dev), side="right").to_numpy()  # doctest: +SKIP
    array([2])
    """
    x1 = check_array("searchsorted", x1)
    if isinstance(x2, (bool, int, float)):  # a Python scalar searches as a 0-d array
        dtype = _dt.result_type(x1.dtype, x2)
        x1 = astype(x1, dtype, copy=False)
        x2 = from_numpy(np.asarray(x2, dtype), x1.device)
    x2 = check_array("searchsorted", x2)
    if x1.ndim != 1:
        raise ValueError(f"searchsorted: expected a 1-D x1, got shape {x1.shape}")
    if x1.device is not x2.device:
        raise ValueError(
            f"searchsorted: x1 is on {x1.device.id} and x2 on {x2.device.id}; "
            "move one with to_device(...)"
        )
    if x1.dtype != x2.dtype:
        raise TypeError(
            f"searchsorted: expected x1 and x2 of one dtype, got {x1.dtype} and "
            f"{x2.dtype}; cast one with astype"
        )
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: expected side 'left' or 'right', got {side!r}")
    if sorter is not None:
        sorter = check_array("searchsorted", sorter)
        if sorter.shape != x1.shape or sorter.dtype.kind not in "iu":
            raise ValueError(
                f"searchsorted: expected an integer sorter of shape {x1.shape}, "
                f"got {sorter.dtype} of shape {sorter.shape}"
            )
        if sorter.dtype != _dt.int64:
            raise TypeError(f"searchsorted: expected an int64 sorter, got {sorter.dtype}")
    device = x1.device
    out = empty(x2.shape, _dt.int64, device)
    if x2.size == 0:
        return out
    x2c = ascontiguous(x2)
    kernel = get_kernel(device, "sort", "sort_searchsorted", **_defines(x1.dtype, False))
    s_buf = sorter.buffer if sorter is not None else out.buffer
    s_off = sorter.offset if sorter is not None else 0
    s_stride = sorter.strides[0] if sorter is not None else 0
    x1_stride = x1.strides[0] if x1.ndim else 0
    kernel.launch_items(
        x2c.size,
        x1.buffer,
        x1.offset,
        x1_stride,
        x1.shape[0],
        s_buf,
        s_off,
        s_stride,
        np.int32(sorter is not None),
        x2c.buffer,
        x2c.offset,
        x2c.size,
        np.int32(side == "right"),
        out.buffer,
        op="searchsorted",
    )
    return out
