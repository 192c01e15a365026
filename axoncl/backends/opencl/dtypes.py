"""Data types of the OpenCL namespace: numpy dtype objects, promotion, casting rules, C names.

The namespace's dtype objects *are* numpy dtypes (``float32 == np.dtype("float32")``), so
``result_type``, ``finfo`` and friends interoperate with numpy code. Complex arrays are stored
as interleaved (real, imaginary) float pairs, numpy's layout; ``complexes.py`` computes on them
through float views, so kernels typed by :data:`C_TYPE` never see a complex dtype.

Two 16-bit floating dtypes are extensions (docs/precision.md): ``float16`` (numpy's) and
``bfloat16`` (``ml_dtypes``'). They are stored in 16 bits and computed in float32: kernels with
a storage variant (``storage_defines``) widen on load and round to nearest even on store; the
other functions widen their operands to float32 and round their results back (``lowp.py``).
``float16`` with ``float32`` promotes to ``float32``, and ``float16`` with ``bfloat16`` also to
``float32`` (neither holds the other), as in PyTorch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:
    import ml_dtypes
except ImportError:  # bfloat16 needs ml_dtypes (a dependency of the opencl extra)
    ml_dtypes = None

__all__ = [
    "bfloat16",
    "bool",
    "can_cast",
    "complex64",
    "complex128",
    "finfo",
    "float16",
    "float32",
    "float64",
    "iinfo",
    "int8",
    "int16",
    "int32",
    "int64",
    "isdtype",
    "result_type",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]

_builtin_bool = bool

bool = np.dtype("bool")  # noqa: A001 - the standard's name
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
uint16 = np.dtype("uint16")
uint32 = np.dtype("uint32")
uint64 = np.dtype("uint64")
float16 = np.dtype("float16")
bfloat16 = np.dtype(ml_dtypes.bfloat16) if ml_dtypes is not None else None
float32 = np.dtype("float32")
float64 = np.dtype("float64")
complex64 = np.dtype("complex64")
complex128 = np.dtype("complex128")

SIGNED = (int8, int16, int32, int64)
UNSIGNED = (uint8, uint16, uint32, uint64)
INTEGER = SIGNED + UNSIGNED
FLOATING = (float32, float64)
COMPLEX = (complex64, complex128)
# The 16-bit extension dtypes: stored in 16 bits, loaded and computed as float32.
LOW_PRECISION = (float16,) if bfloat16 is None else (float16, bfloat16)
SUPPORTED = (bool, *INTEGER, *FLOATING, *COMPLEX, *LOW_PRECISION)

# The float dtype of each complex dtype's parts, and the complex dtype of each float dtype.
REAL_OF = {complex64: float32, complex128: float64}
COMPLEX_OF = {float32: complex64, float64: complex128}

DEFAULT_INT = int64
DEFAULT_INDEX = int64


class _CTypes(dict):
    """``C_TYPE``; a complex or 16-bit dtype, which no typed kernel takes, raises a clear
    TypeError (kernels with a 16-bit variant are typed by :func:`storage_defines`)."""

    def __missing__(self, key):
        if key in LOW_PRECISION:
            raise TypeError(
                f"{key} has no kernel of its own for this operation on OpenCL; "
                "docs/precision.md lists the functions that take 16-bit arrays"
            )
        raise TypeError(
            f"complex dtype {key} is not supported by this operation on OpenCL; "
            "see docs/array-api.md for the functions that take complex arrays"
        )


# OpenCL C type of each real dtype; bool is stored as one byte (0 or 1). Complex dtypes have
# none: complexes.py computes on float views of their (real, imaginary) pairs.
C_TYPE = _CTypes(
    {
        bool: "uchar",
        int8: "char",
        int16: "short",
        int32: "int",
        int64: "long",
        uint8: "uchar",
        uint16: "ushort",
        uint32: "uint",
        uint64: "ulong",
        float32: "float",
        float64: "double",
    }
)

# -DSTORAGE=... of kernels/storage.h: how a kernel reads and writes an element of a dtype whose
# storage differs from its arithmetic type (float16: binary16 bits, bfloat16: a float's top half).
STORAGE_PLAIN, STORAGE_HALF, STORAGE_BF16 = 0, 1, 2
STORAGE = {float16: STORAGE_HALF}
if bfloat16 is not None:
    STORAGE[bfloat16] = STORAGE_BF16
STORAGE_C_TYPE = {STORAGE_HALF: "ushort", STORAGE_BF16: "ushort"}  # the bits, see storage.h


def is_low_precision(dtype) -> _builtin_bool:
    """Whether ``dtype`` is one of the 16-bit floating extension dtypes."""
    return dtype in LOW_PRECISION


def is_floating(dtype) -> _builtin_bool:
    """Whether ``dtype`` is real floating, the 16-bit ones included (bfloat16's numpy kind is
    ``'V'``)."""
    return dtype.kind == "f" or dtype in LOW_PRECISION


def storage_c_type(dtype: np.dtype) -> str:
    """The C type a buffer of ``dtype`` is seen through (ushort: the bits, for both 16-bit)."""
    storage = STORAGE.get(dtype)
    return STORAGE_C_TYPE[storage] if storage else C_TYPE[dtype]


def storage_defines(dtype: np.dtype, name: str = "T") -> dict[str, int | str]:
    """``-D<name>`` (the arithmetic type) and ``-DSTORAGE`` of a kernel with a storage variant."""
    if dtype in STORAGE:
        return {name: "float", "STORAGE": STORAGE[dtype]}
    return {name: C_TYPE[dtype]}


# Kind codes handed to the kernels as -DKIND=...
KIND_BOOL, KIND_SIGNED, KIND_UNSIGNED, KIND_FLOAT = 0, 1, 2, 3


def kind_code(dtype: np.dtype) -> int:
    if dtype == bool:
        return KIND_BOOL
    if dtype.kind == "i":
        return KIND_SIGNED
    if dtype.kind == "u":
        return KIND_UNSIGNED
    return KIND_FLOAT


def default_float(device) -> np.dtype:
    """The default floating dtype: float32 everywhere (fp64 is optional on GPUs)."""
    return float32


def as_dtype(dtype, device, op: str = "asarray") -> np.dtype:
    """``dtype`` as a supported numpy dtype on ``device``, or a clear TypeError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: expected a dtype of the OpenCL namespace, got {dtype!r}") from None
    if dt not in SUPPORTED:
        raise TypeError(
            f"{op}: dtype {dt} is not an array-API dtype; expected one of "
            + ", ".join(str(d) for d in SUPPORTED)
        )
    if dt in (float64, complex128) and device is not None and not device.caps.fp64:
        raise TypeError(
            f"{op}: {dt} needs cl_khr_fp64; device {device.id} ({device.caps.name}) lacks it; "
            "use float32"
        )
    return dt


