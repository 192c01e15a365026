"""Complex arrays of the OpenCL namespace, computed through float views of their parts.

A complex64 (complex128) array is stored as interleaved float32 (float64) pairs, numpy's
layout, so :func:`~.copy.part` and :func:`~.copy.pairs` are views with doubled strides and no
copy. Every function here is written with the real elementwise, reduction and GEMM functions on
those views, but for one kernel: ``kernels/complex_special.cl`` writes the special values
(infinities, NaNs, signed zeros; C99 Annex G, the standard's lists) over the formulas' results
of exp, expm1, log1p, sinh, cosh, tanh, asinh, acos, acosh, atanh and sqrt; sin, cos, tan, asin
and atan inherit them through their identities. Additions, negation, rounding, sums and
``where`` run once on the pair view; products run on the parts (4 real GEMMs for a complex
``matmul``); the transcendental functions use the textbook formulas with the stable forms for
``sqrt``, ``expm1``, ``log1p``, ``tan``, ``tanh`` and ``asinh``.

The elementwise functions, reductions and products of the namespace call into this module when
an operand is complex; the functions the standard leaves undefined for complex (ordering,
rounding other than ``round``, bitwise, logical) raise TypeError.
"""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dt
from .array import CLArray, ascontiguous, empty, from_numpy
from .copy import cast, copy_into, pairs, part
from .launch import get_kernel
from .layout import broadcast_shapes, check_device, is_scalar, python_scalar, reject, type_name

__all__ = ["angle"]


def _ew():
    from . import elementwise  # the real elementwise functions (elementwise imports us)

    return elementwise


def _u(name: str, x: CLArray) -> CLArray:
    return _ew().unary(name, x)


def _b(name: str, a, b) -> CLArray:
    return _ew().binary(name, a, b)


