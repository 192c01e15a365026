"""Adam and AdamW (Kingma & Ba, 2015; Loshchilov & Hutter, 2019), with optional AMSGrad."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam with PyTorch's update and bias correction.

    ``m ← β₁ m + (1 − β₁) g``, ``v ← β₂ v + (1 − β₂) g²``,
    ``p ← p − lr / (1 − β₁ᵗ) · m / (sqrt(v) / sqrt(1 − β₂ᵗ) + eps)``; with ``amsgrad`` the
    running maximum of ``v`` replaces ``v`` in the denominator. ``weight_decay`` adds
    ``weight_decay · p`` to the gradient (L2); :class:`AdamW` decays the weights instead.

    The step count is a host integer, so the bias corrections are Python floats and the update
    never reads from the device.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> p = nn.Parameter(np.array([1.0]))
    >>> opt = optim.Adam([p], lr=0.1)
    >>> (p * p).sum().backward(); opt.step()
    >>> p.numpy().round(6)
    array([0.9])
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(
                f"{name}: expected non-negative lr, eps and weight_decay, got {lr}, "
                f"{eps}, {weight_decay}"
            )
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"{name}: expected betas in [0, 1), got {betas}")
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": amsgrad,
                "maximize": maximize,
            },
        )

    def _update(self, group: dict[str, Any], p: Any, g: Any, state: dict[str, Any], xp: Any) -> Any:
        beta1, beta2 = group["betas"]
        lr = group["lr"]
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            if self._decoupled:
                p = p * (1.0 - lr * group["weight_decay"])
            else:
                g = g + p * group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        m = state["exp_avg"] * beta1 + g * (1.0 - beta1)
        v = state["exp_avg_sq"] * beta2 + (g * g) * (1.0 - beta2)
        state["exp_avg"] = m
        state["exp_avg_sq"] = v
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v)
            state["max_exp_avg_sq"] = v
        bias1 = 1.0 - beta1**t
        bias2_sqrt = math.sqrt(1.0 - beta2**t)
        denom = xp.sqrt(v) * (1.0 / bias2_sqrt) + group["eps"]
        return p - (m / denom) * (lr / bias1)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p ← p (1 − lr · weight_decay)`` before the Adam
    step (default ``weight_decay=0.01``, as in PyTorch)."""

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
