"""Differentiable linear algebra, as ``torch.linalg``: ``axoncl.linalg.det(a)`` and so on.

Every function runs on the ``linalg`` extension of its input's namespace (numpy,
array-api-strict, torch, JAX, OpenCL), with batched leading axes, and records gradients. The
ops themselves live in ``axoncl/functions/decompositions.py`` (rules) and
``axoncl/functions/matrices.py`` (built from other ops); this module is their namespace, plus
:func:`norm`, which picks the vector or matrix norm as ``torch.linalg.norm`` does.

Examples
--------
>>> import numpy as np
>>> from axoncl import Variable, linalg
>>> a = Variable(np.array([[2.0, 1.0], [1.0, 3.0]]), requires_grad=True)
>>> linalg.det(a).backward()
>>> a.grad.numpy().round(12).tolist()  # det(a) · a⁻ᵀ
[[3.0, -1.0], [-1.0, 2.0]]
"""

from __future__ import annotations

from typing import Any

from .functions.decompositions import (
    EighResult,
    QRResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matrix_power,
    matrix_rank,
    pinv,
    qr,
    slogdet,
    solve,
    solve_triangular,
    svd,
    svdvals,
)
from .functions.linalg import matmul
from .functions.matrices import (
    cross,
    diagonal,
    matrix_norm,
    outer,
    tensordot,
    trace,
    vecdot,
    vector_norm,
)
from .functions.shape import matrix_transpose, permute_dims
from .variable import Variable

__all__ = [
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
]


def norm(
    x: Any,
    ord: float | str | None = None,  # noqa: A002 - PyTorch's name
    axis: int | tuple[int, int] | None = None,
    keepdims: bool = False,
) -> Variable:
    """A vector or matrix norm, chosen as ``torch.linalg.norm`` chooses.

    ``axis`` of two axes, or ``axis=None`` with a string ``ord`` or a 2-D ``x`` and ``ord``
    given, is a matrix norm (:func:`matrix_norm`); otherwise a vector norm
    (:func:`vector_norm`, the 2-norm by default, over all axes when ``axis`` is None).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import linalg
    >>> linalg.norm(np.array([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
    6.0
    """
    x = x if isinstance(x, Variable) else Variable(x)
    matrix = isinstance(axis, tuple) and len(axis) == 2
    if axis is None and ord is not None and (isinstance(ord, str) or x.ndim == 2):
        matrix, axis = True, (-2, -1)
    if not matrix:
        return vector_norm(x, axis=axis, keepdims=keepdims, ord=2 if ord is None else ord)
    if x.ndim < 2:
        raise ValueError(f"norm: a matrix norm needs 2 or more axes, got shape {x.shape}")
    rows, cols = (a % x.ndim for a in axis)
    if rows == cols:
        raise ValueError(f"norm: expected two distinct axes, got {axis}")
    rest = [i for i in range(x.ndim) if i not in (rows, cols)]
    moved = permute_dims(x, (*rest, rows, cols)) if (rows, cols) != (x.ndim - 2, x.ndim - 1) else x
    out = matrix_norm(moved, ord="fro" if ord is None else ord)
    if keepdims:
        shape = list(x.shape)
        shape[rows] = shape[cols] = 1
        out = out.reshape(tuple(shape))
    return out
