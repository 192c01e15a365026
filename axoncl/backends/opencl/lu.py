"""LU factorisation with partial pivoting on the device, and ``solve`` and ``inv`` built on it.

Blocked like LAPACK's ``getrf``, ``NB`` columns at a time: ``linalg_getrf_panel`` factors the
panel (one work-group per matrix: pivot search, row swaps over the whole width, scaling, rank-1
updates), ``linalg_trsm_block`` (unit lower) solves the block row right of it, and GEMM updates
the trailing matrix (``A22 -= L21 U12``). ``solve`` then swaps the rows of ``b`` as the pivots
say (``linalg_laswp``) and runs the two triangular solves of ``triangular.py``; ``inv`` solves
against the identity. An exactly singular matrix (a zero pivot) raises
``numpy.linalg.LinAlgError``, as ``numpy.linalg.solve`` and ``torch.linalg.solve`` do.
"""

from __future__ import annotations

import math

import numpy as np

from .array import CLArray
from .cholesky import LWS, check_square
from .copy import astype, copy_into
from .creation import empty, eye, zeros
from .gemm import MatrixOperand, gemm
from .hostlinalg import is_complex, on_host
from .launch import get_kernel
from .layout import check_device, type_name
from .manipulation import broadcast_to, reshape
from .triangular import _solve
from .windows import real_defines

__all__ = ["det", "inv", "slogdet", "solve"]

NB = 32  # panel columns


def _factor(op: str, lu: CLArray, n: int, batch: int, *, singular_ok: bool = False) -> CLArray:
    """Factor ``lu`` (contiguous, ``batch x n x n``) in place; the pivots, ``batch x n`` int64.
    Raises LinAlgError, after one wait, where a matrix is singular (unless ``singular_ok``: the
    factors then hold an exact zero on U's diagonal, and nothing waits)."""
    device = lu.device
    defines = real_defines(lu.dtype, op)
    panel = get_kernel(device, "linalg", "linalg_getrf_panel", LWS=LWS, **defines)
    trsm = get_kernel(device, "linalg", "linalg_trsm_block", LWS=LWS, **defines)
    piv = empty((batch, n), dtype=np.int64, device=device)
    status = zeros((batch,), dtype=np.int32, device=device)
    buf, base, stride = lu.buffer, lu.offset, n * n
    shapes = ((batch, n, n),)
    for k0 in range(0, n, NB):
        nb = min(NB, n - k0)
        panel.launch(
            (batch * LWS,), (LWS,), buf, base, piv.buffer, status.buffer, n, k0, nb,
            op=op, shapes=shapes,
        )  # fmt: skip
        cols = n - k0 - nb
        if cols == 0:
            continue
        right = base + k0 + nb  # row 0, column k0 + nb: U12 is its rows k0..k0+nb-1
        trsm.launch_items(
            batch * cols, buf, base, buf, right, stride, n, n, cols, k0, nb, batch, 0, 1,
            op=op, shapes=shapes,
        )  # fmt: skip
        gemm(
            device,
            MatrixOperand(buf, base + (k0 + nb) * n + k0, (stride, n, 1)),  # L21
            MatrixOperand(buf, base + k0 * n + k0 + nb, (stride, n, 1)),  # U12
            MatrixOperand(buf, base + (k0 + nb) * n + k0 + nb, (stride, n, 1)),  # A22
            m=n - k0 - nb,
            n=cols,
            k=nb,
            batch=batch,
            dtype=lu.dtype,
            alpha=-1.0,
            beta=1.0,
            op=op,
        )
    if singular_ok:
        return piv
    failed = status.to_numpy()
    if failed.any():
        index = int(np.flatnonzero(failed)[0])
        where = f" (batch element {index})" if batch > 1 else ""
        raise np.linalg.LinAlgError(
            f"{op}: the input matrix is singular{where}: U[{failed[index] - 1}, "
            f"{failed[index] - 1}] of its LU factorisation is exactly zero"
        )
    return piv


def _solve_matrices(op: str, a: CLArray, b: CLArray) -> CLArray:
    """``a⁻¹ b`` for ``b`` of shape ``(..., M, K)``, batch axes broadcast."""
    try:
        batch_shape = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    except ValueError:
        raise ValueError(
            f"{op}: batch axes of {tuple(a.shape)} and {tuple(b.shape)} do not broadcast together"
        ) from None
    n, k = b.shape[-2:]
    batch = math.prod(batch_shape)
    lu = empty(batch_shape + (n, n), dtype=a.dtype, device=a.device)
    copy_into(lu, broadcast_to(a, batch_shape + (n, n)))
    x = empty(batch_shape + (n, k), dtype=a.dtype, device=a.device)
    copy_into(x, b)
    if batch == 0 or n == 0 or k == 0:
        return x
    piv = _factor(op, lu, n, batch)
    swap = get_kernel(x.device, "linalg", "linalg_laswp", LWS=LWS, **real_defines(x.dtype, op))
    swap.launch_items(
        batch * k, x.buffer, x.offset, piv.buffer, n, k, batch, op=op, shapes=((batch, n, k),)
    )
    _solve(lu, x, n, k, batch, upper=False, unit=True)
    _solve(lu, x, n, k, batch, upper=True)
    return x


