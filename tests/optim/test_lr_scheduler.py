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
