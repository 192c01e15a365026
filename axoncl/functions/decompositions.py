"""Differentiable matrix functions: determinants, inverse, solve and the decompositions.

Each forward calls the ``linalg`` extension of the inputs' namespace (``xp.linalg``), so the
rules run on every array-API backend; each backward is written with Variable ops (matmul,
``solve``, ``inv``, elementwise ops), so ``create_graph=True`` gives second derivatives. The
formulas are the usual ones and match ``torch.linalg`` (``tests/functions/test_decompositions.py``
compares values and gradients). Leading axes are batch axes throughout.

A decomposition with several results (``qr``, ``eigh``, ``svd``) is one rule whose output packs
the results along the last axis, flattened; the public function slices them apart with
differentiable indexing, so one backward sees the gradients of all of them at once.

Caveats, as in PyTorch: the gradient of ``eigh``'s eigenvectors is finite only for distinct
eigenvalues, and that of ``svd``'s ``U`` and ``Vh`` only for distinct non-zero singular values
(repeated ones give inf or NaN, which PyTorch does not check either); ``eigvalsh`` and
``svdvals`` are always differentiable. ``det`` and ``slogdet`` need an invertible matrix for
their gradient (the backend's ``inv`` raises on a singular one). ``eigh`` reads only the lower
triangle and ``cholesky`` only the lower triangle, so gradients are symmetric: pass symmetric
inputs (``a + a.mT``) when checking them numerically.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..backends import device_kwargs, primitives
from ..graph import Function
from ..variable import Variable
from ._util import as_variable, unbroadcast
from .shape import concat

__all__ = [
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matrix_power",
    "matrix_rank",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
]


class EighResult(NamedTuple):
    eigenvalues: Variable
    eigenvectors: Variable


class QRResult(NamedTuple):
    Q: Variable  # noqa: N815 - the standard's field names
    R: Variable  # noqa: N815


class SlogdetResult(NamedTuple):
    sign: Variable
    logabsdet: Variable


class SVDResult(NamedTuple):
    U: Variable  # noqa: N815
    S: Variable  # noqa: N815
    Vh: Variable  # noqa: N815


# -- helpers ---------------------------------------------------------------------------------
def _check_matrix(op: str, x: Any, xp: Any, *, square: bool = True) -> None:
    """A real floating array with two trailing axes (square ones when ``square``)."""
    if x.ndim < 2 or (square and x.shape[-1] != x.shape[-2]):
        kind = "square matrices" if square else "matrices"
        raise ValueError(
            f"{op}: expected {kind} of shape (..., M, {'M' if square else 'N'}), "
            f"got shape {tuple(x.shape)}"
        )
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"{op}: expected a real floating dtype, got {x.dtype}")


def _eye(like: Variable, n: int, m: int | None = None, k: int = 0) -> Variable:
    """A constant identity (or shifted diagonal) with ``like``'s dtype and device."""
    xp = like.xp
    device = device_kwargs(getattr(like.data, "device", None))
    return Variable(xp.eye(n, m, k=k, dtype=like.dtype, **device))


def _tril(x: Variable, k: int = 0) -> Variable:
    """The lower triangle of ``x`` (below diagonal ``k``), by a constant mask."""
    xp = x.xp
    device = device_kwargs(getattr(x.data, "device", None))
    ones = xp.ones(tuple(x.shape[-2:]), dtype=x.dtype, **device)
    return x * Variable(xp.tril(ones, k=k))


def _diag_embed(v: Variable) -> Variable:
    """``(..., n)`` → ``(..., n, n)`` with ``v`` on the diagonal."""
    n = v.shape[-1]
    return v.reshape(tuple(v.shape) + (1,)) * _eye(v, n)


def _row(v: Variable) -> Variable:
    """``(..., n)`` → ``(..., 1, n)``: broadcasts along rows (index j of a matrix)."""
    return v.reshape(tuple(v.shape[:-1]) + (1, v.shape[-1]))


