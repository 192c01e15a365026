"""Differentiable discrete Fourier transforms, as ``torch.fft``: ``axoncl.fft.fft(x)`` on a
Variable of any backend whose namespace has the array API's ``fft`` extension (numpy,
array-api-strict, torch, JAX, and ``axoncl.backends.opencl`` through reikna).

Gradients follow PyTorch's convention for complex values (``dL/dx + i dL/dy``). Two rules carry
every transform:

* the complex transform over ``axes`` (``fftn``/``ifftn``), whose adjoint is the opposite
  transform with the swapped ``norm`` (``"backward"`` and ``"forward"`` exchange, ``"ortho"``
  stays);
* the inverse real transform (``irfftn``), whose adjoint is ``rfftn`` of the gradient with the
  swapped ``norm``, doubled at the frequencies that stand for a conjugate pair.

``rfftn`` is the complex transform of the input cast to complex with the last axis cropped to
``n // 2 + 1``; ``hfft`` and ``ihfft`` are ``irfft`` and ``rfft`` with a conjugate and the
swapped ``norm``. ``n``/``s`` crop (indexing) or zero-pad (``pad``) the input, differentiably.

Examples
--------
>>> import numpy as np
>>> import axoncl as ax
>>> x = ax.Variable(np.array([1.0, 2.0, 0.5, -1.0]), requires_grad=True)
>>> ax.fft.rfft(x).abs().sum().backward()  # torch.fft.rfft gives the same gradient
>>> x.grad.numpy().round(3)
array([ 2.164,  0.986,  1.836, -0.986])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .functions import astype, concat, conj, getitem, pad, real
from .graph import Function
from .variable import Variable

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


class _Transform(Function):
    """The complex transform over ``axes``; forward or inverse, scaled by ``norm``."""

    @staticmethod
    def forward(ctx, x):
        op = ctx.xp.fft.ifftn if ctx.inverse else ctx.xp.fft.fftn
        return op(x, axes=ctx.axes, norm=ctx.norm)

    @staticmethod
    def backward(ctx, grad):
        return (
            _Transform.apply(grad, axes=ctx.axes, norm=_SWAP[ctx.norm], inverse=not ctx.inverse),
        )


class _InverseReal(Function):
    """``irfftn`` over ``axes`` to the sizes ``s``, for an input whose last transformed axis
    already has ``s[-1] // 2 + 1`` entries."""

    @staticmethod
    def forward(ctx, x):
        ctx.in_dtype = x.dtype
        return ctx.xp.fft.irfftn(x, s=ctx.s, axes=ctx.axes, norm=ctx.norm)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        g = _Forward.apply(grad, axes=ctx.axes, norm=_SWAP[ctx.norm], s=ctx.s)
        # Bin k of the half spectrum stands for k and n - k, except 0 and (n even) n / 2.
        n = ctx.s[-1]
        m = n // 2 + 1
        last = ctx.axes[-1]
        weights = [1.0] + [2.0] * (m - 1)
        if n % 2 == 0:
            weights[-1] = 1.0
        shape = [1] * g.ndim
        shape[last] = m
        real_dtype = xp.real(xp.zeros((), dtype=ctx.in_dtype)).dtype
        w = xp.reshape(xp.asarray(weights, dtype=real_dtype, **_device(grad)), tuple(shape))
        return (g * Variable(w),)


class _Forward(Function):
    """``rfftn`` of a real input over ``axes`` to the sizes ``s``."""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.fft.rfftn(x, s=ctx.s, axes=ctx.axes, norm=ctx.norm)

    @staticmethod
    def backward(ctx, grad):
        # rfftn = crop(fftn(x)): the adjoint zero-pads the gradient, runs the opposite complex
        # transform and keeps the real part.
        last = ctx.axes[-1]
        missing = ctx.s[-1] - grad.shape[last]
        widths = [(0, missing if a == last else 0) for a in range(grad.ndim)]
        full = pad(grad, widths) if missing else grad
        back = _Transform.apply(full, axes=ctx.axes, norm=_SWAP[ctx.norm], inverse=True)
        return (real(back),)