def _promote_pair(a: np.dtype, b: np.dtype) -> np.dtype:
    if a == b:
        return a
    if a == bool:
        return b
    if b == bool:
        return a
    if a.kind == "c" or b.kind == "c":  # complex wins; the wider part precision wins
        wide = 8 in (_part_size(a), _part_size(b))
        return complex128 if wide else complex64
    fa, fb = is_floating(a), is_floating(b)
    if fa and fb:
        if float64 in (a, b):
            return float64
        # A 16-bit dtype meets float32 (which holds it) or the other 16-bit one (float32 holds
        # both, neither holds the other), as in PyTorch.
        return float32
    if fa or fb:  # mixed kinds: not in the standard; like torch, the float wins
        return a if fa else b
    if a.kind == b.kind:
        return a if a.itemsize >= b.itemsize else b
    signed, unsigned = (a, b) if a.kind == "i" else (b, a)
    if unsigned.itemsize < signed.itemsize:
        return signed
    if unsigned.itemsize == 8:
        raise TypeError(
            f"result_type: {a} and {b} have no common integer dtype (the array API leaves "
            "uint64 with signed integers undefined); cast one of them first"
        )
    return np.dtype(f"int{unsigned.itemsize * 16}")


def _part_size(dt: np.dtype) -> int:
    """Bytes of a float or complex dtype's real part; 0 for integers and bool."""
    return dt.itemsize // 2 if dt.kind == "c" else (dt.itemsize if is_floating(dt) else 0)


