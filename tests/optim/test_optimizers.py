"""Optimizers against torch.optim (float64, same init and gradients) and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from xp_backends import assert_close, load_backend, require_float64, to_xp

import axoncl
from axoncl import nn, optim

RNG = np.random.default_rng(0)
INIT = [RNG.standard_normal((4, 3)), RNG.standard_normal(3)]
SCALE = [RNG.uniform(0.5, 2.0, (4, 3)), RNG.uniform(0.5, 2.0, 3)]
SHIFT = [RNG.standard_normal((4, 3)), RNG.standard_normal(3)]


def _grad(p: np.ndarray, i: int) -> np.ndarray:
    """The gradient of sum(scale·p² + shift·p): depends on p, so the trajectories must agree."""
    return 2 * SCALE[i] * p + SHIFT[i]


CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9, "centered": True, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
]


def _run_axoncl(name, kwargs, steps, xp_name="numpy", dtype="float64"):
    xp = load_backend(xp_name)
    params = [nn.Parameter(to_xp(xp, p, dtype)) for p in INIT]
    opt = getattr(optim, name)(params, **kwargs)
    for _ in range(steps):
        for i, p in enumerate(params):
            p.grad = axoncl.Variable(to_xp(xp, _grad(p.numpy().astype(np.float64), i), dtype))
        opt.step()
    return [p.numpy() for p in params]


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=lambda c: str(c))
def test_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(p, requires_grad=True) for p in INIT]
    opt = getattr(torch.optim, name)(params, **kwargs)
    for _ in range(6):
        for i, p in enumerate(params):
            p.grad = torch.from_numpy(_grad(p.detach().numpy(), i))
        opt.step()
    ours = _run_axoncl(name, kwargs, 6)
    for got, want in zip(ours, params, strict=True):
        assert_close(got, want.detach().numpy(), atol=1e-10, rtol=0)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=lambda c: str(c))
def test_opencl_matches_numpy(name, kwargs):
    require_float64(load_backend("opencl"))
    want = _run_axoncl(name, kwargs, 4)
    got = _run_axoncl(name, kwargs, 4, "opencl")
    for g, w in zip(got, want, strict=True):
        assert_close(g, w, atol=1e-12, rtol=1e-12)


def test_opencl_step_reads_nothing_back(monkeypatch):
    xp = load_backend("opencl")
    from axoncl.backends.opencl.array import CLArray

    params = [nn.Parameter(xp.asarray(p.astype(np.float32))) for p in INIT]
    for p in params:
        p.grad = axoncl.Variable(xp.ones_like(p.data))
    opts = [
        optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        optim.Adam(params, amsgrad=True, weight_decay=0.1),
        optim.AdamW(params),
    ]

    def refuse(self):
        raise AssertionError("optimizer step read a device array back to the host")

    monkeypatch.setattr(CLArray, "to_numpy", refuse)
    for opt in opts:
        opt.step()
        opt.step()


def test_sgd_closed_form_with_momentum():
    p = nn.Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    expected, buf = 1.0, None
    for _ in range(4):
        g = 2 * expected
        buf = g if buf is None else 0.5 * buf + g
        expected -= 0.1 * buf
        p.grad = axoncl.Variable(2 * p.data)
        opt.step()
    assert p.numpy()[0] == pytest.approx(expected, abs=1e-15)


def test_adam_first_step_moves_each_weight_by_lr():
    p = nn.Parameter(np.array([3.0, -2.0, 0.5]))
    opt = optim.Adam([p], lr=0.01)
    p.grad = axoncl.Variable(np.array([10.0, -0.001, 1.0]))
    opt.step()
    # Step 1: m̂ = g, v̂ = g², so the update is lr · g / (|g| + eps) ≈ lr · sign(g).
    assert_close(p, [2.99, -1.99, 0.49], atol=1e-6)


def test_parameters_without_grad_are_skipped():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = axoncl.Variable(np.ones(2))
    opt.step()
    assert (b.numpy() == 1).all() and (a.numpy() < 1).all()


def test_zero_grad():
    p = nn.Parameter(np.ones(2))
    p.grad = axoncl.Variable(np.ones(2))
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert (p.grad.numpy() == 0).all()
    opt.zero_grad()
    assert p.grad is None


def test_param_groups_have_their_own_lr():
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad = b.grad = axoncl.Variable(np.ones(1))
    opt.step()
    assert a.numpy()[0] == pytest.approx(0.9) and b.numpy()[0] == pytest.approx(0.0)


def test_state_dict_round_trip_continues_identically():
    def make():
        params = [nn.Parameter(p.copy()) for p in INIT]
        return params, optim.Adam(params, lr=0.05, amsgrad=True)

    def steps(params, opt, n):
        for _ in range(n):
            for i, p in enumerate(params):
                p.grad = axoncl.Variable(_grad(p.numpy(), i))
            opt.step()

    params_a, opt_a = make()
    steps(params_a, opt_a, 3)
    params_b, opt_b = make()
    for pb, pa in zip(params_b, params_a, strict=True):
        pb.data = pa.data.copy()
    opt_b.load_state_dict(opt_a.state_dict())
    steps(params_a, opt_a, 2)
    steps(params_b, opt_b, 2)
    for pa, pb in zip(params_a, params_b, strict=True):
        assert_close(pb, pa.numpy(), atol=0, rtol=0)


def test_state_dict_moves_to_parameter_backend():
    xp = load_backend("opencl")
    host_params = [nn.Parameter(p.astype(np.float32)) for p in INIT]
    opt = optim.SGD(host_params, lr=0.1, momentum=0.9)
    for p in host_params:
        p.grad = axoncl.Variable(np.ones_like(p.data))
    opt.step()
    cl_params = [nn.Parameter(xp.asarray(p.data)) for p in host_params]
    opt_cl = optim.SGD(cl_params, lr=0.1, momentum=0.9)
    opt_cl.load_state_dict(opt.state_dict())
    buf = opt_cl.state[id(cl_params[0])]["momentum_buffer"]
    assert axoncl.backend_name(axoncl.namespace_of(buf)) == "opencl"


def test_load_state_dict_with_wrong_group_count_raises():
    p = nn.Parameter(np.ones(1))
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="expected 1 parameter groups, got 2"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0]}, {"params": []}]})


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=-1), "non-negative lr"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum needs momentum > 0"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), r"betas in \[0, 1\)"),
        (lambda p: optim.Adam([]), "empty parameter list"),
    ],
)
def test_bad_hyper_parameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.ones(1))] if "empty" not in message else [])


def test_training_a_model_reduces_the_loss():
    axoncl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
    x = RNG.standard_normal((64, 3)).astype(np.float32)
    y = (np.sin(x.sum(axis=1, keepdims=True))).astype(np.float32)
    opt = optim.AdamW(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = axoncl.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    assert math.isfinite(losses[-1])


def test_step_with_closure_returns_its_loss():
    p = nn.Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 1.0 and p.numpy()[0] == pytest.approx(0.8)
