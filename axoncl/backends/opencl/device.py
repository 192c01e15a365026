"""OpenCL platforms and devices: choice, capabilities, one queue and one memory pool each.

A :class:`Device` owns everything that lives as long as the device is in use: the context, one
in-order queue, pyopencl's memory pool, the caches of built programs and typed kernels (filled
by ``programs.py`` and ``launch.py``), the per-device state of the host modules, and the locks
that make all of it safe to share between threads. Devices are created once per process and
shared.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyopencl as cl
import pyopencl.tools as cl_tools

from .. import DeviceSpecError

__all__ = [
    "Device",
    "DeviceCaps",
    "DeviceNotFoundError",
    "DeviceSpecError",
    "NoOpenCLError",
    "default_device",
    "get_device",
    "list_devices",
    "memory_stats",
    "reset_peak_memory_stats",
]

_INSTALL_HINT = (
    "install an OpenCL runtime: on Debian/Ubuntu `apt-get install pocl-opencl-icd` gives a CPU "
    "device (PoCL); GPU vendors ship their own ICD (NVIDIA driver, ROCm, Intel compute-runtime)"
)


class NoOpenCLError(RuntimeError):
    """No OpenCL platform or no device matching the request.

    A request for a device type that is not here raises its subclass ``DeviceNotFoundError``,
    which is also a ``ValueError``; the message lists the devices that exist.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> try:
    ...     xp.get_device("opencl:accelerator")
    ... except xp.NoOpenCLError as error:
    ...     print(type(error).__name__)
    DeviceNotFoundError
    """


class DeviceNotFoundError(NoOpenCLError, DeviceSpecError):
    """A well-formed device string (``opencl:9:9``, ``opencl:gpu``) that no device here
    matches."""


_ACCEPTED = (
    "accepted forms: 'opencl', 'opencl:cpu', 'opencl:gpu', 'opencl:accelerator', 'opencl:P:D'"
)


@dataclass(frozen=True)
class DeviceCaps:
    """What a device can do, read once at start-up."""

    name: str
    vendor: str
    platform: str
    kind: str  # "cpu", "gpu" or "accelerator"
    version: str
    opencl_c_version: str
    fp64: bool
    compute_units: int
    local_mem_size: int
    local_mem_is_global: bool
    global_mem_size: int
    max_mem_alloc_size: int
    max_work_group_size: int
    work_group_multiple: int
    preferred_vector_width_float: int
    preferred_vector_width_double: int
    vendor_class: str  # parameter-table key: cpu, nvidia, amd, intel_gpu, apple or default

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _vendor_class(kind: str, vendor: str, name: str) -> str:
    if kind == "cpu":
        return "cpu"
    text = f"{vendor} {name}".lower()
    for key, label in (
        ("nvidia", "nvidia"),
        ("advanced micro", "amd"),
        ("amd", "amd"),
        ("intel", "intel_gpu"),
        ("apple", "apple"),
    ):
        if key in text:
            return label
    return "default"


def _fp64_disabled_by_env() -> bool:
    return os.environ.get("AXONCL_OPENCL_NO_FP64", "").strip() not in ("", "0", "false")


def _read_caps(dev: cl.Device, no_fp64: bool, ctx: cl.Context | None = None) -> DeviceCaps:
    """What ``dev`` can do. ``ctx``: the context the device will use (one is made otherwise);
    the probe kernel is built in it, because PoCL loads and links its built-in library once
    per context (about 0.5 s on a cold cache), which the device's own programs then share."""
    kind = (
        "gpu"
        if dev.type & cl.device_type.GPU
        else "cpu"
        if dev.type & cl.device_type.CPU
        else "accelerator"
    )
    fp64 = ("cl_khr_fp64" in dev.extensions or "cl_amd_fp64" in dev.extensions) and not no_fp64
    multiple = 8 if kind == "cpu" else 32
    try:
        # Reading the multiple needs a built kernel; a one-line program is cheap and cached
        # (built with no options, as programs.py builds, so the cache key is the same in every
        # install: pyopencl's Program.build would add -I <its folder>).
        ctx = ctx if ctx is not None else cl.Context([dev])
        prg = cl._cl._Program(ctx, "__kernel void probe(__global float *x) { x[0] = 0.0f; }")
        prg.build(b"", [dev])
        multiple = cl.Kernel(prg, "probe").get_work_group_info(
            cl.kernel_work_group_info.PREFERRED_WORK_GROUP_SIZE_MULTIPLE, dev
        )
    except cl.Error:
        pass
    return DeviceCaps(
        name=dev.name.strip(),
        vendor=dev.vendor.strip(),
        platform=dev.platform.name.strip(),
        kind=kind,
        version=dev.version.strip(),
        opencl_c_version=dev.opencl_c_version.strip(),
        fp64=fp64,
        compute_units=dev.max_compute_units,
        local_mem_size=dev.local_mem_size,
        local_mem_is_global=dev.local_mem_type == cl.device_local_mem_type.GLOBAL,
        global_mem_size=dev.global_mem_size,
        max_mem_alloc_size=dev.max_mem_alloc_size,
        max_work_group_size=dev.max_work_group_size,
        work_group_multiple=int(multiple),
        preferred_vector_width_float=dev.preferred_vector_width_float,
        preferred_vector_width_double=dev.preferred_vector_width_double,
        vendor_class=_vendor_class(kind, dev.vendor, dev.name),
    )


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


