"""The world of ranks: ``init`` takes rank and world size from MPI; waits end in a timeout.

A process started by ``mpiexec -n N`` is one of N ranks; one started without a launcher is a
1-rank world (and needs no MPI at all: without mpi4py every collective is a local copy).

Every wait on another rank polls a non-blocking MPI request and gives up after
``AXONCL_DIST_TIMEOUT`` seconds (default 300): it prints which rank waited for what, then calls
``MPI_Abort``, which ends every rank. ``init`` also installs an exception hook, so an uncaught
exception on one rank prints that rank's traceback and aborts the others instead of leaving
them waiting.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_TIMEOUT",
    "barrier",
    "get_local_rank",
    "get_local_world_size",
    "get_rank",
    "get_timeout",
    "get_world_size",
    "init",
    "is_initialized",
    "is_main_process",
    "launcher_world_size",
]

DEFAULT_TIMEOUT = 300.0
_TIMEOUT_ENV = "AXONCL_DIST_TIMEOUT"
# World sizes that launchers put in each rank's environment: MPICH/Hydra (and Slurm's PMI),
# Open MPI, MVAPICH.
_SIZE_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
# A wait spins this long on Test() before it starts to sleep between polls: short collectives
# finish within it, long ones leave the cores to the rank's compute (PoCL shares them).
_SPIN_SECONDS = 200e-6
_MAX_PAUSE = 1e-3


@dataclass
class _World:
    mpi: ModuleType | None  # mpi4py.MPI, or None in a 1-rank world without mpi4py
    comm: Any  # MPI.COMM_WORLD (None without mpi4py)
    rank: int
    size: int
    local_rank: int
    local_size: int
    timeout: float
    # Host staging buffers of device arrays, by (device, shape, dtype); see collectives.py.
    host_buffers: dict[tuple[str, tuple[int, ...], str], np.ndarray] = field(default_factory=dict)


_WORLD: _World | None = None


def launcher_world_size() -> int:
    """The world size that an MPI launcher announced in this process's environment, or 0 when
    the process was not started by one (``mpiexec``, ``srun`` with PMI, Open MPI's ``mpirun``).

    Examples
    --------
    >>> launcher_world_size()               # in a plain ``python`` process
    0
    """
    for name in _SIZE_ENV:
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def _timeout_from_env() -> float:
    text = os.environ.get(_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"init: expected {_TIMEOUT_ENV} to be seconds > 0, got {text!r}")
    return value


def init(timeout: float | None = None) -> None:
    """Join the world of ranks that ``mpiexec`` started (a 1-rank world without a launcher).

    Takes rank and world size from MPI (through mpi4py), finds the local rank (the rank among
    the processes on this machine, from MPI's shared-memory split), and, when there are several
    ranks, installs an exception hook that aborts every rank when one raises. Calling it again
    does nothing.

    Parameters
    ----------
    timeout
        Seconds a collective waits for the other ranks before it aborts them all; default
        ``AXONCL_DIST_TIMEOUT``, else 300.

    Raises
    ------
    ImportError
        When a launcher started several ranks but mpi4py is not installed.

    Examples
    --------
    >>> from axoncl import distributed as dist
    >>> dist.init()                         # doctest: +SKIP
    >>> dist.get_rank(), dist.get_world_size()   # doctest: +SKIP
    (0, 1)
    """
    global _WORLD
    if _WORLD is not None:
        return
    limit = _timeout_from_env() if timeout is None else float(timeout)
    if not limit > 0:
        raise ValueError(f"init: expected timeout > 0 seconds, got {timeout!r}")
    try:
        from mpi4py import MPI
    except ImportError as exc:
        launched = launcher_world_size()
        if launched > 1:
            raise ImportError(
                f"init: this process is one of {launched} ranks started by an MPI launcher, "
                f"but mpi4py does not import ({exc}); pip install 'axoncl[distributed]'"
            ) from exc
        _WORLD = _World(None, None, 0, 1, 0, 1, limit)
        return
    comm = MPI.COMM_WORLD
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.rank)
    _WORLD = _World(MPI, comm, comm.rank, comm.size, local.rank, local.size, limit)
    local.Free()
    if comm.size > 1:
        _install_excepthook()


def _install_excepthook() -> None:
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        previous(kind, value, tb)
        _fatal(f"uncaught {kind.__name__} (traceback above); aborting all ranks")

    sys.excepthook = hook


def _world(who: str) -> _World:
    if _WORLD is None:
        raise RuntimeError(f"{who}: call axoncl.distributed.init() first")
    return _WORLD


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _WORLD is not None


def get_rank() -> int:
    """This process's rank, 0 … world size − 1."""
    return _world("get_rank").rank


def get_world_size() -> int:
    """How many ranks take part (1 without a launcher)."""
    return _world("get_world_size").size


def get_local_rank() -> int:
    """This process's rank among the ranks on the same machine (picks its GPU)."""
    return _world("get_local_rank").local_rank


def get_local_world_size() -> int:
    """How many ranks run on this machine."""
    return _world("get_local_world_size").local_size


def get_timeout() -> float:
    """Seconds a collective waits for the other ranks before aborting them all."""
    return _world("get_timeout").timeout


def is_main_process() -> bool:
    """True on rank 0, the one rank that prints progress, writes logs and checkpoints; also
    True in a process that never called :func:`init`.

    Examples
    --------
    >>> from axoncl import distributed as dist
    >>> if dist.is_main_process():
    ...     print("only rank 0 prints this")
    only rank 0 prints this
    """
    return _WORLD is None or _WORLD.rank == 0


def barrier() -> None:
    """Wait until every rank has called ``barrier`` (aborting all after the timeout)."""
    world = _world("barrier")
    if world.comm is not None and world.size > 1:
        _wait(world.comm.Ibarrier(), "barrier")


_ABORT_GRACE_S = 0.5  # seconds between the last message and MPI_Abort


def _fatal(message: str) -> None:
    """Print ``message`` for this rank, then end every rank (``MPI_Abort``)."""
    world = _WORLD
    where = f"rank {world.rank} of {world.size}" if world is not None else "rank ?"
    sys.stderr.write(f"axoncl.distributed: {where}: {message}\n")
    sys.stderr.flush()
    sys.stdout.flush()
    if world is not None and world.comm is not None:
        # The launcher forwards each rank's output through its own proxies, which MPI_Abort
        # tears down: give them a moment to pass the message on (on a loaded machine the
        # message was otherwise sometimes lost).
        time.sleep(_ABORT_GRACE_S)
        world.comm.Abort(1)
    os._exit(1)


def _wait(request: Any, what: str) -> None:
    """Complete an MPI request, polling; past the timeout, abort every rank with a message."""
    if request.Test():
        return
    world = _world(what)
    start = time.monotonic()
    pause = 0.0
    while not request.Test():
        elapsed = time.monotonic() - start
        if elapsed > world.timeout:
            _fatal(
                f"{what} waited {world.timeout:g} s for the other ranks "
                f"({_TIMEOUT_ENV}); one of them probably died or is stuck. Aborting all ranks"
            )
        if elapsed > _SPIN_SECONDS:
            pause = min(_MAX_PAUSE, max(2.0 * pause, 20e-6))
            time.sleep(pause)
