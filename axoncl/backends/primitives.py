"""Non-standard primitives: a portable array-API version each, plus per-backend fast versions.

A primitive takes ``xp`` as a keyword. A backend installs its own version with
``@prim.register(namespace)``; calls on arrays of that namespace then use it.

Examples
--------
>>> import numpy as np
>>> from array_api_compat import numpy as xp
>>> softmax(xp.asarray([0.0, 0.0]), axis=-1, xp=xp)
array([0.5, 0.5])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "Primitive",
    "linear",
    "erf",
    "index_add",
    "log_softmax",
    "logsumexp",
    "broadcast_to",
    "ones_like",
    "positive_mask",
    "relu",
    "sum",
    "primitive",
    "softmax",
    "avg_pool2d",
    "avg_pool2d_backward",
    "col2im",
    "conv2d",
    "conv2d_input_grad",
    "conv2d_weight_grad",
    "conv_output_size",
    "dropout",
    "dropout_threshold",
    "im2col",
    "max_pool2d_argmax",
    "max_pool2d_gather",
    "max_pool2d_gather_index",
    "max_pool2d_scatter",
    "max_pool2d_scatter_index",
    "philox4x32",
    "seed_key",
]


class Primitive:
    """A function with a portable body and optional per-namespace overrides."""

    def __init__(self, portable: Callable[..., Any]) -> None:
        self.portable = portable
        self.name = portable.__name__
        self.__doc__ = portable.__doc__
        self._impls: dict[str, Callable[..., Any]] = {}

    def register(self, namespace: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: ``fn`` serves arrays of ``namespace`` (a module or its name)."""
        key = namespace if isinstance(namespace, str) else namespace.__name__

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._impls[key] = fn
            return fn

        return decorate

    def unregister(self, namespace: Any) -> None:
        key = namespace if isinstance(namespace, str) else namespace.__name__
        self._impls.pop(key, None)

    def implementation(self, xp: Any) -> Callable[..., Any]:
        return self._impls.get(xp.__name__, self.portable)

    def __call__(self, *args: Any, xp: Any, **kwargs: Any) -> Any:
        return self._impls.get(xp.__name__, self.portable)(*args, xp=xp, **kwargs)

    def __repr__(self) -> str:
        return f"<primitive {self.name} overrides={sorted(self._impls)}>"


def primitive(fn: Callable[..., Any]) -> Primitive:
    """Make ``fn`` (portable, array-API only) a :class:`Primitive`."""
    return Primitive(fn)


@primitive
def softmax(x: Any, *, axis: int, xp: Any) -> Any:
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(shifted)
    return e / xp.sum(e, axis=axis, keepdims=True)


