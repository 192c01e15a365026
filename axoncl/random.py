"""The package's one seed stream: a seedable host :class:`Generator` and ``manual_seed``.

Layer initialisation (``axoncl.nn.init``) draws its values here, and ``dropout`` its mask seeds,
so ``axoncl.manual_seed(...)`` makes both reproducible. It lives low in the package, beside the
autograd core, so that ``functions/`` and ``nn/`` both import it without importing each other.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import numpy as np

__all__ = ["Generator", "default_generator", "manual_seed"]

# While a checkpointed forward runs (axoncl/checkpoint.py), each generator that draws notes its
# state before its first draw here (id -> (generator, state)), so the recomputation in backward
# draws the same dropout seeds. Per thread and task.
_DRAWS: ContextVar[dict[int, tuple[Generator, dict[str, Any]]] | None] = ContextVar(
    "axoncl_rng_draws", default=None
)


class Generator:
    """A seedable host random generator (numpy PCG64) for initialisation and dropout seeds.

    Parameters
    ----------
    seed
        Any value ``numpy.random.PCG64`` accepts; ``None`` seeds from the OS.

    Examples
    --------
    >>> Generator(0).integers(0, 10, 3).tolist() == Generator(0).integers(0, 10, 3).tolist()
    True
    """

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        """Restart the stream from ``seed``; returns ``self``."""
        self.seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    @property
    def rng(self) -> np.random.Generator:
        """The underlying ``numpy.random.Generator``."""
        self._note()
        return self._rng

    def _note(self) -> None:
        draws = _DRAWS.get()
        if draws is not None and id(self) not in draws:
            draws[id(self)] = (self, self.get_state())

    def integers(self, low: int, high: int, size: Any = None) -> Any:
        self._note()
        return self._rng.integers(low, high, size=size)

    def uniform(self, low: float, high: float, size: Any) -> np.ndarray:
        self._note()
        return self._rng.uniform(low, high, size=size)

    def normal(self, mean: float, std: float, size: Any) -> np.ndarray:
        self._note()
        return self._rng.normal(mean, std, size=size)

    def next_seed(self) -> int:
        """A fresh 31-bit seed (for a dropout mask, a data shuffle, …)."""
        self._note()
        return int(self._rng.integers(0, 2**31 - 1))

    def get_state(self) -> dict[str, Any]:
        return self._rng.bit_generator.state

    def set_state(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (used by layer initialisation and ``Dropout``); returns it.

    Parameters
    ----------
    seed
        A non-negative int.

    Returns
    -------
    Generator
        The default generator, seeded.

    Examples
    --------
    >>> import axoncl
    >>> g = axoncl.manual_seed(0)
    >>> a = axoncl.nn.Linear(3, 2).weight.numpy()
    >>> _ = axoncl.manual_seed(0)
    >>> bool((a == axoncl.nn.Linear(3, 2).weight.numpy()).all())
    True
    """
    return default_generator.manual_seed(seed)
