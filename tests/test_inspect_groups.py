"""Grouping by module: record_modules tags ops with the module call that made them, and the
drawing shows each call as one box that opens into a view of its own."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest
from inspect_models import Net, traced_net
from test_inspect_render import (
    SVG,
    assert_edges_avoid_foreign_boxes,
    drawn_nodes,
    node_groups,
    page_data,
    page_views,
)

from axoncl import graph, nn
from axoncl import inspect as ai


def test_record_modules_tags_each_op_with_its_module_call():
    snap, _ = traced_net()
    modules = Counter(node.module for node in snap.nodes if not node.is_leaf)
    assert modules["stem"] == 1 and modules["fc"] == 1
    assert modules["blocks.0.act"] == modules["blocks.1.act"] > 1  # GELU: several ops
    assert modules["relu"] == 1 and modules["relu#2"] == 1  # one module, two calls
    assert modules[None] == 1  # the loss, outside any module
    assert snap.modules["blocks.1.bn"] == "BatchNorm2d" and snap.modules[""] == "Net"
    assert snap.modules["relu#2"] == "ReLU"
    assert all(node.module is None for node in snap.nodes if node.is_leaf)


def test_modules_are_not_recorded_outside_the_block():
    snap, _ = traced_net(record=False)
    assert all(node.module is None for node in snap.nodes) and not snap.modules
    assert graph._TRACK_MODULES == [False]
    with ai.record_modules(), ai.record_modules():
        assert graph._TRACK_MODULES == [True]
    assert graph._TRACK_MODULES == [False]


def test_module_scope_belongs_to_the_thread_that_called_the_module():
    net = Net()
    x = np.ones((1, 1, 8, 8), dtype=np.float32)
    seen = {}

    def other():  # runs while the main thread is inside net.forward
        seen["scope"] = graph.MODULE_SCOPE.get()

    original = net.fc.forward

    def forward(h):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        seen["main"] = graph.MODULE_SCOPE.get()
        return original(h)

    net.fc.forward = forward
    with ai.record_modules():
        net(x)
    assert seen["scope"] is None
    assert seen["main"] == (("", "Net"), ("fc", "Linear"))


def test_module_calls_are_boxes_that_open_into_their_own_views():
    snap, _ = traced_net()
    page = ai.to_html(snap, engine="python")
    views = page_views(page)
    data = page_data(page)
    top = views[data["root"]]
    labels = {g.get("id"): g.find(f"{SVG}text").text for g in node_groups(ET.tostring(top))}
    assert "blocks (Sequential)" in labels.values()
    assert "conv2d · stem" in labels.values()  # a one-op module call is drawn as its op
    assert "stem.weight" in labels.values()  # with the parameters it reads
    act_view = next(k for k, svg in views.items() if _title(svg) == "graph / blocks / 0 / act")
    assert data["views"][act_view]["label"] == "act"
    ops = [g.find(f"{SVG}text").text for g in node_groups(ET.tostring(views[act_view]))]
    gelu_ops = sum(1 for n in snap.nodes if n.module == "blocks.0.act")
    assert len([o for o in ops if not o.startswith(("from ", "to "))]) == gelu_ops
    assert sorted(drawn_nodes(page)) == list(range(len(snap.nodes)))
    for view in views.values():
        assert_edges_avoid_foreign_boxes(view)


def _title(svg):
    return svg.find(f"{SVG}text").text


def test_a_group_with_a_flagged_parameter_is_marked():
    snap, _ = traced_net()
    report = snap.gradient_flow_summary()
    assert "blocks.0.conv.bias" in report.flagged("vanishing")
    svg = ET.fromstring(ai.to_svg(snap, engine="python"))
    blocks = [
        g
        for g in svg.iter(f"{SVG}g")
        if g.find(f"{SVG}text") is not None and g.find(f"{SVG}text").text == "blocks (Sequential)"
    ]
    assert blocks[0].get("class") == "node group flagged"
    assert blocks[0].find(f"{SVG}rect").get("stroke") == "#cc0000"


class Left(nn.Module):
    """Multiplies from the left, so the weight is the op's first input: in the snapshot's
    order the weight comes before the layers that feed this one."""

    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(np.eye(n) * 0.5)

    def forward(self, h):
        return (self.w @ h).tanh()


@pytest.mark.parametrize("max_nodes", [3, 5, 8, 13, 21])
def test_parts_of_module_groups_never_depend_on_each_other_in_a_cycle(max_nodes):
    net = nn.Sequential(*[Left(3) for _ in range(30)])
    with ai.record_modules():
        y = net(np.ones((3, 2))).sum()
    y.backward()
    snap = ai.trace_backward(y, names=net)
    page = ai.to_html(snap, engine="python", max_nodes=max_nodes)  # a cycle would raise
    views = page_views(page)
    assert len(views) > 30  # 30 module calls, in parts
    assert sorted(drawn_nodes(page)) == list(range(len(snap.nodes)))
    for view in views.values():
        assert len(node_groups(ET.tostring(view, encoding="unicode"))) <= max(max_nodes, 2 * 7 + 2)
        assert_edges_avoid_foreign_boxes(view)
