"""conv2d, conv1d, max_pool2d, avg_pool2d, adaptive_avg_pool2d and dropout on every backend.

Forward values are checked against direct float64 loops (the textbook definitions, written
independently of im2col), gradients against central differences (gradcheck, float64). The
gradchecks of the standard samples live in ``tests/op_samples.py``; the cases here add the
geometries those samples leave out.
"""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, host, require_float64, var

import axoncl as ax
from axoncl import gradcheck, gradgradcheck
from axoncl.backends import backend_name, primitives

# ---- float64 references -------------------------------------------------------------------


def conv2d_reference(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                patch = xpad[
                    :,
                    g * cg : (g + 1) * cg,
                    i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                    j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                ]
                y[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    if b is not None:
        y += b[None, :, None, None]
    return y


def pool_reference(x, kernel, stride, padding, reduce, fill, dilation=(1, 1)):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xpad[
                :,
                :,
                i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                j * sw : j * sw + dw * (kw - 1) + 1 : dw,
            ]
            out[:, :, i, j] = reduce(win.reshape(n, c, -1), axis=2)
    return out


def adaptive_reference(x, oh, ow):
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            h0, h1 = (i * h) // oh, -(-(i + 1) * h // oh)
            w0, w1 = (j * w) // ow, -(-(j + 1) * w // ow)
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# (N, C, H, W), (O, KH, KW), stride, padding, dilation, groups, bias
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3), 1, 1, 1, 1, True),
    ((1, 2, 9, 8), (3, 3, 3), 2, 1, 1, 1, False),
    ((2, 4, 7, 7), (6, 2, 3), (2, 1), (1, 0), 2, 2, True),
    ((1, 3, 5, 5), (3, 3, 3), 1, 1, 1, 3, True),  # depthwise
    ((3, 4, 4, 5), (2, 1, 1), 1, 0, 1, 1, True),  # 1x1: no im2col
    ((1, 2, 5, 6), (2, 1, 1), 2, 0, 1, 2, False),  # 1x1 strided: im2col
    ((1, 1, 3, 3), (1, 3, 3), 1, 0, 1, 1, True),  # output 1x1
    ((2, 9, 5, 11), (10, 3, 3), 1, 1, 1, 1, True),
    ((1, 8, 7, 3), (9, 3, 3), 2, 2, 2, 1, False),
]


def _conv_inputs(xp, case, rng):
    xs, (o, kh, kw), stride, padding, dilation, groups, with_bias = case
    x = rng.standard_normal(xs)
    w = rng.standard_normal((o, xs[1] // groups, kh, kw))
    b = rng.standard_normal(o) if with_bias else None
    opts = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return x, w, b, opts


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_forward_matches_direct_loops(xp, case):
    require_float64(xp)
    x, w, b, opts = _conv_inputs(xp, case, np.random.default_rng(0))
    y = ax.conv2d(var(xp, x), var(xp, w), None if b is None else var(xp, b), **opts)
    expected = conv2d_reference(
        x,
        w,
        b,
        _pair(opts["stride"]),
        _pair(opts["padding"]),
        _pair(opts["dilation"]),
        opts["groups"],
    )
    assert_close(y, expected, atol=1e-12, what="conv2d")


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_gradcheck(xp, case):
    require_float64(xp)
    x, w, b, opts = _conv_inputs(xp, case, np.random.default_rng(1))
    inputs = [var(xp, x), var(xp, w)] + ([var(xp, b)] if b is not None else [])
    assert gradcheck(lambda *a: ax.conv2d(*a, **opts), inputs)


def test_conv2d_gradgradcheck_with_bias_and_groups(xp):
    require_float64(xp)
    rng = np.random.default_rng(2)
    inputs = [
        var(xp, rng.standard_normal((1, 4, 4, 5))),
        var(xp, rng.standard_normal((2, 2, 2, 3))),
        var(xp, rng.standard_normal(2)),
    ]
    assert gradgradcheck(
        lambda x, w, b: ax.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2), inputs
    )


def test_conv2d_chunked_batch_matches_one_chunk(xp, monkeypatch):
    require_float64(xp)
    rng = np.random.default_rng(3)
    x = var(xp, rng.standard_normal((5, 2, 6, 5)))
    w = var(xp, rng.standard_normal((3, 2, 3, 3)))
    y = ax.conv2d(x, w, stride=1, padding=1)
    gy = var(xp, rng.standard_normal(y.shape), requires_grad=False)
    gx, gw = ax.grad([y], [x, w], [gy])
    monkeypatch.setattr(primitives, "COLUMN_BUDGET", 2 * 9 * 30 * 2)  # two images per chunk
    y2 = ax.conv2d(x, w, stride=1, padding=1)
    gx2, gw2 = ax.grad([y2], [x, w], [gy])
    assert_close(y2, host(y), what="forward")
    assert_close(gx2, host(gx), what="input gradient")
    assert_close(gw2, host(gw), what="weight gradient")


def test_conv2d_empty_batch(xp):
    require_float64(xp)
    x = var(xp, np.zeros((0, 2, 5, 5)))
    w = var(xp, np.ones((3, 2, 3, 3)))
    y = ax.conv2d(x, w, padding=1)
    assert y.shape == (0, 3, 5, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5)
    assert_close(w.grad, np.zeros((3, 2, 3, 3)), what="weight gradient")


def test_conv1d_matches_direct_loops_and_gradcheck(xp):
    require_float64(xp)
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    y = ax.conv1d(var(xp, x), var(xp, w), var(xp, b), stride=2, padding=2, dilation=2, groups=2)
    expected = conv2d_reference(x[:, :, None], w[:, :, None], b, (1, 2), (0, 2), (1, 2), 2)[:, :, 0]
    assert_close(y, expected, atol=1e-12, what="conv1d")
    assert gradcheck(
        lambda x, w: ax.conv1d(x, w, padding=1),
        [var(xp, x[:1, :, :5]), var(xp, rng.standard_normal((2, 4, 2)))],
    )


# ---- errors -------------------------------------------------------------------------------


def test_conv2d_wrong_channel_count_names_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"conv2d: expected input with .* channels.*\(1, 3, 5, 5\)"
        r".*\(4, 2, 3, 3\)",
    ):
        ax.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match="conv2d: expected out_channels divisible by groups"):
        ax.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2)


