"""A custom op with its own gradient, checked with gradcheck and gradgradcheck.

``softsign(x) = x / (1 + |x|)`` has the derivative ``1 / (1 + |x|)²``. The op is one ``Function``
class: ``forward`` on raw arrays of any backend (through ``ctx.xp``), ``backward`` on Variables,
so the gradient is itself differentiable and ``gradgradcheck`` can check the second derivative.

    python3 examples/custom_op.py
"""

import numpy as np

import axoncl
from axoncl import Function, Variable


class Softsign(Function):
    """``x / (1 + |x|)`` elementwise; registered as ``"softsign"``."""

    @staticmethod
    def forward(ctx, x):  # raw arrays; ctx.xp is their namespace
        ctx.save_for_backward(x)
        return ctx.xp.divide(x, 1.0 + ctx.xp.abs(x))

    @staticmethod
    def backward(ctx, grad):  # Variables in, Variables out
        (x,) = ctx.saved_values  # d/dx x / (1 + |x|) = 1 / (1 + |x|)²
        return (grad / (1.0 + x.abs()) ** 2,)


def softsign(x):
    return Softsign.apply(x)


def main() -> None:
    x = Variable(np.array([-3.0, -0.5, 0.25, 2.0]), requires_grad=True)
    y = softsign(x)
    y.sum().backward()
    expected = 1.0 / (1.0 + np.abs(x.numpy())) ** 2
    print("softsign:", y.numpy())
    print("gradient:", x.grad.numpy())
    assert np.allclose(y.numpy(), x.numpy() / (1.0 + np.abs(x.numpy())), rtol=1e-15)
    assert np.allclose(x.grad.numpy(), expected, rtol=1e-15)

    # Central differences in float64 against backward, then the same for the second derivative.
    # (Away from 0, where |x| has no derivative.)
    for backend in ("numpy", "opencl"):
        data = axoncl.asarray(x.numpy(), backend=backend, dtype="float64")
        v = Variable(data, requires_grad=True)
        assert axoncl.gradcheck(softsign, [v]), backend
        assert axoncl.gradgradcheck(softsign, [v]), backend
    print("gradcheck and gradgradcheck pass on numpy and OpenCL")


if __name__ == "__main__":
    main()
