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


def test_relu_primitive_matches_maximum(dev):
    from axoncl.backends import opencl as xp
    from axoncl.backends import primitives

    x = np.array([-2.0, -0.0, 0.0, 1.5, np.nan, -np.inf, np.inf] * 5, np.float32)
    got = primitives.relu(from_numpy(x, dev), xp=xp).to_numpy()
    np.testing.assert_array_equal(got, np.maximum(x, np.float32(0)))  # NaN kept
    assert np.signbit(got[2]) == np.signbit(np.maximum(x, np.float32(0))[2])
    strided = from_numpy(x.reshape(5, 7), dev).T  # not contiguous: the namespace's maximum
    np.testing.assert_array_equal(
        primitives.relu(strided, xp=xp).to_numpy(), np.maximum(x.reshape(5, 7).T, 0)
    )


@pytest.mark.parametrize("cols", [3, 10, 130, 8000])
def test_column_sums_of_every_width_take_one_work_group_size(dev, monkeypatch, cols):
    """A column sum (a bias gradient, or per-image weight gradients summed) is exact against
    float64 numpy within float32 rounding, and launches with the device's small work-group at
    every width: PoCL compiles a kernel once per work-group size."""
    from axoncl.backends.opencl import fused, launch

    sizes = []
    enqueue = launch._enqueue

    def spy(queue, kernel, global_size, local_size, *rest):
        if kernel.function_name == "fused_column_sum":
            sizes.append(tuple(local_size))
        return enqueue(queue, kernel, global_size, local_size, *rest)

    monkeypatch.setattr(launch, "_enqueue", spy)
    x = np.random.default_rng(cols).standard_normal((37, cols)).astype(np.float32)
    got = fused._column_sum(from_numpy(x, dev)).to_numpy()
    want = x.astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(x).sum(axis=0).max())
    _, small, _ = dev.local_sizes
    assert sizes == [(small,)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (128, 512), (200, 17)], ids=str)
def test_relu_backward_with_column_sums_equals_the_two_kernels(dev, dtype, shape):
    """A linear layer's backward after its ReLU masks g and sums its columns in one launch: the
    mask is bit-equal to ``fused_relu_backward`` (NaN, signed zeros) and the sums to
    ``fused_column_sum`` of it (same order of additions), and both match numpy."""
    from axoncl.backends import opencl as xp
    from axoncl.backends.opencl import fused

    if dtype == np.float64 and not dev.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    rng = np.random.default_rng(shape[1])
    g = rng.standard_normal(shape).astype(dtype)
    y = np.maximum(rng.standard_normal(shape), 0).astype(dtype)
    g[0, 0], y[0, 0] = -0.0, 0.0  # masked: -0.0 * 0 keeps the sign
    if shape[0] > 1:
        g[1, 0], y[1, 0] = np.nan, 1.0  # passes the mask, and poisons column 0's sum
    big, out = from_numpy(g, dev), from_numpy(y, dev)
    masked, sums = fused.relu_backward_column_sum(big, out)
    separate = fused._relu_backward_cl(big, out, xp=xp)
    np.testing.assert_array_equal(masked.to_numpy(), separate.to_numpy())
    np.testing.assert_array_equal(sums.to_numpy(), fused._column_sum(separate).to_numpy())
    want = np.where(y > 0, g, g * 0)
    np.testing.assert_array_equal(masked.to_numpy(), want)
    assert np.signbit(masked.to_numpy()[0, 0])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    scale = np.nan_to_num(np.abs(want)).sum(axis=0).max()  # cancelling columns: an absolute bound
    np.testing.assert_allclose(
        sums.to_numpy(), want.astype(np.float64).sum(axis=0), rtol=tol, atol=tol * scale
    )


def test_relu_backward_with_column_sums_declines_what_it_does_not_cover(dev):
    """Taller than the column kernel's limit, strided, 16-bit or of mixed dtypes: None (the two
    kernels run)."""
    from axoncl.backends.opencl import fused

    tall = from_numpy(np.zeros((fused._COLUMN_ROWS + 1, 3), np.float32), dev)
    assert fused.relu_backward_column_sum(tall, tall) is None
    x = from_numpy(np.zeros((4, 6), np.float32), dev)
    assert fused.relu_backward_column_sum(x.T, x.T) is None
    assert fused.relu_backward_column_sum(x, from_numpy(np.zeros((4, 6), np.float64), dev)) is None
    half = from_numpy(np.zeros((4, 6), np.float16), dev)
    assert fused.relu_backward_column_sum(half, half) is None
