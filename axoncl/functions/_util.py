"""Helpers shared by the op rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..variable import Variable

__all__ = ["as_variable", "check_attention", "check_broadcast", "normalize_axes", "unbroadcast"]


def as_variable(value: Any) -> Variable:
    return value if isinstance(value, Variable) else Variable(value)


def normalize_axes(axis: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes; ``None`` means all of them."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a value with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def check_broadcast(op: str, *shapes: tuple[int, ...]) -> None:
    """Raise a ValueError naming every shape unless they broadcast together (array-API rules).

    Namespaces word this error differently, and some (torch) name no shape at all.
    """
    first = shapes[0]
    if all(s == first for s in shapes):
        return
    for sizes in zip(*(reversed(tuple(s)) for s in shapes), strict=False):
        if len({n for n in sizes if n != 1}) > 1:
            listed = " and ".join(str(tuple(s)) for s in shapes)
            raise ValueError(f"{op}: expected shapes that broadcast together, got {listed}")


def unbroadcast(grad: Variable, shape: tuple[int, ...]) -> Variable:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    have = grad.data.shape
    if have == shape or tuple(have) == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(tuple(shape))
    elif tuple(grad.shape) != tuple(shape):
        grad = grad.reshape(tuple(shape))
    return grad


def check_attention(
    op: str, q: Variable, k: Variable, v: Variable, attn_mask: Any, is_causal: bool
) -> None:
    """Raise a ValueError naming the shapes unless ``q``, ``k`` and ``v`` are attention's
    ``(..., L, E)``, ``(..., S, E)`` and ``(..., S, Ev)``, and unless at most one of
    ``attn_mask`` and ``is_causal`` is given."""
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{op}: expected query (..., L, E), key (..., S, E) and value (..., S, Ev), got "
            f"{q.shape}, {k.shape} and {v.shape}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: key and value disagree on S: {k.shape} and {v.shape}")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{op}: pass is_causal or attn_mask, not both")
