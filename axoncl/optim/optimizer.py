"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad`` and ``state_dict``.

Updates run on raw arrays through each parameter's array-API namespace, under ``no_grad``.
Hyper-parameters stay Python floats, so an OpenCL step enqueues kernels and never reads a value
back: the host does not wait for the device.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..backends import host_dtype, host_to_like, namespace_of, to_numpy
from ..grad_mode import enable_grad, no_grad
from ..variable import Variable

__all__ = ["Optimizer"]


def _as_param_list(params: Any, name: str) -> list[Any]:
    """``params`` as a list, refusing the common mistakes with a hint: a Module (pass
    ``model.parameters()``), a single Variable, a non-iterable."""
    if callable(getattr(params, "parameters", None)) and not isinstance(params, dict):
        raise TypeError(
            f"{name}: expected an iterable of Parameters or parameter groups, got a "
            f"{type(params).__name__} (a Module); pass model.parameters()"
        )
    if isinstance(params, Variable):
        raise TypeError(
            f"{name}: expected an iterable of Parameters or parameter groups, got a single "
            "Variable; pass [w]"
        )
    try:
        return list(params)
    except TypeError:
        raise TypeError(
            f"{name}: expected an iterable of Parameters or parameter groups, got "
            f"{type(params).__name__}"
        ) from None


def _check_hyperparameters(group: dict[str, Any], defaults: dict[str, Any], name: str) -> None:
    """Every numeric hyper-parameter of ``group`` is a finite real number: ``lr=nan`` would
    otherwise turn every parameter into NaN at the first step, silently."""
    for key, default in defaults.items():
        value = group[key]
        numbers = value if isinstance(default, tuple) else (value,)
        if isinstance(default, bool) or not isinstance(default, (int, float, tuple)):
            continue
        for number in numbers:
            if isinstance(number, bool) or not isinstance(number, (int, float, np.number)):
                raise TypeError(f"{name}: expected a number for {key}, got {value!r}")
            if not np.isfinite(number):
                raise ValueError(f"{name}: expected a finite {key}, got {value!r}")


class Optimizer:
    """Base class: subclasses define ``defaults`` and either ``_update(group, param, grad,
    state, xp)`` (one parameter at a time) or ``_update_many(group, params, grads, states, xp)``
    (every parameter of a group that shares a namespace at once: SGD and Adam hand them to a
    multi-tensor primitive, so an OpenCL step costs one launch per eight parameters).

    Parameters
    ----------
    params
        An iterable of Variables that require grad (e.g. ``model.parameters()``), or of dicts
        ``{"params": [...], "lr": ...}`` (parameter groups with their own hyper-parameters).
    defaults
        Hyper-parameters that groups do not set.

    Raises
    ------
    ValueError
        When ``params`` is empty.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn, optim
    >>> class SignDescent(optim.Optimizer):
    ...     def __init__(self, params, lr=0.1):
    ...         super().__init__(params, {"lr": lr})
    ...     def _update(self, group, param, grad, state, xp):
    ...         return param - group["lr"] * xp.sign(grad)
    >>> p = nn.Parameter(np.array([1.0, -2.0]))
    >>> opt = SignDescent([p])
    >>> (p * p).sum().backward(); opt.step()
    >>> p.numpy()
    array([ 0.9, -1.9])
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        params = _as_param_list(params, type(self).__name__)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters, with hyper-parameters defaulting to ``defaults``."""
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Variable) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Variable):
                raise TypeError(
                    f"{type(self).__name__}: expected Variables as parameters, got "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{type(self).__name__}: can only optimise leaf Variables; "
                    f"{p.name or 'a parameter'} has a grad_fn"
                )
            if id(p) in seen:
                raise ValueError(
                    f"{type(self).__name__}: a parameter appears in two groups "
                    f"({p.name or p.shape})"
                )
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        _check_hyperparameters(group, self.defaults, type(self).__name__)
        group.setdefault("initial_lr", group.get("lr"))
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (or zero it in place-of with ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = Variable(namespace_of(p.data).zeros_like(p.data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient.

        ``closure``, when given, re-evaluates the model and returns the loss (called with
        gradients enabled); its result is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._group_step(group)
                by_namespace: dict[Any, list[Variable]] = {}
                for p in group["params"]:
                    if p.grad is not None:
                        by_namespace.setdefault(namespace_of(p.data), []).append(p)
                for xp, params in by_namespace.items():
                    states = [self.state.setdefault(id(p), {}) for p in params]
                    new = self._update_many(
                        group, [p.data for p in params], [p.grad.data for p in params], states, xp
                    )
                    for p, data in zip(params, new, strict=True):
                        p.data = data
        return loss

    def _group_step(self, group: dict[str, Any]) -> None:
        """Hook run once per group before its parameters (e.g. to count steps)."""

    def _update(self, group: dict[str, Any], p: Any, g: Any, state: dict[str, Any], xp: Any) -> Any:
        raise NotImplementedError

    def _update_many(
        self,
        group: dict[str, Any],
        params: list[Any],
        grads: list[Any],
        states: list[dict[str, Any]],
        xp: Any,
    ) -> list[Any]:
        """New data of each parameter (arrays of one namespace); by default one ``_update``
        each."""
        return [
            self._update(group, p, g, state, xp)
            for p, g, state in zip(params, grads, states, strict=True)
        ]

    # -- state ---------------------------------------------------------------------------
    def _params(self) -> list[Variable]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [...]}``, parameters by their index in
        the order of the groups (as in PyTorch); arrays are the state's own (not copies)."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = []
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = [index[id(p)] for p in group["params"]]
            groups.append(entry)
        state = {index[key]: dict(value) for key, value in self.state.items() if key in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state; arrays move to each parameter's
        backend and device."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected "
                f"{len(self.param_groups)} parameter groups, got {len(groups)}"
            )
        for mine, theirs in zip(self.param_groups, groups, strict=True):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: a group has "
                    f"{len(mine['params'])} parameters here and "
                    f"{len(theirs['params'])} in the state dict"
                )
        params = self._params()
        self.state = {}
        for key, value in state_dict["state"].items():
            p = params[int(key)]
            entry = {}
            for name, item in value.items():
                entry[name] = _array_like(item, p.data) if _is_array(item) else copy.copy(item)
            self.state[id(p)] = entry
        for mine, theirs in zip(self.param_groups, groups, strict=True):
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = copy.copy(v)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)


def _array_like(value: Any, like: Any) -> Any:
    host = np.array(to_numpy(value), copy=True)
    if np.issubdtype(host.dtype, np.floating):
        host = host.astype(host_dtype(like.dtype))
    return host_to_like(host, like) if host.dtype == host_dtype(like.dtype) else host
