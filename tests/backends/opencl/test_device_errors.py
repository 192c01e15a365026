"""Errors found on the device (kernels/errors.h): an out-of-range index or class target raises
at the next host read or synchronize, naming the op, the value and its position, and the flag
is cleared afterwards. Reads after kernels that check nothing never look at the flag."""

from __future__ import annotations

import numpy as np
import pytest

import axoncl
from axoncl import Variable


def test_getitem_out_of_range_raises_at_the_read(xp, dev):
    x = xp.asarray([1.0, 2.0, 3.0, 4.0])
    y = x[xp.asarray([1, 7])]  # no wait here: the kernel only flags
    with pytest.raises(IndexError, match=r"__getitem__: index 7 .* size 4 at position 1"):
        y.to_numpy()
    # The flag is cleared: the next read is clean and the next good gather is right.
    assert x[xp.asarray([3, -4])].to_numpy().tolist() == [4.0, 1.0]


def test_negative_index_below_minus_n_is_an_error(xp):
    x = xp.asarray([1.0, 2.0, 3.0, 4.0])
    assert x[xp.asarray([-1])].to_numpy().tolist() == [4.0]
    with pytest.raises(IndexError, match="index -5"):
        x[xp.asarray([-5])].to_numpy()


def test_error_surfaces_at_an_unrelated_read(xp):
    x = xp.asarray([1.0, 2.0])
    _ = x[xp.asarray([2])]
    other = xp.asarray([5.0]) + 1.0
    with pytest.raises(IndexError, match="__getitem__: index 2"):
        other.to_numpy()


def test_synchronize_raises_the_flag(xp, dev):
    x = xp.asarray([1.0, 2.0])
    _ = xp.take(x, xp.asarray([0, 0, 3]))
    with pytest.raises(IndexError, match=r"take: index 3 .* position 2"):
        dev.synchronize()
    dev.synchronize()  # cleared


def test_take_along_axis_and_setitem_and_two_arrays(xp):
    m = xp.reshape(xp.arange(6, dtype=xp.float32), (2, 3))
    with pytest.raises(IndexError, match="take_along_axis: index 3 .* size 3"):
        xp.take_along_axis(m, xp.asarray([[0], [3]]), axis=1).to_numpy()
    with pytest.raises(IndexError, match="__setitem__: index 2 .* size 2"):
        m[xp.asarray([2])] = 0.0
        m.to_numpy()
    assert m.to_numpy().tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]  # nothing written
    # Each array is checked against its own axis: (1, 4) would fold to the valid flat 7.
    with pytest.raises(IndexError, match="index 4 .* size 3"):
        m[xp.asarray([1]), xp.asarray([4])].to_numpy()
    assert m[xp.asarray([1]), xp.asarray([2])].to_numpy().tolist() == [5.0]


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_class_targets_are_checked_on_the_device(xp, op):
    fn = getattr(axoncl, op)
    logits = Variable(xp.zeros((3, 4)), requires_grad=True)
    loss = fn(logits, xp.asarray([0, 4, 1]))
    with pytest.raises(IndexError, match=rf"{op}: target 4 is out of bounds for 4 classes .*1"):
        loss.item()
    # ignore_index entries are not errors, and do not count in the mean.
    good = fn(logits, xp.asarray([3, -100, 1]))
    expected = np.log(4.0) if op == "cross_entropy" else 0.0
    assert good.item() == pytest.approx(expected, rel=1e-6)
    good.backward()
    assert logits.grad.numpy()[1].tolist() == [0.0] * 4


def test_autograd_getitem_checks_the_index(xp):
    m = Variable(xp.reshape(xp.arange(12, dtype=xp.float32), (3, 4)), requires_grad=True)
    with pytest.raises(IndexError, match="getitem: index 7 .* size 4"):
        m[xp.asarray([1]), xp.asarray([7])].numpy()
    picked = m[xp.asarray([2, 0]), xp.asarray([-1, 1])]
    assert picked.numpy().tolist() == [11.0, 1.0]


def test_plain_kernels_never_read_the_flag(xp, dev, monkeypatch):
    dev.synchronize()
    reads = []
    original = type(dev).queue_error_read

    def counting(self):
        reads.append(self.errors_pending)
        flag = original(self)
        assert (flag is not None) == reads[-1]  # the flag is read only when something checked
        return flag

    monkeypatch.setattr(type(dev), "queue_error_read", counting)
    x = xp.asarray([1.0, 2.0])
    (x * 2.0 + 1.0).to_numpy()
    assert reads == [False]  # looked at, but no flag read: nothing that checks ran
    x[xp.asarray([1])].to_numpy()
    assert reads[-1] is True
    assert dev.errors_pending is False
