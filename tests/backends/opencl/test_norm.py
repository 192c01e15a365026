"""Per-channel kernels against float64 numpy: the ``sum`` primitive over every axis but 1 (a
convolution's bias gradient) and over the rows of a matrix (a linear layer's), both in
``kernels/fused.cl``, and batch normalisation's statistics and
passes, including data whose mean is large next to its spread (where ``x * scale + shift``
would cancel) and the shapes with one value per channel, with fewer values than a work-group,
and with a ragged last run."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyopencl")

from axoncl.backends import opencl as xp  # noqa: E402
from axoncl.backends import primitives  # noqa: E402
from axoncl.backends.opencl.array import from_numpy  # noqa: E402

SHAPES = [(1, 2, 1, 1), (4, 3, 5, 7), (2, 16, 8, 8), (3, 5), (5, 4, 33), (2, 3, 64, 65)]


def _np_bn(x, w, b, eps):
    axes = (0, *range(2, x.ndim))
    keep = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    invstd = 1 / np.sqrt(var + eps)
    y = (x - mean) * invstd * w.reshape(keep) + b.reshape(keep)
    return y, mean, var, invstd


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_matches_float64(dev, shape, dtype):
    if dtype == np.float64 and not dev.caps.fp64:
        pytest.skip("device lacks fp64")
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape) * 0.5 + 100.0  # a large mean next to the spread
    g = rng.standard_normal(shape)
    w, b = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    x, g, w, b = (v.astype(dtype) for v in (x, g, w, b))
    y, mean, var, invstd = primitives.batch_norm_forward(
        *(from_numpy(v, dev) for v in (x, w, b)), eps=1e-5, xp=xp
    )
    ref = _np_bn(*(v.astype(np.float64) for v in (x, w, b)), 1e-5)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for got, want in zip((y, mean, var, invstd), ref):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.to_numpy(), want, rtol=tol, atol=tol * np.abs(want).max())
    dx, dw, db = primitives.batch_norm_backward(
        from_numpy(g, dev), from_numpy(x, dev), from_numpy(w, dev), mean, invstd, xp=xp
    )
    x64, g64, w64 = (v.astype(np.float64) for v in (x, g, w))
    _, m64, _, s64 = ref
    axes = (0, *range(2, x.ndim))
    count = x.size // x.shape[1]
    xhat = (x64 - m64) * s64
    want_db = g64.sum(axis=axes)
    want_dw = (g64 * xhat).sum(axis=axes)
    keep = m64.shape
    want_dx = (w64.reshape(keep) * s64) * (
        g64 - want_db.reshape(keep) / count - xhat * want_dw.reshape(keep) / count
    )
    for got, want in ((dx, want_dx), (dw, want_dw), (db, want_db)):
        assert got.shape == want.shape
        scale = np.abs(want).max() + 1
        np.testing.assert_allclose(got.to_numpy(), want, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 4, 5), (7, 16, 9, 9), (3, 2, 1000)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_channel_sum_matches_numpy(dev, shape, keepdims):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    axes = (0, *range(2, len(shape)))
    got = primitives.sum(from_numpy(x, dev), axis=axes[::-1], keepdims=keepdims, xp=xp)
    want = x.astype(np.float64).sum(axis=axes, keepdims=keepdims)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-5, atol=1e-5 * np.sqrt(x.size))
    # other axes still reduce through the namespace
    np.testing.assert_allclose(
        primitives.sum(from_numpy(x, dev), axis=(1,), keepdims=False, xp=xp).to_numpy(),
        x.sum(axis=1),
        rtol=1e-5,
        atol=1e-5,
    )


def test_channel_sum_of_a_strided_view(dev):
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    view = xp.permute_dims(from_numpy(x.transpose(0, 1, 3, 2).copy(), dev), (0, 1, 3, 2))
    got = primitives.sum(view, axis=(0, 2, 3), keepdims=False, xp=xp)
    np.testing.assert_array_equal(got.to_numpy(), x.sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (128, 512), (4096, 10), (4097, 3)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_column_sum_matches_numpy(dev, shape, dtype):
    if dtype == np.float64 and not dev.caps.fp64:
        pytest.skip("device lacks fp64")
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    for keepdims in (False, True):
        got = primitives.sum(from_numpy(x, dev), axis=0, keepdims=keepdims, xp=xp)
        want = x.astype(np.float64).sum(axis=0, keepdims=keepdims)
        assert got.shape == want.shape and got.dtype == x.dtype
        # blocks of 64 rows: at most (64 + rows / 64 + 1) roundings on each partial sum
        u = np.finfo(dtype).eps / 2
        bound = (64 + shape[0] / 64 + 1) * u * np.abs(x).astype(np.float64).sum(axis=0)
        err = np.abs(got.to_numpy().astype(np.float64) - want).reshape(-1)
        assert (err <= bound).all(), (err.max(), bound.min())


def test_sum_over_axis_0_of_a_3d_array(dev):
    x = np.random.default_rng(3).standard_normal((5, 4, 33)).astype(np.float32)
    for keepdims in (False, True):
        got = primitives.sum(from_numpy(x, dev), axis=0, keepdims=keepdims, xp=xp)
        want = x.astype(np.float64).sum(axis=0, keepdims=keepdims)
        assert got.shape == want.shape
        np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("momentum, count", [(0.1, 50), (1 / 3, 2), (0.9, 1)])
def test_running_statistics_equal_the_namespace_ops_bit_for_bit(dev, dtype, momentum, count):
    if dtype == np.float64 and not dev.caps.fp64:
        pytest.skip("device lacks fp64")
    rng = np.random.default_rng(4)
    c = 37
    arrays = (
        rng.standard_normal(c).astype(dtype),
        rng.random(c).astype(dtype),
        rng.standard_normal((1, c, 1, 1)).astype(dtype),
        rng.random((1, c, 1, 1)).astype(dtype),
    )
    got = primitives.batch_norm_running(
        *(from_numpy(a, dev) for a in arrays), momentum=momentum, count=count, xp=xp
    )
    # The portable form on the same device: separate namespace ops, each rounded.
    want = primitives.batch_norm_running.portable(
        *(from_numpy(a, dev) for a in arrays), momentum=momentum, count=count, xp=xp
    )
    for g, w in zip(got, want, strict=True):
        assert g.shape == (c,)
        np.testing.assert_array_equal(g.to_numpy(), w.to_numpy())
