"""Function.apply and Node: what a recorded op keeps, scalar operands, custom rules."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, to_xp

import axoncl
from axoncl import Function, Variable
from axoncl.graph import LeafEdge, Node, registry


def test_recorded_node_knows_its_op_inputs_and_output():
    x = Variable(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    c = Variable(np.ones((2, 3), dtype=np.float32))
    y = x * 2.0
    z = y + c
    node = z.grad_fn
    assert isinstance(node, Node) and node.name == "add"
    assert node.next_functions[0] is y.grad_fn and node.next_functions[1] is None
    assert node.needs_input_grad == (True, False)
    assert node.out_shape == (2, 3) and node.out_dtype == np.float32
    assert isinstance(y.grad_fn.edges[0], LeafEdge) and y.grad_fn.edges[0].variable is x
    assert "Multiply" in repr(y.grad_fn)


def test_python_scalars_take_the_dtype_of_the_array(xp):
    x = Variable(to_xp(xp, [1.0, 2.0], "float32"), requires_grad=True)
    for y in (x * 2.0, 2.0 * x, x + 1, x**2.0, 1.0 - x, x / 3):
        assert y.dtype == x.dtype, y


def test_integer_array_with_a_float_scalar_gives_a_default_float():
    y = Variable(np.array([1, 2])) * 0.5
    assert y.numpy().tolist() == [0.5, 1.0]


def test_options_become_attributes_of_ctx():
    y = Variable(np.ones((2, 3)), requires_grad=True).sum(axis=1, keepdims=True)
    assert y.grad_fn.axis == 1 and y.grad_fn.keepdims is True and y.shape == (2, 1)


def test_graph_keeps_only_saved_inputs():
    x = Variable(np.ones(3), requires_grad=True)
    y = x + 1.0  # add saves nothing
    assert all(v is None for v in y.grad_fn._inputs)
    z = x * x
    assert z.grad_fn._inputs[0] is x


class _Cube(Function):
    """``x³`` for the custom-rule tests; the underscore keeps it out of the registry."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values  # 3x²
        return (grad * x * x * 3.0,)


def test_custom_function_gets_gradients_and_second_derivatives():
    x = Variable(np.array([1.0, -2.0]), requires_grad=True)
    assert axoncl.gradcheck(lambda v: _Cube.apply(v).sum(), [x])
    assert axoncl.gradgradcheck(lambda v: _Cube.apply(v).sum(), [x])


def test_public_subclass_registers_under_its_snake_case_name():
    class ScaledTanh(Function):
        @staticmethod
        def forward(ctx, x):
            return ctx.xp.tanh(x) * ctx.scale

        @staticmethod
        def backward(ctx, grad):
            return (grad * ctx.scale,)  # deliberately simplified; only the name matters here

    try:
        assert registry["scaled_tanh"] is ScaledTanh and ScaledTanh.name == "scaled_tanh"
    finally:
        registry.pop("scaled_tanh", None)


def test_needs_input_grad_tells_backward_which_inputs_want_a_gradient():
    seen = []

    class _Probe(Function):
        @staticmethod
        def forward(ctx, x, y):
            return ctx.xp.multiply(x, y)

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return (
                grad if ctx.needs_input_grad[0] else None,
                grad if ctx.needs_input_grad[1] else None,
            )

    x = Variable(np.ones(2), requires_grad=True)
    _Probe.apply(x, Variable(np.ones(2))).sum().backward()
    assert seen == [(True, False)]


def test_backward_returning_the_wrong_number_of_gradients_raises():
    class _TooMany(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    x = Variable(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="_too_many.backward returned 2 gradients for 1"):
        _TooMany.apply(x).sum().backward()


def test_backward_returning_a_gradient_of_the_wrong_shape_raises():
    class _BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return (grad.reshape(1, 2),)

    x = Variable(np.ones(2), requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"gradient of shape \(1, 2\) for a leaf of shape "
        r"\(2,\)",
    ):
        _BadShape.apply(x).sum().backward()
    y = Variable(np.ones(2), requires_grad=True) * 1.0
    with pytest.raises(
        RuntimeError,
        match=r"produced a gradient of shape \(1, 2\) for an input "
        r"of shape \(2,\)",
    ):
        _BadShape.apply(y).sum().backward()


def test_python_value_arguments_pass_through_to_forward():
    y = axoncl.clip(Variable(np.array([-2.0, 0.5, 3.0]), requires_grad=True), -1.0, 1.0)
    assert_close(y, [-1.0, 0.5, 1.0])
    assert y.grad_fn.lo == -1.0 and y.grad_fn.hi == 1.0