def _device(v: Variable) -> dict:
    device = getattr(v.data, "device", None)
    return {} if device is None else {"device": device}


def _variable(x: Any) -> Variable:
    return x if isinstance(x, Variable) else Variable(x)


def _norm(op: str, norm: str) -> str:
    if norm not in _NORMS:
        raise ValueError(f"{op}: norm must be one of {_NORMS}, got {norm!r}")
    return norm


def _plan(op: str, x: Variable, s, axes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Non-negative ``axes`` (in the caller's order) and the sizes ``s`` of an n-d transform."""
    if axes is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    if isinstance(axes, int):
        axes = (axes,)
    pos = []
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a {x.ndim}-d input")
        pos.append(a % x.ndim)
    if len(set(pos)) != len(pos):
        raise ValueError(f"{op}: repeated axis in {tuple(axes)}")
    if s is None:
        sizes = [x.shape[a] for a in pos]
    else:
        if len(s) != len(pos):
            raise ValueError(f"{op}: s and axes need the same length, got {s} and {axes}")
        sizes = [x.shape[a] if n == -1 else int(n) for a, n in zip(pos, s, strict=True)]
    if any(n < 1 for n in sizes):
        raise ValueError(f"{op}: expected transform lengths of at least 1, got {tuple(sizes)}")
    return tuple(pos), tuple(sizes)


def _resize(x: Variable, axis: int, n: int) -> Variable:
    """``x`` cropped or zero-padded to ``n`` along ``axis``, differentiably."""
    have = x.shape[axis]
    if n < have:
        return getitem(x, tuple(slice(0, n) if a == axis else slice(None) for a in range(x.ndim)))
    if n > have:
        return pad(x, [(0, n - have if a == axis else 0) for a in range(x.ndim)])
    return x


def _complex(x: Variable) -> Variable:
    xp = x.xp
    if xp.isdtype(x.dtype, "complex floating"):
        return x
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"fft: expected a floating-point input, got {x.dtype}")
    return astype(x, xp.result_type(x.dtype, xp.complex64))


def _complex_transform(op, x, s, axes, norm, inverse) -> Variable:
    x = _complex(_variable(x))
    pos, sizes = _plan(op, x, s, axes)
    for a, n in zip(pos, sizes, strict=True):
        x = _resize(x, a, n)
    return _Transform.apply(x, axes=tuple(sorted(pos)), norm=_norm(op, norm), inverse=inverse)


def fft(x: Any, n: int | None = None, axis: int = -1, norm: str = "backward") -> Variable:
    """One-dimensional discrete Fourier transform along ``axis``."""
    return _complex_transform("fft", x, None if n is None else (n,), (axis,), norm, False)


def ifft(x: Any, n: int | None = None, axis: int = -1, norm: str = "backward") -> Variable:
    """One-dimensional inverse discrete Fourier transform along ``axis``."""
    return _complex_transform("ifft", x, None if n is None else (n,), (axis,), norm, True)


def fftn(x: Any, s: Sequence[int] | None = None, axes=None, norm: str = "backward") -> Variable:
    """n-dimensional discrete Fourier transform over ``axes`` (all by default)."""
    return _complex_transform("fftn", x, s, axes, norm, False)


def ifftn(x: Any, s: Sequence[int] | None = None, axes=None, norm: str = "backward") -> Variable:
    """n-dimensional inverse discrete Fourier transform over ``axes``."""
    return _complex_transform("ifftn", x, s, axes, norm, True)


def rfftn(x: Any, s: Sequence[int] | None = None, axes=None, norm: str = "backward") -> Variable:
    """n-dimensional FFT of a real input; the last axis keeps ``n // 2 + 1`` frequencies."""
    x = _variable(x)
    if not x.xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"rfftn: expected a real floating-point input, got {x.dtype}")
    pos, sizes = _plan("rfftn", x, s, axes)
    for a, n in zip(pos, sizes, strict=True):
        x = _resize(x, a, n)
    return _Forward.apply(x, axes=pos, norm=_norm("rfftn", norm), s=sizes)