_pool_allocate = cl_tools.MemoryPool.allocate


class _Pool(cl_tools.MemoryPool):
    """pyopencl's memory pool, with a failed allocation raised as a ``MemoryError`` that names
    the bytes asked for and the device's limits: the one place every allocation goes through.
    (Each allocation is a new buffer object, so its in-place write counter, ``writes``, which
    CLArray reads with a default of 0, starts at 0 without being set: a hot path.)"""

    def __init__(
        self, queue: cl.CommandQueue, caps: DeviceCaps, ident: str, lock: threading.RLock
    ) -> None:
        super().__init__(cl_tools.ImmediateAllocator(queue))
        self._caps = caps
        self._ident = ident
        # A new block is made resident by a command on the queue (the immediate allocator's
        # migrate), so it is allocated under the device's queue lock like every other command.
        self._queue_lock = lock
        # Statistics (memory_stats): the pool counts active and held bytes itself, in C++, as
        # buffers come and go; peaks can only rise at an allocation, so they are kept here.
        self._stats_lock = threading.Lock()
        self.allocations = 0
        self.peak_active = 0
        self.peak_managed = 0

    def allocate(self, nbytes: int):  # noqa: ANN201 - a pyopencl PooledBuffer
        try:
            with self._queue_lock:
                buffer = _pool_allocate(self, nbytes)
        except cl.Error as exc:
            caps = self._caps
            raise MemoryError(
                f"allocate: could not allocate {nbytes} bytes ({_gib(nbytes)}) on "
                f"{self._ident} ({caps.name}): the device allows at most "
                f"{_gib(caps.max_mem_alloc_size)} per buffer and has "
                f"{_gib(caps.global_mem_size)} of global memory ({exc})"
            ) from None
        with self._stats_lock:  # so that concurrent allocations lose no count and no peak
            self.allocations += 1
            active = self.active_bytes
            if active > self.peak_active:
                self.peak_active = active
            managed = self.managed_bytes  # grows only when no held block can be reused
            if managed > self.peak_managed:
                self.peak_managed = managed
        return buffer

    __call__ = allocate

    def stats(self) -> dict[str, int]:
        """The counters of :func:`memory_stats`."""
        active, managed = self.active_bytes, self.managed_bytes
        return {
            "allocated_bytes.all.current": active,
            "allocated_bytes.all.peak": max(self.peak_active, active),
            "active_bytes.all.current": active,
            "active_bytes.all.peak": max(self.peak_active, active),
            "reserved_bytes.all.current": managed,
            "reserved_bytes.all.peak": max(self.peak_managed, managed),
            "allocation.all.current": self.active_blocks,
            "allocation.all.allocated": self.allocations,
            "segment.all.current": self.active_blocks + self.held_blocks,
        }

    def reset_peaks(self) -> None:
        """Start the peaks again from the current values."""
        with self._stats_lock:
            self.peak_active = self.active_bytes
            self.peak_managed = self.managed_bytes


