"""GradScaler: scale sequences against torch.amp.GradScaler, skipped steps, state, errors, and
one host read per step on OpenCL."""

from __future__ import annotations

import numpy as np
import pytest

import axoncl
from axoncl import Variable, nn, optim
from axoncl.backends import to_numpy

torch = pytest.importorskip("torch")

INF, NAN = float("inf"), float("nan")


def _run_both(pattern, **settings):
    """Drive an axoncl and a torch scaler through the same steps; a step's gradient is
    ``scale * [1, 2, 3]`` with ``pattern[i]`` (None, inf or nan) in its middle entry. Returns
    both scale sequences and both parameter histories."""
    ours = axoncl.GradScaler(**settings)
    theirs = torch.amp.GradScaler("cpu", **settings)
    p = Variable(np.ones(3, np.float32), requires_grad=True)
    q = torch.nn.Parameter(torch.ones(3))
    opt, topt = optim.SGD([p], lr=0.125), torch.optim.SGD([q], lr=0.125)
    scales, torch_scales, params, torch_params = [], [], [], []
    for bad in pattern:
        theirs.scale(torch.ones(()))
        values = np.array([1.0, 2.0 if bad is None else bad, 3.0], np.float32)
        p.grad = Variable((values * np.float32(ours.get_scale())).astype(np.float32))
        q.grad = torch.from_numpy(values) * theirs.get_scale()
        ours.step(opt)
        theirs.step(topt)
        ours.update()
        theirs.update()
        scales.append(ours.get_scale())
        torch_scales.append(theirs.get_scale())
        params.append(p.numpy().copy())
        torch_params.append(q.detach().numpy().copy())
    return (scales, params), (torch_scales, torch_params), (ours, theirs)


