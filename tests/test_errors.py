"""Bad input: each error has the right type and names what was expected and what arrived."""

from __future__ import annotations

import re

import numpy as np
import pytest
from xp_backends import require_float64, to_xp, var

import axoncl
from axoncl import Variable


def raises(kind, *fragments):
    """``pytest.raises(kind)`` whose message must contain every fragment, in order."""
    return pytest.raises(kind, match=".*".join(re.escape(f) for f in fragments))


@pytest.mark.parametrize(
    "op", [axoncl.add, axoncl.subtract, axoncl.multiply, axoncl.divide, axoncl.maximum, axoncl.pow]
)
def test_shape_mismatch_names_both_shapes(xp, op):
    require_float64(xp)
    a = var(xp, np.ones((2, 3)))
    b = var(xp, np.ones((4,)))
    with raises(ValueError, "expected shapes that broadcast together", "(2, 3) and (4,)"):
        op(a, b)


def test_backward_on_a_non_scalar_without_gradient_raises(xp):
    require_float64(xp)
    y = var(xp, [1.0, 2.0]) * 2.0
    with raises(RuntimeError, "backward", "one element", "(2,)", "gradient="):
        y.backward()


def test_gradient_of_the_wrong_shape_raises(xp):
    require_float64(xp)
    y = var(xp, [1.0, 2.0]) * 2.0
    with raises(ValueError, "expected a gradient of shape (2,)", "got (3,)"):
        y.backward(var(xp, [1.0, 1.0, 1.0], requires_grad=False))


def test_grad_outputs_of_the_wrong_shape_raise():
    x = Variable(np.ones(2), requires_grad=True)
    with raises(ValueError, "grad: expected a gradient of shape (2,)", "got (2, 1)"):
        axoncl.grad(x * 2.0, x, grad_outputs=Variable(np.ones((2, 1))))


def test_second_backward_through_freed_buffers_raises_with_the_fix():
    x = Variable(np.ones(2), requires_grad=True)
    y = (x.exp() * 2.0).sum()
    y.backward()
    with raises(RuntimeError, "freed by an earlier backward()", "retain_graph=True"):
        y.backward()


def test_requires_grad_on_an_integer_array_raises(xp):
    data = to_xp(xp, [1, 2], "int64")
    with raises(TypeError, "only floating-point", "int64"):
        Variable(data, requires_grad=True)
    v = Variable(data)
    with raises(TypeError, "only floating-point", "int64"):
        v.requires_grad = True


def test_backward_on_a_value_that_does_not_require_grad_raises():
    with raises(RuntimeError, "does not require grad"):
        (Variable(np.ones(1)) * 2.0).backward()


def test_two_backends_in_one_op_name_both():
    a = Variable(np.ones(2))
    b = Variable(to_xp(axoncl.get_backend("array_api_strict"), np.ones(2)))
    with raises(TypeError, "cannot mix numpy and array_api_strict", ".to('numpy')"):
        a * b
    with raises(TypeError, "cannot mix array_api_strict and numpy"):
        axoncl.add(b, a)


def test_binary_cross_entropy_outside_unit_interval_raises(xp):
    require_float64(xp)
    p = var(xp, [0.5, 1.5, -0.25])
    t = var(xp, [0.0, 1.0, 1.0], requires_grad=False)
    with raises(ValueError, "binary_cross_entropy", "[0, 1]", "[-0.25, 1.5]", "with_logits"):
        axoncl.binary_cross_entropy(p, t)


def test_loss_with_mismatched_target_shape_raises(xp):
    require_float64(xp)
    x = var(xp, np.ones((2, 3)))
    with raises(ValueError, "mse_loss", "same shape", "(2, 3)", "(3,)"):
        axoncl.mse_loss(x, var(xp, np.ones(3), requires_grad=False))


def test_matmul_inner_dimension_mismatch_raises(xp):
    require_float64(xp)
    x = var(xp, np.ones((2, 3)))
    w = var(xp, np.ones((4, 5)))
    with raises(ValueError, "matmul", "x.shape[-1] == y.shape[-2]", "(2, 3)", "(4, 5)"):
        x @ w


def test_matmul_of_a_0d_operand_raises():
    with raises(ValueError, "matmul", "at least 1 dimension", "()"):
        Variable(np.array(2.0)) @ Variable(np.ones(2))


def test_reshape_size_mismatch_raises(xp):
    require_float64(xp)
    x = var(xp, np.ones((2, 3)))
    with raises(ValueError, "reshape", "(2, 3)", "6 elements", "(4, 2)"):
        x.reshape(4, 2)


def test_cross_entropy_target_shape_raises(xp):
    require_float64(xp)
    logits = var(xp, np.zeros((4, 3)))
    target = Variable(to_xp(xp, [0, 1, 2], "int64"))
    with raises(ValueError, "cross_entropy", "target of shape (4,)", "(4, 3)", "got (3,)"):
        axoncl.cross_entropy(logits, target)


def test_cross_entropy_float_target_raises(xp):
    require_float64(xp)
    logits = var(xp, np.zeros((2, 3)))
    with raises(TypeError, "cross_entropy", "integer class indices", "float"):
        axoncl.cross_entropy(logits, var(xp, [0.0, 1.0], requires_grad=False))


def test_unknown_reduction_raises():
    x = Variable(np.ones(2), requires_grad=True)
    with raises(ValueError, "mse_loss", "reduction in", "'avg'"):
        axoncl.mse_loss(x, Variable(np.ones(2)), reduction="avg")


def test_reduction_axis_out_of_range_raises():
    with raises(ValueError, "sum", "axis 2", "2 dimensions"):
        Variable(np.ones((2, 3))).sum(axis=2)


def test_squeeze_of_a_longer_axis_raises():
    with raises(ValueError, "squeeze", "axis 1 has size 3, expected 1"):
        Variable(np.ones((1, 3))).squeeze(axis=1)


def test_concat_shape_mismatch_raises():
    with raises(ValueError, "concat", "except on axis 0", "(1, 2)", "(1, 3)"):
        axoncl.concat([Variable(np.ones((1, 2))), Variable(np.ones((1, 3)))])


def test_non_array_input_raises():
    with raises(TypeError, "expected an array-API array", "str"):
        axoncl.exp(Variable("text"))


def test_unknown_backend_name_raises():
    with raises(ValueError, "get_backend", "expected one of", "'tensorflow'"):
        axoncl.get_backend("tensorflow")


def test_gelu_unknown_approximation_raises():
    with raises(ValueError, "gelu", "'none' or 'tanh'", "'fast'"):
        axoncl.gelu(Variable(np.ones(2)), approximate="fast")
