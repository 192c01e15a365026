"""Which device each rank trains on: ``select_device``."""

from __future__ import annotations

import os

from .world import _world

__all__ = ["select_device"]

_CL_DEVICE_TYPE_GPU = 1 << 2  # CL_DEVICE_TYPE_GPU in CL/cl.h


def _gpu_ids() -> list[str]:
    """``opencl:P:D`` of every OpenCL GPU here (none when OpenCL is missing)."""
    try:
        from ..backends.opencl.device import NoOpenCLError, list_devices
    except ImportError:
        return []
    try:
        devices = list_devices()
    except NoOpenCLError:
        return []
    return [ident for ident, dev in devices if dev.type & _CL_DEVICE_TYPE_GPU]


def _pick(spec: str, local_rank: int, gpus: list[str]) -> str:
    """The device spec for one rank: an entry of a comma-separated ``spec`` by local rank;
    ``"opencl"``/``"opencl:gpu"`` with several GPUs: GPU ``local_rank % len(gpus)``."""
    choices = [part.strip() for part in spec.split(",") if part.strip()]
    if not choices:
        choices = ["opencl"]
    chosen = choices[local_rank % len(choices)]
    if chosen.lower() in ("opencl", "opencl:gpu") and gpus:
        return gpus[local_rank % len(gpus)]
    return chosen


def select_device(spec: str | None = None) -> str:
    """The device this rank should train on, as a spec for ``axoncl.demo`` / ``Module.to``.

    ``spec`` (else ``AXONCL_DEVICE``, else ``"opencl"``) may list one device per local rank,
    comma-separated (``"opencl:0:0,opencl:0:1"``; rank ``r`` on a machine takes entry
    ``r % count``). ``"opencl"`` or ``"opencl:gpu"`` spreads the ranks of a machine over its
    GPUs: local rank modulo the number of GPUs, so run one rank per GPU. Without a GPU every
    rank gets the default device (e.g. PoCL on the CPU). ``"numpy"`` stays ``"numpy"``.

    Examples
    --------
    >>> from axoncl import distributed as dist
    >>> dist.init()
    >>> dist.select_device("numpy")
    'numpy'
    >>> dist.select_device("opencl:0:0,opencl:0:1")     # local rank 0
    'opencl:0:0'
    """
    local_rank = _world("select_device").local_rank
    if spec is None or spec.strip() in ("", "default"):
        spec = os.environ.get("AXONCL_DEVICE", "").strip() or "opencl"
    return _pick(spec, local_rank, _gpu_ids())
