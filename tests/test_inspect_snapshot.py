"""trace_backward and GraphSnapshot: structure, names, gradient and activation statistics."""

import dataclasses
import json

import numpy as np
import pytest

import axoncl
from axoncl import Variable
from axoncl import functions as F
from axoncl.inspect import GraphSnapshot, record_activations, trace_backward


def crate_example():
    x = Variable(np.array([-1.0, 2.0, 3.0]), requires_grad=True)
    return x, x.pow(2).relu().sum()


def small_mlp(seed=0):
    rng = np.random.default_rng(seed)
    x = Variable(rng.normal(size=(8, 4)))
    target = Variable(rng.normal(size=(8, 2)))
    w1 = Variable(rng.normal(size=(4, 5)), requires_grad=True)
    b1 = Variable(np.zeros(5), requires_grad=True)
    w2 = Variable(rng.normal(size=(5, 2)), requires_grad=True)
    b2 = Variable(np.zeros(2), requires_grad=True)
    loss = ((x @ w1 + b1).relu() @ w2 + b2 - target).pow(2).mean()
    names = {w1: "fc1.weight", b1: "fc1.bias", id(w2): "fc2.weight", id(b2): "fc2.bias"}
    return loss, names, (w1, b1, w2, b2)


def test_crate_example_counts_depth_and_names():
    _, y = crate_example()
    snap = trace_backward(y)
    assert snap.node_count() == 3
    assert snap.node_count(include_leaves=True) == 4
    assert snap.depth() == 3
    assert snap.operation_names() == ["pow", "relu", "sum"]
    assert snap.op_counts() == {"pow": 1, "relu": 1, "sum": 1}
    assert len(snap.leaves()) == 1
    assert snap.parameters() == []


def test_crate_example_nodes_carry_shape_dtype_device_and_both_edge_directions():
    _, y = crate_example()
    snap = trace_backward(y)
    leaf, pow_, relu, total = snap.nodes
    assert leaf.is_leaf and leaf.op == "leaf" and leaf.shape == (3,)
    assert (pow_.op, pow_.shape, pow_.dtype, pow_.device) == ("pow", (3,), "float64", "cpu")
    assert total.shape == () and total.is_output and snap.outputs == (3,)
    assert pow_.inputs == (leaf.id,) and leaf.outputs == (pow_.id,)
    assert relu.inputs == (pow_.id,) and relu.outputs == (total.id,)
    assert [(e.source, e.target, e.index) for e in snap.edges] == [(0, 1, 0), (1, 2, 0), (2, 3, 0)]
    assert snap.predecessors(relu.id) == [pow_] and snap.successors(relu.id) == [total]
    assert snap.find("relu") == [relu] and snap.find("leaf") == [leaf] and snap.find("exp") == []


def test_gradient_statistics_appear_after_backward():
    x, y = crate_example()
    assert trace_backward(y).leaves()[0].grad is None
    y.backward()
    grad = trace_backward(y).leaves()[0].grad  # d/dx relu(x²) = 2x
    assert grad.norm == pytest.approx(np.linalg.norm([-2.0, 4.0, 6.0]))
    assert grad.mean == pytest.approx(8.0 / 3)
    assert grad.max_abs == 6.0
    assert (grad.zeros, grad.nan, grad.inf, grad.size) == (0, 0, 0, 3)


