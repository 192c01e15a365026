"""Creation functions of the OpenCL namespace: asarray, zeros, arange, eye, meshgrid, tril, ..."""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dt
from .array import CLArray, from_numpy
from .array import empty as _empty
from .copy import astype, fill, iota
from .device import Device, get_device
from .elementwise import where
from .manipulation import broadcast_to, reshape

__all__ = [
    "arange",
    "asarray",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "full",
    "full_like",
    "linspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tril",
    "triu",
    "zeros",
    "zeros_like",
]


def _device(device) -> Device:
    return get_device(device)


def _shape(shape, op: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or not all(isinstance(n, (int, np.integer)) for n in dims):
        raise TypeError(f"{op}: expected a shape (an int or a tuple of ints), got {shape!r}")
    shape = tuple(int(n) for n in dims)
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: negative dimensions are not allowed, got {shape}")
    return shape


def _host_dtype(host: np.ndarray, obj, device: Device) -> np.dtype:
    """The namespace dtype for data that came from Python objects (not typed arrays)."""
    kind = host.dtype.kind
    if kind == "b":
        return _dt.bool
    if kind in "iu":
        return _dt.int64 if host.dtype.itemsize <= 8 and kind == "i" else host.dtype
    if kind == "f":
        return _dt.default_float(device)
    if kind == "c":
        return _dt.COMPLEX_OF[_dt.default_float(device)]
    raise TypeError(
        f"asarray: cannot make an OpenCL array from {type(obj).__name__} "
        f"(numpy sees dtype {host.dtype})"
    )


def asarray(obj, /, *, dtype=None, device=None, copy=None) -> CLArray:
    """An OpenCL array from a CLArray, numpy array, nested sequence, scalar or DLPack object.

    Parameters
    ----------
    obj
        A CLArray, numpy array, nested sequence, Python scalar or DLPack object.
    dtype
        The result's dtype. Default: a numpy array or CLArray keeps its dtype; Python floats
        become the default floating dtype (float32), ints int64, bools bool.
    device
        The device (default: ``obj``'s, or the default device).
    copy
        ``True``: always copy; ``False``: never (raises when a copy is needed); ``None``: only
        when needed.

    Returns
    -------
    CLArray
        The data on the device.

    Raises
    ------
    ValueError
        When ``copy=False`` cannot be honoured.
    OverflowError
        When values do not fit ``dtype``.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> x = xp.asarray([1.0, 2.0, 3.0])
    >>> x.dtype, x.shape
    (dtype('float32'), (3,))
    """
    if isinstance(obj, CLArray):
        target = obj.device if device is None else _device(device)
        want = obj.dtype if dtype is None else _dt.as_dtype(dtype, target, "asarray")
        if target is not obj.device or want != obj.dtype:
            if copy is False:
                raise ValueError(
                    "asarray: copy=False but a copy is needed (another device or dtype)"
                )
            return astype(obj.to_device(target), want)
        if copy:
            return astype(obj, want, copy=True)
        return obj
    target = _device(device)
    if copy is False:
        raise ValueError(
            f"asarray: copy=False cannot be honoured for a "
            f"{type(obj).__name__}; the data must be copied to {target.id}"
        )
    if isinstance(obj, (np.ndarray, np.generic)):
        host = np.asarray(obj)
        want = host.dtype if dtype is None else dtype
        return from_numpy(host.astype(_dt.as_dtype(want, target, "asarray"), copy=False), target)
    if hasattr(obj, "__dlpack__") and not isinstance(obj, (list, tuple)):
        return (
            from_dlpack(obj, device=target)
            if dtype is None
            else astype(from_dlpack(obj, device=target), dtype)
        )
    leaves = []
    if isinstance(obj, (list, tuple)) and _contains_clarray(obj):
        obj = _to_host(obj, leaves)  # a nested sequence is read on the host anyway
    if dtype is None:
        host = np.asarray(obj)
        # With arrays among the elements, their dtypes decide and Python scalars are weak.
        want = _dt.result_type(*leaves) if leaves else _host_dtype(host, obj, target)
        return from_numpy(host.astype(want, copy=False), target)
    want = _dt.as_dtype(dtype, target, "asarray")
    try:
        # Converting straight to the requested dtype keeps every integer exact (uint64 values
        # above 2**63 would otherwise pass through float64) and refuses out-of-range ones.
        host = np.asarray(obj, dtype=want)
    except OverflowError as exc:
        raise OverflowError(f"asarray: values out of range for {want}: {exc}") from None
    return from_numpy(host, target)


def _contains_clarray(obj) -> bool:
    return any(
        isinstance(v, CLArray) or (isinstance(v, (list, tuple)) and _contains_clarray(v))
        for v in obj
    )


def _to_host(obj, leaves: list):
    """A nested sequence with its OpenCL arrays replaced by numpy copies; collects the arrays
    and scalars it holds into ``leaves``."""
    if isinstance(obj, (list, tuple)):
        return [_to_host(v, leaves) for v in obj]
    leaves.append(obj)
    return obj.to_numpy() if isinstance(obj, CLArray) else obj


def empty(shape, *, dtype=None, device=None) -> CLArray:
    """An uninitialised array.

    Parameters
    ----------
    shape : int or tuple of int
        The array's shape.
    dtype : dtype or None
        One of the namespace's dtypes; ``None``: the default floating dtype (float32).
    device : Device, str or None
        ``None``: the default device.

    Returns
    -------
    CLArray
        Its elements are whatever the buffer held.

    Raises
    ------
    ValueError
        When a dimension is negative.
    TypeError
        When ``shape`` is not an int or a tuple of ints.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> x = xp.empty((2, 3))
    >>> x.shape, str(x.dtype)
    ((2, 3), 'float32')
    """
    target = _device(device)
    dtype = _dt.default_float(target) if dtype is None else _dt.as_dtype(dtype, target, "empty")
    return _empty(_shape(shape, "empty"), dtype, target)


def full(shape, fill_value, *, dtype=None, device=None) -> CLArray:
    """An array with every element equal to ``fill_value``.

    Parameters
    ----------
    shape : int or tuple of int
        The array's shape.
    fill_value : bool, int, float or 0-d CLArray
        The value.
    dtype : dtype or None
        One of the namespace's dtypes; ``None``: bool for a bool, int64 for an int, the
        default floating dtype for a float.
    device : Device, str or None
        ``None``: the default device.

    Returns
    -------
    CLArray
        Filled by one fill kernel.

    Raises
    ------
    ValueError
        When a dimension is negative.
    TypeError
        When ``shape`` is not an int or a tuple of ints.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> xp.full((2,), 7).to_numpy()
    array([7, 7])
    """
    target = _device(device)
    if isinstance(fill_value, CLArray):
        fill_value = fill_value._scalar("full")
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = _dt.bool
        elif isinstance(fill_value, int):
            dtype = _dt.DEFAULT_INT
        elif isinstance(fill_value, float):
            dtype = _dt.default_float(target)
        else:
            dtype = np.asarray(fill_value).dtype
    dtype = _dt.as_dtype(dtype, target, "full")
    out = _empty(_shape(shape, "full"), dtype, target)
    fill(out, fill_value)
    return out


def zeros(shape, *, dtype=None, device=None) -> CLArray:
    """An array of zeros.

    Parameters
    ----------
    shape : int or tuple of int
        The array's shape.
    dtype : dtype or None
        One of the namespace's dtypes; ``None``: the default floating dtype (float32).
    device : Device, str or None
        ``None``: the default device.

    Returns
    -------
    CLArray
        Filled with 0 by one fill kernel.

    Raises
    ------
    ValueError
        When a dimension is negative.
    TypeError
        When ``shape`` is not an int or a tuple of ints.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> xp.zeros((2, 2)).to_numpy()
    array([[0., 0.],
           [0., 0.]], dtype=float32)
    """
    target = _device(device)
    dtype = _dt.default_float(target) if dtype is None else dtype
    return full(shape, 0, dtype=dtype, device=target)


def ones(shape, *, dtype=None, device=None) -> CLArray:
    """An array of ones.

    Parameters
    ----------
    shape : int or tuple of int
        The array's shape.
    dtype : dtype or None
        One of the namespace's dtypes; ``None``: the default floating dtype (float32).
    device : Device, str or None
        ``None``: the default device.

    Returns
    -------
    CLArray
        Filled with 1 by one fill kernel.

    Raises
    ------
    ValueError
        When a dimension is negative.
    TypeError
        When ``shape`` is not an int or a tuple of ints.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> xp.ones(3, dtype=xp.int32).to_numpy()
    array([1, 1, 1], dtype=int32)
    """
    target = _device(device)
    dtype = _dt.default_float(target) if dtype is None else dtype
    return full(shape, 1, dtype=dtype, device=target)


def _like(x: CLArray, dtype, device, op: str):
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type(x).__name__}")
    return (x.dtype if dtype is None else dtype), (x.device if device is None else device)


