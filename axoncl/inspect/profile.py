"""``profile()``: per-op counts, forward and backward time, and bytes of outputs.

Timing. Each op's forward (``Function.apply``'s call of ``forward``) and backward (the engine's
call of ``backward``) is timed with ``time.perf_counter``. Only the outermost call is timed: ops
that a backward rule runs (its Variable arithmetic) count as that rule's backward time, so
nothing is counted twice. Time in the profiled region outside any op (Python glue, optimizer
steps, data loading) is reported as ``(other)``, so the table always adds up to the wall time.

Asynchronous devices (OpenCL). An op returns once its kernels are queued, so a plain timer
measures the enqueue, not the kernel. With ``sync=True`` (the default is ``sync=None``: on when
the output's device has a ``queue``) the profiler calls ``device.queue.finish()`` after each op
and charges the wait to that op: synchronize-and-time, exact per op but slower overall, since
host and device no longer overlap. When the device also has ``profiling=True`` and an
``event_log`` list attribute, the profiler clears the log before each op and, after it, sums the
``profile.end - profile.start`` of the events the backend appended: the kernels' own device
time, reported in the ``device`` column.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._hooks import installed

__all__ = ["OpProfile", "profile"]

OTHER = "(other)"


@dataclass
class OpProfile:
    """Totals for one op name.

    Parameters
    ----------
    op
        The op name.
    count, forward_s
        Forward calls and their total host time in seconds.
    backward_count, backward_s
        Backward calls and their total host time.
    bytes
        Bytes of the arrays made: forward outputs and the gradients backward returned
        (here 16 of each).
    device_s
        Device time, when the device's profiling was on.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import profile
    >>> w = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> with profile() as prof:
    ...     (w * 2.0).sum().backward()
    >>> stats = prof.ops["multiply"]
    >>> stats.count, stats.backward_count, stats.bytes
    (1, 1, 32)
    """

    op: str
    count: int = 0
    forward_s: float = 0.0
    backward_count: int = 0
    backward_s: float = 0.0
    bytes: int = 0
    device_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "count": self.count,
            "forward_s": self.forward_s,
            "backward_count": self.backward_count,
            "backward_s": self.backward_s,
            "total_s": self.total_s,
            "bytes": self.bytes,
            "device_s": self.device_s,
        }


def _nbytes(array: Any) -> int:
    size = getattr(array, "nbytes", None)
    if isinstance(size, int):
        return size
    shape = getattr(array, "shape", None)
    dtype = getattr(array, "dtype", None)
    itemsize = getattr(dtype, "itemsize", None)
    if shape is None or not isinstance(itemsize, int):
        return 0
    count = 1
    for dim in shape:
        count *= int(dim)
    return count * itemsize


def _first_array(result: Any) -> Any:
    if isinstance(result, tuple):
        for item in result:
            if item is not None:
                return getattr(item, "data", item)
        return None
    return getattr(result, "data", result)


class profile:  # noqa: N801 - used as a context manager, like no_grad
    """Record, per op, how often it ran and the time spent in its forward and backward.

    Use as ``with profile() as prof:``; see the module docstring for how time is measured on
    asynchronous devices. The hook is global, so ops run by other threads are recorded too.

    Parameters
    ----------
    sync
        Wait for the device queue after each op (see the module docstring); ``None`` (default)
        does so when the op's output has a ``device.queue``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> w = axoncl.Variable(np.ones((8, 8)), requires_grad=True)
    >>> with profile() as prof:
    ...     (w @ w).relu().sum().backward()
    >>> prof.ops["matmul"].count, prof.ops["matmul"].backward_count
    (1, 1)
    >>> abs(prof.total_s() - prof.wall_s) < 1e-9
    True
    """

    def __init__(self, sync: bool | None = None) -> None:
        self.sync = sync
        self.ops: dict[str, OpProfile] = {}
        self.wall_s = 0.0
        self._depth = 0
        self._start = 0.0
        self._installed: Any = None
        self._clock: Callable[[], float] = time.perf_counter

    def __enter__(self) -> profile:
        self._installed = installed(self._hook)
        self._installed.__enter__()
        self._start = self._clock()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall_s += self._clock() - self._start
        self._installed.__exit__(None, None, None)
        self._installed = None

    # -- recording -------------------------------------------------------------------------
    def _hook(self, kind: str, node: Any, run: Callable[[], Any]) -> Any:
        if self._depth:  # inside a timed call: part of that call's time
            return run()
        self._depth += 1
        start = self._clock()
        try:
            result = run()
            device_s = self._wait(result)
        finally:
            elapsed = self._clock() - start
            self._depth -= 1
        entry = self.ops.get(node.name)
        if entry is None:
            entry = self.ops[node.name] = OpProfile(node.name)
        if kind == "forward":
            entry.count += 1
            entry.forward_s += elapsed
            entry.bytes += _nbytes(result)
        else:
            entry.backward_count += 1
            entry.backward_s += elapsed
            if isinstance(result, tuple):
                entry.bytes += sum(_nbytes(getattr(g, "data", g)) for g in result if g is not None)
        entry.device_s += device_s
        return result

    def _wait(self, result: Any) -> float:
        """Synchronize with the output's device queue, when there is one and sync allows."""
        if self.sync is False:
            return 0.0
        device = getattr(_first_array(result), "device", None)
        queue = getattr(device, "queue", None)
        if queue is None or not hasattr(queue, "finish"):
            return 0.0
        queue.finish()
        log = getattr(device, "event_log", None)
        if not getattr(device, "profiling", False) or not isinstance(log, list):
            return 0.0
        total = 0.0
        for event in log:
            info = getattr(event, "profile", None)
            if info is not None:
                total += (info.end - info.start) * 1e-9
        log.clear()
        return total

    # -- reporting -------------------------------------------------------------------------
    def ops_s(self) -> float:
        """Time inside ops, forward and backward."""
        return sum(entry.total_s for entry in self.ops.values())

    def other_s(self) -> float:
        """Wall time of the region spent outside any op."""
        return max(self.wall_s - self.ops_s(), 0.0)

    def total_s(self) -> float:
        """Ops plus ``(other)``: the wall time of the region."""
        return self.ops_s() + self.other_s()

    def rows(self) -> list[OpProfile]:
        """Per-op totals, heaviest first, then an ``(other)`` row."""
        ordered = sorted(self.ops.values(), key=lambda entry: entry.total_s, reverse=True)
        return [*ordered, OpProfile(OTHER, forward_s=self.other_s())]

    def table(self, limit: int = 15) -> str:
        """The heaviest ``limit`` ops as a text table (also printed by ``print(prof)``)."""
        wall = self.wall_s or 1e-12
        device = any(entry.device_s for entry in self.ops.values())
        header = (
            f"{'op':<22}{'calls':>7}{'forward ms':>12}{'backward ms':>13}{'total ms':>11}"
            f"{'%':>7}{'MB out':>9}" + (f"{'device ms':>11}" if device else "")
        )
        lines = [header, "-" * len(header)]
        rows = self.rows()
        shown = rows[:-1][:limit]
        hidden = rows[:-1][limit:]
        if hidden:
            rest = OpProfile(f"({len(hidden)} more ops)")
            for entry in hidden:
                rest.count += entry.count
                rest.forward_s += entry.forward_s
                rest.backward_s += entry.backward_s
                rest.bytes += entry.bytes
                rest.device_s += entry.device_s
            shown.append(rest)
        shown.append(rows[-1])
        for entry in shown:
            line = (
                f"{entry.op:<22}{entry.count:>7}{entry.forward_s * 1e3:>12.2f}"
                f"{entry.backward_s * 1e3:>13.2f}{entry.total_s * 1e3:>11.2f}"
                f"{100 * entry.total_s / wall:>6.1f}%{entry.bytes / 1e6:>9.2f}"
            )
            if device:
                line += f"{entry.device_s * 1e3:>11.2f}"
            lines.append(line)
        lines.append("-" * len(header))
        lines.append(f"{'wall':<22}{'':>7}{'':>12}{'':>13}{self.wall_s * 1e3:>11.2f}{100.0:>6.1f}%")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall_s,
            "ops_s": self.ops_s(),
            "other_s": self.other_s(),
            "ops": [entry.to_dict() for entry in self.rows()],
        }

    def __str__(self) -> str:
        return self.table()
