"""Device-side functions of the ``linalg`` extension beyond the products: ``diagonal``, ``trace``,
``outer``, ``cross``, ``matrix_power``, ``vector_norm`` and ``matrix_norm``.

Each is a few namespace calls (views, elementwise kernels, reductions, the GEMM); none reads
data back to the host, except ``matrix_norm`` with ``ord`` 2, -2 or ``"nuc"``, which needs the
singular values (host-bound, see :mod:`.decompositions`).
"""

from __future__ import annotations

import math
import operator

from . import dtypes as _dt
from .array import CLArray
from .copy import astype, cast
from .creation import eye
from .elementwise import binary, unary
from .layout import broadcast_shapes, check_device, type_name
from .manipulation import broadcast_to, moveaxis, normalize_axis, reshape, stack, view
from .products import matmul
from .reduction import max as _max
from .reduction import min as _min
from .reduction import sum as _sum

__all__ = [
    "cross",
    "diagonal",
    "matrix_norm",
    "matrix_power",
    "outer",
    "trace",
    "vector_norm",
]


def _check(op: str, x, min_ndim: int = 0) -> CLArray:
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    if x.ndim < min_ndim:
        raise ValueError(
            f"{op}: expected an array of at least {min_ndim} dimensions, got shape {x.shape}"
        )
    return x


def _require_float(op: str, x: CLArray) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point array, got {x.dtype}")


def diagonal(x, /, *, offset: int = 0) -> CLArray:
    """The diagonal ``offset`` of the last two axes, as a view (shape ``(..., k)``).

    Examples
    --------
    >>> diagonal(asarray([[1, 2], [3, 4]])).to_numpy()  # doctest: +SKIP
    array([1, 4])
    """
    x = _check("diagonal", x, 2)
    offset = operator.index(offset)
    rows, cols = x.shape[-2:]
    s_row, s_col = x.strides[-2:]
    if offset >= 0:
        count = max(0, min(rows, cols - offset))
        start = x.offset + offset * s_col
    else:
        count = max(0, min(rows + offset, cols))
        start = x.offset - offset * s_row
    if count == 0:
        start = x.offset
    return view(x, (*x.shape[:-2], count), (*x.strides[:-2], s_row + s_col), start)


def trace(x, /, *, offset: int = 0, dtype=None) -> CLArray:
    """Sum of the diagonal ``offset`` of the last two axes; ``dtype`` defaults as in ``sum``."""
    return _sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def outer(x1, x2, /) -> CLArray:
    """Outer product of two 1-D arrays: ``out[i, j] = x1[i] * x2[j]``."""
    for x in (x1, x2):
        _check("outer", x)
        if x.ndim != 1:
            raise ValueError(f"outer: expected 1-D arrays, got shapes {x1.shape} and {x2.shape}")
    return binary("multiply", reshape(x1, (-1, 1)), reshape(x2, (1, -1)))


def cross(x1, x2, /, *, axis: int = -1) -> CLArray:
    """Cross product of 3-element vectors along ``axis``, broadcasting the other axes."""
    _check("cross", x1, 1)
    _check("cross", x2, 1)
    check_device("cross", x1, x2)
    dtype = _dt.result_type(x1, x2)
    if dtype == _dt.bool:
        raise TypeError("cross: expected numeric arrays, got bool")
    ndim = max(x1.ndim, x2.ndim)
    axis = operator.index(axis)
    if not -min(x1.ndim, x2.ndim) <= axis < 0 and not 0 <= axis < min(x1.ndim, x2.ndim):
        raise IndexError(
            f"cross: axis {axis} is out of bounds for shapes {x1.shape} and {x2.shape}"
        )
    if axis >= 0:
        axis -= ndim
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(
            f"cross: expected 3 elements along axis {axis}, got shapes {x1.shape} and {x2.shape}"
        )
    shape = broadcast_shapes("cross", x1.shape, x2.shape)
    a = moveaxis(broadcast_to(cast(x1, dtype), shape), axis, -1)
    b = moveaxis(broadcast_to(cast(x2, dtype), shape), axis, -1)
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))

    def det2(p, q, r, s):  # p*s - q*r
        return binary("subtract", binary("multiply", p, s), binary("multiply", q, r))

    parts = [det2(a1, a2, b1, b2), det2(a2, a0, b2, b0), det2(a0, a1, b0, b1)]
    return stack(parts, axis=axis)


