"""Host side of ``kernels/elementwise.cl``: every elementwise function of the namespace.

One program per (dtype, arity) holds every op of that arity (see the header of elementwise.cl).
Each call picks one of four launches:

* ``contig``: all operands C-contiguous with the output's shape (16 elements per work-item with
  ``vload16`` on CPUs, one per work-item on GPUs);
* ``scalar``: one operand is a Python scalar, passed by value;
* ``strided``/``scalar_strided``: anything else; broadcasting via stride 0, with the shape and
  strides (after merging contiguous axes) passed by value as a ``layout_t`` struct.

The common case (same dtype, same shape, contiguous) takes a short path with no generic
dtype or shape logic, because dispatch time matters for small arrays.

Adding a function: its ``UNARY_KERNELS``/``BINARY_KERNELS`` line in ``elementwise.cl`` and one
entry in :data:`UNARY` or :data:`BINARY` below, which names its dtype rule. The namespace
function, ``__all__``, the namespace's exports and the OpenCL tests are built from these tables.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from . import complexes as _cx
from . import dtypes as _dt
from .array import CLArray, empty, from_numpy
from .copy import cast, copy_into, fill
from .device import Device
from .docstrings import elementwise_doc
from .launch import Kernel, get_kernel
from .layout import (
    broadcast_shapes,
    broadcast_strides,
    buffer_args,
    check_device,
    is_scalar,
    make_layout,
    python_scalar,
    reject,
    type_name,
)

# ---- the table -----------------------------------------------------------------------------
# Dtype rules of the unary functions:
FLOAT = "float"  # integers are computed in the default floating dtype
ROUNDING = "rounding"  # the identity on integers
PREDICATE = "predicate"  # bool result; constant on integers
NUMERIC = "numeric"  # bool input rejected
INTEGRAL = "integral"  # integers and bool only
LOGICAL = "logical"  # inputs cast to bool, bool result
ANY = "any"  # every dtype, result of the input's dtype
# ... and of the binary functions (NUMERIC, FLOAT, INTEGRAL and LOGICAL as above):
ORDER = "order"  # numeric inputs, bool result
EQUALITY = "equality"  # any inputs, bool result
SHIFT = "shift"  # integers only

UNARY: dict[str, tuple[str, str]] = {
    "abs": (NUMERIC, "Elementwise absolute value."),
    "acos": (FLOAT, "Elementwise inverse cosine."),
    "acosh": (FLOAT, "Elementwise inverse hyperbolic cosine."),
    "asin": (FLOAT, "Elementwise inverse sine."),
    "asinh": (FLOAT, "Elementwise inverse hyperbolic sine."),
    "atan": (FLOAT, "Elementwise inverse tangent."),
    "atanh": (FLOAT, "Elementwise inverse hyperbolic tangent."),
    "bitwise_invert": (INTEGRAL, "Elementwise bitwise NOT (logical NOT for bool)."),
    "ceil": (ROUNDING, "Elementwise ceiling."),
    "cos": (FLOAT, "Elementwise cosine."),
    "cosh": (FLOAT, "Elementwise hyperbolic cosine."),
    "exp": (FLOAT, "Elementwise ``e ** x``."),
    "expm1": (FLOAT, "Elementwise ``exp(x) - 1``, accurate near 0."),
    "floor": (ROUNDING, "Elementwise floor."),
    "isfinite": (PREDICATE, "Whether each element is finite."),
    "isinf": (PREDICATE, "Whether each element is +-infinity."),
    "isnan": (PREDICATE, "Whether each element is NaN."),
    "log": (FLOAT, "Elementwise natural logarithm."),
    "log1p": (FLOAT, "Elementwise ``log(1 + x)``, accurate near 0."),
    "log2": (FLOAT, "Elementwise base-2 logarithm."),
    "log10": (FLOAT, "Elementwise base-10 logarithm."),
    "logical_not": (LOGICAL, "Elementwise logical NOT."),
    "negative": (NUMERIC, "Elementwise ``-x``."),
    "positive": (ANY, "Elementwise ``+x`` (a copy)."),
    "reciprocal": (FLOAT, "``1 / x`` elementwise (not in the standard; cheaper than divide)."),
    "round": (ROUNDING, "Round half to even, elementwise."),
    "sign": (NUMERIC, "Elementwise sign: -1, 0 or 1 (NaN kept; -0 gives +0)."),
    "signbit": (PREDICATE, "Whether each element's sign bit is set."),
    "sin": (FLOAT, "Elementwise sine."),
    "sinh": (FLOAT, "Elementwise hyperbolic sine."),
    "sqrt": (FLOAT, "Elementwise square root."),
    "square": (NUMERIC, "Elementwise ``x * x``."),
    "tan": (FLOAT, "Elementwise tangent."),
    "tanh": (FLOAT, "Elementwise hyperbolic tangent."),
    "trunc": (ROUNDING, "Elementwise rounding toward zero."),
}

BINARY: dict[str, tuple[str, str]] = {
    "add": (NUMERIC, "Elementwise ``x1 + x2`` with broadcasting."),
    "atan2": (FLOAT, "Elementwise quadrant-aware ``atan(x1 / x2)``."),
    "bitwise_and": (INTEGRAL, "Elementwise bitwise AND."),
    "bitwise_left_shift": (SHIFT, "Elementwise ``x1 << x2``."),
    "bitwise_or": (INTEGRAL, "Elementwise bitwise OR."),
    "bitwise_right_shift": (SHIFT, "Elementwise ``x1 >> x2``."),
    "bitwise_xor": (INTEGRAL, "Elementwise bitwise XOR."),
    "copysign": (FLOAT, "``x1`` with the sign of ``x2``, elementwise."),
    "divide": (FLOAT, "True division; integer inputs give the default floating dtype."),
    "equal": (EQUALITY, "Elementwise ``x1 == x2``."),
    "floor_divide": (NUMERIC, "Elementwise ``x1 // x2`` (Python semantics)."),
    "greater": (ORDER, "Elementwise ``x1 > x2``."),
    "greater_equal": (ORDER, "Elementwise ``x1 >= x2``."),
    "hypot": (FLOAT, "Elementwise ``sqrt(x1**2 + x2**2)`` without overflow."),
    "less": (ORDER, "Elementwise ``x1 < x2``."),
    "less_equal": (ORDER, "Elementwise ``x1 <= x2``."),
    "logaddexp": (FLOAT, "Elementwise ``log(exp(x1) + exp(x2))`` without overflow."),
    "logical_and": (LOGICAL, "Elementwise logical AND."),
    "logical_or": (LOGICAL, "Elementwise logical OR."),
    "logical_xor": (LOGICAL, "Elementwise logical XOR."),
    "maximum": (ANY, "Elementwise maximum; NaN propagates."),
    "minimum": (ANY, "Elementwise minimum; NaN propagates."),
    "multiply": (NUMERIC, "Elementwise ``x1 * x2`` with broadcasting."),
    "nextafter": (FLOAT, "The next float after ``x1`` towards ``x2``, elementwise."),
    "not_equal": (EQUALITY, "Elementwise ``x1 != x2``."),
    "pow": (NUMERIC, "Elementwise ``x1 ** x2``."),
    "remainder": (NUMERIC, "Elementwise ``x1 % x2`` (the divisor's sign)."),
    "subtract": (NUMERIC, "Elementwise ``x1 - x2`` with broadcasting."),
}

_BOOL_RESULT = frozenset({PREDICATE, LOGICAL, ORDER, EQUALITY})

# What this module adds to the namespace (binary, unary and binary_inplace serve the other
# host modules and CLArray's operators).
__all__ = [*UNARY, *BINARY, "clip", "conj", "imag", "real", "where"]


# ---- kernels -----------------------------------------------------------------------------
def _kernel(device: Device, arity: int, name: str, variant: str, dtype: np.dtype) -> Kernel:
    defines = {
        "ARITY": arity,
        **_dt.storage_defines(dtype),  # T, and STORAGE for the 16-bit dtypes (T float)
        "KIND": _dt.kind_code(dtype),
        "BITS": 32 if dtype in _dt.STORAGE else dtype.itemsize * 8,
        "VEC": device.vector_width,
    }
    if dtype == _dt.float64:
        defines["FP64"] = 1
    return get_kernel(device, "elementwise", f"elementwise_{name}_{variant}", **defines)


def _contig_items(device: Device, n: int) -> int:
    """Work-items for ``n`` elements: every kernel of the family takes ``vector_width`` each."""
    return -(-n // device.vector_width)


# ---- unary ---------------------------------------------------------------------------------
def _unary_into(name: str, x: CLArray, out: CLArray) -> None:
    device = x.device
    n = out.size
    if n == 0:
        return
    shapes = (x.shape,)
    if x.is_contiguous() and out.is_contiguous() and x.shape == out.shape:
        _kernel(device, 1, name, "contig", x.dtype).launch_items(
            _contig_items(device, n), n, *buffer_args(out, x), op=name, shapes=shapes
        )
        return
    layout = make_layout(
        name, out.shape, [(out.offset, out.strides), (x.offset, broadcast_strides(x, out.shape))]
    )
    _kernel(device, 1, name, "strided", x.dtype).launch_items(
        _contig_items(device, n), layout, n, out.buffer, x.buffer, op=name, shapes=shapes
    )


def unary(name: str, x) -> CLArray:
    """Apply the unary elementwise function ``name``; the result is a new contiguous array."""
    if not isinstance(x, CLArray):
        raise TypeError(f"{name}: expected an OpenCL array, got {type_name(x)}")
    if x.dtype.kind == "c":
        return _cx.unary(name, x)
    rule = UNARY[name][0]
    dtype = x.dtype
    if rule == FLOAT:
        if not _dt.is_floating(dtype):
            x = cast(x, _dt.default_float(x.device))
    elif rule == ROUNDING:
        if not _dt.is_floating(dtype):
            name = "positive"  # rounding an integer is the identity
    elif rule == PREDICATE:
        if not _dt.is_floating(dtype):
            if name == "signbit" and dtype.kind == "i":
                return binary("less", x, 0)
            out = empty(x.shape, _dt.bool, x.device)
            fill(out, name == "isfinite")
            return out
    elif rule == NUMERIC:
        if dtype == _dt.bool:
            raise TypeError(f"{name}: expected a numeric array, got bool")
    elif rule == INTEGRAL:
        if _dt.is_floating(dtype):
            raise TypeError(f"{name}: expected an integer or bool array, got {dtype}")
    elif rule == LOGICAL:
        x = cast(x, _dt.bool)
    out_dtype = _dt.bool if rule in _BOOL_RESULT else x.dtype
    out = empty(x.shape, out_dtype, x.device)
    _unary_into(name, x, out)
    return out


# ---- binary --------------------------------------------------------------------------------
def _operand_dtypes(name: str, dtype: np.dtype, device: Device) -> tuple[np.dtype, np.dtype]:
    """(dtype the kernel runs in, result dtype) for the promoted input dtype."""
    rule = BINARY[name][0]
    if rule == FLOAT:
        if not _dt.is_floating(dtype):
            dtype = _dt.default_float(device)
        return dtype, dtype
    if rule == LOGICAL:
        return _dt.bool, _dt.bool
    if rule in (NUMERIC, ORDER):
        if dtype == _dt.bool:
            raise TypeError(f"{name}: expected numeric arrays, got bool")
    elif rule == INTEGRAL:
        if _dt.is_floating(dtype):
            raise TypeError(f"{name}: expected integer or bool arrays, got {dtype}")
    elif rule == SHIFT:
        if dtype.kind not in "iu":
            raise TypeError(f"{name}: expected integer arrays, got {dtype}")
    return dtype, (_dt.bool if rule in _BOOL_RESULT else dtype)


def _binary_into(name: str, a, b, out: CLArray, dtype: np.dtype) -> None:
    """``out[...] = name(a, b)``; a and b are CLArrays of ``dtype`` or Python scalars."""
    n = out.size
    if n == 0:
        return
    device = out.device
    shape = out.shape
    if isinstance(b, CLArray) and isinstance(a, CLArray):
        shapes = (a.shape, b.shape)
        if (
            a.shape == shape
            and b.shape == shape
            and a.is_contiguous()
            and b.is_contiguous()
            and out.is_contiguous()
        ):
            _kernel(device, 2, name, "contig", dtype).launch_items(
                _contig_items(device, n), n, *buffer_args(out, a, b), op=name, shapes=shapes
            )
            return
        layout = make_layout(
            name,
            shape,
            [
                (out.offset, out.strides),
                (a.offset, broadcast_strides(a, shape)),
                (b.offset, broadcast_strides(b, shape)),
            ],
        )
        _kernel(device, 2, name, "strided", dtype).launch_items(
            _contig_items(device, n),
            layout,
            n,
            out.buffer,
            a.buffer,
            b.buffer,
            op=name,
            shapes=shapes,
        )
        return
    swap = 0 if isinstance(a, CLArray) else 1
    arr, scalar = (a, b) if swap == 0 else (b, a)
    value = np.array(scalar).astype(dtype) if dtype != _dt.bool else np.uint8(bool(scalar))
    value = value.item()  # a Python number: the kernel's argument type packs it
    shapes = (arr.shape, ())
    if arr.shape == shape and arr.is_contiguous() and out.is_contiguous():
        _kernel(device, 2, name, "scalar", dtype).launch_items(
            _contig_items(device, n),
            n,
            *buffer_args(out, arr),
            value,
            swap,
            op=name,
            shapes=shapes,
        )
        return
    layout = make_layout(
        name, shape, [(out.offset, out.strides), (arr.offset, broadcast_strides(arr, shape))]
    )
    _kernel(device, 2, name, "scalar_strided", dtype).launch_items(
        _contig_items(device, n),
        layout,
        n,
        out.buffer,
        arr.buffer,
        value,
        swap,
        op=name,
        shapes=shapes,
    )


def _prepare_binary(name: str, a, b):
    """Checks, promotes and casts; returns (a, b, kernel dtype, result dtype, shape, device)."""
    a, b = python_scalar(a), python_scalar(b)
    a_arr = isinstance(a, CLArray)
    b_arr = isinstance(b, CLArray)
    if a_arr and b_arr:
        device = check_device(name, a, b)
        common = a.dtype if a.dtype == b.dtype else _dt.result_type(a.dtype, b.dtype)
        shape = a.shape if a.shape == b.shape else broadcast_shapes(name, a.shape, b.shape)
    elif a_arr or b_arr:
        arr, other = (a, b) if a_arr else (b, a)
        if not is_scalar(other):
            reject(name, a, b)
        device = arr.device
        common = _dt.result_type(arr.dtype, _dt.scalar_dtype(other, arr.dtype, device, name))
        shape = arr.shape
    else:
        raise TypeError(
            f"{name}: expected at least one OpenCL array, got {type_name(a)} and {type_name(b)}"
        )
    kdtype, out_dtype = _operand_dtypes(name, common, device)
    if a_arr:
        a = cast(a, kdtype)
    if b_arr:
        b = cast(b, kdtype)
    return a, b, kdtype, out_dtype, shape, device


def binary(name: str, a, b) -> CLArray:
    """Apply the binary elementwise function ``name`` with broadcasting and type promotion."""
    # Fast path: two contiguous arrays of one dtype, shape and device (most calls in a model).
    # The kernel and result dtype were cached on the device by an earlier general call.
    if type(b) is CLArray and type(a) is CLArray and a._contig and b._contig:
        dtype = a.dtype
        shape = a.shape
        device = a.device
        if b.dtype is dtype and b.shape == shape and b.device is device:
            entry = device.state.get(("binary", name, dtype))
            if entry is not None:
                kern, out_dtype = entry
                n = a.size
                out = _new_contiguous(device, shape, a.strides, n, out_dtype)
                kern.launch_items(
                    -(-n // device.vector_width),
                    n,
                    out.buffer,
                    0,
                    a.buffer,
                    a.offset,
                    b.buffer,
                    b.offset,
                    op=name,
                    shapes=(shape, shape),
                )
                return out
    if _cx.is_complex(a) or _cx.is_complex(b):
        return _cx.binary(name, a, b)
    a, b, kdtype, out_dtype, shape, device = _prepare_binary(name, a, b)
    out = empty(shape, out_dtype, device)
    _binary_into(name, a, b, out, kdtype)
    if type(a) is CLArray and type(b) is CLArray and a.dtype is kdtype and b.dtype is kdtype:
        device.state["binary", name, kdtype] = (
            _kernel(device, 2, name, "contig", kdtype),
            out_dtype,
        )
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


def _overlaps(x: CLArray, other) -> bool:
    return (
        isinstance(other, CLArray)
        and other.buffer is x.buffer
        and (other.offset != x.offset or other.strides != x.strides or other.shape != x.shape)
    )


def binary_inplace(name: str, x: CLArray, other) -> CLArray:
    """``x op= other``: the result must keep x's dtype and shape (array API rules)."""
    if _cx.is_complex(x) or _cx.is_complex(other):
        result = _cx.binary(name, x, other)
        out_dtype, shape = result.dtype, result.shape
    else:
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
    x.bump_version()
    if _cx.is_complex(x) or _cx.is_complex(other):
        copy_into(x, result)
    elif a is x and not _overlaps(x, b):
        _binary_into(name, a, b, x, kdtype)
    else:
        tmp = empty(shape, out_dtype, device)
        _binary_into(name, a, b, tmp, kdtype)
        copy_into(x, tmp)
    return x