def solve(x1, x2, /) -> CLArray:
    """``x`` with ``x1 @ x = x2``; ``x2`` is one vector when 1-D, else ``(..., M, K)``.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> a = xp.asarray([[0.0, 2.0], [4.0, 0.0]])
    >>> xp.linalg.solve(a, xp.asarray([2.0, 4.0])).to_numpy().tolist()
    [1.0, 1.0]
    """
    if is_complex(x1) or is_complex(x2):  # host-bound (hostlinalg.py)
        return on_host("solve", np.linalg.solve, x1, x2, square=True)
    check_square("solve", x1)
    if not isinstance(x2, CLArray):
        raise TypeError(f"solve: expected an OpenCL array, got {type_name(x2)}")
    check_device("solve", x1, x2)
    if x2.dtype.kind != "f":
        raise TypeError(f"solve: expected a floating-point x2, got {x2.dtype}")
    dtype = np.result_type(x1.dtype, x2.dtype)
    a = x1 if x1.dtype == dtype else astype(x1, dtype)
    b = x2 if x2.dtype == dtype else astype(x2, dtype)
    n = a.shape[-1]
    if b.ndim == 1:
        if b.shape[0] != n:
            raise ValueError(f"solve: expected x2 of shape ({n},), got {tuple(b.shape)}")
        x = _solve_matrices("solve", a, reshape(b, (n, 1)))
        return reshape(x, x.shape[:-1])
    if b.shape[-2] != n:
        raise ValueError(
            f"solve: expected x2 of shape (..., {n}, K) for x1 of shape {tuple(a.shape)}, got "
            f"{tuple(b.shape)}"
        )
    return _solve_matrices("solve", a, b)


def inv(x, /) -> CLArray:
    """The inverse of each square matrix: ``solve(x, I)``.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> xp.linalg.inv(xp.asarray([[2.0, 0.0], [0.0, 4.0]])).to_numpy().tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    if is_complex(x):  # host-bound (hostlinalg.py)
        return on_host("inv", np.linalg.inv, x, square=True)
    check_square("inv", x)
    n = x.shape[-1]
    return _solve_matrices("inv", x, eye(n, dtype=x.dtype, device=x.device))


def _diagonal_and_parity(op: str, x: CLArray):
    """U's diagonal (``(..., M)``) and, per matrix, whether its row swaps are odd."""
    import axoncl.backends.opencl as xp

    check_square(op, x)
    n = x.shape[-1]
    batch = math.prod(x.shape[:-2])
    lu = empty(x.shape, dtype=x.dtype, device=x.device)
    copy_into(lu, x)
    if batch == 0 or n == 0:
        piv = zeros(x.shape[:-1], dtype=np.int64, device=x.device)
    else:
        piv = reshape(_factor(op, lu, n, batch, singular_ok=True), x.shape[:-1])
    swaps = xp.sum(
        xp.astype(piv != xp.arange(n, dtype=xp.int64, device=x.device), xp.int64), axis=-1
    )
    return xp.linalg.diagonal(lu), (swaps % 2) == 1


def det(x, /) -> CLArray:
    """The determinant of each square matrix: the product of U's diagonal, negated for an odd
    number of row swaps (0 for a singular matrix, as numpy).

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> float(xp.linalg.det(xp.asarray([[0.0, 2.0], [3.0, 1.0]])).to_numpy())
    -6.0
    """
    import axoncl.backends.opencl as xp

    if is_complex(x):  # host-bound (hostlinalg.py)
        return on_host("det", np.linalg.det, x, square=True)
    diag, odd = _diagonal_and_parity("det", x)
    value = xp.prod(diag, axis=-1)
    return xp.where(odd, -value, value)


def slogdet(x, /):
    """``(sign, log|det|)`` of each square matrix from its LU factors; a singular one gives
    ``(0, -inf)``, as numpy.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> sign, logabsdet = xp.linalg.slogdet(xp.asarray([[0.0, 2.0], [3.0, 1.0]]))
    >>> float(sign.to_numpy()), round(float(logabsdet.to_numpy()), 6)
    (-1.0, 1.791759)
    """
    import axoncl.backends.opencl as xp

    from .decompositions import SlogdetResult

    if is_complex(x):  # host-bound (hostlinalg.py); the sign is complex, of modulus 1
        return SlogdetResult(*on_host("slogdet", np.linalg.slogdet, x, square=True))
    diag, odd = _diagonal_and_parity("slogdet", x)
    sign = xp.prod(xp.sign(diag), axis=-1)
    sign = xp.where(odd, -sign, sign) + 0.0  # + 0.0: a singular matrix's sign is +0, not -0
    return SlogdetResult(sign, xp.sum(xp.log(xp.abs(diag)), axis=-1))
