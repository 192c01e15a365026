"""DistributedDataParallel at two ranks against 1-process training (one launch per backend,
shared by the tests of this module)."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import load_backend

from ._mpi import launch, worker

# float64 on numpy; float32 on OpenCL, where a sum of two half-batch gradients rounds
# differently from the full batch's (relative 1e-7 per step, over six steps).
TOLERANCE = {"numpy": 1e-10, "opencl": 1e-5}


@pytest.fixture(scope="module", params=["numpy", "opencl"])
def ddp_run(request, tmp_path_factory):
    load_backend(request.param)
    run = launch([worker("ddp"), request.param], tmp_path_factory.mktemp(request.param))
    assert run.returncode == 0, run.output
    assert sorted(run.reports) == [0, 1], run.output
    return request.param, run.reports


def test_rank_zero_weights_reach_every_rank(ddp_run):
    _, reports = ddp_run
    assert reports[1]["initial_equal"]  # rank 1 built other weights; DDP copied rank 0's


def test_bucketed_ddp_matches_one_process_training(ddp_run):
    backend, reports = ddp_run
    tol = TOLERANCE[backend]
    for rank, got in reports.items():
        assert len(got["buckets"]) == 3  # 1 KiB buckets over the three layers
        assert sorted(sum(got["buckets"], [])) == sorted(
            f"{layer}.{kind}" for layer in (0, 2, 4) for kind in ("weight", "bias")
        )
        ref, ddp = np.array(got["ref_losses"]), np.array(got["ddp_losses"])
        assert len(ddp) == 6 and ref[-1] < ref[0]
        np.testing.assert_allclose(ddp, ref, rtol=0, atol=tol, err_msg=f"rank {rank}")
        assert got["param_diff"] < tol, (rank, got["param_diff"], tol)


def test_buckets_start_during_backward(ddp_run):
    _, reports = ddp_run
    for got in reports.values():
        # Gradients arrived so far when each bucket started: all but the last bucket started
        # before the last gradient of the step arrived (so they overlap backward).
        arrived = got["launched_at"]
        assert arrived == sorted(arrived) and arrived[-1] == got["n_params"]
        assert arrived[0] < got["n_params"]


def test_no_sync_accumulates_locally_then_averages_the_sum(ddp_run):
    backend, reports = ddp_run
    for got in reports.values():
        assert got["no_sync_local_differs"]  # inside no_sync the ranks' grads differ
        assert got["no_sync_diff"] < TOLERANCE[backend]  # afterwards: the full batch's grad


def test_find_unused_parameters(ddp_run):
    backend, reports = ddp_run
    # "extra" is used on rank 1 only: both ranks get rank 1's gradient averaged with zeros.
    local = np.array(reports[1]["extra_local"])
    assert reports[0]["extra_local"] is None
    for got in reports.values():
        np.testing.assert_allclose(got["extra_grad"], local / 2, rtol=1e-6)
        assert got["never_grad_is_none"]  # unused on every rank: .grad untouched
        assert got["body_grads_agree"]


def test_unused_parameter_without_the_flag_names_it(ddp_run):
    _, reports = ddp_run
    for got in reports.values():
        assert got["unused_error"].startswith(
            "RuntimeError: DistributedDataParallel: the previous backward averaged 4 of 6 "
            "parameters' gradients; these got none: ['never.weight', 'never.bias']. Pass "
            "find_unused_parameters=True"
        )


def test_checkpoint_round_trip(ddp_run):
    _, reports = ddp_run
    for got in reports.values():
        assert got["extra"] == {"step": 2}
        assert got["after_load"] == got["after_save"]  # same two steps again, bit for bit
        assert got["ckpt_keys_plain"] == ["meta", "model/0.bias", "model/0.weight"]


def test_models_that_differ_raise_naming_rank_and_parameter(ddp_run):
    backend, reports = ddp_run
    dtype = "float64" if backend == "numpy" else "float32"
    for got in reports.values():
        assert got["mismatch"] == (
            f"ValueError: DistributedDataParallel: rank 1's parameter '4.bias' has shape (5,), "
            f"dtype {dtype}, requires_grad=True; rank 0's has shape (4,), dtype {dtype}, "
            "requires_grad=True; every rank must build the same model"
        )
