"""float16 and bfloat16 on OpenCL: casts, creation, elementwise, reductions, GEMM, convolution
and autocast training, against numpy's float16 and ml_dtypes' bfloat16.

Tolerances. A 16-bit result is float32 arithmetic on the widened operands, rounded once to the
16-bit dtype (numpy's float16 loops and ml_dtypes' bfloat16 loops compute the same way).
* Casts, data movement and the correctly rounded operations (+, -, *, /, sqrt, rounding,
  comparisons, min/max, copysign) are bit-exact (NaN compared as NaN).
* Other functions: the float32 result may differ from numpy's by the OpenCL ULP limits, so after
  rounding to 16 bits it may differ by one unit in the last place: rtol 2^-10 (float16) or 2^-7
  (bfloat16), atol at the dtype's smallest normal.
* GEMM: |C - C_exact| <= u |C_exact| + k 2^-23 (|A| |B|), u = 2^-11 (float16) or 2^-8
  (bfloat16): one rounding of C plus float32 accumulation over k terms.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyopencl")
ml_dtypes = pytest.importorskip("ml_dtypes")

import axoncl  # noqa: E402
from axoncl import Variable, nn  # noqa: E402
from axoncl.backends.opencl import elementwise as ew  # noqa: E402
from axoncl.backends.opencl.gemm import MatrixOperand, VectorOperand, gemm  # noqa: E402

BF16 = np.dtype(ml_dtypes.bfloat16)
F16 = np.dtype(np.float16)
LOW = [F16, BF16]
IDS = ["float16", "bfloat16"]
ULP = {F16: 2.0**-10, BF16: 2.0**-7}  # one unit in the last place, relative
ROUNDING = {F16: 2.0**-11, BF16: 2.0**-8}  # unit roundoff
TINY = {F16: 2.0**-14, BF16: 2.0**-126}

# Correctly rounded in float32, so bit-exact once rounded to 16 bits (float32 has more than
# twice the 16-bit precision plus two bits: the double rounding is innocuous).
EXACT_UNARY = {
    "abs", "ceil", "floor", "negative", "positive", "round", "sign", "sqrt", "square", "trunc",
    "isnan", "isinf", "isfinite", "signbit",
}  # fmt: skip
EXACT_BINARY = {
    "add", "subtract", "multiply", "divide", "maximum", "minimum", "copysign", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal",
}  # fmt: skip
DOMAIN = {  # (low, high) of the inputs where numpy's domain is narrower than (-3, 3)
    "acos": (-0.99, 0.99), "asin": (-0.99, 0.99), "atanh": (-0.99, 0.99), "acosh": (1.0, 4.0),
    "log": (0.01, 4.0), "log2": (0.01, 4.0), "log10": (0.01, 4.0), "log1p": (-0.9, 4.0),
    "sqrt": (0.0, 4.0), "pow": (0.1, 2.0), "reciprocal": (0.1, 3.0),
}  # fmt: skip


def _rand(shape, dtype, name="", seed=0):
    lo, hi = DOMAIN.get(name, (-3.0, 3.0))
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(dtype)


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
    if want.dtype in LOW:
        g, w = got.astype(np.float32), want.astype(np.float32)
        both_nan = np.isnan(g) & np.isnan(w)
        assert np.array_equal(got.view(np.uint16)[~both_nan], want.view(np.uint16)[~both_nan])
        assert np.array_equal(np.isnan(g), np.isnan(w))
    else:
        np.testing.assert_array_equal(got, want)


def _close(got: np.ndarray, want: np.ndarray, dtype) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
    np.testing.assert_allclose(
        got.astype(np.float32),
        want.astype(np.float32),
        rtol=ULP[dtype],
        atol=TINY[dtype],
        equal_nan=True,
    )


def _reference(fn, dtype, *inputs):
    """``fn`` on the float32 values of 16-bit inputs, rounded to ``dtype`` (bool kept)."""
    out = np.asarray(fn(*(np.asarray(a).astype(np.float32) for a in inputs)))
    return out if out.dtype == bool or out.dtype.kind in "iu" else out.astype(dtype)


# ---- dtypes and promotion -------------------------------------------------------------------
def test_dtypes_promotion_and_limits(xp):
    assert xp.float16 == F16 and xp.bfloat16 == BF16
    assert xp.result_type(xp.float16, xp.float32) == xp.float32
    assert xp.result_type(xp.bfloat16, xp.float16) == xp.float32  # neither holds the other
    assert xp.result_type(xp.bfloat16, xp.float64) == xp.float64
    assert xp.result_type(xp.float16, xp.int8) == xp.float16  # the float wins (as torch)
    assert xp.can_cast(xp.float16, xp.float32) and not xp.can_cast(xp.float32, xp.float16)
    assert not xp.can_cast(xp.float16, xp.bfloat16) and not xp.can_cast(xp.bfloat16, xp.float16)
    for dt in (xp.float16, xp.bfloat16):
        assert xp.isdtype(dt, "real floating") and xp.isdtype(dt, "numeric")
        assert not xp.isdtype(dt, "integral")
    assert xp.finfo(xp.float16).eps == 2.0**-10 and xp.finfo(xp.float16).max == 65504.0
    assert xp.finfo(xp.bfloat16).eps == 2.0**-7 and xp.finfo(xp.bfloat16).bits == 16
    a = xp.asarray(np.ones(3, F16))
    assert (a + 1.5).dtype == xp.float16 and (a * xp.asarray([2.0])).dtype == xp.float32


# ---- casts: bit-exact against numpy and ml_dtypes -------------------------------------------
@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_every_16_bit_pattern_widens_exactly_and_comes_back(xp, dtype):
    bits = np.arange(2**16, dtype=np.uint16)
    values = bits.view(dtype)
    wide = xp.astype(xp.asarray(values), xp.float32).to_numpy()
    _same_bits(wide.astype(np.float32), values.astype(np.float32))
    back = xp.astype(xp.asarray(values.astype(np.float32)), dtype).to_numpy()
    _same_bits(back, values)
    as_double = xp.astype(xp.asarray(values), xp.float64).to_numpy()
    np.testing.assert_array_equal(as_double, values.astype(np.float64))


def _ties_and_neighbours(dtype) -> np.ndarray:
    """float32 values around every midpoint between adjacent finite 16-bit values: the tie
    itself and one float32 ulp each side (round-to-nearest-even decides only there)."""
    bits = np.arange(2**16, dtype=np.uint16)
    v = bits.view(dtype).astype(np.float32)
    finite = np.isfinite(v) & (bits & 0x7FFF != 0x7FFF)
    lo = v[finite & (bits < 0x7FFF)]
    hi = bits.view(dtype)[1:][(finite & (bits < 0x7FFF))[:-1]].astype(np.float32)
    lo = lo[: len(hi)]
    keep = np.isfinite(hi)
    mid = ((lo[keep].astype(np.float64) + hi[keep]) / 2).astype(np.float32)
    return np.concatenate(
        [mid, np.nextafter(mid, np.float32(np.inf)), np.nextafter(mid, np.float32(-np.inf))]
    )


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_float32_to_16_bits_rounds_to_nearest_even_at_every_tie(xp, dtype):
    x = _ties_and_neighbours(dtype)
    x = np.concatenate([x, -x, np.float32([np.inf, -np.inf, np.nan, 0.0, -0.0, 7e4, 1e-30])])
    with np.errstate(over="ignore"):
        want = x.astype(dtype)
    _same_bits(xp.astype(xp.asarray(x), dtype).to_numpy(), want)


def _once(x: np.ndarray, dtype) -> np.ndarray:
    """``x`` (float64, or integers that float64 holds exactly) rounded once to ``dtype``, to
    nearest with ties to even. numpy's float16 cast does that; ml_dtypes' bfloat16 cast of a
    float64 rounds through float32 in some versions (one with numpy 2.5.2 did, 0.7.0 does not),
    which double-rounds values just off a tie, so bfloat16 is worked out here: the two
    neighbouring bfloat16 values t <= |x| < t + 1 (bit patterns in sign-magnitude order, inf
    taken as 2^128 so that overflow rounds as the next binade would) and their exact midpoint."""
    x = np.asarray(x, np.float64)
    if np.dtype(dtype) != BF16:
        with np.errstate(over="ignore"):
            return x.astype(dtype)
    a = np.abs(x)
    finite = np.isfinite(a)
    a_f = np.where(finite, a, 0.0)

    def value(bits):
        with np.errstate(invalid="ignore"):  # patterns past inf are NaN; replaced below
            v = (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        return np.where(bits >= 0x7F80, 2.0**128, v)

    with np.errstate(over="ignore"):
        t = (a_f.astype(np.float32).view(np.uint32) >> 16).astype(np.int64)
    t = np.minimum(t, 0x7F80)
    t = np.where(value(t) > a_f, t - 1, t)
    t = np.where(value(t + 1) <= a_f, t + 1, t)
    mid = (value(t) + value(t + 1)) / 2  # exact: 8 significant bits each
    up = (a_f > mid) | ((a_f == mid) & (t % 2 == 1))
    bits = np.minimum(t + up, 0x7F80).astype(np.uint16)
    bits |= np.where(np.signbit(x), np.uint16(0x8000), np.uint16(0))
    out = bits.view(BF16).copy()
    out[~finite] = x[~finite].astype(BF16)  # inf keeps its sign, NaN stays NaN
    return out


def test_the_single_rounding_reference_is_right():
    """_once against exact rational rounding (Python's round() of a Fraction is to nearest,
    ties to even) on values at, and just off, bfloat16 ties, subnormals included."""
    import math
    from fractions import Fraction

    ties = _ties_and_neighbours(BF16).astype(np.float64)[::37]
    x = np.concatenate([ties, ties * (1 + 2.0**-40), ties * (1 - 2.0**-40), [0.0, -0.0, 2.0**-140]])
    got = _once(x, BF16).view(np.uint16)
    for xi, gi in zip(x.tolist(), got.tolist()):
        exponent = math.frexp(abs(xi))[1] - 1 if xi else -126
        quantum = Fraction(2) ** (max(exponent, -126) - 7)  # bfloat16 keeps 8 significant bits
        want = float(round(Fraction(abs(xi)) / quantum) * quantum)
        want_bits = int(np.float32(want).view(np.uint32)) >> 16
        assert gi & 0x7FFF == want_bits, (xi.hex(), hex(gi), hex(want_bits))
        assert bool(gi & 0x8000) == (math.copysign(1.0, xi) < 0)


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_float64_and_integers_to_16_bits_round_once(xp, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(50_000) * np.exp(rng.uniform(-30, 30, 50_000))
    ties = _ties_and_neighbours(dtype).astype(np.float64)
    x = np.concatenate([x, ties, ties + ties * 2.0**-40, ties - ties * 2.0**-40])
    _same_bits(xp.astype(xp.asarray(x), dtype).to_numpy(), _once(x, dtype))
    ints = np.concatenate([np.arange(-3000, 3000), rng.integers(-(2**40), 2**40, 5000)])
    _same_bits(xp.astype(xp.asarray(ints), dtype).to_numpy(), _once(ints, dtype))
    small = np.arange(-100, 100, dtype=np.int32)
    _same_bits(xp.astype(xp.asarray(small), dtype).to_numpy(), small.astype(dtype))


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_16_bits_to_integers_and_bool(xp, dtype):
    v = np.linspace(-200.7, 200.7, 301).astype(dtype)
    for target in (np.int32, np.int64, np.int8):
        with np.errstate(invalid="ignore"):
            want = v.astype(np.float32).astype(target)
        got = xp.astype(xp.asarray(v), target).to_numpy()
        if target == np.int8:
            inside = np.abs(v.astype(np.float32)) < 127
            got, want = got[inside], want[inside]
        np.testing.assert_array_equal(got, want)
    z = np.array([0.0, -0.0, 1.0, np.nan, 1e-7], dtype)
    np.testing.assert_array_equal(xp.astype(xp.asarray(z), xp.bool).to_numpy(), z.astype(bool))


# ---- creation and data movement ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_creation(xp, dtype):
    _same_bits(xp.zeros((2, 3), dtype=dtype).to_numpy(), np.zeros((2, 3), dtype))
    _same_bits(xp.ones(0, dtype=dtype).to_numpy(), np.ones(0, dtype))
    _same_bits(xp.full((3,), 0.1, dtype=dtype).to_numpy(), np.full(3, 0.1).astype(dtype))
    _same_bits(xp.eye(3, k=1, dtype=dtype).to_numpy(), np.eye(3, k=1).astype(dtype))
    _same_bits(xp.arange(0, 2, 0.3, dtype=dtype).to_numpy(), np.arange(0, 2, 0.3).astype(dtype))
    _same_bits(xp.linspace(-1, 1, 9, dtype=dtype).to_numpy(), np.linspace(-1, 1, 9).astype(dtype))
    _same_bits(xp.asarray([[0.1, 2.5]], dtype=dtype).to_numpy(), np.array([[0.1, 2.5]], dtype))
    host = _rand((3, 4), dtype)
    a = xp.asarray(host)
    assert a.dtype == dtype
    _same_bits(a.to_numpy(), host)
    _same_bits(xp.full_like(a, 3.0).to_numpy(), np.full_like(host, 3.0))


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_indexing_and_manipulation_move_bits(xp, dtype):
    h = _rand((5, 7), dtype, seed=2)
    h[0, 0] = np.nan
    a = xp.asarray(h)
    checks = [
        (a[1:, ::-2], h[1:, ::-2]),
        (a[a > 0], h[h > 0]),
        (xp.take(a, xp.asarray([4, 0, 4]), axis=0), h[[4, 0, 4]]),
        (xp.concat([a, a[:2]]), np.concatenate([h, h[:2]])),
        (xp.stack([a, a], axis=1), np.stack([h, h], axis=1)),
        (xp.permute_dims(a, (1, 0)), h.T),
        (xp.flip(a, axis=1), np.flip(h, axis=1)),
        (xp.roll(a, 3), np.roll(h, 3)),
        (xp.tril(a), np.tril(h)),
        (xp.repeat(a, 2, axis=0), np.repeat(h, 2, axis=0)),
        (xp.broadcast_to(a[:1], (3, 7)), np.broadcast_to(h[:1], (3, 7))),
        (xp.where(a > 0, a, xp.asarray(h[::-1])), np.where(h > 0, h, h[::-1])),
        (xp.reshape(a, (7, 5)), h.reshape(7, 5)),
    ]
    for got, want in checks:
        _same_bits(got.to_numpy(), np.ascontiguousarray(want))
    b = xp.asarray(h)
    b[1:3, ::2] = 0.1
    expected = h.copy()
    expected[1:3, ::2] = dtype.type(0.1)
    _same_bits(b.to_numpy(), expected)


# ---- elementwise --------------------------------------------------------------------------
FLOAT_UNARY = [
    n for n, (rule, _) in ew.UNARY.items() if rule not in (ew.INTEGRAL, ew.LOGICAL)
]  # fmt: skip
FLOAT_BINARY = [
    n for n, (rule, _) in ew.BINARY.items() if rule not in (ew.INTEGRAL, ew.LOGICAL, ew.SHIFT)
]  # fmt: skip


def _numpy_fn(name):
    return {"pow": np.power, "atan2": np.arctan2}.get(name, getattr(np, name, None))


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
@pytest.mark.parametrize("name", FLOAT_UNARY)
def test_unary(xp, dtype, name):
    fn = _numpy_fn(name)
    for shape in [(), (0,), (1,), (37,), (3, 5)]:
        h = _rand(shape, dtype, name, seed=len(shape))
        want = _reference(fn, dtype, h)
        got = getattr(xp, name)(xp.asarray(h)).to_numpy()
        (_same_bits if name in EXACT_UNARY else lambda g, w: _close(g, w, dtype))(got, want)
    h = _rand((6, 8), dtype, name)
    view = xp.asarray(h)[::2, 1::3]  # strided
    want = _reference(fn, dtype, h[::2, 1::3])
    got = getattr(xp, name)(view).to_numpy()
    (_same_bits if name in EXACT_UNARY else lambda g, w: _close(g, w, dtype))(got, want)


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
@pytest.mark.parametrize("name", FLOAT_BINARY)
def test_binary(xp, dtype, name):
    fn = _numpy_fn(name)
    check = _same_bits if name in EXACT_BINARY else (lambda g, w: _close(g, w, dtype))
    a = _rand((37,), dtype, name, seed=1)
    b = _rand((37,), dtype, name, seed=2)
    if name in ("floor_divide", "remainder", "divide"):
        b[np.abs(b.astype(np.float32)) < 0.2] = dtype.type(0.5)
    check(getattr(xp, name)(xp.asarray(a), xp.asarray(b)).to_numpy(), _reference(fn, dtype, a, b))
    col, row = _rand((3, 1), dtype, name, seed=3), _rand((1, 4), dtype, name, seed=4)
    got = getattr(xp, name)(xp.asarray(col), xp.asarray(row)).to_numpy()  # broadcasting
    check(got, _reference(fn, dtype, col, row))
    scalar = 1.5
    rounded = np.float32(np.array(scalar).astype(dtype))
    got = getattr(xp, name)(xp.asarray(a)[::2], scalar).to_numpy()  # strided, scalar
    check(got, _reference(lambda x: fn(x, rounded), dtype, a[::2]))
    got = getattr(xp, name)(scalar, xp.asarray(a)).to_numpy()
    check(got, _reference(lambda x: fn(rounded, x), dtype, a))
    empty = getattr(xp, name)(xp.asarray(a[:0]), xp.asarray(b[:0]))
    assert empty.shape == (0,)


# ---- functions that widen: reductions, scans, sorting, softmax -----------------------------
@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_reductions_accumulate_in_float32(xp, dtype):
    h = _rand((33, 65), dtype, seed=7)
    a = xp.asarray(h)
    f = h.astype(np.float32)
    _close(xp.sum(a, axis=1).to_numpy(), f.sum(axis=1).astype(dtype), dtype)
    _close(xp.mean(a).to_numpy(), np.asarray(f.mean()).astype(dtype), dtype)
    _close(xp.prod(a[:4], axis=0).to_numpy(), f[:4].prod(axis=0).astype(dtype), dtype)
    _close(xp.var(a, axis=0).to_numpy(), f.var(axis=0).astype(dtype), dtype)
    _close(xp.std(a).to_numpy(), np.asarray(f.std()).astype(dtype), dtype)
    _same_bits(xp.max(a, axis=0).to_numpy(), h.max(axis=0))
    _same_bits(xp.min(a[:, ::2], axis=1).to_numpy(), h[:, ::2].min(axis=1))
    np.testing.assert_array_equal(xp.argmax(a, axis=1).to_numpy(), f.argmax(axis=1))
    _close(xp.cumulative_sum(a, axis=1).to_numpy(), np.cumsum(f, axis=1).astype(dtype), dtype)
    # 4097 ones: a 16-bit accumulator stalls at 2048 (float16) or 256 (bfloat16); float32
    # accumulation gives 4097, which rounds to 4096 in either 16-bit dtype.
    ones = xp.ones(4097, dtype=dtype)
    assert float(xp.sum(ones)) == 4096.0
    assert float(xp.sum(ones, dtype=xp.float32)) == 4097.0
    assert xp.sum(ones, dtype=xp.float32).dtype == xp.float32


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_sorting_sets_and_softmax(xp, dtype):
    h = _rand((6, 9), dtype, seed=8)
    a = xp.asarray(h)
    f = h.astype(np.float32)
    _same_bits(xp.sort(a, axis=1).to_numpy(), np.sort(h, axis=1))
    np.testing.assert_array_equal(
        xp.argsort(a, axis=1, stable=True).to_numpy(), np.argsort(f, axis=1, kind="stable")
    )
    _same_bits(xp.unique_values(a).to_numpy(), np.unique(h))
    e = np.exp(f - f.max(axis=1, keepdims=True))
    _close(
        xp.softmax(a, axis=1).to_numpy(), (e / e.sum(axis=1, keepdims=True)).astype(dtype), dtype
    )
    lse = np.log(np.exp(f).sum(axis=1))
    _close(xp.logsumexp(a, axis=1).to_numpy(), lse.astype(dtype), dtype)
    _close(xp.vecdot(a, a).to_numpy(), (f * f).sum(axis=-1).astype(dtype), dtype)


# ---- GEMM ---------------------------------------------------------------------------------
def _gemm_bound(a, b, c_exact, dtype):
    k = a.shape[-1]
    abs_product = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    return ROUNDING[dtype] * np.abs(c_exact) + k * 2.0**-23 * abs_product + 1e-30


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
@pytest.mark.parametrize("path", ["direct", "packed", "tiled"])
@pytest.mark.parametrize("mnk", [(1, 1, 1), (7, 5, 3), (65, 47, 33), (130, 97, 70)])
def test_gemm_paths_bias_relu_and_beta(xp, dev, dtype, path, mnk):
    m, n, k = mnk
    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    A, B, Bias, C = (xp.asarray(v) for v in (a, b, bias, c0))
    gemm(
        dev,
        MatrixOperand(A.buffer),
        MatrixOperand(B.buffer),
        MatrixOperand(C.buffer),
        m=m,
        n=n,
        k=k,
        dtype=dtype,
        beta=0.5,
        bias=VectorOperand(Bias.buffer),
        relu=True,
        path=path,
    )
    f64 = lambda v: v.astype(np.float64)  # noqa: E731
    exact = np.maximum(f64(a) @ f64(b) + 0.5 * f64(c0) + f64(bias), 0)
    bound = _gemm_bound(a, b, exact, dtype) + 2 * ROUNDING[dtype] * np.abs(f64(c0))
    got = C.to_numpy()
    assert got.dtype == dtype
    assert np.all(np.abs(f64(got) - exact) <= bound)


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_matmul_batched_broadcast_and_transposed(xp, dtype):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 40, 24)).astype(dtype)
    w = rng.standard_normal((30, 24)).astype(dtype)
    got = xp.matmul(xp.asarray(x), xp.permute_dims(xp.asarray(w), (1, 0))).to_numpy()
    exact = x.astype(np.float64) @ w.astype(np.float64).T
    bound = _gemm_bound(x, np.swapaxes(w, 0, 1), exact, dtype)
    assert got.dtype == dtype and np.all(np.abs(got.astype(np.float64) - exact) <= bound)
    v = rng.standard_normal(24).astype(dtype)
    got = xp.matmul(xp.asarray(x), xp.asarray(v)).to_numpy()
    exact = x.astype(np.float64) @ v.astype(np.float64)
    assert got.shape == (3, 40)
    assert np.all(
        np.abs(got - exact) <= _gemm_bound(x, v[:, None], exact[..., None], dtype)[..., 0]
    )


# ---- convolution, pooling and layers through the primitives --------------------------------
@pytest.mark.parametrize("dtype", LOW, ids=IDS)
def test_conv_pool_and_layers_match_float32_on_the_rounded_inputs(xp, dtype):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 9, 9)).astype(dtype)
    w = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    as32 = lambda v: xp.asarray(v.astype(np.float32))  # noqa: E731
    pairs = [
        (lambda *t: axoncl.conv2d(t[0], t[1], t[2], padding=1), (x, w, b)),
        (lambda t: axoncl.max_pool2d(t, 2), (x,)),
        (lambda t: axoncl.avg_pool2d(t, 3, stride=2), (x,)),
        (lambda t: axoncl.relu(t), (x,)),
    ]
    for fn, args in pairs:
        got = fn(*(xp.asarray(v) for v in args))
        want = fn(*(as32(v) for v in args)).numpy().astype(dtype)
        _close(got.numpy(), want, dtype)


@pytest.mark.parametrize("low", ["float16", "bfloat16"])
def test_autocast_training_gradients_on_opencl_match_float32(xp, low):
    """A small CNN and MLP under autocast on OpenCL: float32 gradients of the float32 master
    weights within a few 16-bit roundings of the float32 run's (stated per dtype below)."""
    rng = np.random.default_rng(13)
    images = xp.asarray(rng.standard_normal((8, 1, 8, 8)).astype(np.float32))
    labels = xp.asarray(rng.integers(0, 5, 8))
    axoncl.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 5)
    ).to("opencl")
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 5)).to("opencl")
    tolerance = {"float16": 2e-2, "bfloat16": 8e-2}[low]  # ~ 20 and ~ 10 roundings
    for model in (cnn, mlp):

        def grads(enabled, model=model):
            model.zero_grad()
            with axoncl.autocast(dtype=low, enabled=enabled):
                logits = model(Variable(images))
                loss = axoncl.cross_entropy(logits, labels)
            assert logits.dtype == (getattr(xp, low) if enabled else xp.float32)
            loss.backward()
            return [p.grad.numpy() for p in model.parameters()]

        full, mixed = grads(False), grads(True)
        for p, g32, glow in zip(model.parameters(), full, mixed, strict=True):
            assert p.dtype == xp.float32 and glow.dtype == np.float32
            scale = np.abs(g32).max()
            np.testing.assert_allclose(glow, g32, atol=tolerance * scale, rtol=tolerance)


