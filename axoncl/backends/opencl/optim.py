"""Host side of ``kernels/optim.cl``: the OpenCL versions of the ``sgd_step`` and ``adam_step``
primitives, which update parameters and optimizer state in place, up to eight parameters of
one dtype per launch (multi-tensor apply).

A parameter that is not a contiguous float32/float64 array, or whose gradient lives on another
device, takes the portable per-tensor path instead (the result is the same, only slower).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import primitives
from .array import CLArray, empty
from .copy import copy_into
from .launch import get_kernel
from .layout import check_device
from .windows import NAMESPACE, real_defines

__all__: list[str] = []

_TENSORS = 8  # TENSORS in kernels/optim.cl
_FIELDS = 7  # chunk_end, size, p_off, g_off, s_off, v_off, m_off
_SGD_MAXIMIZE, _SGD_FIRST, _SGD_NESTEROV, _SGD_MOMENTUM, _SGD_DECAY = 1, 2, 4, 8, 16
_ADAM_MAXIMIZE, _ADAM_DECOUPLED, _ADAM_DECAY, _ADAM_AMSGRAD = 1, 2, 4, 8


def _fits(p: Any, g: Any) -> bool:
    return (
        isinstance(p, CLArray)
        and isinstance(g, CLArray)
        and p.dtype.kind == "f"
        and g.dtype == p.dtype
        and g.shape == p.shape
        and p.is_contiguous()
        and g.device is p.device
    )


def _contiguous(x: CLArray) -> CLArray:
    if x.is_contiguous():
        return x
    out = empty(x.shape, x.dtype, x.device)
    copy_into(out, x)
    return out


def _batches(indices: list[int], key) -> list[list[int]]:
    """``indices`` grouped by ``key(i)``, each group cut into runs of at most eight."""
    groups: dict[Any, list[int]] = {}
    for i in indices:
        groups.setdefault(key(i), []).append(i)
    return [g[k : k + _TENSORS] for g in groups.values() for k in range(0, len(g), _TENSORS)]


def _launch(
    op: str, name: str, operands: list[list[CLArray]], scalars: tuple, **defines: int
) -> None:
    """One launch of ``optim_<name>`` over ``operands`` (per tensor: p, g and its states),
    built with ``defines`` besides the chunk and dtype."""
    p0 = operands[0][0]
    device = check_device(op, *[a for arrays in operands for a in arrays])
    chunk = 64 if device.caps.kind == "cpu" else 1
    columns = []  # per tensor: chunk_end, size and the offsets (then zeros)
    total = 0
    for arrays in operands:
        size = arrays[0].size
        total += -(-size // chunk)
        offsets = [a.offset for a in arrays]
        columns.append((total, size, *offsets, *(0,) * (_FIELDS - 2 - len(offsets))))
    columns += [(0,) * _FIELDS] * (_TENSORS - len(columns))
    table = np.array(list(zip(*columns, strict=True)), dtype=np.int64)  # (_FIELDS, _TENSORS)
    width = 5 if name == "adam" else 3  # buffer arguments per tensor
    buffers = [
        [
            operands[t][f].buffer if t < len(operands) and f < len(operands[t]) else p0.buffer
            for t in range(_TENSORS)
        ]
        for f in range(width)
    ]
    kernel = get_kernel(
        device, "optim", f"optim_{name}", CHUNK=chunk, **defines, **real_defines(p0.dtype, op)
    )
    kernel.launch_items(
        total,
        table,
        len(operands),
        *scalars,
        *[b for per_field in buffers for b in per_field],
        op=op,
        shapes=tuple(arrays[0].shape for arrays in operands),
    )
    for arrays in operands:  # parameters and state changed in place: saved values are stale
        for i, a in enumerate(arrays):
            if i != 1:  # the gradient is only read
                a.bump_version()


@primitives.sgd_step.register(NAMESPACE)
def _sgd_step_cl(
    params, grads, bufs, *, lr, momentum, dampening, weight_decay, nesterov, maximize, xp
):
    new_params = list(params)
    new_bufs = list(bufs)
    fast = [
        i
        for i, (p, g, b) in enumerate(zip(params, grads, bufs, strict=True))
        if _fits(p, g) and (b is None or (_fits(p, b) and b.is_contiguous()))
    ]
    slow = [i for i in range(len(params)) if i not in set(fast)]
    if slow:
        sp, sb = primitives.sgd_step.portable(
            [params[i] for i in slow],
            [grads[i] for i in slow],
            [bufs[i] for i in slow],
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            xp=xp,
        )
        for k, i in enumerate(slow):
            new_params[i], new_bufs[i] = sp[k], sb[k]
    base = (_SGD_MAXIMIZE if maximize else 0) | (_SGD_DECAY if weight_decay else 0)
    if momentum:
        base |= _SGD_MOMENTUM | (_SGD_NESTEROV if nesterov else 0)
    # The first momentum step creates its buffer; the kernel flag is per launch, so tensors
    # with and without a buffer go in separate launches.
    for batch in _batches(fast, lambda i: (params[i].dtype, bufs[i] is None)):
        flags = base
        operands = []
        for i in batch:
            p, g = params[i], _contiguous(grads[i])
            if momentum and bufs[i] is None:
                new_bufs[i] = empty(p.shape, p.dtype, p.device)
                flags |= _SGD_FIRST
            buf = new_bufs[i] if momentum else p  # without momentum the slot is never read
            operands.append([p, g, buf])
        scalars = (lr, momentum, 1.0 - dampening, weight_decay, flags)
        _launch("SGD.step", "sgd", operands, scalars)
    return new_params, new_bufs


@primitives.adam_step.register(NAMESPACE)
def _adam_step_cl(
    params,
    grads,
    exp_avgs,
    exp_avg_sqs,
    max_exp_avg_sqs,
    steps,
    *,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    decoupled,
    maximize,
    xp,
):
    amsgrad = max_exp_avg_sqs is not None
    states = [exp_avgs, exp_avg_sqs] + ([max_exp_avg_sqs] if amsgrad else [])

    def fits(i: int) -> bool:
        p = params[i]
        return _fits(p, grads[i]) and all(_fits(p, s[i]) and s[i].is_contiguous() for s in states)

    fast = [i for i in range(len(params)) if fits(i)]
    slow = [i for i in range(len(params)) if i not in set(fast)]
    out = [list(params), list(exp_avgs), list(exp_avg_sqs), list(max_exp_avg_sqs or [])]
    if slow:
        result = primitives.adam_step.portable(
            [params[i] for i in slow],
            [grads[i] for i in slow],
            [exp_avgs[i] for i in slow],
            [exp_avg_sqs[i] for i in slow],
            [max_exp_avg_sqs[i] for i in slow] if amsgrad else None,
            [steps[i] for i in slow],
            lr=lr,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            weight_decay=weight_decay,
            decoupled=decoupled,
            maximize=maximize,
            xp=xp,
        )
        for k, i in enumerate(slow):
            for j in range(3 + amsgrad):
                out[j][i] = result[j][k]
    flags = (
        (_ADAM_MAXIMIZE if maximize else 0)
        | (_ADAM_DECAY if weight_decay else 0)
        | (_ADAM_DECOUPLED if decoupled else 0)
        | (_ADAM_AMSGRAD if amsgrad else 0)
    )
    for batch in _batches(fast, lambda i: (params[i].dtype, steps[i])):
        t = steps[batch[0]]
        operands = []
        for i in batch:
            p = params[i]
            maxima = max_exp_avg_sqs[i] if amsgrad else p  # never read without AMSGrad
            operands.append([p, _contiguous(grads[i]), exp_avgs[i], exp_avg_sqs[i], maxima])
        scalars = (
            beta1,
            1.0 - beta1,
            beta2,
            1.0 - beta2,
            eps,
            weight_decay,
            1.0 - lr * weight_decay,
            lr / (1.0 - beta1**t),
            1.0 / math.sqrt(1.0 - beta2**t),
        )
        _launch("Adam.step", "adam", operands, scalars, ADAM_FLAGS=flags)
    return out[0], out[1], out[2], (out[3] if amsgrad else None)
