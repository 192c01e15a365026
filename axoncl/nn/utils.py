"""Gradient clipping, as in ``torch.nn.utils``: by the total norm or by value.

Everything runs in the gradients' own namespace. On OpenCL the total norm and the scale
factor ``min(1, max_norm / (norm + 1e-6))`` stay on the device and are multiplied into the
gradients there, so clipping adds no host read to a training step (unless
``error_if_nonfinite=True``, which has to look at the norm).

Examples
--------
>>> import numpy as np
>>> from axoncl import Variable, nn
>>> w = nn.Parameter(np.array([3.0, 4.0]))
>>> w.grad = Variable(np.array([3.0, 4.0]))
>>> nn.utils.clip_grad_norm_([w], max_norm=1.0).item()
5.0
>>> w.grad.numpy().round(6)
array([0.6, 0.8])
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..backends import namespace_of
from ..variable import Variable

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(items: Any, op: str) -> list[Any]:
    """A single Variable/array or an iterable of them, as a list."""
    if isinstance(items, Variable) or hasattr(items, "shape"):
        return [items]
    if not isinstance(items, Iterable):
        raise TypeError(f"{op}: expected a Variable or an iterable of them, got {type(items)}")
    return list(items)


def _grads(parameters: Any, op: str) -> list[Variable]:
    """The gradients (``.grad``) of ``parameters`` that have one."""
    return [p.grad for p in _as_list(parameters, op) if p.grad is not None]


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Variable) else x


def _norm_type(norm_type: Any, op: str) -> float:
    value = float(norm_type)
    if math.isnan(value):
        raise ValueError(f"{op}: expected a norm_type that is a number or inf, got {norm_type!r}")
    return value


def get_total_norm(
    tensors: Any,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Variable:
    """The ``norm_type``-norm of all of ``tensors`` together, as if they were one vector.

    Computed as PyTorch does: the norm of each array, then the norm of those norms. The result
    is a 0-d :class:`~axoncl.Variable` (no gradient) on the arrays' namespace and device, read
    from nothing: on OpenCL it is not copied to the host.

    Parameters
    ----------
    tensors
        An array or Variable, or an iterable of them (e.g. gradients), of one namespace and
        device.
    norm_type
        The order of the norm: a positive number, or ``inf`` for the largest magnitude.
    error_if_nonfinite
        Raise a ``RuntimeError`` when the norm is NaN or infinite. This reads the norm back
        (one host read on OpenCL).
    foreach
        Accepted for PyTorch compatibility; the arrays are reduced one by one either way.

    Returns
    -------
    Variable
        0-d, no gradient, on the arrays' namespace and device.

    Raises
    ------
    RuntimeError
        With ``error_if_nonfinite``, when the total norm is NaN or infinite.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> nn.utils.get_total_norm([np.array([3.0]), np.array([4.0])]).item()
    5.0
    """
    del foreach  # every backend takes the same path
    norm_type = _norm_type(norm_type, "get_total_norm")
    arrays = [_raw(t) for t in _as_list(tensors, "get_total_norm")]
    if not arrays:
        return Variable(np.zeros((), dtype=np.float32))
    xp = namespace_of(*arrays)
    norms = [xp.linalg.vector_norm(a, ord=norm_type) for a in arrays]
    dtype = xp.result_type(*norms)
    stacked = xp.stack([xp.astype(xp.asarray(n), dtype) for n in norms])
    total = xp.asarray(xp.linalg.vector_norm(stacked, ord=norm_type))
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{float(total)}, so they cannot be clipped; pass error_if_nonfinite=False to "
            "clip anyway (the gradients then become NaN)"
        )
    return Variable(total)


def clip_grads_with_norm_(
    parameters: Any, max_norm: float, total_norm: Any, foreach: bool | None = None
) -> None:
    """Scale the gradients of ``parameters`` by ``min(1, max_norm / (total_norm + 1e-6))``.

    The factor is computed on the gradients' device and always multiplied in (by 1 when the
    norm is within ``max_norm``), as in PyTorch; ``total_norm`` is typically
    :func:`get_total_norm`'s result. Each parameter's ``.grad.data`` is replaced by the scaled
    array.

    Parameters
    ----------
    parameters
        A Variable or an iterable of them; those without a gradient are skipped.
    max_norm
        The largest total norm allowed.
    total_norm
        The gradients' total norm (a 0-d Variable or array, or a number).
    foreach
        Accepted for compatibility.

    Returns
    -------
    None
        The gradients are scaled in place.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable, nn
    >>> w = nn.Parameter(np.zeros(2))
    >>> w.grad = Variable(np.array([3.0, 4.0]))
    >>> total = nn.utils.get_total_norm([w.grad])
    >>> nn.utils.clip_grads_with_norm_([w], 1.0, total)
    >>> w.grad.numpy().round(4)
    array([0.6, 0.8])
    """
    del foreach
    grads = _grads(parameters, "clip_grads_with_norm_")
    if not grads:
        return
    total = _raw(total_norm)
    xp = namespace_of(total)
    coef = xp.asarray(float(max_norm) / (total + 1e-6))
    clamped = xp.clip(coef, max=1.0)
    for g in grads:
        g.data = g.data * xp.astype(clamped, g.data.dtype)


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Variable:
    """Rescale the gradients of ``parameters`` so that their total norm is at most
    ``max_norm``; return the total norm before clipping.

    PyTorch's semantics: the total norm is the ``norm_type``-norm of all gradients taken as one
    vector, and every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``. The norm
    and the factor stay on the device (no host read unless ``error_if_nonfinite``).

    Parameters
    ----------
    parameters
        A Variable or an iterable of Variables; those without ``.grad`` are skipped.
    max_norm
        The largest total norm to allow.
    norm_type
        The order of the norm: a positive number, or ``inf``.
    error_if_nonfinite
        Raise a ``RuntimeError`` when the total norm is NaN or infinite (reads it back).
    foreach
        Accepted for PyTorch compatibility.

    Returns
    -------
    Variable
        The total norm, 0-d, on the gradients' namespace and device (a float32 zero when no
        parameter has a gradient).

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> layer = nn.Linear(3, 2)
    >>> layer(np.ones((4, 3), dtype=np.float32)).sum().backward()
    >>> norm = nn.utils.clip_grad_norm_(layer.parameters(), max_norm=0.5)
    >>> bool(norm.item() > 0.5)
    True
    >>> round(float(nn.utils.get_total_norm([p.grad for p in layer.parameters()]).item()), 4)
    0.5
    """
    parameters = _as_list(parameters, "clip_grad_norm_")
    grads = _grads(parameters, "clip_grad_norm_")
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters: Any, clip_value: float, foreach: bool | None = None) -> None:
    """Clip every gradient of ``parameters`` elementwise into ``[-clip_value, clip_value]``.

    Parameters
    ----------
    parameters
        A Variable or an iterable of them; those without a gradient are skipped.
    clip_value
        The bound, positive.
    foreach
        Accepted for compatibility; gradients of one namespace are clipped together.

    Returns
    -------
    None
        The gradients are changed in place.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable, nn
    >>> w = nn.Parameter(np.zeros(3))
    >>> w.grad = Variable(np.array([-2.0, 0.5, 3.0]))
    >>> nn.utils.clip_grad_value_([w], 1.0)
    >>> w.grad.numpy()
    array([-1. ,  0.5,  1. ])
    """
    del foreach
    limit = float(clip_value)
    for g in _grads(parameters, "clip_grad_value_"):
        g.data = namespace_of(g.data).clip(g.data, min=-limit, max=limit)
