"""__getitem__/__setitem__, take and take_along_axis against numpy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

HOST = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)


def eq(got, want):
    got = got.to_numpy()
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


BASIC_KEYS = [
    1,
    -1,
    (0, 2),
    (slice(None), 1),
    (Ellipsis, 2),
    (None, 1),
    (slice(None, None, -1),),
    (slice(1, None, 2), slice(None, None, -2)),
    (Ellipsis, None, slice(3, 0, -1)),
    (slice(5, 9),),
    (1, Ellipsis, 4),
    (),
    Ellipsis,
    (0, 0, 0),
    (slice(2, 2),),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=str)
def test_basic_indexing_is_a_view(xp, key):
    x = xp.asarray(HOST)
    got = x[key]
    assert got.buffer is x.buffer
    eq(got, HOST[key])


def test_index_errors(xp):
    x = xp.asarray(HOST)
    with pytest.raises(IndexError, match="out of bounds"):
        x[3]
    with pytest.raises(IndexError, match="too many"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="ellipsis"):
        x[..., ...]
    with pytest.raises(IndexError, match="unsupported"):
        x[1.5]


def test_integer_array_indexing(xp):
    x = xp.asarray(HOST)
    idx = np.array([2, 0, -1, 1])
    eq(x[xp.asarray(idx)], HOST[idx])
    eq(x[:, xp.asarray(idx)], HOST[:, idx])
    eq(x[1, ::-1, xp.asarray(idx)], HOST[1, ::-1, idx])
    two = np.array([[0, 1], [2, 2]])
    eq(x[..., xp.asarray(two)], HOST[..., two])
    # Several integer arrays: adjacent ones keep their place, separated ones go first.
    i, j = np.array([0, 2, 1]), np.array([3, 0, 1])
    eq(x[xp.asarray(i), xp.asarray(j)], HOST[i, j])
    eq(x[:, xp.asarray(j), xp.asarray(i)], HOST[:, j, i])
    eq(x[xp.asarray(i), :, xp.asarray(j)], HOST[i, :, j])
    eq(x[[0, 2]], HOST[[0, 2]])


def test_boolean_mask_indexing(xp):
    x = xp.asarray(HOST)
    mask = HOST > 30
    eq(x[xp.asarray(mask)], HOST[mask])
    m2 = HOST[:, :, 0] % 2 == 0
    eq(x[xp.asarray(m2)], HOST[m2])
    m1 = np.array([True, False, True, True, False])
    eq(x[:, 1:, xp.asarray(m1)], HOST[:, 1:, m1])
    eq(x[xp.asarray(np.zeros((3, 4, 5), bool))], HOST[np.zeros((3, 4, 5), bool)])
    eq(xp.asarray(np.float32(3))[xp.asarray(True)], np.float32(3)[np.True_])


def test_setitem_basic(xp):
    host = HOST.copy()
    x = xp.asarray(host)
    x[1] = 0.0
    host[1] = 0.0
    x[:, ::-2, 1] = xp.asarray(np.arange(3, dtype=np.float32))[:, None]
    host[:, ::-2, 1] = np.arange(3, dtype=np.float32)[:, None]
    x[..., 0] = xp.asarray(np.full((3, 4), 7, dtype=np.int32))  # cast to float32
    host[..., 0] = 7
    x[0, 0, 0] = -1
    host[0, 0, 0] = -1
    eq(x, host)
    with pytest.raises(TypeError, match="numpy"):
        x[0] = np.zeros(5)


def test_setitem_arrays_and_masks(xp):
    host = HOST.copy()
    x = xp.asarray(host)
    idx = np.array([0, 2])
    x[xp.asarray(idx)] = -5.0
    host[idx] = -5.0
    x[:, xp.asarray(np.array([1, 3]))] = xp.asarray(np.arange(5, dtype=np.float32))
    host[:, [1, 3]] = np.arange(5, dtype=np.float32)
    mask = host > 40
    x[xp.asarray(mask)] = 0.5
    host[mask] = 0.5
    eq(x, host)
    # Through a non-contiguous view: the scatter goes to a copy that is written back.
    y = xp.asarray(HOST.copy())
    yt = xp.permute_dims(y, (2, 1, 0))
    yt[xp.asarray(np.array([4, 0]))] = 1.0
    want = HOST.copy()
    np.transpose(want, (2, 1, 0))[[4, 0]] = 1.0
    eq(y, want)


def test_take_and_take_along_axis(xp):
    x = xp.asarray(HOST)
    idx = np.array([4, 0, 0, -2])
    eq(xp.take(x, xp.asarray(idx), axis=2), np.take(HOST, idx, axis=2))
    eq(xp.take(x[0, 0], xp.asarray(idx)), np.take(HOST[0, 0], idx))
    eq(
        xp.take(x.mT, xp.asarray(np.array([1])), axis=0),
        np.take(np.swapaxes(HOST, -1, -2), [1], axis=0),
    )
    order = np.argsort(-HOST, axis=1)
    eq(xp.take_along_axis(x, xp.asarray(order), axis=1), np.take_along_axis(HOST, order, axis=1))
    sub = order[:, :2]
    eq(xp.take_along_axis(x, xp.asarray(sub), axis=1), np.take_along_axis(HOST, sub, axis=1))
    bidx = np.zeros((1, 2, 5), dtype=np.int64)
    eq(
        xp.take_along_axis(x, xp.asarray(bidx), axis=1),
        np.take_along_axis(HOST, np.broadcast_to(bidx, (3, 2, 5)), axis=1),
    )


_key_part = st.one_of(
    st.integers(-3, 2),
    st.builds(
        slice,
        st.none() | st.integers(-4, 4),
        st.none() | st.integers(-4, 4),
        st.sampled_from([None, 1, 2, -1, -2]),
    ),
    st.just(None),
)


@settings(max_examples=25, deadline=None)
@given(
    key=st.lists(_key_part, min_size=0, max_size=3),
    ellipsis_at=st.integers(-1, 3),
    with_array=st.booleans(),
)
def test_property_getitem_matches_numpy(xp, key, ellipsis_at, with_array):
    key = list(key)
    if 0 <= ellipsis_at <= len(key):
        key.insert(ellipsis_at, Ellipsis)
    if with_array:
        key.append(np.array([2, -1, 0]))
    key = tuple(key)
    try:
        want = HOST[key]
    except IndexError:
        with pytest.raises(IndexError):
            xp.asarray(HOST)[tuple(xp.asarray(k) if isinstance(k, np.ndarray) else k for k in key)]
        return
    got = xp.asarray(HOST)[tuple(xp.asarray(k) if isinstance(k, np.ndarray) else k for k in key)]
    eq(got, want)


def test_repeat_with_one_count_for_all(xp):
    a = np.array([[1, 2], [3, 4]], np.int32)
    got = xp.repeat(xp.asarray(a), xp.asarray([3]), axis=1).to_numpy()
    np.testing.assert_array_equal(got, np.repeat(a, [3], axis=1))
    np.testing.assert_array_equal(
        xp.repeat(xp.asarray(a), xp.asarray([2])).to_numpy(), np.repeat(a, 2)
    )


def test_mask_axes_of_length_zero_select_nothing(xp):
    a = np.arange(10, dtype=np.float32).reshape(2, 5)
    for shape in [(0, 0), (0, 5), (2, 0), (0,)]:
        mask = np.zeros(shape, bool)
        got = xp.asarray(a)[xp.asarray(mask)]
        assert got.shape == a[mask].shape, shape
    with pytest.raises(IndexError, match="does not match"):
        xp.asarray(a)[xp.asarray(np.zeros((0, 3), bool))]
