"""The primitives of everyday ops: softmax, log-softmax, log-sum-exp, ``linear``, ``erf``, the
one-hot scatter-add ``index_add``, the indexed write ``set_index`` (in place, or functional on
immutable arrays), the index checks ``wrap_index`` and ``check_targets``,
and the standard calls on the autograd hot path (``sum``, ``broadcast_to``, ``ones_like``,
``relu``, ``relu_backward``, ``positive_mask``) that a backend may make faster."""

from __future__ import annotations

from typing import Any

import array_api_compat

from . import _device, primitive

__all__ = [
    "broadcast_to",
    "check_targets",
    "erf",
    "index_add",
    "linear",
    "linear_backward",
    "log_softmax",
    "logsumexp",
    "ones_like",
    "positive_mask",
    "relu",
    "relu_backward",
    "set_index",
    "softmax",
    "solve_triangular",
    "sum",
    "wrap_index",
]


@primitive
def softmax(x: Any, *, axis: int, xp: Any) -> Any:
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(shifted)
    return e / xp.sum(e, axis=axis, keepdims=True)


@primitive
def log_softmax(x: Any, *, axis: int, xp: Any) -> Any:
    """``x - logsumexp(x)`` along ``axis``, computed stably."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


@primitive
def logsumexp(x: Any, *, axis: Any, keepdims: bool, xp: Any) -> Any:
    """``log(sum(exp(x)))`` over ``axis``, shifted by the maximum for stability."""
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        axes = (axis,) if isinstance(axis, int) else tuple(range(x.ndim) if axis is None else axis)
        out = xp.squeeze(out, axis=tuple(a % x.ndim for a in axes)) if x.ndim else out
    return out


@primitive
def linear(x: Any, weight: Any, bias: Any, *, relu: bool, xp: Any) -> Any:
    """``x @ weightᵀ (+ bias) (then ReLU)``; weight is ``(out, in)``."""
    out = xp.matmul(x, xp.matrix_transpose(weight))
    if bias is not None:
        out = out + bias
    return xp.maximum(out, xp.zeros_like(out)) if relu else out


@primitive
def index_add(grad: Any, index: Any, size: int, *, axis: int, xp: Any) -> Any:
    """Zeros with ``size`` entries along ``axis``, plus ``grad`` added at ``index`` (1-D,
    repeats add up): the adjoint of ``take(x, index, axis)``.

    Portable version: a matrix product with the one-hot matrix of ``index``.
    """
    onehot = xp.astype(
        xp.reshape(index, (-1, 1)) == xp.arange(size, dtype=index.dtype, device=_device(index)),
        grad.dtype,
    )
    moved = xp.moveaxis(grad, axis, -1)
    out = xp.matmul(moved, onehot)
    return xp.moveaxis(out, -1, axis)


@primitive
def set_index(x: Any, key: Any, value: Any, *, xp: Any) -> Any:
    """``x`` with ``x[key] = value``. The caller owns ``x`` and uses the result in its place.

    Writes in place where the array allows it. JAX arrays are immutable: they get the
    functional update ``x.at[key].set(value)``, a new array, which is why callers use the result.
    """
    if array_api_compat.is_writeable_array(x):
        x[key] = value
        return x
    at = getattr(x, "at", None)
    if at is None:
        kind = type(x)
        raise NotImplementedError(
            f"set_index: {kind.__module__}.{kind.__qualname__} arrays are read-only and have no "
            f"functional update x.at[key].set(value)"
        )
    return at[key].set(value)


def _first_bad(values: Any, bad: Any, xp: Any) -> tuple[int, int]:
    """(value, flat C-order position) of the first True entry of ``bad`` (one host read)."""
    flat_bad = xp.reshape(bad, (-1,))
    position = int(xp.nonzero(flat_bad)[0][0])
    return int(xp.reshape(values, (-1,))[position]), position


@primitive
def wrap_index(index: Any, size: int, *, op: str, xp: Any) -> Any:
    """``index`` as int64 with negative entries counted from the end, after checking that every
    entry lies in ``[-size, size)``: an ``IndexError`` names ``op``, the value and its position.

    Portable version: checks on the host (one read of a bool). A device backend may instead
    report the error from its kernel and raise at the next read (OpenCL's error flag).
    """
    index = xp.astype(index, xp.int64)
    bad = (index < -size) | (index >= size)
    if bool(xp.any(bad)):
        value, position = _first_bad(index, bad, xp)
        raise IndexError(
            f"{op}: index {value} is out of bounds for an axis of size {size} at position "
            f"{position} of the index"
        )
    return xp.where(index < 0, index + size, index)


@primitive
def check_targets(target: Any, n_classes: int, *, ignore_index: int, op: str, xp: Any) -> None:
    """Check integer class ``target`` against ``n_classes``: every entry is in
    ``[0, n_classes)`` or equals ``ignore_index``, else an ``IndexError`` names ``op``, the
    value and its flat position. Portable version: on the host (one read of a bool)."""
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if bool(xp.any(bad)):
        value, position = _first_bad(target, bad, xp)
        raise IndexError(
            f"{op}: target {value} is out of bounds for {n_classes} classes at position {position}"
        )


@primitive
def erf(x: Any, *, xp: Any) -> Any:
    """The error function; portable version after Numerical Recipes' ``erfc`` Chebyshev fit
    (fractional error below 1.2e-7 everywhere)."""
    z = xp.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    coeffs = (
        -1.26551223,
        1.00002368,
        0.37409196,
        0.09678418,
        -0.18628806,
        0.27886807,
        -1.13520398,
        1.48851587,
        -0.82215223,
        0.17087277,
    )
    poly = xp.zeros_like(t) + coeffs[-1]
    for c in reversed(coeffs[:-1]):
        poly = poly * t + c
    erfc = t * xp.exp(-z * z + poly)
    return xp.where(x >= 0, 1.0 - erfc, erfc - 1.0)


# Standard calls that some namespaces make slow on small arrays (array_api_compat's numpy:
# broadcast_to and sum over an axis tuple run Python code costing microseconds): the autograd
# hot path (Sum, the backward seed, Relu's backward) calls these, and numpy registers its own.
@primitive
def sum(x: Any, *, axis: tuple[int, ...] | None, keepdims: bool, xp: Any) -> Any:  # noqa: A001
    """``xp.sum``."""
    return xp.sum(x, axis=axis, keepdims=keepdims)


@primitive
def broadcast_to(x: Any, shape: tuple[int, ...], *, xp: Any) -> Any:
    """``xp.broadcast_to`` (a backend may return a copy instead of a view)."""
    return xp.broadcast_to(x, shape)


@primitive
def linear_backward(
    grad: Any, x: Any, weight: Any, out: Any, *, relu: bool, needs: tuple, xp: Any
) -> tuple:
    """``(dx, dweight, dbias)`` of :func:`linear` from the output's gradient (each ``None``
    unless ``needs`` asks for it): with ``g = grad`` (times ``out > 0`` after a ReLU),
    ``dx = g W``, ``dW = gᵀ x`` and ``db = Σ_rows g`` over every leading axis."""
    if relu:
        grad = relu_backward(grad, out, xp=xp)
    n, k = weight.shape
    rows = xp.reshape(grad, (-1, n))
    dx = xp.matmul(grad, weight) if needs[0] else None
    dw = xp.matmul(xp.matrix_transpose(rows), xp.reshape(x, (-1, k))) if needs[1] else None
    db = sum(rows, axis=(0,), keepdims=False, xp=xp) if needs[2] else None
    return dx, dw, db


@primitive
def ones_like(x: Any, *, xp: Any) -> Any:
    """``xp.ones_like``."""
    return xp.ones_like(x)


@primitive
def relu(x: Any, *, xp: Any) -> Any:
    """``max(x, 0)``."""
    return xp.maximum(x, 0)  # a Python scalar operand (array API 2024.12)


@primitive
def relu_backward(grad: Any, out: Any, *, xp: Any) -> Any:
    """``grad * (out > 0)``: ReLU's backward from its output, with the mask in ``grad``'s
    dtype (so NaN and infinite gradients stay NaN where the mask is 0, as a product does)."""
    return grad * xp.astype(out > 0, grad.dtype)


@primitive
def positive_mask(x: Any, *, xp: Any) -> Any:
    """1 where ``x > 0``, else 0 (NaN included), in ``x``'s dtype."""
    return xp.astype(x > 0, x.dtype)


@primitive
def solve_triangular(a: Any, b: Any, *, upper: bool, xp: Any) -> Any:
    """``x`` with ``T x = b``, ``T`` the lower (or ``upper``) triangle of ``a`` (``(..., M, M)``),
    ``b`` of shape ``(..., M, K)``; batch axes broadcast.

    Portable version: the general ``xp.linalg.solve`` on the masked triangle (the standard has
    no triangular solver), which raises where that backend's ``solve`` raises on a singular
    matrix. The OpenCL version, like PyTorch's, does not check the diagonal: a zero there gives
    inf or NaN.
    """
    triangle = xp.triu(a) if upper else xp.tril(a)
    return xp.linalg.solve(triangle, b)
