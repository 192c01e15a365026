"""Non-standard primitives: a portable array-API version each, plus per-backend fast versions.

A primitive takes ``xp`` as a keyword. A backend installs its own version with
``@prim.register(namespace)``; calls on arrays of that namespace then use it.

This module holds the registry (:class:`Primitive`, :func:`primitive`); the primitives live by
family in :mod:`.core` (softmax, ``linear``, ``erf``, hot-path calls, …), :mod:`.attention`
(scaled dot-product attention), :mod:`.conv` (convolution and pooling windows) and
:mod:`.random` (Philox and dropout), and are re-exported here. numpy's own versions live in
:mod:`axoncl.backends.numpy`, installed on import.

Examples
--------
>>> import numpy as np
>>> from array_api_compat import numpy as xp
>>> softmax(xp.asarray([0.0, 0.0]), axis=-1, xp=xp)
array([0.5, 0.5])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Primitive", "primitive"]  # and each family's own list, added below


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

    def wrap(self, namespace: Any, decorator: Callable[[Callable[..., Any]], Any]) -> None:
        """Replace ``namespace``'s override (if it has one) by ``decorator(override)``."""
        key = namespace if isinstance(namespace, str) else namespace.__name__
        if key in self._impls:
            self._impls[key] = decorator(self._impls[key])

    def implementation(self, xp: Any) -> Callable[..., Any]:
        return self._impls.get(xp.__name__, self.portable)

    def __call__(self, *args: Any, xp: Any, **kwargs: Any) -> Any:
        return self._impls.get(xp.__name__, self.portable)(*args, xp=xp, **kwargs)

    def __repr__(self) -> str:
        return f"<primitive {self.name} overrides={sorted(self._impls)}>"


def primitive(fn: Callable[..., Any]) -> Primitive:
    """Make ``fn`` (portable, array-API only) a :class:`Primitive`."""
    return Primitive(fn)


def _device(x: Any) -> Any:
    return getattr(x, "device", None)


# Column matrices above this many elements are built a chunk of images at a time (by the
# portable conv2d and by backends' own, which read it here).
COLUMN_BUDGET = 1 << 24
# conv2d(..., keep_columns=stash): a backend may keep up to this many elements of column
# matrices per device, at any one time, for the weight gradient of the same input (0: none).
KEPT_COLUMNS_BUDGET = 1 << 25


class ColumnStash:
    """Where ``conv2d(..., keep_columns=stash)`` may leave its column matrices for the
    ``conv2d_weight_grad(..., columns=stash)`` of the same input. Autograd keeps one per
    convolution node, so the columns live exactly as long as the graph that will use them
    (a graph dropped without backward frees them). Backends choose what to put in it."""

    __slots__ = ("entries", "__weakref__")

    def __init__(self) -> None:
        self.entries: dict = {}


# The families, imported after the registry that their decorators use. Each lists its
# primitives in its own ``__all__``, and this package re-exports exactly those.
from . import attention, conv, core, loss, norm, optim, random  # noqa: E402
from .attention import *  # noqa: E402, F403
from .conv import *  # noqa: E402, F403
from .core import *  # noqa: E402, F403
from .loss import *  # noqa: E402, F403
from .norm import *  # noqa: E402, F403
from .optim import *  # noqa: E402, F403
from .random import *  # noqa: E402, F403
from .random import PHILOX_M, PHILOX_W  # noqa: E402, F401 - public, though not in __all__

__all__ += attention.__all__
__all__ += conv.__all__
__all__ += core.__all__
__all__ += loss.__all__
__all__ += norm.__all__
__all__ += optim.__all__
__all__ += random.__all__

# isort: split
# numpy's versions of some primitives, registered as soon as the portable ones exist.
from .. import numpy as _numpy  # noqa: E402, F401
