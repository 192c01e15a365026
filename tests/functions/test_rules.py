"""Every op, registered or composed, against central differences on every backend (float64).

The samples live in ``tests/op_samples.py``; a new op adds its samples there.
"""

from __future__ import annotations

import pytest
from op_samples import ALL_SAMPLES, OP_SAMPLES
from xp_backends import require_float64

from axoncl import gradcheck, gradgradcheck
from axoncl.graph import registry


def test_every_registered_op_has_samples():
    assert set(registry) == {sample.op_name for sample in OP_SAMPLES}


@pytest.mark.parametrize("sample", ALL_SAMPLES, ids=str)
def test_gradcheck(sample, xp):
    require_float64(xp)
    sample.skip_if_unsupported(xp)
    assert gradcheck(sample.fn, sample.inputs(xp, dtype=xp.float64))


@pytest.mark.parametrize("sample", [s for s in ALL_SAMPLES if s.gradgrad], ids=str)
def test_gradgradcheck(sample, xp):
    require_float64(xp)
    sample.skip_if_unsupported(xp)
    assert gradgradcheck(sample.fn, sample.inputs(xp, dtype=xp.float64))
