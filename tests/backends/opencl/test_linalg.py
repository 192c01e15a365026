"""The ``linalg`` extension (``xp.linalg``) against ``numpy.linalg``.

Tolerances: the device functions are a few float32 elementwise steps and reductions of at most
a few dozen terms (rtol 1e-5 holds with margin, as for the products in test_products.py); the
host-bound decompositions run numpy itself in float32, so they match numpy to its rounding.
"""

import math

import numpy as np
import pytest

RTOL = 1e-5


def _rand(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _spd(n, batch=(), seed=0):
    a = _rand((*batch, n, n), seed, np.float64)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(np.float32)


def test_the_extension_is_a_namespace_of_standard_functions_only(xp):
    public = {name for name in dir(xp.linalg) if not name.startswith("_")}
    assert public == set(xp.linalg.__all__)
    assert "linalg" in xp.__all__
    assert xp.linalg.matmul is xp.matmul and xp.linalg.vecdot is xp.vecdot


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 3, 9])
def test_diagonal_and_trace(xp, offset):
    a = _rand((2, 4, 5), 1)
    x = xp.asarray(a)
    got = xp.linalg.diagonal(x, offset=offset).to_numpy()
    np.testing.assert_array_equal(got, np.diagonal(a, offset=offset, axis1=-2, axis2=-1))
    got = xp.linalg.trace(x, offset=offset).to_numpy()
    want = np.trace(a, offset=offset, axis1=-2, axis2=-1)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)
    ints = xp.asarray(np.arange(9, dtype=np.int8).reshape(3, 3))
    assert xp.linalg.trace(ints).dtype == xp.int64
    assert (
        xp.linalg.diagonal(x[:, ::-1, ::2]).to_numpy().tolist()
        == np.diagonal(a[:, ::-1, ::2], axis1=-2, axis2=-1).tolist()
    )


def test_outer_and_cross(xp):
    a, b = _rand((4,), 2), _rand((3,), 3)
    got = xp.linalg.outer(xp.asarray(a), xp.asarray(b)).to_numpy()
    np.testing.assert_allclose(got, np.outer(a, b), rtol=RTOL)
    u, v = _rand((2, 3, 5), 4), _rand((3, 1), 5)
    got = xp.linalg.cross(xp.asarray(u), xp.asarray(v), axis=-2).to_numpy()
    np.testing.assert_allclose(got, np.cross(u, v, axis=-2), rtol=RTOL, atol=1e-6)
    with pytest.raises(ValueError, match="3 elements"):
        xp.linalg.cross(xp.asarray(a), xp.asarray(a))


@pytest.mark.parametrize("n", [0, 1, 2, 5, -1, -3])
def test_matrix_power(xp, n):
    a = _spd(3, (2,), seed=6) / 4
    got = xp.linalg.matrix_power(xp.asarray(a), n).to_numpy()
    np.testing.assert_allclose(got, np.linalg.matrix_power(a, n), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ord", [2, 1, 0, 3.5, math.inf, -math.inf, -1])
@pytest.mark.parametrize("axis", [None, 1, (0, 2)])
def test_vector_norm(xp, ord, axis):
    a = _rand((3, 4, 5), 7)
    a[0, 0, 0] = 0.0
    got = xp.linalg.vector_norm(xp.asarray(a), axis=axis, ord=ord, keepdims=True).to_numpy()
    flat = a.reshape(-1) if axis is None else a
    want = np.linalg.norm(flat, ord=ord, axis=axis, keepdims=True) if axis != (0, 2) else None
    if want is None:  # numpy's norm takes a pair of axes as a matrix norm
        moved = np.moveaxis(a, (0, 2), (1, 2)).reshape(4, -1)
        want = np.linalg.norm(moved, ord=ord, axis=1).reshape(1, 4, 1)
    if axis is None:
        want = np.reshape(want, (1, 1, 1))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
def test_matrix_norm(xp, ord):
    a = _rand((2, 4, 3), 8)
    got = xp.linalg.matrix_norm(xp.asarray(a), ord=ord).to_numpy()
    np.testing.assert_allclose(got, np.linalg.norm(a, ord=ord, axis=(-2, -1)), rtol=1e-5)
    kept = xp.linalg.matrix_norm(xp.asarray(a), ord=ord, keepdims=True)
    assert kept.shape == (2, 1, 1)


def test_vecdot_keeps_integer_dtypes(xp):
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    got = xp.linalg.vecdot(xp.asarray(a), xp.asarray(a))
    assert got.dtype == xp.int16
    np.testing.assert_array_equal(got.to_numpy(), (a * a).sum(axis=-1))


def test_host_bound_decompositions_match_numpy(xp):
    a = _spd(4, (2,), seed=9)
    x = xp.asarray(a)
    b = _rand((2, 4, 3), 10)
    for name in ("cholesky", "inv", "det", "eigvalsh", "svdvals", "pinv"):
        got = getattr(xp.linalg, name)(x)
        want = getattr(np.linalg, name)(a)
        assert got.dtype == xp.float32 and got.shape == want.shape, name
        np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-5, err_msg=name)
    upper = xp.linalg.cholesky(x, upper=True).to_numpy()
    np.testing.assert_allclose(upper, np.swapaxes(np.linalg.cholesky(a), -1, -2), rtol=1e-6)
    np.testing.assert_allclose(
        xp.linalg.solve(x, xp.asarray(b)).to_numpy(), np.linalg.solve(a, b), rtol=1e-4
    )
    sign, logabsdet = xp.linalg.slogdet(x)
    np.testing.assert_allclose(logabsdet.to_numpy(), np.linalg.slogdet(a)[1], rtol=1e-5)
    q, r = xp.linalg.qr(xp.asarray(b))
    np.testing.assert_allclose((q.to_numpy() @ r.to_numpy()), b, rtol=1e-4, atol=1e-5)
    u, s, vh = xp.linalg.svd(xp.asarray(b), full_matrices=False)
    rebuilt = (u.to_numpy() * s.to_numpy()[..., None, :]) @ vh.to_numpy()
    np.testing.assert_allclose(rebuilt, b, rtol=1e-4, atol=1e-5)
    values, vectors = xp.linalg.eigh(x)
    assert values.shape == (2, 4) and vectors.shape == (2, 4, 4)
    assert xp.linalg.matrix_rank(xp.asarray(np.ones((3, 3), np.float32))).to_numpy() == 1


def test_decompositions_refuse_integers_and_vectors(xp):
    with pytest.raises(TypeError, match="floating"):
        xp.linalg.inv(xp.asarray([[1, 0], [0, 1]]))
    with pytest.raises(ValueError, match="2 dimensions"):
        xp.linalg.det(xp.asarray([1.0, 2.0]))
    with pytest.raises(ValueError, match="square"):
        xp.linalg.cholesky(xp.asarray(np.ones((2, 3), np.float32)))
