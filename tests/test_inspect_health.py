"""gradient_flow_summary flags planted vanishing, exploding, NaN and dead-ReLU cases only."""

import json

import numpy as np

from axoncl import Variable
from axoncl import functions as F
from axoncl.inspect import (
    gradient_flow_plot,
    gradient_flow_summary,
    record_activations,
    trace_backward,
)


def param(rng, *shape, scale, name):
    return Variable(rng.normal(size=shape) * scale, requires_grad=True, name=name)


def healthy_mlp_report():
    rng = np.random.default_rng(0)
    x = Variable(rng.normal(size=(32, 8)))
    target = rng.integers(0, 3, size=32)
    w1 = param(rng, 8, 16, scale=0.5, name="fc1.weight")
    b1 = Variable(np.zeros(16), requires_grad=True, name="fc1.bias")
    w2 = param(rng, 16, 3, scale=0.25, name="fc2.weight")
    b2 = Variable(np.zeros(3), requires_grad=True, name="fc2.bias")
    with record_activations(["relu"]):
        loss = F.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, target)
    loss.backward()
    return trace_backward(loss).gradient_flow_summary()


def test_healthy_mlp_flags_nothing():
    report = healthy_mlp_report()
    assert report.healthy, str(report)
    assert report.flags == ()
    assert [p.name for p in report.parameters] == [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert set(report.layers) == {"fc1", "fc2"}
    assert len(report.activations) == 1 and 0.2 < report.activations[0].zero_fraction < 0.8
    text = str(report)
    assert "healthy: nothing flagged" in text and "fc2.weight" in text


def test_deep_sigmoid_stack_flags_vanishing_in_the_first_layers():
    rng = np.random.default_rng(1)
    h = Variable(rng.normal(size=(16, 8)))
    weights = [param(rng, 8, 8, scale=0.3, name=f"layer{k}.weight") for k in range(30)]
    for w in weights:
        h = (h @ w).sigmoid()
    loss = h.mean()
    loss.backward()
    report = gradient_flow_summary(trace_backward(loss))
    vanishing = report.flagged("vanishing")
    assert "layer0.weight" in vanishing
    assert "layer29.weight" not in vanishing
    assert not report.flagged("exploding") and not report.flagged("nan/inf")
    assert report.parameters[0].ratio < 1e-6


def test_deep_linear_stack_with_large_weights_flags_exploding():
    rng = np.random.default_rng(2)
    h = Variable(rng.normal(size=(4, 8)))
    weights = [
        Variable(
            np.eye(8) * 3.0 + rng.normal(size=(8, 8)) * 0.01,
            requires_grad=True,
            name=f"layer{k}.weight",
        )
        for k in range(12)
    ]
    for w in weights:
        h = h @ w
    loss = (h * h).sum()
    loss.backward()
    report = gradient_flow_summary(trace_backward(loss))
    assert "layer0.weight" in report.flagged("exploding")
    assert not report.flagged("vanishing")
    assert not report.healthy


def test_nan_gradient_is_flagged():
    rng = np.random.default_rng(3)
    w = param(rng, 4, 3, scale=1.0, name="w")
    x = Variable(np.abs(rng.normal(size=(5, 4))))
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = (x @ w).sqrt().sum()  # sqrt of negatives: NaN forward and backward
        loss.backward()
    report = gradient_flow_summary(trace_backward(loss))
    assert report.flagged("nan/inf") == ["w"]
    assert report.parameters[0].nan > 0
    json.dumps(report.to_dict())  # NaN norms become strings


def test_dead_relus_are_flagged_with_recorded_activations():
    rng = np.random.default_rng(4)
    x = Variable(rng.normal(size=(16, 4)))
    w = param(rng, 4, 8, scale=0.1, name="fc.weight")
    b = Variable(np.full(8, -10.0), requires_grad=True, name="fc.bias")  # pushes all below 0
    with record_activations():
        loss = (x @ w + b).relu().sum()
    loss.backward()
    report = trace_backward(loss).gradient_flow_summary()
    (where,) = report.flagged("dead-relu")
    assert where.startswith("relu#")
    assert report.activations[0].zero_fraction == 1.0
    assert "dead-relu" in str(report)


def test_dead_relus_are_seen_before_backward_without_recording():
    x = Variable(np.full((4, 3), -1.0), requires_grad=True)
    loss = x.relu().sum()
    assert trace_backward(loss).gradient_flow_summary().flagged("dead-relu") == ["relu#1"]


def test_thresholds_are_adjustable():
    report = healthy_mlp_report()
    snap_report = report.thresholds
    assert snap_report == {"vanishing": 1e-6, "exploding": 1e3, "dead_relu": 0.9}


def test_missing_gradients_are_reported_not_crashed():
    w = Variable(np.ones(3), requires_grad=True, name="w")
    report = gradient_flow_summary(trace_backward((w * 2.0).sum()))
    assert report.flagged("no-grad") == ["w"]


def test_gradient_flow_plot_writes_a_png(tmp_path):
    rng = np.random.default_rng(5)
    w = param(rng, 3, 2, scale=1.0, name="w")
    loss = (Variable(np.ones((2, 3))) @ w).sum()
    loss.backward()
    path = gradient_flow_plot(trace_backward(loss), str(tmp_path / "flow.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
