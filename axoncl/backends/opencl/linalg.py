"""The ``linalg`` extension of the OpenCL namespace: ``xp.linalg`` (array API standard).

This module is only the extension's namespace: every public name below is a standard function,
defined where it is implemented. On the device: the products (``products.py``: matmul,
tensordot, vecdot, matrix_transpose) and ``matrices.py`` (diagonal, trace, outer, cross,
matrix_power, vector_norm, matrix_norm), ``cholesky.py``, ``lu.py`` and ``qr.py`` (cholesky,
solve, inv, det, slogdet, qr: blocked, their trailing updates by GEMM). HOST-BOUND, through
``numpy.linalg``: ``decompositions.py`` (eigh, eigvalsh, svd, svdvals, pinv, matrix_rank), and
``matrix_norm`` with ``ord`` 2, -2 or ``"nuc"``; see docs/array-api.md.

Examples
--------
>>> import axoncl.backends.opencl as xp
>>> xp.linalg.vector_norm(xp.asarray([3.0, 4.0])).to_numpy()
array(5., dtype=float32)
"""

from .decompositions import (
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matrix_rank,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
)
from .matrices import cross, diagonal, matrix_norm, matrix_power, outer, trace, vector_norm
from .products import matmul, matrix_transpose, tensordot, vecdot

__all__ = [
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
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
]
