"""shadow(): a planted wrong kernel or backward is named with its op and creation site; a
correct model reports nothing."""

import numpy as np
import pytest

from axoncl import Function, Variable, graph
from axoncl import functions as F
from axoncl.backends import backend_name, primitives, to_backend
from axoncl.inspect import shadow, tolerance_for

xps = pytest.importorskip("array_api_strict")


def strict_inputs(seed=0, dtype="float32"):
    rng = np.random.default_rng(seed)

    def var(*shape, requires_grad=True, scale=1.0):
        data = (rng.normal(size=shape) * scale).astype(dtype)
        return Variable(to_backend(data, "array_api_strict"), requires_grad=requires_grad)

    x = var(8, 6, requires_grad=False)
    w1, b1 = var(6, 10, scale=0.4), var(10, scale=0.1)
    w2, b2 = var(10, 4, scale=0.3), var(4, scale=0.1)
    target = to_backend(rng.integers(0, 4, size=8), "array_api_strict")
    return x, w1, b1, w2, b2, target


def classifier(x, w1, b1, w2, b2, target):
    h = (x @ w1 + b1).tanh()
    probs = (h @ w2 + b2).softmax(axis=-1)
    return -(probs * F.sum(probs, axis=0)).mean() + F.cross_entropy(h @ w2, target)


def test_correct_model_reports_nothing():
    inputs = strict_inputs()
    report = shadow(classifier, *inputs)
    assert report.ok and report.divergence is None, str(report)
    assert (report.backend, report.reference) == ("array_api_strict", "numpy")
    assert report.ops > 10 and report.compared > report.ops
    assert "no divergence" in str(report)
    assert all(v.grad is None for v in inputs[1:5])  # the user's Variables are untouched
    assert not graph._TRACK_SITES[0] and not graph._INSPECT_HOOKS


def test_planted_wrong_softmax_kernel_is_named_with_its_site():
    def wrong_softmax(x, *, axis, xp):
        return primitives.softmax.portable(x, axis=axis, xp=xp) + 1e-2

    primitives.softmax.register("array_api_strict")(wrong_softmax)
    try:
        report = shadow(classifier, *strict_inputs())
    finally:
        primitives.softmax.unregister("array_api_strict")
    found = report.divergence
    assert found is not None and not report
    assert (found.phase, found.op, found.shape) == ("forward", "softmax", (8, 4))
    assert found.creation_site.endswith(f"{__file__.rsplit('/', 1)[-1]}:{_softmax_line()}")
    assert found.max_abs_error == pytest.approx(1e-2, rel=1e-3)
    assert found.value.mean == pytest.approx(found.reference.mean + 1e-2, rel=1e-3)
    assert "softmax" in str(report) and "first divergence" in str(report)


def _softmax_line():
    import inspect

    source, start = inspect.getsourcelines(classifier)
    return start + next(i for i, line in enumerate(source) if ".softmax(" in line)


class _ScaledSquare(Function):
    """x², whose backward is 10% off on array_api_strict only: a planted wrong gradient."""

    name = "scaled_square"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        factor = 2.2 if backend_name(ctx.xp) == "array_api_strict" else 2.0
        return (grad * x * factor,)


def test_planted_wrong_backward_is_named_in_the_backward_phase():
    x, w1, b1, *_ = strict_inputs(1)

    def model(x, w1, b1):
        return _ScaledSquare.apply((x @ w1 + b1).tanh()).sum()

    report = shadow(model, x, w1, b1)
    found = report.divergence
    assert found is not None
    assert (found.phase, found.op, found.input_index) == ("backward", "scaled_square", 0)
    assert "test_inspect_shadow.py:" in found.creation_site


def test_float64_inputs_use_tight_tolerances():
    assert tolerance_for("float64")[0] < tolerance_for("float32")[0] < tolerance_for("float16")[0]
    inputs = strict_inputs(2, dtype="float64")
    assert shadow(classifier, *inputs).ok


def test_numpy_inputs_against_numpy_reference():
    rng = np.random.default_rng(3)
    w = Variable(rng.normal(size=(3, 3)).astype(np.float32), requires_grad=True)
    report = shadow(lambda w, k: (w @ w).relu().sum() * k, w, 2.0)
    assert report.ok and report.backend == "numpy"


def test_backend_dependent_graphs_raise():
    x, w1, *_ = strict_inputs(4)

    def branches(x, w):
        y = x @ w
        return y.sum() if backend_name(y.xp) == "numpy" else y.exp().sum()

    with pytest.raises(RuntimeError, match="different graphs"):
        shadow(branches, x, w1)


def test_result_without_grad_raises():
    x, *_ = strict_inputs(5)
    with pytest.raises(ValueError, match="requires_grad"):
        shadow(lambda x: x.sum(), x)
