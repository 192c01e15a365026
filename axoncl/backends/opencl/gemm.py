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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyopencl as cl

from . import dtypes as _dt
from .device import Device
from .gemm_params import GemmParams, load_params
from .launch import Kernel, get_kernel

__all__ = ["MatrixOperand", "VectorOperand", "choose_path", "gemm", "gemm_defines"]

_EP_BETA, _EP_BIAS, _EP_BIAS_ROW, _EP_RELU = 1, 2, 4, 8
_PACK_LWS = 16


@dataclass(frozen=True, slots=True)
class MatrixOperand:
    """A batch of matrices in one OpenCL buffer, as :func:`gemm` reads or writes it.

    Element ``(b, i, j)`` lives at ``offset + b*strides[0] + i*strides[1] + j*strides[2]``
    (in elements). ``strides=None`` means contiguous row-major with no batch stride; a
    transposed operand is the same buffer with its row and column strides swapped, and a batch
    stride of 0 shares one matrix between all batches.

    Examples
    --------
    >>> import axoncl.backends.opencl as xp
    >>> x = xp.zeros((64, 16))
    >>> a = MatrixOperand(x.buffer, x.offset, (0, 1, 16))  # x transposed: a 16 x 64 matrix
    >>> a.strides
    (0, 1, 16)
    """

    buffer: Any
    offset: int = 0
    strides: tuple[int, int, int] | None = None

    def args(self, default: tuple[int, int, int]) -> tuple[Any, int, int, int, int]:
        """(buffer, offset, batch stride, row stride, column stride): the kernels' arguments."""
        s = self.strides if self.strides is not None else default
        return (self.buffer, int(self.offset), int(s[0]), int(s[1]), int(s[2]))


@dataclass(frozen=True, slots=True)
class VectorOperand:
    """A vector in one OpenCL buffer: element ``i`` at ``offset + i*stride`` (elements)."""

    buffer: Any
    offset: int = 0
    stride: int = 1


def _kernel(device: Device, name: str, defines: dict) -> Kernel:
    return get_kernel(device, "gemm", name, **defines)


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def _has_fma(device: Device, dtype: np.dtype) -> bool:
    dev = device.cl_device
    try:
        config = dev.double_fp_config if dtype == np.float64 else dev.single_fp_config
    except cl.Error:
        return False
    return bool(config & cl.device_fp_config.FMA)


def gemm_defines(device: Device, dtype: np.dtype, p: GemmParams) -> dict[str, int | str]:
    """The build options of ``kernels/gemm.cl`` for ``dtype`` and parameters ``p`` (cached)."""
    key = ("gemm", dtype.str, p)
    found = device.state.get(key)
    if found is None:
        found = device.state[key] = _make_defines(device, dtype, p)
    return found


