"""Sharding data across ranks: ``DistributedSampler`` and ``shard``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import world as _world

__all__ = ["DistributedSampler", "shard"]


def _rank_and_size(rank: int | None, num_replicas: int | None, who: str) -> tuple[int, int]:
    world = _world._WORLD  # read at call time: init() may come after the import
    size = num_replicas if num_replicas is not None else (world.size if world else 1)
    rank = rank if rank is not None else (world.rank if world else 0)
    if size < 1 or not 0 <= rank < size:
        raise ValueError(
            f"{who}: expected num_replicas >= 1 and 0 <= rank < num_replicas, got "
            f"rank {rank} of {size}"
        )
    return rank, size


def shard(
    indices: np.ndarray, rank: int | None = None, num_replicas: int | None = None
) -> np.ndarray:
    """This rank's share of one global batch: positions ``rank``, ``rank + W``, … of
    ``indices`` (``W`` ranks). The shares of all ranks together are the whole batch, so W ranks
    that each take their share of the same global batches train like one process.

    ``rank`` and ``num_replicas`` default to this process's place in the world (0 of 1 before
    :func:`~axoncl.distributed.init`).

    Examples
    --------
    >>> shard(np.arange(7), rank=1, num_replicas=2)
    array([1, 3, 5])
    """
    rank, size = _rank_and_size(rank, num_replicas, "shard")
    return np.asarray(indices)[rank::size]


class DistributedSampler:
    """Which samples of a data set each rank reads in an epoch (as PyTorch's sampler).

    Every rank draws the same permutation of ``range(size)`` from ``(seed, epoch)``; call
    :meth:`set_epoch` at the start of each epoch to reshuffle. Iterating gives this rank's
    indices, every ``num_replicas``-th of the permutation, padded by repeating the first ones
    (or, with ``drop_last``, cut) so that every rank gets the same count. :meth:`batches`
    instead splits each global batch of the permutation across the ranks without padding.

    Parameters
    ----------
    size
        Number of samples in the data set.
    num_replicas, rank
        Default to the world's size and this process's rank.
    shuffle
        False keeps the order ``0, 1, …`` in every epoch.
    seed
        Shared by every rank.
    drop_last
        Drop the tail instead of padding it.

    Examples
    --------
    >>> sampler = DistributedSampler(10, num_replicas=2, rank=1, seed=3)
    >>> sampler.set_epoch(0)
    >>> len(sampler), len(list(sampler))
    (5, 5)
    >>> [batch.tolist() for batch in DistributedSampler(5, num_replicas=2, rank=0,
    ...                                                    shuffle=False).batches(4)]
    [[0, 2], [4]]
    """

    def __init__(
        self,
        size: int,
        *,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if size < 0:
            raise ValueError(f"DistributedSampler: expected size >= 0, got {size}")
        self.rank, self.num_replicas = _rank_and_size(rank, num_replicas, "DistributedSampler")
        self.size = int(size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` from now on (the same on every rank)."""
        self.epoch = int(epoch)

    def permutation(self) -> np.ndarray:
        """This epoch's order of the whole data set, identical on every rank."""
        if not self.shuffle:
            return np.arange(self.size)
        return np.random.default_rng((self.seed, self.epoch)).permutation(self.size)

    def __len__(self) -> int:
        if self.drop_last:
            return self.size // self.num_replicas
        return -(-self.size // self.num_replicas)

    def __iter__(self) -> Iterator[int]:
        order = self.permutation()
        total = len(self) * self.num_replicas
        if total > order.size and order.size:
            repeats = -(-total // order.size)
            order = np.tile(order, repeats)
        order = order[:total]
        return iter(order[self.rank :: self.num_replicas].tolist())

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """This rank's share (:func:`shard`) of each global batch of ``batch_size`` samples.

        No padding: the last global batch may be short and split unevenly, so the ranks'
        shares of global batch ``b`` are exactly ``permutation()[b * batch_size :
        (b + 1) * batch_size]``. The global batch's size is
        ``min(batch_size, size - b * batch_size)`` on every rank (weight a summed loss by it
        to reproduce the 1-process mean exactly).
        """
        if batch_size < 1:
            raise ValueError(f"batches: expected batch_size >= 1, got {batch_size}")
        order = self.permutation()
        stop = (self.size // batch_size) * batch_size if self.drop_last else self.size
        for start in range(0, stop, batch_size):
            yield shard(order[start : start + batch_size], self.rank, self.num_replicas)
