"""Host side of ``kernels/copy.cl``: copies between views, dtype casts, fills and ramps.

* :func:`copy_into` is ``dst[...] = src`` for any two strided views, with broadcasting and a
  dtype cast; contiguous same-dtype copies are a plain buffer copy.
* :func:`fill` and :func:`iota` write scalars; :func:`astype` and :func:`cast` convert dtypes.

Copies that only move bytes use the unsigned type of the element's width, so one program
serves every dtype of that width.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .array import CLArray, empty
from .device import Device
from .launch import Kernel, copy_buffer, fill_buffer, get_kernel
from .layout import broadcast_shapes, broadcast_strides, check_device, make_layout, type_name

# What this module adds to the namespace; cast, copy_into, fill and iota serve the other host
# modules.
__all__ = ["astype"]

_UINT_OF_SIZE = {1: "uchar", 2: "ushort", 4: "uint", 8: "ulong", 16: "ulong2"}


def _copy_kernel(device: Device, src: np.dtype, dst: np.dtype, name: str) -> Kernel:
    if src == dst and name != "iota":  # copies move bytes: one program per width
        src_t = dst_t = _UINT_OF_SIZE[src.itemsize]
        dst_bool = 0
    else:
        src_t, dst_t = _dt.storage_c_type(src), _dt.storage_c_type(dst)
        dst_bool = int(dst == _dt.bool)
    defines: dict[str, int | str] = {
        "SRC_T": src_t,
        "DST_T": dst_t,
        "DST_BOOL": dst_bool,
        "VEC": device.vector_width,
        "ACC_T": "double" if device.caps.fp64 else "float",
    }
    if device.caps.fp64:
        defines["FP64"] = 1
    if src != dst or name == "iota":
        for side, dtype in (("SRC", src), ("DST", dst)):
            if dtype in _dt.STORAGE:
                defines[f"{side}_STORAGE"] = _dt.STORAGE[dtype]
        # A 16-bit destination is rounded once, from double where the source holds more bits
        # than a float (numpy and ml_dtypes round a float64 or an int32 directly too).
        wide = name == "iota" or (src.itemsize >= 4 and src != _dt.float32)
        if dst in _dt.STORAGE and wide and device.caps.fp64:
            defines["MID_T"] = "double"
            defines["MID_IS_DOUBLE"] = 1
    return get_kernel(device, "copy", f"copy_{name}", **defines)


def copy_into(dst: CLArray, src: CLArray) -> None:
    """``dst[...] = src`` with broadcasting and a dtype cast; ``dst`` may be any strided view."""
    device = check_device("copy", dst, src)
    if dst.size == 0:
        return
    if src.shape != dst.shape and broadcast_shapes("copy", src.shape, dst.shape) != dst.shape:
        raise ValueError(f"copy: cannot broadcast shape {src.shape} to {dst.shape}")
    if (src.dtype.kind == "c" or dst.dtype.kind == "c") and src.dtype != dst.dtype:
        _copy_complex(dst, src)
        return
    shapes = (dst.shape, src.shape)
    same_shape = src.shape == dst.shape
    if same_shape and src.is_contiguous() and dst.is_contiguous():
        if src.dtype == dst.dtype:
            size = dst.itemsize
            copy_buffer(
                device,
                dst.buffer,
                src.buffer,
                dst.size * size,
                src_offset=src.offset * size,
                dst_offset=dst.offset * size,
                op="copy",
                shapes=shapes,
            )
            return
        vec = device.vector_width
        _copy_kernel(device, src.dtype, dst.dtype, "contig").launch_items(
            -(-dst.size // vec),
            dst.size,
            dst.buffer,
            dst.offset,
            src.buffer,
            src.offset,
            op="astype",
            shapes=shapes,
        )
        return
    layout = make_layout(
        "copy",
        dst.shape,
        [(dst.offset, dst.strides), (src.offset, broadcast_strides(src, dst.shape))],
    )
    items = -(-dst.size // device.vector_width)  # a run of VEC elements per work-item
    _copy_kernel(device, src.dtype, dst.dtype, "strided").launch_items(
        items, layout, dst.size, dst.buffer, src.buffer, op="copy", shapes=shapes
    )


def pairs(x: CLArray) -> CLArray:
    """The float view of a complex array: shape ``x.shape + (2,)``, (real, imaginary) last."""
    part = _dt.REAL_OF[x.dtype]
    strides = (*(2 * s for s in x.strides), 1)
    return CLArray(x.device, x.buffer, 2 * x.offset, (*x.shape, 2), strides, part)


def part(x: CLArray, index: int) -> CLArray:
    """The float view of a complex array's real (``index`` 0) or imaginary (1) parts."""
    strides = tuple(2 * s for s in x.strides)
    return CLArray(x.device, x.buffer, 2 * x.offset + index, x.shape, strides, _dt.REAL_OF[x.dtype])