def from_pairs(p: CLArray) -> CLArray:
    """The complex array whose float view is the fresh contiguous ``p`` (shape ``S + (2,)``)."""
    return CLArray(p.device, p.buffer, p.offset // 2, p.shape[:-1], None, _dt.COMPLEX_OF[p.dtype])


def pack(re: CLArray, im: CLArray) -> CLArray:
    """A new complex array from its real and imaginary parts (broadcast together)."""
    shape = broadcast_shapes("complex", re.shape, im.shape)
    dtype = _dt.result_type(re.dtype, im.dtype)
    out = empty(shape, _dt.COMPLEX_OF[dtype], re.device)
    copy_into(part(out, 0), re)
    copy_into(part(out, 1), im)
    return out


def parts(z: CLArray) -> tuple[CLArray, CLArray]:
    return part(z, 0), part(z, 1)


def _times_i(z: CLArray) -> CLArray:
    x, y = parts(z)
    return pack(_u("negative", y), x)


def _times_minus_i(z: CLArray) -> CLArray:
    x, y = parts(z)
    return pack(y, _u("negative", x))


def _scaled(z: CLArray, factor: float) -> CLArray:
    return from_pairs(_b("multiply", pairs(z), factor))


# ---- unary ---------------------------------------------------------------------------------
def _abs(z):
    return _b("hypot", *parts(z))


def _sign(z):
    r = _abs(z)
    zero = _b("equal", r, 0)
    safe = _ew().where(zero, 1, r)
    x, y = parts(z)
    return pack(_ew().where(zero, 0, x / safe), _ew().where(zero, 0, y / safe))


# The functions whose special values (infinities, NaNs, signed zeros) kernels/complex_special.cl
# sets after the formula: their codes there.
SPECIAL_FUNCTIONS = {
    "exp": 0, "expm1": 1, "log1p": 2, "sinh": 3, "cosh": 4, "tanh": 5, "asinh": 6, "acos": 7,
    "acosh": 8, "atanh": 9, "sqrt": 10,
}  # fmt: skip


def _special(name: str, z: CLArray, out: CLArray) -> CLArray:
    """``out`` (a fresh result of ``name`` at ``z``) with the special values of C99 Annex G and
    the standard written over the formula's, in one launch."""
    n = out.size
    if n == 0:
        return out
    z = ascontiguous(z)
    real = _dt.REAL_OF[z.dtype]
    double = real == _dt.float64
    kernel = get_kernel(
        z.device, "complex_special", "complex_special",
        REAL="double" if double else "float", REAL_IS_DOUBLE=int(double),
    )  # fmt: skip
    kernel.launch_items(
        n, n, SPECIAL_FUNCTIONS[name], out.buffer, 2 * out.offset, z.buffer, 2 * z.offset,
        op=name, shapes=(z.shape,),
    )  # fmt: skip
    return out


def _with_special(name: str, formula):
    def function(z):
        return _special(name, z, formula(z))

    function.__name__ = f"_{name}"
    return function


def _exp(z):
    x, y = parts(z)
    e = _u("exp", x)
    return pack(e * _u("cos", y), e * _u("sin", y))


def _expm1(z):
    # re = expm1(x) cos y - 2 sin(y/2)**2 keeps the digits of small arguments.
    x, y = parts(z)
    s = _u("sin", y * 0.5)
    re = _u("expm1", x) * _u("cos", y) - 2 * s * s
    return pack(re, _u("exp", x) * _u("sin", y))


def _log(z):
    x, y = parts(z)
    return pack(_u("log", _b("hypot", x, y)), _b("atan2", y, x))


def _log1p(z):
    # |1 + z|**2 = 1 + (x (2 + x) + y**2): log1p of the bracket keeps small arguments exact.
    x, y = parts(z)
    return pack(_u("log1p", x * (x + 2) + y * y) * 0.5, _b("atan2", y, x + 1))


def _sqrt(z):
    # t = sqrt((|z| + |x|) / 2) never cancels; the other part is y / (2 t).
    x, y = parts(z)
    ax = _u("abs", x)
    t = _u("sqrt", (_b("hypot", x, y) + ax) * 0.5)
    q = y / _ew().where(_b("equal", t, 0), 1, t * 2)
    right = _b("greater_equal", x, 0)
    return pack(_ew().where(right, t, _u("abs", q)), _ew().where(right, q, _b("copysign", t, y)))


def _sin(z):
    return _times_minus_i(_UNARY["sinh"](_times_i(z)))  # sin z = -i sinh(i z)


def _cos(z):
    return _UNARY["cosh"](_times_i(z))  # cos z = cosh(i z)


def _sinh(z):
    x, y = parts(z)
    return pack(_u("sinh", x) * _u("cos", y), _u("cosh", x) * _u("sin", y))


def _cosh(z):
    x, y = parts(z)
    return pack(_u("cosh", x) * _u("cos", y), _u("sinh", x) * _u("sin", y))


def _tanh(z):
    # tanh z = (sinh 2x + i sin 2y) / (cosh 2x + cos 2y); finite for large |x|.
    x, y = parts(z)
    x2, y2 = x * 2, y * 2
    big = _b("greater", _u("abs", x), 20.0)  # cosh 2x overflows long before tanh leaves +-1
    d = _u("cosh", x2) + _u("cos", y2)
    re = _ew().where(big, _u("sign", x), _u("sinh", x2) / d)
    im = _ew().where(big, 0.0, _u("sin", y2) / d)
    return pack(re, im)


def _tan(z):
    return _times_minus_i(_UNARY["tanh"](_times_i(z)))  # tan z = -i tanh(i z)


def _asinh(z):
    # log(z + sqrt(z**2 + 1)) on the right half-plane (no cancellation); odd symmetry elsewhere.
    x, _ = parts(z)
    left = _b("less", x, 0)
    w = where(left, negative(z), z)
    r = _log(add(w, _sqrt(add(multiply(w, w), 1))))
    # Far from the origin w*w would overflow: there asinh w = log 2w to the last digit.
    big = 1e8 if z.dtype == _dt.complex64 else 1e16
    r = where(_b("greater", _abs(w), big), add(_log(w), math.log(2)), r)
    return where(left, negative(r), r)


def _asin(z):
    return _times_minus_i(_UNARY["asinh"](_times_i(z)))  # asin z = -i asinh(i z)


def _acos(z):
    return subtract(math.pi / 2, _asin(z))


def _acosh(z):
    return _log(add(z, multiply(_sqrt(add(z, 1)), _sqrt(subtract(z, 1)))))


def _atanh(z):
    return _scaled(subtract(_log1p(z), _log1p(negative(z))), 0.5)


def _atan(z):
    return _times_minus_i(_UNARY["atanh"](_times_i(z)))  # atan z = -i atanh(i z)


def _conj(z):
    out = _pair_op("positive", z)
    copy_into(part(out, 1), _u("negative", part(z, 1)))
    return out


def _pair_op(name: str, z: CLArray) -> CLArray:
    return from_pairs(_u(name, pairs(z)))


def _predicate(combine: str, name: str):
    def function(z):
        x, y = parts(z)
        return _b(combine, _u(name, x), _u(name, y))

    return function


_UNARY = {
    "abs": _abs,
    "acos": _with_special("acos", _acos),
    "acosh": _with_special("acosh", _acosh),
    "asin": _asin,
    "asinh": _with_special("asinh", _asinh),
    "atan": _atan,
    "atanh": _with_special("atanh", _atanh),
    "cos": _cos,
    "cosh": _with_special("cosh", _cosh),
    "exp": _with_special("exp", _exp),
    "expm1": _with_special("expm1", _expm1),
    "isfinite": _predicate("logical_and", "isfinite"),
    "isinf": _predicate("logical_or", "isinf"),
    "isnan": _predicate("logical_or", "isnan"),
    "log": _log,
    "log1p": _with_special("log1p", _log1p),
    "log2": lambda z: _scaled(_log(z), 1 / math.log(2)),
    "log10": lambda z: _scaled(_log(z), 1 / math.log(10)),
    "negative": lambda z: _pair_op("negative", z),
    "positive": lambda z: _pair_op("positive", z),
    "reciprocal": lambda z: divide(1, z),
    "round": lambda z: _pair_op("round", z),
    "sign": _sign,
    "sin": _sin,
    "sinh": _with_special("sinh", _sinh),
    "sqrt": _with_special("sqrt", _sqrt),
    "square": lambda z: multiply(z, z),
    "tan": _tan,
    "tanh": _with_special("tanh", _tanh),
}


def unary(name: str, z: CLArray) -> CLArray:
    """The unary elementwise function ``name`` of the complex array ``z``."""
    function = _UNARY.get(name)
    if function is None:
        raise TypeError(f"{name}: not defined for complex arrays, got {z.dtype}")
    return function(z)


# ---- binary --------------------------------------------------------------------------------
def is_complex(v) -> bool:
    """Whether ``v`` is a complex CLArray or a Python complex scalar."""
    return (isinstance(v, CLArray) and v.dtype.kind == "c") or isinstance(v, complex)


def operands(name: str, a, b) -> tuple[CLArray, CLArray]:
    """``a`` and ``b`` as complex arrays of their promoted dtype on one device."""
    a, b = python_scalar(a), python_scalar(b)
    arrays = [v for v in (a, b) if isinstance(v, CLArray)]
    if not arrays:
        raise TypeError(
            f"{name}: expected at least one OpenCL array, got {type_name(a)} and {type_name(b)}"
        )
    for v in (a, b):
        if not isinstance(v, CLArray) and not is_scalar(v):
            reject(name, a, b)
    device = check_device(name, *arrays)
    dtype = _dt.result_type(*arrays, *[v for v in (a, b) if not isinstance(v, CLArray)])
    if dtype.kind != "c":
        dtype = _dt.COMPLEX_OF[_dt.REAL_OF.get(dtype, dtype)]
    _dt.as_dtype(dtype, device, name)

    def convert(v):
        if isinstance(v, CLArray):
            return cast(v, dtype)
        return from_numpy(np.asarray(v, dtype=dtype), device)

    return convert(a), convert(b)


def add(a, b):
    a, b = operands("add", a, b)
    return from_pairs(_b("add", pairs(a), pairs(b)))


def subtract(a, b):
    a, b = operands("subtract", a, b)
    return from_pairs(_b("subtract", pairs(a), pairs(b)))


def multiply(a, b):
    a, b = operands("multiply", a, b)
    (ar, ai), (br, bi) = parts(a), parts(b)
    return pack(ar * br - ai * bi, ar * bi + ai * br)


def divide(a, b):
    # Scaled by s = max(|br|, |bi|) so that |b|**2 neither overflows nor underflows.
    a, b = operands("divide", a, b)
    (ar, ai), (br, bi) = parts(a), parts(b)
    s = _b("maximum", _u("abs", br), _u("abs", bi))
    s = _ew().where(_b("equal", s, 0), 1, s)
    cr, ci = br / s, bi / s
    d = (cr * cr + ci * ci) * s
    return pack((ar * cr + ai * ci) / d, (ai * cr - ar * ci) / d)


def pow(a, b):  # noqa: A001 - the standard's name
    a, b = operands("pow", a, b)
    zero_base = _b("equal", _abs(a), 0)
    zero_exp = _b("equal", _abs(b), 0)
    value = _exp(multiply(b, _log(a)))
    base_case = where(zero_exp, 1, where(zero_base, 0, value))
    return base_case


def equal(a, b):
    a, b = operands("equal", a, b)
    return _b("logical_and", _b("equal", part(a, 0), part(b, 0)), _b("equal", *_im(a, b)))


def not_equal(a, b):
    a, b = operands("not_equal", a, b)
    return _b("logical_or", _b("not_equal", part(a, 0), part(b, 0)), _b("not_equal", *_im(a, b)))


def _im(a, b):
    return part(a, 1), part(b, 1)


_BINARY = {
    "add": add,
    "divide": divide,
    "equal": equal,
    "multiply": multiply,
    "not_equal": not_equal,
    "pow": pow,
    "subtract": subtract,
}


def binary(name: str, a, b) -> CLArray:
    """The binary elementwise function ``name`` where ``a`` or ``b`` is complex."""
    function = _BINARY.get(name)
    if function is None:
        raise TypeError(
            f"{name}: not defined for complex operands (complex numbers are not ordered); "
            f"got {_describe(a)} and {_describe(b)}"
        )
    return function(a, b)


def _describe(v) -> str:
    return str(v.dtype) if isinstance(v, CLArray) else type_name(v)


def negative(z):
    return _pair_op("negative", z)


def where(condition, x1, x2):
    """``where`` with a complex value operand: one real ``where`` on the pair views."""
    condition = python_scalar(condition)
    x1, x2 = operands("where", x1, x2)
    if isinstance(condition, CLArray):
        condition = CLArray(
            condition.device,
            condition.buffer,
            condition.offset,
            (*condition.shape, 1),
            (*condition.strides, 1),
            condition.dtype,
        )
    return from_pairs(_ew().where(condition, pairs(x1), pairs(x2)))


# ---- reductions ----------------------------------------------------------------------------
def prod(z: CLArray, axes: tuple[int, ...], keepdims: bool) -> CLArray:
    """Product of ``z`` over the (sorted, non-negative) ``axes`` by pairwise halving: the
    reduced axes are moved last and flattened, then each step multiplies the two halves."""
    from .manipulation import concat, permute_dims, reshape

    kept = [a for a in range(z.ndim) if a not in axes]
    kept_shape = tuple(z.shape[a] for a in kept)
    k = math.prod(z.shape[a] for a in axes)
    line = reshape(permute_dims(z, (*kept, *axes)), (*kept_shape, k))
    if k == 0:
        line = empty((*kept_shape, 1), z.dtype, z.device)
        from .copy import fill

        fill(line, 1)
    while line.shape[-1] > 1:
        n = line.shape[-1]
        h = n // 2
        halved = multiply(line[..., :h], line[..., h : 2 * h])
        line = concat([halved, line[..., 2 * h :]], axis=-1) if n % 2 else halved
    out = reshape(line, kept_shape)
    if keepdims:
        out = reshape(out, tuple(1 if a in axes else n for a, n in enumerate(z.shape)))
    return out


# ---- parts ---------------------------------------------------------------------------------
def real(z: CLArray) -> CLArray:
    return _u("positive", part(z, 0))


def imag(z: CLArray) -> CLArray:
    return _u("positive", part(z, 1))


def conj(z: CLArray) -> CLArray:
    return _conj(z)


def angle(x, /) -> CLArray:
    """The argument of each element, ``atan2(imag(x), real(x))``; 0 or pi for real input (as
    ``torch.angle``; not in the standard).

    Parameters
    ----------
    x : CLArray
        The input array, real or complex.

    Returns
    -------
    CLArray
        The angles in radians: float32 for complex64, float64 for complex128, the default
        float dtype for integer input.

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.angle(xp.asarray(np.array([1j, -1.0 + 0j], dtype=np.complex64))).to_numpy()
    array([1.5707964, 3.1415927], dtype=float32)
    """
    if not isinstance(x, CLArray):
        raise TypeError(f"angle: expected an OpenCL array, got {type_name(x)}")
    if x.dtype.kind == "c":
        return _b("atan2", part(x, 1), part(x, 0))
    return _b("atan2", 0.0, x if _dt.is_floating(x.dtype) else cast(x, _dt.default_float(x.device)))
