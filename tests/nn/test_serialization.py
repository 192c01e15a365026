"""save / load: .npz files readable on any backend."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, load_backend

import axoncl
from axoncl import nn


def _cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(4),
        nn.Flatten(),
        nn.Linear(4 * 2 * 2, 3),
    )


def _source_backend():
    """OpenCL where a device exists, else numpy: the save side of the cross-backend test."""
    try:
        load_backend("opencl")
    except pytest.skip.Exception:
        return "numpy"
    return "opencl"


def test_save_on_one_backend_load_on_numpy_gives_same_predictions(tmp_path):
    backend = _source_backend()
    axoncl.manual_seed(0)
    model = _cnn().to(backend)
    x = np.random.default_rng(0).standard_normal((5, 1, 4, 4)).astype(np.float32)
    model(axoncl.asarray(x, backend=backend))  # training step: BatchNorm running stats move
    model.eval()
    want = model(axoncl.asarray(x, backend=backend)).numpy()
    path = nn.save(model, tmp_path / "model.npz")

    axoncl.manual_seed(1)
    other = _cnn()
    other.load_state_dict(nn.load(path))
    other.eval()
    assert other[0].weight.backend == "numpy"
    assert_close(other(x), want, atol=1e-5, rtol=1e-5)


def test_load_then_move_to_opencl(tmp_path):
    load_backend("opencl")
    model = nn.Linear(3, 2)
    path = nn.save(model.state_dict(), tmp_path / "w")
    assert path.endswith(".npz")
    other = nn.Linear(3, 2).to("opencl")
    other.load_state_dict(nn.load(path))
    assert other.weight.backend == "opencl"
    assert_close(other.weight, model.weight.numpy(), atol=0, rtol=0)


def test_load_keeps_key_order_and_dtype(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    state = nn.load(nn.save(model, tmp_path / "m.npz"))
    assert list(state) == list(model.state_dict())
    assert all(v.dtype == np.float32 for v in state.values())


def test_save_rejects_other_objects(tmp_path):
    with pytest.raises(TypeError, match="expected a Module or a state dict"):
        nn.save([1, 2], tmp_path / "x.npz")
