"""matmul, tensordot, vecdot and matrix_transpose of the namespace (over gemm.gemm).

float32 tolerance: a K-term dot product accumulates about K * eps/2 relative error in the worst
case; with K <= 40 and eps = 1.2e-7, rtol 1e-5 holds with margin.
"""

import numpy as np
import pytest


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "sa,sb",
    [
        ((3, 4), (4, 5)),
        ((4,), (4, 5)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((7, 40), (40, 1)),
        ((0, 3), (3, 2)),
        ((2, 3), (3, 0)),
    ],
)
def test_matmul_matches_numpy(xp, sa, sb):
    a, b = _rand(sa, 1), _rand(sb, 2)
    got = xp.matmul(xp.asarray(a), xp.asarray(b)).to_numpy()
    np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-5, atol=1e-5)


def test_matmul_of_views_and_operator(xp):
    a, b = _rand((6, 5), 3), _rand((4, 6), 4)
    x, y = xp.asarray(a), xp.asarray(b)
    np.testing.assert_allclose((x.T @ y.T).to_numpy(), a.T @ b.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        (x[::2].T @ y[:, ::-2].T).to_numpy(), a[::2].T @ b[:, ::-2].T, rtol=1e-5, atol=1e-5
    )
    i = xp.asarray(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(
        (i @ i.T).to_numpy(), np.arange(6).reshape(2, 3) @ np.arange(6).reshape(2, 3).T
    )
    with pytest.raises(ValueError, match="matmul"):
        x @ x


def test_tensordot_vecdot_transpose(xp):
    a, b = _rand((2, 3, 4), 5), _rand((3, 4, 5), 6)
    np.testing.assert_allclose(
        xp.tensordot(xp.asarray(a), xp.asarray(b), axes=2).to_numpy(),
        np.tensordot(a, b, axes=2),
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        xp.tensordot(xp.asarray(a), xp.asarray(b), axes=([1], [0])).to_numpy(),
        np.tensordot(a, b, axes=([1], [0])),
        rtol=1e-5,
        atol=1e-5,
    )
    c = _rand((3, 4), 7)
    np.testing.assert_allclose(
        xp.vecdot(xp.asarray(a), xp.asarray(c)).to_numpy(),
        np.sum(a * c, axis=-1),
        rtol=1e-5,
        atol=1e-5,
    )
    assert xp.matrix_transpose(xp.asarray(a)).shape == (2, 4, 3)


@pytest.mark.parametrize("fp64", [True, False])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "uint32", "int64", "uint64"])
def test_integer_matmul_is_exact_in_its_dtype(xp, dev, dtype, fp64):
    from axoncl.backends.opencl.device import set_fp64_disabled

    set_fp64_disabled(dev, not fp64)
    try:
        rng = np.random.default_rng(3)
        a = rng.integers(0, 100, (2, 3, 5)).astype(dtype)
        b = rng.integers(0, 100, (5, 4)).astype(dtype)
        out = xp.asarray(a) @ xp.asarray(b)
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(out.to_numpy(), a @ b)  # wraps on overflow, as numpy
        np.testing.assert_array_equal(
            (xp.asarray(a).mT @ xp.asarray(a[0])).to_numpy(), a.transpose(0, 2, 1) @ a[0]
        )
        np.testing.assert_array_equal((xp.asarray(a[0, 0]) @ xp.asarray(b)).to_numpy(), a[0, 0] @ b)
        # 2**24 + 1 is not a float32; 2**62 + 3 * 5 is not a float64.
        big = xp.asarray(np.array([[2**24 + 1, 2**62]], np.int64))
        col = xp.asarray(np.array([[1], [1]], np.int64))
        assert (big @ col).to_numpy().tolist() == [[2**24 + 1 + 2**62]]
    finally:
        set_fp64_disabled(dev, False)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "x_shape,out_features",
    [((32, 100), 200), ((2, 16, 100), 200), ((300, 100), 40), ((8, 9), 5)],
    ids=str,
)
def test_linear_primitive_on_every_path_matches_numpy(
    xp, dev, monkeypatch, dtype, relu, x_shape, out_features
):
    """The ``linear`` primitive: x @ W.T + b (then ReLU). With fewer rows than outputs on the
    packed path it computes (W @ x.T).T, packing x instead of W.T and storing C transposed; on
    other shapes, the direct kernel and the usual orientation. A transposed view of x too."""
    from axoncl.backends import primitives
    from axoncl.backends.opencl import gemm, products

    if dtype == np.float64 and not dev.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    c_strides = []  # the C operand of every GEMM the primitive runs: by rows or transposed
    real_gemm = products.gemm

    def spy(device, a, b, c, **kwargs):
        c_strides.append(c.strides)
        return real_gemm(device, a, b, c, **kwargs)

    monkeypatch.setattr(products, "gemm", spy)
    rng = np.random.default_rng(out_features)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((out_features, x_shape[-1])).astype(dtype)
    b = rng.standard_normal(out_features).astype(dtype)
    plain = x.astype(np.float64) @ w.T.astype(np.float64)
    want = np.maximum(plain + b, 0) if relu else plain + b
    tol = 1e-4 if dtype == np.float32 else 1e-12
    m, n = int(np.prod(x_shape[:-1])), out_features
    swapped = m < n and gemm.choose_path(dev, m, n, x_shape[-1]) == "packed"
    if x_shape == (32, 100):  # the swapped case is exercised wherever the packed path exists
        assert swapped == (gemm.load_params(dev).large == "packed")
    views = [xp.asarray(x)]
    if len(x_shape) == 2:  # the same values stored transposed
        views.append(xp.matrix_transpose(xp.asarray(np.ascontiguousarray(x.T))))
    for view in views:
        got = primitives.linear(view, xp.asarray(w), xp.asarray(b), relu=relu, xp=xp)
        assert got.shape == (*x_shape[:-1], n)
        np.testing.assert_allclose(got.to_numpy(), want, rtol=tol, atol=tol)
    no_bias = primitives.linear(xp.asarray(x), xp.asarray(w), None, relu=False, xp=xp)
    np.testing.assert_allclose(no_bias.to_numpy(), plain, rtol=tol, atol=tol)
    assert c_strides == [(0, 1, n) if swapped else (0, n, 1)] * (len(views) + 1)
