"""Data-parallel training over MPI: ``axoncl.distributed``.

Start one process per device with ``mpiexec -n N python train.py``; in the script::

    from axoncl import distributed as dist
    dist.init()                                  # rank and world size from MPI
    model.to(dist.select_device())               # one device per rank
    ddp = dist.DistributedDataParallel(model)    # rank 0's weights everywhere
    for idx in dist.DistributedSampler(len(x)).batches(global_batch):
        loss = loss_fn(ddp(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()                          # gradients averaged over ranks
        opt.step()

Without ``mpiexec`` the same script runs as a 1-rank world (mpi4py not even needed). See
``docs/distributed.md`` for clusters, the cost model and measured numbers.

Examples
--------
>>> from axoncl import distributed as dist
>>> dist.init()
>>> dist.get_rank(), dist.get_world_size(), dist.is_initialized()
(0, 1, True)
"""

from .checkpoint import load_checkpoint, save_checkpoint
from .collectives import all_gather, all_gather_object, all_reduce, broadcast, broadcast_object
from .data import DistributedSampler, shard
from .ddp import DistributedDataParallel
from .device import select_device
from .world import (
    DEFAULT_TIMEOUT,
    barrier,
    get_local_rank,
    get_local_world_size,
    get_rank,
    get_timeout,
    get_world_size,
    init,
    is_initialized,
    is_main_process,
    launcher_world_size,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "DistributedDataParallel",
    "DistributedSampler",
    "all_gather",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object",
    "get_local_rank",
    "get_local_world_size",
    "get_rank",
    "get_timeout",
    "get_world_size",
    "init",
    "is_initialized",
    "is_main_process",
    "launcher_world_size",
    "load_checkpoint",
    "save_checkpoint",
    "select_device",
    "shard",
]
