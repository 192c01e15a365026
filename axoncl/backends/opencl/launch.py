"""The one way to launch a kernel or move memory on an OpenCL device.

Every kernel launch and every buffer copy of the OpenCL namespace goes through this module:

* :func:`get_kernel` builds (through ``programs.py``) and caches a :class:`Kernel` on the
  :class:`~.device.Device`. Its scalar argument types are read from the compiled kernel
  (``-cl-kernel-arg-info``), so every launch packs plain Python numbers on pyopencl's fast path.
* :func:`local_size` is the one rule for 1-D work-group sizes, from the device's limits.
* :meth:`Kernel.launch` / :meth:`Kernel.launch_items` set the arguments and enqueue as one
  step under the device's launch lock. A ``cl.Kernel`` holds its arguments as state, so two
  threads that set and enqueue the same cached kernel would otherwise enqueue each other's
  arguments. A failure is re-raised as :class:`LaunchError` naming the op, the kernel, the
  shapes, the device and the ``CL_*`` status.
* :func:`copy_buffer`, :func:`read_buffer`, :func:`write_buffer` and :func:`fill_buffer` wrap the
  queue's copies the same way, under the same lock (``Device.launch_lock`` says why).

While ``axoncl.capture`` records a step, ``device.recorder`` sees every launch and copy (see
``capture.py``); otherwise it is None and costs one attribute read.

Examples
--------
>>> k = get_kernel(dev, "fused", "fused_multiply_add", T="float", VEC=16)   # doctest: +SKIP
>>> k.launch_items(n_items, n, out.buffer, 0, a.buffer, 0, op="fma")     # doctest: +SKIP
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pyopencl as cl

from .device import Device
from .programs import error_status, get_program

__all__ = [
    "Kernel",
    "LaunchError",
    "copy_buffer",
    "fill_buffer",
    "get_kernel",
    "local_size",
    "tree_defines",
    "tree_size",
    "read_buffer",
    "write_buffer",
]

_enqueue = cl.enqueue_nd_range_kernel  # one global lookup on the hot path

# OpenCL C scalar type names (as clGetKernelArgInfo reports them) -> numpy types for packing.
_SCALAR_TYPES = {
    "char": np.int8,
    "uchar": np.uint8,
    "unsigned char": np.uint8,
    "bool": np.uint8,
    "short": np.int16,
    "ushort": np.uint16,
    "unsigned short": np.uint16,
    "int": np.int32,
    "uint": np.uint32,
    "unsigned int": np.uint32,
    "long": np.int64,
    "ulong": np.uint64,
    "unsigned long": np.uint64,
    "float": np.float32,
    "double": np.float64,
}


class LaunchError(RuntimeError):
    """An OpenCL launch or copy failed; the message names the op, shapes, device and status."""


def launch_error(
    op: str, what: str, device: Device, shapes: Any, exc: BaseException
) -> LaunchError:
    """The :class:`LaunchError` for ``exc``, raised while ``what`` was done for ``op``."""
    shown = f" with shapes {', '.join(map(str, shapes))}" if shapes else ""
    return LaunchError(
        f"{op}: {what}{shown} on {device.id} ({device.caps.name}) failed with "
        f"{error_status(exc)}: {exc}"
    )


def _arg_types(cl_kernel: cl.Kernel, family: str) -> list[Any]:
    """numpy types of the by-value scalar arguments (None for buffers, local memory, structs)."""
    types: list[Any] = []
    private = cl.kernel_arg_address_qualifier.PRIVATE
    for i in range(cl_kernel.num_args):
        try:
            qualifier = cl_kernel.get_arg_info(i, cl.kernel_arg_info.ADDRESS_QUALIFIER)
            type_name = cl_kernel.get_arg_info(i, cl.kernel_arg_info.TYPE_NAME)
        except cl.Error as exc:
            raise RuntimeError(
                f"kernels/{family}.cl: the OpenCL driver gave no argument info for "
                f"{cl_kernel.function_name} ({error_status(exc)}); axoncl needs "
                "clGetKernelArgInfo (OpenCL 1.2)"
            ) from None
        name = type_name.strip().rstrip("\x00")
        types.append(_SCALAR_TYPES.get(name) if qualifier == private else None)
    return types


class Kernel:
    """One compiled kernel of one device, with typed scalar arguments and its work-group limit.

    Get one with :func:`get_kernel`; instances are cached on the device and shared by all
    threads.
    """

    __slots__ = (
        "device",
        "cl_kernel",
        "name",
        "family",
        "arg_types",
        "max_local",
        "_sizes",
        "_set_args",
        "_queue",
        "_lock",
    )

    def __init__(self, device: Device, cl_kernel: cl.Kernel, family: str) -> None:
        self.device = device
        self.cl_kernel = cl_kernel
        self.name = cl_kernel.function_name
        self.family = family
        self.arg_types = _arg_types(cl_kernel, family)
        cl_kernel.set_scalar_arg_dtypes(self.arg_types)
        self._set_args = cl_kernel.set_args  # bound once: the typed setter pyopencl generated
        try:
            self.max_local = int(
                cl_kernel.get_work_group_info(
                    cl.kernel_work_group_info.WORK_GROUP_SIZE, device.cl_device
                )
            )
        except cl.Error:
            self.max_local = device.caps.max_work_group_size
        _, _, threshold = device.local_sizes
        # local_size's two answers for this kernel, worked out once (launch_items is hot).
        self._sizes = (
            local_size(device, threshold, self.max_local),
            local_size(device, 0, self.max_local),
            threshold,
        )
        self._queue = device.queue
        self._lock = device.launch_lock

    def launch(
        self,
        global_size: tuple[int, ...],
        local_size: tuple[int, ...] | None,
        *args: Any,
        op: str,
        shapes: tuple = (),
    ) -> None:
        """Set ``args`` and enqueue over ``global_size`` work-items, atomically."""
        try:
            with self._lock:
                self._set_args(*args)
                _enqueue(self._queue, self.cl_kernel, global_size, local_size)
                self.device.launches += 1
                if self.device.recorder is not None:  # axoncl.capture is recording
                    self.device.recorder.kernel(self, global_size, local_size, args, op)
        except _LAUNCH_ERRORS as exc:
            what = f"launching {self.name} (global {global_size}, local {local_size})"
            raise launch_error(op, what, self.device, shapes, exc) from None

    def launch_items(
        self, n_items: int, *args: Any, op: str, shapes: tuple = (), one_size: bool = False
    ) -> None:
        """A 1-D launch of ``n_items`` work-items (rounded up; the kernel guards the tail),
        with the work-group size of :func:`local_size`; ``one_size``: always its small size,
        for a kernel whose grids are small and of every size, which PoCL (one compilation per
        work-group size, 60 ms and up) then compiles once."""
        if n_items <= 0:
            return
        big, small, threshold = self._sizes
        local = big if n_items >= threshold and not one_size else small
        global_size = ((n_items + local - 1) // local * local,)
        # launch()'s body, inlined: this is the dispatch hot path of every elementwise op.
        device = self.device
        try:
            with self._lock:
                self._set_args(*args)
                _enqueue(self._queue, self.cl_kernel, global_size, (local,))
                device.launches += 1
                if device.recorder is not None:
                    device.recorder.kernel(self, global_size, (local,), args, op)
        except _LAUNCH_ERRORS as exc:
            what = f"launching {self.name} (global {global_size}, local ({local},))"
            raise launch_error(op, what, device, shapes, exc) from None

    def launch_grid(
        self, n_items: int, n_rows: int, *args: Any, op: str, shapes: tuple = ()
    ) -> None:
        """A 2-D launch: ``n_items`` work-items (rounded up) for each of ``n_rows`` rows. Rows
        shorter than the large work-group take the small one, so little of a group idles."""
        if n_items <= 0 or n_rows <= 0:
            return
        big, small, threshold = self._sizes
        local = big if n_items >= big and n_items * n_rows >= threshold else small
        global_size = ((n_items + local - 1) // local * local, n_rows)
        self.launch(global_size, (local, 1), *args, op=op, shapes=shapes)

    def __repr__(self) -> str:
        return f"Kernel({self.name!r}, {self.device.id})"


# What a failed launch raises: OpenCL errors, and pyopencl's packing errors for a bad argument.
_LAUNCH_ERRORS = (cl.Error, struct.error, TypeError, ValueError, RuntimeError)


def get_kernel(
    device: Device, family: str, name: str, **defines: int | str | float | bool
) -> Kernel:
    """The cached :class:`Kernel` ``name`` of ``kernels/<family>.cl`` built with ``defines``."""
    # Keyed by the defines themselves: formatting them as build options on every launch cost
    # more host time than the launch (options_of runs once per program, in get_program).
    key = (family, name, tuple(sorted(defines.items())))
    found = device.kernels.get(key)
    if found is None:
        with device.build_lock:  # two threads asking at once build and type it once
            found = device.kernels.get(key)
            if found is None:
                program = get_program(device, family, **defines)
                found = device.kernels[key] = Kernel(device, cl.Kernel(program, name), family)
    return found


def local_size(device: Device, n_items: int, limit: int | None = None) -> int:
    """The work-group size of a 1-D launch of ``n_items`` work-items.

    Two sizes per device class, so PoCL (which compiles one specialisation per local size)
    sees few: CPUs take 64, or 8 for grids too small to give every core several groups (PoCL
    runs one work-group per thread); GPUs take 256, or 64 for small grids. Halved down to the
    kernel's own ``limit`` when it is lower.
    """
    big, small, threshold = device.local_sizes
    local = big if n_items >= threshold else small
    if limit is not None:
        while local > limit and local > 1:
            local //= 2
    return local


def copy_buffer(
    device: Device,
    dst: Any,
    src: Any,
    nbytes: int,
    *,
    dst_offset: int = 0,
    src_offset: int = 0,
    op: str,
    shapes: tuple = (),
) -> None:
    """Enqueue a device-to-device copy of ``nbytes`` bytes (offsets in bytes)."""
    if nbytes <= 0:
        return
    try:
        with device.launch_lock:
            cl.enqueue_copy(
                device.queue,
                dst,
                src,
                byte_count=nbytes,
                src_offset=src_offset,
                dst_offset=dst_offset,
            )
    except cl.Error as exc:
        raise launch_error(op, f"copying {nbytes} bytes", device, shapes, exc) from None
    if device.recorder is not None:
        device.recorder.copy(dst, src, nbytes, dst_offset, src_offset, op)


def read_buffer(
    device: Device, host: np.ndarray, src: Any, *, src_offset: int = 0, op: str, shapes=()
) -> np.ndarray:
    """Copy ``host.nbytes`` bytes from ``src`` into ``host`` and wait for them, then raise any
    error a kernel reported on the device (``Device.check_errors``)."""
    if not host.nbytes:
        device.check_errors()
        return host
    if device.recorder is not None:
        device.recorder.read(op)
    flag = device.queue_error_read()  # enqueued before the data, so one wait covers both
    try:
        with device.launch_lock:  # held until the data is there: see Device.launch_lock
            cl.enqueue_copy(device.queue, host, src, src_offset=src_offset, is_blocking=True)
    except cl.Error as exc:
        what = f"reading {host.nbytes} bytes to the host"
        raise launch_error(op, what, device, shapes, exc) from None
    device.raise_reported(flag)
    return host


def write_buffer(device: Device, dst: Any, host: np.ndarray, *, op: str, shapes=()) -> None:
    """Enqueue an upload of ``host`` into ``dst`` without waiting (pyopencl keeps ``host``
    alive until the copy completes)."""
    if host.nbytes:
        try:
            with device.launch_lock:
                cl.enqueue_copy(device.queue, dst, host, is_blocking=False)
        except cl.Error as exc:
            what = f"uploading {host.nbytes} bytes"
            raise launch_error(op, what, device, shapes, exc) from None
        if device.recorder is not None:
            device.recorder.write(dst, host, op)


def fill_buffer(
    device: Device, dst: Any, pattern: np.ndarray, offset: int, nbytes: int, *, op: str, shapes=()
) -> None:
    """Enqueue ``dst[offset : offset + nbytes] = pattern`` repeated (offsets in bytes)."""
    if nbytes <= 0:
        return
    try:
        with device.launch_lock:
            cl.enqueue_fill_buffer(device.queue, dst, pattern, offset, nbytes)
    except cl.Error as exc:
        raise launch_error(op, f"filling {nbytes} bytes", device, shapes, exc) from None
    if device.recorder is not None:
        device.recorder.fill(dst, pattern, offset, nbytes, op)


def tree_size(device: Device, limit: int = 64) -> int:
    """The work-group size of a kernel that sums as a tree in local memory: the largest power
    of two no larger than ``limit`` and the device's work-group limit. The kernels default to
    64 (``-DLWS``): pass the define only when this differs, so one program serves."""
    lws = min(limit, device.caps.max_work_group_size)
    return 1 << (lws.bit_length() - 1)


def tree_defines(device: Device) -> dict[str, int]:
    """``{"LWS": tree_size(device)}`` when that differs from the kernels' default of 64, else
    nothing: the defines that keep one program per family for the usual devices."""
    lws = tree_size(device)
    return {} if lws == 64 else {"LWS": lws}
