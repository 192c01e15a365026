"""``DistributedDataParallel``: data-parallel training, gradients averaged in buckets.

How a step works
----------------
Forward: the wrapped module runs with each parameter replaced by a one-op identity of it
(``_GradReady``). In backward the engine runs that op once the parameter's whole gradient has
arrived (every use of the parameter has contributed), and its backward hands the gradient to
the reducer instead of to ``.grad``. The reducer copies it into its bucket's host buffer; when
every gradient of a bucket is in, it starts a non-blocking ``MPI_Iallreduce`` of the bucket,
so the communication runs while backward goes on with earlier layers. Buckets start in one
fixed order on every rank (a later bucket waits for the earlier ones), as MPI requires.

The gradient that arrives last completes the step: the reducer waits for all buckets (each
wait polls with the world's timeout), divides by the world size and writes every
parameter's ``.grad``. So when ``loss.backward()`` returns the gradients are averaged, and
``optimizer.step()`` needs no change. The engine is not modified: nothing but the identity op
and its backward is involved.

The buckets use their own duplicate of ``COMM_WORLD``, so a collective that user code runs
between forward and backward (say an ``all_reduce`` of the loss) never pairs with a bucket's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backends import to_numpy
from ..grad_mode import is_grad_enabled
from ..graph import Function, Node
from ..nn.module import Module, Parameter
from ..variable import Variable
from .collectives import _from_host, _read_into, all_gather_object
from .world import _wait, _world

__all__ = ["DistributedDataParallel"]

_MB = 1024 * 1024


class _GradReady(Function):
    """Identity on a parameter inside DDP's forward; its backward hands the parameter's whole
    gradient to the reducer, which writes the averaged ``.grad`` itself (hence no input
    gradient is returned)."""

    @staticmethod
    def forward(ctx: Node, p: Any) -> Any:
        return p

    @staticmethod
    def backward(ctx: Node, grad: Variable) -> None:
        ctx.reducer.mark_ready(ctx.index, grad)
        return None


class _Bucket:
    """Consecutive parameters of one dtype whose gradients are reduced by one Iallreduce."""

    def __init__(self, indices: list[int], sizes: list[int], dtype: np.dtype) -> None:
        self.indices = indices
        self.offsets = [int(o) for o in np.cumsum([0, *sizes[:-1]])]
        self.sizes = sizes
        self.buffer = np.zeros(sum(sizes), dtype=dtype)
        self.pending = len(indices)
        self.request: Any = None

    def view(self, slot: int, shape: tuple[int, ...]) -> np.ndarray:
        start = self.offsets[slot]
        return self.buffer[start : start + self.sizes[slot]].reshape(shape)


class _Reducer:
    """The buckets and the per-step state of gradient averaging."""

    def __init__(
        self, names: list[str], params: list[Parameter], cap_bytes: int, comm: Any, mpi: Any
    ) -> None:
        self.names = names
        self.params = params
        self.comm = comm
        self.mpi = mpi
        self.size = 1 if comm is None else comm.size
        self.buckets: list[_Bucket] = []
        self.where: list[tuple[int, int]] = [(0, 0)] * len(params)  # index -> (bucket, slot)
        self.shapes = [tuple(p.shape) for p in params]
        host_dtypes = [to_numpy(p.data).dtype for p in params]
        # Gradients arrive roughly in reverse order of the parameters: bucket them that way.
        group: list[int] = []
        for index in reversed(range(len(params))):
            nbytes = int(np.prod(self.shapes[index], dtype=np.int64)) * host_dtypes[index].itemsize
            if group and (
                host_dtypes[group[0]] != host_dtypes[index]
                or self._bytes(group, host_dtypes) + nbytes > cap_bytes
            ):
                self._add_bucket(group, host_dtypes[group[0]])
                group = []
            group.append(index)
        if group:
            self._add_bucket(group, host_dtypes[group[0]])
        self.ready = [False] * len(params)
        self.arrived = 0
        self.next_bucket = 0
        self.used_map: np.ndarray | None = None
        self.used_request: Any = None

    def _bytes(self, group: list[int], dtypes: list[np.dtype]) -> int:
        return sum(int(np.prod(self.shapes[i], dtype=np.int64)) * dtypes[i].itemsize for i in group)

    def _add_bucket(self, group: list[int], dtype: np.dtype) -> None:
        sizes = [int(np.prod(self.shapes[i], dtype=np.int64)) for i in group]
        for slot, index in enumerate(group):
            self.where[index] = (len(self.buckets), slot)
        self.buckets.append(_Bucket(group, sizes, dtype))

    # -- one step --------------------------------------------------------------------------
    def in_flight(self) -> bool:
        """Whether a step began (some gradient arrived) but did not complete."""
        return self.arrived > 0

    def prepare(self) -> None:
        """Start a step in which every parameter is expected to get a gradient."""
        self.ready = [False] * len(self.params)
        self.arrived = 0
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.request = None
        self.used_map = None

    def mark_unused(self, used: set[int]) -> None:
        """``find_unused_parameters``: the parameters outside ``used`` will get no gradient in
        this step; they take part with zeros (or their accumulated ``.grad``) right away."""
        self.used_map = np.array([i in used for i in range(len(self.params))], dtype=np.int32)
        if self.comm is not None and self.size > 1:
            # Started before any bucket on every rank, so the order of collectives matches.
            self.used_request = self.comm.Iallreduce(self.mpi.IN_PLACE, self.used_map)
        for index in range(len(self.params)):
            if index not in used:
                self.mark_ready(index, None)

    def mark_ready(self, index: int, grad: Variable | None) -> None:
        """Parameter ``index``'s gradient of this backward is complete (None: unused)."""
        if self.ready[index]:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self.names[index]!r} got a gradient twice "
                "in one step; call the model once per backward (or use no_sync() for all but "
                "the last of several forwards)"
            )
        self.ready[index] = True
        self.arrived += 1
        param = self.params[index]
        data = None if grad is None else grad.data
        if param.grad is not None:  # accumulated under no_sync() or by an earlier backward
            data = param.grad.data if data is None else param.grad.data + data
        b, slot = self.where[index]
        bucket = self.buckets[b]
        view = bucket.view(slot, self.shapes[index])
        if data is None:
            view[...] = 0
        else:
            _read_into(data, view)
        bucket.pending -= 1
        if bucket.pending == 0:
            self._start_ready_buckets()
        if self.arrived == len(self.params):
            self.finish()
        else:
            self._progress()

    def _progress(self) -> None:
        """Let MPI advance the buckets in flight: without an asynchronous progress thread, a
        non-blocking collective moves only while some MPI call runs, so each arriving gradient
        gives it a turn."""
        for bucket in self.buckets[: self.next_bucket]:
            if bucket.request is not None and bucket.request.Test():
                bucket.request = None

    def _start_ready_buckets(self) -> None:
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            bucket = self.buckets[self.next_bucket]
            if self.comm is not None and self.size > 1:
                bucket.request = self.comm.Iallreduce(self.mpi.IN_PLACE, bucket.buffer)
            self.next_bucket += 1

    def finish(self) -> None:
        """Wait for every bucket, then write each parameter's averaged ``.grad``."""
        if self.used_request is not None:
            _wait(self.used_request, "DistributedDataParallel (unused parameters)")
            self.used_request = None
        for bucket in self.buckets:
            if bucket.request is not None:
                _wait(bucket.request, "DistributedDataParallel (gradient all-reduce)")
                bucket.request = None
            if self.size > 1:
                np.divide(bucket.buffer, self.size, out=bucket.buffer)
            for slot, index in enumerate(bucket.indices):
                if self.used_map is not None and not self.used_map[index]:
                    continue  # unused on every rank: .grad stays as it was (as in PyTorch)
                param = self.params[index]
                host = np.array(bucket.view(slot, self.shapes[index]))  # the bucket is reused
                param.grad = Variable(_from_host(host, param.data))
        self.prepare()  # a further backward through a retained graph is a step of its own

    def missing(self) -> list[str]:
        return [name for name, done in zip(self.names, self.ready, strict=True) if not done]

    # -- construction ------------------------------------------------------------------------
    def broadcast_from(self, root: int, what: str) -> None:
        """Every parameter's value from rank ``root``, through the bucket buffers."""
        if self.comm is None or self.size == 1:
            return
        for bucket in self.buckets:
            for slot, index in enumerate(bucket.indices):
                _read_into(self.params[index].data, bucket.view(slot, self.shapes[index]))
            _wait(self.comm.Ibcast(bucket.buffer, root=root), what)
            if self.comm.rank != root:
                for slot, index in enumerate(bucket.indices):
                    param = self.params[index]
                    host = np.array(bucket.view(slot, self.shapes[index]))
                    param.data = _from_host(host, param.data)


