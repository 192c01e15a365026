"""``detect_anomaly``: find where a NaN or Inf gradient comes from, and catch in-place changes
of saved host arrays.

Inside the block (or the decorated function), and on every backend:

* every recorded op notes its forward site (``file:line`` of the user's code that called it);
* every gradient a backward rule produces is checked for NaN and Inf; the first bad one raises
  a ``RuntimeError`` naming the op, the input and the forward site;
* saved numpy (and other host) arrays get a checksum when saved and when used, so an in-place
  change between forward and backward raises. OpenCL arrays and torch tensors count their
  in-place writes and are checked always, at no cost; a numpy array has no such counter, and a
  checksum reads every byte, hence only here.

Everything costs time (a host read per gradient on a device), so use it to debug, not to train.

Examples
--------
>>> import numpy as np, axoncl
>>> x = axoncl.Variable(np.array([0.0]), requires_grad=True)
>>> with axoncl.detect_anomaly():
...     try:
...         x.sqrt().sum().backward()
...     except RuntimeError as exc:
...         print(str(exc).split(" (")[0])
detect_anomaly: the backward of sqrt produced Inf in the gradient of its input 0
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from . import graph

__all__ = ["detect_anomaly", "is_anomaly_enabled"]

F = TypeVar("F", bound=Callable[..., Any])


def is_anomaly_enabled() -> bool:
    """Whether :class:`detect_anomaly` is on.

    Returns
    -------
    bool
        True inside a ``detect_anomaly()`` block in this thread.

    Examples
    --------
    >>> import axoncl
    >>> axoncl.is_anomaly_enabled()
    False
    >>> with axoncl.detect_anomaly():
    ...     axoncl.is_anomaly_enabled()
    True
    """
    return graph._ANOMALY[0]


class detect_anomaly:  # noqa: N801 - a context manager named like a function, as in PyTorch
    """Check every gradient for NaN/Inf and report the forward site of the op that made it; see
    the module docstring. A context manager and a decorator; blocks nest.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.array([0.0, 1.0]), requires_grad=True)
    >>> with axoncl.detect_anomaly():
    ...     y = axoncl.sqrt(x).sum()
    ...     try:
    ...         y.backward()
    ...     except RuntimeError as error:
    ...         print("sqrt" in str(error))
    True
    """

    def __init__(self) -> None:
        self._previous: list[tuple[bool, bool, bool]] = []

    def __enter__(self) -> detect_anomaly:
        flags = (graph._TRACK_SITES[0], graph._CHECK_HOST[0], graph._ANOMALY[0])
        self._previous.append(flags)
        graph._TRACK_SITES[0] = graph._CHECK_HOST[0] = graph._ANOMALY[0] = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        graph._TRACK_SITES[0], graph._CHECK_HOST[0], graph._ANOMALY[0] = self._previous.pop()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def check_gradients(node: graph.Node, grads: tuple[Any, ...]) -> None:
    """Raise when a gradient that ``node``'s backward produced holds NaN or Inf (the engine
    calls this for every node while :class:`detect_anomaly` is on)."""
    xp = node.xp
    for index, g in enumerate(grads):
        if g is None:
            continue
        data = g.data
        if not xp.isdtype(data.dtype, ("real floating", "complex floating")):
            continue
        if bool(xp.all(xp.isfinite(data))):
            continue
        kind = "NaN" if bool(xp.any(xp.isnan(data))) else "Inf"
        site = node.creation_site or "an unknown site (made outside detect_anomaly)"
        raise RuntimeError(
            f"detect_anomaly: the backward of {node.name} produced {kind} in the gradient of "
            f"its input {index} (shape {tuple(data.shape)}); the op was called at {site}"
        )
