"""OpenCL sort, argsort (stable, both directions) and searchsorted against numpy.

Results are exact (no arithmetic), so every comparison is array_equal. The descending
reference is numpy's stable ascending argsort of the flipped line, flipped back (what
array-api-compat does): equal keys keep their input order and NaN comes first.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyopencl")

from axoncl.backends.opencl.array import CLArray, from_numpy  # noqa: E402
from axoncl.backends.opencl.sorting import argsort, searchsorted, sort  # noqa: E402


def cl_view(dev, base: np.ndarray, view: np.ndarray) -> CLArray:
    """The CLArray with the same layout as the numpy ``view`` of the contiguous ``base``."""
    item = base.itemsize
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
    strides = tuple(s // item for s in view.strides)
    b = from_numpy(base, dev)
    return CLArray(dev, b.buffer, offset, view.shape, strides, base.dtype)


def ref_argsort(a, axis, descending):
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    flipped = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
    return a.shape[axis] - 1 - flipped


def check(dev, x, a, axis, descending):
    idx = argsort(x, axis=axis, descending=descending).to_numpy()
    ref = ref_argsort(a, axis, descending)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, ref, err_msg=f"argsort axis={axis} desc={descending}")
    got = sort(x, axis=axis, descending=descending).to_numpy()
    assert got.dtype == a.dtype
    np.testing.assert_array_equal(
        got, np.take_along_axis(a, ref, axis), err_msg=f"sort axis={axis} desc={descending}"
    )


SHAPES_AXES = [
    ((1,), 0),
    ((16,), 0),
    ((17,), 0),
    ((1000,), 0),
    ((7, 333), 1),
    ((7, 333), 0),
    ((3, 513, 2), 1),
    ((0, 4), 1),
    ((4, 0), 1),
    ((100003,), 0),
]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(("shape", "axis"), SHAPES_AXES, ids=str)
def test_float_with_ties_and_nan(dev, shape, axis, descending):
    a = np.random.default_rng(0).integers(0, 10, shape).astype(np.float32)
    a[a == 9] = np.nan
    check(dev, from_numpy(a, dev), a, axis, descending)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int32, np.int64, np.uint64, np.float64])
def test_other_dtypes(dev, dtype):
    if dtype == np.float64 and not dev.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    rng = np.random.default_rng(1)
    if np.dtype(dtype).kind == "f":
        a = rng.standard_normal((5, 77)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, (5, 77), dtype=dtype, endpoint=True)
    for descending in (False, True):
        check(dev, from_numpy(a, dev), a, -1, descending)


def test_non_contiguous_views(dev):
    base = np.random.default_rng(2).integers(0, 5, (6, 50, 4)).astype(np.float32)
    for v in (base.transpose(1, 2, 0), base[::-1, 3::2, ::2], base.swapaxes(0, 1)):
        x = cl_view(dev, base, v)
        for axis in range(v.ndim):
            for descending in (False, True):
                check(dev, x, v, axis, descending)


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(dev, side):
    rng = np.random.default_rng(3)
    x1 = np.sort(rng.integers(0, 20, 50).astype(np.float32))
    x1[-3:] = np.nan
    x2 = rng.integers(-1, 22, (4, 9)).astype(np.float32)
    x2[0, 0] = np.nan
    got = searchsorted(from_numpy(x1, dev), from_numpy(x2, dev), side=side).to_numpy()
    assert got.dtype == np.int64 and got.shape == x2.shape
    np.testing.assert_array_equal(got, np.searchsorted(x1, x2, side=side))
    unsorted = x1[rng.permutation(50)]
    sorter = np.argsort(unsorted, kind="stable")
    got = searchsorted(
        from_numpy(unsorted, dev), from_numpy(x2, dev), side=side, sorter=from_numpy(sorter, dev)
    ).to_numpy()
    np.testing.assert_array_equal(got, np.searchsorted(unsorted, x2, side=side, sorter=sorter))
    empty = searchsorted(from_numpy(x1[:0], dev), from_numpy(x2, dev), side=side).to_numpy()
    np.testing.assert_array_equal(empty, np.zeros(x2.shape, np.int64))


def test_searchsorted_strided_x1_and_errors(dev):
    base = np.arange(40, dtype=np.int32)
    x1 = base[::3]
    x2 = np.array([-1, 0, 3, 4, 39, 40], dtype=np.int32)
    got = searchsorted(cl_view(dev, base, x1), from_numpy(x2, dev)).to_numpy()
    np.testing.assert_array_equal(got, np.searchsorted(x1, x2))
    with pytest.raises(TypeError, match="dtype"):
        searchsorted(from_numpy(x1, dev), from_numpy(x2.astype(np.float32), dev))
    with pytest.raises(ValueError, match="1-D"):
        searchsorted(from_numpy(np.zeros((2, 2), np.int32), dev), from_numpy(x2, dev))
    with pytest.raises(ValueError, match="side"):
        searchsorted(from_numpy(x1, dev), from_numpy(x2, dev), side="middle")


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(0, 70), min_size=1, max_size=3),
    data=st.data(),
    descending=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_property_sort_matches_numpy(dev, shape, data, descending, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = np.random.default_rng(seed).integers(-4, 5, shape).astype(np.float32)
    check(dev, from_numpy(a, dev), a, axis, descending)
    # Sorted output is ordered, and searchsorted finds every element's first position.
    if a.ndim == 1 and a.size and not descending:
        s = sort(from_numpy(a, dev))
        pos = searchsorted(s, from_numpy(a, dev)).to_numpy()
        np.testing.assert_array_equal(pos, np.searchsorted(np.sort(a), a))


def test_searchsorted_of_a_python_scalar(dev):
    x1 = from_numpy(np.array([1, 3, 5], np.int32), dev)
    assert searchsorted(x1, 3).shape == ()
    assert searchsorted(x1, 3, side="right").to_numpy() == 2
    assert searchsorted(x1, 3.5).to_numpy() == 2
