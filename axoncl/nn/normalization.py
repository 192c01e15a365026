"""Batch normalisation with running statistics, and layer normalisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import host_to_like
from ..functions.normalization import batch_norm
from ..grad_mode import no_grad
from ..variable import Variable
from . import functional, init
from .layers import as_input, empty_parameter, positive_int
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class _BatchNorm(Module):
    _ranks: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: str = "float32",
    ) -> None:
        super().__init__()
        self.num_features = positive_int(num_features, "num_features", type(self).__name__)
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = empty_parameter((self.num_features,), dtype)
            self.bias = empty_parameter((self.num_features,), dtype)
            init.ones_(self.weight)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
            self.num_batches_tracked = 0

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            xp_mean = self.running_mean
            self.running_mean = host_to_like(np.zeros(self.num_features), xp_mean)
            self.running_var = host_to_like(np.ones(self.num_features), xp_mean)
            self.num_batches_tracked = 0

    def _check(self, x: Variable) -> None:
        name = type(self).__name__
        shapes = {2: "(N, C)", 3: "(N, C, L)", 4: "(N, C, H, W)"}
        if x.ndim not in self._ranks:
            want = " or ".join(shapes[r] for r in self._ranks)
            raise ValueError(f"{self!r}: expected input of shape {want}, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{self!r}: expected {self.num_features} channels on axis 1, got shape {x.shape}"
            )
        if self.training and x.size // x.shape[1] <= 1:
            raise ValueError(
                f"{name}: expected more than one value per channel in training "
                f"mode, got input shape {x.shape}"
            )

    def forward(self, x: Any) -> Variable:
        x = as_input(x)
        self._check(x)
        axes = (0, *range(2, x.ndim))
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        use_batch = self.training or not self.track_running_stats
        if use_batch and self.affine:  # one rule: statistics, normalisation and affine map
            stats: dict = {}
            y = batch_norm(x, self.weight, self.bias, self.eps, stats=stats)
            if self.training and self.track_running_stats:
                self._update_running(stats["mean"], stats["var"], x.size // self.num_features)
            return y
        if use_batch:
            mean = x.mean(axis=axes, keepdims=True)
            centred = x - mean
            var = (centred * centred).mean(axis=axes, keepdims=True)
            if self.training and self.track_running_stats:
                self._update_running(mean.data, var.data, x.size // self.num_features)
            x_hat = centred / (var + self.eps).sqrt()
        else:
            xp = x.xp
            mean = Variable(xp.reshape(self.running_mean, shape))
            var = Variable(xp.reshape(self.running_var, shape))
            x_hat = (x - mean) / (var + self.eps).sqrt()
        if self.affine:
            x_hat = x_hat * self.weight.reshape(shape) + self.bias.reshape(shape)
        return x_hat

    def _update_running(self, mean: Any, var: Any, count: int) -> None:
        """Exponential moving averages, on raw arrays (no graph, no host read); the running
        variance uses the unbiased batch variance, as in PyTorch."""
        with no_grad():
            from ..backends import namespace_of, primitives

            xp = namespace_of(mean)
            self.num_batches_tracked += 1
            m = 1.0 / self.num_batches_tracked if self.momentum is None else float(self.momentum)
            self.running_mean, self.running_var = primitives.batch_norm_running(
                self.running_mean, self.running_var, mean, var, momentum=m, count=count, xp=xp
            )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs, per channel C.

    Training mode normalises with the batch's mean and (biased) variance and updates the
    running estimates; eval mode uses the running estimates.

    Parameters
    ----------
    num_features
        The number of channels C.
    eps
        Added to the variance.
    momentum
        Weight of the new batch in the running estimates; ``None``: a cumulative average.
    affine
        Learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
    track_running_stats
        Keep ``running_mean`` and ``running_var``; without them eval mode uses batch statistics.
    dtype
        The parameters' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> bn = nn.BatchNorm1d(2)
    >>> bn(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)).numpy().round(4)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    >>> bn.running_mean.round(4)       # a buffer: 0.9 * 0 + 0.1 * the batch mean
    array([0.2, 0.4], dtype=float32)
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) inputs, per channel C.

    Parameters
    ----------
    num_features, eps, momentum, affine, track_running_stats, dtype
        As for :class:`BatchNorm1d`.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.BatchNorm2d(3)(np.ones((2, 3, 4, 4), np.float32)).shape
    (2, 3, 4, 4)
    """

    _ranks = (4,)


class LayerNorm(Module):
    """Normalisation over the last axes (``normalized_shape``) of each sample, with a learned
    elementwise scale (``weight``, ones) and shift (``bias``, zeros), as in PyTorch.

    Parameters
    ----------
    normalized_shape
        The trailing shape normalised over (an int for one axis).
    eps
        Added to the variance.
    elementwise_affine
        Learn ``weight`` (and ``bias``); ``False``: neither.
    bias
        With ``elementwise_affine``, learn ``bias`` too.
    dtype
        The parameters' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.LayerNorm(4)(np.ones((2, 3, 4))).shape
    (2, 3, 4)
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: str = "float32",
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = float(eps)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = empty_parameter(self.normalized_shape, dtype)
            init.ones_(self.weight)
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = empty_parameter(self.normalized_shape, dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Variable:
        return functional.layer_norm(
            as_input(x), self.normalized_shape, self.weight, self.bias, self.eps
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
