"""gradcheck itself: it catches a wrong rule and says where, and its two call forms."""

from __future__ import annotations

import re

import numpy as np
import pytest
from xp_backends import require_float64, var

from axoncl import Function, GradcheckError, Variable, gradcheck, gradgradcheck, numerical_gradient
from axoncl.graph import registry


class _WrongSquare(Function):
    """``x²`` with a wrong backward (``x`` instead of ``2x``). The leading underscore keeps it
    out of the registry."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.multiply(x, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        return (grad * x,)


class _WrongSecondInput(Function):
    """``x * y`` whose gradient for ``y`` is off by one in every element."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return ctx.xp.multiply(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_values
        return grad * y, grad * x + 1.0


def test_private_functions_stay_out_of_the_registry():
    assert "_wrong_square" not in registry and "wrong_square" not in registry


def test_wrong_rule_is_caught_with_input_index_and_both_values(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0, 3.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda v: _WrongSquare.apply(v).sum(), [x])
    message = str(info.value)
    # The worst element is the last one: analytical 3 (x), numerical 6 (2x).
    assert re.search(r"input 0\b", message), message
    assert "index (2,)" in message, message
    assert re.search(r"analytical [^,]*3\.0", message), message
    assert re.search(r"numerical [^,(]*6\.0", message), message
    assert "atol" in message and "rtol" in message


def test_wrong_gradient_of_the_second_input_names_input_1():
    x = Variable(np.array([[1.0, 2.0]]), requires_grad=True)
    y = Variable(np.array([[3.0, 4.0]]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 1: .*index \(0, 0\)"):
        gradcheck(lambda a, b: _WrongSecondInput.apply(a, b).sum(), [x, y])


def test_wrong_rule_returns_false_without_raise_exception():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    assert gradcheck(lambda v: _WrongSquare.apply(v), [x], raise_exception=False) is False


def test_gradgradcheck_catches_a_wrong_rule_used_under_create_graph():
    x = Variable(np.array([0.5, 1.5]), requires_grad=True)
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda v: _WrongSquare.apply(v).sum() * v.sum(), [x])


def test_gradcheck_checks_only_inputs_that_require_grad():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    c = Variable(np.array([3.0, 4.0]))
    assert gradcheck(lambda a, b: (a * b).sum(), [x, c])
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda b: b.sum(), [c])


def test_non_scalar_output_is_reduced_with_random_weights():
    x = Variable(np.array([[0.3, -0.2], [1.1, 0.4]]), requires_grad=True)
    assert gradcheck(lambda v: v.exp() * v, [x])


def test_crate_array_form_compares_two_arrays():
    analytical = np.array([4.0, 6.0])
    assert gradcheck(analytical, np.array([4.0 + 1e-7, 6.0 - 1e-7]), 1e-5, 1e-3)
    assert gradcheck(Variable(analytical), analytical)  # default tolerances
    assert not gradcheck(analytical, np.array([4.0, 6.1]), 1e-5, 1e-3, raise_exception=False)
    with pytest.raises(GradcheckError, match=r"index \(1,\): analytical .*6\.0.*numerical .*6\.1"):
        gradcheck(analytical, np.array([4.0, 6.1]), 1e-5, 1e-3)


def test_crate_array_form_uses_atol_then_rtol():
    # |a - n| = 0.5, n = 100: passes by rtol 1e-2 (1.0 allowed), fails by atol alone.
    assert gradcheck(np.array([100.5]), np.array([100.0]), 0.0, 1e-2)
    assert not gradcheck(np.array([100.5]), np.array([100.0]), 0.1, 0.0, raise_exception=False)


def test_numerical_gradient_matches_closed_form(xp):
    require_float64(xp)
    x = var(xp, [0.5, -1.0, 2.0], requires_grad=False)
    got = numerical_gradient(lambda v: v.exp().sum(), x)
    np.testing.assert_allclose(got, np.exp([0.5, -1.0, 2.0]), rtol=1e-7)
    cubic = numerical_gradient(lambda v: (v * v * v).sum(), np.array([[1.0, -2.0]]))
    np.testing.assert_allclose(cubic, [[3.0, 12.0]], rtol=1e-7)
    assert cubic.shape == (1, 2) and cubic.dtype == np.float64
