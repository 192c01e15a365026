"""The device triangular solve (``backends/opencl/triangular.py``) against numpy.

Tolerance: substitution is backward stable, ``(T + E) x̂ = b`` with ``|E| <= n·eps·|T|``
(Higham, Thm 8.5), blocked or not; so the residual ``|T x̂ - b|`` stays below a small multiple
of ``n·eps·|T||x̂|``, which is what the tests check.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from oclgrind_runner import assert_clean_under_oclgrind

import axoncl as ax
from axoncl.backends.opencl.triangular import NB, solve_triangular


def _data(n, k, batch=(), seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((*batch, n, n)) + n * np.eye(n), rng.standard_normal((*batch, n, k))


def _check(got, a, b, upper, dtype):
    t = (np.triu(a) if upper else np.tril(a)).astype(np.float64)
    eps = np.finfo(dtype).eps
    n = a.shape[-1]
    assert got.dtype == dtype
    residual = np.abs(t @ got - b)
    bound = 4 * n * eps * (np.abs(t) @ np.abs(got) + np.abs(b))
    assert np.all(residual <= bound), float((residual - bound).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize(
    ("n", "k", "batch"),
    [
        (1, 1, ()),
        (5, 3, ()),
        (NB, 1, (2,)),
        (NB + 1, 4, (3,)),
        (2 * NB + 7, 33, ()),
        (100, 2, (2,)),
    ],
)
def test_matches_numpy(xp, n, k, batch, upper, dtype):
    if dtype == np.float64 and not xp.default_device().caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    a, b = _data(n, k, batch, seed=n + k)
    a, b = a.astype(dtype), b.astype(dtype)
    got = solve_triangular(xp.asarray(a), xp.asarray(b), upper=upper).to_numpy()
    _check(got, a, b, upper, dtype)


def test_reads_only_the_triangle_and_broadcasts_batches(xp):
    a, b = _data(NB + 3, 2, (2, 1), seed=1)
    junk = a + np.triu(np.ones_like(a), 1) * 1e3  # above the diagonal: never read
    b = np.broadcast_to(b, (2, 3, NB + 3, 2)).copy()
    got = solve_triangular(xp.asarray(junk), xp.asarray(b)).to_numpy()
    assert got.shape == (2, 3, NB + 3, 2)
    np.testing.assert_allclose(got, np.linalg.solve(np.tril(a), b), rtol=1e-10, atol=1e-12)


def test_non_contiguous_inputs(xp):
    a, b = _data(37, 6, (4,), seed=2)
    x, y = xp.asarray(a), xp.asarray(b)
    got = solve_triangular(x.mT[::2], y[::2, :, ::3], upper=True).to_numpy()
    want = np.linalg.solve(np.triu(np.swapaxes(a, -1, -2)[::2]), b[::2, :, ::3])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_empty_shapes(xp):
    assert solve_triangular(xp.eye(3), xp.zeros((3, 0))).shape == (3, 0)
    assert solve_triangular(xp.zeros((0, 2, 2)), xp.zeros((0, 2, 1))).shape == (0, 2, 1)


def test_a_zero_pivot_gives_inf_as_torch_does(xp):
    # torch.linalg.solve_triangular does not check the diagonal either: the result holds inf
    t = np.array([[1.0, 0.0], [1.0, 0.0]])
    got = solve_triangular(xp.asarray(t), xp.asarray(np.array([[1.0], [2.0]]))).to_numpy()
    torch = pytest.importorskip("torch")
    want = torch.linalg.solve_triangular(torch.tensor(t), torch.tensor([[1.0], [2.0]]), upper=False)
    np.testing.assert_array_equal(got, want.numpy())


def test_bad_input_raises(xp):
    with pytest.raises(ValueError, match=r"\(\.\.\., M, K\), got \(3, 3\) and \(2, 1\)"):
        solve_triangular(xp.eye(3), xp.zeros((2, 1)))
    with pytest.raises(ValueError, match="do not broadcast"):
        solve_triangular(xp.zeros((2, 3, 3)), xp.zeros((3, 3, 1)))
    with pytest.raises(TypeError, match="one dtype"):
        solve_triangular(xp.eye(3), xp.zeros((3, 1), dtype=xp.int32))
    with pytest.raises(TypeError, match="OpenCL arrays"):
        solve_triangular(np.eye(3), xp.zeros((3, 1)))


def test_the_differentiable_op_runs_here(xp):
    a, b = _data(NB + 2, 3, (2,), seed=3)
    pairs = [
        (
            ax.Variable(xp.asarray(a), requires_grad=True),
            ax.Variable(xp.asarray(b), requires_grad=True),
        ),
        (ax.Variable(a, requires_grad=True), ax.Variable(b, requires_grad=True)),
    ]
    for ta, tb in pairs:
        ax.solve_triangular(ta, tb, upper=True).sum().backward()
    for i in range(2):
        np.testing.assert_allclose(
            pairs[0][i].grad.numpy(), pairs[1][i].grad.numpy(), rtol=1e-9, atol=1e-12
        )


SCRIPT = textwrap.dedent("""
    import numpy as np
    import axoncl.backends.opencl as xp
    from axoncl.backends.opencl.triangular import NB, solve_triangular

    assert xp.default_device().caps.name.startswith("Oclgrind")
    n = NB + 5
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((2, n, n)) + n * np.eye(n)).astype(np.float32)
    b = rng.standard_normal((2, n, 3)).astype(np.float32)
    for upper in (False, True):
        got = solve_triangular(xp.asarray(a), xp.asarray(b), upper=upper).to_numpy()
        t = np.triu(a) if upper else np.tril(a)
        np.testing.assert_allclose(got, np.linalg.solve(t, b), rtol=1e-3, atol=1e-4)
    print("ok")
""")


def test_clean_under_oclgrind(tmp_path):
    assert_clean_under_oclgrind(tmp_path, SCRIPT, checks=("--data-races",))