@dataclass(eq=False)
class Device:
    """One OpenCL device with its context, in-order queue, memory pool and kernel caches.

    Parameters
    ----------
    platform_index, device_index
        The device's place in ``pyopencl.get_platforms()`` and in its platform's devices
        (``opencl:P:D``).
    cl_device
        The ``pyopencl.Device``.
    caps
        What the device can do (fp64, vector width, memory), read once.
    profiling
        Make the queue with profiling on (the inspector's device timings).

    Examples
    --------
    >>> dev = get_device("opencl:cpu")          # doctest: +SKIP
    >>> dev.caps.fp64, dev.caps.compute_units   # doctest: +SKIP
    (True, 2)
    """

    platform_index: int
    device_index: int
    cl_device: cl.Device
    caps: DeviceCaps
    cl_context: cl.Context | None = None  # made here unless given (get_device: the probe's)
    queue: cl.CommandQueue = field(init=False)
    allocator: cl_tools.MemoryPool = field(init=False)  # failures raise MemoryError
    programs: dict = field(init=False, default_factory=dict)
    kernels: dict = field(init=False, default_factory=dict)
    # Per-device state of the host modules (launch tables, GEMM defines), keyed by module.
    state: dict = field(init=False, default_factory=dict)
    # (big, small, threshold) of launch.local_size: one rule from the device's limits.
    local_sizes: tuple[int, int, int] = field(init=False)
    # Held while anything is put on the queue: a kernel's arguments are set and it is
    # enqueued, a copy, fill or read is enqueued (a blocking read until its data is there), a
    # pool block is allocated (launch.py, _Pool). A cl.Kernel holds its arguments as state; and
    # NVIDIA's driver (580, H200) crashed the process when one thread's blocking read ran while
    # other threads enqueued on the same queue, which OpenCL allows: every call of 4 threads
    # under this lock ran clean. Reentrant: capture's recorder works under it.
    launch_lock: threading.RLock = field(init=False, default_factory=threading.RLock)
    # Held while a program or kernel is built and cached, so concurrent first uses build once.
    build_lock: threading.RLock = field(init=False, default_factory=threading.RLock)
    # Elements per work-item of the contiguous elementwise and copy kernels (-DVEC): 16 with
    # vload16 on CPUs, where PoCL turns them into AVX loads; one on GPUs, which coalesce.
    vector_width: int = field(init=False)
    launches: int = field(init=False, default=0)  # kernels enqueued so far (benchmarks read it)
    recorder: Any = field(init=False, default=None)  # capture.Recorder while a step is recorded
    # Device-side errors (kernels/errors.h): 8 longs that a failing kernel fills, the op names
    # behind the op ids it writes, and whether a checking kernel ran since the last look (so
    # reads after plain kernels never touch the flag).
    error_flag: cl.Buffer = field(init=False)
    error_ops: list[str] = field(init=False, default_factory=list)
    errors_pending: bool = field(init=False, default=False)
    profiling: bool = False

    def __post_init__(self) -> None:
        if self.cl_context is None:
            self.cl_context = cl.Context([self.cl_device])
        props = cl.command_queue_properties.PROFILING_ENABLE if self.profiling else 0
        self.queue = cl.CommandQueue(self.cl_context, self.cl_device, properties=props)
        self.allocator = _Pool(self.queue, self.caps, self.id, self.launch_lock)
        big, small = (64, 8) if self.caps.kind == "cpu" else (256, 64)
        limit = max(self.caps.max_work_group_size, 1)
        big, small = min(big, limit), min(small, limit)
        # Below the threshold the small group gives every compute unit some groups.
        self.local_sizes = (big, small, 2 * big * max(self.caps.compute_units, 1))
        self.vector_width = 16 if self.caps.kind == "cpu" else 1
        self.error_flag = cl.Buffer(
            self.cl_context,
            cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR,
            hostbuf=np.zeros(8, np.int64),
        )

    @property
    def id(self) -> str:
        return f"opencl:{self.platform_index}:{self.device_index}"

    def synchronize(self) -> None:
        """Wait until every queued command on this device has finished, then raise any error
        a kernel reported (:meth:`check_errors`)."""
        flag = self.queue_error_read()
        self.queue.finish()
        self.raise_reported(flag)

    def error_op(self, name: str) -> int:
        """The id that checking kernels write to the error flag for op ``name``; mark the flag
        to be looked at after the launch that follows."""
        self.errors_pending = True
        try:
            return self.error_ops.index(name)
        except ValueError:
            with self.build_lock:
                if name not in self.error_ops:
                    self.error_ops.append(name)
                return self.error_ops.index(name)

    def check_errors(self) -> None:
        """Raise the error a kernel reported since the last check, and clear the flag.

        Costs nothing unless a checking kernel was launched since the last check; then one
        blocking read of 64 bytes. An out-of-range index or class target raises ``IndexError``
        naming the op, the value, its flat position and the bound.
        """
        flag = self.queue_error_read()
        if flag is not None:
            self.queue.finish()
        self.raise_reported(flag)

    def queue_error_read(self) -> np.ndarray | None:
        """Enqueue a read of the error flag, when a checking kernel ran since the last look,
        without waiting: the caller's own wait (``finish`` or a blocking read) covers it, so a
        check costs no extra round trip. None when there is nothing to look at."""
        if not self.errors_pending:
            return None
        self.errors_pending = False
        flag = np.zeros(8, np.int64)
        with self.launch_lock:
            cl.enqueue_copy(self.queue, flag, self.error_flag, is_blocking=False)
        return flag

    def raise_reported(self, flag: np.ndarray | None) -> None:
        """Raise the error in ``flag`` (read by :meth:`queue_error_read` and waited for), and
        clear the device's flag; nothing when no kernel reported."""
        if flag is None:
            return
        code = int(flag[0] & 0xFFFFFFFF)
        if not code:
            return
        with self.launch_lock:
            cl.enqueue_copy(self.queue, self.error_flag, np.zeros(8, np.int64), is_blocking=True)
        op_id, value, position, bound = (int(v) for v in flag[1:5])
        op = self.error_ops[op_id] if 0 <= op_id < len(self.error_ops) else f"op #{op_id}"
        if code == ERROR_TARGET:
            raise IndexError(
                f"{op}: target {value} is out of bounds for {bound} classes at position "
                f"{position} (reported by {self.id})"
            )
        raise IndexError(
            f"{op}: index {value} is out of bounds for an axis of size {bound} at position "
            f"{position} of the index (reported by {self.id})"
        )

    def __repr__(self) -> str:
        return f"Device({self.id!r}, {self.caps.name!r}, {self.caps.kind})"

    def __str__(self) -> str:
        return self.id


