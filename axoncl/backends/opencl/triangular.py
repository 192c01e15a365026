"""Triangular solves on the device, blocked: the bulk of the work is our GEMM.

``solve_triangular`` (an axoncl extension: the array API has none; installed as the OpenCL
version of :func:`axoncl.backends.primitives.solve_triangular`) solves ``T X = B`` for a lower
or upper triangular ``T``, ``NB`` rows at a time: ``linalg_trsm_block`` solves one diagonal
block against every column of ``B`` (one work-item per column), and GEMM subtracts the solved
rows' contribution from the rows still to solve. Only ``T``'s triangle is read.
"""

from __future__ import annotations

import math

import numpy as np

from .. import primitives
from .array import CLArray
from .cholesky import LWS
from .copy import copy_into
from .creation import empty
from .gemm import MatrixOperand, gemm
from .launch import get_kernel
from .layout import check_device, type_name
from .manipulation import broadcast_to
from .windows import NAMESPACE, real_defines

__all__ = ["solve_triangular"]

NB = 32  # rows per diagonal block


def solve_triangular(a, b, /, *, upper: bool = False) -> CLArray:
    """``x`` with ``T @ x = b``, ``T`` the lower (or ``upper``) triangle of ``a``.

    ``a`` is ``(..., M, M)`` and ``b`` is ``(..., M, K)``; batch axes broadcast. A zero on
    ``T``'s diagonal gives inf or NaN, unchecked, as ``torch.linalg.solve_triangular``.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> from axoncl.backends.opencl.triangular import solve_triangular
    >>> t = xp.asarray([[2.0, 0.0], [1.0, 1.0]])
    >>> solve_triangular(t, xp.asarray([[2.0], [3.0]])).to_numpy().tolist()
    [[1.0], [2.0]]
    """
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, CLArray):
            raise TypeError(f"solve_triangular: expected OpenCL arrays, got {type_name(x)} {name}")
    check_device("solve_triangular", a, b)
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"solve_triangular: expected float32 or float64 a and b of one dtype, got "
            f"{a.dtype} and {b.dtype}"
        )
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ValueError(
            f"solve_triangular: expected a of shape (..., M, M) and b of shape (..., M, K), got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    try:
        batch_shape = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    except ValueError:
        raise ValueError(
            f"solve_triangular: batch axes of {tuple(a.shape)} and {tuple(b.shape)} do not "
            "broadcast together"
        ) from None
    n, k = b.shape[-2:]
    t = _contiguous(broadcast_to(a, batch_shape + (n, n)))
    out = empty(batch_shape + (n, k), dtype=b.dtype, device=b.device)
    copy_into(out, b)  # broadcast, and a fresh buffer solved in place
    batch = math.prod(batch_shape)
    if batch and n and k:
        _solve(t, out, n, k, batch, upper)
    return out


def _contiguous(x: CLArray) -> CLArray:
    if x.is_contiguous() and all(s != 0 for s in x.strides):
        return x
    out = empty(x.shape, dtype=x.dtype, device=x.device)
    copy_into(out, x)
    return out


def _solve(
    t: CLArray, x: CLArray, n: int, k: int, batch: int, upper: bool, unit: bool = False
) -> None:
    """Solve in place: ``x`` (contiguous ``batch x n x k``) becomes ``T⁻¹ x``; ``unit``: ``T``
    has ones on its diagonal (read as such)."""
    device = x.device
    kernel = get_kernel(
        device, "linalg", "linalg_trsm_block", LWS=LWS, **real_defines(x.dtype, "solve")
    )
    shapes = ((batch, n, n), (batch, n, k))
    starts = range(0, n, NB)
    for k0 in reversed(starts) if upper else starts:
        nb = min(NB, n - k0)
        kernel.launch_items(
            batch * k,
            t.buffer,
            t.offset,
            x.buffer,
            x.offset,
            n * k,
            k,
            n,
            k,
            k0,
            nb,
            batch,
            int(upper),
            int(unit),
            op="solve_triangular",
            shapes=shapes,
        )
        # the rows still to solve: below the block (lower) or above it (upper)
        r0, rows = (0, k0) if upper else (k0 + nb, n - k0 - nb)
        if rows == 0:
            continue
        gemm(
            device,
            MatrixOperand(t.buffer, t.offset + r0 * n + k0, (n * n, n, 1)),  # rows x nb
            MatrixOperand(x.buffer, x.offset + k0 * k, (n * k, k, 1)),  # nb x k, solved
            MatrixOperand(x.buffer, x.offset + r0 * k, (n * k, k, 1)),  # rows x k
            m=rows,
            n=k,
            k=nb,
            batch=batch,
            dtype=x.dtype,
            alpha=-1.0,
            beta=1.0,
            op="solve_triangular",
        )


@primitives.solve_triangular.register(NAMESPACE)
def _solve_triangular_cl(a, b, *, upper: bool, xp) -> CLArray:
    return solve_triangular(a, b, upper=upper)
