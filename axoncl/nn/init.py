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
    """The recommended gain for ``nonlinearity``, as in PyTorch.

    Parameters
    ----------
    nonlinearity : str
        ``"linear"``, ``"identity"``, ``"conv1d"``/``"conv2d"``/``"conv3d"``, ``"sigmoid"``
        (gain 1), ``"tanh"``, ``"relu"``, ``"leaky_relu"`` or ``"selu"``.
    param : float or None
        The negative slope of ``leaky_relu`` (default 0.01).

    Returns
    -------
    float
        The gain.

    Raises
    ------
    ValueError
        When ``nonlinearity`` is unknown.

    Examples
    --------
    >>> from axoncl import nn
    >>> nn.init.calculate_gain("relu"), nn.init.calculate_gain("tanh")
    (1.4142135623730951, 1.6666666666666667)
    """
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
    """Fill with U(a, b).

    Parameters
    ----------
    tensor : Variable
        The array to fill, in place (usually a ``Parameter``); any backend.
    a, b : float
        The interval's ends.
    generator : Generator or None
        The source of random numbers; ``None``: the global one (``axoncl.manual_seed``).

    Returns
    -------
    Variable
        ``tensor``, filled.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> w = nn.Parameter(np.zeros((300, 200), np.float32))
    >>> w = nn.init.uniform_(w, -1.0, 1.0)
    >>> bool(w.numpy().min() >= -1.0 and w.numpy().max() <= 1.0)
    True
    """
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape))


def normal_(
    tensor: Variable, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Variable:
    """Fill with N(mean, std²).

    Parameters
    ----------
    tensor : Variable
        The array to fill, in place (usually a ``Parameter``); any backend.
    mean, std : float
        The distribution's mean and standard deviation.
    generator : Generator or None
        The source of random numbers; ``None``: the global one (``axoncl.manual_seed``).

    Returns
    -------
    Variable
        ``tensor``, filled.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> w = nn.Parameter(np.zeros((300, 200), np.float32))
    >>> w = nn.init.normal_(w, mean=1.0, std=0.5)
    >>> round(float(w.numpy().mean()), 1), round(float(w.numpy().std()), 1)
    (1.0, 0.5)
    """
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape))


def zeros_(tensor: Variable) -> Variable:
    """Fill with 0.

    Parameters
    ----------
    tensor : Variable
        The array to fill, in place (usually a ``Parameter``); any backend.

    Returns
    -------
    Variable
        ``tensor``, filled.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> w = nn.Parameter(np.zeros((300, 200), np.float32))
    >>> nn.init.zeros_(w) is w, float(w.numpy().sum())
    (True, 0.0)
    """
    return _fill(tensor, np.zeros(tensor.shape))


def ones_(tensor: Variable) -> Variable:
    """Fill with 1.

    Parameters
    ----------
    tensor : Variable
        The array to fill, in place (usually a ``Parameter``); any backend.

    Returns
    -------
    Variable
        ``tensor``, filled.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> w = nn.Parameter(np.zeros((300, 200), np.float32))
    >>> nn.init.ones_(w) is w, float(w.numpy().sum())
    (True, 60000.0)
    """
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
    """Fill with U(-b, b), b = gain · sqrt(3 / fan) (He et al., 2015).

    Parameters
    ----------
    tensor : Variable
        The array to fill, in place (usually a ``Parameter``); any backend.
    a : float
        The negative slope for ``leaky_relu``.
    mode : str
        ``"fan_in"`` or ``"fan_out"``.
    nonlinearity : str
        The activation after the layer, for :func:`calculate_gain`.
    generator : Generator or None
        The source of random numbers; ``None``: the global one (``axoncl.manual_seed``).

    Returns
    -------
    Variable
        ``tensor``, filled.

    Raises
    ------
    ValueError
        When ``tensor`` has fewer than 2 dimensions (no fan in and fan out).
    ValueError
        When ``mode`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> w = nn.Parameter(np.zeros((300, 200), np.float32))
    >>> w = nn.init.kaiming_uniform_(w, nonlinearity="relu")
    >>> bool(np.abs(w.numpy()).max() <= np.sqrt(6 / 200))
    True
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Variable,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Variable:
    """Fill with N(0, std²), std = gain / sqrt(fan).

    Parameters
    ----------
    tensor : Variable
        The array to fill, in place (usually a ``Parameter``); any backend.
    a : float
        The negative slope for ``leaky_relu``.
    mode : str
        ``"fan_in"`` (keeps the forward's variance) or ``"fan_out"`` (the backward's).
    nonlinearity : str
        The activation after the layer, for :func:`calculate_gain`.
    generator : Generator or None
        The source of random numbers; ``None``: the global one (``axoncl.manual_seed``).

    Returns
    -------
    Variable
        ``tensor``, filled.

    Raises
    ------
    ValueError
        When ``tensor`` has fewer than 2 dimensions (no fan in and fan out).
    ValueError
        When ``mode`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> w = nn.Parameter(np.zeros((300, 200), np.float32))
    >>> w = nn.init.kaiming_normal_(w, nonlinearity="relu")
    >>> round(float(w.numpy().std()), 2)   # sqrt(2 / fan_in) = 0.1
    0.1
    """
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def xavier_uniform_(
    tensor: Variable, gain: float = 1.0, generator: Generator | None = None
) -> Variable:
    """Fill with U(-b, b), b = gain · sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    Parameters
    ----------
    tensor : Variable
        The array to fill, in place (usually a ``Parameter``); any backend.
    gain : float
        Scales the bound.
    generator : Generator or None
        The source of random numbers; ``None``: the global one (``axoncl.manual_seed``).

    Returns
    -------
    Variable
        ``tensor``, filled.

    Raises
    ------
    ValueError
        When ``tensor`` has fewer than 2 dimensions (no fan in and fan out).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> w = nn.Parameter(np.zeros((300, 200), np.float32))
    >>> w = nn.init.xavier_uniform_(w)
    >>> bool(np.abs(w.numpy()).max() <= np.sqrt(6 / 500))
    True
    """
    fan_in, fan_out = _fans(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(
    tensor: Variable, gain: float = 1.0, generator: Generator | None = None
) -> Variable:
    """Fill with N(0, std²), std = gain · sqrt(2 / (fan_in + fan_out)).

    Parameters
    ----------
    tensor : Variable
        The array to fill, in place (usually a ``Parameter``); any backend.
    gain : float
        Scales the standard deviation.
    generator : Generator or None
        The source of random numbers; ``None``: the global one (``axoncl.manual_seed``).

    Returns
    -------
    Variable
        ``tensor``, filled.

    Raises
    ------
    ValueError
        When ``tensor`` has fewer than 2 dimensions (no fan in and fan out).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> w = nn.Parameter(np.zeros((300, 200), np.float32))
    >>> w = nn.init.xavier_normal_(w)
    >>> round(float(w.numpy().std()), 3)   # sqrt(2 / (200 + 300))
    0.063
    """
    fan_in, fan_out = _fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)
