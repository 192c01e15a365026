"""A two-layer MLP trained for a few SGD steps, and one small-CNN training script moved with
``.to(backend)``, give the same numbers on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import load_backend, require_float64, to_xp

import axoncl
from axoncl import Variable, nn, optim
from axoncl.backends import backend_name

STEPS = 4
LEARNING_RATE = 0.5


def _problem() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    return {
        "x": rng.standard_normal((8, 4)),
        "target": rng.integers(0, 3, 8),
        "w1": rng.standard_normal((4, 6)) * 0.5,
        "b1": rng.standard_normal(6) * 0.1,
        "w2": rng.standard_normal((6, 3)) * 0.5,
        "b2": rng.standard_normal(3) * 0.1,
    }


def _train(xp) -> tuple[list[float], list[dict[str, np.ndarray]]]:
    """Losses and gradients of each SGD step, as host values."""
    data = _problem()
    x = Variable(to_xp(xp, data["x"], "float64"))
    target = Variable(to_xp(xp, data["target"], "int64"))
    params = {
        name: Variable(to_xp(xp, data[name], "float64"), requires_grad=True)
        for name in ("w1", "b1", "w2", "b2")
    }
    losses, grads = [], []
    for _ in range(STEPS):
        hidden = (x @ params["w1"] + params["b1"]).relu()
        logits = hidden @ params["w2"] + params["b2"]
        loss = axoncl.cross_entropy(logits, target)
        loss.backward()
        losses.append(loss.item())
        grads.append({name: p.grad.numpy() for name, p in params.items()})
        for p in params.values():  # plain SGD on the raw arrays
            p.data = p.data - LEARNING_RATE * p.grad.data
            p.grad = None
    return losses, grads


def _assert_same_run(name, got, reference):
    losses, grads = got
    ref_losses, ref_grads = reference
    np.testing.assert_allclose(
        losses, ref_losses, atol=1e-6, rtol=0, err_msg=f"{name}: losses per step"
    )
    for step, (g, r) in enumerate(zip(grads, ref_grads, strict=True)):
        for param in r:
            np.testing.assert_allclose(
                g[param],
                r[param],
                atol=1e-6,
                rtol=0,
                err_msg=f"{name}: gradient of {param} at step {step}",
            )


def test_mlp_sgd_lowers_the_loss_on_numpy():
    losses, _ = _train(load_backend("numpy"))
    assert losses[-1] < losses[0], f"SGD should lower the loss: {losses}"


def test_mlp_sgd_matches_numpy_on_every_backend(xp):
    require_float64(xp)
    _assert_same_run(backend_name(xp), _train(xp), _train(load_backend("numpy")))


def _cnn_script(backend: str) -> tuple[list[float], dict[str, np.ndarray]]:
    """A researcher's training script, unchanged but for the backend name: a small CNN made
    on the host, moved with ``.to(backend)``, fed that backend's arrays, trained with Adam."""
    axoncl.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, dtype="float64"),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3 * 3 * 3, 4, dtype="float64"),
    ).to(backend)
    opt = optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(7)
    images = axoncl.asarray(rng.standard_normal((5, 2, 6, 6)), backend=backend)
    labels = axoncl.asarray(rng.integers(0, 4, 5), backend=backend, dtype="int64")
    losses = []
    for _ in range(3):
        loss = axoncl.cross_entropy(model(Variable(images)), Variable(labels))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, {name: p.numpy() for name, p in model.named_parameters()}


def test_one_cnn_script_gives_the_same_training_run_on_every_backend(xp):
    require_float64(xp)
    losses, params = _cnn_script(backend_name(xp))
    ref_losses, ref_params = _cnn_script("numpy")
    assert ref_losses[-1] < ref_losses[0], f"Adam should lower the loss: {ref_losses}"
    np.testing.assert_allclose(losses, ref_losses, atol=1e-10, rtol=0, err_msg="losses")
    for name, value in ref_params.items():
        np.testing.assert_allclose(params[name], value, atol=1e-10, rtol=0, err_msg=name)


def test_mlp_sgd_matches_a_closed_form_first_step():
    """The first gradients, written out by hand: softmax minus one-hot, back through relu."""
    data = _problem()
    h_pre = data["x"] @ data["w1"] + data["b1"]
    h = np.maximum(h_pre, 0)
    logits = h @ data["w2"] + data["b2"]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(3)[data["target"]]
    loss = -np.log(p[np.arange(8), data["target"]]).mean()
    d_logits = (p - onehot) / 8
    d_h_pre = (d_logits @ data["w2"].T) * (h_pre > 0)
    expected = {
        "w1": data["x"].T @ d_h_pre,
        "b1": d_h_pre.sum(axis=0),
        "w2": h.T @ d_logits,
        "b2": d_logits.sum(axis=0),
    }
    losses, grads = _train(load_backend("numpy"))
    assert losses[0] == pytest.approx(loss, abs=1e-12)
    for name, value in expected.items():
        np.testing.assert_allclose(grads[0][name], value, atol=1e-12, err_msg=name)
