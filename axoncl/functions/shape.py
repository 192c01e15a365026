"""Shape ops: reshape, permute, transpose, broadcast, squeeze, concat, stack, split, pad,
indexing.
"""

from __future__ import annotations

import builtins
import inspect
import math
from collections.abc import Sequence
from typing import Any

from ..backends import primitives, to_backend
from ..graph import Function
from ..variable import Variable
from ._util import normalize_axes, unbroadcast
from .arithmetic import _is_complex, real

__all__ = [
    "astype",
    "broadcast_to",
    "concat",
    "flatten",
    "getitem",
    "matrix_transpose",
    "pad",
    "permute_dims",
    "reshape",
    "split",
    "squeeze",
    "stack",
    "transpose",
    "unsqueeze",
]


class Reshape(Function):
    """A new shape with the same elements (``-1`` infers one size)."""

    @staticmethod
    def forward(ctx, x):
        ctx.in_shape = tuple(x.shape)
        shape = tuple(ctx.shape)
        if shape.count(-1) > 1 or (-1 not in shape and math.prod(shape) != math.prod(x.shape)):
            raise ValueError(
                f"reshape: cannot reshape a value of shape {tuple(x.shape)} "
                f"({math.prod(x.shape)} elements) into {shape}"
            )
        return ctx.xp.reshape(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return (grad.reshape(ctx.in_shape),)


class PermuteDims(Function):
    """Reorder the axes."""

    @staticmethod
    def forward(ctx, x):
        if sorted(a % builtins.max(x.ndim, 1) for a in ctx.axes) != list(range(x.ndim)):
            raise ValueError(
                f"permute_dims: expected a permutation of {x.ndim} axes, got {tuple(ctx.axes)}"
            )
        return ctx.xp.permute_dims(x, tuple(ctx.axes))

    @staticmethod
    def backward(ctx, grad):  # the inverse permutation
        ndim = len(ctx.axes)
        inverse = [0] * ndim
        for i, a in enumerate(ctx.axes):
            inverse[a % ndim] = i
        return (permute_dims(grad, tuple(inverse)),)


class BroadcastTo(Function):
    """Repeat size-1 (or missing leading) axes up to ``shape``."""

    @staticmethod
    def forward(ctx, x):
        ctx.in_shape = tuple(x.shape)
        impl = primitives.broadcast_to.implementation(ctx.xp)  # not __call__: a hot path
        return impl(x, tuple(ctx.shape), xp=ctx.xp)

    @staticmethod
    def backward(ctx, grad):
        return (unbroadcast(grad, ctx.in_shape),)


class AsType(Function):
    """A cast; the gradient is cast back to the input's dtype."""

    name = "astype"

    @staticmethod
    def forward(ctx, x):
        ctx.in_dtype = x.dtype
        return ctx.xp.astype(x, ctx.dtype)

    @staticmethod
    def backward(ctx, grad):
        if _is_complex(grad) and not ctx.xp.isdtype(ctx.in_dtype, "complex floating"):
            grad = real(grad)  # a real input cast to complex: dL/dx is the real part
        return (astype(grad, ctx.in_dtype),)


class _MoveTo(Function):
    """``Variable.to``: the data on another backend or device; the gradient moves back. Private
    (not an op of the registry): ``Variable.to`` is its one caller."""

    name = "to"

    @staticmethod
    def forward(ctx, x):
        ctx.source = (ctx.xp, getattr(x, "device", None))
        return to_backend(x, ctx.backend, device=ctx.device)

    @staticmethod
    def backward(ctx, grad):
        xp, device = ctx.source  # d(move)/dx = identity, on x's own backend and device
        return (_MoveTo.apply(grad, backend=xp, device=device),)


class Concat(Function):
    """Join values along ``axis``; backward slices the gradient apart."""

    @staticmethod
    def forward(ctx, *xs):
        ctx.sizes = [x.shape[ctx.axis] for x in xs]
        return ctx.xp.concat(list(xs), axis=ctx.axis)

    @staticmethod
    def backward(ctx, grad):
        out = []
        start = 0
        axis = ctx.axis % grad.ndim
        for size, needed in zip(ctx.sizes, ctx.needs_input_grad, strict=True):
            key = (slice(None),) * axis + (slice(start, start + size),)
            out.append(grad[key] if needed else None)
            start += size
        return tuple(out)


def _normalize_key(key: Any, shape: tuple[int, ...], xp: Any) -> tuple[Any, ...]:
    """``key`` as a tuple with Ellipsis expanded; boolean masks become integer arrays."""
    if not isinstance(key, tuple):
        key = (key,)
    key = tuple(k.data if isinstance(k, Variable) else k for k in key)
    expanded: list[Any] = []
    for k in key:
        if isinstance(k, list):
            k = xp.asarray(k)
        if hasattr(k, "dtype") and hasattr(k, "shape") and xp.isdtype(k.dtype, "bool"):
            expanded.extend(xp.nonzero(k))  # host-bound: the result's size depends on the data
        else:
            expanded.append(k)
    consumed = builtins.sum(1 for k in expanded if k is not None and k is not Ellipsis)
    if consumed > len(shape):
        raise IndexError(f"getitem: too many indices ({consumed}) for a value of shape {shape}")
    if Ellipsis in [k for k in expanded if not hasattr(k, "shape")]:
        i = next(i for i, k in enumerate(expanded) if k is Ellipsis and not hasattr(k, "shape"))
        expanded[i : i + 1] = [slice(None)] * (len(shape) - consumed)
    else:
        expanded.extend([slice(None)] * (len(shape) - consumed))
    return tuple(expanded)


def _is_int_array(k: Any) -> bool:
    return hasattr(k, "shape") and hasattr(k, "dtype")


class GetItem(Function):
    """``x[key]`` for ints, slices (steps, negatives), None, Ellipsis, boolean masks and integer
    arrays; the backward of integer-array indexing adds repeated indices."""

    name = "getitem"

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        key = _normalize_key(ctx.key, tuple(x.shape), xp)
        ctx.in_shape = tuple(x.shape)
        arrays = [i for i, k in enumerate(key) if _is_int_array(k)]
        if not arrays:
            ctx.mode = "basic"
            ctx.key = key
            return x[key]
        # Integer arrays: on consecutive axes, everything else a full slice.
        dims = [i for i, k in enumerate(key) if k is not None]
        positions = [dims.index(i) for i in arrays]
        if positions != list(range(positions[0], positions[0] + len(positions))) or any(
            k != slice(None) for i, k in enumerate(key) if i not in arrays and k is not None
        ):
            raise NotImplementedError(
                "getitem: integer-array indices must sit on consecutive axes with full slices "
                "elsewhere (e.g. x[idx], x[:, idx], x[rows, cols]); index in two steps"
            )
        if any(k is None for k in key):
            raise NotImplementedError(
                "getitem: None cannot be combined with integer arrays; "
                "add the axis with unsqueeze first"
            )
        first = positions[0]
        sizes = [x.shape[first + j] for j in range(len(arrays))]
        idx = xp.broadcast_arrays(*[key[i] for i in arrays])
        flat = None
        for j, ix in enumerate(idx):
            # Checked (on a device: at the next read); negative indices count from the end.
            ix = primitives.wrap_index(ix, sizes[j], op="getitem", xp=xp)
            flat = ix if flat is None else flat * sizes[j] + ix
        index_shape = tuple(flat.shape)
        flat = xp.reshape(flat, (-1,))
        merged = x.shape[:first] + (math.prod(sizes),) + x.shape[first + len(arrays) :]
        taken = xp.take(xp.reshape(x, merged), flat, axis=first)
        ctx.mode = "take"
        ctx.first = first
        ctx.flat = flat
        ctx.merged = merged
        out_shape = x.shape[:first] + index_shape + x.shape[first + len(arrays) :]
        return xp.reshape(taken, out_shape)

    @staticmethod
    def backward(ctx, grad):
        return (_IndexBackward.apply(grad, owner=ctx),)


class _IndexBackward(Function):
    """The adjoint of :class:`GetItem`: zeros of the input's shape with ``grad`` put (or added)
    at ``key``. Its own backward indexes again, so second derivatives work."""

    name = "getitem_backward"

    @staticmethod
    def forward(ctx, grad):
        xp = ctx.xp
        owner = ctx.owner
        if owner.mode == "take":
            moved = xp.reshape(
                grad, owner.merged[: owner.first] + (-1,) + owner.merged[owner.first + 1 :]
            )
            summed = primitives.index_add(
                moved, owner.flat, owner.merged[owner.first], axis=owner.first, xp=xp
            )
            return xp.reshape(summed, owner.in_shape)
        key = tuple(k for k in owner.key if k is not None)
        out = xp.zeros(owner.in_shape, dtype=grad.dtype, device=getattr(grad, "device", None))
        target_shape = out[key].shape
        return primitives.set_index(out, key, xp.reshape(grad, target_shape), xp=xp)

    @staticmethod
    def backward(ctx, grad):
        owner = ctx.owner
        if owner.mode == "take":
            merged = grad.reshape(owner.merged)
            key = (slice(None),) * owner.first + (owner.flat,)
            return (GetItem.apply(merged, key=key).reshape(owner.out_shape),)
        return (GetItem.apply(grad, key=owner.key),)


def getitem(x: Any, key: Any) -> Variable:
    """``x[key]``.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    key : index
        Ints, slices, ``None``, ``...``, integer or boolean arrays, as the namespace accepts.

    Returns
    -------
    Variable
        The selection; its gradient is scattered back into ``x``'s shape.

    Raises
    ------
    IndexError
        When an index is out of range (raised by the namespace; on OpenCL from the device's
        error flag for integer-array indices).

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.getitem(x, (0, slice(1, None))).numpy()
    array([1., 2.])
    """
    return GetItem.apply(x, key=key)


def reshape(x: Any, shape: Sequence[int]) -> Variable:
    """The same elements in a new shape (C order).

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    shape : sequence of int
        The new shape; one entry may be -1.

    Returns
    -------
    Variable
        The new shape; the gradient is reshaped back.

    Raises
    ------
    ValueError
        When the number of elements differs.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.reshape(x, (3, 2)).shape
    (3, 2)
    """
    return Reshape.apply(x, shape=tuple(shape))


def permute_dims(x: Any, axes: Sequence[int]) -> Variable:
    """Reorder the axes.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    axes : sequence of int
        A permutation of ``range(x.ndim)``.

    Returns
    -------
    Variable
        Axis ``i`` of the result is axis ``axes[i]`` of ``x``.

    Raises
    ------
    ValueError
        When ``axes`` is not a permutation of ``x``'s axes.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.permute_dims(x, (1, 0)).shape
    (3, 2)
    """
    return PermuteDims.apply(x, axes=tuple(axes))


def _axis(op: str, axis: int, ndim: int) -> int:
    """``axis`` counted from 0, after checking that it lies in ``[-ndim, ndim)``."""
    if not -ndim <= axis < ndim:
        raise IndexError(
            f"{op}: axis {axis} is out of range for {ndim} axes (expected {-ndim} to {ndim - 1})"
        )
    return axis % ndim


def transpose(x: Any, axis0: int = -2, axis1: int = -1) -> Variable:
    """Swap two axes.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    axis0, axis1 : int
        The two axes swapped.

    Returns
    -------
    Variable
        The same data with the two axes swapped.

    Raises
    ------
    IndexError
        An axis outside ``[-ndim, ndim)``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.transpose(x).shape
    (3, 2)
    """
    ndim = x.ndim
    axes = list(range(ndim))
    a, b = _axis("transpose", axis0, ndim), _axis("transpose", axis1, ndim)
    axes[a], axes[b] = axes[b], axes[a]
    return permute_dims(x, axes)


def matrix_transpose(x: Any) -> Variable:
    """Swap the last two axes.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
        At least 2-D.

    Returns
    -------
    Variable
        The last two axes swapped.

    Raises
    ------
    ValueError
        When ``x`` has fewer than 2 dimensions.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.matrix_transpose(x).shape
    (3, 2)
    """
    if x.ndim < 2:
        raise ValueError(
            f"matrix_transpose: expected at least 2 dimensions, got shape {tuple(x.shape)}"
        )
    return transpose(x, -2, -1)


def broadcast_to(x: Any, shape: Sequence[int]) -> Variable:
    """``x`` broadcast to ``shape``; the gradient is summed back over the broadcast axes.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    shape : sequence of int
        A shape ``x`` broadcasts to.

    Returns
    -------
    Variable
        The broadcast shape.

    Raises
    ------
    ValueError
        When ``x`` does not broadcast to ``shape``; the message names both shapes.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.broadcast_to(np.ones(3), (2, 3)).shape
    (2, 3)
    """
    shape = shape if type(shape) is tuple else tuple(shape)
    if x.shape == shape or tuple(x.shape) == shape:
        return x if isinstance(x, Variable) else Variable(x)
    have = tuple(x.shape)
    fits = len(have) <= len(shape) and all(
        h in (1, w) for h, w in zip(have[::-1], shape[::-1], strict=False)
    )
    if not fits:
        raise ValueError(
            f"broadcast_to: a value of shape {have} cannot broadcast to {shape} (each axis, "
            f"counted from the last, must be 1 or equal the target's)"
        )
    return BroadcastTo.apply(x, shape=shape)


def squeeze(x: Any, axis: int | tuple[int, ...] | None = None) -> Variable:
    """Remove size-1 axes (all of them by default).

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    axis : int, tuple of int or None
        The size-1 axes removed; ``None``: all of them.

    Returns
    -------
    Variable
        ``x``'s data without those axes.

    Raises
    ------
    ValueError
        When a named axis does not have size 1.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.squeeze(np.ones((1, 3, 1))).shape
    (3,)
    """
    shape = tuple(x.shape)
    axes = (
        tuple(i for i, n in enumerate(shape) if n == 1)
        if axis is None
        else normalize_axes(axis, len(shape), "squeeze")
    )
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has size {shape[a]}, expected 1 (shape {shape})")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def unsqueeze(x: Any, axis: int) -> Variable:
    """Insert a size-1 axis at ``axis``.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    axis : int
        Where the new axis goes.

    Returns
    -------
    Variable
        ``x``'s data with one more axis.

    Raises
    ------
    IndexError
        ``axis`` outside ``[-ndim - 1, ndim]``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.unsqueeze(x, 0).shape
    (1, 2, 3)
    """
    shape = list(x.shape)
    shape.insert(_axis("unsqueeze", axis, len(shape) + 1), 1)
    return reshape(x, tuple(shape))


def flatten(x: Any, start_axis: int = 0, end_axis: int = -1) -> Variable:
    """Merge axes ``start_axis..end_axis`` into one.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    start_axis, end_axis : int
        The first and last axes merged (negative counts from the end).

    Returns
    -------
    Variable
        A view-like reshape; the gradient is reshaped back.

    Raises
    ------
    IndexError
        An axis outside ``[-ndim, ndim)``.
    ValueError
        ``start_axis`` after ``end_axis``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.flatten(x).shape
    (6,)
    """
    shape = tuple(x.shape)
    if not shape:
        return reshape(x, (1,))
    s, e = _axis("flatten", start_axis, len(shape)), _axis("flatten", end_axis, len(shape))
    if s > e:
        raise ValueError(
            f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for a value of "
            f"shape {shape}"
        )
    return reshape(x, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


def concat(xs: Sequence[Any], axis: int = 0) -> Variable:
    """Join along an existing axis.

    Parameters
    ----------
    xs : sequence of Variable or array
        Values of one namespace and dtype whose shapes match except on ``axis``.
    axis : int
        The axis joined along.

    Returns
    -------
    Variable
        The joined value; each input gets its slice of the gradient.

    Raises
    ------
    ValueError
        When ``xs`` is empty or the shapes differ off ``axis``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.concat([x, x], axis=1).shape
    (2, 6)
    """
    xs = list(xs)
    if not xs:
        raise ValueError("concat: expected at least one value, got none")
    ndim = xs[0].ndim
    for x in xs:
        if x.ndim != ndim or any(
            a != b
            for i, (a, b) in enumerate(zip(x.shape, xs[0].shape, strict=True))
            if i != axis % ndim
        ):
            raise ValueError(
                f"concat: shapes must match except on axis {axis}, got "
                f"{[tuple(v.shape) for v in xs]}"
            )
    return Concat.apply(*xs, axis=axis % ndim)


def stack(xs: Sequence[Any], axis: int = 0) -> Variable:
    """Join along a new axis.

    Parameters
    ----------
    xs : sequence of Variable or array
        Values of one namespace, shape and dtype.
    axis : int
        Where the new axis goes.

    Returns
    -------
    Variable
        One more axis than the inputs.

    Raises
    ------
    ValueError
        When ``xs`` is empty or the shapes differ.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.stack([x, x]).shape
    (2, 2, 3)
    """
    xs = list(xs)
    if not xs:
        raise ValueError("stack: expected at least one value, got none")
    shapes = {tuple(x.shape) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"stack: all shapes must match, got {[tuple(x.shape) for x in xs]}")
    axis = axis % (xs[0].ndim + 1)
    return concat([unsqueeze(x, axis) for x in xs], axis=axis)


def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Variable]:
    """Split into equal sections (an int) or at the given indices.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    indices_or_sections : int or sequence of int
        A number of equal sections, or the indices to split at.
    axis : int
        The axis split.

    Returns
    -------
    list of Variable
        The pieces, in order.

    Raises
    ------
    ValueError
        When an int does not divide the axis's size.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> [piece.shape for piece in axoncl.split(x, 3, axis=1)]
    [(2, 1), (2, 1), (2, 1)]
    """
    if not isinstance(x, Variable):
        x = Variable(x)
    axis = axis % x.ndim
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of size {n} cannot be split into "
                f"{indices_or_sections} equal sections"
            )
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step)) if step else [0] * (indices_or_sections + 1)
    else:
        bounds = [0, *indices_or_sections, n]
    head = (slice(None),) * axis
    return [x[head + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


class Pad(Function):
    """Constant padding; ``pad_width`` is one ``(before, after)`` pair per axis."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        pads = ctx.pad_width
        shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pads, strict=True))
        out = xp.full(shape, ctx.value, dtype=x.dtype, device=getattr(x, "device", None))
        ctx.key = tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, pads, strict=True))
        return primitives.set_index(out, ctx.key, x, xp=xp)

    @staticmethod
    def backward(ctx, grad):
        return (grad[ctx.key],)


def pad(x: Any, pad_width: int | Sequence[Any], value: float = 0.0) -> Variable:
    """Pad with a constant. ``pad_width``: an int, one ``(before, after)`` pair for every axis,
    or a flat PyTorch-style sequence for the last axes (``(left, right, top, bottom)``).

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    pad_width : int or sequence
        As above.
    value : float
        The constant.

    Returns
    -------
    Variable
        ``x`` with the padding; the gradient is the inner slice.

    Raises
    ------
    ValueError
        When ``pad_width`` has negative entries or names more axes than ``x`` has.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.pad(x, 1).shape
    (4, 5)
    """
    ndim = x.ndim
    if isinstance(pad_width, int):
        pads = [(pad_width, pad_width)] * ndim
    elif all(isinstance(p, int) for p in pad_width):
        flat = list(pad_width)
        if len(flat) % 2 or len(flat) // 2 > ndim:
            raise ValueError(f"pad: expected pairs for at most {ndim} axes, got {pad_width}")
        pairs = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
        pads = [(0, 0)] * (ndim - len(pairs)) + pairs[::-1]
    else:
        pads = [tuple(p) for p in pad_width]
    if len(pads) != ndim or any(a < 0 or b < 0 for a, b in pads):
        raise ValueError(
            f"pad: expected {ndim} non-negative (before, after) pairs, got {pad_width}"
        )
    return Pad.apply(x, pad_width=tuple(pads), value=value)


def astype(x: Any, dtype: Any) -> Variable:
    """Cast to ``dtype`` (a dtype object of the namespace, or a name such as ``"float32"``).

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    dtype : dtype or str
        The target dtype.

    Returns
    -------
    Variable
        ``x``'s shape in ``dtype``; the gradient is cast back to ``x``'s dtype.

    Raises
    ------
    TypeError
        A dtype name that the namespace of ``x`` does not have.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> str(axoncl.astype(x, "float32").dtype)
    'float32'
    """
    if isinstance(dtype, str):
        data = x.data if isinstance(x, Variable) else x
        from ..backends import namespace_of

        xp = namespace_of(data)
        name, dtype = dtype, getattr(xp, dtype, None)
        if dtype is None or inspect.isroutine(dtype) or inspect.ismodule(dtype):
            raise TypeError(
                f"astype: {xp.__name__} has no dtype named {name!r} (expected a dtype or a name "
                f"such as 'float32', 'int64', 'bool')"
            )
    return AsType.apply(x, dtype=dtype)
