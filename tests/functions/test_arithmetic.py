"""Elementwise arithmetic: closed-form gradients and the conventions at kinks and ties.
(Central-difference checks of every op are in test_rules.py.)"""

from __future__ import annotations

import math

import numpy as np
from xp_backends import assert_close, require_float64, to_xp, var

import axoncl
from axoncl import Variable


def test_add_sums_the_gradient_over_broadcast_axes(xp):
    require_float64(xp)
    x = var(xp, np.zeros((2, 3)))
    b = var(xp, np.zeros(3))
    s = var(xp, 0.0)
    (x + b + s).sum().backward()
    assert_close(x.grad, np.ones((2, 3)))
    assert_close(b.grad, [2.0, 2.0, 2.0])
    assert_close(s.grad, 6.0)


def test_multiply_and_divide_closed_forms(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    y = var(xp, [4.0, -0.5])
    (x * y + x / y).sum().backward()
    assert_close(x.grad, [4.0 + 1 / 4.0, -0.5 - 2.0])  # y + 1/y
    assert_close(y.grad, [1.0 - 1 / 16.0, 2.0 - 2.0 / 0.25])  # x - x/y²


def test_pow_closed_forms(xp):
    require_float64(xp)
    x = var(xp, [1.5, 2.0])
    e = var(xp, [2.0, 0.5])
    (x**e).sum().backward()
    assert_close(x.grad, [2.0 * 1.5, 0.5 / math.sqrt(2.0)])  # e x^(e-1)
    assert_close(e.grad, [1.5**2 * math.log(1.5), math.sqrt(2.0) * math.log(2.0)])  # x^e ln x


def test_pow_exponent_gradient_is_zero_where_the_base_is_not_positive(xp):
    require_float64(xp)
    x = var(xp, [-2.0, 0.0, 3.0], requires_grad=False)
    e = var(xp, [2.0, 2.0, 2.0])
    (x**e).sum().backward()
    assert_close(e.grad, [0.0, 0.0, 9.0 * math.log(3.0)])


def test_abs_gradient_at_zero_is_zero(xp):
    require_float64(xp)
    x = var(xp, [-2.0, 0.0, 3.0])
    abs(x).sum().backward()
    assert_close(x.grad, [-1.0, 0.0, 1.0])


def test_clip_passes_the_gradient_at_its_bounds(xp):
    require_float64(xp)
    x = var(xp, [-2.0, -1.0, 0.0, 1.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    assert_close(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_maximum_and_minimum_split_a_tie_evenly(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0, 3.0])
    y = var(xp, [2.0, 2.0, 2.0])
    axoncl.maximum(x, y).sum().backward()
    assert_close(x.grad, [0.0, 0.5, 1.0])
    assert_close(y.grad, [1.0, 0.5, 0.0])
    x.zero_grad()
    axoncl.minimum(x, 2.0).sum().backward()
    assert_close(x.grad, [1.0, 0.5, 0.0])


def test_where_sends_the_gradient_to_the_chosen_side_only(xp):
    require_float64(xp)
    cond = Variable(to_xp(xp, [True, False, True]))
    x = var(xp, [1.0, 2.0, 3.0])
    y = var(xp, [10.0])
    (axoncl.where(cond, x, y) * 2.0).sum().backward()
    assert_close(x.grad, [2.0, 0.0, 2.0])
    assert_close(y.grad, [2.0])  # broadcast: summed back to one element


def test_exp_log_sqrt_closed_forms(xp):
    require_float64(xp)
    x = var(xp, [0.5, 4.0])
    (x.exp() + x.log() + x.sqrt() + axoncl.expm1(x) + axoncl.log1p(x)).sum().backward()
    v = np.array([0.5, 4.0])
    assert_close(x.grad, 2 * np.exp(v) + 1 / v + 0.5 / np.sqrt(v) + 1 / (1 + v))


def test_float32_inputs_give_float32_gradients(xp):
    x = var(xp, [1.0, 2.0], dtype="float32")
    (x * 2.0 + x.exp()).sum().backward()
    assert x.grad.dtype == x.dtype
    assert_close(x.grad, 2.0 + np.exp([1.0, 2.0]), rtol=1e-6)


def test_size_zero_arrays_flow_through(xp):
    require_float64(xp)
    x = var(xp, np.zeros((0, 3)))
    b = var(xp, np.ones(3))
    (x * b + 1.0).sum().backward()
    assert x.grad.shape == (0, 3)
    assert_close(b.grad, np.zeros(3))
