"""Matrix decompositions and solvers of the ``linalg`` extension: HOST-BOUND, but for six.

``cholesky`` (``cholesky.py``), ``solve``, ``inv``, ``det`` and ``slogdet`` (``lu.py``: LU with
partial pivoting) and ``qr`` (``qr.py``: Householder) run on the device, blocked, the trailing
updates by GEMM. ``eigh``, ``eigvalsh``, ``svd``, ``svdvals``, ``pinv`` and ``matrix_rank``
(eigenvalue-type decompositions) copy their input to the host,
compute with ``numpy.linalg`` in the input's dtype, and copy the results back to the input's
device: each call waits for the device once. No OpenCL kernel exists for them yet
(docs/array-api.md lists this limitation); they are here so that code written against the
standard runs, not for speed. Inputs must be floating-point, as the standard asks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .array import CLArray, from_numpy
from .cholesky import cholesky
from .hostlinalg import back, host
from .layout import check_device
from .lu import det, inv, slogdet, solve
from .qr import qr_device

__all__ = [
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matrix_rank",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
]


class EighResult(NamedTuple):
    eigenvalues: CLArray
    eigenvectors: CLArray


class QRResult(NamedTuple):
    Q: CLArray
    R: CLArray


class SlogdetResult(NamedTuple):
    sign: CLArray
    logabsdet: CLArray


class SVDResult(NamedTuple):
    U: CLArray
    S: CLArray
    Vh: CLArray


def eigh(x, /) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices. Host-bound."""
    values, vectors = np.linalg.eigh(host("eigh", x, square=True))
    return EighResult(back(x, values), back(x, vectors))


def eigvalsh(x, /) -> CLArray:
    """Eigenvalues (ascending) of symmetric matrices. Host-bound."""
    return back(x, np.linalg.eigvalsh(host("eigvalsh", x, square=True)))


def _rtol(op: str, rtol, matrices: np.ndarray, x: CLArray):
    """``rtol`` as a matrices number or array (one per matrix); the default as in numpy."""
    if rtol is None:
        return max(matrices.shape[-2:]) * np.finfo(matrices.dtype).eps
    if isinstance(rtol, CLArray):
        check_device(op, x, rtol)
        return rtol.to_numpy()
    return rtol


def matrix_rank(x, /, *, rtol=None) -> CLArray:
    """Number of singular values above ``rtol * largest`` (int64). Host-bound."""
    matrices = host("matrix_rank", x)
    values = np.linalg.svd(matrices, compute_uv=False)
    rtol = np.asarray(_rtol("matrix_rank", rtol, matrices, x))[..., None]
    limit = values.max(axis=-1, keepdims=True, initial=0.0) * rtol
    return from_numpy(np.asarray(np.count_nonzero(values > limit, axis=-1), np.int64), x.device)


def pinv(x, /, *, rtol=None) -> CLArray:
    """Moore-Penrose pseudo-inverse (singular values below ``rtol * largest`` dropped).
    Host-bound."""
    matrices = host("pinv", x)
    if matrices.size == 0:  # numpy's pinv fails on an empty batch
        shape = (*matrices.shape[:-2], matrices.shape[-1], matrices.shape[-2])
        return back(x, np.zeros(shape, matrices.dtype))
    return back(x, np.linalg.pinv(matrices, rcond=_rtol("pinv", rtol, matrices, x)))


def qr(x, /, *, mode: str = "reduced") -> QRResult:
    """QR decomposition: ``mode`` ``"reduced"`` or ``"complete"``; on the device (``qr.py``)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: expected mode 'reduced' or 'complete', got {mode!r}")
    if isinstance(x, CLArray) and x.dtype in (np.float32, np.float64) and x.ndim >= 2:
        return QRResult(*qr_device(x, mode))
    q, r = np.linalg.qr(host("qr", x), mode=mode)  # the errors (and any host dtype)
    return QRResult(back(x, q), back(x, r))


def svd(x, /, *, full_matrices: bool = True) -> SVDResult:
    """Singular value decomposition ``x = U diag(S) Vh``, ``S`` descending. Host-bound."""
    u, s, vh = np.linalg.svd(host("svd", x), full_matrices=full_matrices)
    return SVDResult(back(x, u), back(x, s), back(x, vh))


def svdvals(x, /) -> CLArray:
    """Singular values, descending. Host-bound."""
    return back(x, np.linalg.svd(host("svdvals", x), compute_uv=False))
