"""Scaled dot-product attention as two primitives, forward and backward, so a backend can run
each as fused kernels that never hold the ``(Lq, Lk)`` score matrix (OpenCL does).

Operands share their leading axes: ``q`` is ``(..., Lq, E)``, ``k`` is ``(..., Lk, E)`` and
``v`` is ``(..., Lk, Ev)``. ``mask`` is None, a boolean array (True: may attend) or a float
array (added to the scores), broadcasting to ``(..., Lq, Lk)``; ``causal`` masks key ``j > i``
for query ``i``. The portable versions below build the scores, as the composed ops do, and
give the same NaN rows where every key of a query is masked.
"""

from __future__ import annotations

import math
from typing import Any

from . import _device, primitive
from .core import logsumexp

__all__ = ["attention_backward", "attention_forward"]


def _scores(q: Any, k: Any, mask: Any, causal: bool, scale: float, xp: Any) -> Any:
    """``q kᵀ · scale`` with the masks applied (−inf where masked)."""
    scores = xp.matmul(q, xp.matrix_transpose(k)) * scale
    if causal:
        on = {"device": _device(q)}
        rows = xp.reshape(xp.arange(q.shape[-2], **on), (-1, 1))
        cols = xp.reshape(xp.arange(k.shape[-2], **on), (1, -1))
        scores = xp.where(rows >= cols, scores, -math.inf)
    if mask is not None:
        if xp.isdtype(mask.dtype, "bool"):
            scores = xp.where(mask, scores, -math.inf)
        else:
            scores = scores + mask
    return scores


@primitive
def attention_forward(
    q: Any, k: Any, v: Any, mask: Any, *, causal: bool, scale: float, xp: Any
) -> tuple[Any, Any]:
    """``(out, lse)``: ``out = softmax(s) v`` with the masked scores ``s = q kᵀ · scale``, and
    ``lse`` of shape ``(..., Lq)``, the log-sum-exp of each row of ``s`` (−inf for a row whose
    every key is masked, whose ``out`` row is NaN)."""
    scores = _scores(q, k, mask, causal, scale, xp)
    lse = logsumexp(scores, axis=-1, keepdims=True, xp=xp)
    out = xp.matmul(xp.exp(scores - lse), v)
    return out, xp.squeeze(lse, axis=-1)


@primitive
def attention_backward(
    grad: Any,
    q: Any,
    k: Any,
    v: Any,
    mask: Any,
    out: Any,
    lse: Any,
    *,
    causal: bool,
    scale: float,
    xp: Any,
) -> tuple[Any, Any, Any]:
    """``(dq, dk, dv)`` of :func:`attention_forward` from its ``out`` and ``lse``: the weights
    ``p = exp(s - lse)`` are recomputed, ``dv = pᵀ grad``, ``ds = p (grad vᵀ - delta)`` with
    ``delta = Σ grad·out`` per row (equal to ``Σ p · grad vᵀ``), ``dq = ds k · scale`` and
    ``dk = dsᵀ q · scale``."""
    p = xp.exp(_scores(q, k, mask, causal, scale, xp) - xp.expand_dims(lse, axis=-1))
    delta = xp.sum(grad * out, axis=-1, keepdims=True)
    ds = p * (xp.matmul(grad, xp.matrix_transpose(v)) - delta)
    dq = xp.matmul(ds, k) * scale
    dk = xp.matmul(xp.matrix_transpose(ds), q) * scale
    dv = xp.matmul(xp.matrix_transpose(p), grad)
    return dq, dk, dv
