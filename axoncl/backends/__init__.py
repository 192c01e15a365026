"""Which namespace an array belongs to, and the backends axoncl knows by name.

Nothing outside ``axoncl/backends`` imports a backend: the autograd layer asks
:func:`namespace_of` for the namespace of its data. The OpenCL backend is imported lazily, only
when an OpenCL array is met or ``"opencl"`` is asked for by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "DeviceSpecError",
    "asarray",
    "available_backends",
    "backend_name",
    "device_kwargs",
    "get_backend",
    "host_dtype",
    "host_to_like",
    "namespace_of",
    "namespace_of_type",
    "to_backend",
    "to_numpy",
]

# Short names of the namespaces axoncl knows, each the module that ``array_namespace`` returns for
# that library's arrays: array-api-compat's wrapper where it has one, else the library's own
# array-API namespace (JAX's ``jax.numpy``). Any other namespace works too; see get_backend.
_BACKENDS = {
    "numpy": "array_api_compat.numpy",
    "array_api_strict": "array_api_strict",
    "torch": "array_api_compat.torch",
    "cupy": "array_api_compat.cupy",
    "jax": "jax.numpy",
    "dask": "array_api_compat.dask.array",
    "opencl": "axoncl.backends.opencl",
}
_COMPAT = "array_api_compat."

# type(array) -> namespace; array_namespace() is the slow part of every op on small arrays.
_NAMESPACE_CACHE: dict[type, ModuleType] = {}
# ``namespace_of_type(type(array))``: the namespace of arrays of that type, or None before
# namespace_of has met one. A bound dict.get, so the op hot path (Function.apply) pays no call.
namespace_of_type: Callable[[type], ModuleType | None] = _NAMESPACE_CACHE.get
_SCALARS = (int, float, bool, complex)


class DeviceSpecError(ValueError):
    """A device string that names no device here; the message names the string, the devices
    that exist and the accepted forms."""


def get_backend(name: str | ModuleType) -> ModuleType:
    """The array-API namespace of a backend.

    Parameters
    ----------
    name
        A short name (``"numpy"``, ``"array_api_strict"``, ``"torch"``, ``"cupy"``, ``"jax"``,
        ``"dask"``, ``"opencl"``, optionally followed by ``":device"``), the dotted name of any
        module that is an array-API namespace (``"jax.numpy"``, ``"ndonnx"``), or the namespace
        module itself. A library that array-api-compat wraps (``numpy``, ``torch``, …) gives
        the wrapper, the namespace its arrays report.

    Returns
    -------
    module
        The array-API namespace module (for numpy and torch, array-api-compat's wrapper).

    Raises
    ------
    ValueError
        When ``name`` is neither a known short name nor the name of an array-API namespace
        module; the message lists the known names.
    ImportError
        When the backend's package is not installed.

    Examples
    --------
    >>> import numpy
    >>> get_backend(numpy) is get_backend("numpy")
    True
    """
    if isinstance(name, ModuleType):
        return _compat_wrapper(name.__name__) or name
    key = name.split(":", 1)[0]
    path = _BACKENDS.get(key.lower())
    if path is not None:
        try:
            return importlib.import_module(path)
        except ImportError as exc:
            raise ImportError(f"get_backend: backend {key!r} is not installed ({exc})") from exc
    found = _compat_wrapper(key)
    if found is not None:
        return found
    try:
        module = importlib.import_module(key)
    except ImportError:
        module = None
    if module is None or not hasattr(module, "__array_api_version__"):
        raise ValueError(
            f"get_backend: expected one of {sorted(_BACKENDS)}, the name of an array-API "
            f"namespace module (one with __array_api_version__) or the module itself, got "
            f"{name!r}"
        )
    return module


def _compat_wrapper(module_name: str) -> ModuleType | None:
    """array-api-compat's wrapper of the library ``module_name`` (``"torch"``), if it has one."""
    if module_name.startswith(_COMPAT):
        return None
    try:
        return importlib.import_module(_COMPAT + module_name)
    except ImportError:
        return None


def available_backends() -> list[str]:
    """Names of the backends whose packages import here.

    Returns
    -------
    list of str
        The short names of the backends that import here, in the order of the table of
        known backends (numpy first, as it is always there).

    Examples
    --------
    >>> import axoncl
    >>> axoncl.available_backends()[0]
    'numpy'
    """
    found = []
    for name in _BACKENDS:
        try:
            get_backend(name)
        except ImportError:
            continue
        found.append(name)
    return found


def backend_name(xp: ModuleType) -> str:
    """Short name of a namespace's library: ``numpy``, ``array_api_strict``, ``torch``, ``jax``,
    ``opencl``, …

    Parameters
    ----------
    xp : module
        An array-API namespace.

    Returns
    -------
    str
        The library's top-level package name, or the short name of a known backend.

    Examples
    --------
    >>> import axoncl
    >>> axoncl.backend_name(axoncl.get_backend("numpy"))
    'numpy'
    """
    module = getattr(xp, "__name__", str(xp))
    for name, path in _BACKENDS.items():
        if module == path:
            return name
    # Otherwise the library's top-level package: "array_api_compat.sparse" and "sparse" both
    # name "sparse" (a namespace may live in a submodule, as JAX's does in jax.numpy).
    return module.removeprefix(_COMPAT).split(".", 1)[0]


def device_kwargs(device: Any) -> dict[str, Any]:
    """``{"device": device}`` to pass to a creation function, or ``{}`` when there is none.

    ``device`` is an array's ``.device``. Older JAX releases have ``.device()`` as a method
    rather than the standard's attribute, so a callable counts as no device.

    Examples
    --------
    >>> import numpy as np
    >>> np.zeros(2, **device_kwargs(getattr(np.ones(2), "device", None))).tolist()
    [0.0, 0.0]
    """
    if device is None or callable(device):
        return {}
    return {"device": device}


def _describe(array: Any) -> str:
    kind = type(array)
    text = f"{kind.__module__}.{kind.__qualname__}"
    where = device_kwargs(getattr(array, "device", None))
    return f"{text} on {where['device']}" if where else text


def namespace_of(*arrays: Any) -> ModuleType:
    """The array-API namespace shared by ``arrays`` (Python scalars and ``None`` are ignored).

    Raises
    ------
    TypeError
        When the arrays come from two backends; the message names both.

    Parameters
    ----------
    arrays
        Arrays, Variables (their data counts), Python scalars or ``None``.

    Returns
    -------
    module
        The namespace (for numpy, array-api-compat's wrapper).

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.namespace_of(np.ones(2), 3.0).__name__
    'array_api_compat.numpy'
    """
    # Fast path, the common case: every argument is an array of one already-seen type (scalars
    # and None are never cached, so they take the loop below).
    if arrays:
        kind = type(arrays[0])
        xp = _NAMESPACE_CACHE.get(kind)
        if xp is not None:
            if len(arrays) == 1:
                return xp
            for array in arrays:
                if type(array) is not kind:
                    break
            else:
                return xp
    xp = None
    first = None
    for array in arrays:
        if array is None or isinstance(array, _SCALARS):
            continue
        kind = type(array)
        found = _NAMESPACE_CACHE.get(kind)
        if found is None:
            try:
                found = array_api_compat.array_namespace(array)
            except TypeError as exc:
                raise TypeError(f"expected an array-API array, got {_describe(array)}") from exc
            _NAMESPACE_CACHE[kind] = found
        if xp is None:
            xp, first = found, array
        elif found is not xp:
            raise TypeError(
                f"cannot mix {backend_name(xp)} and {backend_name(found)} arrays in one op "
                f"({_describe(first)} and {_describe(array)}); move one with "
                f".to({backend_name(xp)!r})"
            )
    if xp is None:
        raise TypeError("expected at least one array-API array, got only Python scalars")
    return xp


def to_numpy(array: Any) -> np.ndarray:
    """A host NumPy copy (or view) of any array-API array."""
    if isinstance(array, np.ndarray):
        return array
    if isinstance(array, (*_SCALARS, np.generic)):
        return np.asarray(array)
    to_np = getattr(array, "to_numpy", None)
    if to_np is not None:
        return to_np()
    if type(array).__module__.startswith("torch"):
        return array.detach().cpu().numpy()
    if type(array).__module__.startswith("cupy"):
        return array.get()
    try:
        return np.from_dlpack(array)
    except (TypeError, AttributeError, RuntimeError, BufferError):
        return np.asarray(array)


def asarray(
    data: Any, backend: str | ModuleType | None = None, dtype: Any = None, device: Any = None
) -> Any:
    """An array of ``backend`` (default ``"numpy"``) holding ``data``.

    ``dtype`` may be a dtype object of that namespace or a name such as ``"float64"``.

    Parameters
    ----------
    data
        Anything the namespace's ``asarray`` takes: nested lists, scalars, numpy arrays, or
        arrays of another library (copied through the host).
    backend
        A short name, a namespace's dotted name, or the namespace module (see
        :func:`get_backend`); ``None``: numpy.
    dtype
        A dtype of that namespace or its name.
    device
        A device of that namespace (``"opencl:gpu"``, a torch device, …).

    Returns
    -------
    array
        An array of the namespace (not a Variable).

    Examples
    --------
    >>> import axoncl
    >>> axoncl.asarray([1.0, 2.0], backend="numpy", dtype="float64").dtype
    dtype('float64')
    """
    xp = get_backend(backend or "numpy")
    if isinstance(dtype, str):
        dtype = getattr(xp, dtype)
    if not isinstance(data, (*_SCALARS, list, tuple, np.ndarray)):
        try:
            source = namespace_of(data)
        except TypeError:
            source = None
        if source is not None and source is not xp:
            data = to_numpy(data)
    if isinstance(data, np.ndarray) and backend_name(xp) not in ("numpy", "opencl"):
        data = data.tolist() if data.ndim == 0 else data
    kwargs = {"dtype": dtype}
    if device is not None:
        kwargs["device"] = device
    return xp.asarray(data, **kwargs)


def to_backend(array: Any, backend: str | ModuleType, device: Any = None) -> Any:
    """``array`` moved to another backend (through the host when the backends differ)."""
    xp = get_backend(backend)
    if namespace_of(array) is xp and device is None:
        return array
    host = to_numpy(array)
    if backend_name(xp) == "opencl":
        return xp.asarray(host, device=device) if device is not None else xp.asarray(host)
    if backend_name(xp) == "array_api_strict":
        return xp.asarray(
            host.tolist() if host.ndim == 0 else host, dtype=getattr(xp, str(host.dtype))
        )
    if backend_name(xp) == "torch":
        import torch  # the torch namespace is installed: array_api_compat found it

        moved = torch.from_numpy(np.ascontiguousarray(host))
        return moved if device is None else moved.to(_torch_device(torch, device))
    return xp.asarray(host) if device is None else xp.asarray(host, device=device)


def _torch_device(torch: Any, device: Any) -> Any:
    """``torch.device(device)``, or a :class:`DeviceSpecError` naming the string, the devices
    torch has here and the accepted forms."""
    have = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        have.append("mps")
    accepted = "accepted forms: 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device"
    try:
        found = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceSpecError(
            f"to: {device!r} is not a torch device; devices here: {', '.join(have)}; {accepted}"
        ) from None
    wanted = found.type if found.index is None or found.type != "cuda" else str(found)
    if found.type != "cpu" and not any(d == wanted or d.startswith(f"{wanted}:") for d in have):
        raise DeviceSpecError(
            f"to: torch has no device {device!r} here; devices here: {', '.join(have)}; {accepted}"
        )
    return found


def host_dtype(dtype: Any) -> np.dtype:
    """The numpy dtype with the same name as any namespace's ``dtype`` (``torch.float32`` …)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def host_to_like(host: Any, like: Any) -> Any:
    """``host`` (a numpy array) on the backend, device and dtype of the array ``like``."""
    xp = namespace_of(like)
    host = np.asarray(host).astype(host_dtype(like.dtype), copy=False)
    device = getattr(like, "device", None)
    if isinstance(device, str) or type(like).__module__.startswith("torch"):
        return to_backend(host, xp)  # numpy's "cpu", torch: the backend's default placement
    return to_backend(host, xp, **device_kwargs(device))
