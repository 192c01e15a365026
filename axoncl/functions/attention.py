"""Attention rules: scaled dot-product attention as one op."""

from __future__ import annotations

import math
from typing import Any

from ..backends import device_kwargs, primitives
from ..grad_mode import is_grad_enabled
from ..graph import Function
from ..variable import Variable, _new_variable
from ._util import as_variable, check_attention
from .activation import softmax
from .arithmetic import where

__all__ = ["dot_product_attention"]


class DotProductAttention(Function):
    """``softmax(q kᵀ · scale + mask) v`` over the last two axes of ``q`` ``(..., Lq, E)``,
    ``k`` ``(..., Lk, E)`` and ``v`` ``(..., Lk, Ev)`` (equal leading axes).

    A dedicated rule for speed and memory: forward and backward are the ``attention_forward``
    and ``attention_backward`` primitives, which on OpenCL are fused kernels that never store
    the ``(Lq, Lk)`` scores (elsewhere the portable versions build them). Forward keeps each
    row's log-sum-exp, from which backward recomputes the weights. Under ``create_graph`` the
    backward is written with Variable ops from the recomputed weights, so higher derivatives
    are exact. The mask takes no gradient.
    """

    @staticmethod
    def forward(ctx, q, k, v):
        out, lse = primitives.attention_forward(
            q, k, v, ctx.mask, causal=ctx.is_causal, scale=ctx.scale, xp=ctx.xp
        )
        ctx.save_for_backward(q, k, v, out)
        ctx.lse = lse
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, out = ctx.saved_values
        if not is_grad_enabled():  # no graph through the gradient: the fused primitive
            grads = primitives.attention_backward(
                grad.data,
                q.data,
                k.data,
                v.data,
                ctx.mask,
                out.data,
                ctx.lse,
                causal=ctx.is_causal,
                scale=ctx.scale,
                xp=ctx.xp,
            )
            return tuple(_new_variable(g) for g in grads)
        # w = softmax(s): dv = wᵀ g, ds = w (g vᵀ - Σ w · g vᵀ), dq = ds k · scale,
        # dk = dsᵀ q · scale.
        w = softmax(_masked_scores(q, k, ctx.mask, ctx.is_causal, ctx.scale), axis=-1)
        dw = grad @ v.mT
        ds = w * (dw - (dw * w).sum(axis=-1, keepdims=True))
        return (ds @ k) * ctx.scale, (ds.mT @ q) * ctx.scale, w.mT @ grad


def _masked_scores(q: Variable, k: Variable, mask: Any, causal: bool, scale: float) -> Variable:
    """``q kᵀ · scale`` with the masks applied (−inf where masked), as Variable ops."""
    scores = (q @ k.mT) * scale
    xp = q.xp
    if causal:
        on = device_kwargs(getattr(q.data, "device", None))
        rows = xp.reshape(xp.arange(q.shape[-2], **on), (-1, 1))
        cols = xp.reshape(xp.arange(k.shape[-2], **on), (1, -1))
        scores = where(rows >= cols, scores, -math.inf)
    if mask is not None:
        if xp.isdtype(mask.dtype, "bool"):
            scores = where(mask, scores, -math.inf)
        else:
            scores = scores + Variable(mask)
    return scores


def dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    *,
    is_causal: bool = False,
    scale: float | None = None,
) -> Variable:
    """``softmax(query keyᵀ · scale + mask) value`` over the last two axes, as one op.

    On OpenCL (float32 or float64, head sizes up to 256) forward and backward are fused kernels
    that never store the ``(L, S)`` score matrix; elsewhere the scores are built.
    :func:`axoncl.nn.functional.scaled_dot_product_attention` calls this op where it is fused.

    Parameters
    ----------
    query, key, value
        ``(..., L, E)``, ``(..., S, E)``, ``(..., S, Ev)``; leading axes broadcast.
    attn_mask
        Boolean (True: may attend) or float (added to the scores, in the query's dtype),
        broadcasting to ``(..., L, S)``. It takes no gradient.
    is_causal
        Mask out keys after each query (top-left aligned); not together with ``attn_mask``.
    scale
        Defaults to ``1 / sqrt(E)``.

    Returns
    -------
    Variable
        ``(..., L, Ev)``. A query row whose every key is masked is NaN, as with the composed
        ops (a softmax over no finite score).

    Raises
    ------
    ValueError
        When the shapes of ``query``, ``key`` and ``value`` disagree (feature or sequence
        axes, leading axes that do not broadcast), ``attn_mask`` does not broadcast to the
        scores' shape, or ``is_causal`` is given with a mask.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> q = np.zeros((1, 2, 4)); v = np.arange(6.0).reshape(1, 3, 2)
    >>> axoncl.dot_product_attention(q, np.ones((1, 3, 4)), v).numpy()
    array([[[2., 3.],
            [2., 3.]]])
    """
    q, k, v = as_variable(query), as_variable(key), as_variable(value)
    check_attention("dot_product_attention", q, k, v, attn_mask, is_causal)
    lead = _broadcast_shape(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    if lead is None:
        raise ValueError(
            "dot_product_attention: expected query, key and value whose leading axes "
            f"broadcast together, got {q.shape}, {k.shape} and {v.shape}"
        )
    q, k, v = (
        x if x.shape[:-2] == lead else x.broadcast_to(lead + x.shape[-2:]) for x in (q, k, v)
    )
    mask = attn_mask.data if isinstance(attn_mask, Variable) else attn_mask
    if mask is not None:
        scores_shape = (*lead, q.shape[-2], k.shape[-2])
        if _broadcast_shape(tuple(mask.shape), scores_shape) != scores_shape:
            raise ValueError(
                f"dot_product_attention: attn_mask of shape {tuple(mask.shape)} does not "
                f"broadcast to the scores' shape {scores_shape}"
            )
        if not q.xp.isdtype(mask.dtype, "bool"):
            mask = q.xp.astype(mask, q.dtype)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return DotProductAttention.apply(q, k, v, mask=mask, is_causal=bool(is_causal), scale=factor)


def _broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape that ``shapes`` broadcast to, or None when they do not."""
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for shape in shapes:
        for i, n in enumerate(shape, ndim - len(shape)):
            if n == 1:
                continue
            if out[i] not in (1, n):
                return None
            out[i] = n
    return tuple(out)
