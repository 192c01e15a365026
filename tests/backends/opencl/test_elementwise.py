"""Elementwise functions of the OpenCL namespace against numpy.

Tolerances: float32 results may differ from numpy by the OpenCL 1.2 ULP limits of the built-in
math functions (at most 16 ulp for pow, 4 for sin/cos/exp, ...): rtol 1e-5 covers 16 ulp
(16 * 6e-8) with margin, atol 1e-6 absorbs results near zero. float64: rtol 1e-12.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyopencl")

from axoncl.backends.opencl import elementwise as ew  # noqa: E402

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _rand(shape, dtype, lo=-3.0, hi=3.0, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(lo, hi, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -100), min(info.max, 100), size=shape).astype(dtype)


def _check(got, want, dtype=np.float32):
    got = got.to_numpy()
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, equal_nan=True, **TOL[want.dtype.type])
    else:
        np.testing.assert_array_equal(got, want)


DOMAINS = {
    "acos": (-0.95, 0.95),
    "asin": (-0.95, 0.95),
    "atanh": (-0.95, 0.95),
    "acosh": (1.1, 5.0),
    "log": (0.1, 5.0),
    "log1p": (-0.5, 5.0),
    "log2": (0.1, 5.0),
    "log10": (0.1, 5.0),
    "sqrt": (0.0, 5.0),
    "reciprocal": (0.5, 3.0),
}
FLOAT_UNARY = [  # every unary function defined on floats with a float result
    name
    for name, (rule, _) in ew.UNARY.items()
    if rule not in (ew.PREDICATE, ew.INTEGRAL, ew.LOGICAL)
]
PREDICATES = [name for name, (rule, _) in ew.UNARY.items() if rule == ew.PREDICATE]
NP_NAME = {
    "acos": "arccos",
    "acosh": "arccosh",
    "asin": "arcsin",
    "asinh": "arcsinh",
    "atan": "arctan",
    "atanh": "arctanh",
    "atan2": "arctan2",
    "pow": "power",
    "bitwise_invert": "invert",
    "bitwise_left_shift": "left_shift",
    "bitwise_right_shift": "right_shift",
    "concat": "concatenate",
}


def _np(name):
    return getattr(np, NP_NAME.get(name, name))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FLOAT_UNARY)
def test_float_unary_matches_numpy(xp, name, dtype):
    lo, hi = DOMAINS.get(name, (-3.0, 3.0))
    host = _rand((37, 5), dtype, lo, hi)
    x = xp.asarray(host)
    _check(getattr(xp, name)(x), _np(name)(host))
    # Non-contiguous: transposed and stepped views take the strided kernel.
    _check(getattr(xp, name)(x.T[::2]), _np(name)(host.T[::2]))


@pytest.mark.parametrize("name", PREDICATES)
def test_predicates_on_special_values(xp, name):
    host = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan] * 3, dtype=np.float32)
    _check(getattr(xp, name)(xp.asarray(host)), getattr(np, name)(host))
    ints = np.array([-3, 0, 5], dtype=np.int32)
    _check(getattr(xp, name)(xp.asarray(ints)), getattr(np, name)(ints))


def test_round_is_half_to_even(xp):
    host = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999], dtype=np.float32)
    _check(xp.round(xp.asarray(host)), np.round(host))


FLOAT_BINARY = [  # every binary function defined on floats
    name for name, (rule, _) in ew.BINARY.items() if rule not in (ew.INTEGRAL, ew.SHIFT, ew.LOGICAL)
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FLOAT_BINARY)
def test_float_binary_matches_numpy(xp, name, dtype):
    a = _rand((9, 17), dtype, seed=1)
    b = _rand((9, 17), dtype, seed=2)
    if name == "pow":
        a = np.abs(a) + 0.1
    if name in ("floor_divide", "remainder"):
        b = np.where(np.abs(b) < 0.2, 0.7, b).astype(dtype)
    f = getattr(xp, name)
    _check(f(xp.asarray(a), xp.asarray(b)), _np(name)(a, b))
    # Broadcasting (a row against a matrix) and non-contiguous operands.
    _check(f(xp.asarray(a), xp.asarray(b[:1])), _np(name)(a, b[:1]))
    _check(f(xp.asarray(a).T, xp.asarray(b)[::-1].T), _np(name)(a.T, b[::-1].T))
    # Python scalars on either side are weak: the array's dtype wins.
    scalar = 1.5
    _check(f(xp.asarray(a), scalar), _np(name)(a, dtype(scalar)))
    _check(f(scalar, xp.asarray(a)[:, ::3]), _np(name)(dtype(scalar), a[:, ::3]))


def test_float_special_values(xp):
    a = np.array([np.nan, 1.0, -np.inf, np.inf, 0.0, -0.0, 5.0], dtype=np.float32)
    b = np.array([1.0, np.nan, -np.inf, 2.0, -0.0, 3.0, -2.0], dtype=np.float32)
    for name in ("maximum", "minimum", "logaddexp", "remainder", "copysign"):
        _check(getattr(xp, name)(xp.asarray(a), xp.asarray(b)), _np(name)(a, b))
    # floor_divide follows numpy except with one infinite operand, where the standard asks for
    # the true quotient (inf // 2 == inf, 5 // -inf == -0) and numpy gives NaN or -1.
    with np.errstate(all="ignore"):
        one_inf = (np.isinf(a) != np.isinf(b)) & ~np.isnan(a) & ~np.isnan(b)
        want = np.where(one_inf, a / b, np.floor_divide(a, b))
    got = xp.floor_divide(xp.asarray(a), xp.asarray(b)).to_numpy()
    np.testing.assert_array_equal(got, want)
    signed = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(want[signed]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_tanh_and_tiny_log1p_are_exact(xp, dev, dtype):
    """Found by the extreme-value fuzz: PoCL's float tanh stopped one ulp short of ±1 (also
    at ±inf), and its log1p flushed denormals to 0 and dropped their sign; -inf followed from
    a later log. Both now match numpy bit for bit."""
    if dtype == np.float64 and not dev.caps.fp64:
        pytest.skip("the device has no fp64")
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([20.0, 88.0, np.inf, -np.inf, -30.0, -0.0, np.nan], dtype=dtype)
    np.testing.assert_array_equal(xp.tanh(xp.asarray(x)).to_numpy(), np.tanh(x))
    near = np.array([0.5, 8.5, 9.0, -9.05, 9.5, 19.0], dtype=dtype)
    np.testing.assert_array_max_ulp(xp.tanh(xp.asarray(near)).to_numpy(), np.tanh(near), 2)
    y = np.array([tiny, -tiny, 37 * tiny, 1e-30, 1e-9, -0.0, 0.0, 1e-3, -0.5], dtype=dtype)
    got = xp.log1p(xp.asarray(y)).to_numpy()
    np.testing.assert_array_equal(got, np.log1p(y))
    np.testing.assert_array_equal(np.signbit(got), np.signbit(np.log1p(y)))


INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
# Every binary function defined on integers but the shifts and pow (their operands need their
# own ranges: tested below) and the float-only ones.
INT_BINARY = [
    name
    for name, (rule, _) in ew.BINARY.items()
    if rule in (ew.NUMERIC, ew.ANY, ew.INTEGRAL, ew.ORDER, ew.EQUALITY) and name != "pow"
]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_binary_matches_numpy(xp, dtype):
    a = _rand((50,), dtype, seed=3)
    b = _rand((50,), dtype, seed=4)
    b[b == 0] = 3
    if np.dtype(dtype).kind == "i":
        b[:5] = [-1, -3, 7, -7, 2]
    with np.errstate(all="ignore"):
        for name in INT_BINARY:
            _check(getattr(xp, name)(xp.asarray(a), xp.asarray(b)), _np(name)(a, b))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_integer_unary_shift_pow(xp, dtype):
    a = _rand((40,), dtype, seed=5)
    x = xp.asarray(a)
    with np.errstate(all="ignore"):
        for name in ("abs", "negative", "sign", "square", "bitwise_invert", "positive"):
            if name in ("abs", "negative", "sign") and np.dtype(dtype).kind == "u":
                continue
            _check(getattr(xp, name)(x), _np(name)(a))
        shifts = (np.arange(40) % 5).astype(dtype)
        for name in ("bitwise_left_shift", "bitwise_right_shift"):
            _check(getattr(xp, name)(x, xp.asarray(shifts)), _np(name)(a, shifts))
        exps = (np.arange(40) % 4).astype(dtype)
        _check(xp.pow(x, xp.asarray(exps)), np.power(a, exps))


def test_integer_division_by_zero_gives_zero(xp):
    a = np.array([7, -7, 0], dtype=np.int32)
    z = xp.zeros(3, dtype=xp.int32)
    assert xp.floor_divide(xp.asarray(a), z).to_numpy().tolist() == [0, 0, 0]
    assert xp.remainder(xp.asarray(a), z).to_numpy().tolist() == [0, 0, 0]


def test_divide_of_integers_gives_default_float(xp):
    out = xp.divide(xp.asarray([1, 2, 3]), xp.asarray([2, 2, 2]))
    assert out.dtype == xp.float32
    np.testing.assert_allclose(out.to_numpy(), [0.5, 1.0, 1.5])


def test_logical_and_bool_ops(xp):
    a = _rand((33,), bool, seed=6)
    b = _rand((33,), bool, seed=7)
    for name in (
        "logical_and",
        "logical_or",
        "logical_xor",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "equal",
        "not_equal",
    ):
        _check(getattr(xp, name)(xp.asarray(a), xp.asarray(b)), _np(name)(a, b))
    _check(xp.logical_not(xp.asarray(a)), np.logical_not(a))
    _check(~xp.asarray(a), ~a)


def test_mixed_dtype_promotion(xp):
    a = xp.asarray(np.arange(5, dtype=np.int8))
    b = xp.asarray(np.arange(5, dtype=np.uint8))
    assert (a + b).dtype == xp.int16
    f = xp.asarray(np.arange(5, dtype=np.float32))
    d = xp.asarray(np.arange(5, dtype=np.float64))
    assert (f * d).dtype == xp.float64
    assert (a * 2).dtype == xp.int8
    assert (f + 1).dtype == xp.float32
    assert (a + 1.5).dtype == xp.float32
    with pytest.raises(TypeError, match="uint64"):
        xp.asarray(np.arange(3, dtype=np.uint64)) + xp.asarray(np.arange(3, dtype=np.int64))
    with pytest.raises(OverflowError):
        xp.asarray(np.arange(3, dtype=np.uint8)) + 300


def test_where_and_clip(xp):
    c = _rand((4, 6), bool, seed=8)
    a = _rand((4, 6), np.float32, seed=9)
    b = _rand((6,), np.float32, seed=10)
    _check(xp.where(xp.asarray(c), xp.asarray(a), xp.asarray(b)), np.where(c, a, b))
    _check(xp.where(xp.asarray(c), xp.asarray(a), 0.0), np.where(c, a, np.float32(0)))
    _check(xp.clip(xp.asarray(a), -1.0, 0.5), np.clip(a, -1.0, 0.5))
    _check(xp.clip(xp.asarray(a), max=xp.asarray(b)), np.minimum(a, b))


def test_operators_and_reflected_and_inplace(xp):
    a = _rand((5, 3), np.float32, seed=11)
    b = _rand((5, 3), np.float32, seed=12) + 4
    x, y = xp.asarray(a), xp.asarray(b)
    _check(x + y, a + b)
    _check(2 - x, 2 - a)
    _check(x / y, a / b)
    _check(3 / y, np.float32(3) / b)
    _check(-x, -a)
    _check(abs(x), np.abs(a))
    _check(x**2, a**2)
    _check(2**x, np.float32(2) ** a)
    _check(x // y, a // b)
    _check(x % y, a % b)
    _check(x < y, a < b)
    _check(x == 0.5, a == np.float32(0.5))
    i = xp.asarray(np.arange(6, dtype=np.int32))
    _check(i & 3, np.arange(6, dtype=np.int32) & 3)
    _check(1 << i, np.left_shift(1, np.arange(6, dtype=np.int32)))
    z = xp.asarray(a.copy())
    z += y
    z *= 2
    z -= 1
    np.testing.assert_allclose(z.to_numpy(), (a + b) * 2 - 1, rtol=1e-6)
    with pytest.raises(TypeError, match="in-place"):
        i += 1.5
    # In-place with an overlapping view of itself reads the old values.
    w = xp.asarray(np.arange(9, dtype=np.float32).reshape(3, 3))
    w += w.T
    host = np.arange(9, dtype=np.float32).reshape(3, 3)
    np.testing.assert_array_equal(w.to_numpy(), host + host.T)


def test_size_zero_and_size_one(xp):
    e = xp.asarray(np.zeros((0, 3), np.float32))
    assert (e + 1).shape == (0, 3)
    assert xp.exp(e).shape == (0, 3)
    o = xp.asarray(np.ones((1, 1), np.float32))
    _check(
        o + xp.asarray(np.arange(4, dtype=np.float32).reshape(4, 1)),
        np.ones((1, 1), np.float32) + np.arange(4, dtype=np.float32).reshape(4, 1),
    )


def test_mixing_with_numpy_is_a_clear_error(xp):
    x = xp.asarray([1.0, 2.0])
    with pytest.raises(TypeError, match="numpy"):
        xp.add(x, np.ones(2, np.float32))
    with pytest.raises(TypeError, match="numpy"):
        x + np.ones(2, np.float32)
    with pytest.raises(TypeError, match="numpy"):
        np.ones(2, np.float32) + x


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_float64_refused_without_fp64(xp, dtype):
    from axoncl.backends.opencl.device import set_fp64_disabled

    dev = xp.default_device()
    set_fp64_disabled(dev, True)
    try:
        with pytest.raises(TypeError, match=f"{dtype} needs cl_khr_fp64"):
            xp.zeros(3, dtype=getattr(xp, dtype))
    finally:
        set_fp64_disabled(dev, False)


def test_large_array_uses_vector_path(xp):
    n = 100_003  # odd: full 16-wide blocks plus a scalar tail
    a = _rand((n,), np.float32, seed=13)
    b = _rand((n,), np.float32, seed=14)
    _check(xp.asarray(a) * xp.asarray(b), a * b)
    _check(xp.exp(xp.asarray(a)), np.exp(a))


_OPS = ["add", "multiply", "maximum", "subtract", "greater"]


@st.composite
def _broadcast_case(draw):
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    other = tuple(1 if draw(st.booleans()) else n for n in shape)
    cut = draw(st.integers(0, ndim))
    return shape, other[cut:]


@settings(max_examples=25, deadline=None)
@given(
    case=_broadcast_case(),
    name=st.sampled_from(_OPS),
    flip=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_property_broadcasting_binary(xp, case, name, flip, seed):
    shape_a, shape_b = case
    a = _rand(shape_a, np.float32, seed=seed)
    b = _rand(shape_b, np.float32, seed=seed + 1)
    x, y = xp.asarray(a), xp.asarray(b)
    if flip and a.ndim:
        x, a = xp.flip(x, axis=0), np.flip(a, axis=0)
    _check(getattr(xp, name)(x, y), _np(name)(a, b))
    _check(getattr(xp, name)(y, x), _np(name)(b, a))


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    name=st.sampled_from(["exp", "negative", "abs", "floor", "tanh"]),
    seed=st.integers(0, 1000),
)
def test_property_unary_on_permuted_views(xp, shape, name, seed):
    a = _rand(tuple(shape), np.float32, seed=seed)
    perm = np.random.default_rng(seed).permutation(len(shape))
    x = xp.permute_dims(xp.asarray(a), tuple(int(p) for p in perm))
    _check(getattr(xp, name)(x), _np(name)(np.transpose(a, perm)))


def test_sign_of_zeros_and_nan(xp):
    got = xp.sign(xp.asarray([-0.0, 0.0, -3.0, 2.0, np.nan], dtype=xp.float32)).to_numpy()
    np.testing.assert_array_equal(got, [0.0, 0.0, -1.0, 1.0, np.nan])
    assert not np.signbit(got[:2]).any()


def test_clip_broadcasts_bounds_and_saturates_integer_bounds(xp):
    a = _rand((4,), np.float32, seed=12)
    lo = _rand((3, 1), np.float32, seed=13)
    _check(xp.clip(xp.asarray(a), xp.asarray(lo)), np.clip(a, lo, None))
    ints = np.array([-5, 0, 100], np.int8)
    got = xp.clip(xp.asarray(ints), -1000, 1000).to_numpy()
    np.testing.assert_array_equal(got, ints)


def test_real_imag_conj_of_real_arrays(xp):
    a = _rand((2, 3), np.float32, seed=14)
    x = xp.asarray(a)
    _check(xp.real(x), a)
    _check(xp.conj(x), a)
    _check(xp.imag(x), np.zeros_like(a))
    assert xp.real(x) is not x and xp.imag(xp.asarray([1, 2])).dtype == xp.int64
