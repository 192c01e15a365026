"""``GradScaler``: dynamic loss scaling for training under ``autocast(dtype="float16")``.

Small float16 gradients underflow to zero. Multiplying the loss by a large scale before
backward keeps them representable; the gradients are divided by it again before the optimizer
step. When a gradient overflows (Inf or NaN), the step is skipped and the scale shrinks; after
``growth_interval`` clean steps it grows again.

The scale is a host number. The division and the overflow check run on the device (the
``unscale_grads`` primitive); the one value read back per step is the overflow flag, in
:meth:`GradScaler.step`, which must know whether to step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backends import namespace_of, primitives
from .grad_mode import no_grad
from .variable import Variable, _new_variable

__all__ = ["GradScaler"]

# The state of each optimizer between two update() calls.
_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


def _float32(value: float) -> float:
    """``value`` rounded to float32, as a scale kept in a float32 array would be (a growth
    past float32's range gives inf, which ``update`` refuses)."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


class GradScaler:
    """Dynamic loss scaling: ``scale(loss).backward()``, ``step(optimizer)``, ``update()``.

    Parameters
    ----------
    init_scale
        The first scale.
    growth_factor
        The scale is multiplied by this after ``growth_interval`` steps without overflow.
    backoff_factor
        ... and by this at a step whose gradients overflowed (that step is skipped).
    growth_interval
        Clean steps between two growths.
    enabled
        ``False`` makes every method a pass-through (``step`` just steps), so one training
        loop serves every precision.

    Raises
    ------
    ValueError
        When ``init_scale`` is not finite and positive, ``growth_factor`` is not above 1,
        ``backoff_factor`` is not in (0, 1), or ``growth_interval`` is not an int of at least 1.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl import nn, optim
    >>> model = nn.Linear(3, 1)
    >>> opt = optim.SGD(model.parameters(), lr=0.1)
    >>> scaler = axoncl.GradScaler(init_scale=1024.0)
    >>> with axoncl.autocast():
    ...     loss = model(np.ones((2, 3), np.float32)).sum()
    >>> scaler.scale(loss).backward()
    >>> scaler.step(opt)
    >>> scaler.update()
    >>> scaler.get_scale()
    1024.0
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if not (isinstance(init_scale, (int, float)) and 0 < init_scale < math.inf):
            raise ValueError(f"GradScaler: expected a finite init_scale > 0, got {init_scale!r}")
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: expected growth_factor > 1, got {growth_factor!r}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(
                f"GradScaler: expected backoff_factor in (0, 1), got {backoff_factor!r}"
            )
        if not isinstance(growth_interval, int) or growth_interval < 1:
            raise ValueError(
                f"GradScaler: expected growth_interval as an int >= 1, got {growth_interval!r}"
            )
        self._enabled = bool(enabled)
        self._scale = _float32(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        # id(optimizer) -> {"stage", "flags" (0-d device arrays), "found" (bool, once read)}
        self._per_optimizer: dict[int, dict[str, Any]] = {}

    # -- the training step --------------------------------------------------------------
    def scale(self, outputs: Any) -> Any:
        """``outputs * scale`` (a Variable, or a list or tuple of them)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(out) for out in outputs)
        if not isinstance(outputs, Variable):
            raise TypeError(
                f"GradScaler.scale: expected a Variable or a list or tuple of them, got "
                f"{type(outputs).__name__}"
            )
        return outputs * self._scale

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer.setdefault(
            id(optimizer), {"stage": _READY, "flags": [], "found": None}
        )

    def unscale_(self, optimizer: Any) -> None:
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place, and note
        on the device whether any is Inf or NaN. Call it before clipping gradients; ``step``
        calls it when you have not."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError(
                "GradScaler.unscale_: already called for this optimizer since the last "
                "update(); call it once per step"
            )
        if state["stage"] == _STEPPED:
            raise RuntimeError(
                "GradScaler.unscale_: called after step(); unscale before stepping, and call "
                "update() to start the next step"
            )
        inv_scale = _float32(1.0 / self._scale)
        groups: dict[tuple[Any, Any], list[Variable]] = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                data = p.grad.data
                key = (namespace_of(data), getattr(data, "device", None))
                groups.setdefault(key, []).append(p)
        flags = []
        with no_grad():
            for (xp, _), params in groups.items():
                grads, found = primitives.unscale_grads(
                    [p.grad.data for p in params], inv_scale, xp=xp
                )
                for p, g in zip(params, grads, strict=True):
                    p.grad = _new_variable(g)
                flags.append(found)
        state["flags"] = flags
        state["stage"] = _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless :meth:`unscale_` did), then run ``optimizer.step(*args, **kwargs)``
        unless a gradient overflowed; returns what the step returned, or None when skipped.

        Here the overflow flag is read back: the one wait for the device in a step."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs or args:
            raise RuntimeError(
                "GradScaler.step: a closure is not supported while the scaler is enabled; "
                "compute the loss, scale(loss).backward(), then step(optimizer)"
            )
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError(
                "GradScaler.step: already called for this optimizer since the last update()"
            )
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        found = self._found(state)
        state["stage"] = _STEPPED
        if found:
            return None
        return optimizer.step()

    def _found(self, state: dict[str, Any]) -> bool:
        """Whether the optimizer's gradients overflowed (reads the flags once)."""
        if state["found"] is None:
            if not state["flags"]:
                raise RuntimeError(
                    "GradScaler: no gradients were checked for this optimizer; call "
                    "scale(loss).backward() before step()"
                )
            state["found"] = any(bool(flag) for flag in state["flags"])  # the host read
        return state["found"]

    def update(self, new_scale: float | None = None) -> None:
        """Set the scale for the next step: times ``backoff_factor`` if a checked gradient
        overflowed, times ``growth_factor`` after ``growth_interval`` clean steps in a row
        (when the result is finite in float32); or ``new_scale`` when given."""
        if not self._enabled:
            return
        if new_scale is not None:
            if isinstance(new_scale, Variable):
                new_scale = new_scale.item()
            self._scale = _float32(new_scale)
        else:
            checked = [s for s in self._per_optimizer.values() if s["stage"] != _READY]
            if not checked:
                raise RuntimeError(
                    "GradScaler.update: no gradients were checked since the last update(); "
                    "call step(optimizer) (or unscale_) first"
                )
            if any(self._found(s) for s in checked):
                self._scale = _float32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = _float32(self._scale * self._growth_factor)
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer = {}

    # -- settings and state -------------------------------------------------------------
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def is_enabled(self) -> bool:
        return self._enabled

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def state_dict(self) -> dict[str, Any]:
        """The scale, the factors, the interval and the count of clean steps (empty when
        disabled), under ``torch.amp.GradScaler``'s keys."""
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not self._enabled:
            raise RuntimeError("GradScaler.load_state_dict: this scaler is disabled")
        if not state_dict:
            raise RuntimeError(
                "GradScaler.load_state_dict: the state is empty, as a disabled scaler's is"
            )
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval"} - set(state_dict)
        if missing:
            raise ValueError(f"GradScaler.load_state_dict: the state lacks {sorted(missing)}")
        self._scale = _float32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict.get("_growth_tracker", 0))
