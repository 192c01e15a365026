"""Optimizer updates as primitives: every parameter of a group in one call, so a backend can
update them all in a few launches (multi-tensor apply) instead of several ops per parameter.

The portable versions apply the update formula of :mod:`axoncl.optim` to each tensor with
array-API calls and return new arrays. A backend's own version may update in place and return
the same arrays (the OpenCL one does, one launch per eight parameters).
"""

from __future__ import annotations

import math
from typing import Any

from . import primitive

__all__ = ["adam_step", "sgd_step", "unscale_grads"]


@primitive
def sgd_step(
    params: list[Any],
    grads: list[Any],
    bufs: list[Any | None],
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    xp: Any,
) -> tuple[list[Any], list[Any | None]]:
    """One SGD step of each parameter; returns the new parameters and momentum buffers.

    ``g' = g + weight_decay p``; ``b = momentum b + (1 - dampening) g'`` (``b = g'`` when the
    buffer is None); the step is ``g' + momentum b`` (Nesterov), ``b``, or ``g'`` without
    momentum; ``p = p - lr step``.
    """
    new_params, new_bufs = [], []
    for p, g, buf in zip(params, grads, bufs, strict=True):
        if maximize:
            g = -g
        if weight_decay:
            g = g + p * weight_decay
        if momentum:
            # A copy on the first step: the gradient array may be reused.
            buf = g * 1.0 if buf is None else buf * momentum + g * (1.0 - dampening)
            g = g + buf * momentum if nesterov else buf
        new_params.append(p - g * lr)
        new_bufs.append(buf)
    return new_params, new_bufs


@primitive
def adam_step(
    params: list[Any],
    grads: list[Any],
    exp_avgs: list[Any],
    exp_avg_sqs: list[Any],
    max_exp_avg_sqs: list[Any] | None,
    steps: list[int],
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled: bool,
    maximize: bool,
    xp: Any,
) -> tuple[list[Any], list[Any], list[Any], list[Any] | None]:
    """One Adam (or AdamW, ``decoupled``) step of each parameter at its step count ``steps[i]``
    (already incremented); returns the new parameters, ``exp_avg``, ``exp_avg_sq`` and, with
    AMSGrad (``max_exp_avg_sqs`` not None), the running maxima."""
    out_p, out_m, out_v, out_max = [], [], [], []
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if maximize:
            g = -g
        if weight_decay:
            if decoupled:
                p = p * (1.0 - lr * weight_decay)
            else:
                g = g + p * weight_decay
        m = exp_avgs[i] * beta1 + g * (1.0 - beta1)
        v = exp_avg_sqs[i] * beta2 + (g * g) * (1.0 - beta2)
        out_m.append(m)
        out_v.append(v)
        if max_exp_avg_sqs is not None:
            v = xp.maximum(max_exp_avg_sqs[i], v)
            out_max.append(v)
        t = steps[i]
        bias1 = 1.0 - beta1**t
        bias2_sqrt = math.sqrt(1.0 - beta2**t)
        denom = xp.sqrt(v) * (1.0 / bias2_sqrt) + eps
        out_p.append(p - (m / denom) * (lr / bias1))
    return out_p, out_m, out_v, (out_max if max_exp_avg_sqs is not None else None)


@primitive
def unscale_grads(grads: list[Any], inv_scale: float, *, xp: Any) -> tuple[list[Any], Any]:
    """``g * inv_scale`` of each gradient (arrays of one namespace and device), and a 0-d
    boolean array that is True when any of them holds an Inf or a NaN: loss scaling's unscale
    and overflow check (``axoncl.GradScaler``), computed on the device without reading it.
    """
    out = []
    found = None
    for g in grads:
        g = g * inv_scale
        bad = xp.any(xp.logical_not(xp.isfinite(g)))
        found = bad if found is None else xp.logical_or(found, bad)
        out.append(g)
    return out, found
