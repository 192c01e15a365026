"""Line views: every reduction, scan, softmax and sort sees its input as lines.

An input ``x`` is viewed as ``x[o, r, i] = buffer[offset + o*s_o + r*s_r + i*s_i]`` (outer,
reduced, inner) without copying: size-1 axes are dropped, the reduced axes collapse into one
strided axis and the kept axes into at most two (outer and inner), each with one stride. When
the strides do not allow that (for example a reduced axis tuple interleaved with a transposed
kept axis), the input is copied once into the layout ``(kept..., reduced...)``. Line ``j`` is
``(o, i) = divmod(j, n_inner)``; ``kernels/lines.h`` decodes it the same way on the device.

:func:`chunking` splits long lines so that every compute unit gets work, and
:func:`view_args` is the argument prefix every line kernel shares.
"""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dt
from .array import CLArray, ascontiguous
from .device import Device

__all__: list[str] = []  # nothing for the namespace; the helpers serve the line kernels

MIN_CHUNK = 4096  # shortest chunk worth a work-item of its own


def check_array(op: str, x) -> CLArray:
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected a CLArray, got {type(x).__name__}")
    if x.dtype.kind == "c":
        raise TypeError(
            f"{op}: not defined for complex arrays, got {x.dtype}; take real(x), imag(x) or "
            "abs(x) first"
        )
    if x.dtype not in _dt.C_TYPE:
        raise TypeError(f"{op}: dtype {x.dtype} is not supported by the OpenCL namespace")
    return x


def normalize_axes(op: str, ndim: int, axis) -> tuple[int, ...]:
    """Sorted, unique, non-negative axes; ``None`` means all of them."""
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: expected axis to be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of bounds for an array of dimension {ndim}")
        a = int(a) % ndim if ndim else 0
        if a in out:
            raise ValueError(f"{op}: repeated axis {a} in {axis!r}")
        out.append(a)
    return tuple(sorted(out))


def _collapse(dims: list[tuple[int, int]]) -> tuple[int, int] | None:
    """(size, stride) of dims that form one strided axis (C order), or None."""
    if not dims:
        return 1, 0
    n, s = dims[-1]
    for size, stride in reversed(dims[:-1]):
        if stride != s * n:
            return None
        n *= size
    return n, s


class LineView:
    """``x[o, r, i] = buffer[offset + o*s_o + r*s_r + i*s_i]`` with ``n_outer*n_inner`` outputs."""

    __slots__ = ("x", "offset", "n_outer", "s_o", "n_red", "s_r", "n_inner", "s_i")

    def __init__(self, x, offset, n_outer, s_o, n_red, s_r, n_inner, s_i) -> None:
        self.x = x
        self.offset = offset
        self.n_outer, self.s_o = n_outer, s_o
        self.n_red, self.s_r = n_red, s_r
        self.n_inner, self.s_i = n_inner, s_i

    @property
    def n_out(self) -> int:
        return self.n_outer * self.n_inner

    @property
    def rows(self) -> bool:
        """Whether the work-items should walk the reduced axis (innermost reduction)."""
        return self.n_inner == 1


def try_view(x: CLArray, axes: tuple[int, ...], ordered: bool) -> LineView | None:
    kept = [(x.shape[a], x.strides[a]) for a in range(x.ndim) if a not in axes and x.shape[a] != 1]
    red = [(x.shape[a], x.strides[a]) for a in axes if x.shape[a] != 1]
    if not ordered:
        # Order does not matter for sum/max/...: try the memory order, which collapses more.
        red.sort(key=lambda d: -abs(d[1]))
    r = _collapse(red)
    if r is None:
        return None
    best = None
    best_score = -1
    for p in range(len(kept), -1, -1):
        outer = _collapse(kept[:p])
        inner = _collapse(kept[p:])
        if outer is None or inner is None:
            continue
        if inner[0] == 1:
            score = 3 if r[1] == 1 else 1
        else:
            score = 2 if inner[1] == 1 else 0
        if score > best_score:
            best, best_score = (outer, inner), score
    if best is None:
        return None
    (n_o, s_o), (n_i, s_i) = best
    return LineView(x, x.offset, n_o, s_o, r[0], r[1], n_i, s_i)