def matrix_power(x, n, /) -> CLArray:
    """``x`` multiplied by itself ``n`` times (by repeated squaring; ``n < 0`` inverts first,
    by LU on the device)."""
    x = _check("matrix_power", x, 2)
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"matrix_power: expected square matrices, got shape {x.shape}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power: expected an integer power, got {n!r}") from None
    if n == 0:
        identity = eye(x.shape[-1], dtype=x.dtype, device=x.device)
        return astype(broadcast_to(identity, x.shape), x.dtype, copy=True)
    if n < 0:
        from .lu import inv

        x = inv(x)
        n = -n
    result = None
    base = x
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return astype(result, x.dtype, copy=True) if result is x else result


def _axes(op: str, axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    axes = tuple(normalize_axis(a, ndim, op) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return axes


def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2) -> CLArray:  # noqa: A002
    """The ``ord``-norm of the vectors along ``axis`` (all elements when ``None``).

    ``ord``: any nonzero float, ``inf`` (largest ``|x|``), ``-inf`` (smallest), or 0 (the
    number of nonzero elements, in the input's floating dtype).
    """
    x = _check("vector_norm", x)
    if x.dtype.kind == "c":  # a norm depends on |x| only: the real magnitudes' norm
        x = unary("abs", x)
    _require_float("vector_norm", x)
    axes = _axes("vector_norm", axis, x.ndim)
    if x.ndim == 0:
        axes = None
    magnitude = unary("abs", x)
    if ord == math.inf:
        return _max(magnitude, axis=axes, keepdims=keepdims)
    if ord == -math.inf:
        return _min(magnitude, axis=axes, keepdims=keepdims)
    if ord == 0:
        nonzero = cast(binary("not_equal", x, 0), x.dtype)
        return _sum(nonzero, axis=axes, keepdims=keepdims)
    if ord == 1:
        return _sum(magnitude, axis=axes, keepdims=keepdims)
    if ord == 2:
        return unary("sqrt", _sum(unary("square", x), axis=axes, keepdims=keepdims))
    total = _sum(binary("pow", magnitude, float(ord)), axis=axes, keepdims=keepdims)
    return binary("pow", total, 1.0 / float(ord))


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro") -> CLArray:  # noqa: A002
    """A norm of each matrix in the last two axes.

    ``ord``: ``"fro"`` (Frobenius), 1 / -1 (largest / smallest column sum of ``|x|``),
    ``inf`` / ``-inf`` (row sums), and 2 / -2 / ``"nuc"`` (largest / smallest / sum of the
    singular values: host-bound, through :func:`.decompositions.svdvals`).
    """
    x = _check("matrix_norm", x, 2)
    if x.dtype.kind == "c" and ord not in (2, -2, "nuc"):  # these depend on |x| only
        x = unary("abs", x)
    if x.dtype.kind != "c":
        _require_float("matrix_norm", x)
    if ord == "fro":
        return unary("sqrt", _sum(unary("square", x), axis=(-2, -1), keepdims=keepdims))
    if ord in (1, -1, math.inf, -math.inf):
        # Sum |x| down the columns (ord ±1) or along the rows (ord ±inf), then the extreme.
        sum_axis, pick_axis = (-2, -1) if ord in (1, -1) else (-1, -2)
        sums = _sum(unary("abs", x), axis=sum_axis, keepdims=True)
        pick = _max if ord > 0 else _min
        out = pick(sums, axis=pick_axis, keepdims=True)
    elif ord in (2, -2, "nuc"):
        from .decompositions import svdvals

        values = svdvals(x)
        if ord == "nuc":
            out = _sum(values, axis=-1)
        else:
            out = (_max if ord == 2 else _min)(values, axis=-1)
        out = reshape(out, (*out.shape, 1, 1))
    else:
        raise ValueError(
            f"matrix_norm: expected ord 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}"
        )
    return out if keepdims else reshape(out, out.shape[:-2])