@primitive
def log_softmax(x: Any, *, axis: int, xp: Any) -> Any:
    """``x - logsumexp(x)`` along ``axis``, computed stably."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


@primitive
def logsumexp(x: Any, *, axis: Any, keepdims: bool, xp: Any) -> Any:
    """``log(sum(exp(x)))`` over ``axis``, shifted by the maximum for stability."""
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        axes = (axis,) if isinstance(axis, int) else tuple(range(x.ndim) if axis is None else axis)
        out = xp.squeeze(out, axis=tuple(a % x.ndim for a in axes)) if x.ndim else out
    return out


@primitive
def linear(x: Any, weight: Any, bias: Any, *, relu: bool, xp: Any) -> Any:
    """``x @ weightᵀ (+ bias) (then ReLU)``; weight is ``(out, in)``."""
    out = xp.matmul(x, xp.matrix_transpose(weight))
    if bias is not None:
        out = out + bias
    return xp.maximum(out, xp.zeros_like(out)) if relu else out


@primitive
def index_add(grad: Any, index: Any, size: int, *, axis: int, xp: Any) -> Any:
    """Zeros with ``size`` entries along ``axis``, plus ``grad`` added at ``index`` (1-D,
    repeats add up): the adjoint of ``take(x, index, axis)``.

    Portable version: a matrix product with the one-hot matrix of ``index``.
    """
    onehot = xp.astype(
        xp.reshape(index, (-1, 1)) == xp.arange(size, dtype=index.dtype, device=_device(index)),
        grad.dtype,
    )
    moved = xp.moveaxis(grad, axis, -1)
    out = xp.matmul(moved, onehot)
    return xp.moveaxis(out, -1, axis)


@primitive
def erf(x: Any, *, xp: Any) -> Any:
    """The error function; portable version after Numerical Recipes' ``erfc`` Chebyshev fit
    (fractional error below 1.2e-7 everywhere)."""
    z = xp.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    coeffs = (
        -1.26551223,
        1.00002368,
        0.37409196,
        0.09678418,
        -0.18628806,
        0.27886807,
        -1.13520398,
        1.48851587,
        -0.82215223,
        0.17087277,
    )
    poly = xp.zeros_like(t) + coeffs[-1]
    for c in reversed(coeffs[:-1]):
        poly = poly * t + c
    erfc = t * xp.exp(-z * z + poly)
    return xp.where(x >= 0, 1.0 - erfc, erfc - 1.0)


# Standard calls that some namespaces make slow on small arrays (array_api_compat's numpy:
# broadcast_to and sum over an axis tuple run Python code costing microseconds): the autograd
# hot path (Sum, the backward seed, Relu's backward) calls these, and numpy registers its own.
@primitive
def sum(x: Any, *, axis: tuple[int, ...] | None, keepdims: bool, xp: Any) -> Any:  # noqa: A001
    """``xp.sum``."""
    return xp.sum(x, axis=axis, keepdims=keepdims)


@primitive
def broadcast_to(x: Any, shape: tuple[int, ...], *, xp: Any) -> Any:
    """``xp.broadcast_to`` (a backend may return a copy instead of a view)."""
    return xp.broadcast_to(x, shape)


@primitive
def ones_like(x: Any, *, xp: Any) -> Any:
    """``xp.ones_like``."""
    return xp.ones_like(x)


@primitive
def relu(x: Any, *, xp: Any) -> Any:
    """``max(x, 0)``."""
    return xp.maximum(x, 0)  # a Python scalar operand (array API 2024.12)


@primitive
def positive_mask(x: Any, *, xp: Any) -> Any:
    """1 where ``x > 0``, else 0 (NaN included), in ``x``'s dtype."""
    return xp.astype(x > 0, x.dtype)


def _device(x: Any) -> Any:
    return getattr(x, "device", None)


# numpy has fast scatter-add and math.erf; register them for the numpy namespaces.
def _register_numpy() -> None:
    import numpy as np

    erf_elementwise = np.frompyfunc(math.erf, 1, 1)

    def index_add_np(grad, index, size, *, axis, xp):
        shape = list(grad.shape)
        shape[axis] = size
        out = np.zeros(shape, dtype=grad.dtype)
        key = (slice(None),) * (axis % grad.ndim) + (np.asarray(index),)
        np.add.at(out, key, np.asarray(grad))
        return out

    def erf_np(x, *, xp):
        return np.asarray(erf_elementwise(x), dtype=x.dtype)

    def sum_np(x, *, axis, keepdims, xp):
        out = np.add.reduce(x, axis=axis, keepdims=keepdims)  # np.sum without its Python layers
        return np.asarray(out) if isinstance(out, np.generic) else out

    def broadcast_to_np(x, shape, *, xp):
        # np.broadcast_to builds a view in Python (~2 us); a small copy is ten times cheaper.
        if x.ndim > len(shape) or math.prod(shape) > 4096:
            return np.broadcast_to(x, shape)
        out = np.empty(shape, dtype=x.dtype)
        out[...] = x
        return out

    def ones_like_np(x, *, xp):
        return np.array(1, dtype=x.dtype) if x.ndim == 0 else np.ones(x.shape, dtype=x.dtype)

    # numpy converts a Python scalar operand on every call; a cached 0-d zero of the array's
    # dtype takes the fast path (about 0.3 us less per call on small arrays).
    zeros: dict[Any, Any] = {}

    def zero_of(dtype):
        zero = np.zeros((), dtype=dtype)
        zero.flags.writeable = False
        zeros[dtype] = zero
        return zero

    def relu_np(x, *, xp):
        zero = zeros.get(x.dtype)
        return np.maximum(x, zero_of(x.dtype) if zero is None else zero)

    def positive_mask_np(x, *, xp):
        zero = zeros.get(x.dtype)
        return (x > (zero_of(x.dtype) if zero is None else zero)).astype(x.dtype)

    for name in ("array_api_compat.numpy", "numpy"):
        index_add.register(name)(index_add_np)
        erf.register(name)(erf_np)
        sum.register(name)(sum_np)
        broadcast_to.register(name)(broadcast_to_np)
        ones_like.register(name)(ones_like_np)
        positive_mask.register(name)(positive_mask_np)
        relu.register(name)(relu_np)