OCLGRIND_SCRIPT = """
import sys
import numpy as np
import ml_dtypes
import axoncl as ax
import axoncl.backends.opencl as xp
from axoncl import nn
from axoncl.backends.opencl.gemm import MatrixOperand, VectorOperand, gemm

dev = xp.default_device()
assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
if sys.argv[1] == "vec16":  # the CPU launch style (vload16 paths) on the simulator
    dev.vector_width = 16
    dev.local_sizes = (64, 8, 2 * 64 * max(dev.caps.compute_units, 1))
rng = np.random.default_rng(0)
for dt in (np.float16, ml_dtypes.bfloat16):
    h = rng.standard_normal((5, 37)).astype(dt)
    a = xp.asarray(h)
    w = xp.astype(xp.asarray(rng.standard_normal(37)), dt)
    outs = [a + a, a * 2.0, xp.exp(a[:, ::3]), a + w, a > 0, xp.where(a > 0, a, 0.0),
            xp.astype(a, xp.float32), xp.astype(xp.astype(a, xp.float64), dt),
            xp.astype(a, xp.int32), xp.arange(0, 3, 0.5, dtype=a.dtype),
            xp.full((3,), 2.0, dtype=a.dtype),
            xp.sum(a, axis=1), xp.softmax(a, axis=1), a[:, 1:] @ xp.permute_dims(a[:, 1:], (1, 0))]
    for o in outs:
        o.to_numpy()
    for path in ("direct", "packed", "tiled"):
        m, n, k = 13, 35, 9
        A = xp.astype(xp.asarray(rng.standard_normal((m, k))), dt)
        B = xp.astype(xp.asarray(rng.standard_normal((k, n))), dt)
        bias = xp.astype(xp.asarray(rng.standard_normal(n)), dt)
        C = xp.zeros((m, n), dtype=A.dtype)
        gemm(dev, MatrixOperand(A.buffer), MatrixOperand(B.buffer), MatrixOperand(C.buffer),
             m=m, n=n, k=k, dtype=A.dtype, beta=1.0, bias=VectorOperand(bias.buffer), relu=True,
             path=path)
        C.to_numpy()
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    model = model.to("opencl")
    x = ax.Variable(xp.asarray(rng.standard_normal((2, 1, 4, 4)).astype(np.float32)))
    with ax.autocast(dtype="float16" if dt == np.float16 else "bfloat16"):
        loss = ax.cross_entropy(model(x), xp.asarray(np.array([0, 2])))
    loss.backward()
    model[0].weight.grad.numpy()
print("ok")
"""


