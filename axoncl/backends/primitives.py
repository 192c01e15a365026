"""Non-standard primitives: a portable array-API version each, plus per-backend fast versions.

A primitive takes ``xp`` as a keyword. A backend installs its own version with
``@prim.register(namespace)``; calls on arrays of that namespace then use it.

Examples
--------
>>> import numpy as np
>>> from array_api_compat import numpy as xp
>>> softmax(xp.asarray([0.0, 0.0]), axis=-1, xp=xp)
array([0.5, 0.5])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["Primitive", "erf", "index_add", "log_softmax", "logsumexp",
           "primitive", "softmax"]


class Primitive:
    """A function with a portable body and optional per-namespace overrides."""

    def __init__(self, portable: Callable[..., Any]) -> None:
        self.portable = portable
        self.name = portable.__name__
        self.__doc__ = portable.__doc__
        self._impls: dict[str, Callable[..., Any]] = {}

    def register(self, namespace: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: ``fn`` serves arrays of ``namespace`` (a module or its name)."""
        key = namespace if isinstance(namespace, str) else namespace.__name__

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._impls[key] = fn
            return fn

        return decorate

    def unregister(self, namespace: Any) -> None:
        key = namespace if isinstance(namespace, str) else namespace.__name__
        self._impls.pop(key, None)

    def implementation(self, xp: Any) -> Callable[..., Any]:
        return self._impls.get(xp.__name__, self.portable)

    def __call__(self, *args: Any, xp: Any, **kwargs: Any) -> Any:
        return self._impls.get(xp.__name__, self.portable)(*args, xp=xp, **kwargs)

    def __repr__(self) -> str:
        return f"<primitive {self.name} overrides={sorted(self._impls)}>"


def primitive(fn: Callable[..., Any]) -> Primitive:
    """Make ``fn`` (portable, array-API only) a :class:`Primitive`."""
    return Primitive(fn)


@primitive
def softmax(x: Any, *, axis: int, xp: Any) -> Any:
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(shifted)
    return e / xp.sum(e, axis=axis, keepdims=True)


@primitive
def log_softmax(x: Any, *, axis: int, xp: Any) -> Any:
    """``x - logsumexp(x)`` along ``axis``, computed stably."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


@primitive
def logsumexp(x: Any, *, axis: Any, keepdims: bool, xp: Any) -> Any:
    """``log(sum(exp(x)))`` over ``axis``, shifted by the maximum for stability."""
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        axes = (axis,) if isinstance(axis, int) else tuple(range(x.ndim) if axis is None else axis)
        out = xp.squeeze(out, axis=tuple(a % x.ndim for a in axes)) if x.ndim else out
    return out


@primitive
def index_add(grad: Any, index: Any, size: int, *, axis: int, xp: Any) -> Any:
    """Zeros with ``size`` entries along ``axis``, plus ``grad`` added at ``index`` (1-D,
    repeats add up): the adjoint of ``take(x, index, axis)``.

    Portable version: a matrix product with the one-hot matrix of ``index``.
    """
    onehot = xp.astype(xp.reshape(index, (-1, 1)) == xp.arange(size, dtype=index.dtype,
                                                            device=_device(index)), grad.dtype)
    moved = xp.moveaxis(grad, axis, -1)
    out = xp.matmul(moved, onehot)
    return xp.moveaxis(out, -1, axis)


@primitive
def erf(x: Any, *, xp: Any) -> Any:
    """The error function; portable version after Numerical Recipes' ``erfc`` Chebyshev fit
    (fractional error below 1.2e-7 everywhere)."""
    z = xp.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    coeffs = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
              -1.13520398, 1.48851587, -0.82215223, 0.17087277)
    poly = xp.zeros_like(t) + coeffs[-1]
    for c in reversed(coeffs[:-1]):
        poly = poly * t + c
    erfc = t * xp.exp(-z * z + poly)
    return xp.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def _device(x: Any) -> Any:
    return getattr(x, "device", None)


# numpy has fast scatter-add and math.erf; register them for the numpy namespaces.
def _register_numpy() -> None:
    import numpy as np

    erf_elementwise = np.frompyfunc(math.erf, 1, 1)

    def index_add_np(grad, index, size, *, axis, xp):
        shape = list(grad.shape)
        shape[axis] = size
        out = np.zeros(shape, dtype=grad.dtype)
        key = (slice(None),) * (axis % grad.ndim) + (np.asarray(index),)
        np.add.at(out, key, np.asarray(grad))
        return out

    def erf_np(x, *, xp):
        return np.asarray(erf_elementwise(x), dtype=x.dtype)

    for name in ("array_api_compat.numpy", "numpy"):
        index_add.register(name)(index_add_np)
        erf.register(name)(erf_np)


_register_numpy()
