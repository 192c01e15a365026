"""All-reduce and data-parallel training over MPI (``axoncl.distributed``) at 1 and 2 ranks.

Parts, each printed as a table of absolute times (medians over ``--rounds`` rounds):

* **all_reduce** at 2 ranks, message sizes 4 B … 64 MiB, float32: ``mpi`` is the raw
  ``Iallreduce`` of a host buffer in place (what DDP's buckets do), ``numpy`` and ``opencl``
  are ``axoncl.distributed.all_reduce`` (with ``check=False``) on those arrays, the OpenCL
  one staged through a reused host buffer (device → host, reduce, host → device). Columns:
  time per call, algorithm bandwidth (bytes / time) and bus bandwidth (2(N−1)/N · bytes /
  time, what a ring moves per rank).
* **cost model**: a least-squares fit of the ``mpi`` times to the ring model
  ``t = 2(N−1)·α + 2(N−1)/N · bytes / β`` (α: latency of one step, β: bandwidth), the two
  numbers that ``docs/distributed.md`` uses.
* **overlap**: a DDP step of the 784-512-256-10 MLP (batch 128 per rank, 2.1 MB of float32
  gradients in 0.5 MiB buckets). ``local`` is forward + backward under ``no_sync()``,
  ``comm`` the all-reduce of the same buckets alone, ``ddp`` forward + backward with the
  averaging; the share of communication hidden behind backward is
  ``(local + comm − ddp) / comm`` (1: all hidden, 0: none), the median of the rounds' shares
  (the three are interleaved in each round).
* **steps**: one training step (forward, loss, backward with averaging, SGD update, a read of
  the loss) of the demo's CNN and MLP on 8×8 digits, global batch 32, at 1 and 2 ranks.

Usage::

    python benchmarks/allreduce.py [--quick] [--rounds 7] [--device opencl]

The script starts itself under ``mpiexec -n 2`` (and ``-n 1``) and writes
``benchmarks/results/allreduce.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from axoncl import distributed as dist  # noqa: E402
from axoncl import nn, optim  # noqa: E402
from axoncl.backends import get_backend, to_backend, to_numpy  # noqa: E402
from axoncl.functions import cross_entropy  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "allreduce.json"
SIZES = [4 << (2 * k) for k in range(13)]  # 4 B … 64 MiB, ×4
QUICK_SIZES = [4, 4096, 1 << 20, 16 << 20]
MIN_SAMPLE = 0.02  # seconds of calls per timed sample
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "POCL_MAX_PTHREAD_COUNT")


# -- worker side (under mpiexec) ---------------------------------------------------------------
def _samples(calls: dict, rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each of ``calls``, one sample per round, the calls interleaved
    within a round (so a burst of other load hits them alike), all ranks starting together.

    Every rank makes the same number of calls (a collective inside a call must match)."""
    repeat = {}
    for name, call in calls.items():
        start = time.perf_counter()
        for _ in range(3):
            call()
        once = (time.perf_counter() - start) / 3
        repeat[name] = max(1, min(2000, int(MIN_SAMPLE / once)))
    repeat = dist.broadcast_object(repeat)  # rank 0's estimates for all
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds + 1):  # the first round warms up
        for name, call in calls.items():
            dist.barrier()
            start = time.perf_counter()
            for _ in range(repeat[name]):
                call()
            samples[name].append((time.perf_counter() - start) / repeat[name])
    return {name: values[1:] for name, values in samples.items()}


def _timed(call, rounds: int) -> float:
    """Median seconds per ``call()`` over ``rounds`` samples."""
    return statistics.median(_samples({"call": call}, rounds)["call"])


def _raw_allreduce(buffer: np.ndarray):
    from axoncl.distributed.world import _wait, _world

    world = _world("benchmark")

    def call() -> None:
        _wait(world.comm.Iallreduce(world.mpi.IN_PLACE, buffer), "benchmark")

    return call


