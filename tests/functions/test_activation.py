"""Activations: closed forms, kinks, and stability for large inputs."""

from __future__ import annotations

import math

import numpy as np
from xp_backends import assert_close, host, require_float64, var

import axoncl


def test_relu_gradient_is_one_above_zero_and_zero_at_and_below(xp):
    require_float64(xp)
    x = var(xp, [-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    assert_close(x.grad, [0.0, 0.0, 1.0])


def test_leaky_relu_slope(xp):
    require_float64(xp)
    x = var(xp, [-1.0, 2.0])
    axoncl.leaky_relu(x, 0.2).sum().backward()
    assert_close(x.grad, [0.2, 1.0])


def test_sigmoid_and_tanh_closed_forms(xp):
    require_float64(xp)
    v = np.array([-1.5, 0.0, 2.0])
    x = var(xp, v)
    (x.sigmoid() + x.tanh()).sum().backward()
    s = 1 / (1 + np.exp(-v))
    assert_close(x.grad, s * (1 - s) + 1 - np.tanh(v) ** 2)


def test_large_inputs_stay_finite(xp):
    require_float64(xp)
    v = np.array([-1000.0, -30.0, 30.0, 1000.0])
    x = var(xp, v)
    out = x.sigmoid() + axoncl.softplus(x) + axoncl.elu(x) + x.log_softmax() + x.softmax()
    out.sum().backward()
    assert np.isfinite(host(out)).all() and np.isfinite(host(x.grad)).all()
    assert_close(x.sigmoid(), [0.0, 1 / (1 + math.exp(30)), 1 / (1 + math.exp(-30)), 1.0])
    assert_close(
        axoncl.softplus(x),
        [0.0, math.log1p(math.exp(-30)), 30 + math.log1p(math.exp(-30)), 1000.0],
        atol=1e-12,
    )


def test_softmax_gradient_of_a_weighted_sum(xp):
    require_float64(xp)
    v = np.array([[0.1, 1.0, -0.5]])
    w = np.array([[1.0, -2.0, 0.5]])
    x = var(xp, v)
    (x.softmax() * var(xp, w, requires_grad=False)).sum().backward()
    s = np.exp(v) / np.exp(v).sum()
    assert_close(x.grad, s * (w - (w * s).sum()))  # s ⊙ (w - <w, s>)


def test_log_softmax_rows_sum_to_one_after_exp(xp):
    require_float64(xp)
    x = var(xp, [[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]])
    assert_close(x.log_softmax().exp().sum(axis=1), [1.0, 1.0])


def test_gelu_matches_its_definitions(xp):
    require_float64(xp)
    v = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    x = var(xp, v)
    exact = [t * 0.5 * (1 + math.erf(t / math.sqrt(2))) for t in v]
    c = math.sqrt(2 / math.pi)
    approx = 0.5 * v * (1 + np.tanh(c * (v + 0.044715 * v**3)))
    # The portable erf is a fit with 1.2e-7 relative error; numpy's is exact.
    assert_close(axoncl.gelu(x), exact, atol=1e-7)
    assert_close(axoncl.gelu(x, approximate="tanh"), approx)
    axoncl.gelu(x).sum().backward()
    pdf = np.exp(-(v**2) / 2) / math.sqrt(2 * math.pi)
    cdf = np.array([0.5 * (1 + math.erf(t / math.sqrt(2))) for t in v])
    assert_close(x.grad, cdf + v * pdf, atol=1e-6)  # Φ(x) + x φ(x)


def test_silu_and_elu_closed_forms(xp):
    require_float64(xp)
    v = np.array([-1.0, 0.5])
    x = var(xp, v)
    (axoncl.silu(x) + axoncl.elu(x, alpha=0.5)).sum().backward()
    s = 1 / (1 + np.exp(-v))
    assert_close(x.grad, s * (1 + v * (1 - s)) + np.where(v > 0, 1.0, 0.5 * np.exp(v)))
