"""float16 and bfloat16 in the functions without a 16-bit kernel: widen, compute, round back.

The casts, the elementwise functions, ``where``, the GEMM (``matmul``, ``linear``, the
convolutions' products) and every function that only moves elements (indexing, manipulation,
creation) have 16-bit variants of their own kernels (``kernels/storage.h``). Every other
function of the namespace, of ``xp.linalg`` and ``xp.fft``, and every OpenCL primitive takes
16-bit arrays through :func:`widening`: its 16-bit array arguments are cast to float32 (exact),
it runs in float32 (reductions accumulate in float32, as they would natively), and its float32
results are rounded to nearest even back to the 16-bit dtype. Results equal those of a native
kernel that loads 16-bit and computes in float32; the cost is one extra pass over the operands
and results. Integer, bool and complex results (``argmax``, ``isin``, ``fft``) are left as
they are; an explicit ``dtype=`` argument is honoured.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import dtypes as _dt
from .array import CLArray
from .copy import astype

__all__ = ["widening", "widen_namespace"]

_LOW = frozenset(_dt.LOW_PRECISION)


def _low_dtype(values) -> Any:
    """The 16-bit dtype that the array arguments share, or None (no 16-bit array, or 16-bit
    arrays next to other floating ones, which promote to float32 or float64 anyway)."""
    low = None
    for value in values:
        items = value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            if isinstance(item, CLArray) and _dt.is_floating(item.dtype):
                if item.dtype not in _LOW or (low is not None and item.dtype != low):
                    return None
                low = item.dtype
    return low


def _widen(value):
    if isinstance(value, CLArray) and value.dtype in _LOW:
        return astype(value, _dt.float32)
    if isinstance(value, (list, tuple)) and any(
        isinstance(v, CLArray) and v.dtype in _LOW for v in value
    ):
        return type(value)(_widen(v) for v in value)
    return value


def _narrow(value, low):
    if isinstance(value, CLArray):
        return astype(value, low) if value.dtype == _dt.float32 else value
    if isinstance(value, tuple):
        narrowed = [_narrow(v, low) for v in value]
        return type(value)(*narrowed) if hasattr(value, "_fields") else tuple(narrowed)
    if isinstance(value, list):
        return [_narrow(v, low) for v in value]
    return value


def _has_low(values) -> bool:
    for value in values:
        if isinstance(value, CLArray):
            if value.dtype in _LOW:
                return True
        elif isinstance(value, (list, tuple)):
            if any(isinstance(v, CLArray) and v.dtype in _LOW for v in value):
                return True
    return False


_WRAPPERS: dict[Callable[..., Any], Callable[..., Any]] = {}


def widening(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` taking float16/bfloat16 arrays through float32 (see the module's docstring).

    One wrapper per function, so a function that two namespaces share (``xp.vecdot`` and
    ``xp.linalg.vecdot``) stays one object."""
    if getattr(fn, "__axoncl_widening__", False):
        return fn
    if fn not in _WRAPPERS:
        _WRAPPERS[fn] = _make_widening(fn)
    return _WRAPPERS[fn]


def _make_widening(fn: Callable[..., Any]) -> Callable[..., Any]:

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not (_has_low(args) or _has_low(kwargs.values())):
            return fn(*args, **kwargs)
        low = _low_dtype((*args, *kwargs.values()))
        requested = kwargs.get("dtype")
        if requested is not None and requested in _LOW:
            kwargs["dtype"] = _dt.float32  # computed in float32, rounded to it at the end
            low = requested
        elif requested is not None:
            low = None  # an explicit wider dtype is the result's
        result = fn(*(_widen(a) for a in args), **{k: _widen(v) for k, v in kwargs.items()})
        return result if low is None else _narrow(result, low)

    wrapper.__axoncl_widening__ = True
    return wrapper


def widen_namespace(namespace: dict[str, Any], names) -> None:
    """Replace each function ``names`` of ``namespace`` (a module's globals) by its widening
    version."""
    for name in names:
        fn = namespace[name]
        if callable(fn) and not isinstance(fn, type):
            namespace[name] = widening(fn)
