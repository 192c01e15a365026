"""OpenCL reductions, arg-reductions, cumulative_sum and nonzero against numpy.

Float tolerances come from the summation scheme in ``kernels/reduction.cl``: each float32
lane sums blocks of 64 elements, adds ``n / 1024`` block sums, then at most 16 lanes (a tree)
and at most 256 chunk partials, so a sum of ``n`` terms is off by at most
``k(n) * eps * sum(|x|)`` with ``k(n) = 64 + n / 1024 + 16 + 256`` (the standard bound
``|error| <= k u sum|x_i|`` for a summation tree of depth ``k``). Mean divides that by ``n``;
var/std are checked with the same ``k`` on the squared deviations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyopencl")

from axoncl.backends.opencl import reduction as R  # noqa: E402
from axoncl.backends.opencl import scan as S  # noqa: E402
from axoncl.backends.opencl.array import CLArray, from_numpy  # noqa: E402


def cl_view(dev, base: np.ndarray, view: np.ndarray) -> CLArray:
    """The CLArray with the same layout as the numpy ``view`` of the contiguous ``base``."""
    item = base.itemsize
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
    strides = tuple(s // item for s in view.strides)
    b = from_numpy(base, dev)
    return CLArray(dev, b.buffer, offset, view.shape, strides, base.dtype)


def k_terms(n: int) -> float:
    return 64 + n / 1024 + 16 + 256


def assert_sum_close(got, ref, absx_sum, n, dtype, what=""):
    eps = np.finfo(dtype).eps
    tol = k_terms(n) * eps * np.asarray(absx_sum, dtype=np.float64) + np.finfo(dtype).tiny
    err = np.abs(np.asarray(got, np.float64) - np.asarray(ref, np.float64))
    bad = ~(err <= tol)
    if np.any(bad & ~(np.isnan(got) & np.isnan(ref))):
        idx = np.argwhere(bad)[:5]
        raise AssertionError(
            f"{what}: mismatch at {idx.tolist()}: got {np.asarray(got)[bad][:5]}, "
            f"expected {np.asarray(ref)[bad][:5]}, "
            f"tolerance {np.broadcast_to(tol, err.shape)[bad][:5]}"
        )


SHAPES_AXES = [
    ((7,), None),
    ((7,), 0),
    ((1,), 0),
    ((3, 5), 0),
    ((3, 5), 1),
    ((3, 5), -1),
    ((3, 5), (0, 1)),
    ((4, 1, 6), 1),
    ((4, 1, 6), (0, 2)),
    ((2, 3, 4, 5), (1, 3)),
    ((2, 3, 4, 5), (0, 2, 3)),
    ((2, 3, 4, 5), ()),
    ((33, 129), 1),
    ((129, 33), 0),
    ((5, 20000), 1),
    ((20000, 3), 0),
    ((50001,), None),
]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize(("shape", "axis"), SHAPES_AXES, ids=str)
@pytest.mark.parametrize("op", ["sum", "prod", "max", "min", "mean", "var", "std"])
def test_float32_matches_numpy(dev, op, shape, axis, keepdims):
    rng = np.random.default_rng(abs(hash((op, shape, str(axis)))) % 2**32)
    a = rng.standard_normal(shape).astype(np.float32)
    if op == "prod":
        a = (1 + 0.01 * a).astype(np.float32)  # keep products of many terms finite
    got = getattr(R, op)(from_numpy(a, dev), axis=axis, keepdims=keepdims).to_numpy()
    ref = getattr(np, op)(a.astype(np.float64), axis=axis, keepdims=keepdims)
    assert got.shape == ref.shape
    assert got.dtype == np.float32
    n = a.size // max(ref.size, 1)
    if op in ("max", "min"):
        np.testing.assert_array_equal(got, ref)
    elif op == "sum":
        assert_sum_close(
            got, ref, np.sum(np.abs(a), axis=axis, keepdims=keepdims), n, np.float32, op
        )
    elif op == "mean":
        assert_sum_close(
            got, ref, np.mean(np.abs(a), axis=axis, keepdims=keepdims), n, np.float32, op
        )
    elif op == "prod":
        # Products: relative error at most (k + 1) eps per term in the worst case.
        np.testing.assert_allclose(got, ref, rtol=(n + 2) * np.finfo(np.float32).eps)
    else:
        scale = np.mean(a.astype(np.float64) ** 2, axis=axis, keepdims=keepdims) + 1e-30
        ref_var = np.var(a.astype(np.float64), axis=axis, keepdims=keepdims)
        got_var = got.astype(np.float64) ** 2 if op == "std" else got
        assert_sum_close(got_var, ref_var, 4 * scale, n, np.float32, op)


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min", "mean", "var", "std"])
def test_float64_matches_numpy(dev, op):
    if not dev.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 7, 9))
    for axis in (None, 0, 1, 2, (0, 2)):
        got = getattr(R, op)(from_numpy(a, dev), axis=axis).to_numpy()
        ref = getattr(np, op)(a, axis=axis)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13, err_msg=f"axis={axis}")


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.bool_, np.int64),
        (np.int8, np.int64),
        (np.int32, np.int64),
        (np.int64, np.int64),
        (np.uint8, np.uint64),
        (np.uint32, np.uint64),
        (np.float32, np.float32),
    ],
)
def test_sum_and_prod_default_dtypes(dev, dtype, expected):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, (5, 41)).astype(dtype)
    x = from_numpy(a, dev)
    for axis in (None, 0, 1):
        got = R.sum(x, axis=axis).to_numpy()
        assert got.dtype == expected
        np.testing.assert_array_equal(got, np.sum(a, axis=axis, dtype=expected))
        got = R.prod(x, axis=0).to_numpy()
        assert got.dtype == expected
        np.testing.assert_array_equal(got, np.prod(a, axis=0, dtype=expected))


def test_sum_with_dtype_accumulates_in_it(dev):
    a = np.full(1000, 2**24, dtype=np.int32)
    got = R.sum(from_numpy(a, dev), dtype=np.int64).to_numpy()
    assert got.dtype == np.int64 and int(got) == 1000 * 2**24
    got = R.sum(from_numpy(a, dev), dtype=np.int32).to_numpy()
    assert got.dtype == np.int32 and got == np.sum(a, dtype=np.int32)
    if dev.caps.fp64:
        b = np.linspace(0, 1, 1001, dtype=np.float32)
        got = R.sum(from_numpy(b, dev), dtype=np.float64).to_numpy()
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, b.astype(np.float64).sum(), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int32, np.int64, np.uint64, np.bool_])
@pytest.mark.parametrize("op", ["max", "min"])
def test_integer_max_min(dev, op, dtype):
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype) if dtype is not np.bool_ else None
    if info is None:
        a = rng.integers(0, 2, (9, 70)).astype(dtype)
    else:
        a = rng.integers(info.min, info.max, (9, 70), dtype=dtype, endpoint=True)
    x = from_numpy(a, dev)
    for axis in (None, 0, 1):
        got = getattr(R, op)(x, axis=axis).to_numpy()
        assert got.dtype == a.dtype
        np.testing.assert_array_equal(got, getattr(np, op)(a, axis=axis))


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_propagate_nan(dev, op):
    a = np.arange(60, dtype=np.float32).reshape(3, 20)
    a[1, 7] = np.nan
    a[2, 19] = np.nan
    x = from_numpy(a, dev)
    for axis in (None, 0, 1):
        got = getattr(R, op)(x, axis=axis).to_numpy()
        np.testing.assert_array_equal(got, getattr(np, op)(a, axis=axis))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_empty_reductions_follow_numpy(dev):
    a = np.zeros((0, 3), dtype=np.float32)
    x = from_numpy(a, dev)
    np.testing.assert_array_equal(R.sum(x, axis=0).to_numpy(), np.zeros(3, np.float32))
    np.testing.assert_array_equal(R.prod(x, axis=0).to_numpy(), np.ones(3, np.float32))
    assert R.sum(x).to_numpy() == 0
    assert R.sum(x, axis=1).shape == (0,)
    assert R.max(x, axis=1).shape == (0,)
    assert np.all(np.isnan(R.mean(x, axis=0).to_numpy()))
    assert np.all(np.isnan(R.var(x, axis=0).to_numpy()))
    assert not R.any(x).to_numpy() and R.all(x).to_numpy()
    for op in ("max", "min"):
        with pytest.raises(ValueError, match=op):
            getattr(R, op)(x, axis=0)
        with pytest.raises(ValueError, match=op):
            getattr(R, op)(x)


def test_var_correction_and_degenerate_dof(dev):
    a = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]], dtype=np.float32)
    x = from_numpy(a, dev)
    np.testing.assert_allclose(
        R.var(x, axis=1, correction=1).to_numpy(), np.var(a, axis=1, ddof=1), rtol=1e-6
    )
    np.testing.assert_allclose(
        R.std(x, axis=1, correction=1.5).to_numpy(), np.std(a, axis=1, ddof=1.5), rtol=1e-6
    )
    one = from_numpy(np.array([5.0], dtype=np.float32), dev)
    assert np.isnan(R.var(one, correction=1).to_numpy())


@pytest.mark.parametrize("op", ["all", "any"])
def test_all_any(dev, op):
    rng = np.random.default_rng(4)
    a = (rng.random((6, 300)) < 0.995).astype(np.float32)
    a[0] = 1.0
    a[1] = 0.0
    a[2, 5] = np.nan  # NaN is truthy
    x = from_numpy(a, dev)
    for axis in (None, 0, 1, (0, 1)):
        got = getattr(R, op)(x, axis=axis, keepdims=True).to_numpy()
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, getattr(np, op)(a, axis=axis, keepdims=True))


def test_count_nonzero(dev):
    a = np.random.default_rng(5).integers(0, 3, (4, 5, 6)).astype(np.int16)
    for axis in (None, 1, (0, 2)):
        got = R.count_nonzero(from_numpy(a, dev), axis=axis).to_numpy()
        np.testing.assert_array_equal(got, np.count_nonzero(a, axis=axis))


def test_float32_sum_of_16m_elements_stays_accurate(dev):
    """A naive float32 running sum of 2**24 values in [0, 1) is off by ~1e-2 relative."""
    n = 1 << 24
    a = np.random.default_rng(6).random(n, dtype=np.float32)
    got = float(R.sum(from_numpy(a, dev)).to_numpy())
    ref = math.fsum(a.astype(np.float64))
    # Every term is positive, so sum|x| = ref and the bound is k(n) eps relative.
    tol = k_terms(n) * np.finfo(np.float32).eps
    assert abs(got - ref) <= tol * ref, (got, ref, tol)
    # What the blocking actually achieves: far inside the bound.
    assert abs(got - ref) <= 1e-5 * ref, (got, ref)


def test_non_contiguous_views(dev):
    rng = np.random.default_rng(7)
    base = rng.standard_normal((6, 10, 12)).astype(np.float32)
    views = {
        "transposed": base.transpose(2, 0, 1),
        "stepped": base[::2, 1::3, ::-2],
        "swapped": base.swapaxes(0, 1)[:, 1:5],
        "reversed": base[::-1],
    }
    for name, v in views.items():
        x = cl_view(dev, base, v)
        for axis in (None, 0, 1, 2, (0, 2), (1, 2), (0, 1)):
            for op in ("sum", "max", "mean"):
                got = getattr(R, op)(x, axis=axis).to_numpy()
                ref = getattr(np, op)(v.astype(np.float64), axis=axis)
                np.testing.assert_allclose(
                    got, ref, rtol=1e-5, atol=1e-5, err_msg=f"{name} {op} axis={axis}"
                )
            for op in ("argmax", "argmin"):
                if isinstance(axis, tuple):
                    continue
                got = getattr(R, op)(x, axis=axis).to_numpy()
                np.testing.assert_array_equal(
                    got, getattr(np, op)(v, axis=axis), err_msg=f"{name} {op} axis={axis}"
                )


def test_bad_axes_raise(dev):
    x = from_numpy(np.zeros((2, 3), np.float32), dev)
    with pytest.raises(ValueError, match="out of bounds"):
        R.sum(x, axis=2)
    with pytest.raises(ValueError, match="repeated"):
        R.sum(x, axis=(0, -2))
    with pytest.raises(TypeError, match="floating"):
        R.mean(from_numpy(np.zeros(3, np.int32), dev))
    with pytest.raises(TypeError, match="int or None"):
        R.argmax(x, axis=(0, 1))


# ---- argmax / argmin ----------------------------------------------------------------------


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize(
    ("shape", "axis"),
    [
        ((17,), None),
        ((4, 9), 0),
        ((4, 9), 1),
        ((3, 4, 5), 1),
        ((2, 40000), 1),
        ((40000, 2), 0),
        ((123457,), None),
        ((3, 1, 2), None),
    ],
    ids=str,
)
def test_argmax_argmin_first_occurrence(dev, op, shape, axis):
    rng = np.random.default_rng(8)
    a = rng.integers(0, 6, shape).astype(np.float32)  # many ties
    x = from_numpy(a, dev)
    for keepdims in (False, True):
        got = getattr(R, op)(x, axis=axis, keepdims=keepdims).to_numpy()
        ref = getattr(np, op)(a, axis=axis, keepdims=keepdims)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_nan_and_ints(dev, op):
    a = np.array([[1.0, np.nan, 5.0, np.nan], [2.0, 2.0, -1.0, 9.0]], dtype=np.float32)
    for axis in (None, 0, 1):
        np.testing.assert_array_equal(
            getattr(R, op)(from_numpy(a, dev), axis=axis).to_numpy(), getattr(np, op)(a, axis=axis)
        )
    b = np.random.default_rng(9).integers(-100, 100, (50, 7)).astype(np.int16)
    np.testing.assert_array_equal(
        getattr(R, op)(from_numpy(b, dev), axis=0).to_numpy(), getattr(np, op)(b, axis=0)
    )
    with pytest.raises(ValueError, match=op):
        getattr(R, op)(from_numpy(np.zeros((0, 3), np.float32), dev), axis=0)


# ---- cumulative_sum -----------------------------------------------------------------------


@pytest.mark.parametrize("include_initial", [False, True])
@pytest.mark.parametrize(
    ("shape", "axis"),
    [
        ((7,), None),
        ((4, 9), 0),
        ((4, 9), 1),
        ((3, 4, 5), 1),
        ((2, 100000), 1),
        ((100000, 3), 0),
        ((0, 3), 0),
        ((3, 0), 1),
    ],
    ids=str,
)
def test_cumulative_sum(dev, shape, axis, include_initial):
    rng = np.random.default_rng(10)
    a = rng.integers(-5, 6, shape).astype(np.int32)
    got = S.cumulative_sum(
        from_numpy(a, dev), axis=axis, include_initial=include_initial
    ).to_numpy()
    ax = 0 if axis is None else axis
    ref = np.cumsum(a, axis=ax, dtype=np.int64)
    if include_initial:
        ref = np.concatenate(
            [
                np.zeros_like(np.take(ref, [0], axis=ax))
                if ref.shape[ax]
                else np.zeros(tuple(1 if k == ax else n for k, n in enumerate(shape)), np.int64),
                ref,
            ],
            axis=ax,
        )
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref)


def test_cumulative_sum_float_and_views(dev):
    rng = np.random.default_rng(11)
    base = rng.random((8, 3000), dtype=np.float32)
    v = base[1::2, ::-3]
    x = cl_view(dev, base, v)
    got = S.cumulative_sum(x, axis=1).to_numpy()
    ref = np.cumsum(v.astype(np.float64), axis=1)
    # A running sum: the error of prefix m is at most m eps sum|x| (all positive here).
    tol = np.arange(1, v.shape[1] + 1) * np.finfo(np.float32).eps * ref
    assert np.all(np.abs(got - ref) <= tol + 1e-6)
    got = S.cumulative_sum(x, axis=0, dtype=np.float32).to_numpy()
    np.testing.assert_allclose(got, np.cumsum(v, axis=0), rtol=1e-6)
    with pytest.raises(ValueError, match="axis"):
        S.cumulative_sum(from_numpy(base, dev))


# ---- nonzero ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1,), (13,), (4, 7), (3, 1, 5), (200001,), (0, 4)], ids=str)
def test_nonzero(dev, shape):
    a = (np.random.default_rng(12).random(shape) < 0.3).astype(np.float32)
    got = S.nonzero(from_numpy(a, dev))
    ref = np.nonzero(a)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert g.dtype == np.int64
        np.testing.assert_array_equal(g.to_numpy(), r)


def test_nonzero_of_view_and_all_zero(dev):
    base = np.arange(24, dtype=np.int32).reshape(4, 6) % 5
    v = base.T[::2]
    got = S.nonzero(cl_view(dev, base, v))
    for g, r in zip(got, np.nonzero(v)):
        np.testing.assert_array_equal(g.to_numpy(), r)
    zeros = S.nonzero(from_numpy(np.zeros((3, 3), np.int8), dev))
    assert [z.shape for z in zeros] == [(0,), (0,)]
    one = from_numpy(np.ones(1, np.float32), dev)
    scalar = CLArray(dev, one.buffer, 0, (), (), one.dtype)
    with pytest.raises(ValueError, match="0-d"):
        S.nonzero(scalar)


# ---- properties ---------------------------------------------------------------------------


@st.composite
def strided_cases(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(0, 6)) for _ in range(ndim))
    base_shape = tuple(2 * n + 1 for n in shape)
    steps = tuple(draw(st.sampled_from([1, 2, -1, -2])) for _ in range(ndim))
    perm = draw(st.permutations(range(ndim)))
    axes = draw(
        st.one_of(
            st.none(), st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).map(tuple)
        )
    )
    keepdims = draw(st.booleans())
    op = draw(st.sampled_from(["sum", "max", "min", "mean", "prod", "any", "all"]))
    seed = draw(st.integers(0, 2**31))
    return base_shape, shape, steps, perm, axes, keepdims, op, seed


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's "Mean of empty slice"
@settings(max_examples=25, deadline=None)
@given(strided_cases())
def test_property_strided_reductions_match_numpy(dev, case):
    base_shape, shape, steps, perm, axes, keepdims, op, seed = case
    rng = np.random.default_rng(seed)
    low = -1 if op == "prod" else -3  # products of up to 6**4 terms must stay finite
    base = rng.integers(low, -low + 1, base_shape).astype(np.float32)
    index = tuple(
        slice(0, n * s, s) if s > 0 else slice(2 * n, 2 * n - n * -s, s)
        for n, s in zip(shape, steps)
    )
    v = base[index].transpose(perm)
    assert v.shape == tuple(shape[p] for p in perm)
    x = cl_view(dev, base, v)
    reduced = tuple(range(v.ndim)) if axes is None else axes
    n_red = math.prod(v.shape[a] for a in reduced)
    n_out = math.prod(n for a, n in enumerate(v.shape) if a not in reduced)
    if op in ("max", "min") and n_red == 0 and n_out > 0:
        with pytest.raises(ValueError, match=op):
            getattr(R, op)(x, axis=axes, keepdims=keepdims)
        return
    # An empty max/min with an empty result is fine; numpy needs an initial value to say so.
    empty = {"initial": 0.0} if op in ("max", "min") and n_red == 0 else {}
    with np.errstate(all="ignore"):
        ref = getattr(np, op)(v, axis=axes, keepdims=keepdims, **empty)
    got = getattr(R, op)(x, axis=axes, keepdims=keepdims).to_numpy()
    assert got.shape == ref.shape
    # Small integers in float32: sums and products of at most 6**4 terms are exact.
    np.testing.assert_allclose(got, ref.astype(got.dtype), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("include_initial", [False, True])
@pytest.mark.parametrize(("shape", "axis"), [((7,), None), ((3, 5), 0), ((2, 50000), 1)], ids=str)
def test_cumulative_prod(dev, shape, axis, include_initial):
    # Factors near 1 keep the long products finite; a running product of m float32 factors is
    # off by at most about m eps relative.
    rng = np.random.default_rng(12)
    a = (1.0 + (rng.random(shape) - 0.5) * 1e-3).astype(np.float32)
    got = S.cumulative_prod(from_numpy(a, dev), axis=axis, include_initial=include_initial)
    ax = 0 if axis is None else axis
    ref = np.cumprod(a.astype(np.float64), axis=ax)
    if include_initial:
        ref = np.concatenate([np.ones_like(np.take(ref, [0], axis=ax)), ref], axis=ax)
    tol = (shape[ax] + 1) * np.finfo(np.float32).eps * np.abs(ref)
    assert np.all(np.abs(got.to_numpy() - ref) <= tol)
    ints = from_numpy(np.array([[1, 2, 3], [4, 5, 6]], np.int8), dev)
    np.testing.assert_array_equal(
        S.cumulative_prod(ints, axis=1).to_numpy(), [[1, 2, 6], [4, 20, 120]]
    )


def test_diff(dev):
    a = np.array([[1, 4, 9, 16], [0, -2, 5, 5]], np.int32)
    x = from_numpy(a, dev)
    for n in (0, 1, 2, 5):
        np.testing.assert_array_equal(S.diff(x, n=n).to_numpy(), np.diff(a, n=n))
    np.testing.assert_array_equal(S.diff(x, axis=0).to_numpy(), np.diff(a, axis=0))
    edge = from_numpy(a[:, :1], dev)
    got = S.diff(x, prepend=edge, append=edge).to_numpy()
    np.testing.assert_array_equal(got, np.diff(a, prepend=a[:, :1], append=a[:, :1]))
