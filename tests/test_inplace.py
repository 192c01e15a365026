"""In-place changes of values saved for backward raise at backward, naming the op and the
input: always for OpenCL arrays and torch tensors (they count their writes), and for host
arrays under ``detect_anomaly`` (a checksum)."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import host, load_backend

import axoncl
from axoncl import Variable


@pytest.fixture(params=["opencl", "torch"])
def counted(request):
    """The backends whose arrays count their in-place writes."""
    return load_backend(request.param)


def _var(xp, values):
    return Variable(xp.asarray(values, dtype=xp.float32), requires_grad=True)


def test_the_issue_example_raises(counted):
    a = _var(counted, [1.0, 2.0])
    b = a * 2
    c = b * b
    b.data[0] = 100
    with pytest.raises(RuntimeError, match=r"multiply .*input 0.*modified in place"):
        c.sum().backward()


@pytest.mark.parametrize(
    "write",
    [
        lambda d: d.__setitem__(0, 5.0),
        lambda d: d.__iadd__(1.0),
        lambda d: d[1:].__imul__(3.0),  # through a view: the buffer's count is shared
    ],
    ids=["setitem", "iadd", "view"],
)
def test_every_in_place_write_counts(write):
    xp = load_backend("opencl")
    a = _var(xp, [1.0, 2.0, 3.0])
    b = a * 2
    c = b * a
    write(b.data)
    with pytest.raises(RuntimeError, match="multiply"):
        c.sum().backward()


def test_a_saved_output_names_the_output():
    xp = load_backend("opencl")
    x = _var(xp, [0.0, 1.0])
    y = x.exp()
    y.data[0] = 5.0
    with pytest.raises(RuntimeError, match=r"exp .*its output"):
        y.sum().backward()


def test_writes_before_the_op_or_after_backward_are_fine(counted):
    a = _var(counted, [1.0, 2.0])
    b = a * 2
    b.data[0] = 3.0  # before c is made: c saves the new values
    c = b * b
    c.sum().backward()
    assert host(a.grad).tolist() == [2 * 2 * 3.0, 2 * 2 * 4.0]
    b.data[1] = 0.0  # after backward: nothing saved any more
    unrelated = counted.asarray([1.0], dtype=counted.float32)
    unrelated[0] = 2.0


def test_retain_graph_then_write_raises_on_the_second_backward(counted):
    a = _var(counted, [1.0, 2.0])
    b = a * 3
    c = (b * b).sum()
    c.backward(retain_graph=True)
    b.data[0] = 0.0
    with pytest.raises(RuntimeError, match="modified in place"):
        c.backward()


def test_numpy_is_checked_under_detect_anomaly():
    a = Variable(np.array([1.0, 2.0]), requires_grad=True)
    with axoncl.detect_anomaly():
        b = a * 2
        c = b * b
        b.data[0] = 100
        with pytest.raises(RuntimeError, match=r"multiply \(made at .*test_inplace.py:\d+\)"):
            c.sum().backward()
        # An untouched graph passes the checksum.
        d = a * 2
        (d * d).sum().backward()
    assert host(a.grad).tolist() == [8.0, 16.0]
