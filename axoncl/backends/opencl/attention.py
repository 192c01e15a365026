"""Host side of ``kernels/attention.cl``: the OpenCL versions of the ``attention_forward`` and
``attention_backward`` primitives. Forward is one launch (online softmax over key blocks,
writing the output and each row's log-sum-exp); backward is two (``dq`` with each row's
``delta = Σ grad·out``, then ``dk`` and ``dv`` per key row), and no launch holds more than one
block of scores per work-item. Scores are never stored.

The kernels take contiguous ``(G, L, E)`` operands with ``G`` the product of the leading axes;
a mask is materialised as ``(1 or G, Lq, Lk)``. Operands the kernels do not cover (other
dtypes, head sizes above :data:`MAX_HEAD_DIM`, empty axes) take the portable path.
"""

from __future__ import annotations

import math

from .. import primitives
from . import dtypes as _dt
from .array import CLArray, ascontiguous, empty
from .copy import cast
from .launch import get_kernel
from .layout import check_device
from .manipulation import broadcast_to, reshape
from .windows import NAMESPACE, real_defines

__all__: list[str] = []

# Row lengths (of q/k and of v) the kernels keep in private memory; longer rows go portable.
MAX_HEAD_DIM = 256
# Keys per block of scores in the forward kernel.
BLOCK_N = 16


def _fits(q, k, v, mask, *more) -> bool:
    arrays = (q, k, v, *more)
    return (
        all(isinstance(a, CLArray) for a in arrays)
        and q.dtype in (_dt.float32, _dt.float64)
        and all(a.dtype == q.dtype for a in arrays)
        and (mask is None or isinstance(mask, CLArray))
        and q.ndim >= 2
        and q.shape[:-2] == k.shape[:-2] == v.shape[:-2]
        and q.shape[-1] == k.shape[-1]
        and k.shape[-2] == v.shape[-2]
        and 0 < q.shape[-1] <= MAX_HEAD_DIM
        and 0 < v.shape[-1] <= MAX_HEAD_DIM
        and q.size > 0
        and k.size > 0
    )


def _mask_args(mask, q: CLArray, k: CLArray) -> list:
    """The kernels' mask arguments: (keep, offset, per-head stride, on) and the same for bias.
    A mask whose leading axes are all 1 is shared by every head (stride 0)."""
    lq, lk = q.shape[-2], k.shape[-2]
    keep = [q.buffer, 0, 0, 0]
    bias = [q.buffer, 0, 0, 0]
    if mask is None:
        return keep + bias
    shared = math.prod(mask.shape[:-2]) == 1
    if shared:
        mask = reshape(mask, mask.shape[-2:])
    shape = (lq, lk) if shared else (*q.shape[:-2], lq, lk)
    dtype = _dt.bool if mask.dtype == _dt.bool else q.dtype
    full = ascontiguous(broadcast_to(cast(mask, dtype), shape))
    args = [full.buffer, full.offset, 0 if shared else lq * lk, 1]
    if dtype == _dt.bool:
        return args + bias
    return keep + args


def _launcher(q: CLArray, k: CLArray, v: CLArray, mask, *, causal, scale, op: str, shapes):
    """(device, launch): ``launch(name, rows, *tail)`` runs kernel ``attention_<name>`` over
    ``rows`` rows of every head (``ROWS`` per work-item), with the arguments all three kernels
    share and then ``tail``."""
    device = check_device(op, q, k, v, *([mask] if mask is not None else []))
    heads = math.prod(q.shape[:-2])
    # Rows per work-item, one per vector lane: 512 bits of lanes on CPUs (PoCL: float16 or
    # double8), a scalar work-item per row on GPUs.
    lanes = device.vector_width if q.dtype == _dt.float32 else device.vector_width // 2
    lanes = max(lanes, 1)
    defines = {
        **real_defines(q.dtype, op),
        "HEAD_DIM": q.shape[-1],
        "VALUE_DIM": v.shape[-1],
        "ROWS": lanes,
        "BLOCK_N": BLOCK_N,
    }
    shared = [q.shape[-2], k.shape[-2], float(scale), int(bool(causal))]
    shared += [q.buffer, q.offset, k.buffer, k.offset, v.buffer, v.offset]
    shared += _mask_args(mask, q, k)

    def launch(name: str, rows: int, *tail) -> None:
        kernel = get_kernel(device, "attention", f"attention_{name}", **defines)
        kernel.launch_grid(-(-rows // lanes), heads, *shared, *tail, op=op, shapes=shapes)

    return device, launch


@primitives.attention_forward.register(NAMESPACE)
def _attention_forward_cl(q, k, v, mask, *, causal, scale, xp):
    if not _fits(q, k, v, mask):
        return primitives.attention_forward.portable(
            q, k, v, mask, causal=causal, scale=scale, xp=xp
        )
    q, k, v = ascontiguous(q), ascontiguous(k), ascontiguous(v)
    shapes = (q.shape, k.shape, v.shape)
    device, launch = _launcher(
        q, k, v, mask, causal=causal, scale=scale, op="attention", shapes=shapes
    )
    out = empty((*q.shape[:-1], v.shape[-1]), q.dtype, device)
    lse = empty(q.shape[:-1], q.dtype, device)
    launch("forward", q.shape[-2], out.buffer, lse.buffer)
    return out, lse


@primitives.attention_backward.register(NAMESPACE)
def _attention_backward_cl(grad, q, k, v, mask, out, lse, *, causal, scale, xp):
    if not _fits(q, k, v, mask, grad, out, lse) or grad.shape != out.shape:
        return primitives.attention_backward.portable(
            grad, q, k, v, mask, out, lse, causal=causal, scale=scale, xp=xp
        )
    q, k, v = ascontiguous(q), ascontiguous(k), ascontiguous(v)
    grad, out, lse = ascontiguous(grad), ascontiguous(out), ascontiguous(lse)
    shapes = (q.shape, k.shape, v.shape, grad.shape)
    device, launch = _launcher(
        q, k, v, mask, causal=causal, scale=scale, op="attention backward", shapes=shapes
    )
    delta = empty(lse.shape, q.dtype, device)
    dq, dk, dv = (empty(x.shape, q.dtype, device) for x in (q, k, v))
    rows = (grad.buffer, grad.offset, lse.buffer, lse.offset, delta.buffer)
    launch("backward_dq", q.shape[-2], out.buffer, out.offset, *rows, dq.buffer)
    launch("backward_dkdv", k.shape[-2], *rows, dk.buffer, dv.buffer)
    return dq, dk, dv