# ---- the standard's functions, one per table entry ------------------------------------------
def _unary_function(name: str, doc: str):
    def function(x, /):
        return unary(name, x)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


def _binary_function(name: str, doc: str):
    def function(x1, x2, /):
        return binary(name, x1, x2)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


for _name, (_rule, _doc) in UNARY.items():
    globals()[_name] = _unary_function(_name, elementwise_doc(_name, 1, _rule, _doc))
for _name, (_rule, _doc) in BINARY.items():
    globals()[_name] = _binary_function(_name, elementwise_doc(_name, 2, _rule, _doc))
del _name, _rule, _doc


def clip(x, /, min=None, max=None):  # noqa: A002 - the standard's names
    """Clamp ``x`` to ``[min, max]``; the result keeps ``x``'s dtype, and its shape is that of
    ``x`` and the array bounds broadcast together (like numpy).

    Parameters
    ----------
    x : CLArray
        The input array.
    min, max : scalar, CLArray or None
        The bounds (arrays broadcast with ``x``).

    Returns
    -------
    CLArray
        ``x``'s dtype.

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.clip(xp.asarray([-2.0, 0.5, 3.0]), min=-1.0, max=1.0).to_numpy()
    array([-1. ,  0.5,  1. ], dtype=float32)
    """
    if not isinstance(x, CLArray):
        raise TypeError(f"clip: expected an OpenCL array, got {type_name(x)}")
    out = x
    for bound, name in ((python_scalar(min), "maximum"), (python_scalar(max), "minimum")):
        if bound is None:
            continue
        if isinstance(bound, CLArray):
            bound = cast(bound, x.dtype)
        elif is_scalar(bound) and x.dtype.kind in "iu":
            if isinstance(bound, float):
                bound = math.floor(bound) if name == "maximum" else math.ceil(bound)
            info = np.iinfo(x.dtype)  # a bound beyond the dtype's range saturates
            bound = builtins.min(builtins.max(int(bound), int(info.min)), int(info.max))
        out = binary(name, out, bound)
    return unary("positive", out) if out is x else out