def empty_like(x, /, *, dtype=None, device=None) -> CLArray:
    """An uninitialised array like ``x``.

    Parameters
    ----------
    x : CLArray
        The array whose shape (and, by default, dtype and device) is taken.
    dtype : dtype or None
        One of the namespace's dtypes; ``None``: ``x``'s.
    device : Device, str or None
        ``None``: ``x``'s.

    Returns
    -------
    CLArray
        ``x``'s shape.

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> xp.empty_like(xp.asarray([[1, 2]])).shape
    (1, 2)
    """
    dtype, device = _like(x, dtype, device, "empty_like")
    return empty(x.shape, dtype=dtype, device=device)


def zeros_like(x, /, *, dtype=None, device=None) -> CLArray:
    """Zeros like ``x``.

    Parameters
    ----------
    x : CLArray
        The array whose shape (and, by default, dtype and device) is taken.
    dtype : dtype or None
        One of the namespace's dtypes; ``None``: ``x``'s.
    device : Device, str or None
        ``None``: ``x``'s.

    Returns
    -------
    CLArray
        ``x``'s shape, filled with 0.

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> xp.zeros_like(xp.asarray([1, 2])).to_numpy()
    array([0, 0])
    """
    dtype, device = _like(x, dtype, device, "zeros_like")
    return zeros(x.shape, dtype=dtype, device=device)


