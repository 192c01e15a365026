"""``nn.utils`` gradient clipping against ``torch.nn.utils`` (float64, every backend), and
without host reads on OpenCL."""

from __future__ import annotations

import math

import numpy as np
import pytest
from xp_backends import assert_close, host, load_backend, require_float64, to_xp

import axoncl
from axoncl import nn

RNG = np.random.default_rng(7)
SHAPES = [(4, 3), (3,), (2, 2, 5), (1,)]
GRADS = [RNG.standard_normal(shape) * scale for shape, scale in zip(SHAPES, [1, 3, 0.2, 5])]
NORM_TYPES = [2.0, 1.0, math.inf, 3.0, 0.5]


def _params(xp, grads=GRADS, dtype="float64"):
    params = [nn.Parameter(to_xp(xp, np.zeros_like(g), dtype)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = axoncl.Variable(to_xp(xp, g, dtype))
    return params


def _torch_params(grads=GRADS):
    torch = pytest.importorskip("torch")
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g)
    return torch, params


@pytest.mark.parametrize("norm_type", NORM_TYPES, ids=str)
@pytest.mark.parametrize("max_norm", [0.5, 1e3], ids=["clips", "within"])
def test_clip_grad_norm_matches_torch(xp, norm_type, max_norm):
    require_float64(xp)
    torch, expected = _torch_params()
    want = torch.nn.utils.clip_grad_norm_(expected, max_norm, norm_type=norm_type)
    params = _params(xp)
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, axoncl.Variable) and total.shape == () and not total.requires_grad
    assert total.xp is params[0].grad.xp
    assert_close(total, want.numpy(), atol=0, rtol=1e-12, what="total norm")
    for i, (p, q) in enumerate(zip(params, expected, strict=True)):
        assert_close(p.grad, q.grad.numpy(), atol=1e-15, rtol=1e-12, what=f"grad {i}")
    after = float(host(nn.utils.get_total_norm([p.grad for p in params], norm_type)))
    assert after == pytest.approx(min(float(want), max_norm), rel=1e-5)


def test_clip_grad_value_matches_torch(xp):
    require_float64(xp)
    torch, expected = _torch_params()
    torch.nn.utils.clip_grad_value_(expected, 0.7)
    params = _params(xp)
    assert nn.utils.clip_grad_value_(params, 0.7) is None
    for i, (p, q) in enumerate(zip(params, expected, strict=True)):
        assert_close(p.grad, q.grad.numpy(), atol=0, rtol=0, what=f"grad {i}")
    assert max(float(np.abs(host(p.grad)).max()) for p in params) == 0.7


def test_total_norm_then_clip_matches_torch(xp):
    require_float64(xp)
    torch, expected = _torch_params()
    want = torch.nn.utils.get_total_norm([p.grad for p in expected], norm_type=3.0)
    torch.nn.utils.clip_grads_with_norm_(expected, 2.0, want)
    params = _params(xp)
    total = nn.utils.get_total_norm([p.grad for p in params], norm_type=3.0)
    nn.utils.clip_grads_with_norm_(params, 2.0, total)
    assert_close(total, want.numpy(), atol=0, rtol=1e-12, what="total norm")
    for i, (p, q) in enumerate(zip(params, expected, strict=True)):
        assert_close(p.grad, q.grad.numpy(), atol=1e-15, rtol=1e-12, what=f"grad {i}")


def test_parameters_without_grad_are_skipped_and_one_variable_is_accepted():
    params = _params(load_backend("numpy"))
    params[1].grad = None
    want = math.sqrt(sum(float((g * g).sum()) for i, g in enumerate(GRADS) if i != 1))
    assert nn.utils.clip_grad_norm_(params, 1e9).item() == pytest.approx(want, rel=1e-14)
    assert params[1].grad is None
    single = _params(load_backend("numpy"), GRADS[:1])[0]
    total = nn.utils.clip_grad_norm_(single, 1.0).item()
    assert total == pytest.approx(float(np.sqrt((GRADS[0] ** 2).sum())), rel=1e-14)
    assert_close(single.grad, GRADS[0] / (total + 1e-6), atol=0, rtol=1e-14, what="clipped")


def test_no_gradients_give_a_float32_zero():
    p = nn.Parameter(np.ones(3))
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert total.item() == 0.0 and total.dtype == np.float32
    assert p.grad is None


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")
def test_nonfinite_norm_raises_only_when_asked(xp):
    require_float64(xp)
    grads = [g.copy() for g in GRADS]
    grads[2][0, 1, 3] = np.inf
    params = _params(xp, grads)
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert_close(params[0].grad, GRADS[0], atol=0, rtol=0, what="untouched")
    torch, expected = _torch_params(grads)
    torch.nn.utils.clip_grad_norm_(expected, 1.0)
    total = nn.utils.clip_grad_norm_(params, 1.0)
    assert float(host(total)) == math.inf
    for i, (p, q) in enumerate(zip(params, expected, strict=True)):
        np.testing.assert_array_equal(host(p.grad), q.grad.numpy(), err_msg=f"grad {i}")


def test_float32_norm_stays_float32(xp):
    params = _params(xp, dtype="float32")
    total = nn.utils.clip_grad_norm_(params, 0.5)
    assert total.dtype == params[0].grad.dtype
    want = np.sqrt(sum((g.astype(np.float32) ** 2).sum() for g in GRADS))
    assert float(host(total)) == pytest.approx(float(want), rel=1e-5)
    norm = float(host(nn.utils.get_total_norm([p.grad for p in params])))
    assert norm == pytest.approx(0.5, rel=1e-5)


def test_opencl_clipping_reads_nothing_back(monkeypatch):
    xp = load_backend("opencl")
    from axoncl.backends.opencl import array, launch

    axoncl.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.GELU(), nn.Linear(5, 3)).to("opencl")
    x = xp.asarray(RNG.standard_normal((4, 6)).astype(np.float32))
    y = xp.asarray(RNG.integers(0, 3, 4))
    loss = axoncl.cross_entropy(model(x), y)
    loss.backward()
    before = [host(p.grad) for p in model.parameters()]

    def refuse(*args, **kwargs):
        raise AssertionError("gradient clipping read a device array back to the host")

    with monkeypatch.context() as patch:
        patch.setattr(launch, "read_buffer", refuse)
        patch.setattr(array, "read_buffer", refuse)
        patch.setattr(array.CLArray, "to_numpy", refuse)
        total = nn.utils.clip_grad_norm_(model.parameters(), 0.1, norm_type=math.inf)
        total2 = nn.utils.clip_grad_norm_(model.parameters(), 0.05)
        nn.utils.clip_grad_value_(model.parameters(), 0.01)
    assert isinstance(total.data, array.CLArray)
    want = max(float(np.abs(g).max()) for g in before)
    assert float(host(total)) == pytest.approx(want, rel=1e-6)
    scaled = [g * min(1.0, 0.1 / (want + 1e-6)) for g in before]
    want2 = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in scaled))
    assert float(host(total2)) == pytest.approx(want2, rel=1e-5)
    for p, g in zip(model.parameters(), scaled, strict=True):
        expected = np.clip(g * min(1.0, 0.05 / (want2 + 1e-6)), -0.01, 0.01)
        assert_close(p.grad, expected, atol=1e-7, rtol=1e-5, what=p.name)