def _signature(module: Module) -> list[tuple[str, str, tuple[int, ...], str, bool]]:
    rows = [
        ("parameter", name, tuple(p.shape), str(to_numpy(p.data).dtype), p.requires_grad)
        for name, p in module.named_parameters()
    ]
    rows += [
        ("buffer", name, tuple(b.shape), str(to_numpy(b).dtype), False)
        for name, b in module.named_buffers()
    ]
    return rows


def _compare_signatures(signatures: list[list[tuple]]) -> None:
    """Raise the same ValueError on every rank when a rank's model differs from rank 0's."""
    reference = {(kind, name): rest for kind, name, *rest in signatures[0]}
    for rank, rows in enumerate(signatures[1:], start=1):
        mine = {(kind, name): rest for kind, name, *rest in rows}
        for key in sorted(set(reference) | set(mine)):
            kind, name = key
            if key not in mine:
                raise ValueError(
                    f"DistributedDataParallel: rank {rank} lacks the {kind} {name!r} that "
                    "rank 0 has; every rank must build the same model"
                )
            if key not in reference:
                raise ValueError(
                    f"DistributedDataParallel: rank {rank} has a {kind} {name!r} that rank 0 "
                    "lacks; every rank must build the same model"
                )
            if mine[key] != reference[key]:
                shape0, dtype0, grad0 = reference[key]
                shape, dtype, grad = mine[key]
                raise ValueError(
                    f"DistributedDataParallel: rank {rank}'s {kind} {name!r} has shape {shape}, "
                    f"dtype {dtype}, requires_grad={grad}; rank 0's has shape {shape0}, dtype "
                    f"{dtype0}, requires_grad={grad0}; every rank must build the same model"
                )


