"""Dense layers, activations, dropout, flatten and ``Sequential``."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import functions as F
from ..graph import _TRACK_MODULES
from ..random import Generator, default_generator
from ..variable import Variable
from . import init
from .module import Module, Parameter

__all__ = [
    "GELU",
    "Dropout",
    "Flatten",
    "Identity",
    "Linear",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
]


def as_input(x: Any) -> Variable:
    """Layers accept Variables or raw arrays."""
    return x if isinstance(x, Variable) else Variable(x)


def positive_int(value: Any, arg: str, layer: str) -> int:
    """``value`` as an int >= 1, or an error naming the layer and the argument
    (``Linear(2.5, 3)`` must not quietly become ``Linear(2, 3)``)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{layer}: expected an integer {arg}, got {value!r}")
    if value < 1:
        raise ValueError(f"{layer}: expected {arg} >= 1, got {value}")
    return int(value)


def empty_parameter(shape: tuple[int, ...], dtype: str) -> Parameter:
    """A host parameter of ``shape`` to be filled by an ``init`` function."""
    return Parameter(np.zeros(shape, dtype=np.dtype(dtype)))


class Linear(Module):
    """``y = x Wᵀ + b`` with ``W`` of shape ``(out_features, in_features)``.

    Initialised as in PyTorch: ``W`` by ``kaiming_uniform_(a=sqrt(5))``, i.e. U(±1/sqrt(in)),
    and ``b`` by U(±1/sqrt(in)).

    Parameters
    ----------
    in_features, out_features
        Sizes of the last axis of the input and of the output.
    bias
        Whether to add a learned bias.
    dtype
        Parameter dtype name (parameters start on numpy; move them with ``.to("opencl")``).
    generator
        The :class:`~axoncl.nn.Generator` for initialisation (default: the global one).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.Linear(4, 3)(np.ones((2, 4), dtype=np.float32)).shape
    (2, 3)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: str = "float32",
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        self.weight = empty_parameter((self.out_features, self.in_features), dtype)
        self.bias = empty_parameter((self.out_features,), dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Any) -> Variable:
        x = as_input(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (*, {self.in_features}), got shape {x.shape}"
            )
        return F.linear(x, self.weight, self.bias)

    def _forward_relu(self, x: Any) -> Variable:
        """``relu(self(x))`` as one op (the bias and the ReLU in the GEMM's epilogue, the mask
        in its backward), for :class:`Sequential`."""
        x = as_input(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            return self.forward(x)  # the usual error
        return F.linear(x, self.weight, self.bias, activation="relu")

    def extra_repr(self) -> str:
        text = f"in_features={self.in_features}, out_features={self.out_features}"
        return text if self.bias is not None else text + ", bias=False"


class Identity(Module):
    """Returns its input.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> x = np.array([1.0, 2.0])
    >>> nn.Identity()(x) is x
    True
    """

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flattens axes ``start_dim`` … ``end_dim`` into one (by default all but the batch axis).

    Parameters
    ----------
    start_dim, end_dim
        The first and last axes joined (negative values count from the end).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.Flatten()(np.ones((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Any) -> Variable:
        return F.flatten(as_input(x), self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class ReLU(Module):
    """``max(x, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.ReLU()(np.array([-1.0, 2.0])).numpy()
    array([0., 2.])
    """

    def forward(self, x: Any) -> Variable:
        return F.relu(as_input(x))


class GELU(Module):
    """``x Φ(x)``; ``approximate="tanh"`` for the tanh formula.

    Parameters
    ----------
    approximate
        ``"none"`` (the erf form) or ``"tanh"``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.GELU()(np.array([0.0, 1.0])).numpy().round(4)
    array([0.    , 0.8413])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Any) -> Variable:
        return F.gelu(as_input(x), approximate=self.approximate)

    def extra_repr(self) -> str:
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """``1 / (1 + e^-x)``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.Sigmoid()(np.array([0.0])).numpy()
    array([0.5])
    """

    def forward(self, x: Any) -> Variable:
        return F.sigmoid(as_input(x))


class Tanh(Module):
    """Hyperbolic tangent.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.Tanh()(np.array([0.0])).numpy()
    array([0.])
    """

    def forward(self, x: Any) -> Variable:
        return F.tanh(as_input(x))


class Dropout(Module):
    """Zeroes each element with probability ``p`` in training mode and scales the rest by
    ``1 / (1 - p)``; the identity in eval mode.

    Each call draws a fresh mask seed from the module's own generator, which is seeded from
    ``seed`` or, when that is None, from the global generator (``axoncl.manual_seed``) at
    construction. So the same seed gives the same masks, call after call, on every backend
    whose ``dropout`` draws the same mask for the same seed.

    Parameters
    ----------
    p
        The drop probability, in ``[0, 1]``.
    seed
        Seeds the module's generator; ``None``: drawn from the global generator.

    Raises
    ------
    ValueError
        When ``p`` is outside ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> drop = nn.Dropout(0.5, seed=0)
    >>> sorted(set(drop(np.ones(8, np.float32)).numpy().tolist()))   # dropped or doubled
    [0.0, 2.0]
    >>> _ = drop.eval()
    >>> drop(np.ones(3, np.float32)).numpy()
    array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, p: float = 0.5, *, seed: int | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: expected p in [0, 1], got {p}")
        self.p = float(p)
        self.generator = Generator(default_generator.next_seed() if seed is None else seed)

    def forward(self, x: Any) -> Variable:
        x = as_input(x)
        if not self.training or self.p == 0.0:
            return x
        from ..functions.conv import dropout

        return dropout(x, self.p, training=True, seed=self.generator.next_seed())

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied in order.

    Parameters
    ----------
    modules
        Modules registered under ``"0"``, ``"1"``, …, or one ``OrderedDict`` of named modules.

    Examples
    --------
    >>> from axoncl import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[index][1]

    def forward(self, x: Any) -> Any:
        """The modules in order (:func:`run_modules`: a Linear followed by a ReLU is one op)."""
        return run_modules(list(self._modules.values()), x)


def run_modules(modules: list[Any], x: Any) -> Any:
    """``x`` through ``modules`` in order, as :class:`Sequential` runs them.

    A :class:`Linear` followed by a :class:`ReLU` (neither subclassed nor hooked) runs as one
    fused op, the ReLU applied in the product's epilogue and its mask in the same backward
    rule: the values and gradients of the two modules, with one kernel launch, one graph node
    and one saved activation fewer. Under the graph inspector's module tracking every module
    runs on its own, so that the graph shows them as written.
    """
    if _TRACK_MODULES[0]:
        for module in modules:
            x = module(x)
        return x
    i, n = 0, len(modules)
    while i < n:
        module = modules[i]
        if (
            i + 1 < n
            and type(module) is Linear
            and type(modules[i + 1]) is ReLU
            and not module._forward_hooks
            and not modules[i + 1]._forward_hooks
        ):
            x = module._forward_relu(x)
            i += 2
        else:
            x = module(x)
            i += 1
    return x
