"""Sliding-window geometry shared by the convolution and pooling host modules.

:func:`geometry` is the 12-tuple ``(h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)`` that the
window kernels of ``kernels/im2col.cl`` take as their leading arguments, and
:func:`launch_planes` launches one of those kernels over ``items`` work-items per image plane.
"""

from __future__ import annotations

import numpy as np

from .. import primitives
from . import dtypes as _dt
from .array import CLArray
from .launch import Kernel

__all__ = [
    "NAMESPACE",
    "geometry",
    "launch_planes",
    "real_defines",
    "same_dtype",
    "storage_real_defines",
]

NAMESPACE = "axoncl.backends.opencl"  # where these modules register the primitives' overrides


def real_defines(dtype: np.dtype, op: str) -> dict[str, int | str]:
    """``-DREAL`` (and ``-DFP64``) for a float32 or float64 window kernel."""
    if dtype == np.float32:
        return {"REAL": "float"}
    if dtype == np.float64:
        return {"REAL": "double", "FP64": 1}
    raise TypeError(f"{op}: expected float32 or float64 arrays, got {dtype}")


def storage_real_defines(dtype: np.dtype, op: str) -> dict[str, int | str]:
    """:func:`real_defines`, and for float16/bfloat16 ``-DREAL=float -DSTORAGE=...``: for the
    kernels that read and write through ``kernels/storage.h`` (im2col, col2im) only."""
    if dtype in _dt.STORAGE:
        return {"REAL": "float", "STORAGE": _dt.STORAGE[dtype]}
    return real_defines(dtype, op)


def same_dtype(op: str, *arrays: CLArray | None) -> np.dtype:
    present = [a for a in arrays if a is not None]
    dtype = present[0].dtype
    for a in present[1:]:
        if a.dtype != dtype:
            raise TypeError(f"{op}: expected operands of one dtype, got {dtype} and {a.dtype}")
    if dtype == np.float64 and not present[0].device.caps.fp64:
        raise TypeError(
            f"{op}: float64 needs cl_khr_fp64, which {present[0].device.caps.name} lacks"
        )
    return dtype


def geometry(h: int, w: int, kernel_size, stride, padding, dilation) -> tuple[int, ...]:
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    oh = primitives.conv_output_size(h, kh, sh, ph, dh)
    ow = primitives.conv_output_size(w, kw, sw, pw, dw)
    return h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow


def launch_planes(kernel: Kernel, items: int, planes: int, *args, op: str, shapes=()) -> None:
    """``items`` work-items per image plane (32-bit indices in the kernel) for each plane."""
    if items >= 2**31:
        raise ValueError(
            f"{op}: {items} elements per image exceed the kernels' 32-bit "
            "per-image indexing; use smaller images or fewer channels"
        )
    kernel.launch_grid(items, planes, *args, op=op, shapes=shapes)
