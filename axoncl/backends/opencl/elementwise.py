"""Host side of ``kernels/elementwise.cl`` and ``kernels/copy.cl``: every elementwise function.

One program per (dtype, arity) holds every op of that arity (see the header of elementwise.cl);
kernel objects are cached per device. Each call picks one of four launches:

* ``contig``: all operands C-contiguous with the output's shape (16 elements per work-item with
  ``vload16`` on CPUs, one per work-item on GPUs);
* ``scalar``: one operand is a Python scalar, passed by value;
* ``strided``/``scalar_strided``: anything else; broadcasting via stride 0, with the shape and
  strides (after merging contiguous axes) passed by value as a ``layout_t`` struct.

The common case (same dtype, same shape, contiguous) takes a short path with no generic
dtype or shape logic, because dispatch time matters for small arrays.
"""

from __future__ import annotations

import math

import numpy as np
import pyopencl as cl

from . import dtypes as _dt
from .array import CLArray, empty, from_numpy
from .device import Device
from .programs import get_program, status_name

__all__ = [
    "abs",
    "acos",
    "acosh",
    "add",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clip",
    "copysign",
    "cos",
    "cosh",
    "divide",
    "equal",
    "exp",
    "expm1",
    "floor",
    "floor_divide",
    "greater",
    "greater_equal",
    "hypot",
    "isfinite",
    "isinf",
    "isnan",
    "less",
    "less_equal",
    "log",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "nextafter",
    "not_equal",
    "positive",
    "pow",
    "reciprocal",
    "remainder",
    "round",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "trunc",
    "where",
    "astype",
]

_builtin_abs = abs
_builtin_round = round
_builtin_pow = pow

MAXDIM = 8  # LAYOUT_MAXDIM in kernels/layout.h
_NOPS = 4  # LAYOUT_OPS
_LAYOUT_LEN = 1 + MAXDIM + _NOPS + _NOPS * MAXDIM

# ---- op tables ---------------------------------------------------------------------------------
_UNARY_FLOAT = frozenset(
    {
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atanh",
        "cos",
        "cosh",
        "sin",
        "sinh",
        "tan",
        "tanh",
        "exp",
        "expm1",
        "log",
        "log1p",
        "log2",
        "log10",
        "sqrt",
        "reciprocal",
    }
)
_UNARY_ROUNDING = frozenset({"ceil", "floor", "trunc", "round"})
_UNARY_PREDICATE = frozenset({"isnan", "isinf", "isfinite", "signbit"})
_UNARY_NUMERIC = frozenset({"abs", "sign", "negative", "square"})

_BINARY_NUMERIC = frozenset({"add", "subtract", "multiply", "floor_divide", "remainder", "pow"})
_BINARY_FLOAT = frozenset({"divide", "atan2", "hypot", "copysign", "nextafter", "logaddexp"})
_BINARY_ORDER = frozenset({"less", "less_equal", "greater", "greater_equal"})
_BINARY_BOOL_OUT = _BINARY_ORDER | {
    "equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
}
_BINARY_BITWISE = frozenset({"bitwise_and", "bitwise_or", "bitwise_xor"})
_BINARY_SHIFT = frozenset({"bitwise_left_shift", "bitwise_right_shift"})
_BINARY_LOGICAL = frozenset({"logical_and", "logical_or", "logical_xor"})
_BINARY_ANY = frozenset({"equal", "not_equal", "maximum", "minimum"})


# ---- kernels and launches ---------------------------------------------------------------------
class _Launch:
    """Per-device launch parameters, fixed at first use so PoCL sees few local sizes."""

    __slots__ = ("vec", "local_big", "local_small", "threshold", "kernels", "sizes")

    def __init__(self, device: Device) -> None:
        cpu = device.caps.kind == "cpu"
        self.vec = 16 if cpu else 1
        self.local_big = 64 if cpu else 256
        self.local_small = 8 if cpu else 64
        # Below this many work-items use the small work-group, so both CPU cores get work.
        self.threshold = 2 * self.local_big * max(device.caps.compute_units, 1)
        self.kernels: dict = {}
        self.sizes: dict = {}  # n -> (global, local) of the contiguous kernels


_LAUNCH: dict[Device, _Launch] = {}