# Error codes of kernels/errors.h.
ERROR_INDEX = 1
ERROR_TARGET = 2

_LOCK = threading.Lock()
_DEVICES: dict[tuple[int, int], Device] = {}


def _pin_pocl_workers() -> None:
    """Ask PoCL's CPU driver to pin its worker threads (``POCL_AFFINITY=1``, thread i on CPU
    i) when this process may run on every CPU and the user set neither that nor the thread
    count. Unpinned, the workers and the Python thread that enqueues kernels trade cores: on
    2 cores a 256^3 product took 0.41 ms (median) instead of 0.23, an MLP training step 4.7
    ms instead of 3.0. PoCL aborts if a pin fails, hence the check of the affinity mask."""
    if "POCL_AFFINITY" in os.environ or "POCL_MAX_PTHREAD_COUNT" in os.environ:
        return
    try:
        whole_machine = os.sched_getaffinity(0) == set(range(os.cpu_count() or 0))
    except (AttributeError, OSError):  # not Linux
        return
    if whole_machine:
        os.environ["POCL_AFFINITY"] = "1"


def _platforms() -> list[cl.Platform]:
    _pin_pocl_workers()
    try:
        platforms = cl.get_platforms()
    except cl.LogicError:  # CL_PLATFORM_NOT_FOUND_KHR from the ICD loader
        platforms = []
    if not platforms:
        raise NoOpenCLError(f"no OpenCL platform found; {_INSTALL_HINT}")
    return platforms