def ones_like(x, /, *, dtype=None, device=None) -> CLArray:
    """Ones like ``x``.

    Parameters
    ----------
    x : CLArray
        The array whose shape (and, by default, dtype and device) is taken.
    dtype : dtype or None
        One of the namespace's dtypes; ``None``: ``x``'s.
    device : Device, str or None
        ``None``: ``x``'s.

    Returns
    -------
    CLArray
        ``x``'s shape, filled with 1.

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> xp.ones_like(xp.asarray([1.5, 2.5])).to_numpy()
    array([1., 1.], dtype=float32)
    """
    dtype, device = _like(x, dtype, device, "ones_like")
    return ones(x.shape, dtype=dtype, device=device)


def full_like(x, /, fill_value, *, dtype=None, device=None) -> CLArray:
    """``fill_value`` everywhere, like ``x``.

    Parameters
    ----------
    x : CLArray
        The array whose shape (and, by default, dtype and device) is taken.
    fill_value : bool, int or float
        The value.
    dtype : dtype or None
        One of the namespace's dtypes; ``None``: ``x``'s.
    device : Device, str or None
        ``None``: ``x``'s.

    Returns
    -------
    CLArray
        ``x``'s shape, filled with ``fill_value``.

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> xp.full_like(xp.asarray([1, 2]), 7).to_numpy()
    array([7, 7])
    """
    dtype, device = _like(x, dtype, device, "full_like")
    return full(x.shape, fill_value, dtype=dtype, device=device)


