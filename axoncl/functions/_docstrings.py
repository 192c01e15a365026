"""Docstrings of the differentiable elementwise ops and reductions, made from one table each.

These ops share their documentation's shape: a summary, the derivative backward uses, the
parameters, what they return and raise, and an example that checks the value and the gradient
against numpy's closed forms. Each op module calls :func:`document` on its own globals after
defining its functions; the examples run as doctests.
"""

from __future__ import annotations

from typing import Any

# name -> (summary, derivative in words, example input, numpy value of v, numpy derivative)
UNARY = {
    "abs": (
        "``|x|`` elementwise.",
        "``sign(x)`` (0 at 0)",
        "[-1.5, 2.0]",
        "np.abs(v)",
        "np.sign(v)",
    ),
    "exp": ("``e ** x`` elementwise.", "``exp(x)``", "[0.5, 2.0]", "np.exp(v)", "np.exp(v)"),
    "expm1": (
        "``exp(x) - 1`` elementwise, accurate near 0.",
        "``exp(x)``",
        "[1e-8, 2.0]",
        "np.expm1(v)",
        "np.exp(v)",
    ),
    "log": ("Natural logarithm, elementwise.", "``1 / x``", "[0.5, 2.0]", "np.log(v)", "1 / v"),
    "log1p": (
        "``log(1 + x)`` elementwise, accurate near 0.",
        "``1 / (1 + x)``",
        "[1e-8, 2.0]",
        "np.log1p(v)",
        "1 / (1 + v)",
    ),
    "negative": ("``-x`` elementwise.", "``-1``", "[-1.5, 2.0]", "-v", "-np.ones_like(v)"),
    "sign": (
        "The sign of each element: -1, 0 or 1.",
        "0 everywhere",
        "[-1.5, 2.0]",
        "np.sign(v)",
        "np.zeros_like(v)",
    ),
    "sqrt": (
        "Square root, elementwise.",
        "``1 / (2 sqrt(x))``",
        "[0.5, 2.0]",
        "np.sqrt(v)",
        "0.5 / np.sqrt(v)",
    ),
    "square": ("``x * x`` elementwise.", "``2 x``", "[-1.5, 2.0]", "v * v", "2 * v"),
    "tanh": (
        "Hyperbolic tangent, elementwise.",
        "``1 - tanh(x)**2``",
        "[-1.5, 2.0]",
        "np.tanh(v)",
        "1 - np.tanh(v) ** 2",
    ),
    "sigmoid": (
        "The logistic function ``1 / (1 + exp(-x))``, elementwise.",
        "``sigmoid(x) (1 - sigmoid(x))``",
        "[-1.5, 2.0]",
        "1 / (1 + np.exp(-v))",
        "np.exp(-v) / (1 + np.exp(-v)) ** 2",
    ),
    "erf": (
        "The error function, elementwise.",
        "``2 / sqrt(pi) exp(-x**2)``",
        "[-1.5, 0.5]",
        "np.vectorize(math.erf)(v)",
        "2 / np.sqrt(np.pi) * np.exp(-v * v)",
    ),
    "relu": (
        "``max(x, 0)`` elementwise.",
        "1 where ``x > 0``, else 0",
        "[-1.5, 2.0]",
        "np.maximum(v, 0)",
        "(v > 0).astype(float)",
    ),
    "silu": (
        "``x * sigmoid(x)`` elementwise (also called swish).",
        "``sigmoid(x) (1 + x (1 - sigmoid(x)))``",
        "[-1.5, 2.0]",
        "v / (1 + np.exp(-v))",
        "(1 + v * np.exp(-v) / (1 + np.exp(-v))) / (1 + np.exp(-v))",
    ),
}

