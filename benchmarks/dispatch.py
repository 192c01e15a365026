"""Host time to enqueue one elementwise add on a small array: axoncl's CLArray vs pyopencl.array.

Run: ``python benchmarks/dispatch.py [--n 1000] [--iters 2000] [--repeats 9]``

Each repeat times ``iters`` calls of ``a + b`` for ours, then the same for pyopencl.array's own
``a + b`` (interleaved A/B, same queue, same device), without synchronising inside the timed
loop; the queue is drained between blocks. It prints the median per-call time of each and the
ratio. Target: ours <= 25 us and <= 0.4x pyopencl.array's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyopencl.array as cl_array

try:
    import axoncl.backends.opencl as xp
except ModuleNotFoundError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import axoncl.backends.opencl as xp


def _time_block(fn, a, b, iters: int, queue) -> float:
    queue.finish()
    start = time.perf_counter()
    for _ in range(iters):
        fn(a, b)
    elapsed = time.perf_counter() - start
    queue.finish()
    return elapsed / iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="elements per array")
    parser.add_argument("--iters", type=int, default=2000, help="calls per timed block")
    parser.add_argument("--repeats", type=int, default=9, help="A/B blocks (median is taken)")
    args = parser.parse_args()

    device = xp.default_device()
    queue = device.queue
    host = np.random.default_rng(0).standard_normal(args.n).astype(np.float32)
    a, b = xp.asarray(host), xp.asarray(host)
    pa = cl_array.to_device(queue, host, allocator=device.allocator)
    pb = cl_array.to_device(queue, host, allocator=device.allocator)

    def ours(x, y):
        return x + y

    def theirs(x, y):
        return x + y

    # Warm up: builds, first-launch JIT, the memory pool and our fast-path caches.
    for _ in range(50):
        ours(a, b)
        theirs(pa, pb)
    assert np.allclose((a + b).to_numpy(), (pa + pb).get())

    t_ours, t_theirs = [], []
    for _ in range(args.repeats):
        t_ours.append(_time_block(ours, a, b, args.iters, queue))
        t_theirs.append(_time_block(theirs, pa, pb, args.iters, queue))
    m_ours = statistics.median(t_ours) * 1e6
    m_theirs = statistics.median(t_theirs) * 1e6
    print(
        f"device: {device.caps.name} ({device.id}), n={args.n} float32, "
        f"{args.iters} calls x {args.repeats} repeats (median)"
    )
    print(f"axoncl CLArray a + b : {m_ours:7.2f} us/call")
    print(f"pyopencl.array a + b : {m_theirs:7.2f} us/call")
    print(f"ratio ours/pyopencl  : {m_ours / m_theirs:7.3f}  (target <= 0.4, ours <= 25 us)")


if __name__ == "__main__":
    main()
