"""Losses with ``reduction="mean" | "sum" | "none"``."""

from __future__ import annotations

from typing import Any

from ..autocast import to_float32
from ..backends import namespace_of, primitives
from ..grad_mode import is_grad_enabled
from ..graph import Function
from ..variable import Variable, _new_variable
from .activation import log_softmax, softmax
from .arithmetic import abs, exp, log1p, maximum

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "l1_loss",
    "mse_loss",
    "nll_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _var(x: Any) -> Variable:
    """``x`` as a Variable, in float32 if autocast is on and it is in a low dtype: losses are
    computed in float32 (axoncl/autocast.py)."""
    return to_float32(x if isinstance(x, Variable) else Variable(x))


def _reduce(loss: Variable, reduction: str, op: str) -> Variable:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: expected reduction in {_REDUCTIONS}, got {reduction!r}")


def _same_shape(x: Variable, target: Variable, op: str) -> None:
    if tuple(x.shape) != tuple(target.shape):
        raise ValueError(
            f"{op}: expected input and target of the same shape, got {x.shape} and {target.shape}"
        )


def mse_loss(x: Any, target: Any, reduction: str = "mean") -> Variable:
    """Mean squared error ``(x - target)²``.

    Parameters
    ----------
    x, target : Variable or array
        Predictions and targets of one shape.
    reduction : str
        ``"mean"`` (default), ``"sum"`` or ``"none"`` (the elementwise losses).

    Returns
    -------
    Variable
        0-d for ``"mean"`` and ``"sum"``, else the elementwise losses.

    Raises
    ------
    ValueError
        When ``reduction`` is unknown or the shapes differ.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.mse_loss(np.array([1.0, 3.0]), np.array([0.0, 1.0])).item()    # (1 + 4) / 2
    2.5
    """
    x, target = _var(x), _var(target)
    _same_shape(x, target, "mse_loss")
    diff = x - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(x: Any, target: Any, reduction: str = "mean") -> Variable:
    """Mean absolute error ``|x - target|``.

    Parameters
    ----------
    x, target : Variable or array
        Predictions and targets of one shape.
    reduction : str
        ``"mean"`` (default), ``"sum"`` or ``"none"`` (the elementwise losses).

    Returns
    -------
    Variable
        0-d for ``"mean"`` and ``"sum"``, else the elementwise losses.

    Raises
    ------
    ValueError
        When ``reduction`` is unknown or the shapes differ.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.l1_loss(np.array([1.0, 3.0]), np.array([0.0, 1.0]), reduction="sum").item()
    3.0
    """
    x, target = _var(x), _var(target)
    _same_shape(x, target, "l1_loss")
    return _reduce(abs(x - target), reduction, "l1_loss")


def binary_cross_entropy(x: Any, target: Any, reduction: str = "mean") -> Variable:
    """``-(t log p + (1 - t) log(1 - p))`` for probabilities ``p`` in [0, 1].

    Logs are clamped at -100, as in PyTorch, so p = 0 or 1 gives a finite loss.

    Parameters
    ----------
    x : Variable or array
        Probabilities in [0, 1], any shape.
    target : Variable or array
        Targets in [0, 1], ``x``'s shape.
    reduction : str
        ``"mean"`` (default), ``"sum"`` or ``"none"`` (the elementwise losses).

    Returns
    -------
    Variable
        0-d for ``"mean"`` and ``"sum"``, else the elementwise losses.

    Raises
    ------
    ValueError
        When ``reduction`` is unknown, the shapes differ, or ``x`` has values outside [0, 1].

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.binary_cross_entropy(np.array([0.5]), np.array([1.0])).item()  # -log 0.5
    0.6931471805599453
    """
    x, target = _var(x), _var(target)
    _same_shape(x, target, "binary_cross_entropy")
    xp = namespace_of(x.data)
    if bool(xp.any((x.data < 0) | (x.data > 1))):  # one host read: a clear error beats NaN
        lo, hi = float(xp.min(x.data)), float(xp.max(x.data))
        raise ValueError(
            f"binary_cross_entropy: expected input probabilities in [0, 1], got "
            f"values in [{lo}, {hi}]; use binary_cross_entropy_with_logits for "
            "logits"
        )
    log_p = _clamped_log(x)
    log_q = _clamped_log(1.0 - x)
    return _reduce(-(target * log_p + (1.0 - target) * log_q), reduction, "binary_cross_entropy")


class _ClampedLog(Function):
    """``max(log p, -100)`` of probabilities, a dedicated rule for stability (as PyTorch's BCE):
    p = 0 gives -100, not -inf, and backward divides by ``max(p, 1e-12)``, so a saturated
    sigmoid (``sigmoid(-100)`` in float32 is a denormal) sends back a large finite gradient
    instead of ``1/p = inf`` (then ``inf * 0 = NaN``)."""

    autocast_policy = "float32"

    @staticmethod
    def forward(ctx, p):
        ctx.save_for_backward(p)
        xp = ctx.xp
        positive = p > 0
        logs = xp.clip(xp.log(xp.where(positive, p, xp.ones_like(p))), min=-100.0)
        return xp.where(positive, logs, xp.full_like(p, -100.0))

    @staticmethod
    def backward(ctx, grad):
        (p,) = ctx.saved_values  # d(log p)/dp = 1/p, with p floored at 1e-12
        return (grad / maximum(p, 1e-12),)


