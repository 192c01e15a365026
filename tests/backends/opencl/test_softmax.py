"""OpenCL softmax, log_softmax and logsumexp against float64 numpy references.

Tolerances: with m the line max and s = sum(exp(x - m)) over n terms, each exp is within a few
ulp, and s carries at most n eps relative error (a running sum of positive terms). So softmax
values are within (n + 8) eps (relative to 1, as they are at most 1), and log_softmax /
logsumexp within (n + 8) eps + eps * max|x| (the rounding of x - m).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyopencl")

from axoncl.backends.opencl.array import CLArray, from_numpy  # noqa: E402
from axoncl.backends.opencl.softmax import log_softmax, logsumexp, softmax  # noqa: E402


def cl_view(dev, base: np.ndarray, view: np.ndarray) -> CLArray:
    """The CLArray with the same layout as the numpy ``view`` of the contiguous ``base``."""
    item = base.itemsize
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
    strides = tuple(s // item for s in view.strides)
    b = from_numpy(base, dev)
    return CLArray(dev, b.buffer, offset, view.shape, strides, base.dtype)


def ref_logsumexp(a, axis, keepdims=False):
    a = a.astype(np.float64)
    m = np.max(a, axis=axis, keepdims=True)
    with np.errstate(all="ignore"):
        out = m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def ref_log_softmax(a, axis):
    return a.astype(np.float64) - ref_logsumexp(a, axis, keepdims=True)


def tolerance(a, axis, dtype):
    eps = np.finfo(dtype).eps
    n = a.shape[axis]
    return (n + 8) * eps, (n + 8) * eps + eps * float(np.max(np.abs(a), initial=0.0))


SHAPES_AXES = [
    ((5,), 0),
    ((3, 37), -1),
    ((3, 37), 0),
    ((4, 100, 7), 1),
    ((4, 100, 7), 2),
    ((4, 100, 7), 0),
    ((2, 1), -1),
    ((1, 1), 0),
    ((2, 1000), 1),
    ((1000, 3), 0),
    ((0, 5), 1),
    ((5, 0), 0),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "axis"), SHAPES_AXES, ids=str)
def test_matches_numpy(dev, shape, axis, dtype):
    if dtype == np.float64 and not dev.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    a = (np.random.default_rng(0).standard_normal(shape) * 8).astype(dtype)
    x = from_numpy(a, dev)
    tol_p, tol_log = tolerance(a, axis, dtype)
    ref_ls = ref_log_softmax(a, axis)
    got = softmax(x, axis=axis).to_numpy()
    assert got.shape == a.shape and got.dtype == dtype
    np.testing.assert_allclose(got, np.exp(ref_ls), rtol=0, atol=tol_p)
    np.testing.assert_allclose(
        log_softmax(x, axis=axis).to_numpy(), ref_ls, rtol=tol_log, atol=tol_log
    )
    for keepdims in (False, True):
        got = logsumexp(x, axis=axis, keepdims=keepdims).to_numpy()
        ref = ref_logsumexp(a, axis, keepdims)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=tol_log, atol=tol_log)


def test_large_logits_do_not_overflow(dev):
    a = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]], dtype=np.float32)
    x = from_numpy(a, dev)
    got = softmax(x).to_numpy()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, np.exp(ref_log_softmax(a, -1)), atol=1e-6)
    np.testing.assert_allclose(logsumexp(x).to_numpy(), ref_logsumexp(a, -1), rtol=1e-6)


def test_infinite_and_nan_lines(dev):
    """Fully -inf lines: NaN for softmax/log_softmax, -inf for logsumexp (numpy/torch/scipy)."""
    inf, nan = np.inf, np.nan
    a = np.array(
        [[-inf, -inf, -inf], [0.0, -inf, 1.0], [inf, 1.0, 2.0], [nan, 1.0, 2.0]], dtype=np.float32
    )
    x = from_numpy(a, dev)
    sm = softmax(x).to_numpy()
    ls = log_softmax(x).to_numpy()
    lse = logsumexp(x).to_numpy()
    assert np.all(np.isnan(sm[0])) and np.all(np.isnan(ls[0])) and lse[0] == -inf
    np.testing.assert_allclose(sm[1], [1 / (1 + np.e), 0.0, np.e / (1 + np.e)], rtol=1e-6)
    assert ls[1, 1] == -inf
    assert np.all(np.isnan(sm[2])) and lse[2] == inf
    assert np.all(np.isnan(sm[3])) and np.all(np.isnan(ls[3])) and np.isnan(lse[3])


def test_non_contiguous_views(dev):
    base = np.random.default_rng(1).standard_normal((6, 9, 40)).astype(np.float32)
    for v in (base.transpose(2, 0, 1), base[::2, ::-1, 1::3], base.swapaxes(0, 2)[3:]):
        x = cl_view(dev, base, v)
        for axis in range(v.ndim):
            tol_p, tol_log = tolerance(v, axis, np.float32)
            np.testing.assert_allclose(
                softmax(x, axis=axis).to_numpy(), np.exp(ref_log_softmax(v, axis)), atol=tol_p
            )
            np.testing.assert_allclose(
                log_softmax(x, axis=axis).to_numpy(),
                ref_log_softmax(v, axis),
                atol=tol_log,
                rtol=tol_log,
            )
            np.testing.assert_allclose(
                logsumexp(x, axis=axis).to_numpy(),
                ref_logsumexp(v, axis),
                atol=tol_log,
                rtol=tol_log,
            )


def test_bad_arguments_raise(dev):
    with pytest.raises(TypeError, match="floating"):
        softmax(from_numpy(np.zeros(3, np.int32), dev))
    with pytest.raises(ValueError, match="out of bounds"):
        log_softmax(from_numpy(np.zeros((2, 3), np.float32), dev), axis=2)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 40), min_size=1, max_size=3),
    data=st.data(),
    seed=st.integers(0, 2**31),
)
def test_property_softmax_is_a_distribution(dev, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = (np.random.default_rng(seed).standard_normal(shape) * 20).astype(np.float32)
    x = from_numpy(a, dev)
    p = softmax(x, axis=axis).to_numpy()
    n = a.shape[axis]
    tol_p, tol_log = tolerance(a, axis, np.float32)
    assert np.all(p >= 0) and np.all(p <= 1 + tol_p)
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, atol=2 * n * tol_p)
    # log_softmax = x - logsumexp, and exp(log_softmax) = softmax.
    ls = log_softmax(x, axis=axis).to_numpy()
    lse = logsumexp(x, axis=axis, keepdims=True).to_numpy()
    np.testing.assert_allclose(ls, a - lse, atol=2 * tol_log, rtol=2 * tol_log)
    np.testing.assert_allclose(np.exp(ls), p, atol=2 * tol_p + 2 * tol_log)
