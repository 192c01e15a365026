"""The device LU factorisation with partial pivoting and ``solve``/``inv`` on it
(``backends/opencl/lu.py``) against numpy.

Tolerance: Gaussian elimination with partial pivoting is backward stable in practice,
``(A + E) x̂ = b`` with ``|E| <= c·n·eps·ρ·|A|`` and a growth factor ``ρ`` that is small for
random matrices (Higham, Thm 9.4 and §9.4); the tests check the normwise residual
``‖A x̂ - b‖ <= 8·n·eps·‖A‖‖x̂‖`` (infinity norms), which does not depend on the conditioning.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from oclgrind_runner import assert_clean_under_oclgrind

import axoncl as ax
from axoncl.backends.opencl.lu import NB


def _data(n, k, batch=(), seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((*batch, n, n)), rng.standard_normal((*batch, n, k))


def _norm(x):
    return np.abs(x).sum(axis=-1).max(axis=-1)  # the infinity norm of each matrix


def _check_solution(x, a, b, dtype):
    eps = np.finfo(dtype).eps
    n = a.shape[-1]
    a64, x64 = a.astype(np.float64), x.astype(np.float64)
    residual = _norm(a64 @ x64 - b)
    assert np.all(residual <= 8 * n * eps * _norm(a64) * _norm(x64) + eps), residual


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("n", "k", "batch"),
    [
        (1, 1, ()),
        (5, 3, ()),
        (NB, 2, (2,)),
        (NB + 1, 1, (3,)),
        (2 * NB + 7, 5, (2, 2)),
        (100, 3, ()),
    ],
)
def test_solve_matches_numpy(xp, n, k, batch, dtype):
    if dtype == np.float64 and not xp.default_device().caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    a, b = (t.astype(dtype) for t in _data(n, k, batch, seed=n))
    got = xp.linalg.solve(xp.asarray(a), xp.asarray(b)).to_numpy()
    assert got.dtype == dtype and got.shape == b.shape
    _check_solution(got, a, b, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, NB + 3, 70])
def test_inv_matches_numpy(xp, n, dtype):
    a = _data(n, 1, (2,), seed=n + 1)[0].astype(dtype)
    got = xp.linalg.inv(xp.asarray(a)).to_numpy()
    eye = np.broadcast_to(np.eye(n), a.shape)
    _check_solution(got, a, eye, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("n", "batch"), [(1, ()), (4, (3,)), (NB + 1, (2,)), (2 * NB + 7, ())])
def test_det_and_slogdet_match_numpy(xp, n, batch, dtype):
    # log|det| sums n logs of U's diagonal, each with relative error about n·eps·ρ (the
    # backward error above), so it agrees to an absolute 8·n²·eps
    a = _data(n, 1, batch, seed=2 * n)[0].astype(dtype)
    tol = 8 * n * n * np.finfo(dtype).eps
    sign, logabsdet = xp.linalg.slogdet(xp.asarray(a))
    want_sign, want_log = np.linalg.slogdet(a.astype(np.float64))
    np.testing.assert_array_equal(sign.to_numpy(), want_sign)
    np.testing.assert_allclose(logabsdet.to_numpy(), want_log, rtol=0, atol=tol)
    got = xp.linalg.det(xp.asarray(a)).to_numpy()
    want = np.linalg.det(a.astype(np.float64))
    assert got.dtype == dtype
    fits = np.abs(want) < np.finfo(dtype).max / 2  # else both overflow, as numpy's own
    np.testing.assert_allclose(got[fits], want[fits], rtol=2 * tol)


def test_det_of_a_singular_matrix_is_zero_as_numpy(xp):
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]])
    np.testing.assert_array_equal(xp.linalg.det(xp.asarray(a)).to_numpy(), [0.0, -1.0])
    sign, logabsdet = xp.linalg.slogdet(xp.asarray(a))
    np.testing.assert_array_equal(sign.to_numpy(), [0.0, -1.0])
    np.testing.assert_array_equal(logabsdet.to_numpy(), [-np.inf, 0.0])
    assert xp.linalg.det(xp.zeros((2, 0, 0))).to_numpy().tolist() == [1.0, 1.0]


def test_pivoting_is_needed_and_done(xp):
    a = np.array([[0.0, 1.0, 2.0], [1e-20, 3.0, 1.0], [4.0, 1.0, 0.0]])
    b = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        xp.linalg.solve(xp.asarray(a), xp.asarray(b)).to_numpy(), np.linalg.solve(a, b), rtol=1e-12
    )


def test_vector_and_broadcast_batches(xp):
    a, _ = _data(NB + 2, 1, (3, 1), seed=3)
    b = np.random.default_rng(4).standard_normal((2, NB + 2, 4))
    got = xp.linalg.solve(xp.asarray(a), xp.asarray(b)).to_numpy()
    np.testing.assert_allclose(got, np.linalg.solve(a, b), rtol=1e-8, atol=1e-10)
    v = b[0, :, 0]
    got = xp.linalg.solve(xp.asarray(a), xp.asarray(v)).to_numpy()
    assert got.shape == (3, 1, NB + 2)
    np.testing.assert_allclose(got, np.linalg.solve(a, v), rtol=1e-8, atol=1e-10)


def test_non_contiguous_and_mixed_dtypes(xp):
    a, b = _data(37, 6, (4,), seed=5)
    got = xp.linalg.solve(xp.asarray(a).mT[::2], xp.asarray(b)[::2, :, ::2]).to_numpy()
    want = np.linalg.solve(np.swapaxes(a, -1, -2)[::2], b[::2, :, ::2])
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    mixed = xp.linalg.solve(xp.asarray(a[0].astype(np.float32)), xp.asarray(b[0]))
    assert mixed.dtype == xp.float64


def test_empty_shapes(xp):
    assert xp.linalg.solve(xp.zeros((0, 3, 3)), xp.zeros((0, 3, 2))).shape == (0, 3, 2)
    assert xp.linalg.inv(xp.zeros((2, 0, 0))).shape == (2, 0, 0)
    assert xp.linalg.solve(xp.eye(3), xp.zeros((3, 0))).shape == (3, 0)


def test_singular_raises_as_numpy_and_torch_do(xp):
    # numpy.linalg.solve raises LinAlgError("Singular matrix"); torch.linalg.solve raises its
    # LinAlgError ("the input matrix is singular"). No inf or NaN comes back.
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        xp.linalg.solve(xp.asarray(singular), xp.asarray([1.0, 1.0]))
    batch = np.stack([np.eye(3), np.zeros((3, 3))])
    with pytest.raises(np.linalg.LinAlgError, match=r"singular \(batch element 1\)"):
        xp.linalg.inv(xp.asarray(batch))


def test_bad_input_raises(xp):
    with pytest.raises(ValueError, match="square"):
        xp.linalg.inv(xp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x2 of shape \(\.\.\., 3, K\)"):
        xp.linalg.solve(xp.eye(3), xp.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"x2 of shape \(3,\)"):
        xp.linalg.solve(xp.eye(3), xp.zeros(2))
    with pytest.raises(ValueError, match="do not broadcast"):
        xp.linalg.solve(xp.zeros((2, 3, 3)), xp.zeros((3, 3, 1)))
    with pytest.raises(TypeError, match="floating"):
        xp.linalg.solve(xp.eye(3), xp.asarray(np.ones((3, 1), np.int32)))


def test_differentiable_solve_and_inv_run_here(xp):
    a, b = _data(NB + 2, 3, (2,), seed=6)
    results = []
    for arrays in ((xp.asarray(a), xp.asarray(b)), (a, b)):
        ta, tb = (ax.Variable(t, requires_grad=True) for t in arrays)
        (ax.solve(ta, tb).sum() + ax.inv(ta).sum()).backward()
        results.append((ta.grad.numpy(), tb.grad.numpy()))
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


SCRIPT = textwrap.dedent("""
    import numpy as np
    import axoncl.backends.opencl as xp
    from axoncl.backends.opencl.lu import NB

    assert xp.default_device().caps.name.startswith("Oclgrind")
    n = NB + 5
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, n, n)).astype(np.float32)
    b = rng.standard_normal((2, n, 3)).astype(np.float32)
    got = xp.linalg.solve(xp.asarray(a), xp.asarray(b)).to_numpy()
    np.testing.assert_allclose(a @ got, b, rtol=1e-2, atol=1e-2)
    try:
        xp.linalg.inv(xp.zeros((3, 3)))
        raise AssertionError("no LinAlgError")
    except np.linalg.LinAlgError:
        pass
    print("ok")
""")


def test_clean_under_oclgrind(tmp_path):
    assert_clean_under_oclgrind(tmp_path, SCRIPT, checks=("--data-races",))