def _make_defines(device: Device, dtype: np.dtype, p: GemmParams) -> dict[str, int | str]:
    double = dtype == np.float64
    storage = {"STORAGE": _dt.STORAGE[dtype]} if dtype in _dt.STORAGE else {}
    return {
        **storage,
        "REAL": "double" if double else "float",
        "REAL_IS_DOUBLE": int(double),
        "VW": 8 if double else 16,
        "USE_FMA": int(_has_fma(device, np.dtype(np.float64 if double else np.float32))),
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


def _operand(name: str, x, default: tuple[int, int, int]) -> MatrixOperand:
    if not isinstance(x, MatrixOperand):
        raise TypeError(f"gemm: expected {name} as a MatrixOperand, got {type(x).__name__}")
    strides = default if x.strides is None else tuple(int(s) for s in x.strides)
    if len(strides) != 3:
        raise ValueError(
            f"gemm: expected {name}.strides as (batch, row, column) in elements, got {strides}"
        )
    return MatrixOperand(x.buffer, int(x.offset), strides)


def choose_path(
    device: Device,
    m: int,
    n: int,
    k: int,
    params: GemmParams | None = None,
    batch: int = 1,
) -> str:
    """``"direct"``, ``"packed"`` or ``"tiled"``: the kernel :func:`gemm` uses for this shape.

    The threshold counts the whole batch's work: 64 small products of a convolution are one
    large problem (the packed kernel ran conv1's 64 x (16 x 784 x 9) 8x faster than direct).
    """
    p = params or load_params(device)
    if k == 0 or m * n * k * max(batch, 1) < p.direct_below:
        return "direct"
    return p.large


def gemm(
    device: Device,
    a: MatrixOperand,
    b: MatrixOperand,
    c: MatrixOperand,
    *,
    m: int,
    n: int,
    k: int,
    batch: int = 1,
    dtype=np.float32,
    alpha: float = 1.0,
    beta: float = 0.0,
    bias: VectorOperand | None = None,
    bias_axis: int = 1,
    relu: bool = False,
    path: str | None = None,
    params: GemmParams | None = None,
    op: str = "gemm",
) -> None:
    """``C[b] = relu(alpha * A[b] @ B[b] + beta * C[b] + bias)`` for each batch; enqueue only.

    Parameters
    ----------
    device
        The :class:`~.device.Device` that owns the buffers.
    a, b, c
        :class:`MatrixOperand` views: A is read as ``m x k``, B as ``k x n`` and C as
        ``m x n``; the caller allocates C. C must not overlap A or B. Default strides are
        contiguous row-major (``(0, k, 1)``, ``(0, n, 1)``, ``(0, n, 1)``).
    m, n, k, batch
        Problem size; any of them may be 0. With ``k == 0``, ``C = beta*C (+ bias) (ReLU)``.
    dtype
        ``numpy.float32`` or ``numpy.float64`` (the latter needs ``cl_khr_fp64``), or the
        16-bit ``float16``/``bfloat16``: stored in 16 bits, accumulated in float32, C rounded
        to nearest even once.
    alpha, beta
        Scales; C is not read when ``beta == 0`` (it may hold NaN).
    bias, bias_axis
        Optional :class:`VectorOperand` added after scaling: ``bias_axis=1`` adds ``bias[j]``
        to column ``j`` (Linear: ``x @ W.T + b``), ``bias_axis=0`` adds ``bias[i]`` to row
        ``i`` (convolution forward, one value per output channel). Shared by all batches.
    relu
        Apply ``max(x, 0)`` last (NaN stays NaN).
    path, params
        Force ``"direct"``, ``"packed"`` or ``"tiled"``, or other parameters (tests, tuner).
    op
        The operation named in launch errors (``"matmul"``, ``"conv2d"``...).

    Raises
    ------
    TypeError
        A dtype other than float32/float64, float64 without fp64, or an operand that is not a
        :class:`MatrixOperand`.
    ValueError
        Negative sizes, a bad ``bias_axis`` or ``path``, or an operand whose extent leaves
        its buffer.

    Examples
    --------
    >>> gemm(dev, MatrixOperand(a.buffer), MatrixOperand(b.buffer), MatrixOperand(c.buffer),
    ...      m=64, n=32, k=16)  # doctest: +SKIP
    """
    plan_key = None
    if path is None and params is None:  # a call planned before: check extents, enqueue
        plan_key = _plan_key(dtype, (m, n, k, batch), a, b, c, beta, bias, bias_axis, relu)
        plan = device.state.get(plan_key) if plan_key is not None else None
        if plan is not None and plan.params is load_params(device):
            plan.run(a, b, c, alpha, beta, bias, op)
            return
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64, *_dt.LOW_PRECISION):
        raise TypeError(f"gemm: expected dtype float32, float64, float16 or bfloat16, got {dtype}")
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
    a = _operand("a", a, (0, k, 1))
    b = _operand("b", b, (0, n, 1))
    c = _operand("c", c, (0, n, 1))
    if m == 0 or n == 0 or batch == 0:
        return
    itemsize = dtype.itemsize
    _check_extent("A", a.buffer, itemsize, a.offset, (batch, m, k), a.strides)
    _check_extent("B", b.buffer, itemsize, b.offset, (batch, k, n), b.strides)
    _check_extent("C", c.buffer, itemsize, c.offset, (batch, m, n), c.strides)
    if bias is not None:
        _check_extent(
            "bias",
            bias.buffer,
            itemsize,
            bias.offset,
            (m if bias_axis == 0 else n,),
            (bias.stride,),
        )

    p = params or load_params(device)
    if path in (None, "auto"):
        path = choose_path(device, m, n, k, p, batch)
    if k == 0:
        path = "direct"
    if path not in ("direct", "packed", "tiled"):
        raise ValueError(f"gemm: unknown path {path!r}")
    flags = (_EP_BETA if beta != 0 else 0) | (_EP_RELU if relu else 0)
    if bias is not None:
        flags |= _EP_BIAS | (_EP_BIAS_ROW if bias_axis == 0 else 0)
    sizes, operands = (m, n, k, batch), (a, b, c)
    plan = _Plan(device, p, dtype, sizes, operands, bias, bias_axis, path, flags)
    if path == "tiled" and plan.local[0] * plan.local[1] > plan.kernel.max_local:
        # The compiled kernel cannot run this many work-items (registers); the direct
        # kernel always fits (and the call's plan is the direct one from now on).
        plan = _Plan(device, p, dtype, sizes, operands, bias, bias_axis, "direct", flags)
    if plan_key is not None:
        device.state[plan_key] = plan
    plan.run(a, b, c, alpha, beta, bias, op)


