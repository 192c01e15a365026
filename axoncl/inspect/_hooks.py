"""Installing and removing observers in ``graph._INSPECT_HOOKS``, and tensor statistics."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import graph
from ..backends import to_numpy

Hook = Callable[[str, Any, Callable[[], Any]], Any]


@contextmanager
def installed(hook: Hook) -> Iterator[None]:
    """Observe every forward and backward call with ``hook`` while the block runs."""
    graph._INSPECT_HOOKS.append(hook)  # mutate in place: engine.py holds the same list
    try:
        yield
    finally:
        for index in range(len(graph._INSPECT_HOOKS) - 1, -1, -1):
            if graph._INSPECT_HOOKS[index] is hook:
                del graph._INSPECT_HOOKS[index]
                break


@contextmanager
def tracking_sites() -> Iterator[None]:
    """Make ``Function.apply`` record ``ctx.creation_site`` (file:line) while the block runs."""
    previous = graph._TRACK_SITES[0]
    graph._TRACK_SITES[0] = True
    try:
        yield
    finally:
        graph._TRACK_SITES[0] = previous


@dataclass(frozen=True)
class TensorStats:
    """Summary of one array, computed on a float64 host copy.

    ``norm``, ``mean`` and ``max_abs`` cover the finite entries only; ``nan`` and ``inf`` count
    the others. ``zeros`` counts exact zeros.

    Parameters
    ----------
    size
        The number of elements.
    norm, mean, max_abs
        Over the finite entries.
    zeros, nan, inf
        Counts of exact zeros, NaNs and infinities.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> w = axoncl.Variable(np.array([1.0, -2.0]), requires_grad=True, name="w")
    >>> loss = (w * 3.0).relu().sum()
    >>> loss.backward()
    >>> stats = trace_backward(loss).nodes[0].grad
    >>> stats.size, stats.norm, stats.zeros, stats.zero_fraction
    (2, 3.0, 1, 0.5)
    """

    size: int
    norm: float
    mean: float
    max_abs: float
    zeros: int
    nan: int
    inf: int

    @property
    def zero_fraction(self) -> float:
        return self.zeros / self.size if self.size else 0.0

    @property
    def finite(self) -> bool:
        return self.nan == 0 and self.inf == 0

    def to_dict(self) -> dict[str, Any]:
        return {key: _json_float(value) for key, value in asdict(self).items()}

    def __str__(self) -> str:
        text = f"norm={self.norm:.3g} mean={self.mean:.3g} max|x|={self.max_abs:.3g}"
        if self.nan or self.inf:
            text += f" nan={self.nan} inf={self.inf}"
        return text


def tensor_stats(array: Any) -> TensorStats:
    """Statistics of any array-API array (copied to the host)."""
    host = np.asarray(to_numpy(array))
    if host.dtype.kind == "c":
        host = np.abs(host)
    values = host.astype(np.float64, copy=False).reshape(-1)
    finite_mask = np.isfinite(values)
    nan = int(np.isnan(values).sum())
    inf = int(values.size - nan - finite_mask.sum())
    finite = values if nan + inf == 0 else values[finite_mask]
    if finite.size:
        norm = float(np.sqrt(np.dot(finite, finite)))
        mean = float(finite.mean())
        max_abs = float(np.abs(finite).max())
    else:
        norm = mean = max_abs = 0.0
    return TensorStats(
        size=int(values.size),
        norm=norm,
        mean=mean,
        max_abs=max_abs,
        zeros=int((values == 0).sum()),
        nan=nan,
        inf=inf,
    )


def _json_float(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
