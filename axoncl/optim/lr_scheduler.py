"""Learning-rate schedules: closed forms per step (``StepLR``, ``CosineAnnealingLR``, ``LambdaLR``,
``LinearLR``, ``OneCycleLR``) and ``ReduceLROnPlateau``, driven by a metric."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .optimizer import Optimizer

__all__ = [
    "CosineAnnealingLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]


class _Schedule:
    """What every schedule shares: the optimizer's current rates and the state of the rest."""

    optimizer: Optimizer

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class LRScheduler(_Schedule):
    """Base class: sets each group's ``lr`` to ``lr_at(base_lr, epoch)`` on every ``step()``.

    A subclass defines ``lr_at(base_lr, epoch)``.

    Parameters
    ----------
    optimizer
        The optimizer whose groups' ``lr`` it sets; each group's first ``lr`` is kept as its
        ``initial_lr`` (``base_lr``).
    last_epoch
        The epoch to resume after (-1: start).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> class Halving(optim.lr_scheduler.LRScheduler):
    ...     def lr_at(self, base_lr, epoch):
    ...         return base_lr / 2**epoch
    >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = Halving(opt)
    >>> sched.step(); sched.step(); sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the groups' learning rates."""
        self.last_epoch += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.lr_at(base, self.last_epoch)


