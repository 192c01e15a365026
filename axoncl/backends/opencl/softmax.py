"""Fused, numerically stable softmax, log-softmax and log-sum-exp (``kernels/softmax.cl``).

Not in the array API standard: the autograd layer registers these as the OpenCL versions of its
``softmax``/``log_softmax``/``logsumexp`` primitives. Each is one kernel launch; one work-item
handles one line along ``axis`` (three sweeps: max, sum of ``exp(x - max)``, output).

Edge cases (a documented choice, matching numpy's ``exp(x - max) / sum``, torch and scipy):

* a line that is entirely ``-inf`` (fully masked): softmax and log_softmax give NaN,
  logsumexp gives ``-inf``;
* a line containing ``+inf``: softmax and log_softmax give NaN, logsumexp gives ``+inf``;
* a NaN anywhere in a line makes the whole line's result NaN.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .array import CLArray, empty
from .launch import get_kernel
from .lines import check_array, line_view, normalize_axes

__all__ = ["log_softmax", "logsumexp", "softmax"]

_MODES = {
    "softmax": "MODE_SOFTMAX",
    "log_softmax": "MODE_LOG_SOFTMAX",
    "logsumexp": "MODE_LOGSUMEXP",
}


def _run(op: str, x: CLArray, axis: int, out_shape: tuple[int, ...]) -> CLArray:
    x = check_array(op, x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a real floating-point array, got {x.dtype}")
    if x.ndim == 0:
        raise ValueError(f"{op}: expected an array with at least one dimension, got 0-d")
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: expected axis to be an int, got {axis!r}")
    (axis,) = normalize_axes(op, x.ndim, axis)
    out = empty(out_shape if out_shape is not None else x.shape, x.dtype, x.device)
    view = line_view(op, x, axis)
    if view.n_out == 0 or (view.n_red == 0 and op != "logsumexp"):
        return out
    device = x.device
    kernel = get_kernel(
        device,
        "softmax",
        "softmax_lines",
        REAL=_dt.C_TYPE[x.dtype],
        VW=8 if x.dtype.itemsize == 8 else 16,
        MODE=_MODES[op],
    )
    args = (
        view.x.buffer,
        view.offset,
        view.n_out,
        view.n_inner,
        view.s_o,
        view.s_i,
        view.n_red,
        view.s_r,
        out.buffer,
        out.offset,
    )
    kernel.launch_items(view.n_out, *args, op=op)
    return out


def softmax(x: CLArray, /, axis: int = -1) -> CLArray:
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``, in one kernel.

    Parameters
    ----------
    x : CLArray
        A floating array.
    axis : int
        The axis normalised.

    Returns
    -------
    CLArray
        ``x``'s shape and dtype; each line sums to 1.

    Examples
    --------
    >>> softmax(from_numpy(np.array([0.0, 0.0]), dev)).to_numpy()  # doctest: +SKIP
    array([0.5, 0.5])
    """
    return _run("softmax", x, axis, None)


def log_softmax(x: CLArray, /, axis: int = -1) -> CLArray:
    """``(x - max) - log(sum(exp(x - max)))`` along ``axis``, in one kernel.

    Parameters
    ----------
    x : CLArray
        A floating array.
    axis : int
        The axis normalised.

    Returns
    -------
    CLArray
        ``x``'s shape and dtype.

    Examples
    --------
    >>> log_softmax(from_numpy(np.array([0.0, 0.0]), dev)).to_numpy()  # doctest: +SKIP
    array([-0.69314718, -0.69314718])
    """
    return _run("log_softmax", x, axis, None)


def logsumexp(x: CLArray, /, axis: int = -1, keepdims: bool = False) -> CLArray:
    """``max + log(sum(exp(x - max)))`` along ``axis``; an all ``-inf`` line gives ``-inf``.

    An empty axis gives ``-inf`` (the log of an empty sum).

    Parameters
    ----------
    x : CLArray
        The input array.
    axis : int
        The axis reduced.
    keepdims : bool
        Keep it with size 1.

    Returns
    -------
    CLArray
        ``x``'s shape without ``axis``.

    Raises
    ------
    ValueError
        When ``x`` is 0-d.

    Examples
    --------
    >>> logsumexp(from_numpy(np.array([0.0, 0.0]), dev)).to_numpy()  # doctest: +SKIP
    array(0.69314718)
    """
    x = check_array("logsumexp", x)
    if x.ndim == 0:
        raise ValueError("logsumexp: expected an array with at least one dimension, got 0-d")
    (a,) = normalize_axes("logsumexp", x.ndim, axis)
    shape = (
        tuple(1 if k == a else n for k, n in enumerate(x.shape))
        if keepdims
        else (x.shape[:a] + x.shape[a + 1 :])
    )
    return _run("logsumexp", x, axis, shape)


def _register_primitives() -> None:
    """Install the fused kernels as the OpenCL versions of the autograd layer's primitives."""
    from .. import primitives

    namespace = __name__.rsplit(".", 1)[0]

    @primitives.softmax.register(namespace)
    def _softmax(x, *, axis, xp):
        return softmax(x, axis=axis)

    @primitives.log_softmax.register(namespace)
    def _log_softmax(x, *, axis, xp):
        return log_softmax(x, axis=axis)

    @primitives.logsumexp.register(namespace)
    def _logsumexp(x, *, axis, keepdims, xp):
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        if len(axes) == 1 and x.ndim:
            return logsumexp(x, axis=axes[0], keepdims=keepdims)
        return primitives.logsumexp.portable(x, axis=axis, keepdims=keepdims, xp=xp)


_register_primitives()