def part_comm(args: argparse.Namespace) -> dict:
    sizes = QUICK_SIZES if args.quick else SIZES
    rows = []
    cl = _opencl(args.device)
    for nbytes in sizes:
        host = np.ones(nbytes // 4, dtype=np.float32)
        row = {"bytes": nbytes, "mpi": _timed(_raw_allreduce(host.copy()), args.rounds)}
        row["numpy"] = _timed(lambda: dist.all_reduce(host, check=False), args.rounds)
        if cl is not None:
            xp, device = cl
            on_device = xp.asarray(host, device=device)
            row["opencl"] = _timed(lambda: dist.all_reduce(on_device, check=False), args.rounds)
        rows.append(row)
    overlap = {name: _overlap(name, args) for name in ["numpy"] + (["opencl"] if cl else [])}
    return {"allreduce": rows, "overlap": overlap}


def _opencl(spec: str | None):
    try:
        xp = get_backend("opencl")
        return xp, xp.get_device(dist.select_device(spec))
    except Exception as exc:  # no pyopencl or no device: the numpy columns still run
        print(f"opencl skipped: {exc}", file=sys.stderr)
        return None


def _mlp() -> nn.Module:
    nn.manual_seed(0)
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
    )


def _overlap(backend: str, args: argparse.Namespace) -> dict:
    model = _mlp()
    device = None
    if backend == "opencl":
        xp, device = _opencl(args.device)
        model.to(xp, device=device)
    xp = get_backend(backend)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.5)
    rng = np.random.default_rng(dist.get_rank())
    x = to_backend(rng.standard_normal((128, 784)).astype(np.float32), xp, device=device)
    y = to_backend(rng.integers(0, 10, 128), xp, device=device)

    def local() -> None:
        with ddp.no_sync():
            cross_entropy(ddp(x), y).backward()
        _read_grad(model)
        ddp.zero_grad()

    def synced() -> None:
        cross_entropy(ddp(x), y).backward()  # returns once every bucket is averaged
        ddp.zero_grad()

    buckets = ddp._reducer.buckets

    def comm() -> None:
        for bucket in buckets:
            _raw_allreduce(bucket.buffer)()

    samples = _samples({"local": local, "comm": comm, "ddp": synced}, args.rounds)
    times = {name: statistics.median(values) for name, values in samples.items()}
    shares = [
        (local_t + comm_t - ddp_t) / comm_t
        for local_t, comm_t, ddp_t in zip(*samples.values(), strict=True)
    ]
    hidden = statistics.median(shares)  # of the rounds' shares, each from one round's times
    grad_bytes = sum(b.buffer.nbytes for b in buckets)
    return {
        **times,
        "hidden": min(1.0, max(0.0, hidden)),
        "buckets": len(buckets),
        "bytes": grad_bytes,
    }


def _read_grad(model: nn.Module) -> None:
    """Wait for the device (DDP's synced backward reads every gradient to the host anyway)."""
    for p in model.parameters():
        if p.grad is not None:
            to_numpy(p.grad.data[:1])
            return


