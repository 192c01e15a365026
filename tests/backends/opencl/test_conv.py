"""OpenCL convolution, pooling and dropout (``kernels/im2col.cl``, ``kernels/philox.cl`` and
``axoncl/backends/opencl/conv.py``) against the portable numpy primitives.

Float32 tolerances are derived, not guessed. Every output of the three convolution GEMMs is a
dot product of length K accumulated in float32, so ``|err| <= (K + 4) * eps * (|A| @ |B|)``
(``eps = 2**-24``; the epilogue and col2im's gather add a few roundings, counted in the +4 and
in K). ``|A| @ |B|`` is the same convolution applied to the absolute values, computed in
float64 on numpy. K is C/g*KH*KW (forward), O/g*KH*KW + KH*KW (input gradient: one dot product
over every tap in the implicit kernel, or a GEMM then col2im's sum) and N*OH*OW (weight
gradient).

The convolution tests run both OpenCL paths (fixture ``path``): the implicit GEMM that CPU
devices take for one group and strides 1 or 2, and im2col + GEMM (GPUs, groups, 16-bit).
"""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import load_backend

import axoncl as ax
from axoncl.backends import get_backend, primitives

EPS32 = 2.0**-24


@pytest.fixture(scope="module")
def cl():
    return load_backend("opencl")


@pytest.fixture(scope="module")
def npx():
    return get_backend("numpy")


@pytest.fixture(params=["implicit", "im2col"])
def path(request, monkeypatch):
    """Which convolution path the OpenCL backend takes (im2col: implicit switched off)."""
    from axoncl.backends.opencl import conv as cl_conv

    if request.param == "im2col":
        monkeypatch.setattr(cl_conv, "_implicit_ok", lambda *args: False)
    else:
        from axoncl.backends.opencl.device import default_device
        from axoncl.backends.opencl.gemm_params import load_params

        if load_params(default_device()).large != "packed":
            pytest.skip("the implicit convolution is the CPU devices' path (packed GEMM)")
        monkeypatch.setattr(cl_conv, "_IMPLICIT_MIN_MACS", 0)  # the small test problems too
    return request.param


