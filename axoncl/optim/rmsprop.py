"""RMSprop (Hinton's lecture 6e), with PyTorch's centred and momentum variants."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .optimizer import Optimizer

__all__ = ["RMSprop", "decayed_gradient"]


def decayed_gradient(group: dict[str, Any], p: Any, g: Any) -> Any:
    """The gradient a step follows: negated with ``maximize``, plus ``weight_decay · p``
    (L2 decay, as PyTorch's RMSprop and Adagrad apply it)."""
    if group["maximize"]:
        g = -g
    if group["weight_decay"]:
        g = g + p * group["weight_decay"]
    return g


class RMSprop(Optimizer):
    """``v ← α v + (1 − α) g²``, ``p ← p − lr · g / (sqrt(v) + eps)``, as in PyTorch.

    ``centered`` subtracts the square of the running mean gradient ``ḡ`` from ``v`` under the
    root; ``momentum`` accumulates ``b ← μ b + g / (sqrt(v) + eps)`` and steps by ``lr · b``;
    ``weight_decay`` adds ``weight_decay · p`` to the gradient.

    Parameters
    ----------
    params
        Variables that require grad, or parameter groups (dicts with ``"params"``).
    lr
        The learning rate.
    alpha
        Decay rate of the running mean square.
    eps
        Added to the denominator.
    weight_decay
        L2 penalty added to the gradient.
    momentum
        Momentum factor of the step.
    centered
        Normalise by the estimated variance instead of the mean square.
    maximize
        Ascend instead of descend.

    Raises
    ------
    ValueError
        When ``lr``, ``eps``, ``weight_decay`` or ``momentum`` is negative, ``alpha`` is
        outside ``[0, 1]``, or ``params`` is empty.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> p = nn.Parameter(np.array([1.0]))
    >>> opt = optim.RMSprop([p], lr=0.01)
    >>> (p * p).sum().backward(); opt.step()
    >>> p.numpy().round(4)
    array([0.9])
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or momentum < 0 or not 0.0 <= alpha <= 1.0:
            raise ValueError(
                "RMSprop: expected non-negative lr, eps, weight_decay and momentum and alpha in "
                f"[0, 1], got lr={lr}, eps={eps}, weight_decay={weight_decay}, "
                f"momentum={momentum}, alpha={alpha}"
            )
        super().__init__(
            params,
            {
                "lr": lr,
                "alpha": alpha,
                "eps": eps,
                "weight_decay": weight_decay,
                "momentum": momentum,
                "centered": centered,
                "maximize": maximize,
            },
        )

    def _update(self, group: dict[str, Any], p: Any, g: Any, state: dict[str, Any], xp: Any) -> Any:
        alpha = group["alpha"]
        g = decayed_gradient(group, p, g)
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            if group["momentum"]:
                state["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        square_avg = state["square_avg"] * alpha + g * g * (1.0 - alpha)
        state["square_avg"] = square_avg
        if group["centered"]:
            grad_avg = state["grad_avg"] * alpha + g * (1.0 - alpha)
            state["grad_avg"] = grad_avg
            avg = xp.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = xp.sqrt(square_avg) + group["eps"]
        if group["momentum"]:
            buf = state["momentum_buffer"] * group["momentum"] + g / avg
            state["momentum_buffer"] = buf
            return p - buf * group["lr"]
        return p - (g / avg) * group["lr"]