def _is_array(x) -> _builtin_bool:
    return hasattr(x, "dtype") and hasattr(x, "shape") and not isinstance(x, (np.dtype, type))


def scalar_dtype(value, array_dtype: np.dtype, device, op: str) -> np.dtype:
    """The dtype a Python scalar takes next to an array of ``array_dtype`` (scalars are weak)."""
    if isinstance(value, _builtin_bool):
        return array_dtype
    if isinstance(value, int):
        if array_dtype == bool:
            return DEFAULT_INT
        if array_dtype.kind in "iu":
            info = np.iinfo(array_dtype)
            if not info.min <= value <= info.max:
                raise OverflowError(
                    f"{op}: Python int {value} is out of range for {array_dtype} "
                    f"[{info.min}, {info.max}]"
                )
        return array_dtype
    if isinstance(value, float):
        return (
            array_dtype
            if is_floating(array_dtype) or array_dtype.kind == "c"
            else (default_float(device))
        )
    if isinstance(value, complex):
        if array_dtype in LOW_PRECISION:
            return complex64
        if array_dtype.kind in "fc":
            return COMPLEX_OF.get(array_dtype, array_dtype)
        return COMPLEX_OF[default_float(device)]
    raise TypeError(f"{op}: expected an array or a Python scalar, got {type(value).__name__}")


def result_type(*arrays_and_dtypes) -> np.dtype:
    """The dtype of an operation's result, by the array API's promotion table.

    Python scalars are weak: they take the dtype of the arrays they meet.

    Parameters
    ----------
    arrays_and_dtypes
        Arrays, dtypes and Python scalars (scalars take the others' kind).

    Returns
    -------
    dtype

    Raises
    ------
    ValueError
        When only Python scalars are given.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.result_type(xp.int8, xp.uint8), xp.result_type(xp.asarray([1.0]), 2)
    (dtype('int16'), dtype('float32'))
    """
    dtypes = []
    scalars = []
    for item in arrays_and_dtypes:
        if isinstance(item, (_builtin_bool, int, float, complex)):
            scalars.append(item)
        elif _is_array(item):
            dtypes.append(as_dtype(item.dtype, None, "result_type"))
        else:
            dtypes.append(as_dtype(item, None, "result_type"))
    if not dtypes:
        raise ValueError("result_type: expected at least one array or dtype, got only scalars")
    out = dtypes[0]
    for dt in dtypes[1:]:
        out = _promote_pair(out, dt)
    for value in scalars:
        out = _promote_pair(out, scalar_dtype(value, out, None, "result_type"))
    return out


def can_cast(from_, to) -> _builtin_bool:
    """Whether ``from_`` casts to ``to`` under the promotion rules (no value loss); an integer
    to a floating or complex dtype (which the standard leaves open) as numpy's "safe" casts.

    Parameters
    ----------
    from_ : dtype or CLArray
        The source dtype (or an array's).
    to : dtype
        The target.

    Returns
    -------
    bool
        True when the promotion rules allow the cast.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.can_cast(xp.int32, xp.int64), xp.can_cast(xp.float64, xp.float32)
    (True, False)
    """
    src = as_dtype(from_.dtype if _is_array(from_) else from_, None, "can_cast")
    dst = as_dtype(to, None, "can_cast")
    if src == dst or src == bool:
        return True
    if dst == bool:
        return False
    if src.kind == "c":
        return dst.kind == "c" and dst.itemsize >= src.itemsize
    if is_floating(src):
        if src in LOW_PRECISION and dst in LOW_PRECISION:
            return False  # float16 and bfloat16: neither holds the other
        return (is_floating(dst) or dst.kind == "c") and _part_size(dst) >= src.itemsize
    if is_floating(dst) or dst.kind == "c":
        # int -> float: not a promotion in the standard, which leaves it open; as numpy's
        # "safe" casts (and torch): when the float holds every value of the integer dtype.
        if dst == bfloat16:
            return src.itemsize == 1
        return _builtin_bool(np.can_cast(src, dst, "safe"))
    try:
        return _promote_pair(src, dst) == dst
    except TypeError:
        return False