def _clamped_log(p: Variable) -> Variable:
    return _ClampedLog.apply(p)


def binary_cross_entropy_with_logits(x: Any, target: Any, reduction: str = "mean") -> Variable:
    """Binary cross-entropy of ``sigmoid(x)``, as ``max(x, 0) - x t + log(1 + e^-|x|)``
    (stable for any logit).

    Parameters
    ----------
    x : Variable or array
        Logits, any shape.
    target : Variable or array
        Targets in [0, 1], ``x``'s shape.
    reduction : str
        ``"mean"`` (default), ``"sum"`` or ``"none"`` (the elementwise losses).

    Returns
    -------
    Variable
        0-d for ``"mean"`` and ``"sum"``, else the elementwise losses.

    Raises
    ------
    ValueError
        When ``reduction`` is unknown or the shapes differ.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> axoncl.binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0])).item()  # log 2
    0.6931471805599453
    """
    x, target = _var(x), _var(target)
    _same_shape(x, target, "binary_cross_entropy_with_logits")
    loss = maximum(x, 0.0) - x * target + log1p(exp(-abs(x)))
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _class_targets(x: Variable, target: Any, ignore_index: int, op: str) -> tuple[Any, Any]:
    """One-hot of integer class ``target`` along axis 1 of ``x``, and the class axis. Targets
    outside ``[0, C)`` other than ``ignore_index`` raise (on a device, at the next read)."""
    t = target.data if isinstance(target, Variable) else target
    xp = namespace_of(x.data)
    if x.ndim < 1:
        raise ValueError(f"{op}: expected input of shape (N, C, ...) or (C,), got {x.shape}")
    class_axis = 1 if x.ndim > 1 else 0
    expected = x.shape[:class_axis] + x.shape[class_axis + 1 :]
    if tuple(t.shape) != tuple(expected):
        raise ValueError(
            f"{op}: expected target of shape {expected} for input {x.shape}, got {tuple(t.shape)}"
        )
    if not xp.isdtype(t.dtype, "integral"):
        raise TypeError(f"{op}: expected integer class indices as target, got dtype {t.dtype}")
    n_classes = x.shape[class_axis]
    primitives.check_targets(t, n_classes, ignore_index=ignore_index, op=op, xp=xp)
    classes = xp.arange(n_classes, dtype=t.dtype, device=getattr(t, "device", None))
    shape = [1] * x.ndim
    shape[class_axis] = n_classes
    onehot = xp.expand_dims(t, axis=class_axis) == xp.reshape(classes, tuple(shape))
    return onehot, class_axis


def nll_loss(x: Any, target: Any, reduction: str = "mean", ignore_index: int = -100) -> Variable:
    """Negative log-likelihood of class indices, given log-probabilities ``x`` (N, C, ...).

    Parameters
    ----------
    x : Variable or array
        Log-probabilities, (N, C) or (N, C, d1, ...).
    target : Variable or array
        Integer class indices, ``x``'s shape without axis 1.
    reduction : str
        ``"mean"`` (default), ``"sum"`` or ``"none"`` (the elementwise losses).
    ignore_index : int
        Targets equal to this add nothing and do not count in the mean.

    Returns
    -------
    Variable
        0-d for ``"mean"`` and ``"sum"``, else the elementwise losses.

    Raises
    ------
    ValueError
        When ``reduction`` is unknown or ``target``'s shape is not ``x``'s without axis 1.
    IndexError
        When a target class is outside ``[0, C)`` (and not ``ignore_index``); on OpenCL from
        the device's error flag, at the next read.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> logp = np.log(np.array([[0.5, 0.5], [0.25, 0.75]]))
    >>> round(axoncl.nll_loss(logp, np.array([0, 1])).item(), 6)   # -(log 0.5 + log 0.75) / 2
    0.490415
    """
    x = _var(x)
    return _class_loss(x, target, reduction, ignore_index, 0.0, "nll_loss")