@pytest.fixture
def implicit_calls(monkeypatch):
    """How often the implicit forward/input gradient and weight gradient ran in this test."""
    from axoncl.backends.opencl import conv as cl_conv

    calls = {"implicit": 0, "weight_grad": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(cl_conv, "_conv_implicit", counted("implicit", cl_conv._conv_implicit))
    monkeypatch.setattr(
        cl_conv, "_weight_grad_implicit", counted("weight_grad", cl_conv._weight_grad_implicit)
    )
    return calls


def _fp64(cl) -> bool:
    from axoncl.backends.opencl.device import default_device

    return default_device().caps.fp64


def _dtypes(cl):
    return ("float32", "float64") if _fp64(cl) else ("float32",)


def test_overrides_are_registered_for_the_namespace(cl):
    for prim in (
        primitives.im2col,
        primitives.col2im,
        primitives.conv2d,
        primitives.conv2d_input_grad,
        primitives.conv2d_weight_grad,
        primitives.max_pool2d_argmax,
        primitives.max_pool2d_gather,
        primitives.max_pool2d_gather_index,
        primitives.max_pool2d_scatter,
        primitives.max_pool2d_scatter_index,
        primitives.avg_pool2d,
        primitives.avg_pool2d_backward,
        primitives.philox4x32,
        primitives.dropout,
    ):
        ax.dropout(cl.ones((2,)), 0.5, seed=0)  # any call loads the overrides
        assert prim.implementation(cl) is not prim.portable, prim.name


GEOMETRIES = [  # (N, C, H, W), kernel, stride, padding, dilation
    ((2, 3, 7, 6), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 2, 9, 8), (3, 2), (2, 3), (1, 0), (2, 1)),
    ((3, 1, 5, 5), (1, 1), (1, 1), (0, 0), (1, 1)),
    ((1, 4, 4, 4), (4, 4), (1, 1), (2, 2), (1, 1)),
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_im2col_and_col2im_match_portable(cl, npx, geometry):
    shape, kernel, stride, padding, dilation = geometry
    opts = {"stride": stride, "padding": padding, "dilation": dilation}
    rng = np.random.default_rng(0)
    for dtype in _dtypes(cl):
        x = rng.standard_normal(shape).astype(dtype)
        want = primitives.im2col(x, kernel, xp=npx, pad_value=-2.5, **opts)
        got = primitives.im2col(cl.asarray(x), kernel, xp=cl, pad_value=-2.5, **opts)
        np.testing.assert_array_equal(got.to_numpy(), want)
        col = rng.standard_normal(want.shape).astype(dtype)
        want_x = primitives.col2im(col, shape[2:], kernel, xp=npx, **opts)
        got_x = primitives.col2im(cl.asarray(col), shape[2:], kernel, xp=cl, **opts).to_numpy()
        # col2im sums at most KH*KW entries per pixel, in a different order than numpy.
        tol = (kernel[0] * kernel[1] + 1) * np.finfo(dtype).eps
        np.testing.assert_allclose(
            got_x, want_x, rtol=0, atol=tol * float(np.abs(col).max()) * kernel[0] * kernel[1]
        )
        # Adjointness: <im2col(x), col> == <x, col2im(col)> (zero padding).
        cols0 = primitives.im2col(cl.asarray(x), kernel, xp=cl, **opts).to_numpy()
        lhs = float((cols0.astype(np.float64) * col).sum())
        rhs = float((x.astype(np.float64) * got_x).sum())
        assert abs(lhs - rhs) <= 1e-4 * (1 + abs(lhs)), (lhs, rhs)


CONV_CASES = [  # (N, C, H, W), (O, KH, KW), stride, padding, dilation, groups
    ((2, 3, 9, 7), (8, 3, 3), 1, 1, 1, 1),
    ((3, 4, 8, 8), (6, 3, 3), 2, 1, 1, 2),
    ((2, 6, 7, 9), (6, 3, 3), 1, 2, 2, 6),
    ((4, 5, 6, 6), (7, 1, 1), 1, 0, 1, 1),
    ((1, 2, 11, 5), (3, 5, 2), (2, 1), (2, 0), (1, 2), 1),
    # rows the implicit path takes in float32 (segments of 16): its input gradient too, stride 2
    ((2, 8, 6, 16), (5, 3, 3), 1, 1, 1, 1),
    ((2, 4, 5, 32), (8, 3, 3), 2, 1, 1, 1),
]
# case index -> implicit forward/input-gradient calls on the implicit path (the input gradient
# needs >= 8 channels and stride 1); each also runs the implicit weight gradient once
IMPLICIT_CASES = {0: 1, 5: 2, 6: 1}


def _abs_conv_bounds(x, w, b, gy, opts):
    """``|A| @ |B|`` of the three GEMMs, in float64 on numpy."""
    xa = ax.Variable(np.abs(x).astype(np.float64), requires_grad=True)
    wa = ax.Variable(np.abs(w).astype(np.float64), requires_grad=True)
    y = ax.conv2d(xa, wa, ax.Variable(np.abs(b).astype(np.float64)), **opts)
    y.backward(np.abs(gy).astype(np.float64))
    return y.numpy(), xa.grad.numpy(), wa.grad.numpy()


@pytest.mark.parametrize("small_per_image", [True, False], ids=["small-per-image", "by-size"])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_float32_forward_and_gradients_within_derived_bounds(
    cl, monkeypatch, path, implicit_calls, case, small_per_image
):
    """Both weight-gradient paths: small problems take the per-image one unless the test
    switches that off, when the cases with more partial sums than columns take the long-K GEMM."""
    from axoncl.backends.opencl import conv as cl_conv

    if not small_per_image:
        monkeypatch.setattr(cl_conv, "_SMALL_WEIGHT_GRAD", 0)
    shape, (o, kh, kw), stride, padding, dilation, groups = case
    opts = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((o, shape[1] // groups, kh, kw)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    ref_x, ref_w, ref_b = (ax.Variable(v.astype(np.float64), requires_grad=True) for v in (x, w, b))
    ref = ax.conv2d(ref_x, ref_w, ref_b, **opts)
    gy = rng.standard_normal(ref.shape).astype(np.float32)
    ref.backward(gy.astype(np.float64))
    cx, cw, cb = (ax.Variable(cl.asarray(v), requires_grad=True) for v in (x, w, b))
    y = ax.conv2d(cx, cw, cb, **opts)
    y.backward(cl.asarray(gy))
    bound_y, bound_x, bound_w = _abs_conv_bounds(x, w, b, gy, opts)
    p = ref.shape[2] * ref.shape[3]
    checks = [
        ("output", y, ref, bound_y, shape[1] // groups * kh * kw),
        ("input gradient", cx.grad, ref_x.grad, bound_x, (o // groups + 1) * kh * kw),
        ("weight gradient", cw.grad, ref_w.grad, bound_w, shape[0] * p),
        ("bias gradient", cb.grad, ref_b.grad, np.abs(gy).sum(axis=(0, 2, 3)), shape[0] * p),
    ]
    expected = IMPLICIT_CASES.get(CONV_CASES.index(case), 0) if path == "implicit" else 0
    assert implicit_calls == {"implicit": expected, "weight_grad": min(expected, 1)}
    for what, got, want, bound, k in checks:
        tol = (k + 4) * EPS32 * bound * 1.01 + 1e-30
        err = np.abs(got.numpy().astype(np.float64) - want.numpy())
        worst = np.unravel_index(np.argmax(err - tol), err.shape)
        assert (err <= tol).all(), (
            f"{what}: at {worst} got {got.numpy()[worst]}, expected "
            f"{want.numpy()[worst]} (tolerance {tol[worst]})"
        )


def test_conv2d_accepts_views_and_chunks_the_batch(cl, monkeypatch, path):
    if not _fp64(cl):
        pytest.skip("device lacks cl_khr_fp64")
    rng = np.random.default_rng(2)
    base = rng.standard_normal((6, 7, 3, 5))  # permuted below to (7, 3, 6, 5): not contiguous
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    opts = {"stride": 1, "padding": 1}

    def run(xp, x_host):
        x = ax.Variable(xp.permute_dims(xp.asarray(x_host), (1, 2, 0, 3))[1:], requires_grad=True)
        wv = ax.Variable(xp.asarray(w), requires_grad=True)
        y = ax.conv2d(x, wv, ax.Variable(xp.asarray(b)), **opts)
        (y * y).sum().backward()
        return y.numpy(), x.grad.numpy(), wv.grad.numpy()

    want = run(get_backend("numpy"), base)
    monkeypatch.setattr(primitives, "COLUMN_BUDGET", 3 * 9 * 30 * 2)  # 2 images per chunk
    got = run(cl, base)
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-11)


GRADCHECK_CASES = [  # (N, C, H, W), (O, KH, KW), stride, padding, dilation; float64: VW = 8
    ((2, 9, 5, 16), (10, 3, 3), 1, 1, 1),  # rows of two whole segments of 8 pixels
    ((2, 8, 6, 14), (3, 5, 3), 1, (2, 1), (1, 2)),  # a partial segment (14 of 16 lanes)
    ((1, 8, 5, 7), (9, 3, 3), 2, 2, 2),  # two-row segments of 4, odd height (3), stride 2
    ((1, 3, 8, 8), (4, 1, 1), 2, 0, 1),  # 1x1 stride 2, read in place
]


@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=str)
def test_conv2d_gradcheck_float64_on_both_paths(cl, path, implicit_calls, case):
    if not _fp64(cl):
        pytest.skip("device lacks cl_khr_fp64")
    shape, (o, kh, kw), stride, padding, dilation = case
    rng = np.random.default_rng(11)
    inputs = [
        ax.Variable(cl.asarray(rng.standard_normal(shape)), requires_grad=True),
        ax.Variable(cl.asarray(rng.standard_normal((o, shape[1], kh, kw))), requires_grad=True),
        ax.Variable(cl.asarray(rng.standard_normal(o)), requires_grad=True),
    ]
    opts = {"stride": stride, "padding": padding, "dilation": dilation}
    assert ax.gradcheck(lambda *a: ax.conv2d(*a, **opts), inputs)
    calls = implicit_calls
    if path == "implicit":  # this gradcheck ran the implicit forward and weight gradient
        assert calls["implicit"] > 0 and calls["weight_grad"] > 0, calls
    else:
        assert calls == {"implicit": 0, "weight_grad": 0}, calls


POOLS = [
    ((2, 3, 7, 6), 2, None, 0, 1),
    ((1, 2, 9, 8), 3, 2, 1, 1),
    ((2, 1, 6, 7), (3, 2), (2, 1), (1, 0), (2, 1)),
]


@pytest.mark.parametrize("case", POOLS, ids=str)
def test_pooling_matches_numpy(cl, case):
    shape, kernel, stride, padding, dilation = case
    rng = np.random.default_rng(3)
    for dtype in _dtypes(cl):
        x = rng.standard_normal(shape).astype(dtype)
        x[0, 0, :2, :2] = 0.5  # a tie
        fns = [lambda v: ax.max_pool2d(v, kernel, stride, padding, dilation)]
        if dilation == 1:
            fns.append(lambda v: ax.avg_pool2d(v, kernel, stride, padding))
        for fn in fns:
            ref_x = ax.Variable(x, requires_grad=True)
            ref = fn(ref_x)
            gy = rng.standard_normal(ref.shape).astype(dtype)
            ref.backward(gy)
            cx = ax.Variable(cl.asarray(x), requires_grad=True)
            y = fn(cx)
            y.backward(cl.asarray(gy))
            # Each value sums at most KH*KW terms (over windows), in another order than numpy.
            k = np.prod(np.broadcast_to(kernel, (2,)))
            tol = (k + 2) * np.finfo(dtype).eps * float(np.abs(gy).max()) * k
            np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=0, atol=tol)
            np.testing.assert_allclose(cx.grad.numpy(), ref_x.grad.numpy(), rtol=0, atol=tol)


ARGMAX_POOLS = [  # kernel, stride, padding, dilation: row kernels (no padding) and generic
    ((2, 2), (2, 2), (0, 0), (1, 1)),
    ((3, 3), (2, 2), (0, 0), (1, 1)),  # overlapping windows
    ((2, 2), (3, 3), (0, 0), (1, 1)),  # gaps between windows
    ((3, 2), (1, 2), (0, 0), (1, 1)),
    ((3, 3), (2, 2), (1, 1), (1, 1)),  # generic kernels: padding
    ((2, 3), (1, 2), (1, 1), (2, 1)),  # generic kernels: dilation
]


@pytest.mark.parametrize("geometry", ARGMAX_POOLS, ids=str)
def test_max_pool2d_argmax_keeps_nan_tie_and_padding_rules(cl, npx, geometry):
    kernel, stride, padding, dilation = geometry
    opts = {"stride": stride, "padding": padding, "dilation": dilation}
    rng = np.random.default_rng(6)
    for dtype in _dtypes(cl):
        x = rng.integers(-3, 3, (2, 3, 9, 10)).astype(dtype)  # many ties
        x[0, 0, rng.integers(0, 9, 12), rng.integers(0, 10, 12)] = np.nan
        x[1, 1] = -np.inf  # padding ties with real -inf values: the first tap wins
        x[1, 2, ::2] = np.nan
        want, want_idx = primitives.max_pool2d_argmax(x, kernel, xp=npx, **opts)
        got, got_idx = primitives.max_pool2d_argmax(cl.asarray(x), kernel, xp=cl, **opts)
        np.testing.assert_array_equal(got.to_numpy(), want)
        np.testing.assert_array_equal(got_idx.to_numpy(), want_idx)
        g = rng.standard_normal(want.shape).astype(dtype)
        want_dx = primitives.max_pool2d_scatter_index(
            want_idx, g, x.shape[2:], kernel, xp=npx, **opts
        )
        got_dx = primitives.max_pool2d_scatter_index(
            got_idx, cl.asarray(g), x.shape[2:], kernel, xp=cl, **opts
        ).to_numpy()
        k = kernel[0] * kernel[1]  # a pixel sums at most k windows, in another order
        np.testing.assert_allclose(
            got_dx, want_dx, rtol=0, atol=k * k * np.finfo(dtype).eps * float(np.abs(g).max())
        )
        v = rng.standard_normal(x.shape).astype(dtype)
        want_v = primitives.max_pool2d_gather_index(want_idx, v, kernel, xp=npx, **opts)
        got_v = primitives.max_pool2d_gather_index(got_idx, cl.asarray(v), kernel, xp=cl, **opts)
        np.testing.assert_array_equal(got_v.to_numpy(), want_v)


@pytest.mark.parametrize("n", [1, 3, 4, 1001])
def test_dropout_is_bitwise_equal_to_numpy(cl, n):
    rng = np.random.default_rng(4)
    for dtype in _dtypes(cl):
        x = rng.standard_normal(n).astype(dtype)
        want = ax.dropout(x, 0.37, seed=0xDEADBEEF12345).numpy()
        got = ax.dropout(cl.asarray(x), 0.37, seed=0xDEADBEEF12345).numpy()
        np.testing.assert_array_equal(got, want)


def test_dropout_of_a_view_uses_c_order_indices(cl):
    x = np.random.default_rng(5).standard_normal((5, 6)).astype(np.float32)
    want = ax.dropout(np.ascontiguousarray(x.T[1:]), 0.5, seed=9).numpy()
    got = ax.dropout(cl.asarray(x).T[1:], 0.5, seed=9).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "shape, weight, opts",
    [
        ((4, 3, 9, 9), (5, 3, 3, 3), {"padding": 1}),  # per-image weight gradient
        ((6, 8, 3, 3), (64, 8, 3, 3), {"padding": 1}),  # long-K weight gradient
        ((5, 4, 8, 8), (6, 2, 3, 3), {"stride": 2, "groups": 2}),
    ],
    ids=["per-image", "long-K", "grouped"],
)
def test_weight_grad_from_kept_columns_is_bit_identical(cl, monkeypatch, path, shape, weight, opts):
    """Training keeps each forward's column matrix (implicit path: its padded images) for the
    weight gradient; the gradients equal those computed from fresh ones (budget 0) bit for
    bit, and over several chunks."""
    from axoncl.backends.opencl import conv as cl_conv

    monkeypatch.setattr(cl_conv, "_SMALL_WEIGHT_GRAD", 0)  # the long-K case takes that path
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal(shape).astype(np.float32)
    w0 = rng.standard_normal(weight).astype(np.float32)
    g0 = rng.standard_normal((shape[0], weight[0])).astype(np.float32)

    def grads(budget: int, column_budget: int) -> list[np.ndarray]:
        monkeypatch.setattr(primitives, "KEPT_COLUMNS_BUDGET", budget)
        monkeypatch.setattr(primitives, "COLUMN_BUDGET", column_budget)
        x = ax.Variable(cl.asarray(x0), requires_grad=True)
        w = ax.Variable(cl.asarray(w0), requires_grad=True)
        y = ax.conv2d(x, w, **opts)
        y.mean(axis=(2, 3)).backward(cl.asarray(g0))
        return [x.grad.numpy(), w.grad.numpy()]

    for column_budget in (1 << 24, 200):  # one chunk, then a chunk per image or two
        fresh = grads(0, column_budget)
        kept = grads(1 << 25, column_budget)
        for a, b in zip(fresh, kept, strict=True):
            np.testing.assert_array_equal(a, b)


def test_kept_columns_live_with_their_graph_within_the_budget(cl, monkeypatch, path):
    """Kept columns (implicit path: padded images) are counted against the device's budget
    while they exist: freed by the backward that uses them, or with a graph dropped without
    backward (no leak); a forward over the budget keeps nothing and its backward rebuilds
    them."""
    import gc

    from axoncl.backends.opencl import conv as cl_conv

    x0 = np.random.default_rng(6).standard_normal((2, 3, 6, 6)).astype(np.float32)
    w0 = np.ones((4, 3, 3, 3), np.float32)
    x_cl = cl.asarray(x0)
    kept = cl_conv._kept_columns(x_cl.device)
    gc.collect()
    base = kept.elements
    if path == "im2col":
        per_layer = 3 * 9 * 2 * 36
    else:  # the padded images: 6x6 output rows of 6 <= 8 pixels are two-row segments of 8
        hp, wp = cl_conv._layout(x_cl, 6, 6, 1, (2, 2), (1, 1), 16)
        assert (hp, wp) == (8, 10)
        per_layer = 2 * 3 * hp * wp

    def forward():
        x = ax.Variable(cl.asarray(x0), requires_grad=True)
        w = ax.Variable(cl.asarray(w0), requires_grad=True)
        return w, ax.conv2d(x, w, padding=1)

    w, y = forward()
    assert kept.elements == base + per_layer
    y.sum().backward()
    del y
    gc.collect()
    assert kept.elements == base  # used by the weight gradient, then freed
    _, y = forward()
    assert kept.elements == base + per_layer
    del y
    gc.collect()
    assert kept.elements == base  # dropped with the graph
    monkeypatch.setattr(primitives, "KEPT_COLUMNS_BUDGET", base + per_layer - 1)
    w2, y = forward()
    assert kept.elements == base  # over the budget: nothing kept
    y.sum().backward()
    np.testing.assert_array_equal(w2.grad.numpy(), w.grad.numpy())
