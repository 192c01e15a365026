"""Train on scikit-learn's digits with a learning-rate schedule, stop, and resume from a checkpoint.

An MLP learns the 8x8 digits on the default OpenCL device with Adam and a cosine schedule.
Run A trains 6 epochs straight. Run B trains 3 epochs, writes a checkpoint (model, optimizer
and schedule in one ``.npz``: arrays plus JSON, never pickle), then a fresh model, optimizer
and schedule load it and train the last 3 epochs. Both runs see the same batches, so their
losses and final weights are the same, bit for bit.

    python3 examples/train_digits.py [--device numpy]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

import axoncl
from axoncl import nn, optim
from axoncl.backends import to_backend, to_numpy

EPOCHS, BATCH = 6, 64


def load_data(device: str):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    return tuple(to_backend(a, device) for a in (x[train], y[train], x[test], y[test]))


def build(device: str):
    axoncl.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    return model, opt, schedule


def train_epochs(model, opt, schedule, data, epochs: range) -> list[float]:
    x, y, _, _ = data
    losses = []
    for epoch in epochs:
        order = np.random.default_rng(100 + epoch).permutation(x.shape[0])  # seeded per epoch
        for start in range(0, len(order), BATCH):
            idx = order[start : start + BATCH]
            loss = axoncl.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        schedule.step()
        losses.append(loss.item())
        print(f"  epoch {epoch + 1}: loss {losses[-1]:.4f}  lr {opt.param_groups[0]['lr']:.5f}")
    return losses


def accuracy(model, data) -> float:
    _, _, x, y = data
    with axoncl.no_grad():
        predicted = axoncl.argmax(model(x), axis=1).numpy()
    return float(np.mean(predicted == to_numpy(y)))


def main(device: str) -> None:
    data = load_data(device)
    print(f"run A: {EPOCHS} epochs straight on {device}")
    model_a, opt_a, schedule_a = build(device)
    losses_a = train_epochs(model_a, opt_a, schedule_a, data, range(EPOCHS))

    print("run B: 3 epochs, a checkpoint, then 3 epochs in fresh objects")
    model_b, opt_b, schedule_b = build(device)
    losses_b = train_epochs(model_b, opt_b, schedule_b, data, range(3))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.npz"
        nn.save({"model": model_b, "optimizer": opt_b, "schedule": schedule_b}, path)
        del model_b, opt_b, schedule_b
        model_b, opt_b, schedule_b = build(device)  # as a new process would
        state = nn.load(path)
        model_b.load_state_dict(state["model"])
        opt_b.load_state_dict(state["optimizer"])
        schedule_b.load_state_dict(state["schedule"])
    losses_b += train_epochs(model_b, opt_b, schedule_b, data, range(3, EPOCHS))

    acc = accuracy(model_b, data)
    print(f"test accuracy {acc:.4f}")
    assert losses_a == losses_b, (losses_a, losses_b)  # resuming changes nothing
    weights_b = model_b.state_dict()
    for name, value in model_a.state_dict().items():
        assert np.array_equal(to_numpy(value), to_numpy(weights_b[name])), name
    assert acc > 0.9, acc
    print("resumed run equals the straight run")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="opencl")
    main(parser.parse_args().device)
