"""Host side of ``kernels/philox.cl``: the OpenCL overrides of the ``philox4x32`` and
``dropout`` primitives of :mod:`axoncl.backends.primitives`.

Both use the counter-based Philox4x32-10 generator, so a mask depends only on the seed and the
element's position: the portable version and this one give the same bits, and backward can
replay a mask from its seed instead of storing it.
"""

from __future__ import annotations

import math

import numpy as np

from .. import primitives
from .array import ascontiguous, empty
from .launch import get_kernel
from .windows import NAMESPACE, real_defines

__all__: list[str] = []


@primitives.philox4x32.register(NAMESPACE)
def _philox4x32_cl(counters, key, *, xp):
    counters = ascontiguous(counters)
    if counters.dtype != np.uint32 or counters.ndim != 2 or counters.shape[1] != 4:
        raise TypeError(
            f"philox4x32: expected an [n, 4] uint32 array, got shape "
            f"{counters.shape} and dtype {counters.dtype}"
        )
    n = counters.shape[0]
    out = empty((n, 4), counters.dtype, counters.device)
    kernel = get_kernel(counters.device, "philox", "philox_raw")
    kernel.launch_items(
        n,
        n,
        counters.buffer,
        counters.offset,
        key[0] & 0xFFFFFFFF,
        key[1] & 0xFFFFFFFF,
        out.buffer,
        op="philox4x32",
    )
    return out


@primitives.dropout.register(NAMESPACE)
def _dropout_cl(x, *, p, seed, xp):
    x = ascontiguous(x)
    defines = real_defines(x.dtype, "dropout")
    out = empty(x.shape, x.dtype, x.device)
    n = math.prod(x.shape)
    k0, k1 = primitives.seed_key(seed)
    kernel = get_kernel(x.device, "philox", "philox_dropout", **defines)
    kernel.launch_items(
        -(-n // 4),
        n,
        x.buffer,
        x.offset,
        out.buffer,
        out.offset,
        k0,
        k1,
        primitives.dropout_threshold(p),
        1.0 / (1.0 - p),
        op="dropout",
    )
    return out
