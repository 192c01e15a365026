"""The array API's ``fft`` extension on OpenCL, through reikna's FFT computation.

reikna runs on our context and queue (a reikna ``Thread`` wrapping ``device.queue``, one per
Device), so its launches are ordered with ours and nothing waits for the device. Its compiled
computations are cached on the Device per (shape, dtype, axes): the first transform of a shape
builds reikna's programs (they are reikna's, outside ``kernels/``), later ones reuse them.

Every transform is a complex-to-complex FFT over some axes. ``rfft`` runs it on the input cast
to complex and keeps the first ``n // 2 + 1`` outputs; ``irfft`` rebuilds the Hermitian
spectrum and keeps the real part of the inverse; ``hfft`` and ``ihfft`` are those two with the
conjugate and the swapped norm (as numpy). ``n``/``s`` crop or zero-pad the input first;
``norm`` is ``"backward"`` (default: the inverse scales by ``1/n``), ``"ortho"`` or
``"forward"``.
"""

from __future__ import annotations

import math

import numpy as np

from . import complexes as _cx
from . import dtypes as _dt
from .array import CLArray, empty, from_numpy
from .copy import astype, copy_into, fill
from .creation import _device
from .layout import type_name
from .lines import normalize_axes
from .manipulation import concat, flip, reshape, roll

__all__ = [
    "fft",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "ifft",
    "ifftn",
    "ifftshift",
    "ihfft",
    "irfft",
    "irfftn",
    "rfft",
    "rfftfreq",
    "rfftn",
]

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# ---- reikna ------------------------------------------------------------------------------
def _computation(device, shape: tuple[int, ...], dtype: np.dtype, axes: tuple[int, ...]):
    """reikna's compiled FFT of this shape, dtype and axes, cached on the Device."""
    key = ("reikna_fft", shape, dtype, axes)
    compiled = device.state.get(key)
    if compiled is None:
        from reikna.core import Type
        from reikna.fft import FFT

        with device.build_lock:
            thread = device.state.get("reikna_thread")
            if thread is None:
                from reikna.cluda import ocl_api

                thread = ocl_api().Thread(device.queue)
                device.state["reikna_thread"] = thread
            compiled = FFT(Type(dtype, shape=shape), axes=axes).compile(thread)
        device.state[key] = compiled
    return compiled


def _as_reikna(device, x: CLArray):
    import pyopencl.array as cla

    return cla.Array(device.queue, x.shape, x.dtype, data=x.buffer)


def _c2c(x: CLArray, axes: tuple[int, ...], inverse: bool, norm: str) -> CLArray:
    """The complex FFT of the complex array ``x`` over ``axes`` (sorted, non-negative), scaled
    for ``norm``; a new contiguous array."""
    device = x.device
    out = empty(x.shape, x.dtype, device)
    # A length-1 axis transforms to itself (every norm scales it by 1); reikna's FFT does not
    # take one, so such axes are left out.
    axes = tuple(a for a in axes if x.shape[a] != 1)
    if x.size == 0 or not axes:
        copy_into(out, x)
        return out
    if not (x.is_contiguous() and x.offset == 0):
        src = empty(x.shape, x.dtype, device)
        copy_into(src, x)
        x = src
    if device.recorder is not None:
        raise RuntimeError(
            "fft: reikna's launches bypass axoncl.capture and would be missing from replays; "
            "keep FFTs out of a captured step"
        )
    n = math.prod(x.shape[a] for a in axes)
    # reikna's FFT takes no length-1 axes at all (not even untransformed ones): they go, on
    # views of the same buffers.
    kept = [d for d in range(x.ndim) if x.shape[d] != 1]
    shape = tuple(x.shape[d] for d in kept)
    axes = tuple(kept.index(a) for a in axes)
    src, dst = reshape(x, shape), reshape(out, shape)
    compiled = _computation(device, shape, x.dtype, axes)
    with device.launch_lock:
        compiled(_as_reikna(device, dst), _as_reikna(device, src), 1 if inverse else 0)
    # reikna's forward is unscaled and its inverse scales by 1/n (numpy's "backward" norm).
    scale = {"backward": 1.0, "ortho": math.sqrt(n) if inverse else 1 / math.sqrt(n)}.get(norm)
    if scale is None:  # "forward"
        scale = n if inverse else 1.0 / n
    if scale != 1.0:
        out = _cx.from_pairs(_cx._b("multiply", _cx.pairs(out), scale))
    return out