def part_steps(args: argparse.Namespace) -> dict:
    from axoncl import demo

    size, rank = dist.get_world_size(), dist.get_rank()
    rng = np.random.default_rng(0)
    x = rng.random((32, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    mine = dist.shard(np.arange(32))
    out = {}
    backends = ["numpy"] + (["opencl"] if _opencl(args.device) else [])
    for backend in backends:
        for kind in ("cnn", "mlp"):
            nn.manual_seed(0)
            net = demo.build_model(kind)
            device = None
            xp = get_backend(backend)
            if backend == "opencl":
                xp, device = _opencl(args.device)
                net.to(xp, device=device)
            model = dist.DistributedDataParallel(net) if size > 1 else net
            opt = optim.SGD(net.parameters(), lr=0.01)
            xb = to_backend(x[mine], xp, device=device)
            yb = to_backend(y[mine], xp, device=device)

            def step() -> None:
                loss = cross_entropy(model(xb), yb, reduction="sum") * (size / 32)
                opt.zero_grad()
                loss.backward()
                opt.step()
                to_numpy(loss.data)

            out[f"{kind}/{backend}"] = _timed(step, args.rounds)
    if rank == 0:
        print(f"steps at {size} rank(s) done", file=sys.stderr)
    return out


def worker(args: argparse.Namespace) -> None:
    dist.init()
    result = part_comm(args) if args.part == "comm" else part_steps(args)
    if dist.is_main_process():
        Path(args.json).write_text(json.dumps(result))


# -- driver side ---------------------------------------------------------------------------------
def _mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        sys.exit("allreduce benchmark: no mpiexec; pip install 'axoncl[distributed]'")
    return found


def _launch(ranks: int, part: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.json"
        command = [_mpiexec(), "-n", str(ranks), sys.executable, __file__, "--part", part]
        command += ["--json", str(path), "--rounds", str(args.rounds)]
        command += ["--quick"] if args.quick else []
        command += ["--device", args.device] if args.device else []
        # One rank per share of the cores: BLAS and PoCL threads of two ranks would otherwise
        # compete for the same cores (the user's own settings win).
        threads = str(max(1, (os.cpu_count() or 1) // ranks))
        env = dict(os.environ)
        for name in _THREAD_ENV:
            env.setdefault(name, threads)
        print(f"$ {' '.join(command)}  ({threads} thread(s) per rank)", flush=True)
        subprocess.run(command, check=True, env=env)
        return json.loads(path.read_text())


def _fit(rows: list[dict], ranks: int) -> dict:
    """Fit the ring all-reduce model ``t = 2(N−1)·α + 2(N−1)/N · bytes / β`` (2(N−1) steps of
    latency α; each rank sends and receives 2(N−1)/N of the message at bandwidth β) to the
    ``mpi`` column, minimising relative errors (so 4 B weighs as much as 64 MiB)."""
    moved = np.array([2 * (ranks - 1) / ranks * r["bytes"] for r in rows], dtype=float)
    steps = np.full_like(moved, 2 * (ranks - 1))
    t = np.array([r["mpi"] for r in rows])
    a = np.stack([steps, moved], axis=1) / t[:, None]
    (alpha, inv_beta), *_ = np.linalg.lstsq(a, np.ones_like(t), rcond=None)
    return {"alpha_s": float(alpha), "beta_bytes_per_s": float(1 / inv_beta)}


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}"
        n /= 1024
    return str(n)


def _report(comm: dict, steps: dict[int, dict], ranks: int) -> None:
    columns = [c for c in ("mpi", "numpy", "opencl") if c in comm["allreduce"][0]]
    print(f"\nall_reduce at {ranks} ranks, float32 (median time per call; bus bandwidth)")
    print(f"{'size':>9}  " + "  ".join(f"{c + ' time':>12}  {c + ' busbw':>13}" for c in columns))
    for row in comm["allreduce"]:
        cells = []
        for c in columns:
            busbw = 2 * (ranks - 1) / ranks * row["bytes"] / row[c]
            cells.append(f"{row[c] * 1e6:>9.1f} µs  {busbw / 1e9:>8.3f} GB/s")
        print(f"{_size(row['bytes']):>9}  " + "  ".join(cells))
    fit = comm["fit"]
    print(
        f"\ncost model t = 2(N-1) alpha + 2(N-1)/N bytes / beta (mpi column): "
        f"alpha = {fit['alpha_s'] * 1e6:.2f} µs, beta = {fit['beta_bytes_per_s'] / 1e9:.2f} GB/s"
    )
    print("\noverlap of gradient all-reduce with backward (MLP 784-512-256-10, batch 128/rank)")
    for name, o in comm["overlap"].items():
        print(
            f"  {name:<7} local {o['local'] * 1e3:.2f} ms  comm {o['comm'] * 1e3:.2f} ms "
            f"({o['buckets']} buckets, {_size(o['bytes'])})  ddp {o['ddp'] * 1e3:.2f} ms  "
            f"hidden {o['hidden'] * 100:.0f}%"
        )
    print("\ntraining step, global batch 32 (median ms)")
    print(f"{'model/backend':<14}" + "".join(f"{f'{n} rank(s)':>12}" for n in steps))
    for key in steps[1]:
        print(f"{key:<14}" + "".join(f"{steps[n][key] * 1e3:>12.2f}" for n in steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--device", default=None, help="OpenCL device spec (per rank)")
    parser.add_argument("--part", choices=("comm", "steps"), help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 3 if args.quick else 11
    if args.part:
        worker(args)
        return
    ranks = 2
    load_before = os.getloadavg()[0]  # on a shared machine, other work skews every number
    comm = _launch(ranks, "comm", args)
    comm["fit"] = _fit(comm["allreduce"], ranks)
    steps = {n: _launch(n, "steps", args) for n in (1, ranks)}
    _report(comm, steps, ranks)
    load = {"before": load_before, "after": os.getloadavg()[0]}
    print(f"\n1-minute load average: {load['before']:.2f} before, {load['after']:.2f} after")
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "load": load}
        RESULTS.write_text(
            json.dumps({"machine": machine, "ranks": ranks, **comm, "steps": steps}, indent=2)
        )
        print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
