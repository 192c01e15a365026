"""QR factorisation on the device, blocked Householder (LAPACK's dgeqrf and dorgqr): the bulk of
the work is our GEMM.

For each block of ``NB`` columns: ``linalg_geqr2_panel`` factors the panel (one work-group per
matrix), ``linalg_qr_v`` lays its reflectors out as V, GEMM forms ``S = Vᵀ V`` and
``linalg_larft`` the block reflector's ``T`` (``H_1 ⋯ H_jb = I - V T Vᵀ``), and three GEMMs apply
``Hᵀ`` to the trailing columns (``A -= V (Tᵀ (Vᵀ A))``). Q is the identity with the blocks
applied in reverse order the same way. Reflectors follow LAPACK's convention, so Q and R equal
numpy's (``numpy.linalg.qr`` calls LAPACK) up to rounding, signs included. Complex input goes
through the host (see ``decompositions.py``).
"""

from __future__ import annotations

import math

from .array import CLArray, empty
from .copy import copy_into
from .creation import eye, triu, zeros
from .gemm import MatrixOperand, gemm
from .launch import get_kernel
from .manipulation import reshape
from .windows import real_defines

__all__ = ["qr_device"]

NB = 32  # columns per panel: the panel kernel is serial in its columns
LWS = 64  # work-items of the per-matrix kernels


def qr_device(x: CLArray, mode: str) -> tuple[CLArray, CLArray]:
    """(Q, R) of the float32/float64 matrices ``x`` (``..., m, n``) on their device."""
    *lead, m, n = x.shape
    batch = math.prod(lead)
    k = min(m, n)
    device = x.device
    work = empty((batch, m, n), x.dtype, device)  # a fresh copy, factored in place
    if work.size:
        copy_into(work, reshape(x, (batch, m, n)))
    kq = k if mode == "reduced" else m
    blocks = _factor(work, m, n, k, batch) if batch and k else []
    r_rows = k if mode == "reduced" else m
    r = triu(work[:, :r_rows, :])
    q = empty((batch, m, kq), x.dtype, device)
    if q.size:
        copy_into(q, eye(m, kq, dtype=x.dtype, device=device))
    for j0, _jb, v, t in reversed(blocks):
        if kq > j0:
            _apply(q, j0, j0, kq - j0, kq, v, t, batch, transpose=False)
    return reshape(q, (*lead, m, kq)), reshape(r, (*lead, r_rows, n))


def _factor(work: CLArray, m: int, n: int, k: int, batch: int) -> list:
    device, dtype = work.device, work.dtype
    defines = dict(LWS=LWS, **real_defines(dtype, "qr"))
    panel = get_kernel(device, "linalg", "linalg_geqr2_panel", **defines)
    extract = get_kernel(device, "linalg", "linalg_qr_v", **defines)
    larft = get_kernel(device, "linalg", "linalg_larft", **defines)
    tau = zeros((batch, k), dtype=dtype, device=device)
    shapes = ((batch, m, n),)
    blocks = []
    for j0 in range(0, k, NB):
        jb = min(NB, k - j0)
        mp = m - j0
        panel.launch(
            (batch * LWS,), (LWS,), work.buffer, work.offset, tau.buffer, m, n, k, j0, jb,
            op="qr", shapes=shapes,
        )  # fmt: skip
        v = empty((batch, mp, jb), dtype, device)
        extract.launch_items(
            batch * mp * jb, work.buffer, work.offset, m, n, j0, jb, batch, v.buffer,
            op="qr", shapes=shapes,
        )  # fmt: skip
        s = empty((batch, jb, jb), dtype, device)
        gemm(
            device,
            MatrixOperand(v.buffer, 0, (mp * jb, 1, jb)),  # Vᵀ: jb x mp
            MatrixOperand(v.buffer, 0, (mp * jb, jb, 1)),  # V: mp x jb
            MatrixOperand(s.buffer, 0, (jb * jb, jb, 1)),
            m=jb, n=jb, k=mp, batch=batch, dtype=dtype, op="qr",
        )  # fmt: skip
        t = empty((batch, jb, jb), dtype, device)
        larft.launch(
            (batch * LWS,), (LWS,), s.buffer, tau.buffer, k, j0, jb, t.buffer,
            op="qr", shapes=shapes,
        )  # fmt: skip
        blocks.append((j0, jb, v, t))
        if n - j0 - jb > 0:
            _apply(work, j0, j0 + jb, n - j0 - jb, n, v, t, batch, transpose=True)
    return blocks


def _apply(target: CLArray, row0, col0, cols, ld, v, t, batch, *, transpose: bool) -> None:
    """``C = (I - V T Vᵀ) C`` (``Tᵀ`` with ``transpose``) for the block ``C`` of ``target``
    (batch x rows x ld) at rows ``row0..``, columns ``col0..col0+cols-1``: three GEMMs."""
    device, dtype = target.device, target.dtype
    mp, jb = v.shape[1], v.shape[2]
    rows_total = target.shape[1]
    c_off = target.offset + row0 * ld + col0
    c_strides = (rows_total * ld, ld, 1)
    w = empty((batch, jb, cols), dtype, device)
    gemm(
        device,
        MatrixOperand(v.buffer, 0, (mp * jb, 1, jb)),  # Vᵀ
        MatrixOperand(target.buffer, c_off, c_strides),
        MatrixOperand(w.buffer, 0, (jb * cols, cols, 1)),
        m=jb, n=cols, k=mp, batch=batch, dtype=dtype, op="qr",
    )  # fmt: skip
    w2 = empty((batch, jb, cols), dtype, device)
    t_strides = (jb * jb, 1, jb) if transpose else (jb * jb, jb, 1)
    gemm(
        device,
        MatrixOperand(t.buffer, 0, t_strides),
        MatrixOperand(w.buffer, 0, (jb * cols, cols, 1)),
        MatrixOperand(w2.buffer, 0, (jb * cols, cols, 1)),
        m=jb, n=cols, k=jb, batch=batch, dtype=dtype, op="qr",
    )  # fmt: skip
    gemm(
        device,
        MatrixOperand(v.buffer, 0, (mp * jb, jb, 1)),  # V
        MatrixOperand(w2.buffer, 0, (jb * cols, cols, 1)),
        MatrixOperand(target.buffer, c_off, c_strides),
        m=mp, n=cols, k=jb, batch=batch, dtype=dtype, alpha=-1.0, beta=1.0, op="qr",
    )  # fmt: skip
