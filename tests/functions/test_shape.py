"""Shape ops: gradients put back in place, indexing with repeats, and bad shapes."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, require_float64, to_xp, var

import axoncl
from axoncl import Variable


def test_reshape_permute_and_transpose_route_gradients_back(xp):
    require_float64(xp)
    v = np.arange(24.0).reshape(2, 3, 4)
    x = var(xp, v)
    w = np.arange(24.0).reshape(4, 2, 3) / 10
    y = axoncl.permute_dims(x, (2, 0, 1))  # shape (4, 2, 3)
    (y * var(xp, w, requires_grad=False)).sum().backward()
    assert_close(x.grad, np.transpose(w, (1, 2, 0)))


def test_integer_array_index_adds_the_gradient_of_repeats(xp):
    require_float64(xp)
    x = var(xp, np.zeros((3, 2)))
    idx = to_xp(xp, [2, 0, 2, 2])
    x[idx].sum().backward()
    assert_close(x.grad, [[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]])


def test_boolean_mask_index_gradient(xp):
    require_float64(xp)
    x = var(xp, [1.0, -2.0, 3.0, -4.0])
    mask = x > 0.0
    (x[mask] * 10.0).sum().backward()
    assert_close(x.grad, [10.0, 0.0, 10.0, 0.0])


def test_basic_index_gradient_lands_in_place(xp):
    require_float64(xp)
    x = var(xp, np.zeros((3, 4)))
    x[1:, ::2].sum().backward()
    expected = np.zeros((3, 4))
    expected[1:, ::2] = 1.0
    assert_close(x.grad, expected)


def test_split_then_concat_round_trips_values_and_gradients(xp):
    require_float64(xp)
    v = np.arange(12.0).reshape(3, 4)
    x = var(xp, v)
    parts = axoncl.split(x, [1, 3], axis=1)
    assert [p.shape for p in parts] == [(3, 1), (3, 2), (3, 1)]
    joined = axoncl.concat(parts, axis=1)
    assert_close(joined, v)
    (joined * var(xp, v, requires_grad=False)).sum().backward()
    assert_close(x.grad, v)


def test_stack_squeeze_unsqueeze_and_flatten_shapes(xp):
    require_float64(xp)
    x = var(xp, np.ones((2, 3)))
    assert axoncl.stack([x, x, x], axis=1).shape == (2, 3, 3)
    assert x.unsqueeze(0).unsqueeze(-1).shape == (1, 2, 3, 1)
    assert x.unsqueeze(0).squeeze().shape == (2, 3)
    assert x.reshape(2, 1, 3).flatten().shape == (6,)
    assert x.reshape(2, 1, 3).flatten(1).shape == (2, 3)
    axoncl.stack([x, x * 2.0]).sum().backward()
    assert_close(x.grad, np.full((2, 3), 3.0))


def test_pad_gradient_is_the_inner_slice(xp):
    require_float64(xp)
    x = var(xp, np.ones((2, 2)))
    padded = axoncl.pad(x, (1, 2), value=5.0)  # last axis: one before, two after
    assert padded.shape == (2, 5)
    assert_close(padded, [[5, 1, 1, 5, 5], [5, 1, 1, 5, 5]])
    (padded * padded).sum().backward()
    assert_close(x.grad, np.full((2, 2), 2.0))


def test_broadcast_to_sums_back(xp):
    require_float64(xp)
    x = var(xp, [[1.0], [2.0]])
    x.broadcast_to((3, 2, 4)).sum().backward()
    assert_close(x.grad, [[12.0], [12.0]])


def test_astype_casts_the_gradient_back(xp):
    x = var(xp, [1.0, 2.0], dtype="float32")
    y = axoncl.astype(x, xp.float64) if hasattr(xp, "float64") else x
    (y * y).sum().backward()
    assert x.grad.dtype == x.dtype
    assert_close(x.grad, [2.0, 4.0], rtol=1e-6)


def test_split_into_unequal_sections_raises():
    with pytest.raises(ValueError, match="axis 0 of size 5 cannot be split into 2 equal"):
        axoncl.split(Variable(np.ones(5)), 2)
