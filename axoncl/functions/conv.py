"""Convolution, pooling and dropout: conv2d, conv1d, max_pool2d, avg_pool2d,
adaptive_avg_pool2d, dropout (NCHW layout, PyTorch semantics).

The heavy lifting is in ``backends.primitives`` (im2col + GEMM, pooling windows, Philox), which
a backend may override. Every backward is itself made of recorded ops, so ``create_graph=True``
(double backward) works for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backends import device_kwargs, primitives
from ..graph import Function
from ..random import default_generator
from ..variable import Variable
from ._util import as_variable
from .linalg import matmul
from .shape import reshape

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "conv1d", "conv2d", "dropout", "max_pool2d"]

IntPair = int | Sequence[int]


def _pair(value: IntPair, name: str, op: str, minimum: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= minimum for v in pair):
        raise ValueError(
            f"{op}: expected {name} as an int >= {minimum} or a pair of them, got {value!r}"
        )
    return pair  # type: ignore[return-value]


def _check_fits(op: str, shape: tuple[int, ...], kernel_size, stride, padding, dilation):
    """The output must have at least one pixel."""
    for axis, n, k, s, p, d in zip(
        ("height", "width"), shape[2:], kernel_size, stride, padding, dilation, strict=True
    ):
        if primitives.conv_output_size(n, k, s, p, d) < 1:
            raise ValueError(
                f"{op}: the kernel ({d * (k - 1) + 1} with dilation {d}) is larger than the "
                f"padded input {axis} ({n} + 2*{p}) for input shape {shape}"
            )


# ---- convolution --------------------------------------------------------------------------


class Conv2d(Function):
    """NCHW convolution. A dedicated rule for speed: forward is im2col plus one batched GEMM
    (bias fused where the backend can), and the gradients are GEMMs too (docs/kernels.md,
    section 3)."""

    autocast_policy = "low"

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        # The weight gradient reads the same column matrix: the backend may keep it here, for
        # as long as this node lives.
        ctx.columns = primitives.ColumnStash() if ctx.needs_input_grad[1] else None
        return primitives.conv2d(
            x,
            weight,
            bias,
            stride=ctx.stride,
            padding=ctx.padding,
            dilation=ctx.dilation,
            groups=ctx.groups,
            xp=ctx.xp,
            keep_columns=ctx.columns,
        )

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_values
        opts = _conv_opts(ctx)
        # y = conv(x, W) + b is bilinear in (x, W): dx = conv_transpose(dy, W),
        # dW = sum_n dy_n @ col(x_n)^T, db = sum of dy over (n, oh, ow).
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _Conv2dInputGrad.apply(grad, weight, input_size=tuple(x.shape[2:]), **opts)
        if ctx.needs_input_grad[1]:
            gw = _Conv2dWeightGrad.apply(
                grad, x, kernel_size=tuple(weight.shape[2:]), columns=ctx.columns, **opts
            )
        if ctx.needs_input_grad[2]:
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gw, gb


def _conv_opts(ctx) -> dict[str, Any]:
    return {
        "stride": ctx.stride,
        "padding": ctx.padding,
        "dilation": ctx.dilation,
        "groups": ctx.groups,
    }


class _Conv2dInputGrad(Function):
    """``dx = conv2d_input_grad(dy, W)``; linear in each argument, so its own gradients are
    a convolution (in dy) and a weight gradient (in W)."""

    name = "conv2d_input_grad"

    @staticmethod
    def forward(ctx, grad, weight):
        ctx.save_for_backward(grad, weight)
        return primitives.conv2d_input_grad(
            grad, weight, ctx.input_size, xp=ctx.xp, **_conv_opts(ctx)
        )

    @staticmethod
    def backward(ctx, gg):
        grad, weight = ctx.saved_values
        opts = _conv_opts(ctx)
        # <gg, T(dy, W)> = <conv(gg, W), dy>: d/d(dy) = conv(gg, W), d/dW = weight_grad(dy, gg).
        g_grad = Conv2d.apply(gg, weight, None, **opts) if ctx.needs_input_grad[0] else None
        g_weight = None
        if ctx.needs_input_grad[1]:
            g_weight = _Conv2dWeightGrad.apply(
                grad, gg, kernel_size=tuple(weight.shape[2:]), **opts
            )
        return g_grad, g_weight


class _Conv2dWeightGrad(Function):
    """``dW = conv2d_weight_grad(dy, x)``; linear in each argument."""

    name = "conv2d_weight_grad"

    @staticmethod
    def forward(ctx, grad, x):
        ctx.save_for_backward(grad, x)
        return primitives.conv2d_weight_grad(
            grad,
            x,
            ctx.kernel_size,
            xp=ctx.xp,
            columns=getattr(ctx, "columns", None),  # the forward's, when Conv2d's backward
            **_conv_opts(ctx),
        )

    @staticmethod
    def backward(ctx, gg):
        grad, x = ctx.saved_values
        opts = _conv_opts(ctx)
        # <gg, G(dy, x)> = <conv(x, gg), dy>: d/d(dy) = conv(x, gg), d/dx = input_grad(dy, gg).
        g_grad = Conv2d.apply(x, gg, None, **opts) if ctx.needs_input_grad[0] else None
        g_x = None
        if ctx.needs_input_grad[1]:
            g_x = _Conv2dInputGrad.apply(grad, gg, input_size=tuple(x.shape[2:]), **opts)
        return g_grad, g_x


def _same_device(op: str, *values: Any) -> None:
    """The error that elementwise ops and matmul give for operands on two devices; the conv
    primitives of a backend may not check it themselves."""
    devices = []
    for v in values:
        if v is None:
            continue
        data = v.data if isinstance(v, Variable) else v
        devices.append(getattr(data, "device", None))
    first = devices[0]
    for other in devices[1:]:
        if other is not first and other != first:
            name = getattr(getattr(first, "caps", None), "name", "")
            other_name = getattr(getattr(other, "caps", None), "name", "")
            raise ValueError(
                f"{op}: arrays live on different devices, {first}"
                + (f" ({name})" if name else "")
                + f" and {other}"
                + (f" ({other_name})" if other_name else "")
                + "; move one with .to_device(...)"
            )


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Variable:
    """2-D convolution (cross-correlation, as in PyTorch) of an NCHW input.

    Parameters
    ----------
    x
        Input of shape ``(N, C, H, W)``.
    weight
        Filters of shape ``(O, C // groups, KH, KW)``.
    bias
        Optional ``(O,)`` values added to each output channel.
    stride, padding, dilation
        An int or an ``(h, w)`` pair each; padding is zeros on both sides.
    groups
        ``C`` and ``O`` split into this many independent blocks (``groups == C``: depthwise).

    Returns
    -------
    Variable
        Shape ``(N, O, OH, OW)`` with ``OH = (H + 2*ph - dh*(KH-1) - 1) // sh + 1``.

    Raises
    ------
    ValueError
        When ``x`` or ``weight`` is not 4-D, their channels do not match ``groups``, ``groups``
        is not a positive int, ``bias`` is not ``(O,)``, or the output would be empty.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable, conv2d
    >>> x = Variable(np.ones((1, 2, 5, 5)), requires_grad=True)
    >>> w = Variable(np.ones((4, 2, 3, 3)), requires_grad=True)
    >>> y = conv2d(x, w, stride=2, padding=1)
    >>> y.shape
    (1, 4, 3, 3)
    >>> y.sum().backward()
    >>> w.grad.shape
    (4, 2, 3, 3)
    """
    op = "conv2d"
    stride = _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    dilation = _pair(dilation, "dilation", op, 1)
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: expected groups as a positive int, got {groups!r}")
    _same_device(op, x, weight, bias)
    xs, ws = tuple(x.shape), tuple(weight.shape)
    if len(xs) != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {xs}")
    if len(ws) != 4:
        raise ValueError(f"{op}: expected a 4-D weight (O, C/groups, KH, KW), got shape {ws}")
    if ws[0] % groups:
        raise ValueError(
            f"{op}: expected out_channels divisible by groups={groups}, got weight shape {ws}"
        )
    if ws[1] * groups != xs[1]:
        raise ValueError(
            f"{op}: expected input with weight.shape[1]*groups = {ws[1]}*{groups} "
            f"= {ws[1] * groups} channels, got input shape {xs} and weight shape "
            f"{ws}"
        )
    if bias is not None and tuple(bias.shape) != (ws[0],):
        raise ValueError(f"{op}: expected bias of shape ({ws[0]},), got {tuple(bias.shape)}")
    _check_fits(op, xs, ws[2:], stride, padding, dilation)
    return Conv2d.apply(
        x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups
    )


def conv1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    *,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
) -> Variable:
    """1-D convolution of an ``(N, C, L)`` input with ``(O, C // groups, K)`` filters: a
    :func:`conv2d` over a height-1 image.

    Parameters
    ----------
    x
        ``(N, C, L)`` input.
    weight
        ``(O, C // groups, K)`` filters.
    bias
        Optional ``(O,)``.
    stride, padding, dilation
        Ints.
    groups
        Independent channel blocks.

    Returns
    -------
    Variable
        ``(N, O, L_out)``.

    Raises
    ------
    ValueError
        When ``x`` or ``weight`` is not 3-D, or ``stride``, ``padding``, ``dilation`` or
        ``groups`` is not an int in range (and as for :func:`conv2d`).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import conv1d
    >>> conv1d(np.ones((2, 3, 10)), np.ones((4, 3, 3)), padding=1).shape
    (2, 4, 10)
    """
    op = "conv1d"
    xs, ws = tuple(x.shape), tuple(weight.shape)
    if len(xs) != 3:
        raise ValueError(f"{op}: expected a 3-D input (N, C, L), got shape {xs}")
    if len(ws) != 3:
        raise ValueError(f"{op}: expected a 3-D weight (O, C/groups, K), got shape {ws}")
    for name, v, low in (("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1)):
        if not isinstance(v, int) or v < low:
            raise ValueError(f"{op}: expected {name} as an int >= {low}, got {v!r}")
    y = conv2d(
        reshape(x, (xs[0], xs[1], 1, xs[2])),
        reshape(weight, (ws[0], ws[1], 1, ws[2])),
        bias,
        stride=(1, stride),
        padding=(0, padding),
        dilation=(1, dilation),
        groups=groups,
    )
    return reshape(y, (y.shape[0], y.shape[1], y.shape[3]))


# ---- pooling ------------------------------------------------------------------------------


def _pool_args(
    op: str,
    x: Any,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
    dilation: IntPair = 1,
):
    kernel_size = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel_size if stride is None else _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    dilation = _pair(dilation, "dilation", op, 1)
    shape = tuple(x.shape)
    if len(shape) != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {shape}")
    if any(2 * p > k for p, k in zip(padding, kernel_size, strict=True)):
        raise ValueError(
            f"{op}: expected padding at most half the kernel size, got padding "
            f"{padding} for kernel_size {kernel_size}"
        )
    _check_fits(op, shape, kernel_size, stride, padding, dilation)
    return kernel_size, stride, padding, dilation


def _pool_opts(ctx) -> dict[str, Any]:
    return {"stride": ctx.stride, "padding": ctx.padding, "dilation": ctx.dilation}


class MaxPool2d(Function):
    """Max over each window. The gradient of a window goes to ONE winner, its first maximum in
    row-major window order (PyTorch's choice), never split between ties.

    The forward also computes each window's winning tap (``kh*KW + kw``, an integer array from
    :func:`~axoncl.backends.primitives.max_pool2d_argmax`) and saves it, instead of ``x``, as a
    non-differentiable constant: backward is then a cheap scatter by that index rather than a
    second search of every window. (The winner does not move under a small change of ``x``, so
    treating it as a constant is exact; it costs one int per output element of memory.)"""

    @staticmethod
    def forward(ctx, x):
        out, index = primitives.max_pool2d_argmax(x, ctx.kernel_size, xp=ctx.xp, **_pool_opts(ctx))
        ctx.input_size = tuple(x.shape[2:])
        ctx.save_for_backward(index)
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_values
        # d max/dx is the one-hot of the winner: send each window's grad to its winning tap.
        return (_MaxPoolScatter.apply(grad, index, **_pool_index_opts(ctx)),)


def _pool_index_opts(ctx) -> dict[str, Any]:
    return {"input_size": ctx.input_size, "kernel_size": ctx.kernel_size, **_pool_opts(ctx)}


class _MaxPoolScatter(Function):
    """Each window's value added at its winning tap ``index`` (a constant); linear in
    ``grad``."""

    name = "max_pool2d_scatter"

    @staticmethod
    def forward(ctx, grad, index):
        ctx.save_for_backward(index)
        return primitives.max_pool2d_scatter_index(
            index, grad, ctx.input_size, ctx.kernel_size, xp=ctx.xp, **_pool_opts(ctx)
        )

    @staticmethod
    def backward(ctx, gg):
        (index,) = ctx.saved_values
        return (_MaxPoolGather.apply(gg, index, **_pool_index_opts(ctx)), None)


class _MaxPoolGather(Function):
    """Each window's winning tap ``index`` read from ``values``; the adjoint of
    :class:`_MaxPoolScatter`."""

    name = "max_pool2d_gather"

    @staticmethod
    def forward(ctx, values, index):
        ctx.save_for_backward(index)
        return primitives.max_pool2d_gather_index(
            index, values, ctx.kernel_size, xp=ctx.xp, **_pool_opts(ctx)
        )

    @staticmethod
    def backward(ctx, gg):
        (index,) = ctx.saved_values
        return (_MaxPoolScatter.apply(gg, index, **_pool_index_opts(ctx)), None)


def max_pool2d(
    x: Any,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> Variable:
    """Max pooling over ``(N, C, H, W)``; padding counts as ``-inf``, NaN wins a window.

    ``stride`` defaults to ``kernel_size``; ``padding`` may be at most half the kernel size.
    Output sizes round down (no ``ceil_mode``). On ties the gradient goes to the first maximum
    of the window (row-major), as in PyTorch.

    Parameters
    ----------
    x
        ``(N, C, H, W)`` input.
    kernel_size
        The window, an int or ``(kh, kw)``.
    stride
        The step; ``None``: ``kernel_size``.
    padding
        ``-inf`` on each side, at most half the kernel.
    dilation
        Spacing between window elements.

    Returns
    -------
    Variable
        ``(N, C, OH, OW)``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import max_pool2d
    >>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).numpy()[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    kernel_size, stride, padding, dilation = _pool_args(
        "max_pool2d", x, kernel_size, stride, padding, dilation
    )
    return MaxPool2d.apply(
        x, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )


class AvgPool2d(Function):
    """Mean over each window, counting zero padding (``count_include_pad=True``)."""

    @staticmethod
    def forward(ctx, x):
        ctx.input_size = tuple(x.shape[2:])
        return primitives.avg_pool2d(
            x, ctx.kernel_size, stride=ctx.stride, padding=ctx.padding, xp=ctx.xp
        )

    @staticmethod
    def backward(ctx, grad):
        # Linear: the adjoint spreads grad / (KH*KW) over each window.
        return (
            _AvgPool2dBackward.apply(
                grad,
                input_size=ctx.input_size,
                kernel_size=ctx.kernel_size,
                stride=ctx.stride,
                padding=ctx.padding,
            ),
        )


class _AvgPool2dBackward(Function):
    """The adjoint of :class:`AvgPool2d`; its own adjoint is average pooling again."""

    name = "avg_pool2d_backward"

    @staticmethod
    def forward(ctx, grad):
        return primitives.avg_pool2d_backward(
            grad, ctx.input_size, ctx.kernel_size, stride=ctx.stride, padding=ctx.padding, xp=ctx.xp
        )

    @staticmethod
    def backward(ctx, gg):
        return (
            AvgPool2d.apply(
                gg, kernel_size=ctx.kernel_size, stride=ctx.stride, padding=ctx.padding
            ),
        )


def avg_pool2d(
    x: Any, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> Variable:
    """Average pooling over ``(N, C, H, W)``, zero padding included in each window's count
    (PyTorch's default ``count_include_pad=True``); output sizes round down.

    Parameters
    ----------
    x
        ``(N, C, H, W)`` input.
    kernel_size
        The window, an int or ``(kh, kw)``.
    stride
        The step; ``None``: ``kernel_size``.
    padding
        Zeros on each side, counted in the mean.

    Returns
    -------
    Variable
        ``(N, C, OH, OW)``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import avg_pool2d
    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).numpy()[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    kernel_size, stride, padding, _ = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def _adaptive_matrix(n_in: int, n_out: int) -> list[list[float]]:
    """``[n_out, n_in]`` averaging rows over PyTorch's windows
    ``[floor(i*n_in/n_out), ceil((i+1)*n_in/n_out))``."""
    rows = []
    for i in range(n_out):
        start = (i * n_in) // n_out
        end = -((-(i + 1) * n_in) // n_out)
        rows.append([1.0 / (end - start) if start <= j < end else 0.0 for j in range(n_in)])
    return rows


def adaptive_avg_pool2d(x: Any, output_size: IntPair) -> Variable:
    """Average pooling to a fixed ``(OH, OW)`` with PyTorch's window formula
    (``start = floor(i*H/OH)``, ``end = ceil((i+1)*H/OH)``).

    Built from existing ops: :func:`avg_pool2d` when the sizes divide evenly, else two matrix
    products with constant averaging matrices, ``A_h @ x @ A_w^T``.

    Parameters
    ----------
    x
        ``(N, C, H, W)`` input.
    output_size
        ``(OH, OW)`` or one int for both.

    Returns
    -------
    Variable
        ``(N, C, OH, OW)``.

    Raises
    ------
    ValueError
        When ``x`` is not 4-D or has an empty spatial axis.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import adaptive_avg_pool2d
    >>> adaptive_avg_pool2d(np.arange(9.0).reshape(1, 1, 3, 3), 1).numpy().ravel()
    array([4.])
    """
    op = "adaptive_avg_pool2d"
    oh, ow = _pair(output_size, "output_size", op, 1)
    x = as_variable(x)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    h, w = x.shape[2:]
    if h == 0 or w == 0:
        raise ValueError(f"{op}: expected non-empty spatial dimensions, got shape {x.shape}")
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(x, (h // oh, w // ow))
    xp = x.xp
    kwargs = {"dtype": x.dtype, **device_kwargs(getattr(x.data, "device", None))}
    a_h = Variable(xp.asarray(_adaptive_matrix(h, oh), **kwargs))
    a_w = Variable(xp.asarray(_adaptive_matrix(w, ow), **kwargs))
    return matmul(matmul(a_h, x), a_w.T)


# ---- dropout ------------------------------------------------------------------------------


class Dropout(Function):
    """``x * keep / (1 - p)`` with a stateless Philox mask keyed by ``seed``; backward
    regenerates the same mask from (seed, element index) instead of storing it."""

    @staticmethod
    def forward(ctx, x):
        if ctx.p >= 1.0:
            return ctx.xp.zeros_like(x)
        return primitives.dropout(x, p=ctx.p, seed=ctx.seed, xp=ctx.xp)

    @staticmethod
    def backward(ctx, grad):
        # Linear in x with a diagonal 0 or 1/(1-p) Jacobian: the same mask applies to grad.
        return (Dropout.apply(grad, p=ctx.p, seed=ctx.seed),)


def dropout(x: Any, p: float = 0.5, *, training: bool = True, seed: int | None = None) -> Variable:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Parameters
    ----------
    x
        Any shape; the mask follows the C-order element index.
    p
        Drop probability in ``[0, 1]``.
    training
        ``False`` returns ``x`` unchanged.
    seed
        A 64-bit key for Philox4x32-10. The same seed gives the same mask on every backend
        (numpy, OpenCL, …). ``None`` draws one from ``axoncl.random.default_generator``, so
        ``axoncl.manual_seed(...)`` makes runs reproducible.

    Returns
    -------
    Variable
        ``x``'s shape and dtype: kept elements times ``1 / (1 - p)``, the others 0.

    Raises
    ------
    ValueError
        When ``p`` is not in ``[0, 1]``.
    TypeError
        When ``seed`` is neither an int nor None.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import dropout
    >>> y = dropout(np.ones(8), p=0.5, seed=1)
    >>> sorted(set(y.numpy().tolist())) == [0.0, 2.0]
    True
    """
    if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: expected p in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return as_variable(x)
    if seed is None:
        seed = default_generator.next_seed()
    elif not isinstance(seed, int):
        raise TypeError(f"dropout: expected seed as an int or None, got {type(seed).__name__}")
    return Dropout.apply(x, p=float(p), seed=seed & 0xFFFFFFFFFFFFFFFF)
