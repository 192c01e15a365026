"""CLArray: an n-d strided view into an OpenCL buffer, the array type of the OpenCL namespace.

A CLArray is ``(device, buffer, offset, shape, strides, dtype)``; ``offset`` and ``strides`` count
*elements*, not bytes. Strides may be 0 (broadcast) or negative (flip), so slicing, transposes and
broadcasts are views. Every operation enqueues on ``device.queue`` (one in-order queue) and
returns at once; only host-bound calls (``to_numpy``, ``__bool__``, ``__float__``, printing)
wait for the device.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from . import dtypes as _dt
from .device import Device, get_device
from .launch import read_buffer, write_buffer

__all__ = ["CLArray", "ascontiguous", "empty", "from_numpy"]


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Element strides of a C-contiguous array of ``shape``."""
    strides = []
    step = 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _check_same_device(op: str, a: CLArray, b: CLArray) -> None:
    if a.device is not b.device:
        raise ValueError(
            f"{op}: arrays live on different devices, {a.device.id} ({a.device.caps.name}) and "
            f"{b.device.id} ({b.device.caps.name}); move one with .to_device(...)"
        )


class CLArray:
    """An array on an OpenCL device; the array type of ``axoncl.backends.opencl``.

    Create arrays with the namespace functions (``xp.asarray``, ``xp.zeros``, ...), not with this
    constructor, which wraps an existing buffer without copying.

    Parameters
    ----------
    device
        The :class:`Device` that owns ``buffer``.
    buffer
        A ``pyopencl.Buffer`` (or pool allocation) holding the elements.
    offset
        Offset of the first element in the buffer, in elements.
    shape
        The array's shape.
    strides
        Strides in elements, or ``None`` for C-contiguous.
    dtype
        One of the namespace's dtypes.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> x = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    >>> (x.T + 1).to_numpy()
    array([[2., 4.],
           [3., 5.]], dtype=float32)
    """

    __slots__ = (
        "device",
        "buffer",
        "offset",
        "shape",
        "strides",
        "dtype",
        "size",
        "_contig",
        "__weakref__",
    )
    __array_priority__ = 1000  # numpy defers reflected operators to us (then we raise clearly)

    def __init__(
        self,
        device: Device,
        buffer,
        offset: int,
        shape: tuple[int, ...],
        strides: tuple[int, ...] | None,
        dtype: np.dtype,
    ) -> None:
        self.device = device
        self.buffer = buffer
        self.offset = offset
        self.shape = shape
        self.dtype = dtype
        self.size = math.prod(shape)
        if strides is None:
            self.strides = contiguous_strides(shape)
            self._contig = True
        else:
            self.strides = strides
            self._contig = None  # computed on first use

    # ---- layout ----------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def is_contiguous(self) -> bool:
        """Whether the elements are C-contiguous from ``offset`` (size-1 axes ignored)."""
        c = self._contig
        if c is None:
            c = True
            if self.size > 1:
                step = 1
                for n, s in zip(reversed(self.shape), reversed(self.strides), strict=True):
                    if n != 1:
                        if s != step:
                            c = False
                            break
                        step *= n
            self._contig = c
        return c

    @property
    def T(self) -> CLArray:
        if self.ndim != 2:
            raise ValueError(
                f"T: expected a 2-D array, got {self.ndim}-D; use .mT or "
                "permute_dims for other ranks"
            )
        return self._view(self.shape[::-1], self.strides[::-1], self.offset)

    @property
    def mT(self) -> CLArray:
        if self.ndim < 2:
            raise ValueError(f"mT: expected at least 2 dimensions, got shape {self.shape}")
        shape = (*self.shape[:-2], self.shape[-1], self.shape[-2])
        strides = (*self.strides[:-2], self.strides[-1], self.strides[-2])
        return self._view(shape, strides, self.offset)

    @property
    def _version(self) -> int:
        """How many in-place writes (``x[...] = v``, ``x += y``) the buffer of this array and
        of its views has had; autograd compares it with the value saved for backward (as
        ``torch.Tensor._version``)."""
        return getattr(self.buffer, "writes", 0)

    def bump_version(self) -> None:
        """Count one in-place write to this array's buffer (see :attr:`_version`)."""
        buffer = self.buffer
        buffer.writes = getattr(buffer, "writes", 0) + 1

    def _view(self, shape, strides, offset) -> CLArray:
        return CLArray(self.device, self.buffer, offset, tuple(shape), tuple(strides), self.dtype)

    # ---- namespace and device ------------------------------------------------------------------
    def __array_namespace__(self, api_version: str | None = None):
        if api_version not in (None, "2021.12", "2022.12", "2023.12", "2024.12", "2025.12"):
            raise ValueError(
                f"__array_namespace__: unsupported api_version {api_version!r}; "
                "the OpenCL namespace implements 2025.12"
            )
        from axoncl.backends import opencl

        return opencl

    def to_device(self, device, /, *, stream=None) -> CLArray:
        """This array on ``device`` (a Device or a spec such as ``"opencl:0:0"``)."""
        if stream is not None:
            raise ValueError("to_device: streams are not supported; pass stream=None")
        target = get_device(device)
        if target is self.device:
            return self
        return from_numpy(self.to_numpy(), target)

    def __reduce__(self):
        """Pickle and ``copy.deepcopy`` through the host: the data and the device's id (never
        the Device, which holds a context); unpickling uploads to the device with that id."""
        return (_from_host, (self.to_numpy(), self.device.id))

    def __dlpack_device__(self) -> tuple[int, int]:
        return (4, self.device.device_index)  # kDLOpenCL

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if copy is True or dl_device == (1, 0):
            return self.to_numpy().__dlpack__()
        raise BufferError(
            "__dlpack__: OpenCL buffers cannot be shared through DLPack; pass copy=True to get "
            "a host copy, or use to_numpy()"
        )

    # ---- host transfers (host-bound by nature) --------------------------------------------
    def to_numpy(self, out: np.ndarray | None = None) -> np.ndarray:
        """A numpy copy of the data; waits for the queued work that produces it. ``out``, a
        C-contiguous host array of this shape and dtype, receives the copy when given (a
        staging buffer that is reused, as in ``axoncl.distributed``)."""
        if out is None:
            out = np.empty(self.shape, dtype=self.dtype)
        elif out.shape != self.shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(
                f"to_numpy: expected out of shape {self.shape} and dtype {self.dtype}, "
                f"C-contiguous, got shape {out.shape} and dtype {out.dtype}"
                + ("" if out.flags.c_contiguous else ", not contiguous")
            )
        if self.size == 0:
            return out
        src = ascontiguous(self)
        return read_buffer(
            self.device,
            out,
            src.buffer,
            src_offset=src.offset * self.dtype.itemsize,
            op="to_numpy",
            shapes=(self.shape,),
        )

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if copy is False:
            raise ValueError(
                "__array__: a CLArray lives on an OpenCL device and cannot be "
                "viewed by numpy without a copy; pass copy=None or True"
            )
        out = self.to_numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def _scalar(self, op: str):
        if self.size != 1:
            raise TypeError(
                f"{op}: only size-1 arrays convert to a Python scalar, got shape {self.shape}"
            )
        return self.to_numpy().reshape(()).item()

    def __bool__(self) -> bool:
        return bool(self._scalar("__bool__"))

    def __int__(self) -> int:
        if _dt.is_floating(self.dtype):
            value = self._scalar("__int__")
            if not math.isfinite(value):
                raise (OverflowError if math.isinf(value) else ValueError)(
                    f"__int__: cannot convert {value} to int"
                )
            return int(value)
        return int(self._scalar("__int__"))

    def __float__(self) -> float:
        return float(self._scalar("__float__"))

    def __complex__(self) -> complex:
        return complex(self._scalar("__complex__"))

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"__index__: expected an integer array, got {self.dtype}")
        return int(self._scalar("__index__"))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self) -> str:
        body = np.array2string(self.to_numpy(), separator=", ", prefix="CLArray(")
        return f"CLArray({body}, dtype={self.dtype}, device={self.device.id!r})"

    def __str__(self) -> str:
        return str(self.to_numpy())

    __hash__ = None  # == is elementwise

    # ---- indexing ---------------------------------------------------------------------
    def __getitem__(self, key):
        return _indexing.getitem(self, key)

    def __setitem__(self, key, value) -> None:
        _indexing.setitem(self, key, value)

    # ---- operators: each is one namespace function ------------------------------------
    def __add__(self, other):
        return _ew.binary("add", self, other)

    def __radd__(self, other):
        return _ew.binary("add", other, self)

    def __iadd__(self, other):
        return _ew.binary_inplace("add", self, other)

    def __sub__(self, other):
        return _ew.binary("subtract", self, other)

    def __rsub__(self, other):
        return _ew.binary("subtract", other, self)

    def __isub__(self, other):
        return _ew.binary_inplace("subtract", self, other)

    def __mul__(self, other):
        return _ew.binary("multiply", self, other)

    def __rmul__(self, other):
        return _ew.binary("multiply", other, self)

    def __imul__(self, other):
        return _ew.binary_inplace("multiply", self, other)

    def __truediv__(self, other):
        return _ew.binary("divide", self, other)

    def __rtruediv__(self, other):
        return _ew.binary("divide", other, self)

    def __itruediv__(self, other):
        return _ew.binary_inplace("divide", self, other)

    def __floordiv__(self, other):
        return _ew.binary("floor_divide", self, other)

    def __rfloordiv__(self, other):
        return _ew.binary("floor_divide", other, self)

    def __ifloordiv__(self, other):
        return _ew.binary_inplace("floor_divide", self, other)

    def __mod__(self, other):
        return _ew.binary("remainder", self, other)

    def __rmod__(self, other):
        return _ew.binary("remainder", other, self)

    def __imod__(self, other):
        return _ew.binary_inplace("remainder", self, other)

    def __pow__(self, other):
        return _ew.binary("pow", self, other)

    def __rpow__(self, other):
        return _ew.binary("pow", other, self)

    def __ipow__(self, other):
        return _ew.binary_inplace("pow", self, other)

    def __matmul__(self, other):
        return _linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return _linalg.matmul(other, self)

    def __imatmul__(self, other):
        result = _linalg.matmul(self, other)
        if result.shape != self.shape:
            raise ValueError(
                f"__imatmul__: result shape {result.shape} differs from the "
                f"array's shape {self.shape}"
            )
        _copy.copy_into(self, result)
        self.bump_version()
        return self

    def __and__(self, other):
        return _ew.binary("bitwise_and", self, other)

    def __rand__(self, other):
        return _ew.binary("bitwise_and", other, self)

    def __iand__(self, other):
        return _ew.binary_inplace("bitwise_and", self, other)

    def __or__(self, other):
        return _ew.binary("bitwise_or", self, other)

    def __ror__(self, other):
        return _ew.binary("bitwise_or", other, self)

    def __ior__(self, other):
        return _ew.binary_inplace("bitwise_or", self, other)

    def __xor__(self, other):
        return _ew.binary("bitwise_xor", self, other)

    def __rxor__(self, other):
        return _ew.binary("bitwise_xor", other, self)

    def __ixor__(self, other):
        return _ew.binary_inplace("bitwise_xor", self, other)

    def __lshift__(self, other):
        return _ew.binary("bitwise_left_shift", self, other)

    def __rlshift__(self, other):
        return _ew.binary("bitwise_left_shift", other, self)

    def __ilshift__(self, other):
        return _ew.binary_inplace("bitwise_left_shift", self, other)

    def __rshift__(self, other):
        return _ew.binary("bitwise_right_shift", self, other)

    def __rrshift__(self, other):
        return _ew.binary("bitwise_right_shift", other, self)

    def __irshift__(self, other):
        return _ew.binary_inplace("bitwise_right_shift", self, other)

    def __lt__(self, other):
        return _ew.binary("less", self, other)

    def __le__(self, other):
        return _ew.binary("less_equal", self, other)

    def __gt__(self, other):
        return _ew.binary("greater", self, other)

    def __ge__(self, other):
        return _ew.binary("greater_equal", self, other)

    def __eq__(self, other):  # type: ignore[override]
        return _ew.binary("equal", self, other)

    def __ne__(self, other):  # type: ignore[override]
        return _ew.binary("not_equal", self, other)

    def __neg__(self):
        return _ew.unary("negative", self)

    def __pos__(self):
        return _ew.unary("positive", self)

    def __abs__(self):
        return _ew.unary("abs", self)

    def __invert__(self):
        return _ew.unary("bitwise_invert", self)


