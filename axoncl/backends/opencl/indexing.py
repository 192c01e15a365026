"""Indexing: ``__getitem__``/``__setitem__``, ``take`` and ``take_along_axis``.

Basic indexing (ints, slices with any step, None, Ellipsis) gives views. Integer arrays gather
with ``kernels/index.cl``; several integer arrays are folded into one linear index first.
Boolean masks are turned into indices on the host, because the result's size depends on the
data (the standard allows that; it is the one host read here).

Out-of-range integer indices are errors, found on the device: ``index_wrap`` and
``index_take_along`` report the first one on the device's error flag (``kernels/errors.h``),
and the next host read raises an ``IndexError`` naming the op, the value and its position. The
normal path pays nothing: the check is part of the pass that wraps negative indices anyway.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .. import primitives
from . import dtypes as _dt
from .array import CLArray, ascontiguous, empty, from_numpy
from .copy import astype, copy_into, fill
from .launch import Kernel, get_kernel
from .layout import broadcast_shapes, check_device, type_name
from .manipulation import (
    broadcast_to,
    expand_dims,
    moveaxis,
    normalize_axis,
    permute_dims,
    reshape,
    view,
)

# What this module adds to the namespace; getitem and setitem serve CLArray.
__all__ = ["repeat", "take", "take_along_axis"]

_UINT_OF_SIZE = {1: "uchar", 2: "ushort", 4: "uint", 8: "ulong", 16: "ulong2"}


def _index_kernel(device, itemsize: int, name: str) -> Kernel:
    # Gathers move bytes: one program per element width serves every dtype.
    return get_kernel(device, "index", f"index_{name}", T=_UINT_OF_SIZE[itemsize])


def _launch_check(name: str, index: CLArray, *args, op: str) -> None:
    """Launch ``index_<name>`` over ``index`` (contiguous int64) with the device's error flag
    and the id of ``op`` as its last two arguments."""
    device = index.device
    _index_kernel(device, 8, name).launch_items(
        index.size,
        index.size,
        *args,
        device.error_flag,
        device.error_op(op),
        op=op,
        shapes=(index.shape,),
    )


def wrap_indices(index: CLArray, n: int, op: str) -> CLArray:
    """``index`` as contiguous int64 with negative entries counted from the end. Entries outside
    ``[-n, n)`` are reported on the device's error flag and raise at the next read."""
    index = ascontiguous(astype(index, _dt.int64, copy=False))
    if index.size and n == 0:
        raise IndexError(f"{op}: cannot index into an axis of length 0")
    out = empty(index.shape, _dt.int64, index.device)
    _launch_check("wrap", index, out.buffer, index.buffer, index.offset, n, op=op)
    return out


@primitives.wrap_index.register("axoncl.backends.opencl")
def _wrap_index_cl(index, size, *, op, xp):
    return wrap_indices(index, size, op)


@primitives.check_targets.register("axoncl.backends.opencl")
def _check_targets_cl(target, n_classes, *, ignore_index, op, xp):
    """Checks on the device: the first bad target raises at the next read."""
    t = ascontiguous(astype(target, _dt.int64, copy=False))
    _launch_check("check_targets", t, t.buffer, t.offset, n_classes, ignore_index, op=op)


# ---- key parsing ---------------------------------------------------------------------------
def _as_index_array(item, device, op: str):
    """An index entry that is an array (CLArray, list, numpy array) as a CLArray, else None."""
    if isinstance(item, CLArray):
        if item.device is not device:
            raise ValueError(
                f"{op}: the index lives on {item.device.id} but the array on {device.id}; move "
                "one with .to_device(...)"
            )
        if item.dtype.kind not in "iub":
            raise IndexError(
                f"{op}: arrays used as indices must be integer or bool, got {item.dtype}"
            )
        return item
    if isinstance(item, (list, np.ndarray)):
        host = np.asarray(item)
        if host.dtype.kind not in "iub" and host.size:
            raise IndexError(
                f"{op}: arrays used as indices must be integer or bool, got {host.dtype}"
            )
        if host.dtype.kind != "b":
            host = host.astype(np.int64)
        return from_numpy(host, device)
    return None


