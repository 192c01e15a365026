"""``DataLoader``: mini-batches of one or more arrays that share their first axis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .backends import device_kwargs, namespace_of

__all__ = ["DataLoader"]


class DataLoader:
    """Batches of rows taken together from each array (any backend; the batches stay there).

    Parameters
    ----------
    *arrays
        Arrays (or Variables' data) with the same length on axis 0.
    batch_size
        Rows per batch; the last batch is smaller unless ``drop_last``.
    shuffle
        A fresh permutation each epoch (each ``iter()``), drawn from a NumPy generator seeded
        with ``seed``: the same seed gives the same sequence of epochs.
    seed
        The shuffle's seed (``None``: drawn from the OS).
    drop_last
        Leave out a final incomplete batch.

    Each batch is a tuple with one array per input array (a single array when there is one).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.data import DataLoader
    >>> x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [b[1].tolist() for b in DataLoader(x, y, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> len(DataLoader(x, y, batch_size=2, drop_last=True))
    2
    """

    def __init__(
        self,
        *arrays: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        if not arrays:
            raise ValueError("DataLoader: expected at least one array, got none")
        arrays = tuple(getattr(a, "data", a) if hasattr(a, "grad_fn") else a for a in arrays)
        lengths = [int(a.shape[0]) if a.ndim else -1 for a in arrays]
        if min(lengths) < 0 or len(set(lengths)) != 1:
            raise ValueError(
                f"DataLoader: expected arrays of one length on axis 0, got shapes "
                f"{[tuple(a.shape) for a in arrays]}"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: expected batch_size as an int >= 1, got {batch_size!r}")
        self.arrays = arrays
        self.length = lengths[0]
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        if self.drop_last:
            return self.length // self.batch_size
        return -(-self.length // self.batch_size)

    def _take(self, array: Any, rows: np.ndarray) -> Any:
        if isinstance(array, np.ndarray):
            return array[rows]
        xp = namespace_of(array)
        index = xp.asarray(rows, **device_kwargs(getattr(array, "device", None)))
        return xp.take(array, index, axis=0)

    def __iter__(self) -> Iterator[Any]:
        order = self._rng.permutation(self.length) if self.shuffle else np.arange(self.length)
        for b in range(len(self)):
            rows = order[b * self.batch_size : (b + 1) * self.batch_size]
            if not self.shuffle:
                start, stop = b * self.batch_size, b * self.batch_size + len(rows)
                batch = tuple(a[start:stop, ...] for a in self.arrays)  # contiguous rows: a slice
            else:
                batch = tuple(self._take(a, rows) for a in self.arrays)
            yield batch[0] if len(batch) == 1 else batch

    def state_dict(self) -> dict[str, Any]:
        """The shuffle generator's state (JSON-ready), so a resumed run draws the same epochs."""
        return {"bit_generator": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["bit_generator"]
