"""Matrix and vector helpers of ``axoncl.linalg``, built from other ops (no rules of their own).

``diagonal``, ``trace``, ``outer``, ``vecdot``, ``cross``, ``tensordot``, ``vector_norm`` and
``matrix_norm``, with the array API's signatures; their gradients come from the ops they use.
"""

from __future__ import annotations

import math
import string
from typing import Any

from ..backends import device_kwargs
from ..variable import Variable
from ._util import as_variable, normalize_axes
from .arithmetic import abs, conj
from .contraction import einsum
from .decompositions import svdvals
from .norms import norm
from .shape import stack

__all__ = [
    "cross",
    "diagonal",
    "matrix_norm",
    "outer",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
]


def diagonal(x: Any, *, offset: int = 0) -> Variable:
    """The diagonal ``offset`` of each matrix in ``x`` (``(..., M, N)`` → ``(..., L)``).

    Parameters
    ----------
    x : Variable or array
        An array of 2 or more axes; the last two hold the matrices.
    offset : int
        0 the main diagonal, > 0 above it, < 0 below it.

    Returns
    -------
    Variable
        ``(..., L)``: the diagonal of each matrix.

    Raises
    ------
    ValueError
        When ``x`` has fewer than 2 axes.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import diagonal
    >>> diagonal(np.arange(6.0).reshape(2, 3), offset=1).numpy().tolist()
    [1.0, 5.0]
    """
    x = as_variable(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: expected an array of 2 or more axes, got shape {x.shape}")
    m, n = x.shape[-2:]
    xp = x.xp
    device = device_kwargs(getattr(x.data, "device", None))
    mask = Variable(xp.eye(m, n, k=offset, dtype=x.dtype, **device))
    row_sums = (x * mask).sum(axis=-1)  # row i holds x[i, i + offset], or 0
    first = max(-offset, 0)
    length = max(min(m - first, n - max(offset, 0)), 0)
    return row_sums[..., first : first + length]


def trace(x: Any, *, offset: int = 0) -> Variable:
    """The sum of diagonal ``offset`` of each matrix in ``x``.

    Parameters
    ----------
    x : Variable or array
        An array of 2 or more axes; the last two hold the matrices.
    offset : int
        Which diagonal: 0 the main one, > 0 above, < 0 below.

    Returns
    -------
    Variable
        ``(...)``: one sum per matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import trace
    >>> trace(np.eye(3)).item()
    3.0
    """
    return diagonal(x, offset=offset).sum(axis=-1)


def outer(x1: Any, x2: Any) -> Variable:
    """The outer product of two vectors.

    Parameters
    ----------
    x1, x2 : Variable or array
        Two vectors ``(M,)`` and ``(N,)`` of one namespace.

    Returns
    -------
    Variable
        ``(M, N)``: ``x1[i] · x2[j]``.

    Raises
    ------
    ValueError
        When either operand is not one-dimensional.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import outer
    >>> outer(np.array([1.0, 2.0]), np.array([3.0, 4.0])).numpy().tolist()
    [[3.0, 4.0], [6.0, 8.0]]
    """
    x1, x2 = as_variable(x1), as_variable(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"outer: expected two vectors, got shapes {x1.shape} and {x2.shape}")
    return x1.reshape((x1.shape[0], 1)) * x2.reshape((1, x2.shape[0]))


def vecdot(x1: Any, x2: Any, *, axis: int = -1) -> Variable:
    """The dot product along ``axis``, with broadcasting of the other axes.

    Parameters
    ----------
    x1, x2 : Variable or array
        The operands, of one namespace; other axes broadcast.
    axis : int
        The axis summed over (conjugating ``x1`` for complex input, as the standard says).

    Returns
    -------
    Variable
        The dot products, of the broadcast shape without ``axis``.

    Raises
    ------
    ValueError
        When the sizes along ``axis`` differ.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import vecdot
    >>> vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0])).item()
    11.0
    """
    x1, x2 = as_variable(x1), as_variable(x2)
    if x1.shape[axis] != x2.shape[axis]:
        raise ValueError(
            f"vecdot: expected equal sizes along axis {axis}, got shapes {x1.shape} and {x2.shape}"
        )
    if _is_complex(x1):  # the standard's vecdot conjugates x1, as numpy's and torch's do
        x1 = conj(x1)
    return (x1 * x2).sum(axis=axis)


def _is_complex(x: Variable) -> bool:
    return x.xp.isdtype(x.dtype, "complex floating")


def cross(x1: Any, x2: Any, *, axis: int = -1) -> Variable:
    """The cross product of 3-vectors along ``axis``, with broadcasting of the other axes.

    Parameters
    ----------
    x1, x2 : Variable or array
        The operands, of one namespace; other axes broadcast. Size 3 along ``axis``.
    axis : int
        The axis holding the 3-vectors.

    Returns
    -------
    Variable
        The cross products, of the broadcast shape.

    Raises
    ------
    ValueError
        When either operand's size along ``axis`` is not 3.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import cross
    >>> cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])).numpy().tolist()
    [0.0, 0.0, 1.0]
    """
    x1, x2 = as_variable(x1), as_variable(x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(
            f"cross: expected size 3 along axis {axis}, got shapes {x1.shape} and {x2.shape}"
        )
    a = [_take(x1, i, axis) for i in range(3)]
    b = [_take(x2, i, axis) for i in range(3)]
    parts = [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
    return stack(parts, axis=axis)


def _take(x: Variable, i: int, axis: int) -> Variable:
    key = [slice(None)] * x.ndim
    key[axis] = i
    return x[tuple(key)]


def tensordot(x1: Any, x2: Any, *, axes: int | tuple[Any, Any] = 2) -> Variable:
    """Sum of products over ``axes``: the last ``axes`` of ``x1`` with the first of ``x2``, or
    two sequences of axes.

    Parameters
    ----------
    x1, x2 : Variable or array
        The operands, of one namespace.
    axes : int or (sequence, sequence)
        The last ``axes`` axes of ``x1`` and the first of ``x2``, or two sequences of axes
        paired in order.

    Returns
    -------
    Variable
        The remaining axes of ``x1`` followed by those of ``x2``.

    Raises
    ------
    ValueError
        When ``axes`` is out of range or the paired axes' sizes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import tensordot
    >>> tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    x1, x2 = as_variable(x1), as_variable(x2)
    if isinstance(axes, int):
        if axes < 0 or axes > min(x1.ndim, x2.ndim):
            raise ValueError(
                f"tensordot: expected 0 <= axes <= {min(x1.ndim, x2.ndim)}, got {axes}"
            )
        first = tuple(range(x1.ndim - axes, x1.ndim))
        second = tuple(range(axes))
    else:
        first = tuple(int(i) % x1.ndim for i in axes[0])  # in the given order: pairs matter
        second = tuple(int(j) % x2.ndim for j in axes[1])
    if len(first) != len(second) or any(
        x1.shape[i] != x2.shape[j] for i, j in zip(first, second, strict=True)
    ):
        raise ValueError(
            f"tensordot: axes {first} of shape {x1.shape} do not match axes {second} of "
            f"shape {x2.shape}"
        )
    letters = iter(string.ascii_letters)
    t1 = [next(letters) for _ in range(x1.ndim)]
    t2 = [next(letters) for _ in range(x2.ndim)]
    for i, j in zip(first, second, strict=True):
        t2[j] = t1[i]
    out = [c for i, c in enumerate(t1) if i not in first]
    out += [c for j, c in enumerate(t2) if j not in second]
    return einsum(f"{''.join(t1)},{''.join(t2)}->{''.join(out)}", x1, x2)


def vector_norm(
    x: Any,
    *,
    axis: int | tuple[int, ...] | None = None,
    keepdims: bool = False,
    ord: float = 2,  # noqa: A002 - the standard's name
) -> Variable:
    """The vector ``ord``-norm over ``axis`` (all axes by default); ``ord = 0`` counts non-zeros.

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    axis : int, tuple of int or None
        The axes reduced; None: all of them.
    keepdims : bool
        Keep the reduced axes as size 1.
    ord : float
        The order: ``2`` Euclidean, ``1``, ``inf``, ``-inf``, ``0`` (non-zeros), any p.

    Returns
    -------
    Variable
        The norms, real, of ``x``'s shape without ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import vector_norm
    >>> vector_norm(np.array([3.0, 4.0])).item()
    5.0
    """
    x = as_variable(x)
    if ord == 0:
        count = x.xp.astype(x.data != 0, x.dtype)
        axes = normalize_axes(axis, x.ndim, "vector_norm")
        return Variable(x.xp.sum(count, axis=axes, keepdims=keepdims))
    return norm(x, ord, axis=axis, keepdims=keepdims)


def matrix_norm(
    x: Any,
    *,
    keepdims: bool = False,
    ord: float | str = "fro",  # noqa: A002 - the standard's name
) -> Variable:
    """The matrix norm of each matrix in ``x``: ``"fro"``, ``"nuc"``, ``1``, ``-1``, ``2``,
    ``-2``, ``inf`` or ``-inf``.

    ``2``, ``-2`` and ``"nuc"`` come from :func:`svdvals`.

    Parameters
    ----------
    x : Variable or array
        Matrices ``(..., M, N)`` of any array-API namespace.
    keepdims : bool
        Keep the two matrix axes as size 1.
    ord : {'fro', 'nuc', 1, -1, 2, -2, inf, -inf}
        Which norm.

    Returns
    -------
    Variable
        ``(...)`` (or ``(..., 1, 1)`` with ``keepdims``): one norm per matrix.

    Raises
    ------
    ValueError
        When ``x`` has fewer than 2 axes or ``ord`` is not one of those listed.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import matrix_norm
    >>> matrix_norm(np.array([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
    6.0
    """
    x = as_variable(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_norm: expected matrices (..., M, N), got shape {x.shape}")
    if ord == "fro":
        out = (x * x).sum(axis=(-2, -1)).sqrt()
    elif ord in ("nuc", 2, -2):
        s = svdvals(x)
        out = s.sum(axis=-1) if ord == "nuc" else (s[..., 0] if ord == 2 else s[..., -1])
    elif ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum
        sums = abs(x).sum(axis=-2 if ord in (1, -1) else -1)
        out = sums.max(axis=-1) if ord > 0 else sums.min(axis=-1)
    else:
        raise ValueError(
            f"matrix_norm: expected ord 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}"
        )
    return out.reshape(tuple(out.shape) + (1, 1)) if keepdims else out
