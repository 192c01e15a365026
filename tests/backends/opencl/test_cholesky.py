"""The device Cholesky factorisation (``backends/opencl/cholesky.py``) against numpy.

Tolerances: for a symmetric positive-definite ``A`` the computed factor satisfies
``L Lᵀ = A + E`` with ``|E| <= c·n·eps·|L||Lᵀ|`` (Higham, Thm 10.3), whatever the blocking;
the test matrices ``G Gᵀ + n I`` are well conditioned (cond below about 10), so the factor
itself is within a small multiple of ``n·eps`` of numpy's float64 one.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from oclgrind_runner import assert_clean_under_oclgrind

from axoncl.backends.opencl.cholesky import NB


def _spd(n, batch=(), seed=0):
    g = np.random.default_rng(seed).standard_normal((*batch, n, n))
    return g @ np.swapaxes(g, -1, -2) + n * np.eye(n)


def _check(got, a, dtype):
    """``got`` is the Cholesky factor of ``a`` to the bound of the module docstring."""
    eps = np.finfo(dtype).eps
    n = a.shape[-1]
    want = np.linalg.cholesky(a)  # float64
    scale = np.abs(a).max(initial=1.0)
    assert got.dtype == dtype and got.shape == a.shape
    np.testing.assert_array_equal(np.triu(got, 1), 0.0)
    residual = got.astype(np.float64) @ np.swapaxes(got, -1, -2) - a
    assert np.abs(residual).max(initial=0.0) <= 8 * n * eps * scale
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * n * eps * np.sqrt(scale))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("n", "batch"),
    [(1, ()), (5, ()), (NB - 1, (2,)), (NB, ()), (NB + 1, (3,)), (2 * NB + 7, (2, 2)), (100, ())],
)
def test_matches_numpy(xp, n, batch, dtype):
    if dtype == np.float64 and not xp.default_device().caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    a = _spd(n, batch, seed=n)
    _check(xp.linalg.cholesky(xp.asarray(a.astype(dtype))).to_numpy(), a.astype(dtype), dtype)


def test_upper_is_the_transpose(xp):
    a = _spd(NB + 3, (2,), seed=1).astype(np.float32)
    upper = xp.linalg.cholesky(xp.asarray(a), upper=True).to_numpy()
    lower = xp.linalg.cholesky(xp.asarray(a)).to_numpy()
    np.testing.assert_array_equal(upper, np.swapaxes(lower, -1, -2))


def test_reads_only_the_lower_triangle_as_numpy(xp):
    a = _spd(NB + 5, seed=2)
    junk = a + np.triu(np.random.default_rng(3).standard_normal(a.shape), 1) * 100.0
    got = xp.linalg.cholesky(xp.asarray(junk)).to_numpy()
    np.testing.assert_allclose(got, np.linalg.cholesky(junk), rtol=1e-10, atol=1e-10)


def test_non_contiguous_inputs(xp):
    a = _spd(37, (4,), seed=4)
    x = xp.asarray(a)
    _check(xp.linalg.cholesky(x[::2]).to_numpy(), a[::2], np.float64)
    # a transposed view: its lower triangle is a's upper one, which holds the same (symmetric)
    # values
    _check(xp.linalg.cholesky(x.mT).to_numpy(), a, np.float64)


def test_empty_shapes(xp):
    assert xp.linalg.cholesky(xp.zeros((0, 3, 3))).shape == (0, 3, 3)
    assert xp.linalg.cholesky(xp.zeros((2, 0, 0))).shape == (2, 0, 0)


def test_not_positive_definite_raises_as_torch_does(xp):
    # torch.linalg.cholesky raises LinAlgError naming the leading minor; numpy raises the
    # same exception type. No NaN factor is returned.
    bad = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(np.linalg.LinAlgError, match="leading minor of order 2 is not"):
        xp.linalg.cholesky(xp.asarray(bad))
    batch = np.stack([_spd(NB + 4, seed=5), _spd(NB + 4, seed=6)])
    batch[1, NB + 2, NB + 2] = -1e3  # fails in the second block column
    with pytest.raises(np.linalg.LinAlgError, match=f"order {NB + 3} of batch element 1"):
        xp.linalg.cholesky(xp.asarray(batch))
    nan = _spd(3, seed=7)
    nan[1, 0] = np.nan
    with pytest.raises(np.linalg.LinAlgError, match="order 2"):
        xp.linalg.cholesky(xp.asarray(nan))


def test_bad_input_raises(xp):
    with pytest.raises(ValueError, match=r"square matrices .* got \(2, 3\)"):
        xp.linalg.cholesky(xp.asarray(np.ones((2, 3), np.float32)))
    with pytest.raises(ValueError, match="square"):
        xp.linalg.cholesky(xp.asarray(np.ones(3, np.float32)))
    with pytest.raises(TypeError, match="float32 or float64"):
        xp.linalg.cholesky(xp.asarray(np.eye(2, dtype=np.int32)))
    with pytest.raises(TypeError, match="OpenCL array"):
        xp.linalg.cholesky(np.eye(2))


def test_differentiable_cholesky_runs_on_the_device(xp):
    import axoncl as ax

    a = _spd(NB + 2, (2,), seed=8)
    x = ax.Variable(xp.asarray(a), requires_grad=True)
    ax.cholesky(x).sum().backward()
    h = ax.Variable(a, requires_grad=True)
    ax.cholesky(h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), h.grad.numpy(), rtol=1e-9, atol=1e-12)


SCRIPT = textwrap.dedent("""
    import numpy as np
    import axoncl.backends.opencl as xp
    from axoncl.backends.opencl.cholesky import NB

    assert xp.default_device().caps.name.startswith("Oclgrind")
    n = NB + 5
    g = np.random.default_rng(0).standard_normal((2, n, n)).astype(np.float32)
    a = g @ np.swapaxes(g, -1, -2) + n * np.eye(n, dtype=np.float32)
    got = xp.linalg.cholesky(xp.asarray(a)[:, :, :]).to_numpy()
    np.testing.assert_allclose(got, np.linalg.cholesky(a), rtol=1e-3, atol=1e-3)
    try:
        xp.linalg.cholesky(xp.asarray(-a))
        raise AssertionError("no LinAlgError")
    except np.linalg.LinAlgError:
        pass
    print("ok")
""")


def test_clean_under_oclgrind(tmp_path):
    assert_clean_under_oclgrind(tmp_path, SCRIPT, checks=("--data-races",))