# ---- argument checks ---------------------------------------------------------------------
def _check(op: str, x, norm: str, *, real: bool = False) -> CLArray:
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    if norm not in _NORMS:
        raise ValueError(f"{op}: norm must be one of {_NORMS}, got {norm!r}")
    if real and x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a real floating-point array, got {x.dtype}")
    if not real and x.dtype.kind not in "fc":
        raise TypeError(f"{op}: expected a floating-point array, got {x.dtype}")
    return x


def _complex(x: CLArray) -> CLArray:
    return x if x.dtype.kind == "c" else astype(x, _dt.COMPLEX_OF[x.dtype])


def _resize(x: CLArray, axis: int, n: int, op: str) -> CLArray:
    """``x`` cropped or zero-padded to length ``n`` along ``axis``."""
    if n < 1:
        raise ValueError(f"{op}: expected a transform length of at least 1, got {n}")
    have = x.shape[axis]
    if n == have:
        return x
    if n < have:
        key = tuple(slice(0, n) if a == axis else slice(None) for a in range(x.ndim))
        return x[key]
    shape = tuple(n if a == axis else s for a, s in enumerate(x.shape))
    out = empty(shape, x.dtype, x.device)
    fill(out, 0)
    key = tuple(slice(0, have) if a == axis else slice(None) for a in range(x.ndim))
    copy_into(out[key], x)
    return out


