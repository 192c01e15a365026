"""Creation functions against numpy."""

import numpy as np
import pytest


def test_asarray_from_python_numpy_and_clarray(xp):
    assert xp.asarray([1, 2]).dtype == xp.int64
    assert xp.asarray([1.0, 2]).dtype == xp.float32
    assert xp.asarray(True).dtype == xp.bool and xp.asarray(True).shape == ()
    assert xp.asarray(np.arange(3, dtype=np.int16)).dtype == xp.int16
    x = xp.asarray([[1, 2], [3, 4]], dtype=xp.float64)
    np.testing.assert_array_equal(x.to_numpy(), [[1, 2], [3, 4]])
    assert xp.asarray(x) is x
    assert xp.asarray(x, copy=True) is not x
    assert xp.asarray(x, dtype=xp.float32).dtype == xp.float32
    with pytest.raises(ValueError, match="copy=False"):
        xp.asarray(np.ones(2), copy=False)
    with pytest.raises(ValueError, match="copy=False"):
        xp.asarray(x, dtype=xp.float32, copy=False)
    assert xp.asarray(x, device=x.device) is x


@pytest.mark.parametrize(
    "dtype", ["bool", "int8", "uint16", "int32", "int64", "float32", "float64"]
)
def test_zeros_ones_full_empty(xp, dtype):
    dt = getattr(xp, dtype)
    np.testing.assert_array_equal(xp.zeros((2, 3), dtype=dt).to_numpy(), np.zeros((2, 3), dt))
    np.testing.assert_array_equal(xp.ones(5, dtype=dt).to_numpy(), np.ones(5, dt))
    np.testing.assert_array_equal(xp.full((3,), 1, dtype=dt).to_numpy(), np.full(3, 1, dt))
    assert xp.empty((4, 0), dtype=dt).shape == (4, 0)
    like = xp.zeros((2, 2), dtype=dt)
    assert xp.ones_like(like).dtype == dt
    np.testing.assert_array_equal(xp.full_like(like, 1).to_numpy(), np.ones((2, 2), dt))
    assert xp.empty_like(like).shape == (2, 2)
    np.testing.assert_array_equal(xp.zeros_like(like).to_numpy(), np.zeros((2, 2), dt))


def test_full_infers_dtype(xp):
    assert xp.full(3, 2.5).dtype == xp.float32
    assert xp.full(3, 7).dtype == xp.int64
    assert xp.full(3, False).dtype == xp.bool
    np.testing.assert_array_equal(xp.full((2,), -1.5).to_numpy(), [-1.5, -1.5])


@pytest.mark.parametrize("args", [(5,), (2, 9), (10, 0, -3), (0.5, 2.0, 0.25), (3, 3), (-2.5, 1)])
def test_arange(xp, args):
    want = np.arange(*args)
    got = xp.arange(*args)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got.to_numpy(), want.astype(np.float32), rtol=1e-6)
    else:
        np.testing.assert_array_equal(got.to_numpy(), want)


@pytest.mark.parametrize("num,endpoint", [(5, True), (7, False), (1, True), (0, True)])
def test_linspace(xp, num, endpoint):
    got = xp.linspace(-1.0, 2.0, num, endpoint=endpoint)
    want = np.linspace(-1.0, 2.0, num, endpoint=endpoint).astype(np.float32)
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n,m,k", [(3, None, 0), (3, 5, 1), (4, 2, -1), (2, 3, 7), (0, 0, 0)])
def test_eye(xp, n, m, k):
    np.testing.assert_array_equal(xp.eye(n, m, k=k).to_numpy(), np.eye(n, m, k=k, dtype=np.float32))


@pytest.mark.parametrize("k", [-1, 0, 2])
def test_tril_triu(xp, k):
    host = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5)
    x = xp.asarray(host)
    np.testing.assert_array_equal(xp.tril(x, k=k).to_numpy(), np.tril(host, k=k))
    np.testing.assert_array_equal(xp.triu(x, k=k).to_numpy(), np.triu(host, k=k))


@pytest.mark.parametrize("indexing", ["xy", "ij"])
def test_meshgrid(xp, indexing):
    a, b, c = np.arange(3), np.arange(4) * 10, np.arange(2) * 100
    got = xp.meshgrid(xp.asarray(a), xp.asarray(b), xp.asarray(c), indexing=indexing)
    want = np.meshgrid(a, b, c, indexing=indexing)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.to_numpy(), w)


def test_asarray_keeps_every_integer_exact(xp):
    big = [0, 2**64 - 1, 2**63]
    np.testing.assert_array_equal(
        xp.asarray(big, dtype=xp.uint64).to_numpy(), np.array(big, np.uint64)
    )
    with pytest.raises(OverflowError, match="out of range"):
        xp.asarray([300], dtype=xp.int8)
    with pytest.raises(OverflowError, match="out of range"):
        xp.asarray([-1], dtype=xp.uint64)


def test_asarray_of_nested_arrays(xp):
    x = xp.asarray([[xp.asarray(1.5), xp.asarray(2.0)], [xp.asarray(3.0), 4.0]])
    assert x.dtype == xp.float32 and x.shape == (2, 2)
    np.testing.assert_array_equal(x.to_numpy(), [[1.5, 2.0], [3.0, 4.0]])
    y = xp.asarray([xp.asarray(1, dtype=xp.int16), xp.asarray(2, dtype=xp.int16)])
    assert y.dtype == xp.int16


def test_meshgrid_and_devices_give_tuples(xp):
    assert isinstance(xp.meshgrid(xp.asarray([1, 2]), xp.asarray([3])), tuple)
    devices = xp.__array_namespace_info__().devices()
    assert isinstance(devices, tuple) and devices


def test_finfo_gives_python_numbers(xp):
    info = xp.finfo(xp.float32)
    assert type(info.eps) is float and type(info.max) is float and type(info.bits) is int
    assert info.eps == float(np.finfo(np.float32).eps) and info.dtype == xp.float32


@pytest.mark.parametrize("shape", ["ab", (2.5,), None, (2, "3")])
def test_a_shape_that_is_not_ints_is_refused_by_name(xp, shape):
    with pytest.raises(TypeError, match=r"full: expected a shape \(an int or a tuple of ints\)"):
        xp.zeros(shape)


def test_integer_shapes_of_numpy_types_are_accepted(xp):
    assert xp.zeros(np.array([2, 3])).shape == (2, 3)
    assert xp.ones(np.int64(4)).shape == (4,)
