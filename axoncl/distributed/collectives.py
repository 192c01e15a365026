"""Collectives on arrays of any backend: ``all_reduce``, ``broadcast``, ``all_gather``.

Each collective returns new arrays on the backend and device of its input. MPI moves host
memory, so an array is staged through the host: a numpy, torch (CPU) or array-api-strict array
is copied once into the buffer that becomes the result; an OpenCL array is read into a host
buffer that is cached by (device, shape, dtype) and reused by every later call of that
signature, reduced there in place, and uploaded back.

Reusing a staging buffer is safe because every use of it starts with a blocking read on the
device's in-order queue, which also waits for the (asynchronous) upload out of it by the call
before.

By default each collective first all-gathers a few bytes that describe every rank's shape and
dtype, so that a mismatch raises the same clear error on every rank instead of corrupting data
or hanging; ``check=False`` skips that round trip.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from ..backends import backend_name, namespace_of, to_backend, to_numpy
from ..variable import Variable
from .world import _wait, _World, _world

__all__ = ["all_gather", "all_gather_object", "all_reduce", "broadcast", "broadcast_object"]

_OPS = ("sum", "mean")
_DEVICE_BACKENDS = ("opencl", "cupy")
_MAX_DIMS = 32


def _is_device_array(array: Any) -> bool:
    return backend_name(namespace_of(array)) in _DEVICE_BACKENDS


def _read_into(array: Any, out: np.ndarray) -> None:
    """Copy ``array`` (any backend) into the host buffer ``out`` of its shape and dtype."""
    if isinstance(array, np.ndarray):
        np.copyto(out, array)
    elif backend_name(namespace_of(array)) == "opencl":
        array.to_numpy(out=out)  # one device-to-host copy, straight into out
    else:
        np.copyto(out, to_numpy(array))


def _from_host(host: np.ndarray, like: Any) -> Any:
    """``host`` moved to the backend and device of ``like`` (host backends may keep it)."""
    if isinstance(like, np.ndarray):
        return host
    device = like.device if _is_device_array(like) else None
    return to_backend(host, namespace_of(like), device=device)


def _stage(world: _World, array: Any) -> np.ndarray:
    """The host buffer that MPI reads and overwrites for ``array``: a reused one for a device
    array, a fresh copy (that becomes the result) for a host array."""
    if not _is_device_array(array):
        return np.array(to_numpy(array), copy=True, order="C")
    dtype = np.dtype(array.dtype)
    key = (str(array.device), tuple(array.shape), dtype.str)
    buffer = world.host_buffers.get(key)
    if buffer is None:
        buffer = world.host_buffers[key] = np.empty(array.shape, dtype=dtype)
    _read_into(array, buffer)
    return buffer


def _gather_buffer(world: _World, array: Any, host: np.ndarray) -> np.ndarray:
    """Room for every rank's copy of ``host``: reused for a device array, fresh otherwise."""
    shape = (world.size, *host.shape)
    if not _is_device_array(array):
        return np.empty(shape, dtype=host.dtype)
    key = (str(array.device), shape, host.dtype.str)
    buffer = world.host_buffers.get(key)
    if buffer is None:
        buffer = world.host_buffers[key] = np.empty(shape, dtype=host.dtype)
    return buffer


def _unwrap(x: Any, who: str) -> tuple[Any, bool]:
    if isinstance(x, Variable):
        return x.data, True
    try:
        namespace_of(x)
    except TypeError as exc:
        raise TypeError(f"{who}: expected an array or a Variable, got {type(x).__name__}") from exc
    return x, False


def _describe(row: np.ndarray) -> str:
    ndim, dtype = int(row[0]), np.dtype(chr(int(row[1])))
    return f"shape {tuple(int(n) for n in row[2 : 2 + ndim])} and dtype {dtype}"


def _check_same(world: _World, host: np.ndarray, who: str, src: int = 0) -> None:
    """Raise the same ValueError on every rank when the ranks' shapes or dtypes differ."""
    if host.ndim > _MAX_DIMS:
        raise ValueError(f"{who}: expected at most {_MAX_DIMS} dimensions, got {host.ndim}")
    row = np.full(2 + _MAX_DIMS, -1, dtype=np.int64)
    row[0] = host.ndim
    row[1] = ord(host.dtype.char)  # the dtype's one-letter code, decoded by _describe
    row[2 : 2 + host.ndim] = host.shape
    table = np.empty((world.size, row.size), dtype=np.int64)
    _wait(world.comm.Iallgather(row, table), who)
    for rank in range(world.size):
        if not np.array_equal(table[rank], table[src]):
            raise ValueError(
                f"{who}: every rank must pass the same shape and dtype; rank {src} passed "
                f"{_describe(table[src])}, rank {rank} passed {_describe(table[rank])}"
            )


