"""A training step on OpenCL (forward, cross-entropy, backward, optimizer) never waits for the
device: nothing is read back until the loss is asked for."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import load_backend

import axoncl
from axoncl import nn, optim


def _models():
    return {
        "mlp": (nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5)), (6, 20)),
        "cnn": (
            nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(4, 8, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Dropout(0.2),
                nn.Linear(8 * 3 * 3, 5),
            ),
            (6, 1, 12, 12),
        ),
    }


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_opencl_training_step_reads_nothing_back(kind, monkeypatch):
    xp = load_backend("opencl")
    from axoncl.backends.opencl.array import CLArray

    axoncl.manual_seed(0)
    model, shape = _models()[kind]
    model = model.to("opencl")
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.standard_normal(shape).astype(np.float32))
    y = xp.asarray(rng.integers(0, 5, shape[0]))

    def refuse(self):
        raise AssertionError("the training step read a device array back to the host")

    losses = []
    with monkeypatch.context() as patch:
        patch.setattr(CLArray, "to_numpy", refuse)
        for _ in range(3):
            opt.zero_grad()
            loss = axoncl.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss)
    values = [loss.item() for loss in losses]  # reading the loss, once asked, is allowed
    assert all(np.isfinite(values))
    assert values[-1] < values[0]
