"""Reductions: closed forms, ties, zeros in products, and keepdims shapes."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, require_float64, var

import axoncl


@pytest.mark.parametrize(
    "axis, keepdims, shape",
    [(None, False, ()), (0, False, (3, 4)), ((0, 2), True, (1, 3, 1)), (-1, False, (2, 3))],
)
def test_sum_and_mean_spread_the_gradient_back(xp, axis, keepdims, shape):
    require_float64(xp)
    x = var(xp, np.ones((2, 3, 4)))
    s = x.sum(axis=axis, keepdims=keepdims)
    assert s.shape == shape
    (s.sum() + x.mean(axis=axis, keepdims=keepdims).sum()).backward()
    count = 24 if axis is None else 2 * 4 if axis == (0, 2) else {0: 2, -1: 4}[axis]
    assert_close(x.grad, np.full((2, 3, 4), 1.0 + 1.0 / count))


def test_max_and_min_share_the_gradient_among_ties(xp):
    require_float64(xp)
    x = var(xp, [[3.0, 1.0, 3.0], [0.0, 2.0, -1.0]])
    x.max(axis=1).sum().backward()
    assert_close(x.grad, [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    x.zero_grad()
    x.min().backward()
    assert_close(x.grad, [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def test_max_of_an_empty_value_raises():
    with pytest.raises(ValueError, match=r"max: cannot reduce an empty value \(shape \(0,\)\)"):
        axoncl.Variable(np.zeros(0)).max()


@pytest.mark.parametrize(
    "values, expected",
    [
        ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),  # prod / x
        ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),  # one zero: only the zero's entry is non-zero
        ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),  # two zeros: all zero
    ],
)
def test_prod_gradient_with_and_without_zeros(xp, values, expected):
    require_float64(xp)
    x = var(xp, values)
    x.prod().backward()
    assert_close(x.grad, expected)


def test_logsumexp_gradient_is_softmax(xp):
    require_float64(xp)
    v = np.array([[1.0, 2.0, 3.0], [1000.0, 999.0, -5.0]])
    x = var(xp, v)
    out = axoncl.logsumexp(x, axis=1)
    shifted = v - v.max(axis=1, keepdims=True)
    assert_close(out, v.max(axis=1) + np.log(np.exp(shifted).sum(axis=1)))
    out.sum().backward()
    assert_close(x.grad, np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("correction", [0.0, 1.0])
def test_var_and_std_closed_forms(xp, correction):
    require_float64(xp)
    v = np.array([1.0, 2.0, 4.0, 7.0])
    x = var(xp, v)
    n = v.size
    assert_close(x.var(correction=correction), v.var(ddof=correction))
    assert_close(x.std(correction=correction), v.std(ddof=correction))
    x.var(correction=correction).backward()
    assert_close(x.grad, 2 * (v - v.mean()) / (n - correction))  # d var = 2(x - μ)/(n - c)
