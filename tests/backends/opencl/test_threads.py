"""Several threads on one OpenCL device get exactly the results of one thread.

Kernels are cached on the device and shared by every thread; launch.py sets their arguments
and enqueues under one lock, so another thread's arguments can never land in between. The
switch interval is shortened so that the interpreter switches threads inside that window
as often as it can.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from axoncl import Variable, nn, optim
from axoncl.functions import cross_entropy

pytest.importorskip("pyopencl")

from axoncl.backends.opencl.launch import get_kernel  # noqa: E402

THREADS = 4


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _run_threads(work, count: int = THREADS) -> list:
    results: list = [None] * count
    errors: list = []
    barrier = threading.Barrier(count)

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    if errors:
        raise errors[0]
    return results


def test_threads_summing_and_multiplying_their_own_arrays_get_exact_results(xp, fast_switching):
    rounds = 150
    hosts = [np.arange(64 * 64, dtype=np.float32).reshape(64, 64) % (7 + i) for i in range(4)]

    def work(i: int):
        x = xp.asarray(hosts[i])
        got = []
        for r in range(rounds):
            y = x * float(r % 5 + 1) + float(i)
            got.append((xp.sum(y, axis=1), xp.max(y * y)))
        return [(s.to_numpy(), float(m)) for s, m in got]

    results = _run_threads(work)
    wrong = 0
    for i, result in enumerate(results):
        for r, (sums, biggest) in enumerate(result):
            y = hosts[i] * np.float32(r % 5 + 1) + np.float32(i)
            wrong += not np.array_equal(sums, y.sum(axis=1, dtype=np.float64).astype(np.float32))
            wrong += biggest != float((y * y).max())
    assert wrong == 0, f"{wrong} of {2 * rounds * THREADS} results differ from one thread's"


def _train(xp, seed: int, steps: int = 12) -> list[float]:
    rng = np.random.default_rng(seed)
    x = xp.asarray(rng.standard_normal((32, 20)).astype(np.float32))
    labels = xp.asarray(rng.integers(0, 5, 32))
    model = nn.Sequential(
        nn.Linear(20, 32, generator=nn.Generator(seed)),
        nn.ReLU(),
        nn.Linear(32, 5, generator=nn.Generator(seed + 1)),
    ).to("opencl")
    opt = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = cross_entropy(model(Variable(x)), labels)
        loss.backward()
        opt.step()
        losses.append(loss)
    return [float(v.item()) for v in losses]


def test_threads_training_their_own_models_match_the_sequential_run(xp, fast_switching):
    sequential = [_train(xp, seed) for seed in range(THREADS)]
    threaded = _run_threads(lambda i: _train(xp, i))
    assert threaded == sequential


def test_kernels_built_from_two_threads_at_once_are_built_once(xp, fast_switching):
    device = xp.default_device()
    defines = {"T": "float", "VEC": device.vector_width, "PROBE": 7}  # a program no test built

    kernels = _run_threads(lambda i: get_kernel(device, "fused", "fused_multiply_add", **defines))
    assert all(k is kernels[0] for k in kernels)
