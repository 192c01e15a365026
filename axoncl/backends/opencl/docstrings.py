"""Docstrings of the elementwise functions, made from their table entries (:mod:`.elementwise`).

Each of the standard's elementwise functions has the same shape of documentation: the one-line
summary of its table entry, a link to the standard's page (its full semantics and special
cases), the dtypes this namespace accepts and returns for its rule, what raises, and an example
that compares the result with numpy's function of the same name. The examples run as doctests.
"""

from __future__ import annotations

_STANDARD = "https://data-apis.org/array-api/2023.12/API_specification/generated/array_api.{}.html"

# rule -> (accepted dtypes, result dtype, the TypeError the rule raises or None)
_RULES = {
    "float": (
        "any numeric dtype; integer and bool inputs are cast to the default floating dtype",
        "floating: the input's, or the default floating dtype (float32; float64 needs fp64)",
        None,
    ),
    "numeric": ("integer or floating", "the (promoted) input dtype", "the input is bool"),
    "rounding": (
        "integer or floating (an integer input is returned unchanged, as a copy)",
        "the input dtype",
        None,
    ),
    "predicate": ("any", "bool", None),
    "integral": ("integer or bool", "the (promoted) input dtype", "the input is floating"),
    "logical": ("any; each value is taken as ``value != 0``", "bool", None),
    "any": ("any", "the (promoted) input dtype", None),
    "order": ("integer or floating", "bool", "the inputs are bool"),
    "equality": ("any", "bool", None),
    "shift": ("integer", "the promoted input dtype", "the inputs are not integers"),
}

# Example inputs by rule; a name with its own domain has its own line.
_UNARY_INPUT = {
    "float": "[0.25, 0.5]",
    "numeric": "[-1.5, 2.0]",
    "rounding": "[-1.5, 2.5]",
    "predicate": "[-1.0, float('inf'), float('nan')]",
    "integral": "[1, 6]",
    "logical": "[True, False]",
    "any": "[-1.5, 2.0]",
    "acosh": "[1.5, 2.0]",
}
_BINARY_INPUT = {
    "float": ("[0.25, 0.5]", "[1.5, -2.0]"),
    "numeric": ("[7.0, -3.5]", "[2.0, 4.0]"),
    "integral": ("[12, 5]", "[10, 3]"),
    "shift": ("[12, 5]", "[1, 2]"),
    "logical": ("[True, False]", "[True, True]"),
    "any": ("[1.0, 5.0]", "[2.0, -1.0]"),
    "order": ("[1.0, 2.0]", "[2.0, 2.0]"),
    "equality": ("[1.0, 2.0]", "[2.0, 2.0]"),
}


def _raises(name: str, arity: int, rule: str) -> list[str]:
    lines = ["Raises", "------", "TypeError"]
    if arity == 1:
        lines.append("    When ``x`` is not an OpenCL array (a ``CLArray``).")
    else:
        lines.append(
            "    When neither argument is an OpenCL array, or the other is neither an OpenCL "
            "array nor a Python scalar."
        )
    dtype_error = _RULES[rule][2]
    if dtype_error:
        lines += ["TypeError", f"    When {dtype_error}."]
    if arity == 2:
        lines += [
            "ValueError",
            "    When the shapes do not broadcast together, or the arrays live on different "
            "devices.",
        ]
    return lines


def _example(name: str, arity: int, rule: str) -> list[str]:
    lines = [
        "Examples",
        "--------",
        ">>> import numpy as np",
        ">>> import axoncl.backends.opencl as xp",
    ]
    if arity == 1:
        lines += [
            f">>> x = xp.asarray({_UNARY_INPUT.get(name, _UNARY_INPUT[rule])})",
            f">>> y = xp.{name}(x)",
            f">>> expected = np.{name}(x.to_numpy())",
        ]
    else:
        first, second = _BINARY_INPUT[rule]
        lines += [
            f">>> x1, x2 = xp.asarray({first}), xp.asarray({second})",
            f">>> y = xp.{name}(x1, x2)",
            f">>> expected = np.{name}(x1.to_numpy(), x2.to_numpy())",
        ]
    lines += [
        ">>> y.shape, str(y.dtype) == str(expected.dtype)",
        "((2,), True)" if rule != "predicate" else "((3,), True)",
        ">>> bool(np.allclose(y.to_numpy(), expected, equal_nan=True))",
        "True",
    ]
    return lines


def elementwise_doc(name: str, arity: int, rule: str, summary: str) -> str:
    """The docstring of the elementwise function ``name`` with one or two arguments."""
    accepted, result, _ = _RULES[rule]
    if arity == 1:
        parameters = ["x : CLArray", f"    Input array; dtype: {accepted}."]
    else:
        parameters = [
            "x1, x2 : CLArray or Python scalar",
            f"    At least one an OpenCL array; shapes broadcast together; dtype: {accepted}.",
            "    A Python scalar takes the array's dtype (the standard's rule).",
        ]
    lines = [
        summary,
        "",
        f"The array API standard's [`{name}`]({_STANDARD.format(name)}), on the array's OpenCL",
        "device: one kernel launch of the elementwise family (``kernels/elementwise.cl``), queued",
        "without waiting.",
        "",
        "Parameters",
        "----------",
        *parameters,
        "",
        "Returns",
        "-------",
        "CLArray",
        f"    A new contiguous array on the same device; dtype: {result}.",
        "",
        *_raises(name, arity, rule),
        "",
        *_example(name, arity, rule),
    ]
    return "\n".join(lines) + "\n"
