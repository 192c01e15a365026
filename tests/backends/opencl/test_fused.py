"""The fused ``a * b + c`` kernel against numpy (bit-equal: the product is rounded first)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyopencl")

from axoncl.backends.opencl.array import from_numpy  # noqa: E402
from axoncl.backends.opencl.fused import fused_multiply_add  # noqa: E402


@pytest.mark.parametrize("shape", [(0,), (1,), (15,), (16,), (17,), (3, 33), (100003,)], ids=str)
def test_fused_multiply_add_matches_numpy(dev, shape):
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    got = fused_multiply_add(*(from_numpy(v, dev) for v in (a, b, c))).to_numpy()
    np.testing.assert_array_equal(got, a * b + c)


def test_fused_multiply_add_rejects_mismatches(dev):
    a = from_numpy(np.zeros(4, np.float32), dev)
    with pytest.raises(ValueError, match="shape"):
        fused_multiply_add(a, a, from_numpy(np.zeros(5, np.float32), dev))
    with pytest.raises(TypeError, match="dtype"):
        fused_multiply_add(a, a, from_numpy(np.zeros(4, np.int32), dev))
