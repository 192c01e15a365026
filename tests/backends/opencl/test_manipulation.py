"""Manipulation functions against numpy; views must stay views."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

HOST = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)


def eq(got, want):
    np.testing.assert_array_equal(got.to_numpy(), want)


def test_reshape_view_and_copy(xp):
    x = xp.asarray(HOST)
    v = xp.reshape(x, (6, 4))
    assert v.buffer is x.buffer
    eq(v, HOST.reshape(6, 4))
    eq(xp.reshape(x, (-1,)), HOST.reshape(-1))
    t = xp.permute_dims(x, (2, 0, 1))
    eq(xp.reshape(t, (4, 6)), np.transpose(HOST, (2, 0, 1)).reshape(4, 6))
    with pytest.raises(ValueError, match="copy=False"):
        xp.reshape(t, (24,), copy=False)
    assert xp.reshape(x, (24,), copy=True).buffer is not x.buffer
    # A view is possible for some non-contiguous layouts (a sliced outer axis).
    s = x[:, 1:]
    r = xp.reshape(s, (2, 2, 2, 2))
    eq(r, HOST[:, 1:].reshape(2, 2, 2, 2))
    with pytest.raises(ValueError):
        xp.reshape(x, (5, 5))


def test_views(xp):
    x = xp.asarray(HOST)
    for got, want in [
        (xp.permute_dims(x, (1, 2, 0)), np.transpose(HOST, (1, 2, 0))),
        (xp.expand_dims(x, axis=1), HOST[:, None]),
        (xp.expand_dims(x, axis=-1), HOST[..., None]),
        (xp.squeeze(xp.expand_dims(x, axis=0), axis=0), HOST),
        (xp.broadcast_to(x[:, :1], (5, 2, 3, 4)), np.broadcast_to(HOST[:, :1], (5, 2, 3, 4))),
        (xp.flip(x), np.flip(HOST)),
        (xp.flip(x, axis=(0, 2)), np.flip(HOST, axis=(0, 2))),
        (xp.moveaxis(x, 0, -1), np.moveaxis(HOST, 0, -1)),
        (xp.matrix_transpose(x), np.swapaxes(HOST, -1, -2)),
    ]:
        assert got.buffer is x.buffer
        eq(got, want)
    for got, want in zip(xp.unstack(x, axis=1), [HOST[:, i] for i in range(3)]):
        eq(got, want)
    a, b = xp.broadcast_arrays(x, xp.asarray(np.ones((3, 1), np.float32)))
    assert a.shape == b.shape == (2, 3, 4)
    with pytest.raises(ValueError, match="length"):
        xp.squeeze(x, axis=0)


def test_concat_stack(xp):
    a = HOST
    b = -HOST[:, :2]
    eq(xp.concat([xp.asarray(a), xp.asarray(b)], axis=1), np.concatenate([a, b], axis=1))
    eq(xp.concat([xp.asarray(a), xp.asarray(a)], axis=None), np.concatenate([a.ravel(), a.ravel()]))
    eq(
        xp.concat([xp.asarray(a).mT, xp.asarray(b).mT], axis=-1),
        np.concatenate([np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)], axis=-1),
    )
    eq(xp.stack([xp.asarray(a), xp.asarray(a) * 2], axis=-1), np.stack([a, a * 2], axis=-1))
    mixed = xp.concat([xp.asarray(np.ones(2, np.int32)), xp.asarray(np.ones(2, np.float32))])
    assert mixed.dtype == xp.float32
    with pytest.raises(ValueError, match="differ"):
        xp.concat([xp.asarray(a), xp.asarray(a[:1, :1])], axis=0)


@pytest.mark.parametrize("shift,axis", [(1, None), (-2, 1), ((1, 3), (0, 2)), (7, 2), (0, 0)])
def test_roll(xp, shift, axis):
    eq(xp.roll(xp.asarray(HOST), shift, axis=axis), np.roll(HOST, shift, axis=axis))


@pytest.mark.parametrize("reps", [(2,), (2, 1, 3), (1, 2, 1, 1)])
def test_tile(xp, reps):
    eq(xp.tile(xp.asarray(HOST), reps), np.tile(HOST, reps))


def test_repeat(xp):
    x = xp.asarray(HOST)
    eq(xp.repeat(x, 2), np.repeat(HOST, 2))
    eq(xp.repeat(x, 3, axis=1), np.repeat(HOST, 3, axis=1))
    counts = np.array([1, 0, 2])
    eq(xp.repeat(x, xp.asarray(counts), axis=1), np.repeat(HOST, counts, axis=1))


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=4), data=st.data())
def test_property_reshape_of_views(xp, shape, data):
    host = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    x = xp.permute_dims(xp.asarray(host), tuple(perm))
    want = np.transpose(host, perm)
    steps = data.draw(
        st.lists(st.sampled_from([1, 2, -1]), min_size=len(shape), max_size=len(shape))
    )
    key = tuple(slice(None, None, s) for s in steps)
    x, want = x[key], want[key]
    new = list(want.shape)
    eq(xp.reshape(x, (-1,)), want.reshape(-1))
    if len(new) >= 2:
        merged = (new[0] * new[1], *new[2:])
        eq(xp.reshape(x, merged), want.reshape(merged))


def test_broadcast_shapes_and_arrays(xp):
    assert xp.broadcast_shapes((2, 1), (3,), ()) == (2, 3)
    assert xp.broadcast_shapes() == ()
    with pytest.raises(ValueError, match="broadcast"):
        xp.broadcast_shapes((2,), (3,))
    arrays = xp.broadcast_arrays(xp.asarray([1, 2]), xp.asarray([[3], [4]]))
    assert isinstance(arrays, tuple) and [a.shape for a in arrays] == [(2, 2), (2, 2)]
