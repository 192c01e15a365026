"""Operand checks and strided layouts shared by the elementwise, copy and indexing modules.

* :func:`check_device`, :func:`type_name`, :func:`reject`, :func:`is_scalar`: what every
  namespace function checks first, with errors that name both sides.
* :func:`broadcast_shapes`, :func:`broadcast_strides`: array-API broadcasting of views.
* :func:`buffer_args`: the ``(buffer, offset)`` pairs the contiguous kernels take.
* :func:`make_layout`: the ``layout_t`` struct of ``kernels/layout.h``, handed by value to the
  ``_strided`` kernels (size-1 axes dropped, neighbouring axes merged).
"""

from __future__ import annotations

import numpy as np

from .array import CLArray
from .device import Device

__all__ = [
    "MAXDIM",
    "broadcast_shapes",
    "broadcast_strides",
    "buffer_args",
    "check_device",
    "is_scalar",
    "make_layout",
    "python_scalar",
    "reject",
    "type_name",
]

MAXDIM = 8  # LAYOUT_MAXDIM in kernels/layout.h
_NOPS = 4  # LAYOUT_OPS
_LAYOUT_LEN = 1 + MAXDIM + _NOPS + _NOPS * MAXDIM


def type_name(x) -> str:
    """``"OpenCL"`` for a CLArray, else ``module.Type`` of ``x`` (for error messages)."""
    if isinstance(x, CLArray):
        return "OpenCL"
    module = type(x).__module__.split(".")[0]
    return f"{module}.{type(x).__name__}"


def reject(op: str, a, b) -> None:
    """Raise the error for an operand that is neither an OpenCL array nor a Python scalar."""
    raise TypeError(
        f"{op}: cannot mix a {type_name(a)} array with a {type_name(b)} value; move it to the "
        "OpenCL device with xp.asarray(..., device=...) first"
    )


def is_scalar(x) -> bool:
    return isinstance(x, (bool, int, float, complex))


def python_scalar(x):
    """A numpy scalar (``np.float32(2)``) as the Python scalar it holds, so that it acts like
    one (a weak scalar of the array's dtype); anything else unchanged."""
    return x.item() if isinstance(x, (np.number, np.bool_)) else x


def buffer_args(*arrays: CLArray) -> tuple:
    """``(buffer, offset)`` of each array in turn: how the contiguous kernels take operands."""
    return tuple(v for x in arrays for v in (x.buffer, x.offset))


def check_device(op: str, *arrays: CLArray) -> Device:
    """The one device of ``arrays``; an error naming both when two differ."""
    device = arrays[0].device
    for other in arrays[1:]:
        if other.device is not device:
            raise ValueError(
                f"{op}: arrays live on different devices, {device.id} ({device.caps.name}) and "
                f"{other.device.id} ({other.device.caps.name}); move one with .to_device(...)"
            )
    return device


def broadcast_shapes(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The array-API broadcast of ``shapes``; an error naming them when they do not fit."""
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


def broadcast_strides(x: CLArray, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Strides of ``x`` viewed with the broadcast ``shape`` (0 along broadcast axes)."""
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