# name -> (summary, derivatives in words, value of a and b, d/dx, d/dy)
BINARY = {
    "add": ("``x + y`` with broadcasting.", "1 and 1", "a + b", "1", "1"),
    "subtract": ("``x - y`` with broadcasting.", "1 and -1", "a - b", "1", "-1"),
    "multiply": ("``x * y`` with broadcasting.", "``y`` and ``x``", "a * b", "b", "a"),
    "divide": (
        "``x / y`` with broadcasting.",
        "``1 / y`` and ``-x / y**2``",
        "a / b",
        "1 / b",
        "-a / b**2",
    ),
    "pow": (
        "``x ** y`` with broadcasting.",
        "``y x**(y-1)`` and ``x**y log(x)``",
        "a**b",
        "b * a ** (b - 1)",
        "a**b * np.log(a)",
    ),
    "maximum": (
        "The larger of ``x`` and ``y``, elementwise, with broadcasting.",
        "1 to the larger input and 0 to the other (a tie gives each half)",
        "np.maximum(a, b)",
        "a > b",
        "b > a",
    ),
    "minimum": (
        "The smaller of ``x`` and ``y``, elementwise, with broadcasting.",
        "1 to the smaller input and 0 to the other (a tie gives each half)",
        "np.minimum(a, b)",
        "a < b",
        "b < a",
    ),
}

# name -> (summary, derivative in words, value along axis 0, derivative)
REDUCTION = {
    "sum": (
        "Sum over ``axis`` (all axes by default).",
        "1 for each element",
        "v.sum(0)",
        "np.ones_like(v)",
    ),
    "mean": (
        "Mean over ``axis`` (all axes by default).",
        "``1 / n``",
        "v.mean(0)",
        "np.full_like(v, 0.5)",
    ),
    "prod": (
        "Product over ``axis`` (all axes by default).",
        "the product of the other elements",
        "v.prod(0)",
        "v.prod(0) / v",
    ),
    "max": (
        "Maximum over ``axis`` (all axes by default).",
        "1 at the maximum (shared equally between ties), 0 elsewhere",
        "v.max(0)",
        "(v == v.max(0)).astype(float)",
    ),
    "min": (
        "Minimum over ``axis`` (all axes by default).",
        "1 at the minimum (shared equally between ties), 0 elsewhere",
        "v.min(0)",
        "(v == v.min(0)).astype(float)",
    ),
    "logsumexp": (
        "``log(sum(exp(x)))`` over ``axis``, without overflow.",
        "``softmax(x)`` along ``axis``",
        "np.log(np.exp(v).sum(0))",
        "np.exp(v) / np.exp(v).sum(0)",
    ),
    "var": (
        "Variance over ``axis``: ``sum((x - mean)**2) / (n - correction)``.",
        "``2 (x - mean) / (n - correction)``",
        "v.var(0)",
        "v - v.mean(0)",
    ),
    "std": (
        "Standard deviation over ``axis``: the square root of :func:`var`.",
        "``(x - mean) / ((n - correction) std)``",
        "v.std(0)",
        "(v - v.mean(0)) / (2 * v.std(0))",
    ),
}

_TYPE_ERROR = [
    "TypeError",
    "    When an input is neither a ``Variable``, an array of an array-API namespace, nor a",
    "    Python scalar, or the inputs' arrays come from different libraries.",
]
_X = [
    "x : Variable or array",
    "    An array of any array-API namespace, or a ``Variable`` wrapping one.",
]
_HEAD = [
    "Examples",
    "--------",
    ">>> import math",
    ">>> import numpy as np",
    ">>> import axoncl",
]


def _checks(value: str, grad: str) -> list[str]:
    """Example lines: backward from ``y.sum()``, then ``y`` and ``x.grad`` against numpy."""
    return [
        ">>> y.sum().backward()",
        f">>> bool(np.allclose(y.numpy(), {value}))",
        "True",
        f">>> bool(np.allclose(x.grad.numpy(), {grad}))",
        "True",
    ]


