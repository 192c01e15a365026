"""The same model code on four backends: numpy, array-api-strict, torch and OpenCL.

A small MLP is built once from a fixed seed, copied to each backend, and trained for a few SGD
steps in float64 on the same data. The losses and the trained weights agree to rounding.

    python3 examples/backend_swap.py
"""

import numpy as np

import axoncl
from axoncl import nn, optim

BACKENDS = ["numpy", "array_api_strict", "torch", "opencl"]


def train(backend: str, steps: int = 5) -> tuple[list[float], np.ndarray]:
    axoncl.manual_seed(0)  # the same seed gives the same weights on every backend
    model = nn.Sequential(
        nn.Linear(4, 16, dtype="float64"), nn.Tanh(), nn.Linear(16, 3, dtype="float64")
    ).to(backend)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(1)
    x = axoncl.asarray(rng.standard_normal((32, 4)), backend=backend, dtype="float64")
    y = axoncl.asarray(rng.integers(0, 3, 32), backend=backend, dtype="int64")
    losses = []
    for _ in range(steps):
        loss = axoncl.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, model[0].weight.numpy()


def main() -> None:
    results = {backend: train(backend) for backend in BACKENDS}
    reference_losses, reference_weight = results["numpy"]
    for backend, (losses, weight) in results.items():
        print(f"{backend:>16}: losses " + " ".join(f"{loss:.12f}" for loss in losses))
        assert np.allclose(losses, reference_losses, rtol=1e-12, atol=1e-12), backend
        assert np.allclose(weight, reference_weight, rtol=1e-10, atol=1e-12), backend
    assert reference_losses[-1] < reference_losses[0]  # and it learns
    print("the same numbers on", ", ".join(BACKENDS))


if __name__ == "__main__":
    main()
