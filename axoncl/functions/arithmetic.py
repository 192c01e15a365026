"""Elementwise arithmetic: add, subtract, multiply, divide, pow, exp, log, … and where; and
the parts of complex values (real, imag, conj, angle).

Complex inputs follow PyTorch's convention: the gradient of a real loss ``L`` with respect to
``z = x + iy`` is ``dL/dx + i dL/dy`` (twice the conjugate Wirtinger derivative ``dL/dz*``).
So the rule of a holomorphic ``f`` multiplies the incoming gradient by ``conj(f'(z))``: the
rules below conjugate their derivative factors with :func:`_c`, which is the identity on real
values (no copy).
"""

from __future__ import annotations

from typing import Any

from ..graph import Function
from ..variable import Variable
from . import _docstrings
from ._util import check_broadcast, unbroadcast

__all__ = [
    "abs",
    "add",
    "angle",
    "clip",
    "conj",
    "divide",
    "exp",
    "expm1",
    "imag",
    "log",
    "log1p",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "pow",
    "real",
    "sign",
    "sqrt",
    "square",
    "subtract",
    "where",
]


def _is_complex(v: Variable) -> bool:
    """Whether the Variable ``v`` holds a complex floating array."""
    return v.xp.isdtype(v.dtype, "complex floating")


def _c(v: Variable) -> Variable:
    """``conj(v)``, differentiably, for complex ``v``; ``v`` itself for real ``v``."""
    return Conj.apply(v) if _is_complex(v) else v


class Add(Function):
    """``x + y`` with broadcasting."""

    @staticmethod
    def forward(ctx, x, y):
        if x.shape != y.shape:
            check_broadcast("add", x.shape, y.shape)
        ctx.shapes = (x.shape, y.shape)
        return ctx.xp.add(x, y)

    @staticmethod
    def backward(ctx, grad):  # d(x+y)/dx = d(x+y)/dy = 1
        sx, sy = ctx.shapes
        gx = unbroadcast(grad, sx) if ctx.needs_input_grad[0] else None
        gy = unbroadcast(grad, sy) if ctx.needs_input_grad[1] else None
        return gx, gy


class Subtract(Function):
    """``x - y`` with broadcasting."""

    @staticmethod
    def forward(ctx, x, y):
        if x.shape != y.shape:
            check_broadcast("subtract", x.shape, y.shape)
        ctx.shapes = (x.shape, y.shape)
        return ctx.xp.subtract(x, y)

    @staticmethod
    def backward(ctx, grad):  # d/dx = 1, d/dy = -1
        sx, sy = ctx.shapes
        gx = unbroadcast(grad, sx) if ctx.needs_input_grad[0] else None
        gy = unbroadcast(-grad, sy) if ctx.needs_input_grad[1] else None
        return gx, gy


