"""The graph inspector finds a vanishing gradient, and the fix makes it go away.

A 12-layer MLP with sigmoid activations and small weights passes back a gradient that shrinks
at every layer: the first layers get almost nothing. ``trace_backward`` snapshots the graph
after backward, ``gradient_flow_summary`` flags the parameters whose gradient is tiny next to
their weight, and the same model with ReLU and He initialisation is healthy. The pages
(SVG graph and the HTML report) go to a temporary folder.

    python3 examples/inspector_vanishing.py
"""

import tempfile
from pathlib import Path

import numpy as np

import axoncl
from axoncl import inspect as ai
from axoncl import nn

DEPTH, WIDTH = 12, 32


def build(activation, init) -> nn.Sequential:
    axoncl.manual_seed(0)
    layers = []
    for _ in range(DEPTH):
        linear = nn.Linear(WIDTH, WIDTH)
        init(linear.weight)
        layers += [linear, activation()]
    return nn.Sequential(*layers, nn.Linear(WIDTH, 1))


def flow(model: nn.Sequential) -> ai.GradientFlowReport:
    x = np.random.default_rng(0).standard_normal((64, WIDTH)).astype(np.float32)
    loss = model(x).square().mean()
    loss.backward()
    snapshot = ai.trace_backward(loss, names=model)
    return snapshot, snapshot.gradient_flow_summary(vanishing=1e-4)


def main() -> None:
    # Small weights: each sigmoid layer multiplies the gradient by less than 0.25 * |W|.
    snapshot, report = flow(build(nn.Sigmoid, lambda w: nn.init.normal_(w, std=0.1)))
    print(report)
    vanishing = {where for what, where in report.flags if what == "vanishing"}
    print("vanishing:", sorted(vanishing))
    assert "0.weight" in vanishing  # the first layer gets almost no gradient
    assert f"{2 * DEPTH}.weight" not in vanishing  # the last one does
    first, last = report.parameters[0], report.parameters[-2]
    assert first.name == "0.weight" and first.grad_norm < 1e-4 * last.grad_norm

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "graph.html").write_text(ai.to_html(snapshot))
        (Path(folder) / "graph.svg").write_text(ai.to_svg(snapshot, engine="python"))
        print("wrote graph.html and graph.svg:", sorted(p.name for p in Path(folder).iterdir()))

    # ReLU with He initialisation keeps the gradient's scale from layer to layer.
    _, healthy = flow(build(nn.ReLU, lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")))
    print("with ReLU and He initialisation:", "healthy" if healthy.healthy else healthy.flags)
    assert not [where for what, where in healthy.flags if what == "vanishing"]


if __name__ == "__main__":
    main()
