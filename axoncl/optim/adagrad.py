"""Adagrad (Duchi, Hazan & Singer, 2011), with PyTorch's learning-rate decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .optimizer import Optimizer
from .rmsprop import decayed_gradient

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``s ← s + g²``, ``p ← p − lr_t · g / (sqrt(s) + eps)`` with
    ``lr_t = lr / (1 + (t − 1) · lr_decay)``, as in PyTorch; ``s`` starts at
    ``initial_accumulator_value``.

    Parameters
    ----------
    params
        Variables that require grad, or parameter groups (dicts with ``"params"``).
    lr
        The learning rate.
    lr_decay
        Decay of the learning rate with the step count.
    weight_decay
        L2 penalty added to the gradient.
    initial_accumulator_value
        Starting value of the sum of squares.
    eps
        Added to the denominator.
    maximize
        Ascend instead of descend.

    Raises
    ------
    ValueError
        When any of ``lr``, ``lr_decay``, ``weight_decay``, ``initial_accumulator_value`` and
        ``eps`` is negative, or ``params`` is empty.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> w = nn.Parameter(np.array([2.0, -1.0]))
    >>> adagrad = optim.Adagrad([w], lr=0.5)
    >>> w.square().sum().backward()
    >>> adagrad.step()          # the first step moves each weight by lr: g / sqrt(g²) = ±1
    >>> w.numpy().round(6).tolist()
    [1.5, -0.5]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        if min(lr, lr_decay, weight_decay, initial_accumulator_value, eps) < 0:
            raise ValueError(
                "Adagrad: expected non-negative lr, lr_decay, weight_decay, "
                f"initial_accumulator_value and eps, got {lr}, {lr_decay}, {weight_decay}, "
                f"{initial_accumulator_value}, {eps}"
            )
        super().__init__(
            params,
            {
                "lr": lr,
                "lr_decay": lr_decay,
                "weight_decay": weight_decay,
                "initial_accumulator_value": initial_accumulator_value,
                "eps": eps,
                "maximize": maximize,
            },
        )

    def _update(self, group: dict[str, Any], p: Any, g: Any, state: dict[str, Any], xp: Any) -> Any:
        g = decayed_gradient(group, p, g)
        if not state:
            state["step"] = 0
            state["sum"] = xp.zeros_like(p) + group["initial_accumulator_value"]
        state["step"] += 1
        lr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"] + g * g
        state["sum"] = total
        return p - (g / (xp.sqrt(total) + group["eps"])) * lr
