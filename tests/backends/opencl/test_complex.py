"""complex64 and complex128 on OpenCL against numpy: creation and transfer, promotion, the
elementwise functions the standard defines for complex, reductions, products, indexing and
manipulation, odd, size-0 and size-1 shapes, broadcasting and strided views; and the
copy and index kernels (the only ones complex arrays reach with their own element width) under
oclgrind."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from oclgrind_runner import assert_clean_under_oclgrind

CDTYPES = [np.complex64, np.complex128]
# Relative tolerance of each dtype for the composed transcendental functions.
RTOL = {np.complex64: 2e-5, np.complex128: 1e-12}
ATOL = {np.complex64: 2e-6, np.complex128: 1e-13}
SHAPES = [(), (1,), (0,), (7,), (3, 5), (2, 1, 3)]


def _rand(shape, dtype, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return (scale * z).astype(dtype)


def _check(got, want, dtype, factor=1.0):
    got = got.to_numpy()
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype] * factor, atol=ATOL[dtype] * factor)


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_round_trip_and_creation(xp, dtype, shape):
    a = _rand(shape, dtype)
    x = xp.asarray(a)
    assert x.dtype == dtype
    np.testing.assert_array_equal(x.to_numpy(), a)
    np.testing.assert_array_equal(xp.zeros(shape, dtype=dtype).to_numpy(), np.zeros(shape, dtype))
    np.testing.assert_array_equal(xp.ones(shape, dtype=dtype).to_numpy(), np.ones(shape, dtype))
    full = xp.full(shape, 1.5 - 2j, dtype=dtype).to_numpy()
    np.testing.assert_array_equal(full, np.full(shape, 1.5 - 2j, dtype))
    np.testing.assert_array_equal(xp.asarray(x, copy=True).to_numpy(), a)


def test_python_values_and_default_dtype(xp):
    assert xp.asarray(1 + 2j).dtype == xp.complex64
    np.testing.assert_array_equal(
        xp.asarray([1 + 2j, 3]).to_numpy(), np.array([1 + 2j, 3], np.complex64)
    )
    assert complex(xp.asarray(2 - 1j)) == 2 - 1j


@pytest.mark.parametrize("dtype", CDTYPES)
def test_astype(xp, dtype):
    r = np.array([1.5, -2.0, 0.0], np.float64)
    got = xp.astype(xp.asarray(r), dtype)
    np.testing.assert_array_equal(got.to_numpy(), r.astype(dtype))
    z = _rand((4, 3), dtype)
    other = np.complex128 if dtype == np.complex64 else np.complex64
    view = xp.asarray(z)[::2, ::-1]
    np.testing.assert_allclose(xp.astype(view, other).to_numpy(), z[::2, ::-1].astype(other))
    with pytest.raises(TypeError, match="complex complex.* to float32"):
        xp.astype(xp.asarray(z), xp.float32)


def test_promotion(xp):
    assert xp.result_type(xp.complex64, xp.complex128) == xp.complex128
    assert xp.result_type(xp.float64, xp.complex64) == xp.complex128
    assert xp.result_type(xp.float32, xp.complex64) == xp.complex64
    assert xp.result_type(xp.complex64, 1.0, 2j) == xp.complex64
    assert xp.result_type(xp.float64, 1j) == xp.complex128
    assert xp.can_cast(xp.float32, xp.complex64)
    assert xp.can_cast(xp.complex64, xp.complex128)
    assert not xp.can_cast(xp.float64, xp.complex64)
    assert not xp.can_cast(xp.complex64, xp.float64)
    assert not xp.can_cast(xp.int32, xp.complex64)
    assert xp.finfo(xp.complex64).dtype == xp.float32
    assert xp.finfo(xp.complex128).eps == np.finfo(np.float64).eps
    x = xp.asarray(np.ones(2, np.float64))
    assert (x + xp.asarray(np.ones(2, np.complex64))).dtype == xp.complex128
    assert (xp.asarray([1.0, 2.0]) * 1j).dtype == xp.complex64
    assert (xp.asarray(np.ones(2, np.complex128)) + 1.0).dtype == xp.complex128


BINARY = {
    "add": np.add,
    "subtract": np.subtract,
    "multiply": np.multiply,
    "divide": np.divide,
    "pow": np.power,
    "equal": np.equal,
    "not_equal": np.not_equal,
}


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcast_views_scalars(xp, dtype, name):
    f = BINARY[name]
    a = _rand((3, 1, 5), dtype, 1)
    b = _rand((4, 5), dtype, 2)
    b[0, :2] = a[0, 0, :2]  # some equal elements
    x, y = xp.asarray(a), xp.asarray(b)
    fx = getattr(xp, name)
    _check(fx(x, y), f(a, b), dtype, factor=10)
    # strided, reversed views
    _check(fx(x[::2, :, ::-1], y[1::2]), f(a[::2, :, ::-1], b[1::2]), dtype, factor=10)
    # a Python complex scalar on either side, and a real array of the same precision
    _check(fx(x, 0.5 - 1.25j), f(a, dtype(0.5 - 1.25j)), dtype, factor=10)
    _check(fx(2j, y), f(dtype(2j), b), dtype, factor=10)
    real = np.linspace(0.5, 2, 5).astype(np.float32 if dtype == np.complex64 else np.float64)
    _check(fx(x, xp.asarray(real)), f(a, real), dtype, factor=10)
    # size 0
    _check(fx(x[:0], y), f(a[:0], b), dtype)


def test_divide_wide_range(xp):
    a = np.array([1e30 + 1e30j, 1 + 1j, 3e-30 - 2e-30j], np.complex64)
    b = np.array([2e30 - 1e30j, 1e-30 + 2e-30j, 1e-30 + 1e-30j], np.complex64)
    _check(xp.divide(xp.asarray(a), xp.asarray(b)), a / b, np.complex64, factor=5)


def test_pow_zero_base(xp):
    a = np.array([0, 0, 2 + 1j], np.complex128)
    b = np.array([0, 1.5 + 1j, 0], np.complex128)
    _check(xp.pow(xp.asarray(a), xp.asarray(b)), a**b, np.complex128)


UNARY = {
    "abs": np.abs,
    "acos": np.arccos,
    "acosh": np.arccosh,
    "asin": np.arcsin,
    "asinh": np.arcsinh,
    "atan": np.arctan,
    "atanh": np.arctanh,
    "conj": np.conj,
    "cos": np.cos,
    "cosh": np.cosh,
    "exp": np.exp,
    "expm1": np.expm1,
    "imag": np.imag,
    "isfinite": np.isfinite,
    "isinf": np.isinf,
    "isnan": np.isnan,
    "log": np.log,
    "log10": np.log10,
    "log1p": np.log1p,
    "log2": np.log2,
    "negative": np.negative,
    "positive": np.positive,
    "real": np.real,
    "reciprocal": np.reciprocal,
    "round": np.round,
    "sign": lambda z: np.where(z == 0, 0, z / np.where(z == 0, 1, np.abs(z))).astype(z.dtype),
    "sin": np.sin,
    "sinh": np.sinh,
    "sqrt": np.sqrt,
    "square": np.square,
    "tan": np.tan,
    "tanh": np.tanh,
}


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(xp, dtype, name):
    f = UNARY[name]
    a = _rand((3, 7), dtype, 3, scale=1.5)
    # the axes (both signs of zero), small arguments, and non-finite values
    a[0, :6] = np.array([0, 1e-4 + 2e-4j, -3 + 0j, 3j, -2 - 0j, 0.5 - 1e-5j], dtype)
    if name.startswith(("is", "conj", "neg", "pos", "real", "imag", "abs", "round")):
        a[1, :3] = np.array([complex(np.nan, 1), complex(1, np.inf), complex(-np.inf, 0)])
        a[2, 0] = 2.5 - 3.5j  # round half to even in each part
    x = xp.asarray(a)
    fx = getattr(xp, name)
    with np.errstate(all="ignore"):
        want = f(a)
        # strided view and size-0, size-1 shapes
        _check(fx(x), want, dtype, factor=50)
        _check(fx(x[::2, ::-3]), f(a[::2, ::-3]), dtype, factor=50)
        _check(fx(x[:0]), f(a[:0]), dtype)
        _check(fx(x[1:2, 3:4]), f(a[1:2, 3:4]), dtype, factor=50)


@pytest.mark.parametrize("name", ["max", "min", "less", "floor", "ceil", "bitwise_and"])
def test_undefined_for_complex_raise(xp, name):
    z = xp.asarray(np.ones(3, np.complex64))
    fx = getattr(xp, name)
    with pytest.raises(TypeError, match="complex"):
        fx(z, z) if name in ("less", "bitwise_and") else fx(z)


def test_angle(xp):
    a = np.array([1 + 1j, -2, -1e-3j, 0], np.complex128)
    _check(xp.angle(xp.asarray(a)), np.angle(a), np.complex128)
    np.testing.assert_allclose(
        xp.angle(xp.asarray([-1.0, 2.0])).to_numpy(), np.angle([-1.0, 2.0]).astype(np.float32)
    )


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(xp, dtype, axis, keepdims):
    a = _rand((3, 5, 4), dtype, 4)
    x = xp.asarray(a)
    kw = dict(axis=axis, keepdims=keepdims)
    _check(xp.sum(x, **kw), np.sum(a, **kw), dtype, factor=20)
    _check(xp.mean(x, **kw), np.mean(a, **kw), dtype, factor=20)
    _check(xp.prod(x, **kw), np.prod(a, **kw), dtype, factor=50)
    v = x[:, ::-2]
    _check(xp.sum(v, **kw), np.sum(a[:, ::-2], **kw), dtype, factor=20)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_reductions_edge_shapes(xp, dtype):
    e = np.zeros((2, 0), dtype)
    _check(xp.sum(xp.asarray(e), axis=1), e.sum(axis=1), dtype)
    _check(xp.prod(xp.asarray(e), axis=1), e.prod(axis=1), dtype)
    one = _rand((1,), dtype)
    _check(xp.prod(xp.asarray(one)), one.prod(), dtype)
    _check(xp.sum(xp.asarray(_rand((), dtype))), _rand((), dtype), dtype)
    r = np.arange(3.0)
    _check(xp.sum(xp.asarray(r), dtype=dtype), r.sum().astype(dtype), dtype)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_cumulative_sum(xp, dtype):
    a = _rand((4, 6), dtype, 5)
    x = xp.asarray(a)
    _check(xp.cumulative_sum(x, axis=1), np.cumsum(a, axis=1), dtype, factor=10)
    _check(xp.cumulative_sum(x.T, axis=1), np.cumsum(a.T, axis=1), dtype, factor=10)
    got = xp.cumulative_sum(x[0], include_initial=True)
    _check(got, np.concatenate([[0], np.cumsum(a[0])]).astype(dtype), dtype, factor=10)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_products(xp, dtype):
    a, b = _rand((2, 3, 5), dtype, 6), _rand((5, 4), dtype, 7)
    x, y = xp.asarray(a), xp.asarray(b)
    _check(x @ y, a @ b, dtype, factor=20)
    _check(xp.matmul(x.mT, x), np.swapaxes(a, -1, -2) @ a, dtype, factor=20)
    _check(xp.matmul(x, y[:, 0]), a @ b[:, 0], dtype, factor=20)  # 1-D operand
    real = np.ones((5, 2), np.float32 if dtype == np.complex64 else np.float64)
    _check(x @ xp.asarray(real), a @ real, dtype, factor=20)
    v = _rand((5,), dtype, 8)
    want = np.sum(np.conj(a) * v, axis=-1)  # vecdot conjugates x1
    _check(xp.vecdot(x, xp.asarray(v)), want, dtype, factor=20)
    _check(xp.tensordot(x, y, axes=1), np.tensordot(a, b, axes=1), dtype, factor=20)
    _check(xp.matmul(x[..., :0], y[:0]), a[..., :0] @ b[:0], dtype)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_indexing_and_manipulation(xp, dtype):
    a = _rand((4, 3, 5), dtype, 9)
    x = xp.asarray(a)
    np.testing.assert_array_equal(x[1, ::2, -1].to_numpy(), a[1, ::2, -1])
    np.testing.assert_array_equal(x[xp.asarray([3, 0, 3])].to_numpy(), a[[3, 0, 3]])
    mask = a.real > 0
    np.testing.assert_array_equal(x[xp.asarray(mask)].to_numpy(), a[mask])
    cat = xp.concat([x, x[:1]], axis=0)
    np.testing.assert_array_equal(cat.to_numpy(), np.concatenate([a, a[:1]]))
    np.testing.assert_array_equal(xp.stack([x, x], axis=1).to_numpy(), np.stack([a, a], 1))
    np.testing.assert_array_equal(xp.reshape(x.mT, (-1,)).to_numpy(), np.swapaxes(a, 1, 2).ravel())
    np.testing.assert_array_equal(xp.flip(x, axis=1).to_numpy(), np.flip(a, 1))
    np.testing.assert_array_equal(xp.permute_dims(x, (2, 0, 1)).to_numpy(), a.transpose(2, 0, 1))
    w = xp.where(xp.asarray(mask), x, 1j)
    np.testing.assert_array_equal(w.to_numpy(), np.where(mask, a, dtype(1j)))
    np.testing.assert_array_equal(
        xp.take(x, xp.asarray([4, 1]), axis=2).to_numpy(), np.take(a, [4, 1], axis=2)
    )


@pytest.mark.parametrize("dtype", CDTYPES)
def test_setitem_and_inplace(xp, dtype):
    a = _rand((3, 4), dtype, 10)
    x = xp.asarray(a)
    x[0] = 1 + 2j
    a[0] = 1 + 2j
    x[xp.asarray([1, 2]), 1] = 3.5
    a[[1, 2], 1] = 3.5
    x[:, ::3] = xp.asarray(a[:, ::3] * 2)
    a[:, ::3] *= 2
    np.testing.assert_array_equal(x.to_numpy(), a)
    x *= 1j
    a *= 1j
    x += xp.asarray(np.ones(4, np.zeros(1, dtype).real.dtype))
    a += 1
    _check(x, a, dtype)
    r = xp.asarray(np.ones(3, np.float64))
    with pytest.raises(TypeError, match="complex"):
        r[0] = 1j
    with pytest.raises(TypeError, match="in-place result would be complex"):
        r += 1j


OCLGRIND_SCRIPT = textwrap.dedent("""
    import numpy as np
    import axoncl.backends.opencl as xp

    dev = xp.default_device()
    assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
    for dt in (np.complex64, np.complex128):
        a = (np.arange(15).reshape(3, 5) + 1j * np.arange(15).reshape(3, 5)[::-1]).astype(dt)
        x = xp.asarray(a)
        outs = [x + x, x * x[0], x / (x + 1), xp.exp(x[:, ::2]), xp.sum(x, axis=1),
                xp.prod(x, axis=0), x @ x.mT, x[xp.asarray([2, 0])], x.T[::-1],
                xp.concat([x, x]), xp.where(xp.real(x) > 3, x, 0j), xp.astype(xp.real(x), dt)]
        x[xp.asarray([1])] = 2j
        x[:, ::2] = 1.0
        outs.append(x)
        for o in outs:
            o.to_numpy()
        np.testing.assert_allclose((x.T[::-1] * 1).to_numpy(), x.to_numpy().T[::-1])
    print("ok")
""")


def test_complex_kernels_under_oclgrind(tmp_path):
    assert_clean_under_oclgrind(tmp_path, OCLGRIND_SCRIPT)