class CrossEntropy(Function):
    """Cross-entropy of logits ``x`` (N, C) against class indices ``target`` (N,).

    A dedicated rule for speed: the forward is one pass per row (``cross_entropy_rows``: the
    row's log-sum-exp and the picked logit) and the backward one fused primitive,
    ``(softmax(x) - onehot) * valid * grad / count``, where the composed form takes a
    log-softmax, a one-hot and a dozen elementwise ops each way. The per-row log-sum-exp and
    valid mask are kept for that backward. Under ``create_graph`` the backward is written with
    Variable ops, so higher derivatives still work.
    """

    autocast_policy = "float32"

    name = "cross_entropy"

    @staticmethod
    def forward(ctx, x, target):
        xp = ctx.xp
        ctx.save_for_backward(x)
        ctx.target, ctx.count = target, None
        if ctx.reduction == "none":
            loss, ctx.valid, ctx.lse = primitives.cross_entropy_rows(
                x, target, ignore_index=ctx.ignore_index, xp=xp
            )
            return loss
        total, ctx.count, ctx.valid, ctx.lse = primitives.cross_entropy_total(
            x, target, ignore_index=ctx.ignore_index, mean=ctx.reduction == "mean", xp=xp
        )
        return total

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values  # d/dx = (softmax(x) - onehot(target)) * valid * grad / count
        xp = ctx.xp
        count = ctx.count
        if count is None:
            count = xp.ones((), dtype=ctx.lse.dtype, device=getattr(ctx.lse, "device", None))
        if not is_grad_enabled():  # no graph through the gradient: one fused primitive
            dx = primitives.cross_entropy_backward(
                x.data, ctx.target, ctx.valid, ctx.lse, grad.data, count, xp=xp
            )
            return _new_variable(dx), None
        onehot, _ = _class_targets(x, ctx.target, ctx.ignore_index, "cross_entropy")
        scale = Variable(ctx.valid) * grad / Variable(count)
        probs = softmax(x, axis=1)
        gx = (probs - Variable(xp.astype(onehot, x.dtype))) * scale.reshape((x.shape[0], 1))
        return gx, None


def _fused_cross_entropy(x: Variable, target: Any, reduction: str, label_smoothing: float) -> bool:
    """Whether :class:`CrossEntropy` serves this call (2-D logits, one int label per row)."""
    t = target.data if isinstance(target, Variable) else target
    return (
        x.ndim == 2
        and not label_smoothing
        and reduction in _REDUCTIONS
        and hasattr(t, "dtype")
        and tuple(t.shape) == (x.shape[0],)
        and namespace_of(x.data).isdtype(t.dtype, "integral")
    )


def cross_entropy(
    x: Any,
    target: Any,
    reduction: str = "mean",
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> Variable:
    """Cross-entropy of logits ``x`` (N, C, ...) against class indices, through a stable
    log-softmax; ``ignore_index`` entries add nothing and do not count in the mean.

    Parameters
    ----------
    x : Variable or array
        Logits, (N, C) or (N, C, d1, ...).
    target : Variable or array
        Integer class indices, ``x``'s shape without axis 1.
    reduction : str
        ``"mean"`` (default), ``"sum"`` or ``"none"`` (the elementwise losses).
    ignore_index : int
        Targets equal to this add nothing and do not count in the mean.
    label_smoothing : float
        Mixes the one-hot target with the uniform distribution, in [0, 1].

    Returns
    -------
    Variable
        0-d for ``"mean"`` and ``"sum"``, else the elementwise losses.

    Raises
    ------
    ValueError
        When ``reduction`` is unknown or ``target``'s shape is not ``x``'s without axis 1.
    IndexError
        When a target class is outside ``[0, C)`` (and not ``ignore_index``); on OpenCL from
        the device's error flag, at the next read.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> x = axoncl.Variable(np.array([[2.0, 0.0], [0.0, 1.0]]), requires_grad=True)
    >>> loss = axoncl.cross_entropy(x, np.array([0, 1]))
    >>> loss.backward()
    >>> round(loss.item(), 6)
    0.220095
    >>> p = axoncl.softmax(x).numpy()
    >>> bool(np.allclose(x.grad.numpy(), (p - np.eye(2)) / 2))  # (p - y) / N
    True
    """
    x = _var(x)
    if _fused_cross_entropy(x, target, reduction, label_smoothing):
        t = target.data if isinstance(target, Variable) else target
        return CrossEntropy.apply(x, t, reduction=reduction, ignore_index=int(ignore_index))
    class_axis = 1 if x.ndim > 1 else 0
    return _class_loss(
        log_softmax(x, axis=class_axis),
        target,
        reduction,
        ignore_index,
        label_smoothing,
        "cross_entropy",
    )


def _class_loss(
    log_p: Variable, target: Any, reduction: str, ignore_index: int, smoothing: float, op: str
) -> Variable:
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"{op}: expected label_smoothing in [0, 1], got {smoothing}")
    xp = namespace_of(log_p.data)
    onehot, class_axis = _class_targets(log_p, target, ignore_index, op)
    t = target.data if isinstance(target, Variable) else target
    valid = xp.astype(t != ignore_index, log_p.dtype)
    weights = xp.astype(onehot, log_p.dtype)
    if smoothing:
        n_classes = log_p.shape[class_axis]
        weights = weights * (1.0 - smoothing) + smoothing / n_classes
    per_item = -(log_p * Variable(weights)).sum(axis=class_axis) * Variable(valid)
    if reduction == "mean":
        return per_item.sum() / Variable(xp.sum(valid))
    return _reduce(per_item, reduction, op)
