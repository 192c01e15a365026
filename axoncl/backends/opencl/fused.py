"""Fused elementwise chains as single kernels (``kernels/fused.cl``).

Fusing is the biggest lever for elementwise code on PoCL (docs/kernels.md, section 5):
``a * b + c`` through the namespace is two launches and a temporary; here it is one pass over
memory.
Non-standard, like ``softmax``; the benchmarks use it. ``fused_relu_backward`` is the OpenCL
version of the ``relu_backward`` primitive: one launch for ReLU's backward instead of three.
"""

from __future__ import annotations

from .. import primitives
from . import dtypes as _dt
from .array import CLArray, empty
from .launch import get_kernel
from .layout import buffer_args
from .windows import NAMESPACE

__all__ = ["fused_multiply_add"]


def fused_multiply_add(a: CLArray, b: CLArray, c: CLArray, /) -> CLArray:
    """``a * b + c`` in one kernel, for contiguous floating arrays of one shape and dtype.

    The product is rounded before the addition, so the result equals numpy's ``a * b + c``.

    Examples
    --------
    >>> fused_multiply_add(x, y, z).to_numpy()  # doctest: +SKIP
    """
    for name, arr in (("a", a), ("b", b), ("c", c)):
        if not isinstance(arr, CLArray):
            raise TypeError(
                f"fused_multiply_add: expected CLArray {name}, got {type(arr).__name__}"
            )
        if arr.dtype != a.dtype or not _dt.is_floating(arr.dtype):
            raise TypeError(
                f"fused_multiply_add: expected a, b, c of one floating dtype, got "
                f"{a.dtype}, {b.dtype}, {c.dtype}"
            )
        if arr.shape != a.shape or not arr.is_contiguous():
            raise ValueError(
                f"fused_multiply_add: expected contiguous arrays of one shape, got "
                f"{a.shape}, {b.shape}, {c.shape}; broadcast and copy first"
            )
        if arr.device is not a.device:
            raise ValueError(
                f"fused_multiply_add: arrays live on {a.device.id} and "
                f"{arr.device.id}; move one with to_device(...)"
            )
    device = a.device
    out = empty(a.shape, a.dtype, device)
    n = a.size
    if n == 0:
        return out
    vec = device.vector_width
    kernel = get_kernel(
        device, "fused", "fused_multiply_add", **_dt.storage_defines(a.dtype), VEC=vec
    )
    kernel.launch_items(
        -(-n // vec), n, *buffer_args(out, a, b, c), op="fused_multiply_add", shapes=(a.shape,)
    )
    return out


@primitives.relu_backward.register(NAMESPACE)
def _relu_backward_cl(grad, out, *, xp):
    if not (
        isinstance(grad, CLArray)
        and isinstance(out, CLArray)
        and grad.dtype == out.dtype
        and _dt.is_floating(grad.dtype)
        and grad.shape == out.shape
        and grad.is_contiguous()
        and out.is_contiguous()
        and grad.device is out.device
    ):
        return primitives.relu_backward.portable(grad, out, xp=xp)
    device = grad.device
    result = empty(grad.shape, grad.dtype, device)
    n = grad.size
    vec = device.vector_width
    kernel = get_kernel(
        device, "fused", "fused_relu_backward", **_dt.storage_defines(grad.dtype), VEC=vec
    )
    kernel.launch_items(
        -(-n // vec), n, *buffer_args(result, grad, out), op="relu_backward", shapes=(grad.shape,)
    )
    return result
