"""mpiexec worker: the collectives on the backend named by argv[1]; reports plain lists."""

from __future__ import annotations

import sys

import numpy as np
from _report import error_text, report

from axoncl import Variable
from axoncl import distributed as dist
from axoncl.backends import get_backend, to_backend, to_numpy
from axoncl.distributed import world

backend = sys.argv[1]
dist.init()
rank, size = dist.get_rank(), dist.get_world_size()
xp = get_backend(backend)


def on(host):
    return to_backend(np.asarray(host), xp)


def listed(array):
    return to_numpy(array).tolist()


x = on(np.arange(6, dtype=np.float32).reshape(2, 3) + 10 * rank)
payload = {
    "size": size,
    "sum": listed(dist.all_reduce(x)),
    "mean": listed(dist.all_reduce(x, op="mean")),
    "int_sum": listed(dist.all_reduce(on(np.array([rank + 1], dtype=np.int64)))),
    "broadcast": listed(dist.broadcast(x, src=size - 1)),
    "gather": [listed(part) for part in dist.all_gather(x)],
    "same_type": type(dist.all_reduce(x)) is type(x),
    "variable": type(dist.all_reduce(Variable(x))).__name__,
    "objects": dist.all_gather_object({"rank": rank}),
    "object_from_last": dist.broadcast_object(f"from {rank}", src=size - 1),
    "mismatch": error_text(lambda: dist.all_reduce(on(np.zeros(2 + rank, dtype=np.float32)))),
    "bad_op": error_text(lambda: dist.all_reduce(x, op="max")),
    "int_mean": error_text(lambda: dist.all_reduce(on(np.ones(2, dtype=np.int64)), op="mean")),
}
# Staging buffers: a device array's are cached and reused; an earlier result must survive the
# reuse (its upload out of the buffer is asynchronous).
first = dist.all_reduce(x)
buffers = dict(world._WORLD.host_buffers)
later = [dist.all_reduce(x * float(k)) for k in range(2, 6)]
payload["buffers_before"] = len(buffers)
payload["buffers_after"] = len(world._WORLD.host_buffers)
payload["same_buffers"] = all(world._WORLD.host_buffers[k] is v for k, v in buffers.items())
payload["first_after_reuse"] = listed(first)
payload["later"] = [listed(a) for a in later]
dist.barrier()
report(payload)
