"""Convolution and pooling layers over NCHW inputs (the ops live in ``functions/conv.py``)."""

from __future__ import annotations

import math
from typing import Any

from ..random import Generator
from ..variable import Variable
from . import init
from .layers import as_input, empty_parameter, positive_int
from .module import Module, Parameter

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "Conv1d", "Conv2d", "MaxPool2d"]


def _pair(value: int | tuple[int, int], what: str, layer: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise TypeError(f"{layer}: expected {what} as an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


def _show(value: tuple[int, int]) -> str:
    return str(value[0]) if value[0] == value[1] else str(value)


def _conv_ops() -> Any:
    from ..functions import conv  # written beside the other op families; imported when used

    return conv


def check_nchw(layer: Module, x: Variable, channels: int | None = None) -> None:
    """Raise ``ValueError`` naming ``layer`` unless ``x`` is (N, C, H, W) with C = ``channels``."""
    if x.ndim != 4:
        want = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{layer!r}: expected a 4-D input {want}, got shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{layer!r}: expected input of shape (N, {channels}, H, W) "
            f"({channels} channels), got shape {x.shape}"
        )


def check_window(
    layer: Module,
    x: Variable,
    kernel: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> None:
    """Raise ``ValueError`` when the (dilated) window is larger than the padded input."""
    for axis, name in ((2, "height"), (3, "width")):
        i = axis - 2
        span = dilation[i] * (kernel[i] - 1) + 1
        room = x.shape[axis] + 2 * padding[i]
        if span > room:
            raise ValueError(
                f"{layer!r}: kernel {name} {span} is larger than the padded input {name} {room} "
                f"(input shape {x.shape}, padding {padding}); use a smaller kernel or more "
                "padding"
            )


class Conv2d(Module):
    """2-D convolution (cross-correlation, as in PyTorch) over (N, C, H, W) inputs.

    Weight shape ``(out_channels, in_channels // groups, kH, kW)``; initialised as in PyTorch:
    ``kaiming_uniform_(a=sqrt(5))`` and the bias by U(±1/sqrt(fan_in)).

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and the output.
    kernel_size, stride, padding, dilation
        Ints or ``(h, w)`` pairs, as for :func:`axoncl.conv2d`.
    groups
        Independent channel blocks; both channel counts must divide by it.
    bias
        Learn an ``(out_channels,)`` bias.
    dtype
        The parameters' dtype.
    generator
        The source of the initial weights (default: the global one).

    Raises
    ------
    ValueError
        When ``in_channels`` or ``out_channels`` is not divisible by ``groups``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> conv = nn.Conv2d(1, 4, kernel_size=3, padding=1)
    >>> conv(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape   # doctest: +SKIP
    (2, 4, 8, 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        dtype: str = "float32",
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        groups = positive_int(groups, "groups", "Conv2d")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels ({in_channels}) and out_channels "
                f"({out_channels}) must be divisible by groups ({groups})"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = _pair(stride, "stride", "Conv2d")
        self.padding = _pair(padding, "padding", "Conv2d")
        self.dilation = _pair(dilation, "dilation", "Conv2d")
        self.groups = int(groups)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = empty_parameter(shape, dtype)
        if bias:
            self.bias = empty_parameter((self.out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Any) -> Variable:
        x = as_input(x)
        check_nchw(self, x, self.in_channels)
        check_window(self, x, self.kernel_size, self.padding, self.dilation)
        return _conv_ops().conv2d(
            x,
            self.weight,
            self.bias,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
        )

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={_show(self.kernel_size)}"
        if self.stride != (1, 1):
            text += f", stride={_show(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding={_show(self.padding)}"
        if self.dilation != (1, 1):
            text += f", dilation={_show(self.dilation)}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text if self.bias is not None else text + ", bias=False"


class Conv1d(Conv2d):
    """1-D convolution over (N, C, L) inputs; weight ``(out_channels, in_channels // groups,
    kernel_size)`` as in PyTorch, initialised as :class:`Conv2d` (a height-1 kernel).

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and the output.
    kernel_size, stride, padding, dilation
        Ints, as for :func:`axoncl.conv1d`.
    groups
        Independent channel blocks; both channel counts must divide by it.
    bias
        Learn an ``(out_channels,)`` bias.
    dtype
        The parameters' dtype.
    generator
        The source of the initial weights (default: the global one).

    Raises
    ------
    TypeError
        When ``kernel_size``, ``stride``, ``padding`` or ``dilation`` is not an int.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.Conv1d(2, 4, kernel_size=3, padding=1)(np.zeros((5, 2, 7), np.float32)).shape
    (5, 4, 7)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        dtype: str = "float32",
        generator: Generator | None = None,
    ) -> None:
        for name, value in (("kernel_size", kernel_size), ("stride", stride)):
            if not isinstance(value, int):
                raise TypeError(f"Conv1d: expected {name} as an int, got {value!r}")
        super().__init__(
            in_channels,
            out_channels,
            (1, kernel_size),
            (1, stride),
            (0, padding),
            (1, dilation),
            groups,
            bias,
            dtype=dtype,
            generator=generator,
        )
        self.weight = Parameter(self.weight.data.reshape(self.weight.shape[:2] + (kernel_size,)))

    def forward(self, x: Any) -> Variable:
        x = as_input(x)
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_channels}, L), got {x.shape}"
            )
        return _conv_ops().conv1d(
            x,
            self.weight,
            self.bias,
            stride=self.stride[1],
            padding=self.padding[1],
            dilation=self.dilation[1],
            groups=self.groups,
        )

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size[1]}"
        if self.stride[1] != 1:
            text += f", stride={self.stride[1]}"
        if self.padding[1]:
            text += f", padding={self.padding[1]}"
        return text if self.bias is not None else text + ", bias=False"