def _axes_and_sizes(op: str, x: CLArray, s, axes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The standard's ``s`` and ``axes`` of an n-d transform: all axes by default, or the last
    ``len(s)``; sizes -1 keep the input's length."""
    if axes is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    axes = tuple(axes)
    pos = [normalize_axes(op, x.ndim, a)[0] for a in axes]
    if len(set(pos)) != len(pos):
        raise ValueError(f"{op}: repeated axis in {axes}")
    if s is None:
        sizes = tuple(x.shape[a] for a in pos)
    else:
        if len(s) != len(pos):
            raise ValueError(f"{op}: s and axes need the same length, got {s} and {axes}")
        sizes = tuple(x.shape[a] if n == -1 else int(n) for a, n in zip(pos, s, strict=True))
    return tuple(pos), sizes


# ---- complex transforms ------------------------------------------------------------------
def _transform(op, x, s, axes, norm, inverse) -> CLArray:
    x = _complex(_check(op, x, norm))
    pos, sizes = _axes_and_sizes(op, x, s, axes)
    for a, n in zip(pos, sizes, strict=True):
        x = _resize(x, a, n, op)
    return _c2c(x, tuple(sorted(pos)), inverse, norm)


def fft(x, /, *, n=None, axis=-1, norm="backward") -> CLArray:
    """One-dimensional discrete Fourier transform along ``axis``."""
    return _transform("fft", x, None if n is None else (n,), (axis,), norm, False)


def ifft(x, /, *, n=None, axis=-1, norm="backward") -> CLArray:
    """One-dimensional inverse discrete Fourier transform along ``axis``."""
    return _transform("ifft", x, None if n is None else (n,), (axis,), norm, True)


def fftn(x, /, *, s=None, axes=None, norm="backward") -> CLArray:
    """n-dimensional discrete Fourier transform over ``axes``."""
    return _transform("fftn", x, s, axes, norm, False)


def ifftn(x, /, *, s=None, axes=None, norm="backward") -> CLArray:
    """n-dimensional inverse discrete Fourier transform over ``axes``."""
    return _transform("ifftn", x, s, axes, norm, True)


# ---- real transforms ---------------------------------------------------------------------
def _half(z: CLArray, axis: int, n: int) -> CLArray:
    key = tuple(slice(0, n // 2 + 1) if a == axis else slice(None) for a in range(z.ndim))
    out = empty(z[key].shape, z.dtype, z.device)
    copy_into(out, z[key])
    return out


def rfftn(x, /, *, s=None, axes=None, norm="backward") -> CLArray:
    """n-dimensional FFT of a real array; the last axis keeps ``n // 2 + 1`` frequencies."""
    x = _check("rfftn", x, norm, real=True)
    pos, sizes = _axes_and_sizes("rfftn", x, s, axes)
    for a, n in zip(pos, sizes, strict=True):
        x = _resize(x, a, n, "rfftn")
    z = _c2c(_complex(x), tuple(sorted(pos)), False, norm)
    return _half(z, pos[-1], sizes[-1])


def rfft(x, /, *, n=None, axis=-1, norm="backward") -> CLArray:
    """One-dimensional FFT of a real array: ``n // 2 + 1`` frequencies."""
    return rfftn(x, s=None if n is None else (n,), axes=(axis,), norm=norm)


def _hermitian(x: CLArray, axis: int, n: int) -> CLArray:
    """The full length-``n`` spectrum along ``axis`` whose first ``n // 2 + 1`` entries are
    ``x``'s (cropped or zero-padded): the rest are ``conj(x[n - k])``."""
    x = _resize(x, axis, n // 2 + 1, "irfft")
    count = n - n // 2 - 1  # entries n//2 + 1 .. n - 1
    if count == 0:
        return x
    key = tuple(slice(1, 1 + count) if a == axis else slice(None) for a in range(x.ndim))
    tail = _cx.conj(flip(x[key], axis=axis))
    return concat([x, tail], axis=axis)


def irfftn(x, /, *, s=None, axes=None, norm="backward") -> CLArray:
    """Inverse of :func:`rfftn`; the last axis has length ``s[-1]`` (default
    ``2 * (m - 1)`` for an input of length ``m``)."""
    x = _complex(_check("irfftn", x, norm))
    if axes is None and s is None:
        axes = tuple(range(x.ndim))
    pos, sizes = _axes_and_sizes("irfftn", x, s, axes)
    last = pos[-1]
    n_last = 2 * (x.shape[last] - 1) if s is None or s[-1] == -1 else int(s[-1])
    sizes = (*sizes[:-1], n_last)
    for a, n in zip(pos[:-1], sizes[:-1], strict=True):
        x = _resize(x, a, n, "irfftn")
    if n_last < 1:
        raise ValueError(f"irfftn: expected an output length of at least 1, got {n_last}")
    # As numpy: complex inverses over the other axes, then a Hermitian inverse along the last.
    x = _c2c(x, tuple(sorted(pos[:-1])), True, norm)
    return _cx.real(_c2c(_hermitian(x, last, n_last), (last,), True, norm))


def irfft(x, /, *, n=None, axis=-1, norm="backward") -> CLArray:
    """Inverse of :func:`rfft`: a real array of length ``n`` (default ``2 * (m - 1)``)."""
    return irfftn(x, s=None if n is None else (n,), axes=(axis,), norm=norm)


def hfft(x, /, *, n=None, axis=-1, norm="backward") -> CLArray:
    """FFT of a signal with Hermitian symmetry given by its first half: a real array."""
    x = _complex(_check("hfft", x, norm))
    return irfft(_cx.conj(x), n=n, axis=axis, norm=_SWAP[norm])


def ihfft(x, /, *, n=None, axis=-1, norm="backward") -> CLArray:
    """Inverse of :func:`hfft`: ``n // 2 + 1`` complex values of a real input."""
    x = _check("ihfft", x, norm, real=True)
    return _cx.conj(rfft(x, n=n, axis=axis, norm=_SWAP[norm]))


# ---- frequencies and shifts --------------------------------------------------------------
def _frequencies(op: str, values: np.ndarray, dtype, device) -> CLArray:
    target = _device(device)
    dt = _dt.default_float(target) if dtype is None else _dt.as_dtype(dtype, target, op)
    if dt.kind != "f":
        raise TypeError(f"{op}: expected a real floating dtype, got {dt}")
    return from_numpy(values.astype(dt), target)


def fftfreq(n, /, *, d=1.0, dtype=None, device=None) -> CLArray:
    """Sample frequencies of an ``n``-point FFT with sample spacing ``d``."""
    if int(n) < 1:
        raise ValueError(f"fftfreq: expected n >= 1, got {n}")
    return _frequencies("fftfreq", np.fft.fftfreq(int(n), d), dtype, device)


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None) -> CLArray:
    """Sample frequencies of :func:`rfft` (``n // 2 + 1`` of them)."""
    if int(n) < 1:
        raise ValueError(f"rfftfreq: expected n >= 1, got {n}")
    return _frequencies("rfftfreq", np.fft.rfftfreq(int(n), d), dtype, device)


def _shift(op: str, x, axes, sign: int) -> CLArray:
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    pos = normalize_axes(op, x.ndim, axes)
    if not pos:
        return roll(x, 0)
    shifts = tuple((x.shape[a] // 2) * sign for a in pos)
    return roll(x, shifts, axis=pos)


def fftshift(x, /, *, axes=None) -> CLArray:
    """Move the zero frequency to the centre over ``axes`` (all by default)."""
    return _shift("fftshift", x, axes, 1)


def ifftshift(x, /, *, axes=None) -> CLArray:
    """Inverse of :func:`fftshift`."""
    return _shift("ifftshift", x, axes, -1)
