"""Recurrent layers: ``LSTM`` and ``GRU`` (one direction, one or more layers)."""

from __future__ import annotations

import math
from typing import Any

from .. import functions as F
from ..backends import device_kwargs
from ..random import Generator, default_generator
from ..variable import Variable
from . import init
from .layers import as_input, empty_parameter
from .module import Module

__all__ = ["GRU", "LSTM"]


class _RNNBase(Module):
    """Parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``
    per layer, as in PyTorch (gates stacked on the first axis); all drawn from
    U(±1/sqrt(hidden_size))."""

    _gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        dtype: str = "float32",
        generator: Generator | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if bidirectional:
            raise NotImplementedError(f"{name}: bidirectional=True is not implemented")
        if num_layers < 1 or hidden_size < 1:
            raise ValueError(
                f"{name}: expected num_layers >= 1 and hidden_size >= 1, got {num_layers} "
                f"and {hidden_size}"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: expected dropout in [0, 1], got {dropout}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.generator = Generator(default_generator.next_seed() if seed is None else seed)
        rows = self._gates * self.hidden_size
        for layer in range(self.num_layers):
            fan = self.input_size if layer == 0 else self.hidden_size
            setattr(self, f"weight_ih_l{layer}", empty_parameter((rows, fan), dtype))
            setattr(self, f"weight_hh_l{layer}", empty_parameter((rows, self.hidden_size), dtype))
            if self.bias:
                setattr(self, f"bias_ih_l{layer}", empty_parameter((rows,), dtype))
                setattr(self, f"bias_hh_l{layer}", empty_parameter((rows,), dtype))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound, generator=generator)

    def _layer(self, layer: int) -> tuple[Variable, Variable, Variable | None, Variable | None]:
        get = self._parameters.get
        return (
            get(f"weight_ih_l{layer}"),
            get(f"weight_hh_l{layer}"),
            get(f"bias_ih_l{layer}"),
            get(f"bias_hh_l{layer}"),
        )

    def _sequence(self, x: Any) -> tuple[Variable, bool]:
        """The input as (T, N, input_size), and whether it came unbatched."""
        x = as_input(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self!r}: expected input of shape (T, N, {self.input_size}) (or (N, T, "
                f"{self.input_size}) with batch_first, or (T, {self.input_size})), "
                f"got shape {x.shape}"
            )
        if x.ndim == 2:
            return x.unsqueeze(1), True
        return (x.transpose(0, 1) if self.batch_first else x), False

    def _initial(self, hx: Any, x: Variable, unbatched: bool) -> Variable:
        shape = (self.num_layers, x.shape[1], self.hidden_size)
        if hx is None:
            xp = x.xp
            return Variable(
                xp.zeros(shape, dtype=x.dtype, **device_kwargs(getattr(x.data, "device", None)))
            )
        hx = as_input(hx)
        if unbatched:
            hx = hx.unsqueeze(1)
        if hx.shape != shape:
            raise ValueError(f"{self!r}: expected a hidden state of shape {shape}, got {hx.shape}")
        return hx

    def _between_layers(self, out: Variable, layer: int) -> Variable:
        if self.training and self.dropout > 0.0 and layer < self.num_layers - 1:
            return F.dropout(out, self.dropout, seed=self.generator.next_seed())
        return out

    def _output(self, out: Variable, unbatched: bool) -> Variable:
        if unbatched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        return text + (f", dropout={self.dropout}" if self.dropout else "")


class LSTM(_RNNBase):
    """Long short-term memory, with PyTorch's gate order (input, forget, cell, output).

    ``forward(input, hx=None)`` returns ``(output, (h_n, c_n))``: ``output`` (T, N, H) (or
    (N, T, H) with ``batch_first``) holds the last layer's hidden state at each step;
    ``h_n`` and ``c_n`` are (num_layers, N, H). ``hx`` is ``(h_0, c_0)`` or None (zeros).

    Parameters
    ----------
    input_size, hidden_size
        Features of each input step and of the hidden state.
    num_layers
        Stacked layers; each takes the previous one's output sequence.
    bias
        Learn ``bias_ih_l*`` and ``bias_hh_l*``.
    batch_first
        Inputs and outputs are (N, T, features) instead of (T, N, features).
    dropout
        Dropout on each layer's output except the last, in training mode.
    bidirectional
        Also run each layer backwards; outputs concatenate the two directions (2 H).
    dtype
        The parameters' dtype.
    generator, seed
        The source of the initial weights (uniform in ``±1/sqrt(hidden_size)``).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> lstm = nn.LSTM(3, 5, num_layers=2, batch_first=True)
    >>> out, (h, c) = lstm(np.ones((4, 7, 3), dtype=np.float32))
    >>> out.shape, h.shape
    ((4, 7, 5), (2, 4, 5))
    """

    _gates = 4

    def forward(self, x: Any, hx: Any = None) -> tuple[Variable, tuple[Variable, Variable]]:
        seq, unbatched = self._sequence(x)
        h0 = self._initial(None if hx is None else hx[0], seq, unbatched)
        c0 = self._initial(None if hx is None else hx[1], seq, unbatched)
        size = self.hidden_size
        out = seq
        h_last, c_last = [], []
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer(layer)
            inputs = F.linear(out, w_ih, b_ih)  # every step's input part at once
            h, c = h0[layer], c0[layer]
            steps = []
            for t in range(seq.shape[0]):
                gates = inputs[t] + F.linear(h, w_hh, b_hh)
                i = gates[:, :size].sigmoid()
                f = gates[:, size : 2 * size].sigmoid()
                g = gates[:, 2 * size : 3 * size].tanh()
                o = gates[:, 3 * size :].sigmoid()
                c = f * c + i * g
                h = o * c.tanh()
                steps.append(h)
            out = self._between_layers(F.stack(steps, axis=0), layer)
            h_last.append(h)
            c_last.append(c)
        h_n, c_n = F.stack(h_last, axis=0), F.stack(c_last, axis=0)
        if unbatched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._output(out, unbatched), (h_n, c_n)


class GRU(_RNNBase):
    """Gated recurrent unit, with PyTorch's gate order (reset, update, new) and its form of the
    new gate, ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``.

    ``forward(input, hx=None)`` returns ``(output, h_n)``, shaped as for :class:`LSTM`.

    Parameters
    ----------
    input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional
        As for :class:`LSTM`.
    dtype
        The parameters' dtype.
    generator, seed
        The source of the initial weights (uniform in ``±1/sqrt(hidden_size)``).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> out, h = nn.GRU(3, 5, batch_first=True)(np.ones((4, 7, 3), np.float32))
    >>> out.shape, h.shape
    ((4, 7, 5), (1, 4, 5))
    """

    _gates = 3

    def forward(self, x: Any, hx: Any = None) -> tuple[Variable, Variable]:
        seq, unbatched = self._sequence(x)
        h0 = self._initial(hx, seq, unbatched)
        size = self.hidden_size
        out = seq
        h_last = []
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer(layer)
            inputs = F.linear(out, w_ih, b_ih)
            h = h0[layer]
            steps = []
            for t in range(seq.shape[0]):
                gx = inputs[t]
                gh = F.linear(h, w_hh, b_hh)
                r = (gx[:, :size] + gh[:, :size]).sigmoid()
                z = (gx[:, size : 2 * size] + gh[:, size : 2 * size]).sigmoid()
                n = (gx[:, 2 * size :] + r * gh[:, 2 * size :]).tanh()
                h = (1.0 - z) * n + z * h
                steps.append(h)
            out = self._between_layers(F.stack(steps, axis=0), layer)
            h_last.append(h)
        h_n = F.stack(h_last, axis=0)
        if unbatched:
            h_n = h_n.squeeze(1)
        return self._output(out, unbatched), h_n