class _FInfo(NamedTuple):
    """What :func:`finfo` returns; the limits are Python floats, as the standard asks."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: np.dtype


def finfo(type):  # noqa: A002 - the standard's name
    """Machine limits of a floating dtype (``bits``, ``eps``, ``max``, ``min``,
    ``smallest_normal``, ``dtype``).

    Parameters
    ----------
    type : dtype or CLArray
        A floating dtype (or an array of one).

    Returns
    -------
    finfo
        ``bits``, ``eps``, ``max``, ``min``, ``smallest_normal`` as Python numbers, and ``dtype``.

    Raises
    ------
    TypeError
        When the dtype is not floating.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.finfo(xp.float32).bits, xp.finfo(xp.float32).eps
    (32, 1.1920928955078125e-07)
    """
    dt = type.dtype if _is_array(type) else np.dtype(type)
    if dt.kind not in "fc" and dt not in LOW_PRECISION:
        raise TypeError(f"finfo: expected a floating dtype, got {dt}")
    dt = REAL_OF.get(dt, dt)  # a complex dtype's limits are those of its parts
    info = ml_dtypes.finfo(dt) if dt == bfloat16 else np.finfo(dt)
    return _FInfo(
        bits=int(info.bits),
        eps=float(info.eps),
        max=float(info.max),
        min=float(info.min),
        smallest_normal=float(info.smallest_normal),
        dtype=dt,
    )


def iinfo(type):  # noqa: A002 - the standard's name
    """Machine limits of an integer dtype (``bits``, ``max``, ``min``, ``dtype``).

    Parameters
    ----------
    type : dtype or CLArray
        An integer dtype (or an array of one).

    Returns
    -------
    iinfo
        ``bits``, ``max``, ``min`` and ``dtype``.

    Raises
    ------
    TypeError
        When the dtype is not an integer one.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.iinfo(xp.int8).min, xp.iinfo(xp.int8).max
    (-128, 127)
    """
    dt = type.dtype if _is_array(type) else np.dtype(type)
    if dt.kind not in "iu":
        raise TypeError(f"iinfo: expected an integer dtype, got {dt}")
    return np.iinfo(dt)


_KINDS = {
    "bool": lambda d: d == bool,
    "signed integer": lambda d: d.kind == "i",
    "unsigned integer": lambda d: d.kind == "u",
    "integral": lambda d: d.kind in "iu",
    "real floating": is_floating,
    "complex floating": lambda d: d.kind == "c",
    "numeric": lambda d: d.kind in "iufc" or d in LOW_PRECISION,
}


def isdtype(dtype, kind) -> _builtin_bool:
    """Whether ``dtype`` is of ``kind``: a dtype, a kind name, or a tuple of those.

    Parameters
    ----------
    dtype
        A dtype of the namespace.
    kind
        A dtype, a kind name (``"bool"``, ``"signed integer"``, ``"unsigned integer"``,
        ``"integral"``, ``"real floating"``, ``"complex floating"``, ``"numeric"``) or a tuple.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        When ``kind`` is an unknown name.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.isdtype(xp.float32, "real floating"), xp.isdtype(xp.int8, ("bool", "unsigned integer"))
    (True, False)
    """
    dt = np.dtype(dtype)
    if isinstance(kind, tuple):
        return any(isdtype(dt, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"isdtype: unknown kind {kind!r}; expected one of {list(_KINDS)}")
        return _KINDS[kind](dt)
    return dt == np.dtype(kind)
