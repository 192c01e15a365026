"""Counter-based random numbers: Philox4x32-10 and the stateless dropout mask built on it, so
every backend computes the same mask bits from (seed, element index)."""

from __future__ import annotations

import math
from typing import Any

from . import _device, primitive

__all__ = ["dropout", "dropout_threshold", "philox4x32", "seed_key"]


# Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
_MASK32 = 0xFFFFFFFF


def _mulhilo(a: Any, m: int) -> tuple[Any, Any]:
    """High and low 32-bit words of ``a * m`` for int64 arrays ``a`` < 2**32, in int64 only
    (every namespace has int64; not all shift or multiply uint64): ``m`` is split in 16-bit
    halves so that no partial product passes 2**48."""
    t = a * (m & 0xFFFF)
    u = a * (m >> 16) + (t >> 16)
    return u >> 16, ((u & 0xFFFF) << 16) | (t & 0xFFFF)


def _philox_rounds(c0: Any, c1: Any, c2: Any, c3: Any, key: tuple[int, int]):
    """Ten Philox rounds on int64 arrays that hold 32-bit words."""
    k0, k1 = key[0] & _MASK32, key[1] & _MASK32
    for r in range(10):
        if r:
            k0 = (k0 + PHILOX_W[0]) & _MASK32
            k1 = (k1 + PHILOX_W[1]) & _MASK32
        hi0, lo0 = _mulhilo(c0, PHILOX_M[0])
        hi1, lo1 = _mulhilo(c2, PHILOX_M[1])
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


@primitive
def philox4x32(counters: Any, key: tuple[int, int], *, xp: Any) -> Any:
    """Philox4x32-10 of each row of ``counters`` (``[n, 4]`` uint32) under ``key`` (two
    32-bit ints): ``[n, 4]`` uint32 random words."""
    words = [xp.astype(counters[:, i], xp.int64) for i in range(4)]
    out = _philox_rounds(*words, key)
    return xp.stack([xp.astype(v, xp.uint32) for v in out], axis=1)


def dropout_threshold(p: float) -> int:
    """An element is kept when its 32-bit Philox word is ``>= dropout_threshold(p)``."""
    return min(int(p * 4294967296.0), _MASK32)


def seed_key(seed: int) -> tuple[int, int]:
    """The Philox key of a 64-bit seed: (low word, high word)."""
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    return seed & _MASK32, seed >> 32


@primitive
def dropout(x: Any, *, p: float, seed: int, xp: Any) -> Any:
    """``x * keep / (1 - p)`` with ``keep`` a pure function of (seed, element index).

    Element ``i`` (C order) takes word ``i % 4`` of Philox4x32-10 with counter
    ``(i // 4 mod 2**32, i // 4 >> 32, 0, 0)`` and key :func:`seed_key`; it is kept when that
    word is ``>= dropout_threshold(p)``. Every backend computes the same mask bits.
    """
    n = math.prod(x.shape)
    blocks = -(-n // 4)
    index = xp.arange(blocks, dtype=xp.int64, device=_device(x))
    zero = xp.zeros_like(index)
    words = _philox_rounds(index & _MASK32, index >> 32, zero, zero, seed_key(seed))
    bits = xp.reshape(xp.stack(words, axis=1), (-1,))[:n]
    keep = xp.reshape(bits >= dropout_threshold(p), x.shape)
    scale = 1.0 / (1.0 - p)
    return xp.where(keep, x * scale, xp.zeros_like(x))