_register_numpy()


# ---- convolution, pooling and dropout -------------------------------------------------------
# Sizes arrive normalised by ``functions/conv.py``: every ``kernel_size``, ``stride``,
# ``padding`` and ``dilation`` is a pair of ints, inputs are NCHW. Column matrices follow
# KERNELS.md §4.1: row ``r = (c*KH + kh)*KW + kw``, column ``p = oh*OW + ow``.


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """``(size + 2*padding - dilation*(kernel-1) - 1) // stride + 1`` (may be <= 0)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _full_like_device(shape: tuple[int, ...], value: float, like: Any, xp: Any) -> Any:
    device = getattr(like, "device", None)
    if device is not None and not callable(device):
        return xp.full(shape, value, dtype=like.dtype, device=device)
    return xp.full(shape, value, dtype=like.dtype)


def _pad_hw(x: Any, padding: tuple[int, int], value: float, xp: Any) -> Any:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    out = _full_like_device((n, c, h + 2 * ph, w + 2 * pw), value, x, xp)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def _windows(x: Any, kernel_size, stride, padding, dilation, pad_value: float, xp: Any) -> Any:
    """``[N, C, KH*KW, OH, OW]``: the input under each kernel tap (strided slices)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    oh = conv_output_size(h, kh, sh, padding[0], dh)
    ow = conv_output_size(w, kw, sw, padding[1], dw)
    padded = _pad_hw(x, padding, pad_value, xp)
    taps = []
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            taps.append(
                padded[:, :, r0 : r0 + sh * (oh - 1) + 1 : sh, c0 : c0 + sw * (ow - 1) + 1 : sw]
            )
    return xp.stack(taps, axis=2)


def _unwindows(cols: Any, input_size, kernel_size, stride, padding, dilation, xp: Any) -> Any:
    """The adjoint of :func:`_windows`: ``[N, C, KH*KW, OH, OW]`` summed back into NCHW."""
    n, c, _, oh, ow = cols.shape
    h, w = input_size
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    hp, wp = h + 2 * ph, w + 2 * pw
    out = _full_like_device((n, c, hp, wp), 0.0, cols, xp)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            key = (
                slice(None),
                slice(None),
                slice(r0, r0 + sh * (oh - 1) + 1, sh),
                slice(c0, c0 + sw * (ow - 1) + 1, sw),
            )
            out[key] = out[key] + cols[:, :, i * kw + j, ...]
    if ph == 0 and pw == 0:
        return out
    return out[:, :, ph : ph + h, pw : pw + w]


@primitive
def im2col(
    x: Any, kernel_size, *, stride, padding, dilation, pad_value: float = 0.0, xp: Any
) -> Any:
    """``[N, C, H, W]`` -> column matrices ``[N, C*KH*KW, OH*OW]`` (padding reads
    ``pad_value``). Portable version: one strided slice per kernel tap."""
    n, c = x.shape[:2]
    cols = _windows(x, kernel_size, stride, padding, dilation, pad_value, xp)
    return xp.reshape(cols, (n, c * kernel_size[0] * kernel_size[1], cols.shape[3] * cols.shape[4]))