def _plan_key(dtype, sizes, a, b, c, beta, bias, bias_axis, relu) -> tuple | None:
    """The key of a cached :class:`_Plan` for a call with default path and parameters, or None
    when the operands are not plain :class:`MatrixOperand` s (the full checks then run)."""
    if type(a) is not MatrixOperand or type(b) is not MatrixOperand:
        return None
    if type(c) is not MatrixOperand:
        return None
    bias_key = None if bias is None else (bias_axis, bias.stride)
    return ("gemm_plan", dtype, *sizes, a.strides, b.strides, c.strides, beta != 0, relu, bias_key)


def _spans(dims: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, int]:
    """The lowest and highest element an operand reaches, relative to its offset."""
    lo = sum((d - 1) * s for d, s in zip(dims, strides, strict=True) if s < 0)
    hi = sum((d - 1) * s for d, s in zip(dims, strides, strict=True) if s > 0)
    return lo, hi


class _Plan:
    """Everything about one GEMM call that depends only on its sizes, dtype, strides, epilogue
    and the device's parameters: the path, kernels, launch geometry and B's packing. A call
    with the same key (:func:`_plan_key`) reuses it and only checks its operands' extents
    and enqueues: the host cost of a call (launches stubbed out) fell from 31 to 7.8 us, which
    is 0.18 ms of an MLP step's eight GEMM calls."""

    __slots__ = (
        "params",
        "dtype",
        "sizes",
        "strides",
        "spans",
        "bias_span",
        "path",
        "flags",
        "shapes",
        "kernel",
        "glob",
        "local",
        "pack",
        "m_panels",
        "n_panels",
        "m_block",
        "bounds",
        "device",
        "nr",
    )

    def __init__(self, device, p, dtype, sizes, operands, bias, bias_axis, path, flags) -> None:
        m, n, k, batch = sizes
        self.device, self.params, self.dtype, self.sizes = device, p, dtype, sizes
        self.strides = tuple(x.strides for x in operands)
        dims = ((batch, m, k), (batch, k, n), (batch, m, n))
        self.spans = tuple(_spans(d, s) for d, s in zip(dims, self.strides, strict=True))
        self.bias_span = (
            None if bias is None else _spans((m if bias_axis == 0 else n,), (bias.stride,))
        )
        self.path, self.flags = path, flags
        self.shapes = ((batch, m, k), (batch, k, n))
        defines = gemm_defines(device, dtype, p)
        self.pack = None
        if path == "direct":
            self.local = (p.dlx, p.dly, 1)
            self.glob = (_round_up(-(-n // p.dn), p.dlx), _round_up(-(-m // p.dm), p.dly), batch)
        elif path == "tiled":
            ln, lm = p.tn // p.wn, p.tm // p.wm
            self.local = (ln, lm, 1)
            self.glob = (-(-n // p.tn) * ln, -(-m // p.tm) * lm, batch)
        else:
            self._plan_packed(device, p, defines)
        self.kernel = _kernel(device, f"gemm_{path}", defines)

    def _plan_packed(self, device, p, defines) -> None:
        m, n, k, batch = self.sizes
        dtype = self.dtype
        self.nr = nr = p.nv * (8 if dtype == np.float64 else 16)
        self.m_panels, self.n_panels = -(-m // p.rm), -(-n // nr)
        # B is read as NR-wide rows: in place when they are contiguous and whole, else from a
        # zero-padded copy [batch][panel][k][NR] (a broadcast batch is copied once). Big B is
        # copied anyway: rows ldb apart alias in L1 when ldb is a large power of two.
        b_strides = self.strides[1]
        storage = dtype in _dt.STORAGE
        if b_strides[2] == 1 and n % nr == 0 and k * n < p.pack_b_above and not storage:
            self.pack = None
        else:
            copies = 1 if b_strides[0] == 0 else batch
            per_batch = self.n_panels * k * nr
            itemsize = 4 if storage else dtype.itemsize  # 16-bit B packs as float
            self.pack = (
                _kernel(device, "gemm_pack_b", defines),
                (_round_up(k, _PACK_LWS), self.n_panels, copies),
                copies * per_batch * itemsize,
                per_batch,
                (0, per_batch if copies > 1 else 0, k * nr, nr),
            )
        self.m_block = max(1, min(p.m_block, self.m_panels))
        items = -(-self.m_panels // self.m_block) * self.m_block * self.n_panels
        self.glob, self.local = (_round_up(items, p.lws), batch), (p.lws, 1)
        chunks = max(1, math.ceil(k / p.kc)) if p.kc > 0 else 1
        self.bounds = [k * i // chunks for i in range(chunks + 1)]

    def _check(self, name: str, x, span) -> None:
        size = _buffer_elements(x.buffer, self.dtype.itemsize)
        if x.offset + span[0] >= 0 and (size is None or x.offset + span[1] < size):
            return
        m, n, k, batch = self.sizes
        if name == "bias":
            dims, strides = ((m if self.flags & _EP_BIAS_ROW else n),), (x.stride,)
        else:
            i = "ABC".index(name)
            dims = ((batch, m, k), (batch, k, n), (batch, m, n))[i]
            strides = self.strides[i]
        _check_extent(name, x.buffer, self.dtype.itemsize, x.offset, dims, strides)

    def run(self, a, b, c, alpha, beta, bias, op: str) -> None:
        """Check the operands' extents, then enqueue the kernels."""
        m, n, k, batch = self.sizes
        sa, sb, sc = self.strides
        span_a, span_b, span_c = self.spans
        self._check("A", a, span_a)
        self._check("B", b, span_b)
        self._check("C", c, span_c)
        if bias is not None:
            self._check("bias", bias, self.bias_span)
            epilogue = (bias.buffer, int(bias.offset), bias.stride)
        else:
            epilogue = (c.buffer, 0, 0)
        a_args = (a.buffer, int(a.offset), *sa)
        c_args = (c.buffer, int(c.offset), *sc)
        if self.path != "packed":
            self.kernel.launch(
                self.glob,
                self.local,
                m,
                n,
                k,
                *a_args,
                b.buffer,
                int(b.offset),
                *sb,
                *c_args,
                float(alpha),
                float(beta),
                self.flags,
                *epilogue,
                op=op,
                shapes=self.shapes,
            )
            return
        device = self.device
        if self.pack is None:
            b_args = (b.buffer, int(b.offset), sb[0], self.nr, sb[1])
        else:
            kernel, glob, nbytes, per_batch, layout = self.pack
            b_pack = device.allocator(nbytes)
            kernel.launch(
                glob,
                (_PACK_LWS, 1, 1),
                n,
                k,
                b.buffer,
                int(b.offset),
                *sb,
                b_pack,
                per_batch,
                self.n_panels,
                op=op,
                shapes=self.shapes,
            )
            b_args = (b_pack, *layout)
        if self.dtype in _dt.STORAGE:
            wide = _widened_a(device, a, m, k, batch, self.dtype)
            a_args = (wide.buffer, wide.offset, *wide.strides)
        bounds = self.bounds
        chunks = len(bounds) - 1
        for i in range(chunks):
            f = self.flags
            if i > 0:  # accumulate into what the previous chunks wrote; bias and ReLU at the end
                f |= _EP_BETA
            if i < chunks - 1:
                f &= ~(_EP_BIAS | _EP_RELU)
            self.kernel.launch(
                self.glob,
                self.local,
                m,
                n,
                bounds[i],
                bounds[i + 1],
                *a_args,
                *b_args,
                *c_args,
                float(alpha),
                float(beta) if i == 0 else 1.0,
                f,
                *epilogue,
                self.m_panels,
                self.n_panels,
                self.m_block,
                op=op,
                shapes=self.shapes,
            )


def _widened_a(
    device: Device, a: MatrixOperand, m: int, k: int, batch: int, dtype: np.dtype
) -> MatrixOperand:
    """A 16-bit A as a new contiguous float32 operand (a broadcast batch is widened once)."""
    from .array import CLArray  # gemm.py sits below the array layer; imported on first use
    from .copy import astype

    batches = 1 if a.strides[0] == 0 else batch
    view = CLArray(device, a.buffer, a.offset, (batches, m, k), a.strides, dtype)
    wide = astype(view, _dt.float32)
    return MatrixOperand(wide.buffer, wide.offset, (m * k if batches > 1 else 0, k, 1))
