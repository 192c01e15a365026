"""The device QR factorisation, blocked Householder (``backends/opencl/qr.py``), against numpy.

numpy calls LAPACK (dgeqrf, dorgqr), whose reflector convention the kernels follow, so Q and R
are compared with numpy's entry by entry, signs included. Householder QR is backward stable:
``‖Q̂ R̂ - A‖ <= c·m·n·eps·‖A‖`` and ``‖Q̂ᵀ Q̂ - I‖ <= c·m·n·eps`` (Higham, Thm 19.4); the
tests check the factorisation with ``c = 1``, and the entries against numpy within
``30·max(m, n)·eps`` of the matrix's scale, which random well-conditioned matrices meet.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from oclgrind_runner import assert_clean_under_oclgrind

import axoncl as ax
from axoncl.backends.opencl.qr import NB

SHAPES = [
    (1, 1), (3, 3), (5, 3), (3, 5), (NB + 1, NB - 1), (NB - 1, NB + 1), (2 * NB + 5, 2 * NB + 5),
    (130, 65), (65, 130), (6, 1), (1, 6), (4, 0), (0, 4), (0, 0),
]  # fmt: skip


def _check(xp, a, mode):
    q, r = xp.linalg.qr(xp.asarray(a), mode=mode)
    qn, rn = np.linalg.qr(a, mode=mode)
    q, r = q.to_numpy(), r.to_numpy()
    assert q.shape == qn.shape and r.shape == rn.shape, (q.shape, qn.shape, r.shape, rn.shape)
    assert q.dtype == a.dtype and r.dtype == a.dtype
    m, n = a.shape[-2:]
    eps = np.finfo(a.dtype).eps
    if q.size:
        np.testing.assert_allclose(q, qn, atol=30 * max(m, n, 1) * eps)
    if r.size:
        scale = np.abs(a).max() if a.size else 1.0
        np.testing.assert_allclose(r, rn, atol=30 * max(m, n, 1) * eps * scale)
        np.testing.assert_array_equal(np.tril(r, -1), 0)  # upper triangular exactly
    if a.size:
        recon = q @ r
        norm = np.abs(a).sum(axis=-1).max()
        assert np.abs(recon - a).sum(axis=-1).max() <= m * n * eps * norm
        k = q.shape[-1]
        assert np.abs(np.swapaxes(q, -1, -2) @ q - np.eye(k)).max() <= m * n * eps


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
@pytest.mark.parametrize("shape", SHAPES)
def test_qr_matches_numpy(xp, dtype, mode, shape):
    a = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    _check(xp, a, mode)


@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_batched_and_non_contiguous_input(xp, mode):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 40, 37))
    _check(xp, a, mode)
    q, r = xp.linalg.qr(xp.permute_dims(xp.asarray(a), (0, 1, 3, 2)), mode=mode)  # a view
    qn, rn = np.linalg.qr(np.swapaxes(a, -1, -2), mode=mode)
    np.testing.assert_allclose(q.to_numpy(), qn, atol=1e-12)
    np.testing.assert_allclose(r.to_numpy(), rn, atol=1e-12)
    empty = np.zeros((0, 5, 3))
    _check(xp, empty, mode)


def test_zero_columns_rank_deficiency_and_nan(xp):
    a = np.random.default_rng(2).standard_normal((6, 4))
    a[:, 1] = 0.0  # a zero column: its reflector is the identity (tau = 0), as in LAPACK
    a[:, 3] = 2 * a[:, 0]  # rank 2
    _check(xp, a, "reduced")
    _check(xp, np.zeros((5, 5)), "complete")
    b = a.copy()
    b[2, 2] = np.nan
    q, r = xp.linalg.qr(xp.asarray(b))
    assert np.isnan(r.to_numpy()).any() and np.isnan(q.to_numpy()).any()  # never a silent value
    big = np.random.default_rng(3).standard_normal((8, 8)) * 1e30  # no overflow in the norms
    _check(xp, big.astype(np.float32) / 1e20, "reduced")
    _check(xp, big, "reduced")


def test_differentiable_qr_runs_on_the_device_and_gradchecks(xp):
    rng = np.random.default_rng(4)
    x = ax.Variable(xp.asarray(rng.standard_normal((5, 3))), requires_grad=True)
    assert ax.gradcheck(lambda t: ax.linalg.qr(t)[0].sum() + (ax.linalg.qr(t)[1] ** 2).sum(), (x,))


def test_bad_inputs(xp):
    with pytest.raises(TypeError, match="floating-point"):
        xp.linalg.qr(xp.asarray(np.eye(3, dtype=np.int32)))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        xp.linalg.qr(xp.asarray(np.ones(3)))
    with pytest.raises(ValueError, match="mode"):
        xp.linalg.qr(xp.asarray(np.eye(3)), mode="r")


SCRIPT = textwrap.dedent("""
    import numpy as np
    import axoncl.backends.opencl as xp

    dev = xp.default_device()
    assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
    rng = np.random.default_rng(0)
    for shape in [(2, 9, 5), (5, 9), (35, 34)]:
        a = rng.standard_normal(shape).astype(np.float32)
        for mode in ("reduced", "complete"):
            q, r = xp.linalg.qr(xp.asarray(a), mode=mode)
            qn, rn = np.linalg.qr(a, mode=mode)
            np.testing.assert_allclose(q.to_numpy(), qn, atol=1e-4)
            np.testing.assert_allclose(r.to_numpy(), rn, atol=1e-4)
    print("ok")
""")


@pytest.mark.oclgrind
def test_clean_under_oclgrind(tmp_path):
    assert_clean_under_oclgrind(tmp_path, SCRIPT, checks=("--data-races",))


def test_real_input_never_reaches_the_host(xp, monkeypatch):
    a = np.random.default_rng(5).standard_normal((70, 40))
    qn, rn = np.linalg.qr(a)

    def host_qr(*args, **kwargs):
        raise AssertionError("qr went to the host")

    monkeypatch.setattr(np.linalg, "qr", host_qr)
    q, r = xp.linalg.qr(xp.asarray(a))
    np.testing.assert_allclose(q.to_numpy(), qn, atol=1e-12)
    np.testing.assert_allclose(r.to_numpy(), rn, atol=1e-12)
