"""Multi-head attention (the function lives in ``nn/functional.py``)."""

from __future__ import annotations

import math
from typing import Any

from ..backends import device_kwargs
from ..random import Generator, default_generator
from ..variable import Variable
from . import functional, init
from .layers import Linear, as_input, empty_parameter
from .module import Module

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's parameters and conventions.

    Parameters (named as in ``torch.nn.MultiheadAttention``, so ``state_dict`` keys match):
    ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) project query, key and value;
    ``out_proj.weight`` and ``out_proj.bias`` project the joined heads. Key and value must have
    the embedding size E (no ``kdim``/``vdim``).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``; ``weights``
    is None unless ``need_weights``. Inputs are (L, N, E), or (N, L, E) with ``batch_first``,
    or unbatched (L, E). As in PyTorch's module, a boolean ``attn_mask`` or
    ``key_padding_mask`` marks with True the positions that may **not** be attended; a float
    mask is added to the scores. ``is_causal=True`` without a mask builds the causal mask.

    Parameters
    ----------
    embed_dim
        The embedding size E of query, key and value.
    num_heads
        Heads; each has ``E // num_heads`` features.
    dropout
        Dropout on the attention weights, in training mode.
    bias
        Learn ``in_proj_bias`` and ``out_proj.bias``.
    batch_first
        Inputs and outputs are (N, L, E) instead of (L, N, E).
    dtype
        The parameters' dtype.
    generator, seed
        The source of the initial weights and of the dropout masks.

    Raises
    ------
    ValueError
        When ``embed_dim`` is not divisible by ``num_heads``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> out, w = mha(np.ones((3, 5, 8)), np.ones((3, 5, 8)), np.ones((3, 5, 8)))
    >>> out.shape, w.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        *,
        dtype: str = "float32",
        generator: Generator | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim {embed_dim} is not divisible by num_heads "
                f"{num_heads}"
            )
        self.embed_dim = int(embed_dim)
        self.num_heads = int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.in_proj_weight = empty_parameter((3 * self.embed_dim, self.embed_dim), dtype)
        if bias:
            self.in_proj_bias = empty_parameter((3 * self.embed_dim,), dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, dtype=dtype)
        self.generator = Generator(default_generator.next_seed() if seed is None else seed)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """As in PyTorch: Xavier-uniform projections in, zero biases."""
        init.xavier_uniform_(self.in_proj_weight, generator=generator)
        self.out_proj.reset_parameters(generator)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _mask(self, attn_mask: Any, key_padding_mask: Any, like: Variable, batch: int) -> Any:
        """One float mask (0 or −inf, or the given floats) broadcasting to (N, H, L, S)."""
        xp = like.xp
        out = None
        for mask, shape in ((attn_mask, None), (key_padding_mask, (batch, 1, 1, -1))):
            if mask is None:
                continue
            raw = mask.data if isinstance(mask, Variable) else mask
            if xp.isdtype(raw.dtype, "bool"):
                zeros = xp.zeros(
                    raw.shape, dtype=like.dtype, **device_kwargs(getattr(like.data, "device", None))
                )
                raw = xp.where(raw, zeros - math.inf, zeros)
            else:
                raw = xp.astype(raw, like.dtype)
            if shape is not None:
                raw = xp.reshape(raw, shape)
            elif raw.ndim == 3:  # (N·H, L, S), as PyTorch takes it
                raw = xp.reshape(raw, (batch, self.num_heads) + tuple(raw.shape[1:]))
            out = raw if out is None else out + raw
        return out

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Variable, Variable | None]:
        q, k, v = as_input(query), as_input(key), as_input(value)
        unbatched = q.ndim == 2
        if unbatched:
            q, k, v = q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = as_input(key_padding_mask).unsqueeze(0)
        elif self.batch_first:
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        if q.ndim != 3 or q.shape[-1] != self.embed_dim or k.shape != v.shape:
            raise ValueError(
                f"{self!r}: expected query, key and value of shape (L, N, {self.embed_dim}) "
                f"(or (N, L, E) with batch_first), key and value alike; got {q.shape}, "
                f"{k.shape} and {v.shape}"
            )
        length, batch, embed = q.shape
        source = k.shape[0]
        heads, head_dim = self.num_heads, self.head_dim
        w = self.in_proj_weight
        b = self.in_proj_bias
        e = self.embed_dim

        def project(x: Variable, part: int, n: int) -> Variable:
            bias = None if b is None else b[part * e : (part + 1) * e]
            y = functional.linear(x, w[part * e : (part + 1) * e], bias)  # (n, N, E)
            return y.reshape((n, batch, heads, head_dim)).permute(1, 2, 0, 3)  # (N, H, n, d)

        qh, kh, vh = project(q, 0, length), project(k, 1, source), project(v, 2, source)
        causal = is_causal and attn_mask is None
        if causal and (need_weights or key_padding_mask is not None):
            attn_mask = q.xp.logical_not(functional.causal_mask(length, source, q))
            causal = False
        mask = self._mask(attn_mask, key_padding_mask, q, batch)
        p = self.dropout if self.training else 0.0
        seed = self.generator.next_seed() if p > 0.0 else None
        if need_weights:
            scores = (qh @ kh.mT) * (1.0 / math.sqrt(head_dim))
            if mask is not None:
                scores = scores + Variable(mask)
            weights = functional.softmax(scores, axis=-1)
            dropped = weights if p == 0.0 else functional.dropout(weights, p, seed=seed)
            heads_out = dropped @ vh
        else:  # no weights to return: the function, fused where the backend has kernels
            heads_out = functional.scaled_dot_product_attention(
                qh, kh, vh, mask, dropout_p=p, is_causal=causal, seed=seed
            )
        out = heads_out.permute(2, 0, 1, 3).reshape((length, batch, embed))
        out = self.out_proj(out)
        if unbatched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        if unbatched:
            weights = weights.squeeze(0)
        return out, weights

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text + (", batch_first=True" if self.batch_first else "")
