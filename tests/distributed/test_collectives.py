"""Collectives at two ranks on every backend, and the 1-rank world without mpiexec."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import BACKENDS, load_backend

from ._mpi import launch, worker

X0 = np.arange(6, dtype=np.float32).reshape(2, 3)  # rank r passes X0 + 10 r
X1 = X0 + 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_collectives_at_two_ranks(backend, tmp_path):
    load_backend(backend)  # skips with the reason when the backend cannot run here
    run = launch([worker("collectives"), backend], tmp_path)
    assert run.returncode == 0, run.output
    assert sorted(run.reports) == [0, 1], run.output
    for rank, got in run.reports.items():
        assert got["size"] == 2
        np.testing.assert_array_equal(got["sum"], X0 + X1)
        np.testing.assert_array_equal(got["mean"], (X0 + X1) / 2)
        assert got["int_sum"] == [3]
        np.testing.assert_array_equal(got["broadcast"], X1)  # from the last rank
        np.testing.assert_array_equal(got["gather"], [X0, X1])
        assert got["same_type"] and got["variable"] == "Variable"
        assert got["objects"] == [{"rank": 0}, {"rank": 1}]
        assert got["object_from_last"] == "from 1"
        assert got["mismatch"] == (
            "ValueError: all_reduce: every rank must pass the same shape and dtype; rank 0 "
            "passed shape (2,) and dtype float32, rank 1 passed shape (3,) and dtype float32"
        ), rank
        assert got["bad_op"] == "ValueError: all_reduce: expected op 'sum' or 'mean', got 'max'"
        assert got["int_mean"].startswith("TypeError: all_reduce: op 'mean' needs a floating")
        np.testing.assert_array_equal(got["first_after_reuse"], X0 + X1)
        for k, later in enumerate(got["later"], start=2):
            np.testing.assert_array_equal(later, k * (X0 + X1))


def test_opencl_reuses_its_host_buffers(tmp_path):
    load_backend("opencl")
    run = launch([worker("collectives"), "opencl"], tmp_path)
    assert run.returncode == 0, run.output
    for got in run.reports.values():
        assert got["buffers_before"] > 0  # staged through cached buffers ...
        assert got["buffers_after"] == got["buffers_before"]  # ... and no new ones
        assert got["same_buffers"]


def test_without_mpiexec_a_script_is_a_one_rank_world(tmp_path):
    run = launch([worker("collectives"), "numpy"], tmp_path, ranks=None)
    assert run.returncode == 0, run.output
    got = run.reports[0]
    assert got["size"] == 1
    np.testing.assert_array_equal(got["sum"], X0)
    np.testing.assert_array_equal(got["mean"], X0)
    np.testing.assert_array_equal(got["gather"], [X0])
    assert got["objects"] == [{"rank": 0}] and got["object_from_last"] == "from 0"
    assert got["mismatch"] == ""  # one rank: nothing to disagree with