class Multiply(Function):
    """``x * y`` elementwise, with array-API broadcasting."""

    @staticmethod
    def forward(ctx, x, y):
        if x.shape != y.shape:
            check_broadcast("multiply", x.shape, y.shape)
        ctx.save_for_backward(x, y)
        return ctx.xp.multiply(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_values  # d(xy)/dx = y, d(xy)/dy = x
        gx = unbroadcast(grad * _c(y), x.shape) if ctx.needs_input_grad[0] else None
        gy = unbroadcast(grad * _c(x), y.shape) if ctx.needs_input_grad[1] else None
        return gx, gy


class Divide(Function):
    """``x / y`` with broadcasting."""

    @staticmethod
    def forward(ctx, x, y):
        if x.shape != y.shape:
            check_broadcast("divide", x.shape, y.shape)
        ctx.save_for_backward(x, y)
        return ctx.xp.divide(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_values  # d(x/y)/dx = 1/y, d(x/y)/dy = -x/y²
        gx = unbroadcast(grad / _c(y), x.shape) if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            gy = unbroadcast(-grad * _c(x / (y * y)), y.shape)
        return gx, gy


class Negative(Function):
    """``-x``."""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.negative(x)

    @staticmethod
    def backward(ctx, grad):
        return (-grad,)


class Pow(Function):
    """``x ** y`` for a Variable or scalar exponent."""

    @staticmethod
    def forward(ctx, x, y):
        if x.shape != y.shape:
            check_broadcast("pow", x.shape, y.shape)
        out = ctx.xp.pow(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_values
        gx = gy = None
        if ctx.needs_input_grad[0]:  # d(x^y)/dx = y x^(y-1)
            gx = unbroadcast(grad * _c(y * x ** (y - 1.0)), x.shape)
        if ctx.needs_input_grad[1]:  # d(x^y)/dy = x^y ln x, taken as 0 where x <= 0 (real x)
            xp = ctx.xp
            if _is_complex(x):
                safe = where(Variable(x.data != 0), x, Variable(xp.ones_like(x.data)))
            else:
                safe = where(Variable(x.data > 0), x, Variable(xp.ones_like(x.data)))
            gy = unbroadcast(grad * _c(out * log(safe)), y.shape)
        return gx, gy


class Abs(Function):
    """``|x|``; the gradient at 0 is 0, as in PyTorch."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values  # d|x|/dx = sign(x); for complex x, sign(x) = x / |x|
        return (grad * sign(x),)


class Sign(Function):
    """``sign(x)``; its gradient is zero wherever it is defined."""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.sign(x)

    @staticmethod
    def backward(ctx, grad):
        return (grad * 0.0,)


class Exp(Function):
    """``e^x``."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_values  # d(e^x)/dx = e^x
        return (grad * _c(out),)


class Expm1(Function):
    """``e^x - 1``, accurate near 0."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_values  # d(e^x - 1)/dx = e^x = out + 1
        return (grad * _c(out + 1.0),)


class Log(Function):
    """Natural logarithm."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values  # d(ln x)/dx = 1/x
        return (grad / _c(x),)


class Log1p(Function):
    """``ln(1 + x)``, accurate near 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values  # d ln(1+x)/dx = 1/(1+x)
        return (grad / _c(x + 1.0),)


class Sqrt(Function):
    """Square root."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_values  # d sqrt(x)/dx = 1 / (2 sqrt(x))
        return (grad / _c(out * 2.0),)


class Square(Function):
    """``x²``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.multiply(x, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values  # d(x²)/dx = 2x
        return (grad * _c(x) * 2.0,)


class Clip(Function):
    """``min(max(x, lo), hi)``; the gradient passes where lo <= x <= hi, as in PyTorch."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.clip(x, min=ctx.lo, max=ctx.hi)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        inside = x.data == x.data  # all True, with x's dtype-independent shape
        if ctx.lo is not None:
            inside = inside & (x.data >= ctx.lo)
        if ctx.hi is not None:
            inside = inside & (x.data <= ctx.hi)
        return (grad * Variable(ctx.xp.astype(inside, x.dtype)),)


class _MinMax(Function):
    """Shared rule of maximum and minimum: ties send half the gradient to each side."""

    @staticmethod
    def forward(ctx, x, y):
        if x.shape != y.shape:
            check_broadcast(ctx.function.name, x.shape, y.shape)
        ctx.save_for_backward(x, y)
        return ctx.function.op(ctx.xp, x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_values
        xp = ctx.xp
        wins = ctx.function.wins(x.data, y.data)
        tie = x.data == y.data
        dtype = grad.dtype
        share_x = Variable(xp.astype(wins, dtype) + 0.5 * xp.astype(tie, dtype))
        share_y = Variable(1.0 - share_x.data)
        gx = unbroadcast(grad * share_x, x.shape) if ctx.needs_input_grad[0] else None
        gy = unbroadcast(grad * share_y, y.shape) if ctx.needs_input_grad[1] else None
        return gx, gy


class Maximum(_MinMax):
    """``max(x, y)`` elementwise; a tie splits the gradient evenly."""

    op = staticmethod(lambda xp, a, b: xp.maximum(a, b))
    wins = staticmethod(lambda a, b: a > b)


class Minimum(_MinMax):
    """``min(x, y)`` elementwise; a tie splits the gradient evenly."""

    op = staticmethod(lambda xp, a, b: xp.minimum(a, b))
    wins = staticmethod(lambda a, b: a < b)


class Where(Function):
    """``cond ? x : y``; the condition gets no gradient."""

    @staticmethod
    def forward(ctx, cond, x, y):
        check_broadcast("where", cond.shape, x.shape, y.shape)
        ctx.save_for_backward(cond)
        ctx.shapes = (x.shape, y.shape)
        return ctx.xp.where(cond, x, y)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_values
        zero = grad * 0.0
        sx, sy = ctx.shapes
        gx = unbroadcast(where(cond, grad, zero), sx) if ctx.needs_input_grad[1] else None
        gy = unbroadcast(where(cond, zero, grad), sy) if ctx.needs_input_grad[2] else None
        return None, gx, gy


class Real(Function):
    """The real part; a real input passes through. The gradient of a complex input is the
    incoming (real) gradient as a complex value."""

    @staticmethod
    def forward(ctx, x):
        ctx.in_dtype = x.dtype
        xp = ctx.xp
        return xp.real(x) if xp.isdtype(x.dtype, "complex floating") else xp.asarray(x, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return (grad.astype(ctx.in_dtype),)


class Imag(Function):
    """The imaginary part (zeros for a real input); the gradient of a complex input is
    ``i * grad``, and of a real input zero."""

    @staticmethod
    def forward(ctx, x):
        ctx.in_dtype = x.dtype
        xp = ctx.xp
        return xp.imag(x) if xp.isdtype(x.dtype, "complex floating") else xp.zeros_like(x)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.xp.isdtype(ctx.in_dtype, "complex floating"):
            return (grad * 0.0,)
        return (grad.astype(ctx.in_dtype) * 1j,)


class Conj(Function):
    """The complex conjugate (the identity on real input); its gradient is the conjugate of the
    incoming one."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        return xp.conj(x) if xp.isdtype(x.dtype, "complex floating") else xp.asarray(x, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return (Conj.apply(grad),)


class Angle(Function):
    """The argument ``atan2(imag, real)`` (0 or pi on real input, whose gradient is zero); for
    complex ``z`` the gradient is ``grad * i z / |z|**2``, as in PyTorch."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        ctx.save_for_backward(x)
        if xp.isdtype(x.dtype, "complex floating"):
            return xp.atan2(xp.imag(x), xp.real(x))
        return xp.atan2(xp.zeros_like(x), x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        if not _is_complex(x):
            return (grad * 0.0,)
        r2 = Real.apply(x * _c(x))
        safe = where(Variable(r2.data == 0), Variable(ctx.xp.ones_like(r2.data)), r2)
        return (grad * x * 1j / safe,)


def real(x: Any) -> Variable:
    """Real part of ``x`` (``x`` itself for real input), as ``torch.real``.

    Parameters
    ----------
    x : Variable or array
        The input, real or complex, of any array-API namespace.

    Returns
    -------
    Variable
        The real parts, in the parts' float dtype; the gradient flows to ``x``'s real part.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> z = axoncl.Variable(np.array([1 + 2j, -3j]), requires_grad=True)
    >>> axoncl.real(z).numpy()
    array([ 1., -0.])
    """
    return Real.apply(x)


def imag(x: Any) -> Variable:
    """Imaginary part of ``x`` (zeros for real input), as ``torch.imag``.

    Parameters
    ----------
    x : Variable or array
        The input, real or complex, of any array-API namespace.

    Returns
    -------
    Variable
        The imaginary parts, in the parts' float dtype.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> z = axoncl.Variable(np.array([1 + 2j, -3j]), requires_grad=True)
    >>> axoncl.imag(z).numpy()
    array([ 2., -3.])
    """
    return Imag.apply(x)


def conj(x: Any) -> Variable:
    """Complex conjugate of ``x`` (``x`` for real input), as ``torch.conj``.

    Parameters
    ----------
    x : Variable or array
        The input, real or complex, of any array-API namespace.

    Returns
    -------
    Variable
        The conjugate, in ``x``'s dtype.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> z = axoncl.Variable(np.array([1 + 2j, -3j]), requires_grad=True)
    >>> axoncl.conj(z).numpy()
    array([ 1.-2.j, -0.+3.j])
    """
    return Conj.apply(x)


def angle(x: Any) -> Variable:
    """Argument of each element, ``atan2(imag(x), real(x))``, as ``torch.angle``.

    Parameters
    ----------
    x : Variable or array
        The input, real or complex, of any array-API namespace.

    Returns
    -------
    Variable
        The angles in radians, in the parts' float dtype (0 or pi for real input).

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> z = axoncl.Variable(np.array([1 + 2j, -3j]), requires_grad=True)
    >>> axoncl.angle(z).numpy()
    array([ 1.10714872, -1.57079633])
    """
    return Angle.apply(x)


def add(x: Any, y: Any) -> Variable:
    """``x + y`` with broadcasting."""
    return Add.apply(x, y)


def subtract(x: Any, y: Any) -> Variable:
    """``x - y`` with broadcasting."""
    return Subtract.apply(x, y)


def multiply(x: Any, y: Any) -> Variable:
    """``x * y`` with broadcasting."""
    return Multiply.apply(x, y)


def divide(x: Any, y: Any) -> Variable:
    """``x / y`` with broadcasting."""
    return Divide.apply(x, y)


def negative(x: Any) -> Variable:
    return Negative.apply(x)


def pow(x: Any, y: Any) -> Variable:  # noqa: A001 - array-API name
    """``x ** y``; ``y`` may be a scalar or a Variable."""
    return Pow.apply(x, y)


def abs(x: Any) -> Variable:  # noqa: A001 - array-API name
    return Abs.apply(x)


def sign(x: Any) -> Variable:
    return Sign.apply(x)


def exp(x: Any) -> Variable:
    return Exp.apply(x)


def expm1(x: Any) -> Variable:
    return Expm1.apply(x)


def log(x: Any) -> Variable:
    return Log.apply(x)


def log1p(x: Any) -> Variable:
    return Log1p.apply(x)


def sqrt(x: Any) -> Variable:
    return Sqrt.apply(x)


def square(x: Any) -> Variable:
    return Square.apply(x)


def clip(x: Any, min: float | None = None, max: float | None = None) -> Variable:  # noqa: A002
    """Clamp ``x`` to ``[min, max]`` (scalars; either may be ``None``).

    Parameters
    ----------
    x : Variable or array
        The input, of any array-API namespace.
    min, max : float or None
        The bounds.

    Returns
    -------
    Variable
        ``x``'s shape; the gradient passes where ``x`` is inside the bounds.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.clip(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0).numpy()
    array([-1. ,  0.5,  1. ])
    """
    return Clip.apply(x, lo=min, hi=max)


def maximum(x: Any, y: Any) -> Variable:
    return Maximum.apply(x, y)


def minimum(x: Any, y: Any) -> Variable:
    return Minimum.apply(x, y)


def where(condition: Any, x: Any, y: Any) -> Variable:
    """Elements of ``x`` where ``condition`` holds, else of ``y``.

    Parameters
    ----------
    condition : array or Variable
        Boolean.
    x, y : Variable, array or Python scalar
        The values chosen from.

    Returns
    -------
    Variable
        The broadcast shape; each of ``x`` and ``y`` gets the gradient where it was chosen.

    Raises
    ------
    ValueError
        When the shapes do not broadcast together.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> axoncl.where(np.array([True, False]), np.array([1.0, 2.0]), np.array([3.0, 4.0])).numpy()
    array([1., 4.])
    """
    cond = condition.data if isinstance(condition, Variable) else condition
    return Where.apply(cond, x, y)


_docstrings.document(globals())