class StepLR(LRScheduler):
    """``lr = base_lr · gamma ** (epoch // step_size)``.

    Parameters
    ----------
    optimizer
        The optimizer whose groups' ``lr`` it sets.
    step_size
        Epochs between two decays.
    gamma
        The decay factor.
    last_epoch
        The epoch to resume after (-1: start).

    Raises
    ------
    ValueError
        When ``step_size`` is below 1.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> [(sched.step(), sched.get_last_lr()[0])[1] for _ in range(4)]
    [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if step_size < 1:
            raise ValueError(f"StepLR: expected step_size >= 1, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (base_lr − eta_min) (1 + cos(π · epoch / T_max)) / 2``
    (Loshchilov & Hutter, 2017, without restarts; periodic past ``T_max``, as in PyTorch).

    Parameters
    ----------
    optimizer
        The optimizer whose groups' ``lr`` it sets.
    T_max
        Epochs of half a cosine period.
    eta_min
        The lowest learning rate.
    last_epoch
        The epoch to resume after (-1: start).

    Raises
    ------
    ValueError
        When ``T_max`` is below 1.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    >>> [(sched.step(), round(sched.get_last_lr()[0], 4))[1] for _ in range(4)]
    [0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,  # noqa: N803
        last_epoch: int = -1,
    ) -> None:
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: expected T_max >= 1, got {T_max}")
        self.T_max = int(T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        cos = math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + cos) / 2.0


class LambdaLR(LRScheduler):
    """``lr = base_lr · lr_lambda(epoch)``; one function for all groups or one per group.

    ``state_dict`` leaves the functions out (they are code, not state).

    Parameters
    ----------
    optimizer
        The optimizer whose groups' ``lr`` it sets.
    lr_lambda
        A function of the epoch giving the factor on ``base_lr``, or one per group.
    last_epoch
        The epoch to resume after (-1: start).

    Raises
    ------
    ValueError
        When a list of functions does not have one per parameter group.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5**epoch)
    >>> sched.step(); sched.get_last_lr()
    [0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        groups = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, Sequence) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ValueError(
                f"LambdaLR: expected one lr_lambda or {groups} (one per group), got {len(lambdas)}"
            )
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def step(self) -> None:
        self.last_epoch += 1
        for group, base, fn in zip(
            self.optimizer.param_groups, self.base_lrs, self.lr_lambdas, strict=True
        ):
            group["lr"] = base * fn(self.last_epoch)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class LinearLR(LRScheduler):
    """The factor on ``base_lr`` moves linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps and then stays (a linear warm-up with the defaults of PyTorch).

    Parameters
    ----------
    optimizer
        The optimizer whose groups' ``lr`` it sets.
    start_factor, end_factor
        The factors on ``base_lr`` at the first and the last of ``total_iters`` steps.
    total_iters
        Steps of the ramp.
    last_epoch
        The epoch to resume after (-1: start).

    Raises
    ------
    ValueError
        When ``start_factor`` is outside ``(0, 1]``, ``end_factor`` outside ``[0, 1]``, or
        ``total_iters`` below 1.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> sched.get_last_lr(), [(sched.step(), sched.get_last_lr()[0])[1] for _ in range(4)]
    ([0.25], [0.5, 0.75, 1.0, 1.0])
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0.0 < start_factor <= 1.0 or not 0.0 <= end_factor <= 1.0:
            raise ValueError(
                f"LinearLR: expected start_factor in (0, 1] and end_factor in [0, 1], got "
                f"{start_factor} and {end_factor}"
            )
        if total_iters < 1:
            raise ValueError(f"LinearLR: expected total_iters >= 1, got {total_iters}")
        self.start_factor = float(start_factor)
        self.end_factor = float(end_factor)
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        done = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * done)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017) with PyTorch's phases, per optimizer step.

    The learning rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps``, then anneals to ``initial_lr / final_div_factor``
    (``three_phase`` comes back down to the initial rate first). With ``cycle_momentum``, a
    group's ``momentum`` (or ``betas[0]``) moves the other way between ``max_momentum`` and
    ``base_momentum``. Stepping past ``total_steps`` is an error.

    Parameters
    ----------
    optimizer
        The optimizer whose groups' ``lr`` (and momentum) it sets.
    max_lr
        The peak learning rate, one for all groups or one per group.
    total_steps
        Steps of the cycle; or give ``epochs`` and ``steps_per_epoch``.
    epochs, steps_per_epoch
        Their product is ``total_steps`` when that is not given.
    pct_start
        The fraction of the cycle spent rising.
    anneal_strategy
        ``"cos"`` or ``"linear"``.
    cycle_momentum, base_momentum, max_momentum
        Move the momentum between these two, opposite to the learning rate.
    div_factor
        The initial rate is ``max_lr / div_factor``.
    final_div_factor
        The final rate is the initial one divided by this.
    three_phase
        Come back down to the initial rate before annealing.
    last_epoch
        The step to resume after (-1: start).

    Raises
    ------
    ValueError
        When the number of steps is not given or below 1, ``pct_start`` is outside
        ``[0, 1]``, ``anneal_strategy`` is unknown, a list of ``max_lr`` does not have one
        per group, or ``cycle_momentum`` is asked of an optimizer without momentum or betas.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0, momentum=0.9)
    >>> sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    >>> rates = [sched.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     sched.step()
    ...     rates.append(sched.get_last_lr()[0])
    >>> [round(lr, 4) for lr in rates]
    [0.04, 0.52, 1.0, 0.9505]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: expected total_steps, or epochs and steps_per_epoch")
            total_steps = int(epochs) * int(steps_per_epoch)
        if total_steps < 1 or not 0.0 <= pct_start <= 1.0:
            raise ValueError(
                f"OneCycleLR: expected total_steps >= 1 and pct_start in [0, 1], got "
                f"{total_steps} and {pct_start}"
            )
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: expected anneal_strategy 'cos' or 'linear', got {anneal_strategy!r}"
            )
        groups = optimizer.param_groups
        maxima = list(max_lr) if isinstance(max_lr, Sequence) else [max_lr] * len(groups)
        if len(maxima) != len(groups):
            raise ValueError(f"OneCycleLR: expected one max_lr or {len(groups)}, got {len(maxima)}")
        self.total_steps = int(total_steps)
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = bool(cycle_momentum)
        self.momenta = (float(max_momentum), float(base_momentum))
        self.max_lrs = [float(m) for m in maxima]
        self.min_lrs = [m / div_factor / final_div_factor for m in self.max_lrs]
        n = float(pct_start * self.total_steps)
        if three_phase:
            # (end step, start key, end key): keys index (initial, max, min) and momenta
            self.phases = [(n - 1, 0, 1), (2 * n - 2, 1, 0), (self.total_steps - 1, 0, 2)]
        else:
            self.phases = [(n - 1, 0, 1), (self.total_steps - 1, 1, 2)]
        for group, top in zip(groups, self.max_lrs, strict=True):
            group["initial_lr"] = top / div_factor
        if self.cycle_momentum and last_epoch == -1:
            for group in groups:
                if "momentum" not in group and "betas" not in group:
                    raise ValueError(
                        "OneCycleLR: cycle_momentum needs an optimizer with momentum or betas; "
                        "pass cycle_momentum=False"
                    )
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)
        return (end - start) * pct + start

    def _at(self, values: Sequence[float], epoch: int) -> float:
        start_step = 0.0
        for i, (end_step, first, last) in enumerate(self.phases):
            if epoch <= end_step or i == len(self.phases) - 1:
                pct = (epoch - start_step) / (end_step - start_step)
                return self._anneal(values[first], values[last], pct)
            start_step = end_step
        raise AssertionError("unreachable: the last phase always answers")

    def step(self) -> None:
        self.last_epoch += 1
        epoch = self.last_epoch
        if epoch > self.total_steps:
            raise RuntimeError(
                f"OneCycleLR: stepped {epoch} times, past total_steps={self.total_steps}"
            )
        high, low = self.momenta
        for group, base, top, bottom in zip(
            self.optimizer.param_groups, self.base_lrs, self.max_lrs, self.min_lrs, strict=True
        ):
            group["lr"] = self._at((base, top, bottom), epoch)
            if self.cycle_momentum:
                momentum = self._at((high, low, high), epoch)
                if "betas" in group:
                    group["betas"] = (momentum, group["betas"][1])
                else:
                    group["momentum"] = momentum


class ReduceLROnPlateau(_Schedule):
    """Multiply the learning rate by ``factor`` when a metric has stopped improving for more
    than ``patience`` calls of ``step(metric)``, as in PyTorch (``threshold`` in ``"rel"`` or
    ``"abs"`` mode, ``cooldown`` steps after a reduction, never below ``min_lr``).

    Parameters
    ----------
    optimizer
        The optimizer whose groups' ``lr`` it sets.
    mode
        ``"min"``: lower metrics are better; ``"max"``: higher.
    factor
        Multiplies the learning rate at a reduction.
    patience
        Calls without improvement tolerated before a reduction.
    threshold, threshold_mode
        What counts as an improvement: relative (``"rel"``) or absolute (``"abs"``).
    cooldown
        Calls after a reduction during which no new one happens.
    min_lr
        The lowest learning rate, one for all groups or one per group.
    eps
        A reduction smaller than this is not made.

    Raises
    ------
    ValueError
        When ``mode`` or ``threshold_mode`` is unknown, ``factor`` is outside ``[0, 1)``, or
        a list of ``min_lr`` does not have one per group.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    >>> for loss in [1.0, 1.0, 1.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()
    [0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(
                "ReduceLROnPlateau: expected mode 'min' or 'max' and threshold_mode 'rel' or "
                f"'abs', got {mode!r} and {threshold_mode!r}"
            )
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: expected factor in [0, 1), got {factor}")
        groups = len(optimizer.param_groups)
        self.optimizer = optimizer
        self.min_lrs = list(min_lr) if isinstance(min_lr, Sequence) else [min_lr] * groups
        if len(self.min_lrs) != groups:
            raise ValueError(
                f"ReduceLROnPlateau: expected one min_lr or {groups}, got {len(self.min_lrs)}"
            )
        self.mode = mode
        self.factor = float(factor)
        self.patience = int(patience)
        self.threshold = float(threshold)
        self.threshold_mode = threshold_mode
        self.cooldown = int(cooldown)
        self.eps = float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            bound = (
                self.best * (1.0 - self.threshold)
                if self.threshold_mode == "rel"
                else (self.best - self.threshold)
            )
            return value < bound
        bound = (
            self.best * (1.0 + self.threshold)
            if self.threshold_mode == "rel"
            else (self.best + self.threshold)
        )
        return value > bound

    def step(self, metric: float) -> None:
        """Record one value of the metric (a Python number, or a one-element Variable)."""
        value = float(metric)
        self.last_epoch += 1
        if self._is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new = max(group["lr"] * self.factor, floor)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
