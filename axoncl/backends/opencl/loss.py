"""Host side of ``kernels/loss.cl``: the OpenCL versions of the ``cross_entropy_rows`` and
``cross_entropy_backward`` primitives, one launch each. A label out of range is reported on
the device's error flag (the host raises at its next read). Inputs that are not contiguous
float32/float64 logits with int64 labels take the portable path."""

from __future__ import annotations

from .. import primitives
from . import dtypes as _dt
from .array import CLArray, empty
from .copy import cast
from .launch import get_kernel, tree_defines, tree_size
from .layout import check_device
from .windows import NAMESPACE, real_defines

__all__: list[str] = []


def _fits(x, target) -> bool:
    return (
        isinstance(x, CLArray)
        and isinstance(target, CLArray)
        and x.ndim == 2
        and x.dtype.kind == "f"
        and x.is_contiguous()
        and target.dtype.kind in "iu"
        and target.shape == x.shape[:1]
        and target.is_contiguous()
    )


@primitives.cross_entropy_rows.register(NAMESPACE)
def _cross_entropy_rows_cl(x, target, *, ignore_index, xp):
    if not _fits(x, target):
        return primitives.cross_entropy_rows.portable(x, target, ignore_index=ignore_index, xp=xp)
    device = check_device("cross_entropy", x, target)
    labels = cast(target, _dt.int64)
    n_rows, n_classes = x.shape
    loss, valid, lse = (empty((n_rows,), x.dtype, device) for _ in range(3))
    kernel = get_kernel(
        device, "loss", "loss_cross_entropy_rows", **real_defines(x.dtype, "cross_entropy")
    )
    kernel.launch_items(
        n_rows,
        x.buffer,
        x.offset,
        n_rows,
        n_classes,
        labels.buffer,
        labels.offset,
        int(ignore_index),
        device.error_flag,
        device.error_op("cross_entropy"),
        loss.buffer,
        valid.buffer,
        lse.buffer,
        op="cross_entropy",
        shapes=(x.shape, target.shape),
    )
    return loss, valid, lse


# Up to this many rows, a reduced loss is one work-group's launch (rows, sum and count at once).
_TOTAL_ROWS = 1 << 16


@primitives.cross_entropy_total.register(NAMESPACE)
def _cross_entropy_total_cl(x, target, *, ignore_index, mean, xp):
    if not _fits(x, target) or x.shape[0] > _TOTAL_ROWS:
        return primitives.cross_entropy_total.portable(
            x, target, ignore_index=ignore_index, mean=mean, xp=xp
        )
    device = check_device("cross_entropy", x, target)
    labels = cast(target, _dt.int64)
    n_rows, n_classes = x.shape
    total, count = (empty((), x.dtype, device) for _ in range(2))
    valid, lse = (empty((n_rows,), x.dtype, device) for _ in range(2))
    lws = tree_size(device)
    defines = {**real_defines(x.dtype, "cross_entropy"), **tree_defines(device)}
    kernel = get_kernel(device, "loss", "loss_cross_entropy_total", **defines)
    kernel.launch(
        (lws,),
        (lws,),
        x.buffer,
        x.offset,
        n_rows,
        n_classes,
        labels.buffer,
        labels.offset,
        int(ignore_index),
        device.error_flag,
        device.error_op("cross_entropy"),
        int(bool(mean)),
        total.buffer,
        count.buffer,
        valid.buffer,
        lse.buffer,
        op="cross_entropy",
        shapes=(x.shape, target.shape),
    )
    return total, count, valid, lse


@primitives.cross_entropy_backward.register(NAMESPACE)
def _cross_entropy_backward_cl(x, target, valid, lse, grad, divisor, *, xp):
    scalars_fit = (
        isinstance(grad, CLArray)
        and isinstance(divisor, CLArray)
        and grad.dtype == x.dtype
        and divisor.dtype == x.dtype
        and divisor.size == 1
        and grad.is_contiguous()
        and grad.size in (1, x.shape[0] if x.ndim else -1)
    )
    if not (_fits(x, target) and scalars_fit):
        return primitives.cross_entropy_backward.portable(
            x, target, valid, lse, grad, divisor, xp=xp
        )
    device = check_device("cross_entropy", x, target, valid, lse, grad, divisor)
    labels = cast(target, _dt.int64)
    n_rows, n_classes = x.shape
    dx = empty(x.shape, x.dtype, device)
    kernel = get_kernel(
        device, "loss", "loss_cross_entropy_backward", **real_defines(x.dtype, "cross_entropy")
    )
    kernel.launch_items(
        x.size,
        x.buffer,
        x.offset,
        n_rows,
        n_classes,
        labels.buffer,
        labels.offset,
        valid.buffer,
        lse.buffer,
        grad.buffer,
        grad.offset,
        0 if grad.size == 1 else 1,  # one value for a reduced loss, else one per row
        divisor.buffer,
        divisor.offset,
        dx.buffer,
        op="cross_entropy",
        shapes=(x.shape, target.shape),
    )
    return dx
