"""detect_anomaly: the first NaN/Inf gradient raises, naming the op and its forward site, on
every backend."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import host, var

import axoncl


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's own divide-by-zero warning
def test_reports_the_op_and_its_forward_site(xp):
    x = var(xp, [0.0, 4.0], dtype="float32")
    with axoncl.detect_anomaly():
        y = x * 3.0
        root = y.sqrt()  # d sqrt / dy = 1 / (2 sqrt y): Inf at 0
        root_line = _line() - 1
        loss = (root * 2.0).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    message = str(info.value)
    assert "backward of sqrt produced Inf in the gradient of its input 0" in message
    assert f"test_anomaly.py:{root_line}" in message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_is_named(xp):
    x = var(xp, [-1.0, 1.0], dtype="float32")
    with axoncl.detect_anomaly():
        y = x.log()  # NaN forward at -1; its backward 1/x is finite, the product's is not
        loss = (y * y).sum()
        with pytest.raises(RuntimeError, match=r"backward of multiply produced NaN"):
            loss.backward()


def test_off_by_default_and_restored():
    x = axoncl.Variable(np.array([0.0]), requires_grad=True)
    assert not axoncl.is_anomaly_enabled()
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(host(x.grad)).all()  # no check outside the block

    @axoncl.detect_anomaly()
    def inside():
        with axoncl.detect_anomaly():
            pass
        return axoncl.is_anomaly_enabled()

    assert inside() is True
    assert not axoncl.is_anomaly_enabled()


def test_finite_gradients_pass(xp):
    x = var(xp, [1.0, 4.0], dtype="float32")
    with axoncl.detect_anomaly():
        x.sqrt().sum().backward()
    np.testing.assert_allclose(host(x.grad), [0.5, 0.25], rtol=1e-6)


def _line() -> int:
    import sys

    return sys._getframe(1).f_lineno