def _col(v: Variable) -> Variable:
    """``(..., n)`` → ``(..., n, 1)``: broadcasts along columns (index i of a matrix)."""
    return v.reshape(tuple(v.shape) + (1,))


def _pack(xp: Any, batch: tuple[int, ...], *arrays: Any) -> Any:
    """Several results as one array: each flattened after the batch axes, then concatenated."""
    flat = [xp.reshape(a, batch + (-1,)) for a in arrays]
    return xp.concat(flat, axis=-1)


def _unpack(packed: Variable, batch: tuple[int, ...], *shapes: tuple[int, ...]) -> list[Variable]:
    """The inverse of :func:`_pack`, with differentiable slices."""
    out, start = [], 0
    for shape in shapes:
        size = 1
        for s in shape:
            size *= s
        out.append(packed[..., start : start + size].reshape(batch + shape))
        start += size
    return out


# -- determinants and the inverse ------------------------------------------------------------
class Det(Function):
    """``det(a)``; d det/dA = det · A⁻ᵀ."""

    @staticmethod
    def forward(ctx, a):
        _check_matrix("det", a, ctx.xp)
        ctx.save_for_backward(a)
        return ctx.xp.linalg.det(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_values
        d = det(a)  # recomputed: the output is not saved (it may be freed with the graph)
        return (_col(_col(grad * d)) * inv(a).mT,)


class Slogdet(Function):
    """``log |det(a)|``; its gradient is A⁻ᵀ (the sign is piecewise constant)."""

    @staticmethod
    def forward(ctx, a):
        _check_matrix("slogdet", a, ctx.xp)
        ctx.save_for_backward(a)
        return ctx.xp.linalg.slogdet(a)[1]

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_values
        return (_col(_col(grad)) * inv(a).mT,)


class Inv(Function):
    """``inv(a)``; Ā = -A⁻ᵀ G A⁻ᵀ."""

    @staticmethod
    def forward(ctx, a):
        _check_matrix("inv", a, ctx.xp)
        out = ctx.xp.linalg.inv(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_values
        return (-(out.mT @ grad @ out.mT),)


class Solve(Function):
    """``x = solve(a, b)``, ``a x = b``; b̄ = solve(aᵀ, g), ā = -b̄ xᵀ.

    ``b`` of one axis is a vector; otherwise ``b`` is ``(..., M, K)`` and batch axes broadcast.
    """

    @staticmethod
    def forward(ctx, a, b):
        _check_matrix("solve", a, ctx.xp)
        rows = b.shape[0] if b.ndim == 1 else (b.shape[-2] if b.ndim >= 2 else None)
        if rows != a.shape[-1]:
            raise ValueError(
                f"solve: expected b of shape ({a.shape[-1]},) or (..., {a.shape[-1]}, K) "
                f"for a of shape {tuple(a.shape)}, got {tuple(b.shape)}"
            )
        out = ctx.xp.linalg.solve(a, b)
        ctx.shapes = (tuple(a.shape), tuple(b.shape))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_values
        a_shape, b_shape = ctx.shapes
        if len(b_shape) == 1:  # one vector, broadcast over a's batch: solve it as a column
            grad = grad.reshape(tuple(grad.shape) + (1,))
            out = out.reshape(tuple(out.shape) + (1,))
        gb = solve(a.mT, grad)
        ga = unbroadcast(-(gb @ out.mT), a_shape) if ctx.needs_input_grad[0] else None
        if not ctx.needs_input_grad[1]:
            return ga, None
        if len(b_shape) == 1:
            gb = gb.reshape(tuple(gb.shape[:-1]))
        return ga, unbroadcast(gb, b_shape)


class SolveTriangular(Function):
    """``x`` with ``T x = b``, ``T`` the lower (or ``upper``) triangle of ``a``, ``b`` of shape
    ``(..., M, K)``; b̄ = solve_triangular(Tᵀ, g), ā = -tril(b̄ xᵀ) (or triu). A dedicated rule
    for speed: a backend may solve on its device (the OpenCL one does, blocked on GEMM)."""

    @staticmethod
    def forward(ctx, a, b):
        _check_matrix("solve_triangular", a, ctx.xp)
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise ValueError(
                f"solve_triangular: expected b of shape (..., {a.shape[-1]}, K) for a of shape "
                f"{tuple(a.shape)}, got {tuple(b.shape)}"
            )
        out = primitives.solve_triangular(a, b, upper=ctx.upper, xp=ctx.xp)
        ctx.shapes = (tuple(a.shape), tuple(b.shape))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_values
        a_shape, b_shape = ctx.shapes
        gb = solve_triangular(a.mT, grad, upper=not ctx.upper)
        ga = None
        if ctx.needs_input_grad[0]:
            outer = -(gb @ out.mT)
            ga = unbroadcast(_tril(outer.mT).mT if ctx.upper else _tril(outer), a_shape)
        gb = unbroadcast(gb, b_shape) if ctx.needs_input_grad[1] else None
        return ga, gb


# -- decompositions --------------------------------------------------------------------------
class Cholesky(Function):
    """Lower ``L`` with ``a = L Lᵀ`` (reads ``a``'s lower triangle).

    Ā = L⁻ᵀ Φ L⁻¹, Φ = ½ (M + tril(M, -1)ᵀ), M = tril(Lᵀ L̄): symmetric, as PyTorch's; both
    products with L⁻¹ are triangular solves.
    """

    @staticmethod
    def forward(ctx, a):
        _check_matrix("cholesky", a, ctx.xp)
        out = ctx.xp.linalg.cholesky(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (low,) = ctx.saved_values
        m = _tril(low.mT @ grad)
        phi = 0.5 * (m + _tril(m, -1).mT)
        left = solve_triangular(low.mT, phi, upper=True)  # L⁻ᵀ Φ
        return (solve_triangular(low.mT, left.mT, upper=True).mT,)  # (L⁻ᵀ Φ) L⁻¹


class QR(Function):
    """``Q`` and ``R``, packed (see the module docstring).

    For ``M >= N`` (reduced): Ā = (Q̄ + Q copyltu(X)) R⁻ᵀ, X = R R̄ᵀ - Q̄ᵀ Q, where copyltu
    mirrors the lower triangle onto the upper. For ``M < N``, ``a = [Y | Z]`` with ``Y`` square:
    the square rule on ``Y`` with Q̄ + Z R̄₂ᵀ, and Z̄ = Q R̄₂ (R = [R₁ | R₂]).
    """

    name = "qr"

    @staticmethod
    def forward(ctx, a):
        _check_matrix("qr", a, ctx.xp, square=False)
        if ctx.mode not in ("reduced", "complete"):
            raise ValueError(f"qr: expected mode 'reduced' or 'complete', got {ctx.mode!r}")
        q, r = ctx.xp.linalg.qr(a, mode=ctx.mode)
        ctx.q_shape, ctx.r_shape = tuple(q.shape[-2:]), tuple(r.shape[-2:])
        out = _pack(ctx.xp, tuple(a.shape[:-2]), q, r)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_values
        m, n = a.shape[-2:]
        if ctx.mode == "complete" and m > n:
            raise NotImplementedError(
                "qr: the gradient is not defined for mode='complete' with more rows than "
                f"columns (got shape {tuple(a.shape)}); use mode='reduced'"
            )
        batch = tuple(a.shape[:-2])
        q, r = _unpack(out, batch, ctx.q_shape, ctx.r_shape)
        gq, gr = _unpack(grad, batch, ctx.q_shape, ctx.r_shape)
        if m >= n:
            return (_qr_square_backward(q, r, gq, gr),)
        gr1, gr2 = gr[..., :, :m], gr[..., :, m:]
        gy = _qr_square_backward(q, r[..., :, :m], gq + a[..., :, m:] @ gr2.mT, gr1)
        return (concat([gy, q @ gr2], axis=-1),)


def _qr_square_backward(q: Variable, r: Variable, gq: Variable, gr: Variable) -> Variable:
    x = r @ gr.mT - gq.mT @ q
    low = _tril(x, -1)
    copyltu = low + low.mT + x * _eye(x, x.shape[-1])
    return solve_triangular(r, (gq + q @ copyltu).mT, upper=True).mT  # (…) R⁻ᵀ


class Eigh(Function):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, packed.

    Ā = V (diag(L̄) + skew(Vᵀ V̄) / E) Vᵀ with skew(X) = ½ (X - Xᵀ) and E_ij = λ_j - λ_i
    (PyTorch's formula): infinite or NaN where eigenvalues repeat and V̄ is not zero.
    """

    @staticmethod
    def forward(ctx, a):
        _check_matrix("eigh", a, ctx.xp)
        w, v = ctx.xp.linalg.eigh(a)
        ctx.n = a.shape[-1]
        out = _pack(ctx.xp, tuple(a.shape[:-2]), w, v)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_values
        n = ctx.n
        batch = tuple(out.shape[:-1])
        w, v = _unpack(out, batch, (n,), (n, n))
        gw, gv = _unpack(grad, batch, (n,), (n, n))
        x = v.mT @ gv
        eye = _eye(x, n)
        gaps = _row(w) - _col(w) + eye  # λ_j - λ_i, with 1 on the diagonal
        inner = 0.5 * (x - x.mT) / gaps + _diag_embed(gw)
        return (v @ inner @ v.mT,)


class Eigvalsh(Function):
    """Eigenvalues of a symmetric matrix; Ā = V diag(L̄) Vᵀ, finite for repeated ones too."""

    @staticmethod
    def forward(ctx, a):
        _check_matrix("eigvalsh", a, ctx.xp)
        ctx.save_for_backward(a)
        return ctx.xp.linalg.eigvalsh(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_values
        v = eigh(a).eigenvectors
        return ((v * _row(grad)) @ v.mT,)


class Svd(Function):
    """``U``, ``S``, ``Vh`` with ``a = U diag(S) Vh``, packed; PyTorch's gradient formula.

    With ``full_matrices=True``, the gradients of the columns of ``U`` and rows of ``Vh`` past
    ``min(M, N)`` are ignored, as in PyTorch: they are an arbitrary basis of a subspace.
    """

    @staticmethod
    def forward(ctx, a):
        _check_matrix("svd", a, ctx.xp, square=False)
        u, s, vh = ctx.xp.linalg.svd(a, full_matrices=ctx.full_matrices)
        ctx.shapes = (tuple(u.shape[-2:]), tuple(s.shape[-1:]), tuple(vh.shape[-2:]))
        ctx.a_shape = tuple(a.shape[-2:])
        out = _pack(ctx.xp, tuple(a.shape[:-2]), u, s, vh)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_values
        m, n = ctx.a_shape
        k = min(m, n)
        batch = tuple(out.shape[:-1])
        u, s, vh = _unpack(out, batch, *ctx.shapes)
        gu, gs, gvh = _unpack(grad, batch, *ctx.shapes)
        u, gu = u[..., :, :k], gu[..., :, :k]
        vh, gvh = vh[..., :k, :], gvh[..., :k, :]
        return (_svd_backward(u, s, vh, gu, gs, gvh, m, n),)


def _svd_backward(u, s, vh, gu, gs, gvh, m: int, n: int) -> Variable:
    """Ā for ``a = U diag(S) Vh`` (reduced); PyTorch's ``svd_backward`` for real inputs."""
    xu = u.mT @ gu
    xv = vh @ gvh.mT
    s2 = s * s
    gaps = _row(s2) - _col(s2) + _eye(s, s.shape[-1])  # S_j² - S_i², 1 on the diagonal
    inner = ((xu - xu.mT) * _row(s) + _col(s) * (xv - xv.mT)) / gaps + _diag_embed(gs)
    if m > n:  # the part of Ū outside U's span: (I - U Uᵀ) Ū S⁻¹
        inner = u @ inner
        gus = gu / _row(s)
        return (inner + gus - u @ (u.mT @ gus)) @ vh
    if m < n:
        inner = inner @ vh
        sgvh = gvh / _col(s)
        return u @ (inner + sgvh - (sgvh @ vh.mT) @ vh)
    return u @ inner @ vh


class Svdvals(Function):
    """Singular values; Ā = U diag(S̄) Vh, finite for repeated ones too."""

    @staticmethod
    def forward(ctx, a):
        _check_matrix("svdvals", a, ctx.xp, square=False)
        ctx.save_for_backward(a)
        return ctx.xp.linalg.svdvals(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_values
        u, _, vh = svd(a, full_matrices=False)
        return ((u * _row(grad)) @ vh,)


# -- public functions ------------------------------------------------------------------------
def det(a: Any) -> Variable:
    """The determinant of each matrix in ``a`` (``(..., M, M)`` → ``(...)``).

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace (a stack when there are batch axes).

    Returns
    -------
    Variable
        ``(...)``: one determinant per matrix (0 for a singular one).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import det
    >>> round(det(np.array([[2.0, 1.0], [1.0, 3.0]])).item(), 12)
    5.0
    """
    return Det.apply(as_variable(a))


def slogdet(a: Any) -> SlogdetResult:
    """``(sign, log|det|)`` of each matrix; only ``logabsdet`` carries a gradient.

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace (a stack when there are batch axes).

    Returns
    -------
    SlogdetResult
        ``(sign, logabsdet)``, each ``(...)``; a singular matrix gives sign 0 and
        logabsdet -inf.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import slogdet
    >>> slogdet(np.array([[-2.0, 0.0], [0.0, 1.0]])).sign.item()
    -1.0
    """
    a = as_variable(a)
    logabsdet = Slogdet.apply(a)
    return SlogdetResult(Variable(a.xp.linalg.slogdet(a.data)[0]), logabsdet)


def inv(a: Any) -> Variable:
    """The inverse of each matrix in ``a``.

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace, batch axes allowed.
        Invertible.

    Returns
    -------
    Variable
        ``(..., M, M)``: the inverses.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import inv
    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]])).numpy().tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return Inv.apply(as_variable(a))


def solve(a: Any, b: Any) -> Variable:
    """``x`` with ``a @ x = b``: ``b`` of shape ``(M,)`` is one vector, else ``(..., M, K)``.

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace, batch axes allowed.
        Invertible.
    b : Variable or array
        ``(M,)`` (one right-hand side) or ``(..., M, K)``; batch axes broadcast.

    Returns
    -------
    Variable
        ``x`` of ``b``'s shape (after broadcasting) with ``a @ x = b``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import solve
    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0])).numpy().tolist()
    [0.5, 0.25]
    """
    return Solve.apply(as_variable(a), as_variable(b))


def solve_triangular(a: Any, b: Any, *, upper: bool = False) -> Variable:
    """``x`` with ``T @ x = b``, ``T`` the lower (or ``upper``) triangle of ``a``: ``a`` is
    ``(..., M, M)``, ``b`` is ``(..., M, K)``, batch axes broadcast. Only ``T`` is read, and
    only ``T`` gets a gradient. A zero on the diagonal gives inf or NaN on OpenCL, unchecked, as
    in PyTorch's ``solve_triangular``; other backends raise where their ``linalg.solve`` does.

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace, batch axes allowed.
        Only its lower (or upper) triangle is read.
    b : Variable or array
        ``(..., M, K)`` right-hand sides; batch axes broadcast.
    upper : bool
        Use the upper triangle instead of the lower one.

    Returns
    -------
    Variable
        ``(..., M, K)``: ``x`` with ``T @ x = b``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import solve_triangular
    >>> t = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> solve_triangular(t, np.array([[2.0], [3.0]])).numpy().tolist()
    [[1.0], [2.0]]
    """
    return SolveTriangular.apply(as_variable(a), as_variable(b), upper=bool(upper))


def cholesky(a: Any, upper: bool = False) -> Variable:
    """The Cholesky factor of each symmetric positive-definite matrix (lower, or upper ``Lᵀ``).

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace, batch axes allowed.
        Symmetric positive-definite.
    upper : bool
        Return the upper factor ``Lᵀ`` instead of ``L``.

    Returns
    -------
    Variable
        ``(..., M, M)``, triangular, with ``a = L Lᵀ``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import cholesky
    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]])).numpy().tolist()
    [[2.0, 0.0], [1.0, 2.0]]
    """
    low = Cholesky.apply(as_variable(a))
    return low.mT if upper else low


def qr(a: Any, mode: str = "reduced") -> QRResult:
    """``Q`` with orthonormal columns and upper-triangular ``R``, ``a = Q R``.

    Parameters
    ----------
    x : Variable or array
        Matrices ``(..., M, N)`` of any array-API namespace.
    mode : {'reduced', 'complete'}
        ``Q`` of shape ``(..., M, K)``, ``K = min(M, N)``, or ``(..., M, M)``.

    Returns
    -------
    QRResult
        ``(Q, R)`` with ``a = Q R``, ``Q`` with orthonormal columns, ``R`` upper triangular.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import qr
    >>> q, r = qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> np.allclose(q.numpy() @ r.numpy(), [[3.0, 1.0], [4.0, 2.0]])
    True
    """
    a = as_variable(a)
    packed = QR.apply(a, mode=mode)
    m, n = a.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    q, r = _unpack(packed, tuple(a.shape[:-2]), (m, k), (k, n))
    return QRResult(q, r)


def eigh(a: Any) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix.

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace, batch axes allowed.
        Symmetric; only the lower triangle is read, as numpy does.

    Returns
    -------
    EighResult
        ``(eigenvalues, eigenvectors)``: ``(..., M)`` ascending, and ``(..., M, M)`` with the
        eigenvectors as columns. Gradients need distinct eigenvalues (see docs/linalg.md).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import eigh
    >>> eigh(np.array([[2.0, 0.0], [0.0, 1.0]])).eigenvalues.numpy().tolist()
    [1.0, 2.0]
    """
    a = as_variable(a)
    n = a.shape[-1] if a.ndim >= 2 else 0
    packed = Eigh.apply(a)
    w, v = _unpack(packed, tuple(a.shape[:-2]), (n,), (n, n))
    return EighResult(w, v)


