"""``Embedding``: a lookup table of learned vectors."""

from __future__ import annotations

from typing import Any

from ..backends import host_to_like
from ..random import Generator
from ..variable import Variable
from . import functional, init
from .layers import empty_parameter
from .module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by integer indices.

    Initialised from N(0, 1) as in PyTorch; the ``padding_idx`` row starts at zero and gets
    no gradient.

    Parameters
    ----------
    num_embeddings
        The number of rows.
    embedding_dim
        The size of each row.
    padding_idx
        A row that starts at zero and gets no gradient (negative counts from the end).
    dtype
        The weight's dtype.
    generator
        The source of the initial weights (default: the global one).

    Raises
    ------
    ValueError
        When ``padding_idx`` is out of range for ``num_embeddings``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.Embedding(10, 4)(np.array([[1, 2, 3]])).shape
    (1, 3, 4)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        dtype: str = "float32",
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} rows"
            )
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = empty_parameter((self.num_embeddings, self.embedding_dim), dtype)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            host = self.weight.numpy()
            host[self.padding_idx] = 0.0
            self.weight.data = host_to_like(host, self.weight.data)

    def forward(self, indices: Any) -> Variable:
        return functional.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
