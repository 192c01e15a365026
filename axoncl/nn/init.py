"""Parameter initialisation, seeded from a host :class:`~axoncl.random.Generator`.

Values are drawn on the host with numpy's PCG64 and then moved to the parameter's backend (and
device). Initialisation happens once per model, so the one host-to-device copy is cheap and the
same seed gives the same weights on every backend.

Examples
--------
>>> import numpy as np
>>> from axoncl import nn
>>> w = nn.Parameter(np.zeros((4, 3)))
>>> _ = nn.init.kaiming_uniform_(w, a=5 ** 0.5, generator=nn.init.Generator(0))
>>> bool(abs(w.numpy()).max() <= 1 / 3 ** 0.5)
True
"""

from __future__ import annotations

import math

import numpy as np

from ..backends import host_dtype, host_to_like  # noqa: F401 - host_dtype: re-exported
from ..random import Generator, default_generator, manual_seed
from ..variable import Variable

__all__ = [
    "Generator",
    "calculate_gain",
    "default_generator",
    "kaiming_normal_",
    "kaiming_uniform_",
    "manual_seed",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(
            f"init: fan in and fan out need a value with at least 2 dimensions, got shape {shape}"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity``, as in PyTorch."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _fill(tensor: Variable, host: np.ndarray) -> Variable:
    """Replace ``tensor.data`` with ``host`` on the tensor's backend, device and dtype."""
    tensor.data = host_to_like(host, tensor.data)
    return tensor


def _gen(generator: Generator | None) -> Generator:
    return default_generator if generator is None else generator


def uniform_(
    tensor: Variable, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Variable:
    """Fill with U(a, b)."""
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape))


def normal_(
    tensor: Variable, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Variable:
    """Fill with N(mean, std²)."""
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape))


def zeros_(tensor: Variable) -> Variable:
    """Fill with 0."""
    return _fill(tensor, np.zeros(tensor.shape))


def ones_(tensor: Variable) -> Variable:
    """Fill with 1."""
    return _fill(tensor, np.ones(tensor.shape))


def _kaiming_std(tensor: Variable, a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = _fans(tensor.shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: expected mode 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Variable,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Variable:
    """Fill with U(-b, b), b = gain · sqrt(3 / fan) (He et al., 2015)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Variable,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Variable:
    """Fill with N(0, std²), std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def xavier_uniform_(
    tensor: Variable, gain: float = 1.0, generator: Generator | None = None
) -> Variable:
    """Fill with U(-b, b), b = gain · sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(
    tensor: Variable, gain: float = 1.0, generator: Generator | None = None
) -> Variable:
    """Fill with N(0, std²), std = gain · sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)