def _parse(x: CLArray, key, op: str):
    """Split ``key`` into a basic view of x and the advanced entries.

    Returns (view, adv) with adv a list of (axis in the view, int64 CLArray index, position of
    the entry in the key); bool masks are already expanded into one integer index per masked
    axis.
    """
    if not isinstance(key, tuple):
        key = (key,)
    entries = []
    for item in key:
        arr = _as_index_array(item, x.device, op)
        if arr is not None:
            entries.append(("arr", arr))
        elif item is None:
            entries.append(("new", None))
        elif item is Ellipsis:
            entries.append(("ell", None))
        elif isinstance(item, slice):
            entries.append(("slice", item))
        elif isinstance(item, (bool, np.bool_)):
            entries.append(("arr", from_numpy(np.asarray(bool(item)), x.device)))
        else:
            try:
                entries.append(("int", operator.index(item)))
            except TypeError:
                raise IndexError(
                    f"{op}: unsupported index {item!r} of type "
                    f"{type(item).__name__}; expected an int, slice, None, "
                    "Ellipsis or an integer/bool array"
                ) from None
    if sum(kind == "ell" for kind, _ in entries) > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis")
    used = sum(
        1
        if kind in ("int", "slice")
        else (v.ndim if kind == "arr" and v.dtype == _dt.bool else 1 if kind == "arr" else 0)
        for kind, v in entries
    )
    if used > x.ndim:
        raise IndexError(f"{op}: too many indices for an array of {x.ndim} dimensions (got {used})")
    if not any(kind == "ell" for kind, _ in entries):
        entries.append(("ell", None))
    has_arrays = any(kind == "arr" for kind, _ in entries)
    shape, strides = [], []
    offset = x.offset
    dim = 0
    adv = []
    for position, (kind, v) in enumerate(entries):
        if kind == "ell":
            for _ in range(x.ndim - used):
                shape.append(x.shape[dim])
                strides.append(x.strides[dim])
                dim += 1
        elif kind == "new":
            shape.append(1)
            strides.append(0)
        elif kind == "int":
            n = x.shape[dim]
            if not -n <= v < n:
                raise IndexError(f"{op}: index {v} is out of bounds for axis {dim} with size {n}")
            if has_arrays:  # numpy's rule: next to arrays, an int is a 0-d index array
                adv.append(
                    (len(shape), from_numpy(np.asarray(v % n, np.int64), x.device), position)
                )
                shape.append(n)
                strides.append(x.strides[dim])
            else:
                offset += (v % n) * x.strides[dim]
            dim += 1
        elif kind == "slice":
            n = x.shape[dim]
            start, stop, step = v.indices(n)
            length = len(range(start, stop, step))
            if length:
                offset += start * x.strides[dim]
            shape.append(length)
            strides.append(x.strides[dim] * step)
            dim += 1
        elif v.dtype == _dt.bool:
            k = v.ndim
            indexed = x.shape[dim : dim + k]
            # Like numpy, a mask axis of length 0 matches any axis (it selects nothing).
            if any(m not in (0, n) for m, n in zip(v.shape, indexed, strict=True)):
                raise IndexError(
                    f"{op}: boolean index of shape {v.shape} does not match the "
                    f"indexed axes {x.shape[dim : dim + k]}"
                )
            if k == 0:  # x[True] adds an axis of length 1, x[False] one of length 0
                shape.append(1 if v.to_numpy() else 0)
                strides.append(0)
                continue
            # The one host read: the number of selected elements decides the result's shape.
            found = np.nonzero(v.to_numpy())
            for j in range(k):
                adv.append((len(shape), from_numpy(found[j].astype(np.int64), x.device), position))
                shape.append(x.shape[dim])
                strides.append(x.strides[dim])
                dim += 1
        else:
            n = x.shape[dim]
            adv.append((len(shape), astype(v, _dt.int64, copy=False), position))
            shape.append(n)
            strides.append(x.strides[dim])
            dim += 1
    return view(x, shape, strides, offset), adv


def _fold(v: CLArray, adv, op: str):
    """Fold the advanced axes of ``v`` into one axis at position p, with a linear index.

    Returns (vp, v3, p, index, index_shape): vp is v with the advanced axes moved together
    (a view), v3 is vp with them merged into one (shape (*before, N, *after); a view when the
    layout allows), ``index`` is 1-D int64, and the gathered axes are replaced by
    ``index_shape`` in the result.
    """
    axes = [a for a, _, _ in adv]
    index_shape = broadcast_shapes(op, *[i.shape for _, i, _ in adv])
    # numpy's rule: index entries that are not next to each other in the key (anything,
    # even an Ellipsis of no axes, between them) put the broadcast index axes first.
    positions = sorted({pos for _, _, pos in adv})
    adjacent = positions == list(range(positions[0], positions[0] + len(positions)))
    if not adjacent:
        rest = [d for d in range(v.ndim) if d not in axes]
        v = permute_dims(v, axes + rest)
        axes = list(range(len(axes)))
    p = axes[0]
    dims = [v.shape[a] for a in axes]
    linear = None
    for (_, index, _), n in zip(adv, dims, strict=True):
        # Negative indices count from the end; out-of-range ones raise at the next read.
        wrapped = wrap_indices(index, n, op)
        linear = wrapped if linear is None else linear * n + wrapped
    linear = reshape(broadcast_to(linear, index_shape), (-1,), copy=None)
    merged = (*v.shape[:p], math.prod(dims), *v.shape[p + len(dims) :])
    return v, reshape(v, merged), p, linear, index_shape


