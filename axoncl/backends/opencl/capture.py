"""Recording a step's OpenCL work and replaying it: the device side of ``axoncl.capture``.

A :class:`Recorder`, installed as ``device.recorder`` for the duration of one step, is told every
kernel launch and buffer copy that the recording thread makes on that device (``launch.py``
calls it). It keeps each launch's kernel, sizes and arguments, and so keeps every buffer the
step touched alive: none of them goes back to the memory pool, so a replay finds them intact.

A :class:`Graph` made from a recording replays it: each launch has its own kernel object whose
arguments were set once, so a replay is one enqueue per launch and no Python graph building,
argument packing or allocation. Replays run the recorded kernels on the recorded buffers in the
recorded order, so they compute exactly what the recorded step computed from the same inputs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyopencl as cl

from .device import Device
from .launch import Kernel, launch_error

__all__ = ["CaptureError", "Graph", "Recorder"]


class CaptureError(RuntimeError):
    """A step cannot be captured, or a call does not match the captured step."""


@dataclass(frozen=True)
class _Launch:
    kernel: Kernel
    global_size: tuple[int, ...]
    local_size: tuple[int, ...] | None
    args: tuple
    op: str


@dataclass(frozen=True)
class _Transfer:
    kind: str  # "copy" (device to device), "fill" or "write" (an upload of constant host data)
    args: tuple
    nbytes: int
    op: str


def _value(arg: Any) -> Any:
    """A launch argument as the recording's signature compares it (buffers by position only)."""
    if isinstance(arg, np.ndarray):  # a struct passed by value
        return arg.tobytes()
    if isinstance(arg, (int, float, bool, np.generic)):
        return arg
    return "buffer"


class Recorder:
    """Collects the launches and copies of one thread on one device; a context manager that
    installs itself as ``device.recorder``."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.thread = threading.get_ident()
        self.items: list[_Launch | _Transfer] = []

    def __enter__(self) -> Recorder:
        if self.device.recorder is not None:
            raise CaptureError(
                f"capture: {self.device.id} is already recording a step; captures do not nest"
            )
        self.device.recorder = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.device.recorder = None

    def _mine(self) -> bool:
        return threading.get_ident() == self.thread

    def kernel(self, kernel: Kernel, global_size, local_size, args: tuple, op: str) -> None:
        if self._mine():
            self.items.append(_Launch(kernel, tuple(global_size), local_size, tuple(args), op))

    def copy(self, dst, src, nbytes: int, dst_offset: int, src_offset: int, op: str) -> None:
        if self._mine():
            self.items.append(_Transfer("copy", (dst, src, dst_offset, src_offset), nbytes, op))

    def fill(self, dst, pattern: np.ndarray, offset: int, nbytes: int, op: str) -> None:
        if self._mine():
            self.items.append(_Transfer("fill", (dst, pattern.copy(), offset), nbytes, op))

    def write(self, dst, host: np.ndarray, op: str) -> None:
        if self._mine():
            self.items.append(_Transfer("write", (dst, np.array(host, copy=True)), host.nbytes, op))

    def read(self, op: str) -> None:
        if self._mine():
            raise CaptureError(
                f"capture: {op} reads device data back to the host inside the captured step; a "
                "replay cannot repeat a host decision. Move item(), float(), to_numpy(), "
                "printing and data-dependent branches out of the step"
            )

    def signature(self) -> list[tuple]:
        """What two recordings of one step must share: every launch's kernel, sizes and
        non-buffer arguments, every copy's size, and every upload's bytes."""
        out = []
        for item in self.items:
            if isinstance(item, _Launch):
                values = tuple(_value(a) for a in item.args)
                out.append((item.op, item.kernel.name, item.global_size, item.local_size, values))
            elif item.kind == "write":
                out.append((item.op, "write", item.nbytes, item.args[1].tobytes()))
            elif item.kind == "fill":
                out.append((item.op, "fill", item.nbytes, item.args[1].tobytes(), item.args[2]))
            else:
                out.append((item.op, "copy", item.nbytes, item.args[2], item.args[3]))
        return out


def first_difference(a: list[tuple], b: list[tuple]) -> str | None:
    """A sentence naming where two signatures part, or None when they are equal."""
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            if x[:2] == y[:2]:
                return (
                    f"launch {i} ({x[0]}: {x[1]}) has different arguments or sizes in the two "
                    "recorded steps (a value computed on the host each step, such as a dropout "
                    "seed, Adam's step count or a changed hyper-parameter)"
                )
            return (
                f"launch {i} is {x[0]} ({x[1]}) in one recorded step and {y[0]} ({y[1]}) in "
                "the other (the step's control flow depends on its data or its calls)"
            )
    return f"one recorded step made {len(a)} launches and copies, the other {len(b)}"


class Graph:
    """A recording made replayable: kernels with their arguments set once."""

    def __init__(self, recorder: Recorder) -> None:
        self.device = recorder.device
        self._steps: list[tuple] = []
        self.launches = 0
        for item in recorder.items:
            if isinstance(item, _Launch):
                kernel = cl.Kernel(item.kernel.cl_kernel.program, item.kernel.name)
                kernel.set_scalar_arg_dtypes(item.kernel.arg_types)
                kernel.set_args(*item.args)
                self._steps.append(("kernel", kernel, item))
                self.launches += 1
            else:
                self._steps.append((item.kind, None, item))

    def replay(self) -> None:
        """Enqueue the recorded work once more (returns without waiting, like every launch)."""
        device = self.device
        queue = device.queue
        with device.launch_lock:
            for kind, kernel, item in self._steps:
                try:
                    if kind == "kernel":
                        cl.enqueue_nd_range_kernel(queue, kernel, item.global_size, item.local_size)
                    elif kind == "copy":
                        dst, src, dst_offset, src_offset = item.args
                        cl.enqueue_copy(
                            queue,
                            dst,
                            src,
                            byte_count=item.nbytes,
                            src_offset=src_offset,
                            dst_offset=dst_offset,
                        )
                    elif kind == "fill":
                        dst, pattern, offset = item.args
                        cl.enqueue_fill_buffer(queue, dst, pattern, offset, item.nbytes)
                    else:
                        dst, host = item.args
                        cl.enqueue_copy(queue, dst, host, is_blocking=False)
                except cl.Error as exc:
                    what = f"replaying {kind} {getattr(kernel, 'function_name', '')}".rstrip()
                    raise launch_error(item.op, what, device, (), exc) from None
            device.launches += self.launches
            device.errors_pending = True  # replayed checking kernels may have reported
