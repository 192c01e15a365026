"""Complex input to every function of the linalg extension, against numpy.

The decompositions and solvers take complex arrays through the host (``hostlinalg.py``,
documented in docs/array-api.md); the products and norms run on the device. Tolerances:
complex64 rtol 2e-4 (a few float32 roundings times the small condition numbers of these
random, diagonally shifted matrices), complex128 rtol 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

TOL = {np.complex64: dict(rtol=2e-4, atol=2e-4), np.complex128: dict(rtol=1e-10, atol=1e-10)}
REAL = {np.complex64: np.float32, np.complex128: np.float64}


def _data(dtype, batch=(2,), n=4, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((*batch, n, n)) + 1j * rng.standard_normal((*batch, n, n))
    a = a + 2 * n * np.eye(n)  # well conditioned
    herm = a @ np.conj(np.swapaxes(a, -1, -2))
    return a.astype(dtype), herm.astype(dtype)


def _same(got, want, dtype):
    got = got.to_numpy()
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("batch", [(), (2,), (0,)])
def test_solvers_and_determinants(xp, dtype, batch):
    a, herm = _data(dtype, batch)
    b = (a[..., :3] * 0.5).astype(dtype)
    A, H, B = xp.asarray(a), xp.asarray(herm), xp.asarray(b)
    _same(xp.linalg.solve(A, B), np.linalg.solve(a, b), dtype)
    _same(xp.linalg.inv(A), np.linalg.inv(a), dtype)
    _same(xp.linalg.det(A), np.linalg.det(a), dtype)
    sign, logabs = xp.linalg.slogdet(A)
    want_sign, want_logabs = np.linalg.slogdet(a)
    _same(sign, want_sign, dtype)
    _same(logabs, want_logabs.astype(REAL[dtype]), dtype)
    if sign.size:
        np.testing.assert_allclose(np.abs(sign.to_numpy()), 1, rtol=1e-5)
    _same(xp.linalg.cholesky(H), np.linalg.cholesky(herm), dtype)
    _same(xp.linalg.cholesky(H, upper=True), np.linalg.cholesky(herm, upper=True), dtype)
    _same(xp.linalg.matrix_power(A, -2), np.linalg.matrix_power(a, -2), dtype)
    _same(xp.linalg.matrix_power(A, 3), np.linalg.matrix_power(a, 3), dtype)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_decompositions(xp, dtype):
    a, herm = _data(dtype, seed=1)
    A, H = xp.asarray(a), xp.asarray(herm)
    for mode in ("reduced", "complete"):
        q, r = xp.linalg.qr(A[..., :3], mode=mode)
        qn, rn = np.linalg.qr(a[..., :3], mode=mode)
        _same(q, qn, dtype)
        _same(r, rn, dtype)
    values, vectors = xp.linalg.eigh(H)
    values_n, vectors_n = np.linalg.eigh(herm)
    _same(values, values_n, dtype)  # real eigenvalues, in the real dtype
    # eigenvectors are defined up to a unit complex factor each: compare V diag(w) V^H
    v = vectors.to_numpy()
    recon = v @ (values_n[..., None] * np.conj(np.swapaxes(v, -1, -2)))
    np.testing.assert_allclose(recon, herm, rtol=1e-3 if dtype == np.complex64 else 1e-9)
    assert vectors.dtype == dtype
    _same(xp.linalg.eigvalsh(H), np.linalg.eigvalsh(herm), dtype)
    s = xp.linalg.svdvals(A)
    _same(s, np.linalg.svd(a, compute_uv=False), dtype)
    u, s2, vh = xp.linalg.svd(A, full_matrices=False)
    recon = u.to_numpy() @ (s2.to_numpy()[..., None] * vh.to_numpy())
    np.testing.assert_allclose(recon, a, **TOL[dtype])
    assert s2.dtype == REAL[dtype] and u.dtype == dtype
    _same(xp.linalg.pinv(A), np.linalg.pinv(a), dtype)
    rank = xp.linalg.matrix_rank(A).to_numpy()
    np.testing.assert_array_equal(rank, np.linalg.matrix_rank(a))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_norms_products_and_the_rest(xp, dtype):
    a, _ = _data(dtype, seed=2)
    A = xp.asarray(a)
    for ord in (2, 1, np.inf, -np.inf, 0, 3.5):
        _same(
            xp.linalg.vector_norm(A, axis=-1, ord=ord),
            np.linalg.vector_norm(a, axis=-1, ord=ord).astype(REAL[dtype]),
            dtype,
        )
    for ord in ("fro", 1, -1, np.inf, -np.inf, 2, -2, "nuc"):
        _same(
            xp.linalg.matrix_norm(A, ord=ord),
            np.linalg.matrix_norm(a, ord=ord).astype(REAL[dtype]),
            dtype,
        )
    v = a[0, :, :3]
    V = xp.asarray(v)
    _same(xp.linalg.trace(A), np.trace(a, axis1=-2, axis2=-1), dtype)
    _same(xp.linalg.diagonal(A, offset=1), np.diagonal(a, offset=1, axis1=-2, axis2=-1), dtype)
    _same(xp.linalg.outer(V[0], V[1]), np.outer(v[0], v[1]), dtype)
    _same(xp.linalg.cross(V, V[::-1]), np.cross(v, v[::-1]), dtype)
    _same(xp.linalg.vecdot(V, V), np.vecdot(v, v), dtype)  # conjugates the first argument
    _same(xp.linalg.matmul(A, A), a @ a, dtype)
    _same(
        xp.linalg.tensordot(A, A, axes=([1, 2], [1, 2])),
        np.tensordot(a, a, ([1, 2], [1, 2])),
        dtype,
    )


def test_complex_and_real_mix_in_solve_and_errors(xp):
    a, _ = _data(np.complex64, batch=())
    b = np.ones((4, 2), np.float32)
    _same(xp.linalg.solve(xp.asarray(a), xp.asarray(b)), np.linalg.solve(a, b), np.complex64)
    with pytest.raises(ValueError, match="square"):
        xp.linalg.inv(xp.asarray(a[:, :3]))
    with pytest.raises(np.linalg.LinAlgError):
        xp.linalg.cholesky(xp.asarray(-np.eye(3, dtype=np.complex64)))
