"""The OpenCL array namespace (array API standard 2023.12) over pyopencl.

``import axoncl.backends.opencl as xp`` gives a namespace like ``numpy`` or
``array_api_strict``: ``xp.asarray``, ``xp.float32``, ``xp.add``, ``xp.sum``, ``xp.matmul``...
Arrays are :class:`CLArray` objects on one OpenCL device; every function enqueues kernels on
the device's queue and returns without waiting. A standard function that is not implemented
raises ``NotImplementedError`` (it never computes on the host).

Examples
--------
>>> import axoncl.backends.opencl as xp                  # doctest: +SKIP
>>> x = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
>>> xp.sum(xp.exp(x) * 2, axis=1).to_numpy()
"""

from __future__ import annotations

from .array import CLArray, ascontiguous, from_numpy
from .creation import (
    arange,
    asarray,
    empty,
    empty_like,
    eye,
    from_dlpack,
    full,
    full_like,
    linspace,
    meshgrid,
    ones,
    ones_like,
    tril,
    triu,
    zeros,
    zeros_like,
)
from .device import Device, NoOpenCLError, default_device, get_device
from .dtypes import (
    bool,
    can_cast,
    complex64,
    complex128,
    finfo,
    float32,
    float64,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    isdtype,
    result_type,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .elementwise import (
    abs,
    acos,
    acosh,
    add,
    asin,
    asinh,
    astype,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    clip,
    copysign,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    floor,
    floor_divide,
    greater,
    greater_equal,
    hypot,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    nextafter,
    not_equal,
    positive,
    pow,
    reciprocal,
    remainder,
    round,
    sign,
    signbit,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    trunc,
    where,
)
from .indexing import take, take_along_axis
from .linalg import matmul, matrix_transpose, tensordot, vecdot
from .manipulation import (
    broadcast_arrays,
    broadcast_to,
    concat,
    expand_dims,
    flip,
    moveaxis,
    permute_dims,
    repeat,
    reshape,
    roll,
    squeeze,
    stack,
    tile,
    unstack,
)
from .reduction import (
    all,
    any,
    argmax,
    argmin,
    count_nonzero,
    cumulative_sum,
    max,
    mean,
    min,
    nonzero,
    prod,
    std,
    sum,
    var,
)
from .softmax import log_softmax, logsumexp, softmax
from .sorting import argsort, searchsorted, sort

# Fast versions of the autograd primitives (convolution, pooling, dropout); softmax.py installs
# its own on import.
from . import conv as _conv  # noqa: E402,F401  isort: skip

__array_api_version__ = "2023.12"

e = 2.718281828459045
inf = float("inf")
nan = float("nan")
newaxis = None
pi = 3.141592653589793

__all__ = [
    "CLArray",
    "Device",
    "NoOpenCLError",
    "__array_api_version__",
    "__array_namespace_info__",
    "abs",
    "acos",
    "acosh",
    "add",
    "all",
    "any",
    "arange",
    "argmax",
    "argmin",
    "argsort",
    "asarray",
    "ascontiguous",
    "asin",
    "asinh",
    "astype",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "bool",
    "broadcast_arrays",
    "broadcast_to",
    "can_cast",
    "ceil",
    "clip",
    "complex64",
    "complex128",
    "concat",
    "copysign",
    "cos",
    "cosh",
    "count_nonzero",
    "cumulative_sum",
    "default_device",
    "divide",
    "e",
    "empty",
    "empty_like",
    "equal",
    "exp",
    "expand_dims",
    "expm1",
    "eye",
    "finfo",
    "flip",
    "float32",
    "float64",
    "floor",
    "floor_divide",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "get_device",
    "greater",
    "greater_equal",
    "hypot",
    "iinfo",
    "inf",
    "int8",
    "int16",
    "int32",
    "int64",
    "isdtype",
    "isfinite",
    "isinf",
    "isnan",
    "less",
    "less_equal",
    "linspace",
    "log",
    "log1p",
    "log2",
    "log10",
    "log_softmax",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logsumexp",
    "matmul",
    "matrix_transpose",
    "max",
    "maximum",
    "mean",
    "meshgrid",
    "min",
    "minimum",
    "moveaxis",
    "multiply",
    "nan",
    "negative",
    "newaxis",
    "nextafter",
    "nonzero",
    "not_equal",
    "ones",
    "ones_like",
    "permute_dims",
    "pi",
    "positive",
    "pow",
    "prod",
    "reciprocal",
    "remainder",
    "repeat",
    "reshape",
    "result_type",
    "roll",
    "round",
    "searchsorted",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "softmax",
    "sort",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "subtract",
    "sum",
    "take",
    "take_along_axis",
    "tan",
    "tanh",
    "tensordot",
    "tile",
    "tril",
    "triu",
    "trunc",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "unstack",
    "var",
    "vecdot",
    "where",
    "zeros",
    "zeros_like",
]

_DTYPE_ORDER = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
)


class _NamespaceInfo:
    """What ``__array_namespace_info__()`` returns: capabilities, devices and dtypes."""

    def capabilities(self) -> dict:
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self) -> Device:
        return default_device()

    def devices(self) -> list[Device]:
        from .device import list_devices

        return [get_device(ident) for ident, _ in list_devices()]

    def default_dtypes(self, *, device=None) -> dict:
        return {
            "real floating": float32,
            "complex floating": complex64,
            "integral": int64,
            "indexing": int64,
        }

    def dtypes(self, *, device=None, kind=None) -> dict:
        dev = get_device(device)
        names = [n for n in _DTYPE_ORDER if n != "float64" or dev.caps.fp64]
        table = {n: globals()[n] for n in names}
        if kind is None:
            return table
        return {n: d for n, d in table.items() if isdtype(d, kind)}


def __array_namespace_info__() -> _NamespaceInfo:
    """Inspection API of the namespace (array API 2023.12)."""
    return _NamespaceInfo()


class NotInNamespaceError(NotImplementedError, AttributeError):
    """A standard function the OpenCL namespace lacks (an AttributeError too, for hasattr)."""


_MISSING = frozenset(
    {
        "unique_all",
        "unique_counts",
        "unique_inverse",
        "unique_values",
        "diff",
        "cumulative_prod",
        "real",
        "imag",
        "conj",
        "linalg",
        "fft",
    }
)


def __getattr__(name: str):
    if name in _MISSING:
        raise NotInNamespaceError(
            f"{name}: not implemented by the OpenCL namespace (axoncl.backends.opencl); "
            "convert with to_numpy() if a host computation is acceptable"
        )
    raise AttributeError(f"module 'axoncl.backends.opencl' has no attribute {name!r}")
