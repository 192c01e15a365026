"""Host side of ``kernels/gemm.cl``: strided-batched GEMM with a fused epilogue.

:func:`gemm` is the one entry point (the namespace's ``matmul`` and the convolution call it).
It checks the arguments, picks a path and enqueues kernels on the device's in-order queue
without waiting:

* ``direct`` (``m*n*k`` below the table's ``direct_below``, or ``k == 0``): one launch, any
  strides, no temporaries.
* ``packed`` (CPUs): B is copied into zero-padded panels of NR = 16*NV columns (O(KN) work
  next to O(MNK); ``gemm_pack_b``), A is read in place with its strides, then ``gemm_packed``
  runs once per chunk of ``kc`` values of K so that a B panel and the A rows of a block of
  work-items stay in L2. Chunks after the first accumulate into C; bias and ReLU are applied
  by the last one.
* ``tiled`` (GPUs): local-memory tiles with bounds-checked loads, any strides, one launch.

Parameters come from :func:`.gemm_params.load_params` (table per device class + tuner JSON).
"""

from __future__ import annotations

import math

import numpy as np
import pyopencl as cl

from .device import Device
from .gemm_params import GemmParams, load_params
from .programs import get_kernel

__all__ = ["gemm", "choose_path"]

_EP_BETA, _EP_BIAS, _EP_BIAS_ROW, _EP_RELU = 1, 2, 4, 8
_PACK_LWS = 16


_I, _L, _R, _M = np.int32, np.int64, "real", None  # _M: a buffer
_OPERANDS = (_M, _L, _L, _L, _L) * 3  # A, B, C: buffer, offset, batch, row, column strides
_EPILOGUE = (_R, _R, _I, _M, _L, _L)  # alpha, beta, flags, bias buffer, offset, stride
_ARG_TYPES = {
    "gemm_direct": (_I, _I, _I, *_OPERANDS, *_EPILOGUE),
    "gemm_tiled": (_I, _I, _I, *_OPERANDS, *_EPILOGUE),
    "gemm_packed": (_I, _I, _I, _I, *_OPERANDS, *_EPILOGUE, _I, _I, _I),
    "gemm_pack_b": (_I, _I, _M, _L, _L, _L, _L, _M, _L, _I),
}
_TYPED: dict[int, cl.Kernel] = {}


def _kernel(device: Device, name: str, defines: dict) -> cl.Kernel:
    # Declared scalar types let pyopencl pack plain Python numbers; numpy scalars go through a
    # slow generic path (~15 us per argument with PoCL here, 0.35 ms for a GEMM launch).
    kernel = get_kernel(device, "gemm", name, **defines)
    if id(kernel) not in _TYPED:
        real = np.float64 if defines["REAL"] == "double" else np.float32
        kernel.set_scalar_arg_dtypes([real if t == _R else t for t in _ARG_TYPES[name]])
        _TYPED[id(kernel)] = kernel
    return kernel


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def _has_fma(device: Device, dtype: np.dtype) -> bool:
    dev = device.cl_device
    try:
        config = dev.double_fp_config if dtype == np.float64 else dev.single_fp_config
    except cl.Error:
        return False
    return bool(config & cl.device_fp_config.FMA)


_DEFINES: dict[tuple[int, str, GemmParams], dict[str, int | str]] = {}


def _defines(device: Device, dtype: np.dtype, p: GemmParams) -> dict[str, int | str]:
    key = (id(device), dtype.str, p)
    found = _DEFINES.get(key)
    if found is None:
        found = _DEFINES[key] = _make_defines(device, dtype, p)
    return found


def _make_defines(device: Device, dtype: np.dtype, p: GemmParams) -> dict[str, int | str]:
    double = dtype == np.float64
    return {
        "REAL": "double" if double else "float",
        "REAL_IS_DOUBLE": int(double),
        "VW": 8 if double else 16,
        "USE_FMA": int(_has_fma(device, dtype)),
        "RM": p.rm,
        "NV": p.nv,
        "DM": p.dm,
        "DN": p.dn,
        "TM": p.tm,
        "TN": p.tn,
        "TK": p.tk,
        "WM": p.wm,
        "WN": p.wn,
    }