def _copy_complex(dst: CLArray, src: CLArray) -> None:
    """``copy_into`` where a complex dtype meets another dtype: through float views."""
    if dst.dtype.kind != "c":
        raise TypeError(
            f"copy: cannot cast complex {src.dtype} to {dst.dtype} (the array API leaves "
            "complex to real undefined); take real(x), imag(x) or abs(x) first"
        )
    if src.dtype.kind == "c":
        copy_into(pairs(dst), pairs(src))
        return
    copy_into(part(dst, 0), src)
    fill(part(dst, 1), 0)


def fill(dst: CLArray, value) -> None:
    """``dst[...] = value`` for a Python scalar; ``dst`` may be any strided view."""
    if dst.size == 0:
        return
    if dst.dtype.kind == "c":
        value = complex(value)
        fill(part(dst, 0), value.real)
        fill(part(dst, 1), value.imag)
        return
    device = dst.device
    host = (
        np.array(value).astype(dst.dtype)
        if not isinstance(value, np.generic)
        else np.asarray(value, dtype=dst.dtype)
    )
    if dst.dtype == _dt.bool:
        host = host.astype(np.uint8)
    size = dst.itemsize
    if dst.is_contiguous():
        fill_buffer(
            device,
            dst.buffer,
            host.reshape(1),
            dst.offset * size,
            dst.size * size,
            op="fill",
            shapes=(dst.shape,),
        )
        return
    layout = make_layout("fill", dst.shape, [(dst.offset, dst.strides)])
    bits = host.reshape(()).view(np.dtype(f"u{size}")).item()  # the value's bytes
    items = -(-dst.size // device.vector_width)
    _copy_kernel(device, dst.dtype, dst.dtype, "fill_strided").launch_items(
        items, layout, dst.size, dst.buffer, bits, op="fill", shapes=(dst.shape,)
    )


def iota(dst: CLArray, start: float, step: float) -> None:
    """``dst[i] = start + i * step`` for a contiguous 1-D ``dst``."""
    if dst.size == 0:
        return
    target = dst.dtype if dst.dtype != _dt.bool else _dt.uint8
    _copy_kernel(dst.device, dst.dtype, target, "iota").launch_items(
        dst.size, dst.size, dst.buffer, dst.offset, start, step, op="arange", shapes=(dst.shape,)
    )


def astype(x: CLArray, dtype, /, *, copy: bool = True, device=None) -> CLArray:
    """``x`` converted to ``dtype`` (a copy unless ``copy=False`` and nothing changes).

    Parameters
    ----------
    x : CLArray
        The input array.
    dtype
        The target dtype.
    copy : bool
        ``False`` returns ``x`` itself when nothing changes.
    device
        Accepted when it is ``x``'s device.

    Returns
    -------
    CLArray
        ``x``'s values in ``dtype``.

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.astype(xp.asarray([1.7, -1.7]), xp.int32).to_numpy()
    array([ 1, -1], dtype=int32)
    """
    if not isinstance(x, CLArray):
        raise TypeError(f"astype: expected an OpenCL array, got {type_name(x)}")
    if device is not None:
        x = x.to_device(device)
    dtype = _dt.as_dtype(dtype, x.device, "astype")
    if dtype == x.dtype and not copy:
        return x
    out = empty(x.shape, dtype, x.device)
    copy_into(out, x)
    return out


def cast(x: CLArray, dtype: np.dtype) -> CLArray:
    """``x`` itself when it already has ``dtype``, else a converted copy."""
    return x if x.dtype == dtype else astype(x, dtype)