def make_view(x: CLArray, axes: tuple[int, ...], ordered: bool = False) -> LineView:
    """The (outer, reduced, inner) view of ``x``; one contiguous copy when strides forbid it."""
    if x.size == 0:  # nothing is read; only the counts matter
        n_red = math.prod(x.shape[a] for a in axes)
        n_out = math.prod(n for a, n in enumerate(x.shape) if a not in axes)
        return LineView(x, x.offset, n_out, 0, n_red, 0, 1, 0)
    view = try_view(x, axes, ordered)
    if view is not None:
        return view
    kept = [a for a in range(x.ndim) if a not in axes]
    perm = kept + list(axes)
    permuted = CLArray(
        x.device,
        x.buffer,
        x.offset,
        tuple(x.shape[a] for a in perm),
        tuple(x.strides[a] for a in perm),
        x.dtype,
    )
    xc = ascontiguous(permuted)
    n_red = math.prod(x.shape[a] for a in axes)
    n_out = math.prod(x.shape[a] for a in kept)
    return LineView(xc, xc.offset, n_out, n_red, n_red, 1, 1, 0)


def line_view(op_name: str, x: CLArray, axis: int) -> LineView:
    """``x`` as (outer, axis, inner) with the kept axes in C order (a copy if needed)."""
    if x.size == 0:  # nothing is read; only the counts matter
        return LineView(
            x,
            x.offset,
            math.prod(x.shape[:axis]),
            0,
            x.shape[axis],
            0,
            math.prod(x.shape[axis + 1 :]),
            0,
        )
    outer = _collapse(
        [(n, s) for n, s in zip(x.shape[:axis], x.strides[:axis], strict=True) if n != 1]
    )
    inner = _collapse(
        [(n, s) for n, s in zip(x.shape[axis + 1 :], x.strides[axis + 1 :], strict=True) if n != 1]
    )
    if outer is None or inner is None:
        if x.is_contiguous():
            raise RuntimeError(f"{op_name}: internal error: contiguous {x.shape} did not collapse")
        return line_view(op_name, ascontiguous(x), axis)
    return LineView(
        x, x.offset, outer[0], outer[1], x.shape[axis], x.strides[axis], inner[0], inner[1]
    )


def out_shape(x: CLArray, axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if a in axes else n for a, n in enumerate(x.shape))
    return tuple(n for a, n in enumerate(x.shape) if a not in axes)


def chunking(device: Device, n_out: int, n_red: int, contiguous_only: bool = False):
    """(n_chunks, chunk, c_step, k_step) splitting each reduction so all compute units work."""
    cpu = device.caps.kind == "cpu"
    target = 64 * device.caps.compute_units if cpu else 8192
    if n_out >= target or n_red < 2 * MIN_CHUNK:
        return 1, n_red, n_red, 1
    n_chunks = min(-(-target // n_out), -(-n_red // MIN_CHUNK))
    chunk = -(-n_red // n_chunks)
    if cpu or contiguous_only:
        n_chunks = -(-n_red // chunk)  # every chunk non-empty
        return n_chunks, chunk, chunk, 1
    # GPU: interleaved chunks, so neighbouring work-items read neighbouring elements.
    return n_chunks, chunk, 1, n_chunks


def scratch(device: Device, n: int, dtype: np.dtype):
    """A pooled device buffer for ``n`` elements (at least one, never 0 bytes)."""
    return device.allocator.allocate(max(n, 1) * np.dtype(dtype).itemsize)


def view_args(view, n_out: int, n_chunks: int, chunk: int) -> tuple:
    """The kernel arguments every reduction pass over ``view`` starts with: the source, its
    (outer, inner, reduced) geometry, and the chunking of the reduced axis."""
    return (
        view.x.buffer,
        view.offset,
        n_out,
        view.n_inner,
        view.s_o,
        view.s_i,
        view.n_red,
        view.s_r,
        n_chunks,
        chunk,
    )
