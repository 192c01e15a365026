"""``axoncl.data.DataLoader``: batch contents, shuffling by seed, drop_last, backends."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import host, to_xp

from axoncl.data import DataLoader

X = np.arange(14.0).reshape(7, 2)
Y = np.arange(7)


def test_batches_follow_the_order_without_shuffle():
    batches = list(DataLoader(X, Y, batch_size=3))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    np.testing.assert_array_equal(batches[2][0], [[12.0, 13.0]])


def test_drop_last_leaves_out_the_short_batch():
    loader = DataLoader(X, Y, batch_size=3, drop_last=True)
    assert len(loader) == 2
    assert [b[1].tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]]


def test_shuffle_is_a_permutation_fixed_by_the_seed_and_new_each_epoch():
    first = DataLoader(X, Y, batch_size=2, shuffle=True, seed=7)
    second = DataLoader(X, Y, batch_size=2, shuffle=True, seed=7)
    epoch1 = np.concatenate([y for _, y in first])
    epoch2 = np.concatenate([y for _, y in first])
    assert sorted(epoch1.tolist()) == list(range(7))
    assert epoch1.tolist() != epoch2.tolist()
    assert np.concatenate([y for _, y in second]).tolist() == epoch1.tolist()
    for x, y in first:  # rows stay paired across the arrays
        np.testing.assert_array_equal(x[:, 0], 2 * y)


def test_state_dict_resumes_the_shuffle():
    loader = DataLoader(Y, batch_size=7, shuffle=True, seed=3)
    next(iter(loader))
    state = loader.state_dict()
    want = next(iter(loader)).tolist()
    other = DataLoader(Y, batch_size=7, shuffle=True, seed=99)
    other.load_state_dict(state)
    assert next(iter(other)).tolist() == want


def test_batches_stay_on_the_arrays_backend(xp):
    x = to_xp(xp, X)
    shuffled = [host(b) for b in DataLoader(x, batch_size=4, shuffle=True, seed=1)]
    ordered = [host(b) for b in DataLoader(x, batch_size=4)]
    assert sorted(np.concatenate(shuffled)[:, 0].tolist()) == X[:, 0].tolist()
    np.testing.assert_array_equal(np.concatenate(ordered), X)


def test_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"one length on axis 0, got shapes \[\(7, 2\), \(3,\)\]"):
        DataLoader(X, np.arange(3))
    with pytest.raises(ValueError, match="batch_size as an int >= 1, got 0"):
        DataLoader(X, batch_size=0)