def list_devices() -> list[tuple[str, cl.Device]]:
    """Every OpenCL device as ``("opencl:P:D", cl.Device)``, platform by platform."""
    found = []
    for p_index, platform in enumerate(_platforms()):
        try:
            devices = platform.get_devices()
        except cl.Error:
            continue
        for d_index, dev in enumerate(devices):
            found.append((f"opencl:{p_index}:{d_index}", dev))
    if not found:
        raise NoOpenCLError(f"OpenCL platforms exist but expose no device; {_INSTALL_HINT}")
    return found


def _devices_here() -> str:
    try:
        return ", ".join(f"{i} ({d.name.strip()})" for i, d in list_devices())
    except NoOpenCLError:
        return "none (no OpenCL platform)"


def _parse(spec: str) -> tuple[int, int] | str:
    text = spec.strip().lower()
    parts = text.split(":")[1:]
    if text.startswith("opencl") and text.split(":")[0] == "opencl":
        if not parts or parts == [""]:
            return "any"
        if len(parts) == 1 and parts[0] in ("cpu", "gpu", "accelerator"):
            return parts[0]
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            return int(parts[0]), int(parts[1])
    raise DeviceSpecError(
        f"device: {spec!r} names no OpenCL device; devices here: {_devices_here()}; {_ACCEPTED} "
        "(platform and device numbers)"
    )


def _resolve(spec: str | None) -> tuple[int, int]:
    devices = list_devices()
    want = _parse(spec) if spec else "any"
    here = ", ".join(f"{i} ({d.name.strip()})" for i, d in devices)
    if isinstance(want, tuple):
        ids = [ident for ident, _ in devices]
        if f"opencl:{want[0]}:{want[1]}" not in ids:
            raise DeviceNotFoundError(
                f"device: no OpenCL device {spec!r}; available: {here}; {_ACCEPTED}"
            )
        return want
    kinds = {
        "cpu": cl.device_type.CPU,
        "gpu": cl.device_type.GPU,
        "accelerator": cl.device_type.ACCELERATOR,
    }
    order = (
        [kinds[want]]
        if want in kinds
        else [cl.device_type.GPU, cl.device_type.CPU, cl.device_type.ACCELERATOR]
    )
    for kind in order:
        for ident, dev in devices:
            if dev.type & kind:
                p, d = ident.split(":")[1:]
                return int(p), int(d)
    if want == "any":
        p, d = devices[0][0].split(":")[1:]
        return int(p), int(d)
    raise DeviceNotFoundError(
        f"device: no OpenCL {want} device for {spec!r}; available: {here}; {_ACCEPTED}"
    )


