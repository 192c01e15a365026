"""Losses: closed forms, reductions, ignore_index, label smoothing, clamped logs."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, host, require_float64, to_xp, var

import axoncl
from axoncl import Variable


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("reduction, scale", [("mean", 1 / 4), ("sum", 1.0)])
def test_mse_and_l1_closed_forms(xp, reduction, scale):
    require_float64(xp)
    v, t = np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.0, -1.0, 1.0, 3.5])
    x = var(xp, v)
    target = var(xp, t, requires_grad=False)
    loss = x.mse_loss(target, reduction=reduction) + axoncl.l1_loss(x, target, reduction)
    assert_close(loss, scale * (((v - t) ** 2).sum() + np.abs(v - t).sum()))
    loss.backward()
    assert_close(x.grad, scale * (2 * (v - t) + np.sign(v - t)))


def test_mse_reduction_none_keeps_the_shape(xp):
    require_float64(xp)
    x = var(xp, np.ones((2, 3)))
    assert x.mse_loss(var(xp, np.zeros((2, 3)), requires_grad=False), "none").shape == (2, 3)


def test_binary_cross_entropy_closed_form(xp):
    require_float64(xp)
    p, t = np.array([0.2, 0.9, 0.5]), np.array([0.0, 1.0, 0.3])
    x = var(xp, p)
    loss = x.binary_cross_entropy(var(xp, t, requires_grad=False))
    assert_close(loss, -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())
    loss.backward()
    assert_close(x.grad, (p - t) / (p * (1 - p)) / 3)


def test_binary_cross_entropy_at_zero_and_one_is_finite(xp):
    require_float64(xp)
    x = var(xp, [0.0, 1.0, 0.0, 1.0])
    t = var(xp, [1.0, 0.0, 0.0, 1.0], requires_grad=False)
    loss = x.binary_cross_entropy(t, reduction="sum")
    assert_close(loss, 200.0)  # the wrong-side logs are clamped at -100, as in PyTorch
    loss.backward()
    assert np.isfinite(host(x.grad)).all(), host(x.grad)
    # -t/p + (1-t)/(1-p) with p and 1-p floored at 1e-12, as in PyTorch: large but finite on
    # the wrong side, so a saturated sigmoid still gets a finite gradient.
    assert_close(x.grad, [-1e12, 1e12, 1.0, -1.0])


def test_binary_cross_entropy_of_a_saturated_sigmoid_has_a_finite_gradient(xp):
    # sigmoid(-100) is a float32 denormal: 1/p overflowed to inf before the floor at 1e-12.
    x = var(xp, [-100.0, 100.0], dtype="float32")
    t = var(xp, [1.0, 0.0], requires_grad=False, dtype="float32")
    loss = axoncl.binary_cross_entropy(axoncl.sigmoid(x), t, reduction="sum")
    loss.backward()
    g = host(x.grad)
    assert np.isfinite(g).all(), g
    # JAX (XLA on the CPU) flushes float32 denormals to zero: there sigmoid(-100) is 0, its
    # derivative p(1 - p) is 0 too, and the first gradient is exactly zero instead of tiny.
    flushes_denormals = host(xp.exp(to_xp(xp, [-100.0], "float32")))[0] == 0.0
    assert g[0] < 0 or (flushes_denormals and g[0] == 0.0), g
    assert g[1] >= 0, g
    assert float(host(loss.data)) == pytest.approx(200.0, rel=1e-3)


def test_binary_cross_entropy_with_logits_matches_sigmoid_form(xp):
    require_float64(xp)
    z, t = np.array([-40.0, -1.0, 0.5, 40.0]), np.array([1.0, 0.0, 1.0, 0.0])
    x = var(xp, z)
    loss = axoncl.binary_cross_entropy_with_logits(x, var(xp, t, requires_grad=False), "sum")
    assert_close(loss, (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).sum())
    loss.backward()
    assert_close(x.grad, 1 / (1 + np.exp(-z)) - t)  # σ(z) - t


def test_cross_entropy_gradient_is_softmax_minus_one_hot(xp):
    require_float64(xp)
    v = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    t = np.array([2, 0])
    x = var(xp, v)
    loss = axoncl.cross_entropy(x, Variable(to_xp(xp, t, "int64")))
    p = _softmax(v)
    assert_close(loss, -np.log(p[[0, 1], t]).mean())
    loss.backward()
    assert_close(x.grad, (p - np.eye(3)[t]) / 2)


def test_cross_entropy_ignore_index_drops_entries_from_sum_and_count(xp):
    require_float64(xp)
    v = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 2.0]])
    t = np.array([2, -100, 1])
    x = var(xp, v)
    loss = axoncl.cross_entropy(x, Variable(to_xp(xp, t, "int64")))
    p = _softmax(v)
    assert_close(loss, -(np.log(p[0, 2]) + np.log(p[2, 1])) / 2)
    loss.backward()
    assert_close(host(x.grad)[1], np.zeros(3))


def test_cross_entropy_label_smoothing(xp):
    require_float64(xp)
    v = np.array([[1.0, 2.0, 0.5]])
    x = var(xp, v)
    loss = axoncl.cross_entropy(x, Variable(to_xp(xp, [1], "int64")), label_smoothing=0.3)
    weights = np.array([0.1, 0.8, 0.1])  # (1 - 0.3) one-hot + 0.3 / 3
    assert_close(loss, -(weights * np.log(_softmax(v))).sum())


def test_nll_loss_picks_the_target_log_probability(xp):
    require_float64(xp)
    v = np.log(np.array([[0.2, 0.8], [0.6, 0.4]]))
    x = var(xp, v)
    loss = axoncl.nll_loss(x, Variable(to_xp(xp, [1, 0], "int64")), reduction="sum")
    assert_close(loss, -(np.log(0.8) + np.log(0.6)))
    loss.backward()
    assert_close(x.grad, [[0.0, -1.0], [-1.0, 0.0]])