def _numeric_array(op: str, x) -> CLArray:
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    if x.dtype == _dt.bool:
        raise TypeError(f"{op}: expected a numeric array, got bool")
    return x


def conj(x, /) -> CLArray:
    """Complex conjugate; a copy of ``x`` for real arrays.

    Parameters
    ----------
    x : CLArray
        The input array, real or complex.

    Returns
    -------
    CLArray
        The conjugate (same dtype); for a real array, a copy of ``x``.

    Raises
    ------
    TypeError
        When ``x`` is not a numeric OpenCL array.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.conj(xp.asarray(np.array([1 + 2j, -3j], dtype=np.complex64))).to_numpy()
    array([ 1.-2.j, -0.+3.j], dtype=complex64)
    """
    x = _numeric_array("conj", x)
    return _cx.conj(x) if x.dtype.kind == "c" else unary("positive", x)


def real(x, /) -> CLArray:
    """Real part (of the parts' float dtype); a copy of ``x`` for real arrays.

    Parameters
    ----------
    x : CLArray
        The input array, real or complex.

    Returns
    -------
    CLArray
        The real parts: float32 for complex64, float64 for complex128; for a real array, a
        copy of ``x``.

    Raises
    ------
    TypeError
        When ``x`` is not a numeric OpenCL array.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.real(xp.asarray(np.array([1 + 2j, -3j], dtype=np.complex64))).to_numpy()
    array([ 1., -0.], dtype=float32)
    """
    x = _numeric_array("real", x)
    return _cx.real(x) if x.dtype.kind == "c" else unary("positive", x)


