"""The OpenCL array namespace (array API standard 2025.12, docs/array-api.md) over pyopencl.

``import axoncl.backends.opencl as xp`` gives a namespace like ``numpy`` or
``array_api_strict``: ``xp.asarray``, ``xp.float32``, ``xp.add``, ``xp.sum``, ``xp.matmul``...
Arrays are :class:`CLArray` objects on one OpenCL device; every function enqueues kernels on
the device's queue and returns without waiting. A standard function that is not implemented
raises ``NotImplementedError``. Only the decompositions of the ``linalg`` extension compute on
the host (documented as host-bound, see ``linalg.py``).

Examples
--------
>>> import axoncl.backends.opencl as xp
>>> x = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
>>> xp.sum(x * 2, axis=1).to_numpy()
array([ 6., 14.], dtype=float32)
"""

from __future__ import annotations

import importlib

from . import array as _array
from . import dtypes as _dtypes
from .array import CLArray, ascontiguous, from_numpy
from .device import (
    Device,
    NoOpenCLError,
    default_device,
    get_device,
    memory_stats,
    reset_peak_memory_stats,
)

# The namespace's functions are those each family module lists in its __all__: one list per
# function, kept beside its definition (elementwise.py builds its own from its op table).
_FAMILY_MODULES = {
    family: importlib.import_module(f"{__name__}.{family}")
    for family in (
        "creation",
        "dtypes",
        "complexes",
        "copy",
        "elementwise",
        "indexing",
        "manipulation",
        "products",
        "reduction",
        "scan",
        "sets",
        "softmax",
        "sorting",
    )
}
FAMILIES = tuple(_FAMILY_MODULES.values())
for _module in FAMILIES:
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)

# CLArray's operators call these host modules (which import CLArray themselves).
_array.bind_operators(
    copy=_FAMILY_MODULES["copy"],
    elementwise=_FAMILY_MODULES["elementwise"],
    indexing=_FAMILY_MODULES["indexing"],
    linalg=_FAMILY_MODULES["products"],  # matmul for the @ operator
)
# Fast versions of the primitives (attention, convolution, pooling, dropout, optimizer steps,
# triangular solves; products and softmax register theirs as they load): these modules register
# them on import.
for _module in (
    "attention",
    "conv",
    "dropout",
    "fused",
    "loss",
    "norm",
    "optim",
    "pooling",
    "triangular",
):
    importlib.import_module(f"{__name__}.{_module}")
del _module, _name

# The linalg and fft extensions are namespaces of their own, xp.linalg and xp.fft (not
# families: their names stay there); fft runs on reikna.
from .. import primitives as _primitives  # noqa: E402
from . import fft, linalg  # noqa: E402, F401

# float16 and bfloat16 (lowp.py): the functions and primitives without 16-bit kernels of their
# own widen 16-bit operands to float32 and round their results back.
from . import lowp as _lowp  # noqa: E402

# (Replaced in the family module too, so that xp.sum is reduction.sum.)
for _module, _names in (
    *((m, _FAMILY_MODULES[m].__all__) for m in ("reduction", "scan", "sets", "softmax", "sorting")),
    ("products", ("tensordot", "vecdot")),
):
    _lowp.widen_namespace(vars(_FAMILY_MODULES[_module]), _names)
    for _name in _names:
        globals()[_name] = getattr(_FAMILY_MODULES[_module], _name)
_lowp.widen_namespace(vars(fft), fft.__all__)
_lowp.widen_namespace(
    vars(linalg), [n for n in linalg.__all__ if n not in ("matmul", "matrix_transpose", "diagonal")]
)
# Primitives whose OpenCL versions load 16-bit themselves: linear (one GEMM) and its backward
# (16-bit arrays take its portable form, whose namespace calls load them), relu and its
# backward, the convolutions (16-bit columns and GEMMs).
_NATIVE_LOW_PRECISION_PRIMITIVES = frozenset(
    {
        "col2im",
        "conv2d",
        "conv2d_input_grad",
        "conv2d_weight_grad",
        "im2col",
        "linear",
        "linear_backward",
        "relu",
        "relu_backward",
    }
)
for _name in _primitives.__all__:
    _prim = getattr(_primitives, _name)
    if isinstance(_prim, _primitives.Primitive) and _name not in _NATIVE_LOW_PRECISION_PRIMITIVES:
        _prim.wrap(__name__, _lowp.widening)
del _module, _names, _name, _prim

__array_api_version__ = "2025.12"

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
    "ascontiguous",
    "default_device",
    "e",
    "fft",
    "from_numpy",
    "get_device",
    "inf",
    "linalg",
    "memory_stats",
    "nan",
    "newaxis",
    "pi",
    "reset_peak_memory_stats",
    *sorted(name for module in FAMILIES for name in module.__all__),
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
    "complex64",
    "complex128",
)


class _NamespaceInfo:
    """What ``__array_namespace_info__()`` returns: capabilities, devices and dtypes."""

    def capabilities(self) -> dict:
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self) -> Device:
        return default_device()

    def devices(self) -> tuple[Device, ...]:
        from .device import list_devices

        return tuple(get_device(ident) for ident, _ in list_devices())

    def default_dtypes(self, *, device=None) -> dict:
        return {
            "real floating": _dtypes.float32,
            "complex floating": _dtypes.complex64,
            "integral": _dtypes.int64,
            "indexing": _dtypes.int64,
        }

    def dtypes(self, *, device=None, kind=None) -> dict:
        dev = get_device(device)
        names = [n for n in _DTYPE_ORDER if n not in ("float64", "complex128") or dev.caps.fp64]
        table = {n: globals()[n] for n in names}
        if kind is None:
            return table
        return {n: d for n, d in table.items() if _dtypes.isdtype(d, kind)}


def __array_namespace_info__() -> _NamespaceInfo:
    """Inspection API of the namespace (array API 2025.12).

    Returns
    -------
    object
        With ``capabilities()``, ``default_device()``, ``devices()``, ``default_dtypes()`` and
        ``dtypes()``, as the standard describes.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> info = xp.__array_namespace_info__()
    >>> info.default_dtypes()["real floating"], info.capabilities()["boolean indexing"]
    (dtype('float32'), True)
    """
    return _NamespaceInfo()


class NotInNamespaceError(NotImplementedError, AttributeError):
    """A standard function the OpenCL namespace lacks (an AttributeError too, for hasattr)."""


_MISSING: frozenset[str] = frozenset()


def __getattr__(name: str):
    if name in _MISSING:
        raise NotInNamespaceError(
            f"{name}: not implemented by the OpenCL namespace (axoncl.backends.opencl); "
            "convert with to_numpy() if a host computation is acceptable"
        )
    raise AttributeError(f"module 'axoncl.backends.opencl' has no attribute {name!r}")
