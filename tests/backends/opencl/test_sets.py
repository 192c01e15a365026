"""unique_* and isin against numpy, including NaN (each NaN is its own unique value), size 0
and inputs with more than one dimension."""

import numpy as np
import pytest


@pytest.mark.parametrize(
    "values",
    [
        np.array([3, 1, 3, 2, 1, 1], np.int32),
        np.array([[2.0, np.nan, -0.0], [0.0, np.nan, 2.0]], np.float32),
        np.array([7], np.uint8),
        np.zeros((0, 3), np.int64),
        np.random.default_rng(1).integers(0, 50, 3000).astype(np.int16),
    ],
    ids=["ints", "nan-and-zeros", "one", "empty", "long"],
)
def test_unique_all_matches_numpy(xp, values):
    x = xp.asarray(values)
    got = xp.unique_all(x)
    # np.unique sorts (numpy's unique_values need not); equal_nan=False keeps each NaN.
    want_values, indices, inverse, counts = np.unique(
        values, return_index=True, return_inverse=True, return_counts=True, equal_nan=False
    )
    want = {
        "values": want_values,
        "indices": indices,
        "inverse_indices": inverse.reshape(values.shape),
        "counts": counts,
    }
    for field, expected in want.items():
        result = getattr(got, field).to_numpy()
        np.testing.assert_array_equal(result, expected, err_msg=field)
    assert got.values.dtype == x.dtype and got.counts.dtype == xp.int64
    np.testing.assert_array_equal(xp.unique_values(x).to_numpy(), want_values)
    counted = xp.unique_counts(x)
    np.testing.assert_array_equal(counted.values.to_numpy(), want_values)
    np.testing.assert_array_equal(counted.counts.to_numpy(), counts)
    inverted = xp.unique_inverse(x)
    np.testing.assert_array_equal(inverted.values.to_numpy(), want_values)
    np.testing.assert_array_equal(inverted.inverse_indices.to_numpy(), want["inverse_indices"])


def test_isin(xp):
    a = np.array([[1, 5, 2], [9, 2, 0]], np.int32)
    b = np.array([2, 9, 7, 2], np.int64)
    got = xp.isin(xp.asarray(a), xp.asarray(b))
    assert got.dtype == xp.bool and got.shape == a.shape
    np.testing.assert_array_equal(got.to_numpy(), np.isin(a, b))
    got = xp.isin(xp.asarray(a), xp.asarray(b), invert=True).to_numpy()
    np.testing.assert_array_equal(got, np.isin(a, b, invert=True))
    assert xp.isin(2, xp.asarray(b)).to_numpy().item() is True
    np.testing.assert_array_equal(xp.isin(xp.asarray(a), 2).to_numpy(), a == 2)
    empty = xp.isin(xp.asarray(a), xp.asarray(b[:0])).to_numpy()
    np.testing.assert_array_equal(empty, np.zeros(a.shape, bool))
    floats = np.array([np.nan, 1.0], np.float32)
    got = xp.isin(xp.asarray(floats), xp.asarray(floats)).to_numpy()
    np.testing.assert_array_equal(got, [False, True])  # NaN equals nothing