class _Pool2d(Module):
    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(kernel_size, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", name)
        self.padding = _pair(padding, "padding", name)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"{name}: padding {self.padding} must be at most half the kernel "
                f"size {self.kernel_size}"
            )

    def _checked(self, x: Any) -> Variable:
        x = as_input(x)
        check_nchw(self, x)
        check_window(self, x, self.kernel_size, self.padding)
        return x

    def extra_repr(self) -> str:
        text = f"kernel_size={_show(self.kernel_size)}"
        if self.stride != self.kernel_size:
            text += f", stride={_show(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding={_show(self.padding)}"
        return text


class MaxPool2d(_Pool2d):
    """Maximum over ``kernel_size`` windows (stride defaults to the kernel size).

    Parameters
    ----------
    kernel_size
        The window, an int or ``(kh, kw)``.
    stride
        The step between windows; ``None``: ``kernel_size``.
    padding
        Implicit ``-inf`` on each side.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.MaxPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """

    def forward(self, x: Any) -> Variable:
        x = self._checked(x)
        return _conv_ops().max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean over ``kernel_size`` windows (stride defaults to the kernel size).

    Parameters
    ----------
    kernel_size
        The window, an int or ``(kh, kw)``.
    stride
        The step between windows; ``None``: ``kernel_size``.
    padding
        Zeros added on each side (they count in the mean).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """

    def forward(self, x: Any) -> Variable:
        x = self._checked(x)
        return _conv_ops().avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed ``output_size`` (as in PyTorch's window rule).

    Parameters
    ----------
    output_size
        ``(OH, OW)``, or one int for both.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.AdaptiveAvgPool2d(1)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()
    array([[[[7.5]]]])
    """

    def __init__(self, output_size: int | tuple[int, int]) -> None:
        super().__init__()
        self.output_size = _pair(output_size, "output_size", "AdaptiveAvgPool2d")

    def forward(self, x: Any) -> Variable:
        x = as_input(x)
        check_nchw(self, x)
        return _conv_ops().adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={_show(self.output_size)}"
