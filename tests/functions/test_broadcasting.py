"""Broadcasting, property-based: for random broadcast-compatible shapes, every binary rule
returns gradients of its inputs' shapes whose values match central differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from xp_backends import require_float64, to_xp

import axoncl
from axoncl import Variable, gradcheck

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)

BINARY = {
    "add": lambda x, y: x + y,
    "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y,
    "divide": lambda x, y: x / y,
    "maximum": axoncl.maximum,
    "minimum": axoncl.minimum,
    "pow": lambda x, y: x**y,
}


def _values(seed: int, shape: tuple[int, ...], op: str, position: int) -> np.ndarray:
    rng = np.random.default_rng(seed + position)
    if op == "pow" and position == 0:
        return rng.uniform(0.5, 2.0, shape)  # a positive base
    if op == "divide" and position == 1:
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)  # away from 0
    if op in ("maximum", "minimum"):
        # Distinct values on a 0.1 grid, offset per input: no ties, so max and min are smooth.
        n = int(np.prod(shape))
        return (rng.permutation(n).reshape(shape) * 0.1 + 0.05 * position) * rng.choice([-1.0, 1.0])
    return rng.standard_normal(shape)


def _check(xp, fn, arrays):
    inputs = [Variable(to_xp(xp, a, "float64"), requires_grad=True) for a in arrays]
    out = fn(*inputs)
    grads = axoncl.grad(out.sum(), inputs)
    assert [g.shape for g in grads] == [a.shape for a in arrays]
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("op", sorted(BINARY))
@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_binary_rule_reduces_gradients_to_input_shapes(xp, op, shapes, seed):
    require_float64(xp)
    arrays = [_values(seed, s, op, i) for i, s in enumerate(shapes.input_shapes)]
    _check(xp, BINARY[op], arrays)


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_where_reduces_gradients_to_input_shapes(xp, shapes, seed):
    require_float64(xp)
    cond_shape, x_shape, y_shape = shapes.input_shapes
    rng = np.random.default_rng(seed)
    cond = Variable(to_xp(xp, rng.random(cond_shape) < 0.5))
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(y_shape)]
    _check(xp, lambda x, y: axoncl.where(cond, x, y), arrays)


@SETTINGS
@given(
    batch=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
    m=st.integers(1, 3),
    k=st.integers(1, 3),
    n=st.integers(1, 3),
    vector=st.sampled_from([None, "x", "y"]),
    seed=st.integers(0, 2**16),
)
def test_matmul_reduces_gradients_over_broadcast_batch_axes(xp, batch, m, k, n, vector, seed):
    require_float64(xp)
    rng = np.random.default_rng(seed)
    x_batch, y_batch = batch.input_shapes
    x_shape = (k,) if vector == "x" else (*x_batch, m, k)
    y_shape = (k,) if vector == "y" else (*y_batch, k, n)
    _check(xp, lambda x, y: x @ y, [rng.standard_normal(x_shape), rng.standard_normal(y_shape)])
