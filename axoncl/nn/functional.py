"""Layers as functions, in the spirit of ``torch.nn.functional``.

The ops that exist in ``axoncl.functions`` are re-exported as they are (their arguments keep
axoncl's names: ``axis``, not ``dim``); the rest (``layer_norm``, ``embedding``,
``scaled_dot_product_attention``, channel dropout) are built here from those ops, so their
gradients need no rule of their own.

Examples
--------
>>> import numpy as np
>>> from axoncl.nn import functional as F
>>> F.layer_norm(np.arange(6.0).reshape(2, 3), (3,)).numpy().round(4)
array([[-1.2247,  0.    ,  1.2247],
       [-1.2247,  0.    ,  1.2247]])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..autocast import to_float32
from ..backends import device_kwargs, primitives
from ..functions import (
    adaptive_avg_pool2d,
    avg_pool2d,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv1d,
    conv2d,
    cross_entropy,
    dot_product_attention,
    dropout,
    elu,
    gelu,
    l1_loss,
    leaky_relu,
    linear,
    log_softmax,
    max_pool2d,
    mse_loss,
    nll_loss,
    norm,
    one_hot,
    pad,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
    where,
)
from ..functions._util import as_variable, check_attention
from ..variable import Variable

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "causal_mask",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "dropout1d",
    "dropout2d",
    "elu",
    "embedding",
    "gelu",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Variable) else x


def layer_norm(
    x: Any,
    normalized_shape: int | Sequence[int],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Variable:
    """Normalise over the last ``len(normalized_shape)`` axes with the biased variance, then
    scale by ``weight`` and shift by ``bias`` (both of ``normalized_shape``), as in PyTorch.
    Under autocast it runs in float32.

    Parameters
    ----------
    x
        ``(*, *normalized_shape)``.
    normalized_shape
        The trailing shape normalised over (an int for one axis).
    weight, bias
        Optional, of ``normalized_shape``.
    eps
        Added to the variance.

    Returns
    -------
    Variable
        ``x``'s shape.

    Raises
    ------
    ValueError
        When ``x``'s trailing shape is not ``normalized_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.nn import functional as F
    >>> F.layer_norm(np.array([[1.0, 3.0]]), 2).numpy()
    array([[-0.999995,  0.999995]])
    """
    x = to_float32(as_variable(x))
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape) :]) != shape or len(shape) > x.ndim:
        raise ValueError(
            f"layer_norm: expected input of shape (*, {', '.join(map(str, shape))}), "
            f"got shape {x.shape}"
        )
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    var = (centred * centred).mean(axis=axes, keepdims=True)
    out = centred / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def normalize(x: Any, p: float = 2.0, axis: int = 1, eps: float = 1e-12) -> Variable:
    """``x / max(‖x‖_p, eps)`` along ``axis``.

    Parameters
    ----------
    x
        Any shape.
    p
        The norm's order.
    axis
        The axis normalised.
    eps
        The smallest divisor.

    Returns
    -------
    Variable
        ``x``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.nn import functional as F
    >>> F.normalize(np.array([[3.0, 4.0]])).numpy()
    array([[0.6, 0.8]])
    """
    x = as_variable(x)
    length = norm(x, p, axis=axis, keepdims=True)
    return x / length.clip(min=eps)


def embedding(indices: Any, weight: Any, padding_idx: int | None = None) -> Variable:
    """Rows of ``weight`` (num_embeddings, dim) at integer ``indices`` (any shape); the result
    has shape ``indices.shape + (dim,)``. The row ``padding_idx`` gets no gradient.

    Parameters
    ----------
    indices
        Integer array of any shape.
    weight
        ``(num_embeddings, dim)``.
    padding_idx
        A row that gets no gradient.

    Returns
    -------
    Variable
        ``indices.shape + (dim,)``.

    Raises
    ------
    TypeError
        When ``indices`` is not of an integer dtype.
    ValueError
        When ``weight`` is not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.nn import functional as F
    >>> F.embedding(np.array([[2, 0]]), np.arange(6.0).reshape(3, 2)).numpy()
    array([[[4., 5.],
            [0., 1.]]])
    """
    weight = as_variable(weight)
    idx = _raw(indices)
    xp = weight.xp
    if not hasattr(idx, "dtype"):
        idx = xp.asarray(idx)
    if not xp.isdtype(idx.dtype, "integral"):
        raise TypeError(f"embedding: expected integer indices, got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: expected a 2-D weight, got shape {weight.shape}")
    if padding_idx is not None:
        rows = xp.arange(weight.shape[0], **device_kwargs(getattr(weight.data, "device", None)))
        frozen = xp.reshape(rows == padding_idx % weight.shape[0], (-1, 1))
        weight = where(frozen, weight.detach(), weight)
    flat = xp.reshape(idx, (-1,))
    return weight[flat].reshape(tuple(idx.shape) + (weight.shape[1],))


def _channel_dropout(x: Any, p: float, training: bool, seed: int | None, spatial: int) -> Variable:
    """Drop whole channels: one mask value per (N, C), broadcast over ``spatial`` trailing
    axes."""
    x = as_variable(x)
    if not training or p == 0.0:
        return x
    mask_shape = tuple(x.shape[: x.ndim - spatial]) + (1,) * spatial
    ones = Variable(x.xp.ones(mask_shape, dtype=x.dtype, **device_kwargs(x.data.device)))
    return x * dropout(ones, p, training=True, seed=seed)


def dropout1d(x: Any, p: float = 0.5, training: bool = True, seed: int | None = None) -> Variable:
    """Zero whole channels of (N, C, L) input with probability ``p``; scale the rest by
    ``1 / (1 - p)``.

    Parameters
    ----------
    x
        ``(N, C, L)`` or ``(C, L)``.
    p
        The drop probability of a channel.
    training
        ``False`` returns ``x`` unchanged.
    seed
        As for :func:`axoncl.dropout`.

    Returns
    -------
    Variable
        ``x``'s shape.

    Raises
    ------
    ValueError
        When ``x`` is not 2-D or 3-D.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.nn import functional as F
    >>> y = F.dropout1d(np.ones((1, 4, 3), np.float32), 0.5, seed=0).numpy()
    >>> sorted({float(v) for v in y.ravel()}), bool((y == y[:, :, :1]).all())  # whole channels
    ([0.0, 2.0], True)
    """
    if as_variable(x).ndim not in (2, 3):
        raise ValueError(
            f"dropout1d: expected (N, C, L) or (C, L) input, got {as_variable(x).shape}"
        )
    return _channel_dropout(x, p, training, seed, 1)


def dropout2d(x: Any, p: float = 0.5, training: bool = True, seed: int | None = None) -> Variable:
    """Zero whole channels of (N, C, H, W) input with probability ``p``.

    Parameters
    ----------
    x
        ``(N, C, H, W)`` or ``(C, H, W)``.
    p
        The drop probability of a channel.
    training
        ``False`` returns ``x`` unchanged.
    seed
        As for :func:`axoncl.dropout`.

    Returns
    -------
    Variable
        ``x``'s shape.

    Raises
    ------
    ValueError
        When ``x`` is not 3-D or 4-D.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.nn import functional as F
    >>> F.dropout2d(np.ones((2, 3, 4, 4), np.float32), 0.5, training=False).shape
    (2, 3, 4, 4)
    """
    x = as_variable(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected (N, C, H, W) or (C, H, W) input, got {x.shape}")
    return _channel_dropout(x, p, training, seed, 2)


def causal_mask(rows: int, cols: int, like: Any) -> Any:
    """A boolean (rows, cols) array, True on and below the diagonal (top-left aligned), on the
    namespace and device of the array ``like``.

    Parameters
    ----------
    rows, cols
        The mask's shape (query and key lengths).
    like
        An array whose namespace and device the mask takes.

    Returns
    -------
    array
        Boolean, ``(rows, cols)``.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.nn import functional as F
    >>> F.causal_mask(2, 3, np.ones(1))
    array([[ True, False, False],
           [ True,  True, False]])
    """
    xp = as_variable(like).xp
    on = device_kwargs(getattr(_raw(like), "device", None))
    r = xp.reshape(xp.arange(rows, **on), (-1, 1))
    c = xp.reshape(xp.arange(cols, **on), (1, -1))
    return r >= c


def _has_fused_attention(xp: Any) -> bool:
    """Whether the backend of namespace ``xp`` has its own (fused) attention primitives."""
    forward = primitives.attention_forward
    return forward.implementation(xp) is not forward.portable


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    *,
    seed: int | None = None,
    fused: bool | None = None,
) -> Variable:
    """``softmax(q kᵀ · scale + mask) v`` over the last two axes, as PyTorch's function.

    Where the backend has fused attention kernels (OpenCL) and ``dropout_p == 0``, this is the
    op :func:`~axoncl.dot_product_attention`, whose forward and backward never store the
    ``(L, S)`` scores; otherwise it is composed of a matrix product, a softmax and a second
    product. Both give NaN rows where a query may attend to no key.

    Parameters
    ----------
    query, key, value
        ``(..., L, E)``, ``(..., S, E)``, ``(..., S, Ev)``; leading axes broadcast.
    attn_mask
        Boolean (True: may attend, as in PyTorch's function) or float (added to the scores),
        broadcasting to ``(..., L, S)``.
    dropout_p
        Dropout on the attention weights (``seed`` as in :func:`~axoncl.dropout`).
    is_causal
        Mask out keys after each query (top-left aligned); not together with ``attn_mask``.
    scale
        Defaults to ``1 / sqrt(E)``.
    fused
        None (the default): the fused op where the backend has one and there is no dropout;
        False: the composed ops; True: the op :func:`~axoncl.dot_product_attention` on any
        backend (no dropout).

    Returns
    -------
    Variable
        ``(..., L, Ev)``.

    Raises
    ------
    ValueError
        When ``fused=True`` is asked with dropout, and as for
        :func:`~axoncl.dot_product_attention` for shapes and masks.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl.nn import functional as F
    >>> q, k, v = np.zeros((1, 2, 4)), np.ones((1, 3, 4)), np.arange(6.0).reshape(1, 3, 2)
    >>> F.scaled_dot_product_attention(q, k, v).numpy()   # equal scores: the mean of v's rows
    array([[[2., 3.],
            [2., 3.]]])
    """
    q, k, v = as_variable(query), as_variable(key), as_variable(value)
    check_attention("scaled_dot_product_attention", q, k, v, attn_mask, is_causal)
    if fused is None:
        fused = dropout_p == 0.0 and _has_fused_attention(q.xp)
    if fused:
        if dropout_p > 0.0:
            raise ValueError(
                f"scaled_dot_product_attention: fused=True takes no dropout, got dropout_p="
                f"{dropout_p}; pass fused=None"
            )
        return dot_product_attention(q, k, v, attn_mask, is_causal=is_causal, scale=scale)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q @ k.mT) * factor
    if is_causal:
        attn_mask = causal_mask(q.shape[-2], k.shape[-2], q)
    if attn_mask is not None:
        mask = _raw(attn_mask)
        if q.xp.isdtype(mask.dtype, "bool"):
            scores = where(mask, scores, -math.inf)
        else:
            scores = scores + mask
    weights = softmax(scores, axis=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, seed=seed)
    return weights @ v
