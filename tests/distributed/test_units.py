"""The parts of axoncl.distributed that need no second rank: sharding, the sampler, device
choice, the launcher's environment and the timeout setting."""

from __future__ import annotations

import numpy as np
import pytest

from axoncl import distributed as dist
from axoncl.distributed import device, world


def test_shards_of_all_ranks_make_up_the_batch():
    batch = np.array([9, 4, 7, 1, 3])
    parts = [dist.shard(batch, rank=r, num_replicas=2) for r in range(2)]
    assert parts[0].tolist() == [9, 7, 3] and parts[1].tolist() == [4, 1]
    assert sorted(np.concatenate(parts).tolist()) == sorted(batch.tolist())


def test_shard_rejects_a_rank_outside_the_world():
    with pytest.raises(ValueError, match="0 <= rank < num_replicas, got rank 2 of 2"):
        dist.shard(np.arange(4), rank=2, num_replicas=2)


def test_sampler_pads_to_equal_counts_and_covers_the_data():
    samplers = [dist.DistributedSampler(7, num_replicas=2, rank=r, seed=5) for r in range(2)]
    parts = [list(s) for s in samplers]
    assert [len(p) for p in parts] == [4, 4] == [len(s) for s in samplers]
    assert set(parts[0]) | set(parts[1]) == set(range(7))
    dropped = [
        list(dist.DistributedSampler(7, num_replicas=2, rank=r, drop_last=True)) for r in (0, 1)
    ]
    assert [len(p) for p in dropped] == [3, 3]


def test_sampler_reshuffles_per_epoch_identically_on_every_rank():
    a = dist.DistributedSampler(50, num_replicas=2, rank=0, seed=1)
    b = dist.DistributedSampler(50, num_replicas=2, rank=1, seed=1)
    first = a.permutation()
    assert np.array_equal(first, b.permutation())
    a.set_epoch(1)
    b.set_epoch(1)
    assert np.array_equal(a.permutation(), b.permutation())
    assert not np.array_equal(a.permutation(), first)
    assert sorted(a.permutation().tolist()) == list(range(50))


def test_sampler_batches_split_each_global_batch_without_padding():
    ranks = [dist.DistributedSampler(11, num_replicas=2, rank=r, seed=2) for r in range(2)]
    order = ranks[0].permutation()
    batches = [list(s.batches(4)) for s in ranks]
    assert [len(b) for b in batches[0]] == [2, 2, 2] and [len(b) for b in batches[1]] == [2, 2, 1]
    for i in range(3):
        joined = sorted(batches[0][i].tolist() + batches[1][i].tolist())
        assert joined == sorted(order[4 * i : 4 * i + 4].tolist())


def test_device_choice_per_local_rank():
    gpus = ["opencl:0:0", "opencl:0:1"]
    assert device._pick("opencl", 3, gpus) == "opencl:0:1"  # local rank modulo GPUs
    assert device._pick("opencl:gpu", 2, gpus) == "opencl:0:0"
    assert device._pick("opencl", 1, []) == "opencl"  # no GPU: the default device
    assert device._pick("opencl:1:0, opencl:1:1", 1, gpus) == "opencl:1:1"  # a list by rank
    assert device._pick("numpy", 5, gpus) == "numpy"
    assert device._pick("opencl:cpu", 1, gpus) == "opencl:cpu"


def test_launcher_world_size_reads_the_environment(monkeypatch):
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert dist.launcher_world_size() == 0
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert dist.launcher_world_size() == 4


def test_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("AXONCL_DIST_TIMEOUT", raising=False)
    assert world._timeout_from_env() == dist.DEFAULT_TIMEOUT == 300.0
    monkeypatch.setenv("AXONCL_DIST_TIMEOUT", "2.5")
    assert world._timeout_from_env() == 2.5
    monkeypatch.setenv("AXONCL_DIST_TIMEOUT", "soon")
    with pytest.raises(
        ValueError, match="expected AXONCL_DIST_TIMEOUT to be seconds > 0, got 'soon'"
    ):
        world._timeout_from_env()


def test_calls_before_init_say_so(monkeypatch):
    monkeypatch.setattr(world, "_WORLD", None)
    with pytest.raises(RuntimeError, match=r"get_rank: call axoncl.distributed.init\(\) first"):
        dist.get_rank()
    assert dist.is_main_process() and not dist.is_initialized()