def _unary(name: str) -> str:
    summary, derivative, data, value, grad = UNARY[name]
    return "\n".join(
        [
            summary,
            "",
            "Differentiable, on any backend: the forward calls the input's array namespace, and",
            f"backward multiplies the incoming gradient by the derivative, {derivative}.",
            "",
            "Parameters",
            "----------",
            *_X,
            "",
            "Returns",
            "-------",
            "Variable",
            "    Same shape and dtype as ``x``; recorded in the graph when ``x`` requires grad.",
            "",
            "Raises",
            "------",
            *_TYPE_ERROR,
            "",
            *_HEAD,
            f">>> v = np.array({data})",
            ">>> x = axoncl.Variable(v, requires_grad=True)",
            f">>> y = axoncl.{name}(x)",
            *_checks(value, grad),
        ]
    )


def _binary(name: str) -> str:
    summary, derivative, value, dx, dy = BINARY[name]
    return "\n".join(
        [
            summary,
            "",
            "Differentiable, on any backend. The derivatives with respect to ``x`` and ``y`` are",
            f"{derivative}; a broadcast input's gradient is summed back to its shape.",
            "",
            "Parameters",
            "----------",
            "x, y : Variable, array or Python scalar",
            "    Arrays of one array-API namespace (or ``Variable`` objects wrapping them) whose",
            "    shapes broadcast together; a Python scalar takes the other's dtype.",
            "",
            "Returns",
            "-------",
            "Variable",
            "    The broadcast shape, the promoted dtype.",
            "",
            "Raises",
            "------",
            *_TYPE_ERROR,
            "ValueError",
            "    When the shapes do not broadcast together.",
            "",
            *_HEAD,
            ">>> a, b = np.array([0.5, 2.0]), np.array([1.5, 1.0])",
            ">>> x = axoncl.Variable(a, requires_grad=True)",
            ">>> y = axoncl.Variable(b, requires_grad=True)",
            f">>> z = axoncl.{name}(x, y)",
            ">>> z.sum().backward()",
            f">>> bool(np.allclose(z.numpy(), {value}))",
            "True",
            f">>> bool(np.allclose(x.grad.numpy(), {dx})), bool(np.allclose(y.grad.numpy(), {dy}))",
            "(True, True)",
        ]
    )


def _reduction(name: str) -> str:
    summary, derivative, value, grad = REDUCTION[name]
    correction = name in ("var", "std")
    return "\n".join(
        [
            summary,
            "",
            "Differentiable, on any backend. Backward spreads the incoming gradient back over the",
            f"reduced axes, times the derivative: {derivative}.",
            "",
            "Parameters",
            "----------",
            *_X,
            "axis : int, tuple of int or None",
            "    The axes to reduce; negative values count from the end; ``None``: all of them.",
            "keepdims : bool",
            "    Keep the reduced axes as axes of size 1.",
            *(
                [
                    "correction : float",
                    "    Subtracted from the number of elements in the divisor (0: the population",
                    "    statistic, 1: the sample statistic).",
                ]
                if correction
                else []
            ),
            "",
            "Returns",
            "-------",
            "Variable",
            "    ``x``'s shape without the reduced axes (or with them as 1), ``x``'s dtype.",
            "",
            "Raises",
            "------",
            *_TYPE_ERROR,
            "ValueError",
            "    When an axis is out of range for ``x``'s number of dimensions.",
            "",
            *_HEAD,
            ">>> v = np.array([[1.0, 2.0], [3.0, 5.0]])",
            ">>> x = axoncl.Variable(v, requires_grad=True)",
            f">>> y = axoncl.{name}(x, axis=0)",
            ">>> y.shape",
            "(2,)",
            *_checks(value, grad),
        ]
    )


def document(namespace: dict[str, Any]) -> None:
    """Give each op of the tables defined in ``namespace`` (a module's globals) its docstring."""
    for table, make in ((UNARY, _unary), (BINARY, _binary), (REDUCTION, _reduction)):
        for name in table:
            function = namespace.get(name)
            if (
                function is not None
                and getattr(function, "__module__", None) == namespace["__name__"]
            ):
                function.__doc__ = make(name) + "\n"