def _check_src(world: _World, src: int, who: str) -> None:
    if not 0 <= src < world.size:
        raise ValueError(f"{who}: expected src in 0 … {world.size - 1}, got {src}")


def _communicates(world: _World) -> bool:
    return world.comm is not None and world.size > 1


def all_reduce(x: Any, op: str = "sum", *, check: bool = True) -> Any:
    """The elementwise sum (or mean) of ``x`` over all ranks, on every rank.

    Parameters
    ----------
    x
        An array of any backend (numpy, array-api-strict, torch, OpenCL) or a Variable; every
        rank passes the same shape and dtype.
    op
        ``"sum"`` or ``"mean"`` (floating dtypes only).
    check
        First confirm that all ranks passed the same shape and dtype (one small all-gather).

    Returns
    -------
    A new array (a Variable for a Variable) on ``x``'s backend and device.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import distributed as dist
    >>> dist.init()
    >>> dist.all_reduce(np.array([1.0, 2.0]), op="mean")    # 1 rank: the same values
    array([1., 2.])
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: expected op 'sum' or 'mean', got {op!r}")
    world = _world("all_reduce")
    data, wrapped = _unwrap(x, "all_reduce")
    host = _stage(world, data)
    if op == "mean" and host.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: op 'mean' needs a floating dtype, got {host.dtype}")
    if _communicates(world):
        if check:
            _check_same(world, host, "all_reduce")
        _wait(world.comm.Iallreduce(world.mpi.IN_PLACE, host, op=world.mpi.SUM), "all_reduce")
        if op == "mean":
            np.divide(host, world.size, out=host)
    out = _from_host(host, data)
    return Variable(out) if wrapped else out


def broadcast(x: Any, src: int = 0, *, check: bool = True) -> Any:
    """Rank ``src``'s ``x`` on every rank; the others pass an array of the same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import distributed as dist
    >>> dist.init()
    >>> dist.broadcast(np.arange(3))
    array([0, 1, 2])
    """
    world = _world("broadcast")
    _check_src(world, src, "broadcast")
    data, wrapped = _unwrap(x, "broadcast")
    host = _stage(world, data)
    if _communicates(world):
        if check:
            _check_same(world, host, "broadcast", src)
        _wait(world.comm.Ibcast(host, root=src), "broadcast")
    out = _from_host(host, data)
    return Variable(out) if wrapped else out


def all_gather(x: Any, *, check: bool = True) -> list[Any]:
    """Every rank's ``x``, in rank order, on every rank (all of the same shape and dtype).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import distributed as dist
    >>> dist.init()
    >>> dist.all_gather(np.array([7]))
    [array([7])]
    """
    world = _world("all_gather")
    data, wrapped = _unwrap(x, "all_gather")
    host = _stage(world, data)
    gathered = _gather_buffer(world, data, host)
    if _communicates(world):
        if check:
            _check_same(world, host, "all_gather")
        _wait(world.comm.Iallgather(host, gathered), "all_gather")
    else:
        gathered[0] = host
    outs = [_from_host(gathered[rank], data) for rank in range(world.size)]
    return [Variable(out) for out in outs] if wrapped else outs


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s picklable ``obj`` on every rank (the others' ``obj`` is ignored).

    Examples
    --------
    >>> from axoncl import distributed as dist
    >>> dist.init()
    >>> dist.broadcast_object({"epoch": 3})
    {'epoch': 3}
    """
    world = _world("broadcast_object")
    _check_src(world, src, "broadcast_object")
    if not _communicates(world):
        return obj
    mine = pickle.dumps(obj) if world.rank == src else b""
    length = np.array([len(mine)], dtype=np.int64)
    _wait(world.comm.Ibcast(length, root=src), "broadcast_object")
    payload = np.frombuffer(mine, dtype=np.uint8).copy() if world.rank == src else None
    if payload is None:
        payload = np.empty(int(length[0]), dtype=np.uint8)
    _wait(world.comm.Ibcast(payload, root=src), "broadcast_object")
    return obj if world.rank == src else pickle.loads(payload.tobytes())


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's picklable ``obj``, in rank order, on every rank.

    Examples
    --------
    >>> from axoncl import distributed as dist
    >>> dist.init()
    >>> dist.all_gather_object("hello")
    ['hello']
    """
    world = _world("all_gather_object")
    if not _communicates(world):
        return [obj]
    mine = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
    lengths = np.empty(world.size, dtype=np.int64)
    _wait(world.comm.Iallgather(np.array([mine.size], dtype=np.int64), lengths), "all_gather")
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    payload = np.empty(int(lengths.sum()), dtype=np.uint8)
    spec = [payload, lengths.tolist(), offsets.tolist(), world.mpi.BYTE]
    _wait(world.comm.Iallgatherv(mine, spec), "all_gather_object")
    return [
        pickle.loads(payload[offsets[r] : offsets[r] + lengths[r]].tobytes())
        for r in range(world.size)
    ]