def _variables(output: Any) -> Iterator[Variable]:
    """The Variables in a forward's output (nested tuples, lists and dicts)."""
    stack = [output]
    while stack:
        item = stack.pop()
        if isinstance(item, Variable):
            yield item
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def _used_indices(output: Any) -> set[int]:
    """Indices of the parameters whose ``_GradReady`` node the output's graph reaches."""
    used: set[int] = set()
    seen: set[int] = set()
    stack = [v.grad_fn for v in _variables(output) if v.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.function is _GradReady:
            used.add(node.index)
            continue
        stack.extend(edge for edge in node.edges if isinstance(edge, Node))
    return used


class DistributedDataParallel(Module):
    """Train ``module`` data-parallel: each rank runs its share of the batch, and backward
    averages the gradients over all ranks (PyTorch's ``DistributedDataParallel``).

    Construction checks that every rank built the same parameters and buffers (names, shapes,
    dtypes) and copies rank 0's values to the others. In backward, gradients are averaged in
    buckets of about ``bucket_cap_mb`` MiB, each started (non-blocking) as soon as its
    gradients are ready, so communication overlaps the rest of backward; when
    ``loss.backward()`` returns, every ``.grad`` holds the average. See the module docstring.

    Parameters
    ----------
    module
        The model; reach it again as ``ddp.module`` (its state dict has no ``module.`` prefix).
    bucket_cap_mb
        Bucket size in MiB (default 25).
    find_unused_parameters
        Allow forwards that leave some parameters out of the graph: after each forward the
        graph is searched, and those parameters join the average with zeros. A parameter unused
        on every rank keeps its ``.grad``.
    broadcast_buffers
        Copy rank 0's buffers (e.g. BatchNorm statistics) to every rank at each forward.

    Raises
    ------
    RuntimeError
        Before :func:`axoncl.distributed.init`.
    ValueError
        When ranks built different models; the message names the rank and the parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import distributed as dist, nn, optim
    >>> dist.init()
    >>> model = dist.DistributedDataParallel(nn.Linear(3, 1))
    >>> opt = optim.SGD(model.parameters(), lr=0.1)
    >>> loss = (model(np.ones((4, 3))) ** 2).mean()
    >>> loss.backward()                     # .grad now holds the average over ranks
    >>> opt.step()
    """

    def __init__(
        self,
        module: Module,
        *,
        bucket_cap_mb: float = 25.0,
        find_unused_parameters: bool = False,
        broadcast_buffers: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                "DistributedDataParallel: expected an axoncl.nn.Module, got "
                f"{type(module).__name__}"
            )
        if not bucket_cap_mb > 0:
            raise ValueError(
                f"DistributedDataParallel: expected bucket_cap_mb > 0, got {bucket_cap_mb}"
            )
        world = _world("DistributedDataParallel")
        self.module = module
        self.find_unused_parameters = bool(find_unused_parameters)
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = float(bucket_cap_mb)
        self._require_sync = True
        _compare_signatures(all_gather_object(_signature(module)))
        comm = world.comm.Dup() if world.comm is not None else None
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._reducer = _Reducer(
            [n for n, _ in named],
            [p for _, p in named],
            int(self.bucket_cap_mb * _MB),
            comm,
            world.mpi,
        )
        # Where each trainable parameter sits, so forward can swap in its _GradReady twin.
        index = {id(p): i for i, (_, p) in enumerate(named)}
        self._slots = [
            (sub, name, index[id(p)])
            for sub in module.modules()
            for name, p in sub._parameters.items()
            if p is not None and id(p) in index
        ]
        self._reducer.broadcast_from(0, "DistributedDataParallel (parameter broadcast)")
        self._broadcast_buffers()

    @property
    def buckets(self) -> list[list[str]]:
        """The parameter names of each bucket, in the order the buckets are reduced."""
        names = self._reducer.names
        return [[names[i] for i in bucket.indices] for bucket in self._reducer.buckets]

    def _broadcast_buffers(self) -> None:
        reducer = self._reducer
        if reducer.comm is None or reducer.size == 1:
            return
        for sub in self.module.modules():
            for name, buf in sub._buffers.items():
                if buf is None:
                    continue
                host = np.array(to_numpy(buf), copy=True, order="C")
                _wait(reducer.comm.Ibcast(host, root=0), "DistributedDataParallel (buffers)")
                sub._buffers[name] = _from_host(host, buf)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forwards inside skip the averaging: their backwards only accumulate local ``.grad``
        (gradient accumulation); the first backward of a forward outside averages the sum.

        Examples
        --------
        >>> with ddp.no_sync():                      # doctest: +SKIP
        ...     loss_fn(ddp(x_part1)).backward()     # local accumulation only
        >>> loss_fn(ddp(x_part2)).backward()  # averages the sum  # doctest: +SKIP
        """
        previous = self._require_sync
        self._require_sync = False
        try:
            yield
        finally:
            self._require_sync = previous

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        reducer = self._reducer
        if reducer.in_flight():
            missing = reducer.missing()
            raise RuntimeError(
                f"DistributedDataParallel: the previous backward averaged "
                f"{len(reducer.params) - len(missing)} of {len(reducer.params)} parameters' "
                f"gradients; these got none: {missing}. Pass find_unused_parameters=True when "
                "a forward does not use every parameter, and make every output that uses them "
                "part of the loss"
            )
        if self.broadcast_buffers:
            self._broadcast_buffers()
        if not (self._require_sync and is_grad_enabled() and reducer.params):
            return self.module(*args, **kwargs)
        reducer.prepare()
        twins = [
            _GradReady.apply(p, reducer=reducer, index=i) for i, p in enumerate(reducer.params)
        ]
        try:
            for sub, name, i in self._slots:
                sub._parameters[name] = twins[i]
            output = self.module(*args, **kwargs)
        finally:
            for sub, name, i in self._slots:
                sub._parameters[name] = reducer.params[i]
        if self.find_unused_parameters:
            reducer.mark_unused(_used_indices(output))
        return output

    def extra_repr(self) -> str:
        return (
            f"buckets={len(self._reducer.buckets)}, bucket_cap_mb={self.bucket_cap_mb:g}, "
            f"find_unused_parameters={self.find_unused_parameters}"
        )
