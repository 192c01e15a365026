"""Channel dropout layers: ``Dropout1d`` and ``Dropout2d``."""

from __future__ import annotations

from typing import Any

from ..variable import Variable
from . import functional
from .layers import Dropout, as_input

__all__ = ["Dropout1d", "Dropout2d"]


class _ChannelDropout(Dropout):
    _function = staticmethod(functional.dropout1d)

    def forward(self, x: Any) -> Variable:
        x = as_input(x)
        if not self.training or self.p == 0.0:
            return x
        return self._function(x, self.p, training=True, seed=self.generator.next_seed())


class Dropout1d(_ChannelDropout):
    """Zeroes whole channels of (N, C, L) input with probability ``p`` in training mode (the
    rest scaled by ``1 / (1 - p)``); seeded like :class:`~axoncl.nn.Dropout`.

    Parameters
    ----------
    p, seed
        As for :class:`Dropout`.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> y = nn.Dropout1d(0.5, seed=0)(np.ones((1, 4, 3), np.float32)).numpy()
    >>> all(len(set(channel.tolist())) == 1 for channel in y[0])   # whole channels
    True
    """


class Dropout2d(_ChannelDropout):
    """Zeroes whole channels of (N, C, H, W) input with probability ``p`` in training mode.

    Parameters
    ----------
    p, seed
        As for :class:`Dropout`.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> y = nn.Dropout2d(0.5, seed=0)(np.ones((1, 4, 2, 2), np.float32)).numpy()
    >>> all(len(set(channel.ravel().tolist())) == 1 for channel in y[0])   # whole channels
    True
    """

    _function = staticmethod(functional.dropout2d)