def test_conv2d_wrong_rank_raises():
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D input .* got shape \(3, 5, 5\)"):
        ax.conv2d(np.zeros((3, 5, 5)), np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError, match="conv2d: expected a 4-D weight"):
        ax.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((4, 3, 3)))
    with pytest.raises(ValueError, match="conv1d: expected a 3-D input"):
        ax.conv1d(np.zeros((1, 3, 5, 5)), np.zeros((4, 3, 3)))


def test_kernel_larger_than_padded_input_raises():
    with pytest.raises(
        ValueError,
        match=r"conv2d: the kernel \(5 .*larger than the padded input "
        r"height \(2 \+ 2\*1\)",
    ):
        ax.conv2d(np.zeros((1, 1, 2, 8)), np.zeros((1, 1, 5, 3)), padding=1)
    with pytest.raises(ValueError, match="max_pool2d: the kernel"):
        ax.max_pool2d(np.zeros((1, 1, 2, 2)), 3, padding=1, dilation=2)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="conv2d: expected stride as an int >= 1"):
        ax.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0)
    with pytest.raises(ValueError, match=r"conv2d: expected bias of shape \(2,\)"):
        ax.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="max_pool2d: expected padding at most half"):
        ax.max_pool2d(np.zeros((1, 1, 5, 5)), 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d: expected a 4-D input"):
        ax.avg_pool2d(np.zeros((5, 5)), 2)
    with pytest.raises(ValueError, match=r"dropout: expected p in \[0, 1\]"):
        ax.dropout(np.zeros(3), 1.5)


# ---- pooling ------------------------------------------------------------------------------

# kernel, stride, padding, dilation
POOL_CASES = [
    (2, None, 0, 1),
    (3, 2, 1, 1),
    ((3, 2), (2, 1), (1, 0), 1),
    (2, 1, 1, 2),
    ((1, 3), 1, (0, 1), 1),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_max_pool2d_forward_and_gradcheck(xp, case):
    require_float64(xp)
    kernel, stride, padding, dilation = case
    rng = np.random.default_rng(5)
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) * 0.25  # distinct: no ties
    y = ax.max_pool2d(var(xp, x), kernel, stride, padding, dilation)
    s = _pair(kernel) if stride is None else _pair(stride)
    expected = pool_reference(x, _pair(kernel), s, _pair(padding), np.max, -np.inf, _pair(dilation))
    assert_close(y, expected, what="max_pool2d")
    assert gradcheck(
        lambda v: ax.max_pool2d(v, kernel, stride, padding, dilation), [var(xp, x[:1, :2])]
    )


def test_max_pool2d_tie_sends_gradient_to_first_maximum(xp):
    x = var(xp, np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 3.0]]]]))
    y = ax.max_pool2d(x, 2)
    y.backward(var(xp, np.array([[[[10.0, 20.0]]]]), requires_grad=False))
    assert_close(
        x.grad,
        np.array([[[[0.0, 10.0, 20.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]),
        what="gradient of tied windows",
    )


def test_max_pool2d_padding_never_wins(xp):
    x = var(xp, -np.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    y = ax.max_pool2d(x, 3, stride=1, padding=1)
    expected = pool_reference(host(x), (3, 3), (1, 1), (1, 1), np.max, -np.inf)
    assert_close(y, expected, what="max_pool2d of negative values")
    assert float(host(y).max()) < 0


@pytest.mark.parametrize("case", [c for c in POOL_CASES if c[3] == 1], ids=str)
def test_avg_pool2d_counts_padding(xp, case):
    require_float64(xp)
    kernel, stride, padding, _ = case
    x = np.random.default_rng(6).standard_normal((2, 3, 7, 6))
    y = ax.avg_pool2d(var(xp, x), kernel, stride, padding)
    s = _pair(kernel) if stride is None else _pair(stride)
    expected = pool_reference(x, _pair(kernel), s, _pair(padding), np.mean, 0.0)
    assert_close(y, expected, atol=1e-12, what="avg_pool2d")
    assert gradcheck(lambda v: ax.avg_pool2d(v, kernel, stride, padding), [var(xp, x[:1, :2])])


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (2, 3), (5, 4), (7, 6), 4])
def test_adaptive_avg_pool2d_uses_pytorch_windows(xp, size):
    require_float64(xp)
    x = np.random.default_rng(7).standard_normal((2, 2, 5, 4))
    y = ax.adaptive_avg_pool2d(var(xp, x), size)
    assert_close(y, adaptive_reference(x, *_pair(size)), atol=1e-12, what="adaptive_avg_pool2d")
    assert gradcheck(lambda v: ax.adaptive_avg_pool2d(v, size), [var(xp, x[:1])])


# ---- dropout ------------------------------------------------------------------------------


def test_dropout_mask_is_the_same_on_every_backend(xp):
    x = np.random.default_rng(8).uniform(1.0, 2.0, (3, 7, 5))
    expected = host(ax.dropout(x, 0.3, seed=2**40 + 17))
    for name in ("float32", "float64") if backend_name(xp) != "opencl" else ("float32",):
        got = host(ax.dropout(var(xp, x, dtype=name), 0.3, seed=2**40 + 17))
        assert np.array_equal(got == 0, expected == 0), f"mask differs in {name}"
        assert_close(got, expected.astype(name), atol=0, rtol=1e-6, what=f"dropout {name}")


def test_dropout_keeps_about_one_minus_p_and_rescales():
    y = ax.dropout(np.ones(100_000), 0.25, seed=3).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    assert np.allclose(y[kept], 1 / 0.75)


def test_dropout_backward_reuses_the_mask(xp):
    require_float64(xp)
    x = var(xp, np.random.default_rng(9).uniform(1.0, 2.0, (4, 6)))
    y = ax.dropout(x, 0.5, seed=11)
    y.sum().backward()
    assert_close(x.grad, host(y) / host(x), atol=1e-12, what="dropout gradient")
    assert gradcheck(lambda v: ax.dropout(v, 0.5, seed=11), [x])


def test_dropout_edge_cases():
    x = ax.Variable(np.ones((2, 3)), requires_grad=True)
    assert ax.dropout(x, 0.5, training=False) is x
    assert ax.dropout(x, 0.0, seed=1) is x
    assert np.array_equal(ax.dropout(x, 1.0, seed=1).numpy(), np.zeros((2, 3)))
    a = ax.dropout(np.ones(64), 0.5, seed=5).numpy()
    assert not np.array_equal(a, ax.dropout(np.ones(64), 0.5, seed=6).numpy())
    ax.manual_seed(123)
    first = ax.dropout(np.ones(64), 0.5).numpy()
    ax.manual_seed(123)
    assert np.array_equal(first, ax.dropout(np.ones(64), 0.5).numpy())
