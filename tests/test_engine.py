"""The backward engine: order, accumulation, freeing, higher order, and ``axoncl.grad``."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, require_float64, var

import axoncl
from axoncl import Variable, engine


def test_axoncl_backward_is_the_engine_function_not_a_module():
    assert axoncl.backward is engine.backward
    assert axoncl.grad is engine.grad
    assert callable(axoncl.backward)


def test_chain_of_100000_ops_backpropagates_without_recursion():
    x = Variable(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()  # a recursive walk would overflow the stack long before this depth
    assert_close(x.grad, 1.0001**100_000, rtol=1e-9)


def test_value_used_several_times_gets_the_sum_of_its_gradients(xp):
    require_float64(xp)
    x = var(xp, [0.5, -1.0, 2.0])
    y = x * x * x + x * 2.0 - x  # d/dx = 3x² + 1
    y.sum().backward()
    assert_close(x.grad, 3 * np.array([0.5, -1.0, 2.0]) ** 2 + 1)


def test_diamond_graph_waits_for_both_branches_before_running_the_shared_node(xp):
    require_float64(xp)
    x = var(xp, 1.5)
    a = x * 2.0  # a = 2x, used by two branches
    b = a * a  # 4x²
    c = a.exp()  # e^(2x)
    (b + c).backward()  # d/dx = 8x + 2 e^(2x)
    assert_close(x.grad, 8 * 1.5 + 2 * np.exp(3.0))


def test_gradients_accumulate_in_grad_across_backward_calls(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, [3.0 + 2.0, 3.0 + 4.0])


def test_backward_of_several_outputs_sums_their_gradients(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    y1 = (x * x).sum()
    y2 = (x * 5.0).sum()
    axoncl.backward([y1, y2])
    assert_close(x.grad, [2.0 + 5.0, 4.0 + 5.0])


def test_backward_with_explicit_gradient_weights_each_output(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0, 3.0])
    (x * x).backward(var(xp, [1.0, 0.0, -2.0], requires_grad=False))
    assert_close(x.grad, [2.0, 0.0, -12.0])


def test_backward_of_a_leaf_puts_the_seed_in_its_grad(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    x.backward(var(xp, [3.0, 4.0], requires_grad=False))
    assert_close(x.grad, [3.0, 4.0])


def test_retain_graph_allows_a_second_backward(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    expected = 2 * (np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))  # d(x e^x) = e^x (1 + x)
    assert_close(x.grad, expected)


def test_second_backward_through_freed_buffers_raises(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="freed by an earlier backward.*retain_graph=True"):
        y.backward()


def test_backward_frees_saved_values():
    x = Variable(np.ones(3), requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node._freed and node._saved is None


def test_gradients_do_not_flow_into_values_that_do_not_require_grad(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    c = var(xp, [3.0, 4.0], requires_grad=False)
    (x * c).sum().backward()
    assert c.grad is None
    assert_close(x.grad, [3.0, 4.0])


def test_detached_branch_takes_no_gradient(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    y = (x * x.detach()).sum()  # only the first factor is differentiated: d/dx = x
    y.backward()
    assert_close(x.grad, [1.0, 2.0])


def test_hessian_vector_product_matches_closed_form(xp):
    require_float64(xp)
    # f(x) = Σ x³ + ½ xᵀ A x  ⇒  H = diag(6x) + (A + Aᵀ)/2
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    x0 = np.array([0.5, -1.0, 2.0])
    v0 = np.array([1.0, 2.0, -1.0])
    x = var(xp, x0)
    amat = var(xp, a, requires_grad=False)
    f = (x**3).sum() + (x @ (amat @ x)) * 0.5
    (g,) = axoncl.grad(f, x, create_graph=True)
    assert g.requires_grad
    (hv,) = axoncl.grad((g * var(xp, v0, requires_grad=False)).sum(), x)
    assert_close(hv, (np.diag(6 * x0) + (a + a.T) / 2) @ v0)
    assert x.grad is None  # axoncl.grad returns gradients; it does not accumulate them


def test_backward_with_create_graph_gives_differentiable_grads(xp):
    require_float64(xp)
    x = var(xp, [1.0, 3.0])
    (x**3).sum().backward(create_graph=True)
    first = x.grad  # 3x²
    assert first.requires_grad
    x.grad = None
    first.sum().backward()
    assert_close(x.grad, [6.0, 18.0])  # 6x


def test_third_derivative_through_nested_grad():
    x = Variable(np.array(2.0), requires_grad=True)
    (g1,) = axoncl.grad(x**4, x, create_graph=True)  # 4x³
    (g2,) = axoncl.grad(g1, x, create_graph=True)  # 12x²
    (g3,) = axoncl.grad(g2, x)  # 24x
    assert (float(g1), float(g2), float(g3)) == (32.0, 48.0, 48.0)


def test_grad_with_grad_outputs_weights_a_non_scalar_output(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0, 3.0])
    y = x * x
    (gx,) = axoncl.grad(y, x, grad_outputs=var(xp, [1.0, -1.0, 0.5], requires_grad=False))
    assert_close(gx, [2.0, -4.0, 3.0])


def test_grad_of_several_outputs_and_inputs(xp):
    require_float64(xp)
    x = var(xp, 2.0)
    w = var(xp, 3.0)
    y1 = x * w
    y2 = x * x
    gx, gw = axoncl.grad([y1, y2], [x, w])
    assert_close(gx, 3.0 + 4.0)
    assert_close(gw, 2.0)


def test_grad_allow_unused_returns_none_for_an_unused_input(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    unused = var(xp, [5.0])
    y = (x * x).sum()
    gx, gu = axoncl.grad(y, [x, unused], allow_unused=True, retain_graph=True)
    assert gu is None
    assert_close(gx, [2.0, 4.0])
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(1,\)\) was not used.*allow_unused"):
        axoncl.grad(y, [x, unused])


def test_grad_with_respect_to_a_non_leaf_input(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    h = x * 3.0  # non-leaf
    z = (h * h).sum()
    (gh,) = axoncl.grad(z, h, retain_graph=True)
    assert_close(gh, 2 * 3.0 * np.array([1.0, 2.0]))  # dz/dh = 2h
    (gx,) = axoncl.grad(z, x)
    assert_close(gx, 18.0 * np.array([1.0, 2.0]))  # dz/dx = 2h * 3 = 18x


def test_grad_leaves_grad_attributes_alone(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    h = x * 2.0
    h.retain_grad()
    axoncl.grad((h * h).sum(), x)
    assert x.grad is None and h.grad is None


def test_grad_retains_graph_by_default_only_with_create_graph():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    axoncl.grad(y, x, create_graph=True)
    axoncl.grad(y, x)  # the graph survived the create_graph call
    with pytest.raises(RuntimeError, match="freed"):
        axoncl.grad(y, x)


def test_gradient_of_integer_indexed_value_adds_repeats(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0, 3.0])
    idx = axoncl.asarray([0, 2, 0, 0], backend=xp, dtype="int64")
    x[idx].sum().backward()
    assert_close(x.grad, [3.0, 0.0, 1.0])
