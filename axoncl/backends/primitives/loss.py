"""Loss primitives: cross-entropy of 2-D logits against class indices, forward per row and the
gradient in one call, so a backend can run each as one kernel (the OpenCL one does) instead of a
log-softmax, a one-hot and a dozen elementwise ops."""

from __future__ import annotations

from typing import Any

from . import primitive
from .core import check_targets, logsumexp

__all__ = ["cross_entropy_backward", "cross_entropy_rows", "cross_entropy_total"]


def _onehot(target: Any, n_classes: int, dtype: Any, xp: Any) -> Any:
    classes = xp.arange(n_classes, dtype=target.dtype, device=getattr(target, "device", None))
    return xp.astype(xp.expand_dims(target, axis=1) == xp.expand_dims(classes, axis=0), dtype)


@primitive
def cross_entropy_rows(x: Any, target: Any, *, ignore_index: int, xp: Any) -> tuple[Any, Any, Any]:
    """``(loss, valid, lse)`` per row of logits ``x`` (N, C) with int labels ``target`` (N,).

    ``lse = log(sum(exp(x)))`` per row; ``loss = lse - x[i, target[i]]`` and ``valid = 1``,
    except rows labelled ``ignore_index`` (loss 0, valid 0); a label outside [0, C) raises
    (``check_targets``; a backend's own version may report it at the next read).
    """
    n_classes = x.shape[1]
    check_targets(target, n_classes, ignore_index=ignore_index, op="cross_entropy", xp=xp)
    lse = logsumexp(x, axis=1, keepdims=False, xp=xp)
    onehot = _onehot(target, n_classes, x.dtype, xp)
    picked = xp.sum(xp.where(onehot > 0, x, xp.zeros_like(x)), axis=1)
    ignored = target == ignore_index
    in_range = (target >= 0) & (target < n_classes)
    loss = xp.where(in_range, lse - picked, xp.full_like(lse, float("nan")))
    loss = xp.where(ignored, xp.zeros_like(loss), loss)
    valid = xp.astype(xp.logical_not(ignored), x.dtype)
    return loss, valid, lse


@primitive
def cross_entropy_total(
    x: Any, target: Any, *, ignore_index: int, mean: bool, xp: Any
) -> tuple[Any, Any, Any, Any]:
    """``(total, count, valid, lse)``: the rows of :func:`cross_entropy_rows` reduced to a 0-d
    ``total``, their sum over the valid count when ``mean`` (``count`` is that count), else their
    sum (``count`` is 1), so a backend can compute a reduced loss in one launch."""
    loss, valid, lse = cross_entropy_rows(x, target, ignore_index=ignore_index, xp=xp)
    if mean:
        count = xp.sum(valid)
        return xp.sum(loss) / count, count, valid, lse
    return xp.sum(loss), xp.ones((), dtype=x.dtype, device=getattr(x, "device", None)), valid, lse


@primitive
def cross_entropy_backward(
    x: Any, target: Any, valid: Any, lse: Any, grad: Any, divisor: Any, *, xp: Any
) -> Any:
    """The gradient of :func:`cross_entropy_rows`' loss with respect to ``x``:
    ``(softmax(x) - onehot(target)) * valid * grad / divisor`` per row. ``grad`` is 0-d (a
    reduced loss) or one value per row; ``divisor`` is 0-d (the valid count for a mean, else 1).
    """
    scale = valid * (grad / divisor)
    p = xp.exp(x - xp.expand_dims(lse, axis=1))
    return (p - _onehot(target, x.shape[1], x.dtype, xp)) * xp.expand_dims(scale, axis=1)
