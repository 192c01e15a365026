"""``axoncl.fft``: the differentiable transforms, gradchecked in float64/complex128 on numpy and
OpenCL for every function, each norm and n/s cropping and padding, and compared with torch.fft's
values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, load_backend, require_float64, to_xp

import axoncl as ax
from axoncl import Variable, gradcheck

torch = pytest.importorskip("torch")

NORMS = ["backward", "ortho", "forward"]


@pytest.fixture(params=["numpy", "opencl"])
def xp(request):
    xp = load_backend(request.param)
    require_float64(xp)
    return xp


def _z(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def _r(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# name, axoncl call, torch call, input: "c" complex or "r" real, shape
CASES = [
    ("fft", lambda m, v, nm: m.fft.fft(v, norm=nm), "c", (2, 5)),
    ("fft_n", lambda m, v, nm: m.fft.fft(v, n=7, axis=0, norm=nm), "c", (3, 2)),
    ("fft_crop", lambda m, v, nm: m.fft.fft(v, n=3, norm=nm), "c", (5,)),
    ("fft_real_input", lambda m, v, nm: m.fft.fft(v, norm=nm), "r", (6,)),
    ("ifft", lambda m, v, nm: m.fft.ifft(v, norm=nm), "c", (2, 4)),
    ("fftn", lambda m, v, nm: m.fft.fftn(v, norm=nm), "c", (3, 4)),
    ("fftn_s", lambda m, v, nm: m.fft.fftn(v, s=(2, 5), norm=nm), "c", (3, 4)),
    ("ifftn_axes", lambda m, v, nm: m.fft.ifftn(v, dim=(1, 0), norm=nm), "c", (3, 4)),
    ("rfft", lambda m, v, nm: m.fft.rfft(v, norm=nm), "r", (2, 6)),
    ("rfft_odd", lambda m, v, nm: m.fft.rfft(v, n=7, norm=nm), "r", (5,)),
    ("irfft", lambda m, v, nm: m.fft.irfft(v, norm=nm), "c", (2, 4)),
    ("irfft_odd", lambda m, v, nm: m.fft.irfft(v, n=7, norm=nm), "c", (4,)),
    ("irfft_crop", lambda m, v, nm: m.fft.irfft(v, n=4, norm=nm), "c", (5,)),
    ("rfftn", lambda m, v, nm: m.fft.rfftn(v, norm=nm), "r", (3, 4)),
    ("irfftn", lambda m, v, nm: m.fft.irfftn(v, s=(3, 5), norm=nm), "c", (3, 4)),
    ("hfft", lambda m, v, nm: m.fft.hfft(v, norm=nm), "c", (4,)),
    ("ihfft", lambda m, v, nm: m.fft.ihfft(v, norm=nm), "r", (5,)),
    ("fftshift", lambda m, v, nm: m.fft.fftshift(v) * 2.0, "c", (3, 4)),
    ("ifftshift", lambda m, v, nm: m.fft.ifftshift(v, dim=(1,)) * 2.0, "r", (3, 5)),
]


def _axoncl_call(fn):
    """The torch-style call with torch's keyword ``dim`` renamed to axoncl's ``axes``/``axis``."""

    class _Names:
        class fft:  # noqa: N801 - mirrors the module's name
            pass

    for name in ax.fft.__all__:
        target = getattr(ax.fft, name)

        def call(*args, _t=target, **kw):
            if "dim" in kw:
                dim = kw.pop("dim")
                kw["axes" if isinstance(dim, tuple) else "axis"] = dim
            return _t(*args, **kw)

        setattr(_Names.fft, name, staticmethod(call))
    return lambda v, nm: fn(_Names, v, nm)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(("name", "fn", "kind", "shape"), CASES, ids=[c[0] for c in CASES])
def test_gradcheck_and_torch(xp, name, fn, kind, shape, norm):
    value = _z(shape) if kind == "c" else _r(shape)
    x = Variable(to_xp(xp, value), requires_grad=True)
    call = _axoncl_call(fn)
    assert gradcheck(lambda v: call(v, norm), [x], atol=1e-7, rtol=1e-6)
    t = torch.tensor(value, requires_grad=True)
    tout = fn(torch, t, norm)
    out = call(x, norm)
    assert_close(out, tout.detach().resolve_conj().numpy(), what=f"{name} value")
    rng = np.random.default_rng(3)
    w = rng.normal(size=tout.shape) + (1j * rng.normal(size=tout.shape) if tout.is_complex() else 0)
    # the real loss sum(Re(conj(w) out)) on both sides
    loss = real_dot(out, to_xp(xp, w))
    loss.backward()
    (torch.real(torch.conj(torch.tensor(w)) * tout)).sum().backward()
    assert x.grad.dtype == x.dtype
    assert_close(x.grad, t.grad.resolve_conj().numpy(), what=f"{name} gradient vs torch")


def real_dot(out: Variable, w) -> Variable:
    return ax.real(ax.conj(Variable(w)) * out).sum()


def test_errors(xp):
    z = Variable(to_xp(xp, _z((4,))))
    with pytest.raises(ValueError, match="norm must be one of"):
        ax.fft.fft(z, norm="none")
    with pytest.raises(TypeError, match="real floating-point input"):
        ax.fft.rfft(z)
    with pytest.raises(ValueError, match="at least 1"):
        ax.fft.fft(z, n=0)
    with pytest.raises(ValueError, match="out of range"):
        ax.fft.fft(z, axis=2)


def test_frequencies(xp):
    from axoncl.backends import backend_name, to_numpy

    got = ax.fft.fftfreq(6, 0.5, backend=xp)
    np.testing.assert_allclose(to_numpy(got), np.fft.fftfreq(6, 0.5))
    got = ax.fft.rfftfreq(7, backend=xp, dtype=xp.float64)
    np.testing.assert_allclose(to_numpy(got), np.fft.rfftfreq(7))
    assert backend_name(xp) in ("numpy", "opencl")