def imag(x, /) -> CLArray:
    """Imaginary part (of the parts' float dtype); zeros of ``x``'s dtype for real arrays.

    Parameters
    ----------
    x : CLArray
        The input array, real or complex.

    Returns
    -------
    CLArray
        The imaginary parts: float32 for complex64, float64 for complex128; for a real array,
        zeros of ``x``'s shape and dtype.

    Raises
    ------
    TypeError
        When ``x`` is not a numeric OpenCL array.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.imag(xp.asarray(np.array([1 + 2j, -3j], dtype=np.complex64))).to_numpy()
    array([ 2., -3.], dtype=float32)
    """
    x = _numeric_array("imag", x)
    if x.dtype.kind == "c":
        return _cx.imag(x)
    out = empty(x.shape, x.dtype, x.device)
    fill(out, 0)
    return out


def where(condition, x1, x2, /):
    """``x1`` where ``condition`` is true, else ``x2``, with broadcasting.

    Parameters
    ----------
    condition : CLArray
        Boolean.
    x1, x2 : CLArray or scalar
        The values chosen from.

    Returns
    -------
    CLArray
        The broadcast shape, the promoted dtype.

    Raises
    ------
    TypeError
        When the arguments are not OpenCL arrays (or scalars for ``x1``, ``x2``).

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.where(xp.asarray([True, False]), xp.asarray([1, 2]), xp.asarray([3, 4])).to_numpy()
    array([1, 4])
    """
    condition, x1, x2 = python_scalar(condition), python_scalar(x1), python_scalar(x2)
    if _cx.is_complex(x1) or _cx.is_complex(x2):
        return _cx.where(condition, x1, x2)
    arrays = [v for v in (condition, x1, x2) if isinstance(v, CLArray)]
    if not arrays:
        raise TypeError(
            "where: expected OpenCL arrays, got "
            + ", ".join(type_name(v) for v in (condition, x1, x2))
        )
    for v in (condition, x1, x2):
        if not isinstance(v, CLArray) and not is_scalar(v):
            reject("where", arrays[0], v)
    device = check_device("where", *arrays)
    if not isinstance(condition, CLArray):
        condition = from_numpy(np.asarray(bool(condition)), device)
    value_arrays = [v for v in (x1, x2) if isinstance(v, CLArray)]
    if value_arrays:
        dtype = _dt.result_type(*value_arrays, *[v for v in (x1, x2) if is_scalar(v)])
    else:
        dtype = _dt.result_type(
            np.asarray(x1).dtype if not isinstance(x1, float) else _dt.default_float(device), x2
        )
    x1 = cast(x1, dtype) if isinstance(x1, CLArray) else from_numpy(np.asarray(x1, dtype), device)
    x2 = cast(x2, dtype) if isinstance(x2, CLArray) else from_numpy(np.asarray(x2, dtype), device)
    condition = cast(condition, _dt.bool)
    shape = broadcast_shapes("where", condition.shape, x1.shape, x2.shape)
    out = empty(shape, dtype, device)
    n = out.size
    if n == 0:
        return out
    shapes = (condition.shape, x1.shape, x2.shape)
    operands = (condition, x1, x2)
    if all(v.shape == shape and v.is_contiguous() for v in operands):
        _kernel(device, 2, "where", "contig", dtype).launch_items(
            _contig_items(device, n), n, *buffer_args(out, *operands), op="where", shapes=shapes
        )
        return out
    layout = make_layout(
        "where",
        shape,
        [(0, out.strides)] + [(v.offset, broadcast_strides(v, shape)) for v in operands],
    )
    _kernel(device, 2, "where", "strided", dtype).launch_items(
        _contig_items(device, n),
        layout,
        n,
        out.buffer,
        *[v.buffer for v in operands],
        op="where",
        shapes=shapes,
    )
    return out