def eigvalsh(a: Any) -> Variable:
    """Eigenvalues (ascending) of each symmetric matrix.

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace, batch axes allowed.
        Symmetric.

    Returns
    -------
    Variable
        ``(..., M)``: the eigenvalues, ascending.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import eigvalsh
    >>> eigvalsh(np.array([[2.0, 0.0], [0.0, 1.0]])).numpy().tolist()
    [1.0, 2.0]
    """
    return Eigvalsh.apply(as_variable(a))


def svd(a: Any, full_matrices: bool = True) -> SVDResult:
    """``U``, ``S`` (descending) and ``Vh`` with ``a = U diag(S) Vh``.

    Parameters
    ----------
    x : Variable or array
        Matrices ``(..., M, N)`` of any array-API namespace.
    full_matrices : bool
        ``U`` ``(..., M, M)`` and ``Vh`` ``(..., N, N)``; False: ``K = min(M, N)`` columns/rows.

    Returns
    -------
    SVDResult
        ``(U, S, Vh)`` with ``a = U diag(S) Vh``, ``S`` ``(..., K)`` descending. Gradients need
        distinct singular values (see docs/linalg.md).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import svd
    >>> svd(np.array([[3.0, 0.0], [0.0, -4.0]])).S.numpy().tolist()
    [4.0, 3.0]
    """
    a = as_variable(a)
    packed = Svd.apply(a, full_matrices=bool(full_matrices))
    m, n = a.shape[-2:]
    k = min(m, n)
    shapes = ((m, m), (k,), (n, n)) if full_matrices else ((m, k), (k,), (k, n))
    return SVDResult(*_unpack(packed, tuple(a.shape[:-2]), *shapes))


