"""Learning-rate schedules against their closed forms and torch.optim.lr_scheduler."""

from __future__ import annotations

import math

import numpy as np
import pytest

from axoncl import nn, optim
from axoncl.optim.lr_scheduler import CosineAnnealingLR, StepLR


def _opt(lr=0.5):
    return optim.SGD([nn.Parameter(np.zeros(1))], lr=lr)


def _lrs(scheduler, epochs):
    out = []
    for _ in range(epochs):
        out.append(scheduler.get_last_lr()[0])
        scheduler.step()
    return out


def test_step_lr_closed_form():
    lrs = _lrs(StepLR(_opt(), step_size=3, gamma=0.5), 10)
    assert lrs == pytest.approx([0.5 * 0.5 ** (e // 3) for e in range(10)], abs=1e-15)


def test_cosine_closed_form():
    lrs = _lrs(CosineAnnealingLR(_opt(), T_max=7, eta_min=0.01), 15)
    want = [0.01 + (0.5 - 0.01) * (1 + math.cos(math.pi * e / 7)) / 2 for e in range(15)]
    assert lrs == pytest.approx(want, abs=1e-15)
    assert lrs[7] == pytest.approx(0.01)


def test_scheduler_sets_every_group():
    a, b = nn.Parameter(np.zeros(1)), nn.Parameter(np.zeros(1))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    sched = StepLR(opt, step_size=1, gamma=0.1)
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.01, 0.1])


@pytest.mark.parametrize(
    "make",
    [
        lambda o, m: m.StepLR(o, step_size=2, gamma=0.3),
        lambda o, m: m.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
        lambda o, m: m.LambdaLR(o, lambda e: 1.0 / (1.0 + e) ** 0.5),
        lambda o, m: m.LinearLR(o, start_factor=0.1, total_iters=4),
        lambda o, m: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=7),
        lambda o, m: m.OneCycleLR(o, max_lr=2.0, total_steps=12, cycle_momentum=False),
        lambda o, m: m.OneCycleLR(
            o,
            max_lr=1.0,
            total_steps=12,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
            cycle_momentum=False,
        ),
    ],
)
def test_matches_torch(make):
    torch = pytest.importorskip("torch")
    ref_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    ref = make(ref_opt, torch.optim.lr_scheduler)
    ours = make(_opt(), optim.lr_scheduler)
    for _ in range(12):
        assert ours.get_last_lr()[0] == pytest.approx(ref.get_last_lr()[0], abs=1e-12)
        ref_opt.step()
        ref.step()
        ours.step()


def test_state_dict_round_trip():
    sched = StepLR(_opt(), step_size=2)
    for _ in range(3):
        sched.step()
    other = StepLR(_opt(), step_size=2)
    other.load_state_dict(sched.state_dict())
    assert other.last_epoch == 3


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_one_cycle_cycles_momentum_like_torch(kind):
    torch = pytest.importorskip("torch")
    kwargs = {"momentum": 0.9} if kind == "SGD" else {}
    ref_opt = getattr(torch.optim, kind)([torch.zeros(1, requires_grad=True)], lr=0.1, **kwargs)
    ours_opt = getattr(optim, kind)([nn.Parameter(np.zeros(1))], lr=0.1, **kwargs)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.5, epochs=2, steps_per_epoch=5)
    ours = optim.lr_scheduler.OneCycleLR(ours_opt, max_lr=0.5, epochs=2, steps_per_epoch=5)
    key = "momentum" if kind == "SGD" else "betas"
    for step in range(10):
        theirs, mine = ref_opt.param_groups[0], ours_opt.param_groups[0]
        assert mine["lr"] == pytest.approx(theirs["lr"], abs=1e-12), step
        assert np.allclose(mine[key], theirs[key], atol=1e-12), (step, mine[key], theirs[key])
        ref_opt.step()
        ref.step()
        ours.step()
    with pytest.raises(RuntimeError, match="past total_steps=10"):
        ours.step()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"patience": 2, "factor": 0.5},
        {"mode": "max", "patience": 1, "threshold": 0.1, "threshold_mode": "abs", "cooldown": 2},
        {"patience": 0, "factor": 0.1, "min_lr": 0.004},
    ],
)
def test_reduce_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    ref_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, **kwargs)
    ours = optim.lr_scheduler.ReduceLROnPlateau(_opt(), **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.94, 0.96, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8]
    for step, metric in enumerate(metrics):
        ref.step(metric)
        ours.step(metric)
        assert ours.get_last_lr()[0] == pytest.approx(ref_opt.param_groups[0]["lr"], abs=1e-15), (
            step
        )
    assert ours.get_last_lr()[0] < 0.5  # the sequence does reduce it


def test_lambda_lr_state_dict_leaves_out_the_functions():
    sched = optim.lr_scheduler.LambdaLR(_opt(), lambda e: 0.9**e)
    sched.step()
    state = sched.state_dict()
    assert "lr_lambdas" not in state and state["last_epoch"] == 1
