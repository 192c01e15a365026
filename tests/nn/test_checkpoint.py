"""Checkpoints of model, optimizer and scheduler state through ``nn.save``/``nn.load`` (no
pickle), resumed on another backend; ``pickle`` and ``copy.deepcopy`` of OpenCL modules."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from xp_backends import load_backend, require_float64

import axoncl
from axoncl import nn, optim
from axoncl.optim import lr_scheduler

DATA = np.random.default_rng(0).standard_normal((8, 4))
TARGET = np.random.default_rng(1).standard_normal((8, 2))


def _setup(backend: str):
    axoncl.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 6, dtype="float64"), nn.LayerNorm(6, dtype="float64"))
    model.append(nn.Linear(6, 2, dtype="float64"))
    model.to(backend)
    opt = optim.AdamW(model.parameters(), lr=0.05)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    return model, opt, sched


def _step(model, opt, sched, backend: str) -> float:
    xp = axoncl.get_backend(backend)
    x = axoncl.Variable(axoncl.asarray(DATA, backend=xp))
    t = axoncl.Variable(axoncl.asarray(TARGET, backend=xp))
    loss = nn.functional.mse_loss(model(x), t)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return loss.item()


def test_optimizer_state_dict_saves_and_loads_without_pickle(tmp_path):
    model, opt, sched = _setup("numpy")
    for _ in range(2):
        _step(model, opt, sched, "numpy")
    path = nn.save(opt, tmp_path / "opt")
    loaded = nn.load(path)
    assert sorted(loaded["state"]) == list(range(6))  # int keys come back as ints
    want = opt.state_dict()
    assert loaded["param_groups"][0]["betas"] == want["param_groups"][0]["betas"]
    np.testing.assert_array_equal(loaded["state"][3]["exp_avg"], want["state"][3]["exp_avg"])
    assert loaded["state"][3]["step"] == 2


@pytest.mark.parametrize("source, target", [("opencl", "numpy"), ("numpy", "opencl")])
def test_resume_on_another_backend_gives_the_same_next_losses(source, target, tmp_path):
    require_float64(load_backend("opencl"))
    model, opt, sched = _setup(source)
    for _ in range(3):
        _step(model, opt, sched, source)
    path = nn.save(
        {"model": model, "optimizer": opt, "scheduler": sched, "epoch": 3},
        tmp_path / "ckpt.npz",
    )
    want = [_step(model, opt, sched, source) for _ in range(3)]

    model2, opt2, sched2 = _setup(target)
    state = nn.load(path)
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    sched2.load_state_dict(state["scheduler"])
    assert state["epoch"] == 3 and model2[0].weight.backend == target
    got = [_step(model2, opt2, sched2, target) for _ in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"], abs=1e-15)


def test_save_refuses_values_it_cannot_write_as_json(tmp_path):
    with pytest.raises(TypeError, match="got object at '/bad'"):
        nn.save({"bad": object()}, tmp_path / "x")


def test_pickle_and_deepcopy_of_an_opencl_module_stay_on_its_device():
    xp = load_backend("opencl")
    model = nn.Sequential(nn.Linear(3, 2), nn.LSTM(2, 2)).to("opencl")
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        for (name, p), (_, q) in zip(
            model.named_parameters(), clone.named_parameters(), strict=True
        ):
            assert q is not p and q.data.device is p.data.device, name
            assert q.backend == "opencl"
            np.testing.assert_array_equal(q.numpy(), p.numpy())
    original = model[0].weight.numpy().copy()
    twin = copy.deepcopy(model)
    twin[0].weight.data = twin[0].weight.data * 0.0
    np.testing.assert_array_equal(model[0].weight.numpy(), original)  # no shared buffer
    x = axoncl.Variable(xp.asarray(np.ones((2, 3), dtype=np.float32))[:, ::2], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))  # a strided view pickles through the host too
    assert y.requires_grad and y.shape == (2, 2)
    np.testing.assert_array_equal(y.numpy(), np.ones((2, 2)))