def svdvals(a: Any) -> Variable:
    """The singular values (descending) of each matrix.

    Parameters
    ----------
    x : Variable or array
        Matrices ``(..., M, N)`` of any array-API namespace.

    Returns
    -------
    Variable
        ``(..., K)``, ``K = min(M, N)``: the singular values, descending.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import svdvals
    >>> svdvals(np.array([[3.0, 0.0], [0.0, -4.0]])).numpy().tolist()
    [4.0, 3.0]
    """
    return Svdvals.apply(as_variable(a))


def pinv(a: Any, rtol: float | None = None) -> Variable:
    """The pseudo-inverse ``V diag(1/S) Uᵀ``, singular values below ``rtol · max(S)`` dropped.

    Built on :func:`svd`, so its gradient needs distinct singular values, and a rank that does
    not change near ``a``. ``rtol`` defaults to ``max(M, N) · eps`` as in the standard.

    Parameters
    ----------
    x : Variable or array
        Matrices ``(..., M, N)`` of any array-API namespace.
    rtol : float or None
        Relative cut-off for small singular values; None: ``max(M, N) · eps``.

    Returns
    -------
    Variable
        ``(..., N, M)``: the pseudo-inverses.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import pinv
    >>> pinv(np.array([[2.0, 0.0], [0.0, 0.0]])).numpy().tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    """
    a = as_variable(a)
    _check_matrix("pinv", a.data, a.xp, square=False)
    u, s, vh = svd(a, full_matrices=False)
    xp = a.xp
    if rtol is None:
        rtol = max(a.shape[-2:]) * float(xp.finfo(a.dtype).eps)
    cutoff = rtol * xp.max(s.data, axis=-1, keepdims=True)
    kept = s.data > cutoff
    mask = xp.astype(kept, a.dtype)
    inv_s = Variable(mask) / (s + Variable(1.0 - mask))  # 1/S where kept, 0 where dropped
    return (vh.mT * _row(inv_s)) @ u.mT