def arange(start, /, stop=None, step=1, *, dtype=None, device=None) -> CLArray:
    """Evenly spaced values in ``[start, stop)``.

    Parameters
    ----------
    start, stop : int or float
        The interval ``[start, stop)``; with one argument, ``[0, start)``.
    step : int or float
        The spacing, not 0.
    dtype, device
        ``None``: int64 for int arguments, else the default floating dtype; the default device.

    Returns
    -------
    CLArray
        1-D, ``ceil((stop - start) / step)`` values.

    Raises
    ------
    ValueError
        When ``step`` is 0.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.arange(1, 7, 2).to_numpy()
    array([1, 3, 5])
    """
    target = _device(device)
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, stop, step))
        dtype = _dt.DEFAULT_INT if is_int else _dt.default_float(target)
    dtype = _dt.as_dtype(dtype, target, "arange")
    n = max(0, math.ceil((stop - start) / step))
    out = _empty((n,), dtype, target)
    iota(out, start, step)
    return out


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True) -> CLArray:
    """``num`` evenly spaced values from ``start`` to ``stop``.

    Parameters
    ----------
    start, stop : int or float
        The ends.
    num : int
        The number of values, >= 0.
    dtype, device
        A floating dtype (default float32); the device.
    endpoint : bool
        Include ``stop``.

    Returns
    -------
    CLArray
        1-D, ``num`` values.

    Raises
    ------
    ValueError
        When ``num`` is negative.
    TypeError
        When ``dtype`` is not floating.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.linspace(0, 1, 5).to_numpy()
    array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    target = _device(device)
    dtype = _dt.default_float(target) if dtype is None else _dt.as_dtype(dtype, target, "linspace")
    if not _dt.is_floating(dtype):
        raise TypeError(f"linspace: expected a floating dtype, got {dtype}")
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: num must be >= 0, got {num}")
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    out = _empty((num,), dtype, target)
    iota(out, float(start), float(step))
    if endpoint and num > 1:
        fill(out[num - 1 :], stop)
    return out


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None) -> CLArray:
    """A 2-D array with ones on diagonal ``k`` and zeros elsewhere.

    Parameters
    ----------
    n_rows, n_cols : int
        The shape (``n_cols`` defaults to ``n_rows``).
    k : int
        The diagonal: 0 the main one, positive above.
    dtype, device
        ``None``: the default floating dtype; the default device.

    Returns
    -------
    CLArray
        2-D.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.eye(2, 3, k=1).to_numpy()
    array([[0., 1., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    n_cols = n_rows if n_cols is None else n_cols
    out = zeros((n_rows, n_cols), dtype=dtype, device=device)
    if k >= 0:
        count = max(0, min(n_rows, n_cols - k))
        start = k
    else:
        count = max(0, min(n_rows + k, n_cols))
        start = -k * n_cols
    if count:
        diag = CLArray(out.device, out.buffer, start, (count,), (n_cols + 1,), out.dtype)
        fill(diag, 1)
    return out


def meshgrid(*arrays, indexing="xy") -> tuple[CLArray, ...]:
    """Coordinate matrices from 1-D coordinate vectors (broadcast views).

    Parameters
    ----------
    arrays : CLArray
        1-D coordinate vectors.
    indexing : str
        ``"xy"`` (Cartesian, the first two outputs' axes swapped) or ``"ij"`` (matrix).

    Returns
    -------
    tuple of CLArray
        One broadcast view per input.

    Raises
    ------
    ValueError
        When ``indexing`` is unknown or an array is not 1-D.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> [g.shape for g in xp.meshgrid(xp.arange(3), xp.arange(2))]
    [(2, 3), (2, 3)]
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    for a in arrays:
        if not isinstance(a, CLArray) or a.ndim != 1:
            raise ValueError("meshgrid: expected 1-D OpenCL arrays")
    n = len(arrays)
    shape = [a.shape[0] for a in arrays]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, a in enumerate(arrays):
        axis = i
        if indexing == "xy" and n >= 2 and i < 2:
            axis = 1 - i
        view_shape = [1] * n
        view_shape[axis] = a.shape[0]
        out.append(broadcast_to(reshape(a, tuple(view_shape)), tuple(shape)))
    return tuple(out)


def _tri(x: CLArray, k: int, lower: bool, op: str) -> CLArray:
    if not isinstance(x, CLArray) or x.ndim < 2:
        raise ValueError(f"{op}: expected an OpenCL array with at least 2 dimensions")
    rows, cols = x.shape[-2:]
    r = arange(rows, dtype=_dt.int64, device=x.device)
    c = arange(cols, dtype=_dt.int64, device=x.device)
    diff = reshape(c, (1, cols)) - reshape(r, (rows, 1))  # column - row
    mask = (diff <= k) if lower else (diff >= k)
    return where(mask, x, 0 if x.dtype != _dt.bool else False)


def tril(x, /, *, k=0) -> CLArray:
    """The lower triangle (on and below diagonal ``k``) of the last two axes; zeros above.

    Parameters
    ----------
    x : CLArray
        The input array. At least 2-D.
    k : int
        The diagonal.

    Returns
    -------
    CLArray
        ``x``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.tril(xp.ones((2, 2))).to_numpy()
    array([[1., 0.],
           [1., 1.]], dtype=float32)
    """
    return _tri(x, k, True, "tril")


def triu(x, /, *, k=0) -> CLArray:
    """The upper triangle (on and above diagonal ``k``) of the last two axes; zeros below.

    Parameters
    ----------
    x : CLArray
        The input array. At least 2-D.
    k : int
        The diagonal.

    Returns
    -------
    CLArray
        ``x``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.triu(xp.ones((2, 2))).to_numpy()
    array([[1., 1.],
           [0., 1.]], dtype=float32)
    """
    return _tri(x, k, False, "triu")


def from_dlpack(x, /, *, device=None, copy=None) -> CLArray:
    """An OpenCL copy of a host (CPU) DLPack array; device memory of others cannot be shared.

    Parameters
    ----------
    x
        An object with ``__dlpack__`` whose data is on the host (numpy, torch CPU, …).
    device
        The target device (default: the default device).
    copy
        ``False`` is refused: OpenCL buffers cannot alias another library's memory.

    Returns
    -------
    CLArray
        A device copy.

    Raises
    ------
    BufferError
        When the data is not on the host.
    ValueError
        When ``copy=False``.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.from_dlpack(np.arange(3)).to_numpy()
    array([0, 1, 2])
    """
    if isinstance(x, CLArray):
        return asarray(x, device=device, copy=copy)
    if copy is False:
        raise ValueError(
            "from_dlpack: copy=False is impossible; OpenCL buffers cannot alias "
            "another library's memory"
        )
    try:
        host = np.from_dlpack(x)
    except (BufferError, RuntimeError, TypeError) as exc:
        raise BufferError(
            f"from_dlpack: only host (CPU) DLPack arrays can be imported, got "
            f"{type(x).__name__}: {exc}"
        ) from None
    return from_numpy(host, _device(device))