def _gather(v3: CLArray, p: int, index: CLArray, index_shape) -> CLArray:
    shape = v3.shape
    P = math.prod(shape[:p])
    N = shape[p]
    Q = math.prod(shape[p + 1 :])
    J = index.size
    out_shape = (*shape[:p], *index_shape, *shape[p + 1 :])
    out = empty(out_shape, v3.dtype, v3.device)
    n = P * J * Q
    if n == 0:
        return out
    if N == 0:
        raise IndexError("take: cannot index into an axis of length 0")
    src = ascontiguous(v3)
    index = ascontiguous(index)
    _index_kernel(v3.device, v3.itemsize, "take").launch_items(
        n,
        n,
        out.buffer,
        src.buffer,
        src.offset,
        index.buffer,
        index.offset,
        N,
        J,
        Q,
        op="take",
        shapes=(v3.shape, index.shape),
    )
    return out


def getitem(x: CLArray, key) -> CLArray:
    """``x[key]``: a view for basic indices, a gathered copy for array indices."""
    v, adv = _parse(x, key, "__getitem__")
    if not adv:
        return v
    _, v3, p, index, index_shape = _fold(v, adv, "__getitem__")
    return _gather(v3, p, index, index_shape)


def setitem(x: CLArray, key, value) -> None:
    """``x[key] = value`` with broadcasting of ``value`` and a cast to ``x.dtype``."""
    if isinstance(value, CLArray):
        check_device("__setitem__", x, value)
    elif isinstance(value, complex) and x.dtype.kind != "c":
        raise TypeError(
            f"__setitem__: cannot assign a complex value to a {x.dtype} array (complex to real "
            "is undefined in the array API)"
        )
    elif not isinstance(value, (bool, int, float, complex)):
        raise TypeError(
            f"__setitem__: cannot assign a {type_name(value)} value to an OpenCL "
            "array; convert it with xp.asarray(..., device=...) first"
        )
    v, adv = _parse(x, key, "__setitem__")
    x.bump_version()
    if not adv:
        if isinstance(value, CLArray):
            copy_into(v, value)
        else:
            fill(v, value)
        return
    vp, v3, p, index, index_shape = _fold(v, adv, "__setitem__")
    shape = v3.shape
    P = math.prod(shape[:p])
    N = shape[p]
    Q = math.prod(shape[p + 1 :])
    J = index.size
    target_shape = (*shape[:p], *index_shape, *shape[p + 1 :])
    values = empty(target_shape, x.dtype, x.device)
    if isinstance(value, CLArray):
        copy_into(values, value)
    else:
        fill(values, value)
    n = P * J * Q
    if n == 0:
        return
    # Scatter into v3 when it is a contiguous view of x; otherwise into a contiguous copy that
    # is written back through the view vp afterwards.
    direct = v3.buffer is x.buffer and v3.is_contiguous()
    dst = v3 if direct else ascontiguous(v3) if v3.buffer is x.buffer else v3
    index = ascontiguous(index)
    _index_kernel(x.device, x.itemsize, "put").launch_items(
        n,
        n,
        dst.buffer,
        dst.offset,
        index.buffer,
        index.offset,
        N,
        J,
        Q,
        values.buffer,
        values.offset,
        op="__setitem__",
        shapes=(x.shape, index.shape),
    )
    if not direct:
        copy_into(vp, reshape(dst, vp.shape))