def _launch_for(device: Device) -> _Launch:
    info = _LAUNCH.get(device)
    if info is None:
        info = _LAUNCH[device] = _Launch(device)
    return info


def _sizes(info: _Launch, items: int) -> tuple[tuple[int], tuple[int]]:
    local = info.local_big if items >= info.threshold else info.local_small
    return ((items + local - 1) // local * local,), (local,)


def _defines_for(device: Device, dtype: np.dtype) -> dict:
    defines = {
        "T": _dt.C_TYPE[dtype],
        "KIND": _dt.kind_code(dtype),
        "BITS": dtype.itemsize * 8,
        "VEC": _launch_for(device).vec,
    }
    if dtype == _dt.float64:
        defines["FP64"] = 1
    return defines


_I64 = np.int64
_I32 = np.int32
_SCALAR_ARGS = {
    "contig1": [_I64, None, _I64, None, _I64],
    "strided1": [None, _I64, None, None],
    "contig2": [_I64, None, _I64, None, _I64, None, _I64],
    "strided2": [None, _I64, None, None, None],
    "where_contig": [_I64, None, _I64, None, _I64, None, _I64, None, _I64],
    "where_strided": [None, _I64, None, None, None, None],
}


def _kernel(device: Device, arity: int, name: str, variant: str, dtype: np.dtype) -> cl.Kernel:
    info = _launch_for(device)
    key = (arity, name, variant, dtype)
    kernel = info.kernels.get(key)
    if kernel is None:
        program = get_program(device, "elementwise", ARITY=arity, **_defines_for(device, dtype))
        kernel = cl.Kernel(program, f"elementwise_{name}_{variant}")
        if name == "where":
            kernel.set_scalar_arg_dtypes(_SCALAR_ARGS[f"where_{variant}"])
        elif variant == "scalar":
            kernel.set_scalar_arg_dtypes([_I64, None, _I64, None, _I64, _scalar_np(dtype), _I32])
        elif variant == "scalar_strided":
            kernel.set_scalar_arg_dtypes([None, _I64, None, None, _scalar_np(dtype), _I32])
        else:
            kernel.set_scalar_arg_dtypes(_SCALAR_ARGS[f"{variant}{arity}"])
        info.kernels[key] = kernel
    return kernel


def _scalar_np(dtype: np.dtype):
    return np.uint8 if dtype == _dt.bool else dtype.type


def _enqueue(op: str, device: Device, kernel: cl.Kernel, args, gsize, lsize) -> None:
    try:
        kernel.set_args(*args)
        cl.enqueue_nd_range_kernel(device.queue, kernel, gsize, lsize)
    except cl.Error as exc:
        code = exc.code if hasattr(exc, "code") else getattr(exc.args[0], "code", lambda: -1)()
        raise RuntimeError(
            f"{op}: launching kernel {kernel.function_name} (global {gsize}, local {lsize}) on "
            f"{device.id} failed with {status_name(code)}: {exc}"
        ) from None


# ---- layouts ---------------------------------------------------------------------------------
def broadcast_shapes(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for shape in shapes:
        for i, n in enumerate(shape, ndim - len(shape)):
            if n != out[i]:
                if out[i] == 1:
                    out[i] = n
                elif n != 1:
                    raise ValueError(
                        f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} do not "
                        "broadcast together"
                    )
    return tuple(out)


def _broadcast_strides(x: CLArray, shape: tuple[int, ...]) -> tuple[int, ...]:
    pad = len(shape) - x.ndim
    return (0,) * pad + tuple(0 if n == 1 else s for n, s in zip(x.shape, x.strides, strict=True))


def make_layout(op: str, shape: tuple[int, ...], operands) -> np.ndarray:
    """The ``layout_t`` bytes for ``shape`` and ``operands`` = [(offset, strides), ...].

    Size-1 axes are dropped and neighbouring axes merged where every operand allows it.
    """
    dims = [(n, [st[d] for _, st in operands]) for d, n in enumerate(shape) if n != 1]
    merged: list = []
    for n, strides in dims:
        if merged:
            pn, pstrides = merged[-1]
            if all(ps == s * n for ps, s in zip(pstrides, strides, strict=True)):
                merged[-1] = (pn * n, strides)
                continue
        merged.append((n, strides))
    if len(merged) > MAXDIM:
        raise ValueError(
            f"{op}: at most {MAXDIM} non-mergeable dimensions are supported by the OpenCL "
            f"kernels, got shape {shape}; make the operands contiguous first"
        )
    layout = np.zeros(_LAYOUT_LEN, dtype=np.int64)
    layout[0] = len(merged)
    for d, (n, strides) in enumerate(merged):
        layout[1 + d] = n
        for k, s in enumerate(strides):
            layout[1 + MAXDIM + _NOPS + k * MAXDIM + d] = s
    for k, (offset, _) in enumerate(operands):
        layout[1 + MAXDIM + k] = offset
    return layout


# ---- operand checks --------------------------------------------------------------------
def _type_name(x) -> str:
    if isinstance(x, CLArray):
        return "OpenCL"
    module = type(x).__module__.split(".")[0]
    return f"{module}.{type(x).__name__}"


def _reject(op: str, a, b) -> None:
    raise TypeError(
        f"{op}: cannot mix a {_type_name(a)} array with a {_type_name(b)} value; move it to the "
        "OpenCL device with xp.asarray(..., device=...) first"
    )


def check_device(op: str, *arrays: CLArray) -> Device:
    device = arrays[0].device
    for other in arrays[1:]:
        if other.device is not device:
            raise ValueError(
                f"{op}: arrays live on different devices, {device.id} ({device.caps.name}) and "
                f"{other.device.id} ({other.device.caps.name}); move one with .to_device(...)"
            )
    return device


def _is_scalar(x) -> bool:
    return isinstance(x, (bool, int, float, complex))


# ---- copies and casts -------------------------------------------------------------------
_UINT_OF_SIZE = {1: "uchar", 2: "ushort", 4: "uint", 8: "ulong"}


def _copy_kernel(device: Device, src: np.dtype, dst: np.dtype, name: str) -> cl.Kernel:
    info = _launch_for(device)
    key = ("copy", name, src, dst)
    kernel = info.kernels.get(key)
    if kernel is None:
        if src == dst and name != "iota":  # copies move bytes: one program per width
            src_t = dst_t = _UINT_OF_SIZE[src.itemsize]
            dst_bool = 0
        else:
            src_t, dst_t = _dt.C_TYPE[src], _dt.C_TYPE[dst]
            dst_bool = int(dst == _dt.bool)
        defines = {
            "SRC_T": src_t,
            "DST_T": dst_t,
            "DST_BOOL": dst_bool,
            "VEC": info.vec,
            "ACC_T": "double" if device.caps.fp64 else "float",
        }
        if device.caps.fp64:
            defines["FP64"] = 1
        program = get_program(device, "copy", **defines)
        kernel = cl.Kernel(program, f"copy_{name}")
        acc = np.float64 if device.caps.fp64 else np.float32
        arg_dtypes = {
            "contig": [_I64, None, _I64, None, _I64],
            "strided": [None, _I64, None, None],
            "fill_strided": [None, _I64, None, None],
            "iota": [_I64, None, _I64, acc, acc],
        }[name]
        kernel.set_scalar_arg_dtypes(arg_dtypes)
        info.kernels[key] = kernel
    return kernel


def copy_into(dst: CLArray, src: CLArray) -> None:
    """``dst[...] = src`` with broadcasting and a dtype cast; ``dst`` may be any strided view."""
    device = check_device("copy", dst, src)
    if dst.size == 0:
        return
    info = _launch_for(device)
    if src.shape != dst.shape:
        broadcast_shapes("copy", src.shape, dst.shape)
        if broadcast_shapes("copy", src.shape, dst.shape) != dst.shape:
            raise ValueError(f"copy: cannot broadcast shape {src.shape} to {dst.shape}")
    if (
        src.dtype == dst.dtype
        and src.shape == dst.shape
        and src.is_contiguous()
        and dst.is_contiguous()
    ):
        size = dst.itemsize
        cl.enqueue_copy(
            device.queue,
            dst.buffer,
            src.buffer,
            byte_count=dst.size * size,
            src_offset=src.offset * size,
            dst_offset=dst.offset * size,
        )
        return
    if src.shape == dst.shape and src.is_contiguous() and dst.is_contiguous():
        kernel = _copy_kernel(device, src.dtype, dst.dtype, "contig")
        gsize, lsize = _sizes(info, -(-dst.size // info.vec))
        _enqueue(
            "astype",
            device,
            kernel,
            (dst.size, dst.buffer, dst.offset, src.buffer, src.offset),
            gsize,
            lsize,
        )
        return
    layout = make_layout(
        "copy",
        dst.shape,
        [(dst.offset, dst.strides), (src.offset, _broadcast_strides(src, dst.shape))],
    )
    kernel = _copy_kernel(device, src.dtype, dst.dtype, "strided")
    gsize, lsize = _sizes(info, dst.size)
    _enqueue("copy", device, kernel, (layout, dst.size, dst.buffer, src.buffer), gsize, lsize)


def fill(dst: CLArray, value) -> None:
    """``dst[...] = value`` for a Python scalar; ``dst`` may be any strided view."""
    if dst.size == 0:
        return
    device = dst.device
    host = (
        np.array(value).astype(dst.dtype)
        if not isinstance(value, np.generic)
        else np.asarray(value, dtype=dst.dtype)
    )
    if dst.dtype == _dt.bool:
        host = host.astype(np.uint8)
    if dst.is_contiguous():
        size = dst.itemsize
        cl.enqueue_fill_buffer(
            device.queue, dst.buffer, host.reshape(1), dst.offset * size, dst.size * size
        )
        return
    info = _launch_for(device)
    layout = make_layout("fill", dst.shape, [(dst.offset, dst.strides)])
    kernel = _copy_kernel(device, dst.dtype, dst.dtype, "fill_strided")
    width = np.dtype(f"u{dst.itemsize}")
    gsize, lsize = _sizes(info, dst.size)
    _enqueue("fill", device, kernel, (layout, dst.size, dst.buffer, host.view(width)), gsize, lsize)


def iota(dst: CLArray, start: float, step: float) -> None:
    """``dst[i] = start + i * step`` for a contiguous 1-D ``dst``."""
    if dst.size == 0:
        return
    info = _launch_for(dst.device)
    kernel = _copy_kernel(
        dst.device, dst.dtype, dst.dtype if dst.dtype != _dt.bool else _dt.uint8, "iota"
    )
    gsize, lsize = _sizes(info, dst.size)
    _enqueue(
        "arange", dst.device, kernel, (dst.size, dst.buffer, dst.offset, start, step), gsize, lsize
    )


def astype(x: CLArray, dtype, /, *, copy: bool = True, device=None) -> CLArray:
    """``x`` converted to ``dtype`` (a copy unless ``copy=False`` and nothing changes)."""
    if not isinstance(x, CLArray):
        raise TypeError(f"astype: expected an OpenCL array, got {_type_name(x)}")
    if device is not None:
        x = x.to_device(device)
    dtype = _dt.as_dtype(dtype, x.device, "astype")
    if dtype == x.dtype and not copy:
        return x
    out = empty(x.shape, dtype, x.device)
    copy_into(out, x)
    return out


def _cast(x: CLArray, dtype: np.dtype) -> CLArray:
    return x if x.dtype == dtype else astype(x, dtype)


# ---- unary ---------------------------------------------------------------------------------
def _unary_into(name: str, x: CLArray, out: CLArray) -> None:
    device = x.device
    n = out.size
    if n == 0:
        return
    info = _launch_for(device)
    if x.is_contiguous() and out.is_contiguous() and x.shape == out.shape:
        kernel = _kernel(device, 1, name, "contig", x.dtype)
        gsize, lsize = _sizes(info, -(-n // info.vec))
        _enqueue(
            name, device, kernel, (n, out.buffer, out.offset, x.buffer, x.offset), gsize, lsize
        )
        return
    layout = make_layout(
        name, out.shape, [(out.offset, out.strides), (x.offset, _broadcast_strides(x, out.shape))]
    )
    kernel = _kernel(device, 1, name, "strided", x.dtype)
    gsize, lsize = _sizes(info, n)
    _enqueue(name, device, kernel, (layout, n, out.buffer, x.buffer), gsize, lsize)


def unary(name: str, x) -> CLArray:
    """Apply the unary elementwise function ``name``; the result is a new contiguous array."""
    if not isinstance(x, CLArray):
        raise TypeError(f"{name}: expected an OpenCL array, got {_type_name(x)}")
    dtype = x.dtype
    if name in _UNARY_FLOAT:
        if dtype.kind != "f":
            x = _cast(x, _dt.default_float(x.device))
    elif name in _UNARY_ROUNDING:
        if dtype.kind != "f":
            name = "positive"  # rounding an integer is the identity
    elif name in _UNARY_PREDICATE:
        if dtype.kind != "f":
            from .creation import full

            if name == "signbit" and dtype.kind == "i":
                return binary("less", x, 0)
            return full(x.shape, name == "isfinite", dtype=_dt.bool, device=x.device)
    elif name in _UNARY_NUMERIC:
        if dtype == _dt.bool:
            raise TypeError(f"{name}: expected a numeric array, got bool")
    elif name == "bitwise_invert":
        if dtype.kind == "f":
            raise TypeError(f"bitwise_invert: expected an integer or bool array, got {dtype}")
    elif name == "logical_not":
        x = _cast(x, _dt.bool)
    out_dtype = _dt.bool if name in _UNARY_PREDICATE or name == "logical_not" else x.dtype
    out = empty(x.shape, out_dtype, x.device)
    _unary_into(name, x, out)
    return out


# ---- binary --------------------------------------------------------------------------------
def _operand_dtypes(name: str, dtype: np.dtype, device: Device) -> tuple[np.dtype, np.dtype]:
    """(dtype the kernel runs in, result dtype) for the promoted input dtype."""
    if name in _BINARY_FLOAT:
        if dtype.kind != "f":
            dtype = _dt.default_float(device)
        return dtype, dtype
    if name in _BINARY_LOGICAL:
        return _dt.bool, _dt.bool
    if name in _BINARY_NUMERIC or name in _BINARY_ORDER:
        if dtype == _dt.bool:
            raise TypeError(f"{name}: expected numeric arrays, got bool")
    elif name in _BINARY_BITWISE:
        if dtype.kind == "f":
            raise TypeError(f"{name}: expected integer or bool arrays, got {dtype}")
    elif name in _BINARY_SHIFT:
        if dtype.kind not in "iu":
            raise TypeError(f"{name}: expected integer arrays, got {dtype}")
    return dtype, (_dt.bool if name in _BINARY_BOOL_OUT else dtype)


def _binary_into(name: str, a, b, out: CLArray, dtype: np.dtype) -> None:
    """``out[...] = name(a, b)``; a and b are CLArrays of ``dtype`` or Python scalars."""
    n = out.size
    if n == 0:
        return
    device = out.device
    info = _launch_for(device)
    shape = out.shape
    if isinstance(b, CLArray) and isinstance(a, CLArray):
        if (
            a.shape == shape
            and b.shape == shape
            and a.is_contiguous()
            and b.is_contiguous()
            and out.is_contiguous()
        ):
            kernel = _kernel(device, 2, name, "contig", dtype)
            gsize, lsize = _sizes(info, -(-n // info.vec))
            _enqueue(
                name,
                device,
                kernel,
                (n, out.buffer, out.offset, a.buffer, a.offset, b.buffer, b.offset),
                gsize,
                lsize,
            )
            return
        layout = make_layout(
            name,
            shape,
            [
                (out.offset, out.strides),
                (a.offset, _broadcast_strides(a, shape)),
                (b.offset, _broadcast_strides(b, shape)),
            ],
        )
        kernel = _kernel(device, 2, name, "strided", dtype)
        gsize, lsize = _sizes(info, n)
        _enqueue(name, device, kernel, (layout, n, out.buffer, a.buffer, b.buffer), gsize, lsize)
        return
    swap = 0 if isinstance(a, CLArray) else 1
    arr, scalar = (a, b) if swap == 0 else (b, a)
    value = np.array(scalar).astype(dtype) if dtype != _dt.bool else np.uint8(bool(scalar))
    if arr.shape == shape and arr.is_contiguous() and out.is_contiguous():
        kernel = _kernel(device, 2, name, "scalar", dtype)
        gsize, lsize = _sizes(info, -(-n // info.vec))
        _enqueue(
            name,
            device,
            kernel,
            (n, out.buffer, out.offset, arr.buffer, arr.offset, value, swap),
            gsize,
            lsize,
        )
        return
    layout = make_layout(
        name, shape, [(out.offset, out.strides), (arr.offset, _broadcast_strides(arr, shape))]
    )
    kernel = _kernel(device, 2, name, "scalar_strided", dtype)
    gsize, lsize = _sizes(info, n)
    _enqueue(name, device, kernel, (layout, n, out.buffer, arr.buffer, value, swap), gsize, lsize)


def _prepare_binary(name: str, a, b):
    """Checks, promotes and casts; returns (a, b, kernel dtype, result dtype, shape, device)."""
    a_arr = isinstance(a, CLArray)
    b_arr = isinstance(b, CLArray)
    if a_arr and b_arr:
        device = check_device(name, a, b)
        common = a.dtype if a.dtype == b.dtype else _dt.result_type(a.dtype, b.dtype)
        shape = a.shape if a.shape == b.shape else broadcast_shapes(name, a.shape, b.shape)
    elif a_arr or b_arr:
        arr, other = (a, b) if a_arr else (b, a)
        if not _is_scalar(other):
            _reject(name, a, b)
        device = arr.device
        common = _dt.result_type(arr.dtype, _dt.scalar_dtype(other, arr.dtype, device, name))
        shape = arr.shape
    else:
        raise TypeError(
            f"{name}: expected at least one OpenCL array, got {_type_name(a)} and {_type_name(b)}"
        )
    kdtype, out_dtype = _operand_dtypes(name, common, device)
    if a_arr:
        a = _cast(a, kdtype)
    if b_arr:
        b = _cast(b, kdtype)
    return a, b, kdtype, out_dtype, shape, device


def binary(name: str, a, b) -> CLArray:
    """Apply the binary elementwise function ``name`` with broadcasting and type promotion."""
    # Fast path: two contiguous arrays of one dtype, shape and device (most calls in a model).
    # Everything it needs was cached by an earlier call through the general path.
    if type(b) is CLArray and type(a) is CLArray and a._contig and b._contig:
        dtype = a.dtype
        shape = a.shape
        device = a.device
        if b.dtype is dtype and b.shape == shape and b.device is device:
            entry = _FAST.get((device, name, dtype))
            if entry is not None:
                kernel, out_dtype, info = entry
                n = a.size
                out = _new_contiguous(device, shape, a.strides, n, out_dtype)
                if n:
                    sizes = info.sizes.get(n)
                    if sizes is None:
                        sizes = _sizes(info, -(-n // info.vec))
                        if len(info.sizes) < 4096:
                            info.sizes[n] = sizes
                    try:
                        kernel.set_args(n, out.buffer, 0, a.buffer, a.offset, b.buffer, b.offset)
                        cl.enqueue_nd_range_kernel(device.queue, kernel, sizes[0], sizes[1])
                    except cl.Error:
                        _enqueue(
                            name,
                            device,
                            kernel,
                            (n, out.buffer, 0, a.buffer, a.offset, b.buffer, b.offset),
                            *sizes,
                        )
                return out
    a, b, kdtype, out_dtype, shape, device = _prepare_binary(name, a, b)
    out = empty(shape, out_dtype, device)
    _binary_into(name, a, b, out, kdtype)
    if type(a) is CLArray and type(b) is CLArray and a.dtype is kdtype and b.dtype is kdtype:
        info = _launch_for(device)
        kernel = info.kernels.get((2, name, "contig", kdtype))
        if kernel is not None:
            _FAST[device, name, kdtype] = (kernel, out_dtype, info)
    return out


def _new_contiguous(device: Device, shape, strides, size: int, dtype: np.dtype) -> CLArray:
    """A fresh C-contiguous array, skipping the generic constructor (dispatch hot path)."""
    nbytes = size * dtype.itemsize
    out = _new_array(CLArray)
    out.device = device
    out.buffer = device.allocator.allocate(nbytes if nbytes > 8 else 8)
    out.offset = 0
    out.shape = shape
    out.strides = strides
    out.dtype = dtype
    out.size = size
    out._contig = True
    return out


_new_array = object.__new__

_FAST: dict = {}  # (device, op, dtype) -> (contig kernel, result dtype, launch info)


def _overlaps(x: CLArray, other) -> bool:
    return (
        isinstance(other, CLArray)
        and other.buffer is x.buffer
        and (other.offset != x.offset or other.strides != x.strides or other.shape != x.shape)
    )


def binary_inplace(name: str, x: CLArray, other) -> CLArray:
    """``x op= other``: the result must keep x's dtype and shape (array API rules)."""
    a, b, kdtype, out_dtype, shape, device = _prepare_binary(name, x, other)
    if out_dtype != x.dtype:
        raise TypeError(
            f"{name}: in-place result would be {out_dtype}, but the array is "
            f"{x.dtype}; use the out-of-place form"
        )
    if shape != x.shape:
        raise ValueError(
            f"{name}: in-place result would have shape {shape}, but the array has {x.shape}"
        )
    if a is x and not _overlaps(x, b):
        _binary_into(name, a, b, x, kdtype)
    else:
        tmp = empty(shape, out_dtype, device)
        _binary_into(name, a, b, tmp, kdtype)
        copy_into(x, tmp)
    return x


# ---- the standard's functions -------------------------------------------------------------
def abs(x, /):
    """Elementwise absolute value."""
    return unary("abs", x)


def acos(x, /):
    return unary("acos", x)


def acosh(x, /):
    return unary("acosh", x)


def asin(x, /):
    return unary("asin", x)


def asinh(x, /):
    return unary("asinh", x)


def atan(x, /):
    return unary("atan", x)


def atanh(x, /):
    return unary("atanh", x)


def cos(x, /):
    return unary("cos", x)


def cosh(x, /):
    return unary("cosh", x)


def sin(x, /):
    return unary("sin", x)


def sinh(x, /):
    return unary("sinh", x)


def tan(x, /):
    return unary("tan", x)


def tanh(x, /):
    return unary("tanh", x)


def exp(x, /):
    return unary("exp", x)


def expm1(x, /):
    return unary("expm1", x)


def log(x, /):
    return unary("log", x)


def log1p(x, /):
    return unary("log1p", x)


def log2(x, /):
    return unary("log2", x)


def log10(x, /):
    return unary("log10", x)


def sqrt(x, /):
    return unary("sqrt", x)


def square(x, /):
    return unary("square", x)


def reciprocal(x, /):
    """``1 / x`` elementwise (not in the standard; cheaper than ``divide(1, x)``)."""
    return unary("reciprocal", x)


def ceil(x, /):
    return unary("ceil", x)


def floor(x, /):
    return unary("floor", x)


def trunc(x, /):
    return unary("trunc", x)


def round(x, /):
    """Round half to even, elementwise."""
    return unary("round", x)


def sign(x, /):
    return unary("sign", x)


def signbit(x, /):
    return unary("signbit", x)


def isnan(x, /):
    return unary("isnan", x)


def isinf(x, /):
    return unary("isinf", x)


def isfinite(x, /):
    return unary("isfinite", x)


def negative(x, /):
    return unary("negative", x)


def positive(x, /):
    return unary("positive", x)


def bitwise_invert(x, /):
    return unary("bitwise_invert", x)


def logical_not(x, /):
    return unary("logical_not", x)


def add(x1, x2, /):
    """Elementwise ``x1 + x2`` with broadcasting."""
    return binary("add", x1, x2)


def subtract(x1, x2, /):
    return binary("subtract", x1, x2)


def multiply(x1, x2, /):
    return binary("multiply", x1, x2)


def divide(x1, x2, /):
    """True division; integer inputs give the default floating dtype."""
    return binary("divide", x1, x2)


def floor_divide(x1, x2, /):
    return binary("floor_divide", x1, x2)


def remainder(x1, x2, /):
    return binary("remainder", x1, x2)


def pow(x1, x2, /):
    return binary("pow", x1, x2)


def maximum(x1, x2, /):
    return binary("maximum", x1, x2)


def minimum(x1, x2, /):
    return binary("minimum", x1, x2)


def atan2(x1, x2, /):
    return binary("atan2", x1, x2)


def hypot(x1, x2, /):
    return binary("hypot", x1, x2)


def copysign(x1, x2, /):
    return binary("copysign", x1, x2)


def nextafter(x1, x2, /):
    return binary("nextafter", x1, x2)


def logaddexp(x1, x2, /):
    return binary("logaddexp", x1, x2)


def equal(x1, x2, /):
    return binary("equal", x1, x2)


def not_equal(x1, x2, /):
    return binary("not_equal", x1, x2)


def less(x1, x2, /):
    return binary("less", x1, x2)


def less_equal(x1, x2, /):
    return binary("less_equal", x1, x2)


def greater(x1, x2, /):
    return binary("greater", x1, x2)


def greater_equal(x1, x2, /):
    return binary("greater_equal", x1, x2)


def bitwise_and(x1, x2, /):
    return binary("bitwise_and", x1, x2)


def bitwise_or(x1, x2, /):
    return binary("bitwise_or", x1, x2)


def bitwise_xor(x1, x2, /):
    return binary("bitwise_xor", x1, x2)


def bitwise_left_shift(x1, x2, /):
    return binary("bitwise_left_shift", x1, x2)


def bitwise_right_shift(x1, x2, /):
    return binary("bitwise_right_shift", x1, x2)


def logical_and(x1, x2, /):
    return binary("logical_and", x1, x2)


def logical_or(x1, x2, /):
    return binary("logical_or", x1, x2)


def logical_xor(x1, x2, /):
    return binary("logical_xor", x1, x2)


def clip(x, /, min=None, max=None):  # noqa: A002 - the standard's names
    """Clamp ``x`` to ``[min, max]``; the result keeps ``x``'s dtype and shape."""
    if not isinstance(x, CLArray):
        raise TypeError(f"clip: expected an OpenCL array, got {_type_name(x)}")
    out = x
    for bound, name in ((min, "maximum"), (max, "minimum")):
        if bound is None:
            continue
        if isinstance(bound, CLArray):
            bound = _cast(bound, x.dtype)
        elif _is_scalar(bound) and x.dtype.kind in "iu" and isinstance(bound, float):
            bound = int(math.floor(bound)) if name == "maximum" else int(math.ceil(bound))
        out = binary(name, out, bound)
    if out.shape != x.shape:
        raise ValueError(f"clip: bounds of shape {out.shape} do not broadcast to {x.shape}")
    return positive(out) if out is x else out


def where(condition, x1, x2, /):
    """``x1`` where ``condition`` is true, else ``x2``, with broadcasting."""
    arrays = [v for v in (condition, x1, x2) if isinstance(v, CLArray)]
    if not arrays:
        raise TypeError(
            "where: expected OpenCL arrays, got "
            + ", ".join(_type_name(v) for v in (condition, x1, x2))
        )
    for v in (condition, x1, x2):
        if not isinstance(v, CLArray) and not _is_scalar(v):
            _reject("where", arrays[0], v)
    device = check_device("where", *arrays)
    if not isinstance(condition, CLArray):
        condition = from_numpy(np.asarray(bool(condition)), device)
    value_arrays = [v for v in (x1, x2) if isinstance(v, CLArray)]
    if value_arrays:
        dtype = _dt.result_type(*value_arrays, *[v for v in (x1, x2) if _is_scalar(v)])
    else:
        dtype = _dt.result_type(
            np.asarray(x1).dtype if not isinstance(x1, float) else _dt.default_float(device), x2
        )
    x1 = _cast(x1, dtype) if isinstance(x1, CLArray) else from_numpy(np.asarray(x1, dtype), device)
    x2 = _cast(x2, dtype) if isinstance(x2, CLArray) else from_numpy(np.asarray(x2, dtype), device)
    condition = _cast(condition, _dt.bool)
    shape = broadcast_shapes("where", condition.shape, x1.shape, x2.shape)
    out = empty(shape, dtype, device)
    n = out.size
    if n == 0:
        return out
    info = _launch_for(device)
    if all(v.shape == shape and v.is_contiguous() for v in (condition, x1, x2)):
        kernel = _kernel(device, 2, "where", "contig", dtype)
        gsize, lsize = _sizes(info, -(-n // info.vec))
        _enqueue(
            "where",
            device,
            kernel,
            (
                n,
                out.buffer,
                0,
                condition.buffer,
                condition.offset,
                x1.buffer,
                x1.offset,
                x2.buffer,
                x2.offset,
            ),
            gsize,
            lsize,
        )
        return out
    layout = make_layout(
        "where",
        shape,
        [(0, out.strides)]
        + [(v.offset, _broadcast_strides(v, shape)) for v in (condition, x1, x2)],
    )
    kernel = _kernel(device, 2, "where", "strided", dtype)
    gsize, lsize = _sizes(info, n)
    _enqueue(
        "where",
        device,
        kernel,
        (layout, n, out.buffer, condition.buffer, x1.buffer, x2.buffer),
        gsize,
        lsize,
    )
    return out