def matrix_power(a: Any, n: int) -> Variable:
    """``a`` multiplied by itself ``n`` times (``n < 0``: powers of the inverse; ``0``: I).

    Uses binary exponentiation: about ``2·log2(n)`` products.

    Parameters
    ----------
    a : Variable or array
        Matrices ``(..., M, M)`` of any array-API namespace (a stack when there are batch axes).
    n : int
        The power; negative powers invert ``a`` first.

    Returns
    -------
    Variable
        ``(..., M, M)``: ``aⁿ``.

    Raises
    ------
    TypeError
        When ``n`` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import matrix_power
    >>> matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3).numpy().tolist()
    [[1.0, 3.0], [0.0, 1.0]]
    """
    a = as_variable(a)
    _check_matrix("matrix_power", a.data, a.xp)
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"matrix_power: expected an integer n, got {type(n).__name__}")
    if n == 0:
        return a * 0.0 + _eye(a, a.shape[-1])
    base = inv(a) if n < 0 else a
    n = -n if n < 0 else n
    result = None
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def matrix_rank(a: Any, rtol: float | None = None) -> Variable:
    """The number of singular values above ``rtol · max(S)`` (an integer: no gradient).

    Parameters
    ----------
    x : Variable or array
        Matrices ``(..., M, N)`` of any array-API namespace.
    rtol : float or None
        Relative tolerance; None: ``max(M, N) · eps`` of the dtype.

    Returns
    -------
    Variable
        ``(...)``, integer: the rank of each matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import matrix_rank
    >>> int(matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])).item())
    1
    """
    a = as_variable(a)
    _check_matrix("matrix_rank", a.data, a.xp, square=False)
    return Variable(a.xp.linalg.matrix_rank(a.data, rtol=rtol))
