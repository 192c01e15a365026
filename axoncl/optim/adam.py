"""Adam and AdamW (Kingma & Ba, 2015; Loshchilov & Hutter, 2019), with optional AMSGrad."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..backends import primitives
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

    Parameters
    ----------
    params
        Variables that require grad, or parameter groups (dicts with ``"params"``).
    lr
        The learning rate.
    betas
        Decay rates ``(β₁, β₂)`` of the running mean and mean square of the gradient.
    eps
        Added to the denominator.
    weight_decay
        L2 penalty added to the gradient.
    amsgrad
        Use the running maximum of ``v``.
    maximize
        Ascend instead of descend.

    Raises
    ------
    ValueError
        When ``lr``, ``eps`` or ``weight_decay`` is negative, a beta is outside ``[0, 1)``, or
        ``params`` is empty.

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

    def _update_many(
        self,
        group: dict[str, Any],
        params: list[Any],
        grads: list[Any],
        states: list[dict[str, Any]],
        xp: Any,
    ) -> list[Any]:
        beta1, beta2 = group["betas"]
        amsgrad = group["amsgrad"]
        for p, state in zip(params, states, strict=True):
            if not state:
                state["step"] = 0
                state["exp_avg"] = xp.zeros_like(p)
                state["exp_avg_sq"] = xp.zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = xp.zeros_like(p)
            state["step"] += 1
        new_params, exp_avgs, exp_avg_sqs, maxima = primitives.adam_step(
            params,
            grads,
            [state["exp_avg"] for state in states],
            [state["exp_avg_sq"] for state in states],
            [state["max_exp_avg_sq"] for state in states] if amsgrad else None,
            [state["step"] for state in states],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            decoupled=self._decoupled,
            maximize=group["maximize"],
            xp=xp,
        )
        for k, state in enumerate(states):
            state["exp_avg"] = exp_avgs[k]
            state["exp_avg_sq"] = exp_avg_sqs[k]
            if amsgrad:
                state["max_exp_avg_sq"] = maxima[k]
        return new_params


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p ← p (1 − lr · weight_decay)`` before the Adam
    step (default ``weight_decay=0.01``, as in PyTorch).

    Parameters
    ----------
    params, lr, betas, eps, amsgrad, maximize
        As for :class:`Adam`.
    weight_decay
        The decoupled decay rate.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> p = nn.Parameter(np.array([1.0]))
    >>> opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    >>> (p * p).sum().backward(); opt.step()      # 1 * (1 - 0.1 * 0.5), then the Adam step
    >>> p.numpy().round(6)
    array([0.85])
    """

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