def rfft(x: Any, n: int | None = None, axis: int = -1, norm: str = "backward") -> Variable:
    """One-dimensional FFT of a real input: ``n // 2 + 1`` frequencies."""
    return rfftn(x, None if n is None else (n,), (axis,), norm)


def irfftn(x: Any, s: Sequence[int] | None = None, axes=None, norm: str = "backward") -> Variable:
    """Inverse of :func:`rfftn`; the last axis has length ``s[-1]`` (default ``2 * (m - 1)``)."""
    x = _complex(_variable(x))
    pos, sizes = _plan("irfftn", x, s, axes)
    last = pos[-1]
    n_last = 2 * (x.shape[last] - 1) if s is None or s[-1] == -1 else int(s[-1])
    if n_last < 1:
        raise ValueError(f"irfftn: expected an output length of at least 1, got {n_last}")
    sizes = (*sizes[:-1], n_last)
    for a, n in zip(pos[:-1], sizes[:-1], strict=True):
        x = _resize(x, a, n)
    x = _resize(x, last, n_last // 2 + 1)
    return _InverseReal.apply(x, axes=pos, norm=_norm("irfftn", norm), s=sizes)


def irfft(x: Any, n: int | None = None, axis: int = -1, norm: str = "backward") -> Variable:
    """Inverse of :func:`rfft`: a real signal of length ``n`` (default ``2 * (m - 1)``)."""
    return irfftn(x, None if n is None else (n,), (axis,), norm)


def hfft(x: Any, n: int | None = None, axis: int = -1, norm: str = "backward") -> Variable:
    """FFT of a Hermitian-symmetric signal given by its first half: a real output."""
    return irfft(conj(_complex(_variable(x))), n, axis, _SWAP[_norm("hfft", norm)])


def ihfft(x: Any, n: int | None = None, axis: int = -1, norm: str = "backward") -> Variable:
    """Inverse of :func:`hfft`: ``n // 2 + 1`` complex values of a real input."""
    return conj(rfft(x, n, axis, _SWAP[_norm("ihfft", norm)]))


def fftfreq(n: int, d: float = 1.0, *, backend: Any = "numpy", dtype=None, device=None) -> Any:
    """Sample frequencies of an ``n``-point FFT (an array of ``backend``; no gradient)."""
    from .backends import get_backend

    return get_backend(backend).fft.fftfreq(n, d=d, dtype=dtype, device=device)


def rfftfreq(n: int, d: float = 1.0, *, backend: Any = "numpy", dtype=None, device=None) -> Any:
    """Sample frequencies of :func:`rfft` (an array of ``backend``; no gradient)."""
    from .backends import get_backend

    return get_backend(backend).fft.rfftfreq(n, d=d, dtype=dtype, device=device)


def _shift(x: Any, axes, sign: int) -> Variable:
    x = _variable(x)
    pos = tuple(range(x.ndim)) if axes is None else ((axes,) if isinstance(axes, int) else axes)
    for a in pos:
        n = x.shape[a]
        k = (sign * (n // 2)) % n if n else 0
        if k:  # roll by k along a: the last k entries move to the front
            head = getitem(
                x, tuple(slice(n - k, n) if b == a else slice(None) for b in range(x.ndim))
            )
            tail = getitem(
                x, tuple(slice(0, n - k) if b == a else slice(None) for b in range(x.ndim))
            )
            x = concat([head, tail], axis=a)
    return x


def fftshift(x: Any, axes=None) -> Variable:
    """Move the zero frequency to the centre over ``axes`` (all by default)."""
    return _shift(x, axes, 1)


def ifftshift(x: Any, axes=None) -> Variable:
    """Inverse of :func:`fftshift`."""
    return _shift(x, axes, -1)
