"""axoncl.capture: a recorded training step replays bit for bit like the eager step, and a step
that is not static (shapes, data-dependent launches, host reads) is refused clearly."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import load_backend

import axoncl
from axoncl import Variable, nn, optim


def _model(kind: str):
    axoncl.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 5)
    )


def _batches(xp, kind: str, count: int):
    rng = np.random.default_rng(1)
    shape = (16, 20) if kind == "mlp" else (8, 1, 8, 8)
    return [
        (
            xp.asarray(rng.standard_normal(shape).astype(np.float32)),
            xp.asarray(rng.integers(0, 5, shape[0])),
        )
        for _ in range(count)
    ]


def _train_step(model, opt):
    def train_step(x, y):
        opt.zero_grad()
        loss = axoncl.cross_entropy(model(Variable(x)), y)
        loss.backward()
        opt.step()
        return loss

    return train_step


def _train(xp, kind: str, captured: bool, steps: int = 6):
    model = _model(kind).to("opencl")
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    step = _train_step(model, opt)
    if captured:
        step = axoncl.capture(step)
    losses = []
    for x, y in _batches(xp, kind, steps):
        losses.append(step(x, y).data.to_numpy().copy())
    params = [p.data.to_numpy() for p in model.parameters()]
    return losses, params, step


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_a_captured_step_gives_the_eager_results_bit_for_bit(kind):
    xp = load_backend("opencl")
    eager_losses, eager_params, _ = _train(xp, kind, captured=False)
    losses, params, step = _train(xp, kind, captured=True)
    assert step.captured and step.launches > 0
    assert len({loss.tobytes() for loss in losses}) == len(losses)  # it really trained
    for got, want in zip(losses, eager_losses, strict=True):
        assert got.tobytes() == want.tobytes()
    for got, want in zip(params, eager_params, strict=True):
        assert got.tobytes() == want.tobytes()


def test_a_replay_enqueues_exactly_the_recorded_launches():
    xp = load_backend("opencl")
    _, _, step = _train(xp, "mlp", captured=True, steps=3)
    device = xp.default_device()
    ((x, y),) = _batches(xp, "mlp", 1)
    before = device.launches
    step(x, y)  # the inputs are copied with buffer copies, which launch no kernel
    assert device.launches - before == step.launches


def test_a_new_shape_is_refused():
    xp = load_backend("opencl")
    _, _, step = _train(xp, "mlp", captured=True, steps=3)
    x = xp.asarray(np.zeros((4, 20), np.float32))
    y = xp.asarray(np.zeros(4, np.int64))
    with pytest.raises(axoncl.CaptureError, match=r"argument 0 was captured as .*\(16, 20\)"):
        step(x, y)


def test_a_step_with_a_fresh_dropout_seed_each_call_is_refused():
    xp = load_backend("opencl")
    model = nn.Sequential(nn.Linear(20, 8), nn.Dropout(0.5), nn.Linear(8, 5)).to("opencl")
    step = axoncl.capture(lambda x: model(Variable(x)).sum())
    x = xp.asarray(np.ones((4, 20), np.float32))
    step(x)
    step(x)
    with pytest.raises(axoncl.CaptureError, match="not static.*philox_dropout"):
        step(x)


def test_a_host_read_inside_the_step_is_refused():
    xp = load_backend("opencl")

    def branchy(x):
        y = x * 2.0
        if float(xp.sum(y)) > 0:  # a data-dependent branch
            y = y + 1.0
        return y

    step = axoncl.capture(branchy)
    x = xp.asarray(np.ones(3, np.float32))
    step(x)
    with pytest.raises(axoncl.CaptureError, match="reads device data back to the host"):
        step(x)


def test_adam_is_refused_because_its_step_count_changes():
    xp = load_backend("opencl")
    model = _model("mlp").to("opencl")
    step = axoncl.capture(_train_step(model, optim.Adam(model.parameters())))
    ((x, y),) = _batches(xp, "mlp", 1)
    step(x, y)
    step(x, y)
    with pytest.raises(axoncl.CaptureError, match="optim_adam"):
        step(x, y)


def test_a_step_without_opencl_work_is_refused():
    load_backend("opencl")
    step = axoncl.capture(lambda x: x * 2.0)
    x = Variable(np.ones(3))
    step(x)
    with pytest.raises(axoncl.CaptureError, match="no OpenCL work"):
        step(x)