def empty(shape, dtype, device: Device) -> CLArray:
    """An uninitialised C-contiguous array from ``device.allocator``."""
    shape = tuple(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    # Never 0 bytes (MemoryPool refuses), and at least one element so a kernel may bind it.
    buffer = device.allocator.allocate(nbytes if nbytes > 8 else 8)
    return CLArray(device, buffer, 0, shape, None, dtype)


def from_numpy(a, device: Device) -> CLArray:
    """A device copy of the numpy array ``a`` (the upload is queued, not waited for).

    Parameters
    ----------
    a : numpy.ndarray
        The host data (any layout; copied as C-contiguous).
    device : Device
        The device.

    Returns
    -------
    CLArray
        ``a``'s shape and dtype on ``device``.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.from_numpy(np.arange(4.0), xp.default_device()).to_numpy()
    array([0., 1., 2., 3.])
    """
    a = np.asarray(a)
    dtype = _dt.as_dtype(a.dtype, device, "from_numpy")
    host = np.asarray(a, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d 1-d)
    out = empty(host.shape, dtype, device)
    write_buffer(device, out.buffer, host, op="asarray", shapes=(host.shape,))
    return out


def _from_host(host: np.ndarray, device_id: str) -> CLArray:
    """The inverse of ``CLArray.__reduce__``."""
    return from_numpy(host, get_device(device_id))


def ascontiguous(x: CLArray) -> CLArray:
    """``x`` itself when C-contiguous, else a C-contiguous copy made by the copy kernel.

    Parameters
    ----------
    x : CLArray
        The input array.

    Returns
    -------
    CLArray
        C-contiguous, ``x``'s shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> x = xp.asarray([[1, 2], [3, 4]]).T
    >>> y = xp.ascontiguous(x)
    >>> y.strides, y.to_numpy().tolist()
    ((2, 1), [[1, 3], [2, 4]])
    """
    if x.is_contiguous():
        return x
    out = empty(x.shape, x.dtype, x.device)
    _copy.copy_into(out, x)
    return out


# The operators, copies and indexing of CLArray run in the host modules, which import CLArray
# from here. The package's __init__ hands them over with bind_operators once every module is
# loaded, so this module imports none of them and they form no import cycle.
_copy: Any = None
_ew: Any = None
_indexing: Any = None
_linalg: Any = None


def bind_operators(
    *, copy: ModuleType, elementwise: ModuleType, indexing: ModuleType, linalg: ModuleType
) -> None:
    """Give CLArray the modules its operators call (done once, by the package's __init__)."""
    global _copy, _ew, _indexing, _linalg
    _copy, _ew, _indexing, _linalg = copy, elementwise, indexing, linalg