def get_device(spec: str | Device | None = None) -> Device:
    """The shared :class:`Device` for ``spec``.

    Parameters
    ----------
    spec
        ``"opencl"`` (a GPU if present, else the first CPU), ``"opencl:gpu"``, ``"opencl:cpu"``,
        ``"opencl:P:D"``, a :class:`Device`, or ``None`` for :func:`default_device`.

    Returns
    -------
    Device
        One object per device, shared by every array on it.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.get_device() is xp.default_device()
    True
    """
    if isinstance(spec, Device):
        return spec
    if spec is None:
        return default_device()
    key = _resolve(spec)
    with _LOCK:
        if key not in _DEVICES:
            cl_dev = _platforms()[key[0]].get_devices()[key[1]]
            ctx = cl.Context([cl_dev])
            caps = _read_caps(cl_dev, _fp64_disabled_by_env(), ctx)
            _DEVICES[key] = Device(key[0], key[1], cl_dev, caps, ctx)
        return _DEVICES[key]


def default_device() -> Device:
    """``AXONCL_DEVICE`` when it names an OpenCL device, else a GPU, else the first CPU.

    Returns
    -------
    Device
        The device arrays are made on when none is given.

    Raises
    ------
    DeviceSpecError
        When ``AXONCL_DEVICE`` names no device here (the message lists them).

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> str(xp.default_device().id).startswith("opencl:")
    True
    """
    env = os.environ.get("AXONCL_DEVICE", "").strip()
    if env.lower().startswith("opencl"):
        return get_device(env)
    if env and env.lower() not in _HOST_BACKENDS:
        raise DeviceSpecError(
            f"AXONCL_DEVICE={env!r} names no device; devices here: {_devices_here()}; "
            f"{_ACCEPTED}, or a host backend ({', '.join(_HOST_BACKENDS)})"
        )
    return get_device("opencl")


# AXONCL_DEVICE values that choose a backend other than OpenCL (this module then gives the
# default OpenCL device to whoever asks for one).
_HOST_BACKENDS = ("numpy", "array_api_strict", "torch", "cupy", "jax")


def set_fp64_disabled(device: Device, disabled: bool) -> None:
    """Make ``device`` act as if it lacked (or had) fp64; for tests of the float32 paths.

    Disabling always works; enabling only restores what the hardware reports.
    """
    has = (
        "cl_khr_fp64" in device.cl_device.extensions or "cl_amd_fp64" in device.cl_device.extensions
    )
    object.__setattr__(device.caps, "fp64", has and not disabled)


def memory_stats(device: str | Device | None = None) -> dict[str, int]:
    """Current and peak bytes of ``device``'s memory pool, under ``torch.cuda.memory_stats``
    names.

    ``allocated_bytes`` (the same as ``active_bytes``) counts the buffers that arrays hold now,
    in the pool's block sizes; ``reserved_bytes`` is what the pool owns: those plus the freed
    blocks it keeps for reuse. Each has ``.all.current`` and ``.all.peak`` (since the device
    was opened or :func:`reset_peak_memory_stats`). ``allocation.all.current`` is the number of
    live buffers, ``allocation.all.allocated`` the allocations so far, ``segment.all.current``
    the blocks the pool owns. The counters are kept as buffers come and go, so reading them
    costs no device work.

    Parameters
    ----------
    device : str, Device or None
        The device (``None``: the default one).

    Returns
    -------
    dict
        Counter name to value, e.g. ``allocated_bytes.all.current``.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp                    # doctest: +SKIP
    >>> xp.reset_peak_memory_stats()                           # doctest: +SKIP
    >>> x = xp.zeros(1 << 20, dtype=xp.float32)                # doctest: +SKIP
    >>> xp.memory_stats()["allocated_bytes.all.peak"] >= 4 << 20   # doctest: +SKIP
    True
    """
    return get_device(device).allocator.stats()


def reset_peak_memory_stats(device: str | Device | None = None) -> None:
    """Set the peaks of :func:`memory_stats` to the current values.

    Parameters
    ----------
    device : str, Device or None
        The device (default: the default one).

    Returns
    -------
    None

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.reset_peak_memory_stats()
    >>> s = xp.memory_stats()
    >>> s["allocated_bytes.all.peak"] == s["allocated_bytes.all.current"]
    True
    """
    get_device(device).allocator.reset_peaks()
