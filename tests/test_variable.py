"""``Variable``: leaves, hooks, retain_grad, detach, data access, moving between backends, and the
original crate's examples and method names."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, require_float64, to_xp, var

import axoncl
from axoncl import Variable
from axoncl.backends import backend_name


# -- the original crate's examples ----------------------------------------------------------
def test_crate_example_square_sum(xp):
    require_float64(xp)
    x = var(xp, [2.0, 3.0])
    x.pow(2.0).sum().backward()
    assert_close(x.grad, [4.0, 6.0])


def test_crate_example_chain_rule_through_a_product(xp):
    require_float64(xp)
    a = var(xp, 2.0)
    b = var(xp, 3.0)
    c = a * b
    d = c * c  # L = (ab)²: dL/da = 2ab·b = 36, dL/db = 2ab·a = 24
    d.backward()
    assert (a.grad.item(), b.grad.item()) == (36.0, 24.0)


def test_crate_example_linear_layer_gradient_shapes(xp):
    require_float64(xp)
    rng = np.random.default_rng(0)
    x = var(xp, rng.standard_normal((2, 3)), requires_grad=False)
    w = var(xp, rng.standard_normal((3, 4)))
    b = var(xp, rng.standard_normal(4))
    y = x.matmul(w) + b
    y.sum().backward()
    assert w.grad.shape == (3, 4) and b.grad.shape == (4,)
    assert_close(w.grad, np.repeat(x.numpy().sum(axis=0)[:, None], 4, axis=1))
    assert_close(b.grad, [2.0, 2.0, 2.0, 2.0])


def test_crate_method_names(xp):
    require_float64(xp)
    t = var(xp, [0.0, 1.0], requires_grad=False)

    def model(x, w):
        hidden = x.add_var(t).relu().sigmoid()  # σ(relu(x + t))
        p = hidden.reshape(1, 2).matmul(w).sigmoid().reshape(1)
        return p.binary_cross_entropy(t[1:]) + x.pow(2.0).mse_loss(t).sum()

    x = var(xp, [0.2, 0.7])
    w = var(xp, [[0.5], [-0.3]])
    model(x, w).backward()
    assert x.grad.shape == x.shape and w.grad.shape == w.shape
    assert axoncl.gradcheck(model, [x, w])


# -- leaves and graph state ----------------------------------------------------------------
def test_leaves_and_results():
    x = Variable(np.ones(2), requires_grad=True)
    y = x * 2.0
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and y.requires_grad and y.grad_fn.name == "multiply"
    assert Variable(np.ones(2)).requires_grad is False


def test_result_of_values_without_grad_records_nothing():
    y = Variable(np.ones(2)) * 2.0
    assert y.grad_fn is None and not y.requires_grad


def test_nested_lists_and_scalars_become_numpy_arrays():
    assert Variable([[1.0, 2.0]]).shape == (1, 2)
    assert Variable(3.0).shape == () and Variable(3.0).backend == "numpy"


def test_non_leaf_grad_is_not_kept_without_retain_grad():
    x = Variable(np.ones(2), requires_grad=True)
    y = x * 2.0
    y.sum().backward()
    assert y.grad is None


def test_retain_grad_keeps_a_non_leaf_grad(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    y = x * 3.0
    y.retain_grad()
    (y * y).sum().backward()
    assert_close(y.grad, [6.0, 12.0])  # 2y
    assert y.grad.grad_fn is None


def test_retained_grad_accumulates_across_backward_calls():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    assert_close(y.grad, 2 * 2 * np.array([3.0, 6.0]))  # twice 2y


# -- hooks ---------------------------------------------------------------------------------
def test_hook_on_a_leaf_replaces_its_gradient(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    x.register_hook(lambda g: g * 10.0)
    (x * x).sum().backward()
    assert_close(x.grad, [20.0, 40.0])


def test_hook_on_a_non_leaf_changes_what_flows_upstream(xp):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    y = x * 2.0
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy()))  # observes, returns None
    y.register_hook(lambda g: g * 0.0 + 1.0)  # replaces with ones
    (y * y).sum().backward()
    assert_close(seen[0], [4.0, 8.0])  # 2y, before the replacing hook
    assert_close(x.grad, [2.0, 2.0])  # ones through d(2x)/dx


def test_hook_on_a_leaf_used_several_times_sees_its_whole_gradient_once():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().tolist()))
    (x * x + x).sum().backward()  # three uses of x: 2x + 1 in all
    assert seen == [[3.0, 5.0]]


def test_removed_hook_is_not_called():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    calls = []
    remove = x.register_hook(lambda g: calls.append(1))
    remove()
    (x * x).sum().backward()
    assert calls == []
    remove()  # removing twice is harmless


def test_hook_on_a_value_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Variable(np.ones(2)).register_hook(lambda g: g)


# -- detach, zero_grad, item, numpy, to ----------------------------------------------------
def test_detach_shares_data_and_leaves_the_graph():
    x = Variable(np.ones(2), requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert d.data is y.data and d.grad_fn is None and not d.requires_grad


def test_zero_grad_forgets_the_gradient():
    x = Variable(np.ones(2), requires_grad=True)
    (x * 2.0).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    assert_close(x.grad, [3.0, 3.0])


def test_item_returns_a_python_number(xp):
    value = Variable(to_xp(xp, [[2.5]], "float32")).item()
    assert value == 2.5 and isinstance(value, float)


def test_item_of_several_elements_raises():
    with pytest.raises(ValueError, match=r"one element, got shape \(2,\)"):
        Variable(np.ones(2)).item()


def test_numpy_returns_a_host_array(xp):
    out = Variable(to_xp(xp, [1.0, 2.0], "float32")).numpy()
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert_close(out, [1.0, 2.0])


@pytest.mark.parametrize("target", ["numpy", "array_api_strict"])
def test_to_moves_data_and_is_differentiable(xp, target):
    require_float64(xp)
    x = var(xp, [1.0, 2.0])
    moved = x.to(target)
    assert moved.backend == target and not moved.is_leaf and moved.requires_grad
    assert_close(moved, [1.0, 2.0])
    (moved * moved).sum().backward()
    # The gradient moves back to x's own backend.
    assert backend_name(x.grad.xp) == backend_name(xp)
    assert_close(x.grad, [2.0, 4.0])
    assert Variable(np.ones(2)).to(target).is_leaf  # no grad: nothing to record
    back = moved.to(xp)
    assert backend_name(back.xp) == backend_name(xp)


def test_comparisons_give_values_without_grad():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    mask = x > 1.5
    assert not mask.requires_grad and mask.numpy().tolist() == [False, True]