@pytest.mark.parametrize(
    ("pattern", "settings"),
    [
        (
            [None, None, None, INF, None, NAN, NAN, None, None, None, None, None, None, INF],
            {"init_scale": 2.0**10, "growth_interval": 3},
        ),
        (
            [None] * 5 + [INF] + [None] * 4,
            {"init_scale": 3.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 2},
        ),
        # Growth stops where the scale would overflow float32 (as torch's float32 scale does).
        ([None] * 6, {"init_scale": 2.0**120, "growth_factor": 2.0**4, "growth_interval": 1}),
        ([INF] * 4 + [None] * 3, {"growth_interval": 1}),
    ],
)
def test_scales_and_steps_match_torch(pattern, settings):
    (scales, params), (torch_scales, torch_params), (ours, theirs) = _run_both(pattern, **settings)
    assert scales == torch_scales
    for step, (a, b) in enumerate(zip(params, torch_params, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"step {step}")
    ours_state, torch_state = ours.state_dict(), theirs.state_dict()
    assert set(ours_state) == set(torch_state)
    for key, value in torch_state.items():
        assert ours_state[key] == value, key


def test_a_skipped_step_leaves_parameters_and_optimizer_state_alone():
    p = Variable(np.ones(2, np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    scaler = axoncl.GradScaler(init_scale=8.0)
    p.grad = Variable(np.array([1.0, INF], np.float32))
    assert scaler.step(opt) is None
    scaler.update()
    np.testing.assert_array_equal(p.numpy(), [1.0, 1.0])
    assert opt.state.get(id(p), {}) == {}
    assert scaler.get_scale() == 4.0
    p.grad = Variable(np.array([4.0, -4.0], np.float32))
    scaler.step(opt)
    scaler.update()
    assert p.numpy()[0] < 1.0 < p.numpy()[1]


def test_unscale_before_clipping_gives_true_gradients_and_step_does_not_unscale_again():
    p = Variable(np.ones(2, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    scaler = axoncl.GradScaler(init_scale=2.0**12)
    with axoncl.autocast():
        loss = (Variable(np.array([[1.0, 2.0]], np.float32)) @ p).sum()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    np.testing.assert_array_equal(p.grad.numpy(), [1.0, 2.0])
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(p.numpy(), [0.0, -1.0])


def test_scale_multiplies_a_loss_or_several():
    scaler = axoncl.GradScaler(init_scale=4.0)
    loss = Variable(np.float32(1.5))
    assert float(scaler.scale(loss)) == 6.0
    a, b = scaler.scale((loss, loss * 2.0))
    assert (float(a), float(b)) == (6.0, 12.0)
    with pytest.raises(TypeError, match="Variable"):
        scaler.scale(1.5)


def test_misuse_raises():
    p = Variable(np.ones(2, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    scaler = axoncl.GradScaler()
    with pytest.raises(RuntimeError, match="no gradients were checked"):
        scaler.update()
    p.grad = Variable(np.ones(2, np.float32))
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="already called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="after step"):
        scaler.unscale_(opt)
    scaler.update()
    with pytest.raises(RuntimeError, match="closure"):
        scaler.step(opt, closure=lambda: None)
    for bad in ({"init_scale": 0.0}, {"growth_factor": 1.0}, {"backoff_factor": 1.0}):
        with pytest.raises(ValueError):
            axoncl.GradScaler(**bad)
    with pytest.raises(ValueError, match="growth_interval"):
        axoncl.GradScaler(growth_interval=0)


def test_state_dict_round_trip_and_update_to_a_given_scale():
    scaler = axoncl.GradScaler(init_scale=16.0, growth_interval=5)
    scaler.update(new_scale=2.0)
    scaler._growth_tracker = 3
    other = axoncl.GradScaler()
    other.load_state_dict(scaler.state_dict())
    assert other.state_dict() == {
        "scale": 2.0,
        "growth_factor": 2.0,
        "backoff_factor": 0.5,
        "growth_interval": 5,
        "_growth_tracker": 3,
    }
    with pytest.raises(RuntimeError, match="empty"):
        other.load_state_dict(axoncl.GradScaler(enabled=False).state_dict())


def test_disabled_scaler_passes_through():
    p = Variable(np.ones(2, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    scaler = axoncl.GradScaler(enabled=False)
    loss = (p * 3.0).sum()
    assert scaler.scale(loss) is loss
    loss.backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(p.numpy(), [-2.0, -2.0])
    assert scaler.get_scale() == 1.0 and scaler.state_dict() == {}


def test_float16_training_with_loss_scaling_learns_on_numpy():
    axoncl.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=0.05)
    scaler = axoncl.GradScaler(init_scale=2.0**16, growth_interval=10)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        with axoncl.autocast():
            loss = axoncl.cross_entropy(model(x), labels)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(float(loss))
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert losses[-1] < 0.25 * losses[0]


def _count_reads(monkeypatch):
    from axoncl.backends.opencl import array as cl_array
    from axoncl.backends.opencl import launch

    calls = []
    original = launch.read_buffer

    def counting(*args, **kwargs):
        calls.append(kwargs.get("op"))
        return original(*args, **kwargs)

    monkeypatch.setattr(launch, "read_buffer", counting)
    monkeypatch.setattr(cl_array, "read_buffer", counting)
    return calls


def test_one_host_read_per_step_on_opencl(monkeypatch):
    from xp_backends import load_backend

    xp = load_backend("opencl")
    axoncl.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    model.to(xp)
    opt = optim.Adam(model.parameters(), lr=0.01)
    scaler = axoncl.GradScaler(init_scale=2.0**8, growth_interval=2)
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.standard_normal((6, 8)).astype(np.float32))
    labels = xp.asarray(np.array([0, 1, 2, 0, 1, 2]))
    calls = _count_reads(monkeypatch)
    scales = []
    for step in range(4):
        before = len(calls)
        opt.zero_grad()
        with axoncl.autocast(enabled=hasattr(xp, "float16")):
            loss = axoncl.cross_entropy(model(x), labels)
        scaler.scale(loss).backward()
        if step == 2:  # an overflow on the device: this step is skipped
            w = model[0].weight
            w.grad = Variable(w.grad.data * float("inf"))
        scaler.step(opt)
        scaler.update()
        assert len(calls) - before == 1, calls[before:]
        scales.append(scaler.get_scale())
    assert scales == [2.0**8, 2.0**9, 2.0**8, 2.0**8]
    assert all(np.isfinite(to_numpy(p.data)).all() for p in model.parameters())
