"""Autograd on an OpenCL device without float64: every op's float32 gradients are checked against
a float64 reference computed on the host (``gradcheck``'s device-aware mode).

PoCL has fp64, so the device is made to act as if it lacked it (``set_fp64_disabled``), the
setting that exists for exactly this test.
"""

from __future__ import annotations

import numpy as np
import pytest
from op_samples import ALL_SAMPLES
from xp_backends import load_backend

import axoncl as ax
from axoncl.backends.opencl.device import default_device, set_fp64_disabled


@pytest.fixture(scope="module")
def xp_no_fp64():
    xp = load_backend("opencl")
    device = default_device()
    set_fp64_disabled(device, True)
    try:
        yield xp
    finally:
        set_fp64_disabled(device, False)


def test_device_without_fp64_refuses_float64(xp_no_fp64):
    xp = xp_no_fp64
    assert "float64" not in xp.__array_namespace_info__().dtypes()
    with pytest.raises(TypeError, match="float64"):
        xp.asarray(np.zeros(3), dtype=xp.float64)


@pytest.mark.parametrize("sample", ALL_SAMPLES, ids=str)
def test_float32_gradcheck_against_host_float64(sample, xp_no_fp64):
    sample.skip_if_unsupported(xp_no_fp64)
    if sample.op_name == "astype":
        pytest.skip("the sample casts to float64, which this device lacks")
    inputs = sample.inputs(xp_no_fp64, dtype=xp_no_fp64.float32)
    assert all(str(v.dtype) != "float64" for v in inputs)
    assert ax.gradcheck(sample.fn, inputs)


def test_float32_gradcheck_catches_a_wrong_gradient(xp_no_fp64):
    class _Doubled(ax.Function):  # leading underscore: stays out of the registry
        @staticmethod
        def forward(ctx, x):
            return ctx.xp.multiply(x, x)

        @staticmethod
        def backward(ctx, grad):
            return (grad * 3.0,)  # wrong: d(x²)/dx is 2x

    x = ax.Variable(xp_no_fp64.asarray(np.array([0.5, 1.5], dtype=np.float32)), requires_grad=True)
    with pytest.raises(ax.GradcheckError, match="float32 on opencl vs float64 reference"):
        ax.gradcheck(lambda v: _Doubled.apply(v), [x])
