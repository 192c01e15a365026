"""Manipulation functions: views where the layout allows (reshape, permute_dims, squeeze,
broadcast_to, flip, ...), copies through the copy kernels otherwise (concat, roll, tile, ...)."""

from __future__ import annotations

import math
import operator

import numpy as np

from . import dtypes as _dt
from .array import CLArray, contiguous_strides, empty
from .copy import copy_into
from .layout import broadcast_shapes as _joint_shape
from .layout import check_device, type_name

__all__ = [
    "broadcast_arrays",
    "broadcast_shapes",
    "broadcast_to",
    "concat",
    "expand_dims",
    "flip",
    "moveaxis",
    "permute_dims",
    "reshape",
    "roll",
    "squeeze",
    "stack",
    "tile",
    "unstack",
]


def _check(x, op: str) -> CLArray:
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    return x


def normalize_axis(axis, ndim: int, op: str) -> int:
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: expected an integer axis, got {axis!r}") from None
    if not -ndim <= axis < ndim:
        raise IndexError(f"{op}: axis {axis} is out of bounds for an array of {ndim} dimensions")
    return axis % ndim


def _axes(axis, ndim: int, op: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(normalize_axis(a, ndim, op) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: repeated axis in {axis}")
        return axes
    return (normalize_axis(axis, ndim, op),)


def view(x: CLArray, shape, strides, offset) -> CLArray:
    return CLArray(x.device, x.buffer, offset, tuple(shape), tuple(strides), x.dtype)


# ---- reshape ---------------------------------------------------------------------------------
def _resolve_shape(shape, size: int, op: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = [int(n) for n in shape]
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1 or any(n < -1 for n in shape):
        raise ValueError(f"{op}: invalid shape {tuple(shape)}")
    if unknown:
        known = math.prod(n for n in shape if n != -1)
        if known == 0 or size % known:
            raise ValueError(f"{op}: cannot reshape an array of size {size} into {tuple(shape)}")
        shape[unknown[0]] = size // known
    if math.prod(shape) != size:
        raise ValueError(f"{op}: cannot reshape an array of size {size} into {tuple(shape)}")
    return tuple(shape)


def _nocopy_strides(x: CLArray, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Strides that view ``x`` with ``shape``, or None (numpy's _attempt_nocopy_reshape)."""
    if x.size == 0 or x.is_contiguous():
        return contiguous_strides(shape)
    old = [(n, s) for n, s in zip(x.shape, x.strides, strict=True) if n != 1]
    olddims = [n for n, _ in old]
    oldstrides = [s for _, s in old]
    newdims = list(shape)
    newstrides = [0] * len(newdims)
    oi, oj, ni, nj = 0, 1, 0, 1
    while ni < len(newdims) and oi < len(olddims):
        np_ = newdims[ni]
        op_ = olddims[oi]
        while np_ != op_:
            if np_ < op_:
                np_ *= newdims[nj]
                nj += 1
            else:
                op_ *= olddims[oj]
                oj += 1
        for ok in range(oi, oj - 1):
            if oldstrides[ok] != olddims[ok + 1] * oldstrides[ok + 1]:
                return None
        newstrides[nj - 1] = oldstrides[oj - 1]
        for nk in range(nj - 1, ni, -1):
            newstrides[nk - 1] = newstrides[nk] * newdims[nk]
        ni = nj
        nj += 1
        oi = oj
        oj += 1
    last = newstrides[ni - 1] if ni >= 1 else 1
    for nk in range(ni, len(newdims)):
        newstrides[nk] = last
    return tuple(newstrides)


def reshape(x, /, shape, *, copy=None) -> CLArray:
    """``x`` with a new shape; a view when the layout allows and ``copy`` is not True.

    Parameters
    ----------
    x : CLArray
        The input array.
    shape : tuple of int
        The new shape; one entry may be -1.
    copy : bool or None
        ``False``: a view or an error.

    Returns
    -------
    CLArray
        A view when the layout allows, else a copy.

    Raises
    ------
    ValueError
        When the sizes differ, or ``copy=False`` and no view is possible.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.reshape(xp.arange(6), (2, -1)).to_numpy()
    array([[0, 1, 2],
           [3, 4, 5]])
    """
    x = _check(x, "reshape")
    if copy is not True and shape == x.shape:  # (hot: a linear layer's 2-D input and output)
        return view(x, x.shape, x.strides, x.offset)
    shape = _resolve_shape(shape, x.size, "reshape")
    if copy is not True:
        strides = _nocopy_strides(x, shape)
        if strides is not None:
            return view(x, shape, strides, x.offset)
        if copy is False:
            raise ValueError(
                f"reshape: copy=False, but an array of shape {x.shape} and strides "
                f"{x.strides} cannot be viewed as {shape}"
            )
    out = empty(x.shape, x.dtype, x.device)
    copy_into(out, x)
    return view(out, shape, _nocopy_strides(out, shape), 0)


# ---- views ---------------------------------------------------------------------------------
def permute_dims(x, /, axes) -> CLArray:
    """A view with the axes reordered.

    Parameters
    ----------
    x : CLArray
        The input array.
    axes : tuple of int
        A permutation of ``range(x.ndim)``.

    Returns
    -------
    CLArray
        A view.

    Raises
    ------
    ValueError
        When ``axes`` is not a permutation.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.permute_dims(xp.ones((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    x = _check(x, "permute_dims")
    axes = tuple(normalize_axis(a, x.ndim, "permute_dims") for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute_dims: expected a permutation of {x.ndim} axes, got {axes}")
    return view(x, [x.shape[a] for a in axes], [x.strides[a] for a in axes], x.offset)


def matrix_transpose(x, /) -> CLArray:
    """A view with the last two axes swapped."""
    return _check(x, "matrix_transpose").mT


def expand_dims(x, /, axis=0) -> CLArray:
    """A view with a new axis of length 1 at ``axis``.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int
        Where the new axis goes.

    Returns
    -------
    CLArray
        A view with one more axis.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.expand_dims(xp.asarray([1, 2]), axis=0).shape
    (1, 2)
    """
    x = _check(x, "expand_dims")
    axes = _axes(
        axis, x.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1), "expand_dims"
    )
    shape = list(x.shape)
    strides = list(x.strides)
    for a in sorted(axes):
        shape.insert(a, 1)
        strides.insert(a, 0)
    return view(x, shape, strides, x.offset)


def squeeze(x, /, axis) -> CLArray:
    """A view without the given length-1 axes.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int or tuple of int
        Axes of length 1.

    Returns
    -------
    CLArray
        A view.

    Raises
    ------
    ValueError
        When an axis does not have length 1.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.squeeze(xp.ones((1, 3, 1)), axis=(0, 2)).shape
    (3,)
    """
    x = _check(x, "squeeze")
    axes = _axes(axis, x.ndim, "squeeze")
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has length {x.shape[a]}, expected 1")
    keep = [d for d in range(x.ndim) if d not in axes]
    return view(x, [x.shape[d] for d in keep], [x.strides[d] for d in keep], x.offset)


def broadcast_to(x, /, shape) -> CLArray:
    """A read-only-in-spirit view of ``x`` broadcast to ``shape`` (stride 0 on new axes).

    Parameters
    ----------
    x : CLArray
        The input array.
    shape : tuple of int
        A shape ``x`` broadcasts to.

    Returns
    -------
    CLArray
        A view (stride 0 on new or stretched axes).

    Raises
    ------
    ValueError
        When ``x`` does not broadcast to ``shape``.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.broadcast_to(xp.asarray([1, 2]), (2, 2)).to_numpy()
    array([[1, 2],
           [1, 2]])
    """
    x = _check(x, "broadcast_to")
    shape = tuple(int(n) for n in shape)
    if len(shape) < x.ndim or _joint_shape("broadcast_to", x.shape, shape) != shape:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    pad = len(shape) - x.ndim
    strides = [0] * pad + [
        0 if n == 1 and m != 1 else s
        for n, m, s in zip(x.shape, shape[pad:], x.strides, strict=True)
    ]
    return view(x, shape, strides, x.offset)


def broadcast_arrays(*arrays) -> tuple[CLArray, ...]:
    """Views of every array broadcast to their common shape.

    Parameters
    ----------
    arrays : CLArray
        Arrays whose shapes broadcast together.

    Returns
    -------
    tuple of CLArray
        Views, one per array, of the common shape.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> [a.shape for a in xp.broadcast_arrays(xp.ones((2, 1)), xp.ones(3))]
    [(2, 3), (2, 3)]
    """
    shape = _joint_shape("broadcast_arrays", *[_check(a, "broadcast_arrays").shape for a in arrays])
    return tuple(broadcast_to(a, shape) for a in arrays)


def broadcast_shapes(*shapes) -> tuple[int, ...]:
    """The shape that arrays of ``shapes`` broadcast to (``()`` for no shapes).

    Parameters
    ----------
    shapes : tuple of int
        Shapes to broadcast together.

    Returns
    -------
    tuple of int
        The broadcast shape.

    Examples
    --------
    >>> broadcast_shapes((2, 1), (3,))  # doctest: +SKIP
    (2, 3)
    """
    return _joint_shape("broadcast_shapes", *(tuple(int(n) for n in s) for s in shapes))


def flip(x, /, *, axis=None) -> CLArray:
    """A view with the order of elements reversed along ``axis`` (all axes by default).

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int, tuple of int or None
        The axes reversed; ``None``: all.

    Returns
    -------
    CLArray
        A view with negative strides.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.flip(xp.asarray([1, 2, 3])).to_numpy()
    array([3, 2, 1])
    """
    x = _check(x, "flip")
    strides = list(x.strides)
    offset = x.offset
    for a in _axes(axis, x.ndim, "flip"):
        if x.shape[a] > 0:
            offset += (x.shape[a] - 1) * strides[a]
        strides[a] = -strides[a]
    return view(x, x.shape, strides, offset)


def moveaxis(x, source, destination, /) -> CLArray:
    """A view with axes moved from ``source`` to ``destination``.

    Parameters
    ----------
    x : CLArray
        The input array.
    source, destination : int or tuple of int
        Where the axes are and where they go.

    Returns
    -------
    CLArray
        A view.

    Raises
    ------
    ValueError
        When ``source`` and ``destination`` differ in length.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.moveaxis(xp.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    x = _check(x, "moveaxis")
    src = _axes(source, x.ndim, "moveaxis")
    dst = _axes(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same number of axes")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return permute_dims(x, order)


def unstack(x, /, *, axis=0) -> tuple[CLArray, ...]:
    """Views of ``x`` split along ``axis``.

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int
        The axis split.

    Returns
    -------
    tuple of CLArray
        Views, one per index along ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> [a.to_numpy().tolist() for a in xp.unstack(xp.asarray([[1, 2], [3, 4]]))]
    [[1, 2], [3, 4]]
    """
    x = _check(x, "unstack")
    axis = normalize_axis(axis, x.ndim, "unstack")
    shape = x.shape[:axis] + x.shape[axis + 1 :]
    strides = x.strides[:axis] + x.strides[axis + 1 :]
    return tuple(
        view(x, shape, strides, x.offset + i * x.strides[axis]) for i in range(x.shape[axis])
    )


# ---- copies --------------------------------------------------------------------------------
def concat(arrays, /, *, axis=0) -> CLArray:
    """Join arrays along an existing axis (``axis=None``: flatten them first).

    Parameters
    ----------
    arrays : sequence of CLArray
        Arrays of one rank whose shapes match off ``axis``.
    axis : int or None
        The axis joined along; ``None``: flatten first.

    Returns
    -------
    CLArray
        The joined array, of the promoted dtype.

    Raises
    ------
    ValueError
        When ``arrays`` is empty, the arrays are 0-d, or their shapes differ off ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.concat([xp.asarray([1, 2]), xp.asarray([3])]).to_numpy()
    array([1, 2, 3])
    """
    arrays = [_check(a, "concat") for a in arrays]
    if not arrays:
        raise ValueError("concat: expected at least one array")
    device = check_device("concat", *arrays)
    dtype = _dt.result_type(*arrays)
    if axis is None:
        arrays = [reshape(a, (-1,)) for a in arrays]
        axis = 0
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError("concat: zero-dimensional arrays cannot be concatenated")
    axis = normalize_axis(axis, ndim, "concat")
    for a in arrays:
        if (
            a.ndim != ndim
            or a.shape[:axis] != arrays[0].shape[:axis]
            or a.shape[axis + 1 :] != arrays[0].shape[axis + 1 :]
        ):
            raise ValueError(
                "concat: shapes "
                + ", ".join(str(a.shape) for a in arrays)
                + f" differ outside axis {axis}"
            )
    total = sum(a.shape[axis] for a in arrays)
    shape = (*arrays[0].shape[:axis], total, *arrays[0].shape[axis + 1 :])
    out = empty(shape, dtype, device)
    start = 0
    for a in arrays:
        n = a.shape[axis]
        if n:
            part = view(out, a.shape, out.strides, start * out.strides[axis])
            copy_into(part, a)
        start += n
    return out


def stack(arrays, /, *, axis=0) -> CLArray:
    """Join arrays of one shape along a new axis.

    Parameters
    ----------
    arrays : sequence of CLArray
        Arrays of one shape.
    axis : int
        Where the new axis goes.

    Returns
    -------
    CLArray
        One more axis.

    Raises
    ------
    ValueError
        When ``arrays`` is empty or the shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.stack([xp.asarray([1, 2]), xp.asarray([3, 4])], axis=1).to_numpy()
    array([[1, 3],
           [2, 4]])
    """
    arrays = [_check(a, "stack") for a in arrays]
    if not arrays:
        raise ValueError("stack: expected at least one array")
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError(
            "stack: expected arrays of one shape, got " + ", ".join(str(a.shape) for a in arrays)
        )
    axis = normalize_axis(axis, arrays[0].ndim + 1, "stack")
    return concat([expand_dims(a, axis=axis) for a in arrays], axis=axis)


def roll(x, /, shift, *, axis=None) -> CLArray:
    """Elements shifted along ``axis`` (a flattened shift when None), wrapping around.

    Parameters
    ----------
    x : CLArray
        The input array.
    shift : int or tuple of int
        Positions to shift (negative: backwards).
    axis : int, tuple of int or None
        ``None``: the flattened array.

    Returns
    -------
    CLArray
        ``x``'s shape.

    Raises
    ------
    ValueError
        When ``shift`` and ``axis`` differ in length.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.roll(xp.asarray([1, 2, 3, 4]), 1).to_numpy()
    array([4, 1, 2, 3])
    """
    x = _check(x, "roll")
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, axis=0), x.shape)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,) * len(axes)
    if len(shifts) != len(axes):
        raise ValueError("roll: shift and axis need the same length")
    out = x
    for s, a in zip(shifts, axes, strict=True):
        a = normalize_axis(a, x.ndim, "roll")
        n = x.shape[a]
        if n == 0:
            continue
        s = int(s) % n
        if s == 0:
            continue
        head = _slice_axis(out, a, n - s, n)
        tail = _slice_axis(out, a, 0, n - s)
        out = concat([head, tail], axis=a)
    return out if out is not x else reshape(x, x.shape, copy=True)


def _slice_axis(x: CLArray, axis: int, start: int, stop: int) -> CLArray:
    shape = list(x.shape)
    shape[axis] = stop - start
    return view(x, shape, x.strides, x.offset + start * x.strides[axis])


def tile(x, repetitions, /) -> CLArray:
    """``x`` repeated ``repetitions[i]`` times along each axis.

    Parameters
    ----------
    x : CLArray
        The input array.
    repetitions : tuple of int
        Copies along each axis.

    Returns
    -------
    CLArray

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.tile(xp.asarray([1, 2]), (2,)).to_numpy()
    array([1, 2, 1, 2])
    """
    x = _check(x, "tile")
    reps = tuple(int(r) for r in repetitions)
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    base = reshape(x, (1,) * (ndim - x.ndim) + x.shape)
    inter = []
    big = []
    for r, n in zip(reps, base.shape, strict=True):
        inter += [1, n]
        big += [r, n]
    expanded = broadcast_to(reshape(base, inter), big)
    return reshape(expanded, [r * n for r, n in zip(reps, base.shape, strict=True)], copy=True)
