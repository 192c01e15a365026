"""Autograd on complex inputs, PyTorch's convention (the gradient of a real loss with respect
to z = x + iy is dL/dx + i dL/dy): every rule that meets complex values, checked with the
complex gradcheck in complex128 on numpy and OpenCL, against torch's gradients and against
closed forms; and the complex gradcheck itself catches a rule that forgets a conjugate."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, load_backend, require_float64, to_xp

import axoncl as ax
from axoncl import Function, Variable, gradcheck
from axoncl.gradcheck import GradcheckError

torch = pytest.importorskip("torch")

BACKENDS = ["numpy", "opencl"]


def _z(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


@pytest.fixture(params=BACKENDS)
def xp(request):
    xp = load_backend(request.param)
    require_float64(xp)
    return xp


def _var(xp, value):
    return Variable(to_xp(xp, np.asarray(value, np.complex128)), requires_grad=True)


# (name, function of Variables or tensors, input shapes); the same lambda runs on axoncl with
# ``m = ax`` and on torch with ``m = torch``.
CASES = [
    ("add", lambda m, a, b: a + b, ((2, 3), (3,))),
    ("subtract", lambda m, a, b: a - 2 * b, ((2, 3), (2, 3))),
    ("multiply", lambda m, a, b: a * b, ((2, 3), (2, 1))),
    ("divide", lambda m, a, b: a / b, ((2, 3), (3,))),
    ("negative", lambda m, a: -a, ((4,),)),
    ("pow", lambda m, a, b: a**b, ((3,), (3,))),
    ("pow_scalar", lambda m, a: a**3.0, ((2, 2),)),
    ("exp", lambda m, a: m.exp(a), ((2, 3),)),
    ("expm1", lambda m, a: m.expm1(a), ((3,),)),
    ("log", lambda m, a: m.log(a), ((2, 3),)),
    ("log1p", lambda m, a: m.log1p(a), ((3,),)),
    ("sqrt", lambda m, a: m.sqrt(a), ((2, 3),)),
    ("square", lambda m, a: m.square(a), ((3,),)),
    ("tanh", lambda m, a: m.tanh(a), ((3,),)),
    ("abs", lambda m, a: m.abs(a), ((2, 3),)),
    ("sum", lambda m, a: a.sum(), ((2, 3),)),
    ("mean", lambda m, a: a.mean(), ((2, 3),)),
    ("prod", lambda m, a: a.prod(), ((4,),)),
    ("matmul", lambda m, a, b: a @ b, ((2, 3), (3, 4))),
    ("matmul_vec", lambda m, a, b: a @ b, ((3,), (3, 2))),
    ("vecdot", lambda m, a, b: m.linalg.vecdot(a, b), ((2, 3), (3,))),  # conjugates a
    ("real", lambda m, a: m.real(a) * 2.0, ((2, 3),)),
    ("imag", lambda m, a: m.imag(a) * 3.0, ((2, 3),)),
    ("conj", lambda m, a: m.conj(a) * a, ((3,),)),
    ("angle", lambda m, a: m.angle(a), ((2, 3),)),
    ("where", lambda m, a, b: m.where(m.abs(a) > 1.0, a, b), ((2, 3), (2, 3))),
    ("reshape", lambda m, a: a.reshape((3, 2)) * a.reshape((3, 2)), ((2, 3),)),
    ("getitem", lambda m, a: a[1:, 1:] * a[0, :2], ((2, 3),)),
]


@pytest.mark.parametrize(("name", "fn", "shapes"), CASES, ids=[c[0] for c in CASES])
def test_gradcheck_and_torch(xp, name, fn, shapes):
    values = [_z(s, seed) for seed, s in enumerate(shapes)]
    inputs = [_var(xp, v) for v in values]
    assert gradcheck(lambda *a: fn(ax, *a), inputs, atol=1e-6, rtol=1e-5)
    # torch's gradients of the same real loss (real and imaginary parts weighted)
    out = fn(ax, *inputs)
    host_out = np.asarray(ax.backends.to_numpy(out.data))
    rng = np.random.default_rng(7)
    wr, wi = rng.normal(size=host_out.shape), rng.normal(size=host_out.shape)
    loss = (ax.real(out) * Variable(to_xp(xp, wr))).sum()
    if np.iscomplexobj(host_out):
        loss = loss + (ax.imag(out) * Variable(to_xp(xp, wi))).sum()
    loss.backward()
    tin = [torch.tensor(v, requires_grad=True) for v in values]
    tout = fn(torch, *tin)
    tloss = (tout.real * torch.tensor(wr)).sum()
    if tout.is_complex():
        tloss = tloss + (tout.imag * torch.tensor(wi)).sum()
    tloss.backward()
    for x, t in zip(inputs, tin, strict=True):
        assert x.grad.dtype == x.dtype
        assert_close(
            x.grad, t.grad.resolve_conj().numpy(), atol=1e-10, rtol=1e-8, what=f"{name} vs torch"
        )


def test_closed_forms(xp):
    z = _z((5,), 3)
    x = _var(xp, z)
    (ax.abs(x) ** 2.0).sum().backward()  # |z|^2 = x^2 + y^2: gradient 2x + 2iy = 2z
    assert_close(x.grad, 2 * z)
    x.grad = None
    ax.real(x * x).sum().backward()  # Re z^2 = x^2 - y^2: gradient 2x - 2iy = 2 conj(z)
    assert_close(x.grad, 2 * np.conj(z))
    x.grad = None
    ax.angle(x).sum().backward()  # atan2(y, x): (-y + i x) / |z|^2 = i z / |z|^2
    assert_close(x.grad, 1j * z / np.abs(z) ** 2)


def test_real_input_through_complex_gets_a_real_gradient(xp):
    r = np.array([0.5, -1.5, 2.0])
    x = Variable(to_xp(xp, r), requires_grad=True)
    w = Variable(to_xp(xp, np.array([1 + 2j, -1j, 0.5 + 0j])))
    # L = |x w|^2 = x^2 |w|^2: dL/dx = 2 x |w|^2, real
    (ax.abs(x * w) ** 2.0).sum().backward()
    assert x.grad.dtype == x.dtype
    assert_close(x.grad, 2 * r * np.abs(ax.backends.to_numpy(w.data)) ** 2)
    y = Variable(to_xp(xp, r), requires_grad=True)
    ax.imag(y.astype(ax.backends.namespace_of(y.data).complex128) * 1j).sum().backward()
    assert_close(y.grad, np.ones(3))  # imag(i x) = x


class _NoConjMultiply(Function):
    """x * c with the real-valued rule grad * c (missing the conjugate): wrong for complex c."""

    name = "test_no_conj_multiply"

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.multiply(x, ctx.c)

    @staticmethod
    def backward(ctx, grad):
        return (grad * Variable(ctx.c),)


def test_complex_gradcheck_catches_a_missing_conjugate(xp):
    c = to_xp(xp, np.array([1 + 2j, 3 - 1j]))
    x = _var(xp, _z((2,), 4))
    with pytest.raises(GradcheckError, match="analytical and numerical gradients differ"):
        gradcheck(lambda v: _NoConjMultiply.apply(v, c=c), [x])
    assert gradcheck(lambda v: v * Variable(c), [x])


def test_complex_output_gradcheck_uses_both_parts(xp):
    # A rule whose gradient is right for the real part of the output only would pass a check
    # that ignored imag(out): here the output is i * x, whose real part is -y alone.
    x = _var(xp, _z((3,), 5))
    assert gradcheck(lambda v: v * 1j, [x])
