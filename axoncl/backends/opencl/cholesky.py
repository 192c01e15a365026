"""Cholesky factorisation on the device, blocked: the bulk of the work is our GEMM.

For each block column of ``NB`` columns: ``linalg_potrf_diag`` factors the diagonal block (one
work-group per matrix), ``linalg_trsm_rows`` solves the panel below it against that block, and
GEMM subtracts the panel's outer product from the trailing matrix (``A22 -= L21 L21ᵀ``). Only the
lower triangle of the input is read, as in numpy. The host waits once, at the end, to read each
matrix's status; a matrix that is not positive-definite raises ``numpy.linalg.LinAlgError``
naming the leading minor, as ``torch.linalg.cholesky`` does (numpy raises the same type).
"""

from __future__ import annotations

import math

import numpy as np

from .array import CLArray
from .copy import copy_into
from .creation import empty, tril, zeros
from .gemm import MatrixOperand, gemm
from .hostlinalg import is_complex, on_host
from .launch import get_kernel
from .layout import type_name
from .windows import real_defines

__all__ = ["cholesky"]

NB = 32  # block columns: the diagonal-block kernel is serial in j, so keep it short
LWS = 64  # work-items of linalg_potrf_diag


def check_square(op: str, x) -> None:
    """``x`` is a float32 or float64 OpenCL array of square matrices, or ``op`` raises."""
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{op}: expected a floating-point (float32 or float64) array, got {x.dtype}"
        )
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"{op}: expected square matrices of shape (..., M, M), at least 2 dimensions, got "
            f"{tuple(x.shape)}"
        )


def cholesky(x, /, *, upper: bool = False) -> CLArray:
    """Cholesky factor ``L`` (``x = L Lᵀ``), or ``U = Lᵀ`` with ``upper=True``; batched.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.linalg.cholesky(xp.asarray([[4.0, 2.0], [2.0, 5.0]])).to_numpy().tolist()
    [[2.0, 0.0], [1.0, 2.0]]
    """
    if is_complex(x):  # Hermitian input: host-bound (hostlinalg.py)
        return on_host("cholesky", lambda a: np.linalg.cholesky(a, upper=upper), x, square=True)
    check_square("cholesky", x)
    device = x.device
    n = x.shape[-1]
    batch = math.prod(x.shape[:-2])
    work = empty(x.shape, dtype=x.dtype, device=device)  # a fresh copy, factored in place
    copy_into(work, x)
    if batch and n:
        _factor(work, n, batch)
    low = tril(work)
    return low.mT if upper else low


def _factor(work: CLArray, n: int, batch: int) -> None:
    device = work.device
    defines = real_defines(work.dtype, "cholesky")
    diag = get_kernel(device, "linalg", "linalg_potrf_diag", LWS=LWS, **defines)
    panel = get_kernel(device, "linalg", "linalg_trsm_rows", LWS=LWS, **defines)
    status = zeros((batch,), dtype=np.int32, device=device)
    buf, base, stride = work.buffer, work.offset, n * n
    shapes = ((batch, n, n),)
    for k0 in range(0, n, NB):
        nb = min(NB, n - k0)
        diag.launch(
            (batch * LWS,),
            (LWS,),
            buf,
            base,
            status.buffer,
            n,
            k0,
            nb,
            op="cholesky",
            shapes=shapes,
        )
        rows = n - k0 - nb
        if rows == 0:
            continue
        panel.launch_items(
            batch * rows, buf, base, status.buffer, n, k0, nb, batch, op="cholesky", shapes=shapes
        )
        below = base + (k0 + nb) * n  # row k0 + nb, column 0
        gemm(
            device,
            MatrixOperand(buf, below + k0, (stride, n, 1)),  # L21: rows x nb
            MatrixOperand(buf, below + k0, (stride, 1, n)),  # L21ᵀ: nb x rows
            MatrixOperand(buf, below + k0 + nb, (stride, n, 1)),  # A22: rows x rows
            m=rows,
            n=rows,
            k=nb,
            batch=batch,
            dtype=work.dtype,
            alpha=-1.0,
            beta=1.0,
            op="cholesky",
        )
    failed = status.to_numpy()
    if failed.any():
        index = int(np.flatnonzero(failed)[0])
        where = f" of batch element {index}" if batch > 1 else ""
        raise np.linalg.LinAlgError(
            "cholesky: the factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {int(failed[index])}{where} is not "
            "positive-definite)"
        )
