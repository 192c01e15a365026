"""matmul: closed forms for every operand rank, and batch broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, require_float64, var


def _sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched to reach its shape."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True)


@pytest.mark.parametrize(
    "x_shape, y_shape",
    [
        ((2, 3), (3, 4)),
        ((3,), (3, 4)),
        ((2, 3), (3,)),
        ((3,), (3,)),
        ((5, 2, 3), (3, 4)),
        ((2, 1, 2, 3), (3, 3, 2)),
    ],
)
def test_matmul_gradients_match_the_closed_form(xp, x_shape, y_shape):
    require_float64(xp)
    rng = np.random.default_rng(0)
    a = rng.standard_normal(x_shape)
    b = rng.standard_normal(y_shape)
    g = rng.standard_normal(np.matmul(a, b).shape)
    x, y = var(xp, a), var(xp, b)
    (x @ y).backward(var(xp, g, requires_grad=False))
    # 1-D operands promoted to a row (x) or a column (y); then dX = G Yᵀ and dY = Xᵀ G, summed
    # back over broadcast batch axes.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g.reshape(np.matmul(a2, b2).shape)
    gx = _sum_to(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
    gy = _sum_to(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
    assert_close(x.grad, gx)
    assert_close(y.grad, gy)