def test_retained_non_leaf_gradient_is_reported():
    x = Variable(np.array([1.0, -2.0]), requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    h.name = "h"
    y = h.relu().sum()
    y.backward()
    snap = trace_backward(y)
    (mul,) = snap.find("multiply")
    assert mul.name == "h" and mul.label == "multiply (h)"
    assert mul.grad.norm == pytest.approx(1.0) and mul.grad.zeros == 1
    assert snap.find("relu")[0].grad is None


def test_exact_structure_of_an_mlp():
    loss, names, _ = small_mlp()
    snap = trace_backward(loss, names)
    assert snap.operation_names() == [
        "matmul",
        "add",
        "relu",
        "matmul",
        "add",
        "subtract",
        "pow",
        "mean",
    ]
    assert snap.node_count() == 8
    assert snap.depth() == 8
    assert len(snap.leaves()) == 4
    assert [p.name for p in snap.parameters()] == [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert snap.op_counts() == {
        "matmul": 2,
        "add": 2,
        "relu": 1,
        "subtract": 1,
        "pow": 1,
        "mean": 1,
    }
    first_matmul = snap.find("matmul")[0]
    assert first_matmul.shape == (8, 5)
    assert [snap.node(i).name for i in first_matmul.inputs] == ["fc1.weight"]


def test_cnn_structure():
    rng = np.random.default_rng(0)
    x = Variable(rng.normal(size=(2, 1, 8, 8)))
    w = Variable(rng.normal(size=(4, 1, 3, 3)), requires_grad=True, name="conv.weight")
    fc = Variable(rng.normal(size=(36, 3)), requires_grad=True, name="fc.weight")
    h = F.max_pool2d(F.conv2d(x, w).relu(), 2)  # (2, 4, 6, 6) -> (2, 4, 3, 3)
    loss = (h.reshape(2, 36) @ fc).sum()
    loss.backward()
    snap = trace_backward(loss)
    assert snap.operation_names() == ["conv2d", "relu", "max_pool2d", "reshape", "matmul", "sum"]
    assert snap.node_count() == 6 and snap.depth() == 6
    assert snap.find("conv2d")[0].shape == (2, 4, 6, 6)
    assert snap.find("max_pool2d")[0].shape == (2, 4, 3, 3)
    assert [p.name for p in snap.parameters()] == ["conv.weight", "fc.weight"]
    assert all(p.grad is not None for p in snap.parameters())


def test_names_from_a_module_and_from_variable_name():
    loss, _, (w1, b1, w2, b2) = small_mlp()

    class Module:
        def named_parameters(self):
            return [("a.w", w1), ("a.b", b1)]

    w2.name = "kept.name"
    snap = trace_backward(loss, Module())
    assert [p.name for p in snap.parameters()] == ["a.w", "a.b", "kept.name"]
    assert len(snap.leaves()) == 4


def test_names_from_nn_module():
    from axoncl import nn

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    loss = model(Variable(np.ones((3, 4), dtype=np.float32))).sum()
    expected = [name for name, _ in model.named_parameters()]
    assert sorted(p.name for p in trace_backward(loss, model).parameters()) == sorted(expected)


def test_names_of_wrong_kind_raise():
    _, y = crate_example()
    with pytest.raises(TypeError, match="names="):
        trace_backward(y, names=["w"])


def test_value_without_graph_raises_and_leaf_output_works():
    with pytest.raises(ValueError, match="requires grad"):
        trace_backward(Variable(np.ones(2)))
    leaf = Variable(np.ones(2), requires_grad=True)
    snap = trace_backward(leaf)
    assert snap.node_count() == 0 and snap.depth() == 0 and snap.leaves()[0].is_output


def test_shared_input_is_one_leaf_with_two_edges():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    snap = trace_backward((x * x).sum())
    assert len(snap.leaves()) == 1
    assert [(e.source, e.target, e.index) for e in snap.edges][:2] == [(0, 1, 0), (0, 1, 1)]
    assert snap.nodes[0].outputs == (1,)


def test_multiple_outputs():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    a = x.exp().sum()
    b = x.relu().sum()
    snap = trace_backward([a, b])
    assert sorted(snap.operation_names()) == ["exp", "relu", "sum", "sum"]
    assert len(snap.outputs) == 2


def test_snapshot_is_immutable_and_json_serializable():
    loss, names, _ = small_mlp()
    loss.backward()
    snap = trace_backward(loss, names)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.nodes = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.nodes[0].op = "x"
    data = json.loads(json.dumps(snap.to_dict()))
    assert [n["op"] for n in data["nodes"] if not n["is_leaf"]] == snap.operation_names()
    assert len(data["edges"]) == len(snap.edges)
    assert isinstance(snap, GraphSnapshot) and "8 ops" in repr(snap)


def test_nonfinite_statistics_serialize_as_strings():
    x = Variable(np.array([1.0, -1.0]), requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = x.log().sum()
        y.backward()
    grad = trace_backward(y).leaves()[0].grad
    assert grad.nan == 0 and grad.finite
    x = Variable(np.array([np.inf, np.nan]), requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = (x * 2.0).sum()
        y.backward()
    snap = trace_backward(y)
    value = snap.leaves()[0].value
    assert (value.nan, value.inf, value.size) == (1, 1, 2)
    json.dumps(snap.to_dict())


def test_activation_statistics_before_backward_and_with_record_activations():
    x = Variable(np.array([[-1.0, 2.0], [-3.0, 4.0]]), requires_grad=True)
    y = x.relu().sum()
    assert trace_backward(y).find("relu")[0].value.zero_fraction == 0.5  # still saved
    y.backward()
    assert trace_backward(y).find("relu")[0].value is None  # freed by backward
    with record_activations(["relu"]):
        y = x.relu().sum()
        z = x.exp().sum()
    y.backward()
    assert trace_backward(y).find("relu")[0].value.zero_fraction == 0.5
    assert trace_backward(z).find("exp")[0].value is not None  # still saved for backward
    assert not axoncl.graph._INSPECT_HOOKS


def test_long_chain_traces_without_recursion():
    x = Variable(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    snap = trace_backward(y, values=False)
    assert snap.node_count() == 20_000 and snap.depth() == 20_000
