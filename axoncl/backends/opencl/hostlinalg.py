"""The host path of the linalg extension: HOST-BOUND by design, documented in docs/array-api.md.

The eigenvalue-type decompositions (``eigh``, ``eigvalsh``, ``svd``, ``svdvals``, ``pinv``,
``matrix_rank``) of real input, and every decomposition and solver (``cholesky``, ``det``,
``slogdet``, ``inv``, ``solve``, ``qr`` too) of complex input, copy their input to the host,
compute with ``numpy.linalg`` (LAPACK) in the input's dtype and copy the results back to the
input's device: each call waits for the device once. Real-valued results of complex input
(eigenvalues, singular values, ``log|det|``) come back in the matching real dtype, as numpy
and the standard give them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import dtypes as _dt
from .array import CLArray, from_numpy
from .layout import check_device, type_name

__all__ = ["back", "host", "is_complex", "on_host"]


def is_complex(x) -> bool:
    return isinstance(x, CLArray) and x.dtype.kind == "c"


def host(op: str, x, *, square: bool = False, min_ndim: int = 2) -> np.ndarray:
    """``x`` (a floating or complex array of at least ``min_ndim`` dimensions) read back."""
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    if x.dtype.kind not in "fc":
        raise TypeError(f"{op}: expected a floating-point array, got {x.dtype}")
    if x.ndim < min_ndim:
        raise ValueError(
            f"{op}: expected an array of at least {min_ndim} dimensions, got shape {x.shape}"
        )
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected square matrices in the last two axes, got {x.shape}")
    return x.to_numpy()


def back(like: CLArray, result) -> CLArray:
    """A numpy result on ``like``'s device, in ``like``'s dtype (its real dtype when the
    result is real and ``like`` complex)."""
    real = not np.iscomplexobj(result)
    dtype = _dt.REAL_OF.get(like.dtype, like.dtype) if real else like.dtype
    return from_numpy(np.array(result, dtype=dtype, order="C"), like.device)


def on_host(op: str, numpy_fn: Callable, *arrays: CLArray, square: bool = False):
    """``numpy_fn`` of the arrays on the host; a tuple result gives a tuple (of its type)."""
    check_device(op, *arrays)
    values = [host(op, a, square=square and i == 0, min_ndim=2 if i == 0 else 1)
              for i, a in enumerate(arrays)]  # fmt: skip
    like = arrays[0] if len(arrays) == 1 else max(arrays, key=lambda a: a.dtype.itemsize)
    if any(a.dtype.kind == "c" for a in arrays) and like.dtype.kind != "c":
        like = next(a for a in arrays if a.dtype.kind == "c")
    result = numpy_fn(*values)
    if isinstance(result, tuple):
        parts = [back(like, r) for r in result]
        return type(result)(*parts) if hasattr(result, "_fields") else tuple(parts)
    return back(like, result)
