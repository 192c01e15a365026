"""A short run of ``benchmarks/soak.py``: training, dropped graphs and threads leak nothing.

The full soak (20,000 steps) runs on demand; here each leg runs at a tenth of that or less,
with the same bound: past the warm-up, resident memory and the OpenCL pool's managed and active
bytes grow by less than 1 MB per 1,000 steps (least-squares slope over samples every 100 steps).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from xp_backends import load_backend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import soak  # noqa: E402

STEPS = 2000
EVERY = 100
WARMUP = 500
BOUND_MB = 1.0


@pytest.fixture(scope="module")
def data():
    return soak.Digits()


@pytest.fixture(params=["opencl", "numpy"])
def device(request):
    load_backend(request.param)  # skips only where no OpenCL device exists
    return request.param


def _quiet(line: str) -> None:
    pass


def test_training_with_bad_labels_keeps_memory_flat(device, data):
    result = soak.train(device, STEPS, every=EVERY, bad_every=50, data=data, report=_quiet)
    slopes, over = soak.memory_slopes(result["samples"], WARMUP, BOUND_MB)
    assert result["problems"] == []
    assert result["bad_labels_raised"] == result["bad_labels_expected"] == STEPS // 50
    assert over == [], f"{over}; samples: {result['samples']}"
    assert set(slopes) == ({"rss"} if device == "numpy" else set(soak.MEMORY_KEYS))


def test_graphs_dropped_without_backward_keep_memory_flat(data):
    load_backend("opencl")
    result = soak.drop_graphs("opencl", STEPS, every=EVERY, data=data, report=_quiet)
    _, over = soak.memory_slopes(result["samples"], WARMUP, BOUND_MB)
    assert result["problems"] == []
    assert over == [], f"{over}; samples: {result['samples']}"


def test_threads_training_at_once_match_one_thread_exactly(device, data):
    result = soak.threads_match(device, 4, 25, data=data)
    assert result["problems"] == []


def test_slope_is_per_thousand_steps_and_bounds_each_counter():
    assert soak.slope_per_1000([0, 100, 200], [5.0, 5.5, 6.0]) == pytest.approx(5.0)
    samples = [
        {"step": s, "rss": 10e6 + 2000 * s, "pool_managed": 0, "pool_active": 0}
        for s in range(0, 1000, 100)
    ]
    slopes, over = soak.memory_slopes(samples, 200, BOUND_MB)
    assert slopes["rss"] == pytest.approx(2.0)
    assert len(over) == 1 and over[0].startswith("rss grows 2.000 MB")