@pytest.mark.oclgrind
@pytest.mark.parametrize("style", ["vec1", "vec16"])
def test_16_bit_kernels_run_clean_under_oclgrind(tmp_path, style):
    from oclgrind_runner import assert_clean_under_oclgrind

    assert_clean_under_oclgrind(tmp_path, OCLGRIND_SCRIPT, style)


@pytest.mark.parametrize("dtype", LOW, ids=IDS)
@pytest.mark.parametrize("geometry", [(3, 1, 1, 1), (1, 1, 0, 1), (3, 2, 1, 1), (5, 1, 2, 2)])
def test_native_16_bit_convolution_forward_and_gradients(xp, dtype, geometry):
    """16-bit columns and GEMMs. Bounds, with u the unit roundoff: forward and weight gradient
    (float32 accumulation, one rounding) within 2u |ref| + 2u * the same product of absolute
    values; the input gradient rounds each tap (W^T dY) before col2im sums them, so within
    2u * conv_input_grad(|dY|, |W|)."""
    from axoncl.backends import primitives as prims

    k, s, pad, groups = geometry
    rng = np.random.default_rng(sum(geometry))
    x = rng.standard_normal((3, 4, 9, 9)).astype(dtype)
    w = (rng.standard_normal((6, 4 // groups, k, k)) * 0.3).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    kw = dict(stride=(s, s), padding=(pad, pad), dilation=(1, 1), groups=groups, xp=xp)
    f32 = lambda v: xp.asarray(v.astype(np.float32))  # noqa: E731
    absf = lambda v: xp.asarray(np.abs(v.astype(np.float32)))  # noqa: E731
    u = ROUNDING[dtype]

    def check(got, ref, scale):
        assert got.dtype == dtype
        err = np.abs(got.to_numpy().astype(np.float32) - ref.to_numpy())
        assert np.all(err <= 2 * u * (np.abs(ref.to_numpy()) + scale.to_numpy()) + 1e-6)

    y = prims.conv2d(xp.asarray(x), xp.asarray(w), xp.asarray(b), **kw)
    check(
        y, prims.conv2d(f32(x), f32(w), f32(b), **kw), prims.conv2d(absf(x), absf(w), absf(b), **kw)
    )
    gy = rng.standard_normal(y.shape).astype(dtype)
    dx = prims.conv2d_input_grad(xp.asarray(gy), xp.asarray(w), (9, 9), **kw)
    scale = prims.conv2d_input_grad(absf(gy), absf(w), (9, 9), **kw)
    check(dx, prims.conv2d_input_grad(f32(gy), f32(w), (9, 9), **kw), scale)
    dw = prims.conv2d_weight_grad(xp.asarray(gy), xp.asarray(x), (k, k), **kw)
    scale = prims.conv2d_weight_grad(absf(gy), absf(x), (k, k), **kw)
    check(dw, prims.conv2d_weight_grad(f32(gy), f32(x), (k, k), **kw), scale)
