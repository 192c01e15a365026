"""The fft extension of the OpenCL namespace (reikna) against numpy's pocketfft: every
function, each norm, n/s cropping and zero-padding, axes in any order, odd, prime and size-1
lengths, strided views, complex64 and complex128, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

NORMS = ["backward", "ortho", "forward"]
TOL = {np.complex64: 2e-5, np.complex128: 1e-11, np.float32: 2e-5, np.float64: 1e-11}


def _z(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)


def _r(shape, dtype, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _check(got, want, dtype):
    got = got.to_numpy()
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * scale)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [None, 1, 5, 13])
def test_fft_ifft(xp, dtype, norm, n):
    a = _z((3, 8), dtype)
    x = xp.asarray(a)
    want = np.fft.fft(a, n=n, norm=norm).astype(dtype)
    _check(xp.fft.fft(x, n=n, norm=norm), want, dtype)
    want = np.fft.ifft(a, n=n, axis=0, norm=norm).astype(dtype)
    _check(xp.fft.ifft(x, n=n, axis=0, norm=norm), want, dtype)
    # a strided, reversed view
    _check(
        xp.fft.fft(x[::2, ::-1], norm=norm),
        np.fft.fft(a[::2, ::-1], norm=norm).astype(dtype),
        dtype,
    )


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(
    ("s", "axes"), [(None, None), ((4, 3), (0, 2)), (None, (2, 0)), ((5,), None)]
)
def test_fftn_ifftn(xp, norm, s, axes):
    a = _z((3, 4, 6), np.complex128, 1)
    x = xp.asarray(a)
    ax = axes if axes is not None or s is None else tuple(range(3 - len(s), 3))
    _check(
        xp.fft.fftn(x, s=s, axes=axes, norm=norm),
        np.fft.fftn(a, s=s, axes=ax, norm=norm),
        np.complex128,
    )
    _check(
        xp.fft.ifftn(x, s=s, axes=axes, norm=norm),
        np.fft.ifftn(a, s=s, axes=ax, norm=norm),
        np.complex128,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [None, 1, 6, 7])
def test_real_transforms(xp, dtype, norm, n):
    cdt = np.complex64 if dtype == np.float32 else np.complex128
    r = _r((2, 7), dtype, 2)
    z = _z((2, 5), cdt, 3)
    x, y = xp.asarray(r), xp.asarray(z)
    _check(xp.fft.rfft(x, n=n, norm=norm), np.fft.rfft(r, n=n, norm=norm).astype(cdt), cdt)
    _check(xp.fft.irfft(y, n=n, norm=norm), np.fft.irfft(z, n=n, norm=norm).astype(dtype), dtype)
    _check(xp.fft.hfft(y, n=n, norm=norm), np.fft.hfft(z, n=n, norm=norm).astype(dtype), dtype)
    _check(xp.fft.ihfft(x, n=n, norm=norm), np.fft.ihfft(r, n=n, norm=norm).astype(cdt), cdt)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(
    ("s", "axes"), [(None, None), ((4, 6), (0, 1)), (None, (2, 0)), ((3, 5), (1, 2))]
)
def test_rfftn_irfftn(xp, norm, s, axes):
    r = _r((3, 4, 5), np.float64, 4)
    z = _z((3, 4, 3), np.complex128, 5)
    x, y = xp.asarray(r), xp.asarray(z)
    ax = axes if axes is not None else None
    _check(
        xp.fft.rfftn(x, s=s, axes=axes, norm=norm),
        np.fft.rfftn(r, s=s, axes=ax, norm=norm),
        np.complex128,
    )
    _check(
        xp.fft.irfftn(y, s=s, axes=axes, norm=norm),
        np.fft.irfftn(z, s=s, axes=ax, norm=norm),
        np.float64,
    )
    back = xp.fft.irfftn(xp.fft.rfftn(x, norm=norm), s=r.shape, norm=norm)
    _check(back, r, np.float64)


def test_frequencies_and_shifts(xp):
    for n in (1, 6, 7):
        _check(xp.fft.fftfreq(n, d=0.25), np.fft.fftfreq(n, 0.25).astype(np.float32), np.float32)
        got = xp.fft.rfftfreq(n, dtype=xp.float64)
        _check(got, np.fft.rfftfreq(n), np.float64)
    a = _z((4, 5), np.complex64, 6)
    x = xp.asarray(a)
    _check(xp.fft.fftshift(x), np.fft.fftshift(a), np.complex64)
    _check(xp.fft.ifftshift(x, axes=1), np.fft.ifftshift(a, axes=1), np.complex64)
    r = _r((7,), np.float32)
    _check(xp.fft.ifftshift(xp.fft.fftshift(xp.asarray(r))), r, np.float32)


def test_compiled_computations_are_cached(xp):
    from axoncl.backends.opencl.device import default_device

    dev = default_device()
    x = xp.asarray(_z((4, 9), np.complex64, 7))
    xp.fft.fft(x)
    keys = {k for k in dev.state if isinstance(k, tuple) and k[0] == "reikna_fft"}
    xp.fft.ifft(x)  # the same computation, run inverse
    xp.fft.fft(x + 1)
    assert {k for k in dev.state if isinstance(k, tuple) and k[0] == "reikna_fft"} == keys


def test_errors(xp):
    z = xp.asarray(_z((4,), np.complex64))
    with pytest.raises(ValueError, match="norm must be one of"):
        xp.fft.fft(z, norm="none")
    with pytest.raises(TypeError, match="real floating-point array, got complex64"):
        xp.fft.rfft(z)
    with pytest.raises(TypeError, match="floating-point array, got int64"):
        xp.fft.fft(xp.asarray([1, 2]))
    with pytest.raises(ValueError, match="at least 1, got 0"):
        xp.fft.fft(z, n=0)
    with pytest.raises(ValueError, match="s and axes need the same length"):
        xp.fft.fftn(z, s=(2, 2), axes=(0,))
    with pytest.raises(TypeError, match="expected an OpenCL array"):
        xp.fft.fft(np.ones(3))


def test_refused_inside_a_capture(xp):
    from axoncl.backends.opencl.device import default_device

    dev = default_device()
    z = xp.asarray(_z((4,), np.complex64))
    dev.recorder = object()  # what axoncl.capture installs while it records a step
    try:
        with pytest.raises(RuntimeError, match="bypass axoncl.capture"):
            xp.fft.fft(z)
    finally:
        dev.recorder = None
