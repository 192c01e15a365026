"""Matrix products: matmul for 1-D, 2-D and batched operands with broadcast batch axes."""

from __future__ import annotations

from typing import Any

from ..backends import primitives
from ..grad_mode import is_grad_enabled
from ..graph import Function
from ..variable import Variable, _new_variable
from ._util import unbroadcast
from .arithmetic import _c

__all__ = ["linear", "matmul"]


class Matmul(Function):
    """``x @ y`` (array-API semantics: 1-D operands gain and then lose an axis)."""

    autocast_policy = "low"

    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(
                f"matmul: expected operands with at least 1 dimension, got shapes "
                f"{tuple(x.shape)} and {tuple(y.shape)}"
            )
        if x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
            raise ValueError(
                f"matmul: expected x.shape[-1] == y.shape[-2], got "
                f"{tuple(x.shape)} and {tuple(y.shape)}"
            )
        ctx.save_for_backward(x, y)
        return ctx.xp.matmul(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_values
        # With 1-D operands promoted to matrices: dX = G Yᵀ, dY = Xᵀ G, summed over the batch
        # axes that broadcasting added.
        x2 = x.reshape((1, x.shape[0])) if x.ndim == 1 else x
        y2 = y.reshape((y.shape[0], 1)) if y.ndim == 1 else y
        g = grad
        if x.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1])) if y.ndim > 1 else g.reshape((1,))
        if y.ndim == 1:
            g = g.reshape(g.shape + (1,))
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = _reduce_to(g @ _c(y2).mT, x.shape, x2.shape)
        if ctx.needs_input_grad[1]:
            gy = _reduce_to(_c(x2).mT @ g, y.shape, y2.shape)
        return gx, gy


class Linear(Function):
    """``x @ weightᵀ + bias``, optionally followed by ReLU, as one rule.

    A dedicated rule for speed: a backend can run it as one GEMM that reads the weight
    transposed in place and adds the bias (and applies the ReLU) in its epilogue.
    """

    autocast_policy = "low"

    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.ndim < 1 or weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"linear: expected x of shape (*, in) and weight (out, in), got "
                f"{tuple(x.shape)} and {tuple(weight.shape)}"
            )
        if bias is not None and tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(
                f"linear: expected bias of shape ({weight.shape[0]},), got {tuple(bias.shape)}"
            )
        out = primitives.linear(x, weight, bias, relu=ctx.relu, xp=ctx.xp)
        ctx.save_for_backward(x, weight, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        if not is_grad_enabled():  # no graph through the gradients: one primitive, its GEMMs
            impl = primitives.linear_backward.implementation(ctx.xp)  # not __call__: hot path
            x, weight, out = ctx.saved_arrays
            grads = impl(
                grad.data, x, weight, out, relu=ctx.relu, needs=ctx.needs_input_grad, xp=ctx.xp
            )
            return tuple(None if g is None else _new_variable(g) for g in grads)
        x, weight, out = ctx.saved_values
        if ctx.relu:  # d relu/dz = 1 where the output is positive
            grad = grad * Variable(ctx.xp.astype(out.data > 0, grad.dtype))
        # y = x Wᵀ + b: dx = g W, dW = gᵀ x (summed over every batch row), db = Σ_rows g
        rows = grad.reshape((-1, weight.shape[0]))
        gx = grad @ weight if ctx.needs_input_grad[0] else None
        gw = rows.mT @ x.reshape((-1, weight.shape[1])) if ctx.needs_input_grad[1] else None
        gb = rows.sum(axis=0) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


def linear(x: Any, weight: Any, bias: Any = None, *, activation: str | None = None) -> Variable:
    """``x @ weight.mT + bias`` (PyTorch's layout: weight is ``(out, in)``), with an optional
    fused ``activation="relu"``.

    Parameters
    ----------
    x
        ``(..., in)`` input.
    weight
        ``(out, in)``.
    bias
        Optional ``(out,)``.
    activation
        ``None`` or ``"relu"`` (fused where the backend has the kernel).

    Returns
    -------
    Variable
        ``(..., out)``.

    Raises
    ------
    ValueError
        When ``activation`` is not None or ``"relu"``, or the shapes do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable, linear
    >>> w = Variable(np.ones((4, 3)), requires_grad=True)
    >>> linear(Variable(np.ones((2, 3))), w, Variable(np.zeros(4))).shape
    (2, 4)
    """
    if activation not in (None, "relu"):
        raise ValueError(f"linear: expected activation None or 'relu', got {activation!r}")
    return Linear.apply(x, weight, bias, relu=activation == "relu")


def _reduce_to(g: Variable, shape: tuple[int, ...], promoted: tuple[int, ...]) -> Variable:
    """Sum the broadcast batch axes away, then drop the axis a 1-D operand gained."""
    if tuple(g.shape) != tuple(promoted):
        g = unbroadcast(g, tuple(promoted))
    return g.reshape(tuple(shape)) if tuple(g.shape) != tuple(shape) else g


def matmul(x: Any, y: Any) -> Variable:
    """Matrix product with array-API broadcasting of batch axes.

    Parameters
    ----------
    x, y
        Arrays or Variables of one namespace, at least 1-D, whose inner sizes match.

    Returns
    -------
    Variable
        The product; batch axes broadcast, as in the array API's ``matmul``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable, matmul
    >>> x = Variable(np.ones((2, 3)), requires_grad=True)
    >>> w = Variable(np.ones((3, 4)), requires_grad=True)
    >>> matmul(x, w).sum().backward()
    >>> w.grad.shape
    (3, 4)
    """
    return Matmul.apply(x, y)