def take(x, indices, /, *, axis=None) -> CLArray:
    """Elements of ``x`` at integer ``indices`` along ``axis``.

    Parameters
    ----------
    x : CLArray
        The input array.
    indices : CLArray
        1-D integer indices (negative count from the end).
    axis : int or None
        ``None`` only for 1-D ``x``.

    Returns
    -------
    CLArray
        ``x`` with ``axis`` replaced by ``len(indices)``.

    Raises
    ------
    TypeError
        When an argument is not an OpenCL array or the indices are not integers.
    ValueError
        When ``indices`` is not 1-D.
    IndexError
        When an index is out of range (from the device's error flag, at the next read).

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.take(xp.asarray([10, 20, 30]), xp.asarray([2, 0])).to_numpy()
    array([30, 10])
    """
    if not isinstance(x, CLArray):
        raise TypeError(f"take: expected an OpenCL array, got {type_name(x)}")
    if not isinstance(indices, CLArray):
        raise TypeError(f"take: expected OpenCL integer indices, got {type_name(indices)}")
    check_device("take", x, indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, got {indices.dtype}")
    if axis is None:
        if x.ndim != 1:
            x = reshape(x, (-1,))
        axis = 0
    axis = normalize_axis(axis, x.ndim, "take")
    if indices.ndim != 1:
        raise ValueError(f"take: expected 1-D indices, got shape {indices.shape}")
    index = wrap_indices(indices, x.shape[axis], "take")
    return _gather(x, axis, index, index.shape)


def take_along_axis(x, indices, /, *, axis=-1) -> CLArray:
    """``x`` gathered along ``axis`` by ``indices`` of the same rank (other axes broadcast).

    Parameters
    ----------
    x : CLArray
        The input array.
    indices : CLArray
        Integer indices of ``x``'s rank.
    axis : int
        The axis indexed.

    Returns
    -------
    CLArray
        The broadcast shape of ``x`` and ``indices`` with ``indices``'s length on ``axis``.

    Raises
    ------
    TypeError
        When an argument is not an OpenCL array or the indices are not integers.
    ValueError
        When the ranks differ.
    IndexError
        When the axis has length 0, or an index is out of range (from the device's error flag).

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> x = xp.asarray([[1, 2, 3], [4, 5, 6]])
    >>> xp.take_along_axis(x, xp.asarray([[2], [0]]), axis=1).to_numpy()
    array([[3],
           [4]])
    """
    if not isinstance(x, CLArray) or not isinstance(indices, CLArray):
        raise TypeError(
            f"take_along_axis: expected OpenCL arrays, got {type_name(x)} and {type_name(indices)}"
        )
    check_device("take_along_axis", x, indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got {indices.dtype}")
    if x.ndim != indices.ndim:
        raise ValueError(
            f"take_along_axis: x and indices need the same rank, got shapes "
            f"{x.shape} and {indices.shape}"
        )
    axis = normalize_axis(axis, x.ndim, "take_along_axis")
    other = broadcast_shapes(
        "take_along_axis",
        x.shape[:axis] + (1,) + x.shape[axis + 1 :],
        indices.shape[:axis] + (1,) + indices.shape[axis + 1 :],
    )
    N = x.shape[axis]
    J = indices.shape[axis]
    x_shape = other[:axis] + (N,) + other[axis + 1 :]
    i_shape = other[:axis] + (J,) + other[axis + 1 :]
    src = ascontiguous(broadcast_to(x, x_shape))
    index = empty(i_shape, _dt.int64, x.device)
    copy_into(index, indices)
    out = empty(i_shape, x.dtype, x.device)
    n = out.size
    if n == 0:
        return out
    if N == 0:
        raise IndexError("take_along_axis: cannot index into an axis of length 0")
    Q = math.prod(other[axis + 1 :])
    _index_kernel(x.device, x.itemsize, "take_along").launch_items(
        n,
        n,
        out.buffer,
        src.buffer,
        src.offset,
        index.buffer,
        0,
        N,
        J,
        Q,
        x.device.error_flag,
        x.device.error_op("take_along_axis"),
        op="take_along_axis",
        shapes=(x.shape, indices.shape),
    )
    return out


def repeat(x, repeats, /, *, axis=None) -> CLArray:
    """Each element repeated ``repeats`` times (an int, or one count per element along axis).

    With an array of counts the output length depends on the data, so this reads the counts
    back to the host (like ``nonzero``).

    Parameters
    ----------
    x : CLArray
        The input array.
    repeats : int or CLArray
        One count, or one per element along ``axis``.
    axis : int or None
        ``None``: the flattened array.

    Returns
    -------
    CLArray

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.
    ValueError
        When a count is negative or there is not one per element.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.repeat(xp.asarray([1, 2]), 2).to_numpy()
    array([1, 1, 2, 2])
    """
    if not isinstance(x, CLArray):
        raise TypeError(f"repeat: expected an OpenCL array, got {type_name(x)}")
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    axis = normalize_axis(axis, x.ndim, "repeat")
    n = x.shape[axis]
    if isinstance(repeats, CLArray):
        counts = repeats.to_numpy().astype(np.int64)
    else:
        counts = np.asarray(repeats, dtype=np.int64)
    if counts.shape == (1,):  # one count for every element
        counts = counts.reshape(())
    if counts.ndim == 0:
        r = int(counts)
        if r < 0:
            raise ValueError(f"repeat: repeats must be >= 0, got {r}")
        moved = moveaxis(x, axis, -1)
        expanded = broadcast_to(expand_dims(moved, axis=-1), (*moved.shape, r))
        flat = reshape(expanded, (*moved.shape[:-1], n * r), copy=True)
        return moveaxis(flat, -1, axis)
    if counts.shape != (n,) or (counts < 0).any():
        raise ValueError(f"repeat: expected {n} non-negative counts, got shape {counts.shape}")
    index = from_numpy(np.repeat(np.arange(n, dtype=np.int64), counts), x.device)
    return take(x, index, axis=axis)