def _work_group_limit(device: Device, kernel: cl.Kernel) -> int:
    try:
        return int(
            kernel.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE, device.cl_device)
        )
    except cl.Error:
        return device.caps.max_work_group_size


def _buffer_elements(buf: cl.MemoryObjectHolder, itemsize: int) -> int | None:
    try:
        return int(buf.size) // itemsize
    except (AttributeError, cl.Error):
        try:
            return int(buf.get_info(cl.mem_info.SIZE)) // itemsize
        except (AttributeError, cl.Error):
            return None


def _check_extent(
    name: str, buf, itemsize: int, offset: int, dims: tuple[int, ...], strides: tuple[int, ...]
) -> None:
    if any(d == 0 for d in dims):
        return
    lo = offset + sum((d - 1) * s for d, s in zip(dims, strides, strict=True) if s < 0)
    hi = offset + sum((d - 1) * s for d, s in zip(dims, strides, strict=True) if s > 0)
    size = _buffer_elements(buf, itemsize)
    if lo < 0 or (size is not None and hi >= size):
        raise ValueError(
            f"gemm: {name} with offset {offset}, shape {dims} and strides {strides} (elements) "
            f"spans elements {lo}..{hi}, outside its buffer of {size} elements"
        )


def _strides3(name: str, strides, default: tuple[int, int, int]) -> tuple[int, int, int]:
    if strides is None:
        return default
    strides = tuple(int(s) for s in strides)
    if len(strides) != 3:
        raise ValueError(
            f"gemm: expected {name} as (batch, row, column) strides in elements, got {strides}"
        )
    return strides


def choose_path(device: Device, m: int, n: int, k: int, params: GemmParams | None = None) -> str:
    """``"direct"``, ``"packed"`` or ``"tiled"``: the kernel :func:`gemm` uses for this shape."""
    p = params or load_params(device)
    if k == 0 or m * n * k < p.direct_below:
        return "direct"
    return p.large