@primitive
def col2im(col: Any, input_size, kernel_size, *, stride, padding, dilation, xp: Any) -> Any:
    """The adjoint of :func:`im2col`: ``[N, C*KH*KW, OH*OW]`` -> ``[N, C, H, W]``, adding the
    entries that land on the same pixel (padding entries are dropped)."""
    n, rows, _ = col.shape
    kh, kw = kernel_size
    h, w = input_size
    oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    cols = xp.reshape(col, (n, rows // (kh * kw), kh * kw, oh, ow))
    return _unwindows(cols, input_size, kernel_size, stride, padding, dilation, xp)


def _is_pointwise(kernel_size, stride, padding) -> bool:
    return tuple(kernel_size) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)


def _columns(x: Any, kernel_size, stride, padding, dilation, xp: Any) -> Any:
    if _is_pointwise(kernel_size, stride, padding):  # the input already is the column matrix
        n, c, h, w = x.shape
        return xp.reshape(x, (n, c, h * w))
    return im2col(x, kernel_size, stride=stride, padding=padding, dilation=dilation, xp=xp)


# Column matrices above this many elements are built a chunk of images at a time.
COLUMN_BUDGET = 1 << 24


def _chunks(n: int, per_image: int) -> list[tuple[int, int]]:
    step = max(1, COLUMN_BUDGET // max(per_image, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)] or [(0, 0)]


@primitive
def conv2d(
    x: Any, weight: Any, bias: Any, *, stride, padding, dilation, groups: int, xp: Any
) -> Any:
    """NCHW convolution (cross-correlation): im2col, then one batched matmul per chunk of
    images, ``Y[n, g] = W[g] @ col[n, g]``, plus the bias per output channel."""
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    wg = xp.reshape(weight, (groups, o // groups, cg * kh * kw))
    outs = []
    for a, b in _chunks(n, c * kh * kw * oh * ow):
        col = _columns(x[a:b, ...], (kh, kw), stride, padding, dilation, xp)
        col = xp.reshape(col, (b - a, groups, cg * kh * kw, oh * ow))
        outs.append(xp.reshape(xp.matmul(wg, col), (b - a, o, oh, ow)))
    out = outs[0] if len(outs) == 1 else xp.concat(outs, axis=0)
    if bias is not None:
        out = out + xp.reshape(bias, (1, o, 1, 1))
    return out


@primitive
def conv2d_input_grad(
    grad: Any, weight: Any, input_size, *, stride, padding, dilation, groups: int, xp: Any
) -> Any:
    """d(conv2d)/dx applied to ``grad``: ``dcol[n, g] = W[g]^T @ dY[n, g]``, then col2im."""
    n, o, oh, ow = grad.shape
    _, cg, kh, kw = weight.shape
    h, w = input_size
    wt = xp.matrix_transpose(xp.reshape(weight, (groups, o // groups, cg * kh * kw)))
    outs = []
    for a, b in _chunks(n, groups * cg * kh * kw * oh * ow):
        g = xp.reshape(grad[a:b, ...], (b - a, groups, o // groups, oh * ow))
        dcol = xp.reshape(xp.matmul(wt, g), (b - a, groups * cg * kh * kw, oh * ow))
        if _is_pointwise((kh, kw), stride, padding):
            outs.append(xp.reshape(dcol, (b - a, groups * cg, h, w)))
        else:
            outs.append(
                col2im(
                    dcol, (h, w), (kh, kw), stride=stride, padding=padding, dilation=dilation, xp=xp
                )
            )
    return outs[0] if len(outs) == 1 else xp.concat(outs, axis=0)


@primitive
def conv2d_weight_grad(
    grad: Any, x: Any, kernel_size, *, stride, padding, dilation, groups: int, xp: Any
) -> Any:
    """d(conv2d)/dweight applied to ``grad``: ``dW[g] = sum_n dY[n, g] @ col[n, g]^T``."""
    n, c = x.shape[:2]
    _, o, oh, ow = grad.shape
    kh, kw = kernel_size
    kg = (c // groups) * kh * kw
    total = None
    for a, b in _chunks(n, c * kh * kw * oh * ow):
        col = xp.reshape(
            _columns(x[a:b, ...], kernel_size, stride, padding, dilation, xp),
            (b - a, groups, kg, oh * ow),
        )
        g = xp.reshape(grad[a:b, ...], (b - a, groups, o // groups, oh * ow))
        part = xp.sum(xp.matmul(g, xp.matrix_transpose(col)), axis=0)
        total = part if total is None else total + part
    if total is None:  # an empty batch
        return _full_like_device((o, c // groups, kh, kw), 0.0, grad, xp)
    return xp.reshape(total, (o, c // groups, kh, kw))


def _window_argmax_onehot(x: Any, kernel_size, stride, padding, dilation, xp: Any):
    """Per window, a one-hot mask over its ``KH*KW`` taps marking the first maximum of ``x``
    (padding counts as -inf, NaN as the largest value)."""
    taps = _windows(x, kernel_size, stride, padding, dilation, -math.inf, xp)
    k = taps.shape[2]
    winner = xp.argmax(taps, axis=2)  # the first maximum, as in PyTorch
    ids = xp.reshape(xp.arange(k, dtype=winner.dtype, device=_device(winner)), (1, 1, k, 1, 1))
    return taps, xp.reshape(winner, winner.shape[:2] + (1,) + winner.shape[2:]) == ids


@primitive
def max_pool2d_gather(
    x: Any, values: Any, kernel_size, *, stride, padding, dilation, xp: Any
) -> Any:
    """For each pooling window, ``values`` at the position of the window's maximum of ``x``
    (the first one on ties); ``values=None`` means ``x`` itself, i.e. max pooling."""
    taps, onehot = _window_argmax_onehot(x, kernel_size, stride, padding, dilation, xp)
    if values is None:
        return xp.max(taps, axis=2)
    vtaps = _windows(values, kernel_size, stride, padding, dilation, 0.0, xp)
    zero = xp.zeros_like(vtaps)
    return xp.sum(xp.where(onehot, vtaps, zero), axis=2)


@primitive
def max_pool2d_scatter(
    x: Any, grad: Any, kernel_size, *, stride, padding, dilation, xp: Any
) -> Any:
    """The adjoint of :func:`max_pool2d_gather` in ``values``: each window's ``grad`` goes to
    the position of its (first) maximum of ``x``; the result has ``x``'s shape."""
    taps, onehot = _window_argmax_onehot(x, kernel_size, stride, padding, dilation, xp)
    g = xp.reshape(grad, grad.shape[:2] + (1,) + grad.shape[2:])
    g = xp.broadcast_to(g, taps.shape)
    cols = xp.where(onehot, g, xp.zeros_like(g))
    return _unwindows(cols, x.shape[2:], kernel_size, stride, padding, dilation, xp)


def _tap_onehot(index: Any, k: int, xp: Any) -> Any:
    """``[N, C, k, OH, OW]`` booleans: tap ``t`` of each window equals ``index``."""
    ids = xp.reshape(xp.arange(k, dtype=index.dtype, device=_device(index)), (1, 1, k, 1, 1))
    return xp.reshape(index, index.shape[:2] + (1,) + index.shape[2:]) == ids


@primitive
def max_pool2d_argmax(x: Any, kernel_size, *, stride, padding, dilation, xp: Any) -> Any:
    """Max pooling plus, per window, the tap index ``kh*KW + kw`` of its first maximum
    (padding counts as -inf, NaN as the largest value): ``(out, index)``, ``index`` an integer
    array of ``out``'s shape (the backend's choice of integer dtype)."""
    taps = _windows(x, kernel_size, stride, padding, dilation, -math.inf, xp)
    return xp.max(taps, axis=2), xp.argmax(taps, axis=2)  # argmax: the first maximum


@primitive
def max_pool2d_gather_index(
    index: Any, values: Any, kernel_size, *, stride, padding, dilation, xp: Any
) -> Any:
    """For each window, ``values`` at the window's tap ``index`` (0 where that tap is
    padding): the forward of max pooling's gradient pair, given :func:`max_pool2d_argmax`."""
    vtaps = _windows(values, kernel_size, stride, padding, dilation, 0.0, xp)
    onehot = _tap_onehot(index, vtaps.shape[2], xp)
    return xp.sum(xp.where(onehot, vtaps, xp.zeros_like(vtaps)), axis=2)


@primitive
def max_pool2d_scatter_index(
    index: Any, grad: Any, input_size, kernel_size, *, stride, padding, dilation, xp: Any
) -> Any:
    """The adjoint of :func:`max_pool2d_gather_index`: each window's ``grad`` added at its tap
    ``index``; the result is ``[N, C, *input_size]``."""
    k = kernel_size[0] * kernel_size[1]
    onehot = _tap_onehot(index, k, xp)
    g = xp.broadcast_to(xp.reshape(grad, grad.shape[:2] + (1,) + grad.shape[2:]), onehot.shape)
    cols = xp.where(onehot, g, xp.zeros_like(g))
    return _unwindows(cols, input_size, kernel_size, stride, padding, dilation, xp)


@primitive
def avg_pool2d(x: Any, kernel_size, *, stride, padding, xp: Any) -> Any:
    """Mean over each window, zero padding included in the count (``count_include_pad``)."""
    taps = _windows(x, kernel_size, stride, padding, (1, 1), 0.0, xp)
    return xp.sum(taps, axis=2) / (kernel_size[0] * kernel_size[1])


@primitive
def avg_pool2d_backward(grad: Any, input_size, kernel_size, *, stride, padding, xp: Any) -> Any:
    """The adjoint of :func:`avg_pool2d`: ``grad / (KH*KW)`` spread over each window."""
    k = kernel_size[0] * kernel_size[1]
    g = xp.reshape(grad / k, grad.shape[:2] + (1,) + grad.shape[2:])
    cols = xp.broadcast_to(g, grad.shape[:2] + (k,) + grad.shape[2:])
    return _unwindows(cols, input_size, kernel_size, stride, padding, (1, 1), xp)


# Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
_MASK32 = 0xFFFFFFFF


def _mulhilo(a: Any, m: int) -> tuple[Any, Any]:
    """High and low 32-bit words of ``a * m`` for int64 arrays ``a`` < 2**32, in int64 only
    (every namespace has int64; not all shift or multiply uint64): ``m`` is split in 16-bit
    halves so that no partial product passes 2**48."""
    t = a * (m & 0xFFFF)
    u = a * (m >> 16) + (t >> 16)
    return u >> 16, ((u & 0xFFFF) << 16) | (t & 0xFFFF)


def _philox_rounds(c0: Any, c1: Any, c2: Any, c3: Any, key: tuple[int, int]):
    """Ten Philox rounds on int64 arrays that hold 32-bit words."""
    k0, k1 = key[0] & _MASK32, key[1] & _MASK32
    for r in range(10):
        if r:
            k0 = (k0 + PHILOX_W[0]) & _MASK32
            k1 = (k1 + PHILOX_W[1]) & _MASK32
        hi0, lo0 = _mulhilo(c0, PHILOX_M[0])
        hi1, lo1 = _mulhilo(c2, PHILOX_M[1])
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


@primitive
def philox4x32(counters: Any, key: tuple[int, int], *, xp: Any) -> Any:
    """Philox4x32-10 of each row of ``counters`` (``[n, 4]`` uint32) under ``key`` (two
    32-bit ints): ``[n, 4]`` uint32 random words."""
    words = [xp.astype(counters[:, i], xp.int64) for i in range(4)]
    out = _philox_rounds(*words, key)
    return xp.stack([xp.astype(v, xp.uint32) for v in out], axis=1)


def dropout_threshold(p: float) -> int:
    """An element is kept when its 32-bit Philox word is ``>= dropout_threshold(p)``."""
    return min(int(p * 4294967296.0), _MASK32)


def seed_key(seed: int) -> tuple[int, int]:
    """The Philox key of a 64-bit seed: (low word, high word)."""
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    return seed & _MASK32, seed >> 32


@primitive
def dropout(x: Any, *, p: float, seed: int, xp: Any) -> Any:
    """``x * keep / (1 - p)`` with ``keep`` a pure function of (seed, element index).

    Element ``i`` (C order) takes word ``i % 4`` of Philox4x32-10 with counter
    ``(i // 4 mod 2**32, i // 4 >> 32, 0, 0)`` and key :func:`seed_key`; it is kept when that
    word is ``>= dropout_threshold(p)``. Every backend computes the same mask bits.
    """
    n = math.prod(x.shape)
    blocks = -(-n // 4)
    index = xp.arange(blocks, dtype=xp.int64, device=_device(x))
    zero = xp.zeros_like(index)
    words = _philox_rounds(index & _MASK32, index >> 32, zero, zero, seed_key(seed))
    bits = xp.reshape(xp.stack(words, axis=1), (-1,))[:n]
    keep = xp.reshape(bits >= dropout_threshold(p), x.shape)
    scale = 1.0 / (1.0 - p)
    return xp.where(keep, x * scale, xp.zeros_like(x))
