"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..backends import primitives
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """``p ← p − lr · d``, with PyTorch's momentum convention.

    With ``g' = g + weight_decay · p``: the buffer is ``b ← momentum · b + (1 − dampening) · g'``
    (``b = g'`` on the first step); ``d = g' + momentum · b`` (Nesterov) or ``d = b``.

    Parameters
    ----------
    params
        Variables that require grad, or parameter groups (dicts with ``"params"``).
    lr
        The learning rate.
    momentum
        The momentum factor (0: plain SGD).
    dampening
        Scales the new gradient in the momentum buffer by ``1 - dampening``.
    weight_decay
        L2 penalty added to the gradient.
    nesterov
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize
        Ascend instead of descend.

    Raises
    ------
    ValueError
        When ``lr``, ``momentum`` or ``weight_decay`` is negative, when Nesterov is asked
        without momentum or with dampening, or when ``params`` is empty.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> p = nn.Parameter(np.array([1.0]))
    >>> opt = optim.SGD([p], lr=0.1)
    >>> (p * p).sum().backward(); opt.step()
    >>> p.numpy()
    array([0.8])
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"SGD: expected non-negative lr, momentum and weight_decay, got "
                f"{lr}, {momentum}, {weight_decay}"
            )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening 0")
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
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
        new_params, bufs = primitives.sgd_step(
            params,
            grads,
            [state.get("momentum_buffer") for state in states],
            lr=group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
            xp=xp,
        )
        if group["momentum"]:
            for state, buf in zip(states, bufs, strict=True):
                state["momentum_buffer"] = buf
        return new_params