def gemm(
    device: Device,
    a_buf,
    b_buf,
    c_buf,
    *,
    m: int,
    n: int,
    k: int,
    batch: int = 1,
    a_offset: int = 0,
    a_strides: tuple[int, int, int] | None = None,
    b_offset: int = 0,
    b_strides: tuple[int, int, int] | None = None,
    c_offset: int = 0,
    c_strides: tuple[int, int, int] | None = None,
    dtype=np.float32,
    alpha: float = 1.0,
    beta: float = 0.0,
    bias_buf=None,
    bias_offset: int = 0,
    bias_stride: int = 1,
    bias_axis: int = 1,
    relu: bool = False,
    path: str | None = None,
    params: GemmParams | None = None,
) -> None:
    """``C[b] = relu(alpha * A[b] @ B[b] + beta * C[b] + bias)`` for each batch; enqueue only.

    Parameters
    ----------
    device
        The :class:`~.device.Device` that owns the buffers.
    a_buf, b_buf, c_buf
        OpenCL buffers (plain or pooled). A is read as ``m x k``, B as ``k x n`` and C as
        ``m x n``; the caller allocates C. C must not overlap A or B.
    m, n, k, batch
        Problem size; any of them may be 0. With ``k == 0``, ``C = beta*C (+ bias) (ReLU)``.
    a_offset, a_strides, b_offset, b_strides, c_offset, c_strides
        Offsets and ``(batch, row, column)`` strides, in elements. Defaults are contiguous
        row-major (``(0, k, 1)``, ``(0, n, 1)``, ``(0, n, 1)``; batch stride 0 broadcasts).
        A transposed operand is just swapped row/column strides.
    dtype
        ``numpy.float32`` or ``numpy.float64`` (the latter needs ``cl_khr_fp64``).
    alpha, beta
        Scales; C is not read when ``beta == 0`` (it may hold NaN).
    bias_buf, bias_offset, bias_stride, bias_axis
        Optional bias added after scaling: ``bias_axis=1`` adds ``bias[j]`` to column ``j``
        (Linear: ``x @ W.T + b``), ``bias_axis=0`` adds ``bias[i]`` to row ``i`` (convolution
        forward, one value per output channel). Shared by all batches.
    relu
        Apply ``max(x, 0)`` last (NaN stays NaN).
    path, params
        Force ``"direct"``, ``"packed"`` or ``"tiled"``, or other parameters (tests, tuner).

    Examples
    --------
    >>> gemm(dev, a.buffer, b.buffer, c.buffer, m=64, n=32, k=16)  # doctest: +SKIP
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"gemm: expected dtype float32 or float64, got {dtype}")
    if dtype == np.float64 and not device.caps.fp64:
        raise TypeError(f"gemm: float64 needs cl_khr_fp64, which {device.caps.name} lacks")
    m, n, k, batch = int(m), int(n), int(k), int(batch)
    if min(m, n, k, batch) < 0:
        raise ValueError(
            f"gemm: expected non-negative sizes, got m={m}, n={n}, k={k}, batch={batch}"
        )
    if bias_axis not in (0, 1):
        raise ValueError(f"gemm: expected bias_axis 0 (per row) or 1 (per column), got {bias_axis}")
    if path not in (None, "auto", "direct", "packed", "tiled"):
        raise ValueError(f"gemm: expected path 'direct', 'packed' or 'tiled', got {path!r}")
    a_strides = _strides3("a_strides", a_strides, (0, k, 1))
    b_strides = _strides3("b_strides", b_strides, (0, n, 1))
    c_strides = _strides3("c_strides", c_strides, (0, n, 1))
    if m == 0 or n == 0 or batch == 0:
        return
    itemsize = dtype.itemsize
    _check_extent("A", a_buf, itemsize, a_offset, (batch, m, k), a_strides)
    _check_extent("B", b_buf, itemsize, b_offset, (batch, k, n), b_strides)
    _check_extent("C", c_buf, itemsize, c_offset, (batch, m, n), c_strides)
    if bias_buf is not None:
        _check_extent(
            "bias", bias_buf, itemsize, bias_offset, (m if bias_axis == 0 else n,), (bias_stride,)
        )

    p = params or load_params(device)
    if path in (None, "auto"):
        path = choose_path(device, m, n, k, p)
    if k == 0:
        path = "direct"
    flags = (_EP_BETA if beta != 0 else 0) | (_EP_RELU if relu else 0)
    if bias_buf is not None:
        flags |= _EP_BIAS | (_EP_BIAS_ROW if bias_axis == 0 else 0)
    else:
        bias_buf, bias_offset, bias_stride = c_buf, 0, 0
    defines = _defines(device, dtype, p)
    i64 = int
    epilogue = (
        float(alpha),
        float(beta),
        int(flags),
        bias_buf,
        i64(bias_offset),
        i64(bias_stride),
    )
    queue = device.queue

    if path in ("direct", "tiled"):
        args = (
            int(m),
            int(n),
            int(k),
            a_buf,
            i64(a_offset),
            i64(a_strides[0]),
            i64(a_strides[1]),
            i64(a_strides[2]),
            b_buf,
            i64(b_offset),
            i64(b_strides[0]),
            i64(b_strides[1]),
            i64(b_strides[2]),
            c_buf,
            i64(c_offset),
            i64(c_strides[0]),
            i64(c_strides[1]),
            i64(c_strides[2]),
            *epilogue,
        )
        if path == "direct":
            local = (p.dlx, p.dly, 1)
            glob = (_round_up(-(-n // p.dn), p.dlx), _round_up(-(-m // p.dm), p.dly), batch)
        else:
            ln, lm = p.tn // p.wn, p.tm // p.wm
            local = (ln, lm, 1)
            glob = (-(-n // p.tn) * ln, -(-m // p.tm) * lm, batch)
        kernel = _kernel(device, f"gemm_{path}", defines)
        if path == "tiled" and local[0] * local[1] > _work_group_limit(device, kernel):
            # The compiled kernel cannot run this many work-items (registers); the direct
            # kernel always fits.
            gemm(
                device,
                a_buf,
                b_buf,
                c_buf,
                m=m,
                n=n,
                k=k,
                batch=batch,
                a_offset=a_offset,
                a_strides=a_strides,
                b_offset=b_offset,
                b_strides=b_strides,
                c_offset=c_offset,
                c_strides=c_strides,
                dtype=dtype,
                alpha=alpha,
                beta=beta,
                bias_buf=bias_buf if flags & _EP_BIAS else None,
                bias_offset=bias_offset,
                bias_stride=bias_stride,
                bias_axis=bias_axis,
                relu=relu,
                path="direct",
                params=p,
            )
            return
        kernel(queue, glob, local, *args)
        return

    if path != "packed":
        raise ValueError(f"gemm: unknown path {path!r}")
    _gemm_packed(
        device,
        p,
        defines,
        a_buf,
        b_buf,
        c_buf,
        m,
        n,
        k,
        batch,
        a_offset,
        a_strides,
        b_offset,
        b_strides,
        c_offset,
        c_strides,
        epilogue,
        dtype,
    )


def _gemm_packed(
    device,
    p,
    defines,
    a_buf,
    b_buf,
    c_buf,
    m,
    n,
    k,
    batch,
    a_offset,
    a_strides,
    b_offset,
    b_strides,
    c_offset,
    c_strides,
    epilogue,
    dtype,
) -> None:
    queue = device.queue
    itemsize = dtype.itemsize
    i64 = i32 = int
    rm = p.rm
    nr = p.nv * (8 if dtype == np.float64 else 16)
    m_panels = -(-m // rm)
    n_panels = -(-n // nr)

    # B is read as NR-wide rows: in place when they are contiguous and whole, else from a
    # zero-padded copy [batch][panel][k][NR] (a broadcast batch is copied once). Big B is
    # copied anyway: rows ldb apart alias in L1 when ldb is a large power of two.
    in_place = b_strides[2] == 1 and n % nr == 0 and k * n < p.pack_b_above
    if in_place:
        b_args = (b_buf, i64(b_offset), i64(b_strides[0]), i64(nr), i64(b_strides[1]))
    else:
        b_copies = 1 if b_strides[0] == 0 else batch
        b_packed_batch = n_panels * k * nr
        b_pack = device.allocator(b_copies * b_packed_batch * itemsize)
        _kernel(device, "gemm_pack_b", defines)(
            queue,
            (_round_up(k, _PACK_LWS), n_panels, b_copies),
            (_PACK_LWS, 1, 1),
            i32(n),
            i32(k),
            b_buf,
            i64(b_offset),
            i64(b_strides[0]),
            i64(b_strides[1]),
            i64(b_strides[2]),
            b_pack,
            i64(b_packed_batch),
            i32(n_panels),
        )
        b_args = (b_pack, i64(0), i64(b_packed_batch if b_copies > 1 else 0), i64(k * nr), i64(nr))
    a_args = (a_buf, i64(a_offset), i64(a_strides[0]), i64(a_strides[1]), i64(a_strides[2]))

    kernel = _kernel(device, "gemm_packed", defines)
    m_block = max(1, min(p.m_block, m_panels))
    items = -(-m_panels // m_block) * m_block * n_panels
    glob = (_round_up(items, p.lws), batch)
    local = (p.lws, 1)
    c_args = (c_buf, i64(c_offset), i64(c_strides[0]), i64(c_strides[1]), i64(c_strides[2]))
    alpha, beta, flags, bias_buf, bias_offset, bias_stride = epilogue
    chunks = max(1, math.ceil(k / p.kc)) if p.kc > 0 else 1
    bounds = [k * i // chunks for i in range(chunks + 1)]
    for i in range(chunks):
        last = i == chunks - 1
        f = int(flags)
        if i > 0:  # accumulate into what the previous chunks wrote; bias and ReLU at the end
            f |= _EP_BETA
        if not last:
            f &= ~(_EP_BIAS | _EP_RELU)
        kernel(
            queue,
            glob,
            local,
            i32(m),
            i32(n),
            i32(bounds[i]),
            i32(bounds[i + 1]),
            *a_args,
            *b_args,
            *c_args,
            alpha,
            beta if i == 0 else 1.0,
            i32(f),
            bias_buf,
            bias_offset,
            bias_stride,
            i32(m_panels),
            i32(n_panels),
            i32(m_block),
        )
