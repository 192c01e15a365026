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
from .layout import check_device, type_name
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


def _host(op: str, x, *, square: bool = False) -> np.ndarray:
    """``x`` (a floating array with at least two dimensions) read back to the host."""
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point array, got {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an array of at least 2 dimensions, got shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected square matrices in the last two axes, got {x.shape}")
    return x.to_numpy()


def _back(like: CLArray, host) -> CLArray:
    """A numpy result as an array of ``like``'s dtype on ``like``'s device."""
    return from_numpy(np.array(host, dtype=like.dtype, order="C"), like.device)


def eigh(x, /) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices. Host-bound."""
    values, vectors = np.linalg.eigh(_host("eigh", x, square=True))
    return EighResult(_back(x, values), _back(x, vectors))


def eigvalsh(x, /) -> CLArray:
    """Eigenvalues (ascending) of symmetric matrices. Host-bound."""
    return _back(x, np.linalg.eigvalsh(_host("eigvalsh", x, square=True)))


def _rtol(op: str, rtol, host: np.ndarray, x: CLArray):
    """``rtol`` as a host number or array (one per matrix); the default as in numpy."""
    if rtol is None:
        return max(host.shape[-2:]) * np.finfo(host.dtype).eps
    if isinstance(rtol, CLArray):
        check_device(op, x, rtol)
        return rtol.to_numpy()
    return rtol


def matrix_rank(x, /, *, rtol=None) -> CLArray:
    """Number of singular values above ``rtol * largest`` (int64). Host-bound."""
    host = _host("matrix_rank", x)
    values = np.linalg.svd(host, compute_uv=False)
    rtol = np.asarray(_rtol("matrix_rank", rtol, host, x))[..., None]
    limit = values.max(axis=-1, keepdims=True, initial=0.0) * rtol
    return from_numpy(np.asarray(np.count_nonzero(values > limit, axis=-1), np.int64), x.device)


def pinv(x, /, *, rtol=None) -> CLArray:
    """Moore-Penrose pseudo-inverse (singular values below ``rtol * largest`` dropped).
    Host-bound."""
    host = _host("pinv", x)
    if host.size == 0:  # numpy's pinv fails on an empty batch
        return _back(x, np.zeros((*host.shape[:-2], host.shape[-1], host.shape[-2])))
    return _back(x, np.linalg.pinv(host, rcond=_rtol("pinv", rtol, host, x)))


def qr(x, /, *, mode: str = "reduced") -> QRResult:
    """QR decomposition: ``mode`` ``"reduced"`` or ``"complete"``; on the device (``qr.py``)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: expected mode 'reduced' or 'complete', got {mode!r}")
    if isinstance(x, CLArray) and x.dtype in (np.float32, np.float64) and x.ndim >= 2:
        return QRResult(*qr_device(x, mode))
    q, r = np.linalg.qr(_host("qr", x), mode=mode)  # the errors (and any host dtype)
    return QRResult(_back(x, q), _back(x, r))


def svd(x, /, *, full_matrices: bool = True) -> SVDResult:
    """Singular value decomposition ``x = U diag(S) Vh``, ``S`` descending. Host-bound."""
    u, s, vh = np.linalg.svd(_host("svd", x), full_matrices=full_matrices)
    return SVDResult(_back(x, u), _back(x, s), _back(x, vh))


def svdvals(x, /) -> CLArray:
    """Singular values, descending. Host-bound."""
    return _back(x, np.linalg.svd(_host("svdvals", x), compute_uv=False))
