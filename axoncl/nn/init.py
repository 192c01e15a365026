"""Parameter initialisation, seeded from a host :class:`Generator`.

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
from typing import Any

import numpy as np

from ..backends import namespace_of, to_backend
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


class Generator:
    """A seedable host random generator (numpy PCG64) for initialisation and dropout seeds.

    Parameters
    ----------
    seed
        Any value ``numpy.random.PCG64`` accepts; ``None`` seeds from the OS.

    Examples
    --------
    >>> Generator(0).integers(0, 10, 3).tolist() == Generator(0).integers(0, 10, 3).tolist()
    True
    """

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        """Restart the stream from ``seed``; returns ``self``."""
        self.seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    @property
    def rng(self) -> np.random.Generator:
        """The underlying ``numpy.random.Generator``."""
        return self._rng

    def integers(self, low: int, high: int, size: Any = None) -> Any:
        return self._rng.integers(low, high, size=size)

    def uniform(self, low: float, high: float, size: Any) -> np.ndarray:
        return self._rng.uniform(low, high, size=size)

    def normal(self, mean: float, std: float, size: Any) -> np.ndarray:
        return self._rng.normal(mean, std, size=size)

    def next_seed(self) -> int:
        """A fresh 31-bit seed (for a dropout mask, a data shuffle, …)."""
        return int(self._rng.integers(0, 2**31 - 1))

    def get_state(self) -> dict[str, Any]:
        return self._rng.bit_generator.state

    def set_state(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (used by layer initialisation and ``Dropout``); returns it.

    Examples
    --------
    >>> import axoncl
    >>> g = axoncl.manual_seed(0)
    >>> a = axoncl.nn.Linear(3, 2).weight.numpy()
    >>> _ = axoncl.manual_seed(0)
    >>> bool((a == axoncl.nn.Linear(3, 2).weight.numpy()).all())
    True
    """
    return default_generator.manual_seed(seed)


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


def host_dtype(dtype: Any) -> np.dtype:
    """The numpy dtype with the same name as any namespace's ``dtype`` (``torch.float32`` …)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def host_to_like(host: Any, like: Any) -> Any:
    """``host`` (a numpy array) on the backend, device and dtype of the array ``like``."""
    xp = namespace_of(like)
    host = np.asarray(host).astype(host_dtype(like.dtype), copy=False)
    device = getattr(like, "device", None)
    if device is None or callable(device) or isinstance(device, str) or _is_torch(like):
        return to_backend(host, xp)
    return to_backend(host, xp, device=device)


def _is_torch(data: Any) -> bool:
    return type(data).__module__.startswith("torch")


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
