"""Gradient checking: central differences against the backward engine.

Works on any backend. Complex inputs follow PyTorch's convention: the gradient of a real loss
with respect to ``z = x + iy`` is ``dL/dx + i dL/dy``, so the numerical reference perturbs the
real and the imaginary part of each element in turn; a complex output is turned into a real
loss with random weights on its real and imaginary parts. On a device without float64 (an
OpenCL GPU lacking ``cl_khr_fp64``), the reference is computed in float64 on the host (numpy)
and compared with the device's float32 gradient at float32 tolerances.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backends import backend_name, get_backend, namespace_of, to_backend, to_numpy
from .engine import grad as autograd_grad
from .variable import Variable

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "numerical_gradient"]


class GradcheckError(AssertionError):
    """Analytical and numerical gradients disagree.

    Its message names the input and the element where the gradients differ most.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> class WrongSquare(axoncl.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_values
    ...         return (grad * x,)  # should be 2 * x
    >>> x = axoncl.Variable(np.array([1.0, 2.0]), requires_grad=True)
    >>> try:
    ...     axoncl.gradcheck(WrongSquare.apply, [x])
    ... except axoncl.GradcheckError:
    ...     print("caught")
    caught
    >>> axoncl.gradcheck(WrongSquare.apply, [x], raise_exception=False)
    False
    """


def numerical_gradient(f: Callable[[Any], Any], x: Any, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / 2 eps`` of a scalar function.

    ``x`` may be a Variable or an array; ``f`` receives a Variable and returns a one-element
    Variable (or array). The result is a float64 NumPy array of ``x``'s shape; for a complex
    ``x`` it is complex128, ``dL/dx + i dL/dy`` (real and imaginary parts perturbed in turn).

    Parameters
    ----------
    f
        The scalar function.
    x
        The point, a Variable or array.
    eps
        The step.

    Returns
    -------
    numpy.ndarray
        float64, ``x``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> numerical_gradient(lambda v: (v * v).sum(), np.array([2.0, 3.0])).round(6)
    array([4., 6.])
    """
    data = x.data if isinstance(x, Variable) else x
    needs = isinstance(x, Variable) and x.requires_grad  # gradgradcheck differentiates inside f
    xp = namespace_of(data)
    host = _wide(to_numpy(data))
    out = np.zeros_like(host)
    flat = host.reshape(-1)
    steps = (eps, 1j * eps) if np.iscomplexobj(host) else (eps,)
    for i in range(flat.size):
        saved = flat[i]
        for step in steps:
            flat[i] = saved + step
            plus = _scalar(f(Variable(_back(host, data, xp), requires_grad=needs)))
            flat[i] = saved - step
            minus = _scalar(f(Variable(_back(host, data, xp), requires_grad=needs)))
            flat[i] = saved
            out.reshape(-1)[i] += (plus - minus) / (2 * eps) * (step / eps)
    return out


def _wide(host: np.ndarray) -> np.ndarray:
    """``host`` in float64, or complex128 when it is complex."""
    return host.astype(np.complex128 if np.iscomplexobj(host) else np.float64)


def _back(host: np.ndarray, like: Any, xp: Any) -> Any:
    arr = to_backend(host.astype(to_numpy(like).dtype), xp)
    return arr


def _scalar(value: Any) -> float:
    data = value.data if isinstance(value, Variable) else value
    return float(to_numpy(data).sum())


def _fp64_ok(xp: Any) -> bool:
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return True
    try:
        return "float64" in info().dtypes()
    except Exception:  # noqa: BLE001 - a namespace without dtype info: assume float64 works
        return True


def gradcheck(
    fn: Callable[..., Any] | np.ndarray | Any,
    inputs: Any = None,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    raise_exception: bool = True,
) -> bool:
    """Compare backward's gradients of ``fn(*inputs)`` with central differences.

    Two forms:

    * ``gradcheck(fn, inputs, eps, atol, rtol, raise_exception)``: every input Variable that
      requires grad is checked; a non-scalar output is reduced with random weights. A failure
      names the input, the worst element's index, both values and the tolerances.
    * ``gradcheck(analytical, numerical, atol, rtol)``: the original crate's form, comparing
      two arrays elementwise (``|a - n| <= atol + rtol |n|``); here the third and fourth
      positional arguments are ``atol`` (default 1e-5) and ``rtol`` (default 1e-3).

    Defaults for the function form: eps 1e-6, atol 1e-5, rtol 1e-3.

    On a backend without float64 (float32 inputs), the reference is central differences of the
    same function in float64 on numpy, and the comparison uses float32 tolerances
    (atol 1e-4 times the largest reference magnitude, at least 1e-4; rtol 1e-3).

    Parameters
    ----------
    fn
        The function checked; it takes ``inputs`` and returns a Variable.
    inputs
        The inputs: Variables (those that require grad are checked) and other values.
    eps
        The finite-difference step (default chosen for the dtype).
    atol, rtol
        The tolerances (defaults chosen for the dtype).
    raise_exception
        Raise on a mismatch; ``False`` returns ``False`` instead.

    Returns
    -------
    bool
        True when every gradient matches.

    Raises
    ------
    GradcheckError
        On a mismatch, with ``raise_exception``.
    ValueError
        When no input requires grad.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable
    >>> x = Variable(np.array([0.3, -1.2]), requires_grad=True)
    >>> gradcheck(lambda v: (v * v).exp().sum(), [x])
    True
    """
    if not callable(fn):
        analytical = to_numpy(fn.data if isinstance(fn, Variable) else fn)
        numerical = to_numpy(inputs.data if isinstance(inputs, Variable) else inputs)
        # The original crate's positional order: (analytical, numerical, atol, rtol).
        tol_a = eps if eps is not None else (atol if atol is not None else 1e-5)
        tol_r = atol if eps is not None and atol is not None else (rtol or 1e-3)
        return _compare(
            np.asarray(analytical, np.float64),
            np.asarray(numerical, np.float64),
            tol_a,
            tol_r,
            "gradient",
            raise_exception,
        )
    eps = 1e-6 if eps is None else eps
    atol = 1e-5 if atol is None else atol
    rtol = 1e-3 if rtol is None else rtol
    if isinstance(inputs, Variable) or not isinstance(inputs, Sequence):
        inputs = [inputs]
    inputs = [x if isinstance(x, Variable) else Variable(x) for x in inputs]
    targets = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not targets:
        raise ValueError("gradcheck: no input requires grad")
    xp = namespace_of(*[x.data for x in inputs])
    low_precision = any(not _is_f64(x) for x in inputs if x.requires_grad)
    if low_precision and not _fp64_ok(xp):
        return _gradcheck_host_reference(fn, inputs, targets, raise_exception)

    out = _as_var(fn(*inputs))
    weights = _weights(out)
    loss_of = _weighted(fn, weights, inputs)
    analytic = _grads(loss_of(*inputs), [inputs[i] for i in targets])
    for pos, i in enumerate(targets):
        a = (
            np.zeros(inputs[i].shape)
            if analytic[pos] is None
            else _wide(to_numpy(analytic[pos].data))
        )

        def f_i(v, i=i):
            args = list(inputs)
            args[i] = v
            return loss_of(*args)

        n = numerical_gradient(f_i, inputs[i], eps)
        if not _compare(a, n, atol, rtol, f"input {i}", raise_exception):
            return False
    return True


def _grads(loss: Variable, inputs: list[Variable]) -> tuple[Variable | None, ...]:
    """Backward's gradients of ``loss``; all ``None`` when no recorded op links it to the
    inputs (under gradgradcheck, the first derivative of a linear op is a constant)."""
    if not loss.requires_grad:
        return (None,) * len(inputs)
    return autograd_grad([loss], inputs, allow_unused=True)


def _is_f64(x: Variable) -> bool:
    names = ("float64", "complex128")
    return str(x.dtype) in names or getattr(x.dtype, "name", "") in names


def _as_var(value: Any) -> Variable:
    return value if isinstance(value, Variable) else Variable(value)


def _weights(out: Variable) -> Any:
    """Fixed random weights that turn a non-scalar output into a scalar; for a complex output,
    a pair of real weights, for its real and its imaginary parts (always, even at size 1)."""
    host_out = to_numpy(out.data)
    rng = np.random.default_rng(0)
    xp = namespace_of(out.data)
    if np.iscomplexobj(host_out):
        part = host_out.real.dtype
        return tuple(to_backend(rng.standard_normal(out.shape).astype(part), xp) for _ in range(2))
    if out.size == 1:
        return None
    host = rng.standard_normal(out.shape).astype(host_out.dtype)
    return to_backend(host, xp)


def _weighted(fn: Callable[..., Any], weights: Any, inputs: list[Variable]) -> Callable[..., Any]:
    from .functions import imag, real

    def loss(*args: Any) -> Variable:
        out = _as_var(fn(*args))
        if weights is None:
            return out.sum()
        if isinstance(weights, tuple):  # a complex output: weights on both parts
            wr, wi = (Variable(w) for w in weights)
            return (real(out) * wr).sum() + (imag(out) * wi).sum()
        return (out * Variable(weights)).sum()

    return loss


def _compare(
    a: np.ndarray, n: np.ndarray, atol: float, rtol: float, what: str, raise_exception: bool
) -> bool:
    if a.shape != n.shape:
        raise ValueError(f"gradcheck: {what}: analytical shape {a.shape} != numerical {n.shape}")
    err = np.abs(a - n) - (atol + rtol * np.abs(n))
    bad = ~(err <= 0)
    if not bad.any():
        return True
    index = np.unravel_index(int(np.argmax(np.where(np.isnan(err), np.inf, err))), a.shape)
    message = (
        f"gradcheck: {what}: analytical and numerical gradients differ at index "
        f"{tuple(int(i) for i in index)}: analytical {a[index].item()!r}, "
        f"numerical {n[index].item()!r} "
        f"(atol {atol}, rtol {rtol}; {int(bad.sum())} of {a.size} elements off)"
    )
    if raise_exception:
        raise GradcheckError(message)
    return False


def _gradcheck_host_reference(
    fn: Callable[..., Any], inputs: list[Variable], targets: list[int], raise_exception: bool
) -> bool:
    """Float32 device gradients against central differences of the same function computed in
    float64 on the host (numpy), at float32 tolerances."""
    np_xp = get_backend("numpy")
    host_inputs = [
        Variable(_wide(to_numpy(x.data)) if x.requires_grad else to_numpy(x.data)) for x in inputs
    ]
    weights = _weights(_as_var(fn(*inputs)))
    if isinstance(weights, tuple):
        host_weights = tuple(np_xp.asarray(to_numpy(w), dtype="float64") for w in weights)
    else:
        host_weights = (
            None if weights is None else np_xp.asarray(to_numpy(weights), dtype="float64")
        )
    device_grads = _grads(_weighted(fn, weights, inputs)(*inputs), [inputs[i] for i in targets])
    host_loss = _weighted(fn, host_weights, host_inputs)
    for pos, i in enumerate(targets):
        a = (
            np.zeros(inputs[i].shape)
            if device_grads[pos] is None
            else _wide(to_numpy(device_grads[pos].data))
        )

        def f_i(v, i=i):
            args = list(host_inputs)
            args[i] = v
            return host_loss(*args)

        reference = numerical_gradient(f_i, host_inputs[i], 1e-6)
        scale = max(1.0, float(np.abs(reference).max(initial=0.0)))
        where = (
            f"input {i} (float32 on {backend_name(namespace_of(inputs[i].data))} vs float64 "
            "reference)"
        )
        if not _compare(a, reference, 1e-4 * scale, 1e-3, where, raise_exception):
            return False
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: gradcheck of ``v -> <grad fn(v), w>`` built with
    ``create_graph=True``, for fixed random weights ``w``.

    Parameters
    ----------
    fn
        The function checked; it takes ``inputs`` and returns a Variable.
    inputs
        The inputs; those that require grad are checked.
    eps
        The finite-difference step.
    atol, rtol
        The tolerances.
    raise_exception
        Raise on a mismatch; ``False`` returns ``False`` instead.

    Returns
    -------
    bool
        True when every second derivative matches.

    Raises
    ------
    GradcheckError
        On a mismatch, with ``raise_exception``.
    ValueError
        When the function does not depend on its inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable
    >>> x = Variable(np.array([0.5, 1.5]), requires_grad=True)
    >>> gradgradcheck(lambda v: (v ** 3).sum(), [x])
    True
    """
    inputs = [x if isinstance(x, Variable) else Variable(x) for x in inputs]
    targets = [i for i, x in enumerate(inputs) if x.requires_grad]
    out = _as_var(fn(*inputs))
    weights = _weights(out)
    loss_of = _weighted(fn, weights, inputs)
    rng = np.random.default_rng(1)
    probes = [
        to_backend(rng.standard_normal(inputs[i].shape), namespace_of(inputs[i].data))
        for i in targets
    ]

    def first_order(*args: Variable) -> Variable:
        grads = autograd_grad(
            [loss_of(*args)], [args[i] for i in targets], create_graph=True, allow_unused=True
        )
        total = None
        for g, p in zip(grads, probes, strict=True):
            if g is None:
                continue
            term = (g * Variable(_cast_like(p, g))).sum()
            total = term if total is None else total + term
        if total is None:
            raise ValueError("gradgradcheck: the function does not depend on its inputs")
        return total

    return gradcheck(
        first_order, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception
    )


def _cast_like(p: Any, like: Variable) -> Any:
    """``p`` in the dtype of ``like``'s data."""
    xp = namespace_of(like.data)
    return xp.astype(p, like.dtype)
