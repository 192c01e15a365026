"""to_html: a self-contained page (no requests), node details as data, the gradient-flow chart."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from inspect_models import traced_net
from test_inspect_render import SVG, mlp_snapshot, page_data

from axoncl import inspect as ai
from axoncl.inspect.page import flow_chart_svg


def test_page_needs_nothing_from_outside():
    page = ai.to_html(traced_net()[0], engine="python")
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"\b(?:src|href)\s*=", page)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace name, never fetched
    assert re.findall(r"url\(([^)]*)\)", page) and all(
        u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", page)
    )
    assert "</script>" not in page.split('id="axoncl-data">', 1)[1].split("</script>", 1)[0]


def test_every_box_has_details_with_shape_dtype_and_gradient():
    snap, _ = traced_net()
    data = page_data(ai.to_html(snap, engine="python"))
    fc = data["boxes"][f"n{next(n.id for n in snap.nodes if n.name == 'fc.weight')}"]
    rows = dict(fc["rows"])
    assert fc["title"] == "fc.weight" and rows["shape"] == "(10, 4)" and rows["dtype"] == "float32"
    node = next(n for n in snap.nodes if n.name == "fc.weight")
    assert float(rows["grad norm"]) == float(f"{node.grad.norm:.4g}")
    bias = next(n for n in snap.nodes if n.name == "stem.bias")
    assert data["boxes"][f"n{bias.id}"]["flags"] == ["vanishing"]
    groups = [b for b in data["boxes"].values() if b["kind"] == "group"]
    assert groups and all(b["opens"] in data["views"] for b in groups)
    blocks = next(b for b in groups if b["title"] == "blocks (Sequential)")
    assert "vanishing at blocks.0.conv.bias" in blocks["flags"]


def test_flow_chart_has_one_mark_per_parameter_in_model_order():
    snap, net = traced_net()
    report = snap.gradient_flow_summary()
    svg = ET.fromstring(flow_chart_svg(report))
    marks = [g for g in svg.iter(f"{SVG}g") if "flow-param" in g.get("class", "")]
    assert [g.get("data-name") for g in marks] == [p.name for p in report.parameters]
    assert {name for name, _ in net.named_parameters()} == {g.get("data-name") for g in marks}
    flagged = {g.get("data-name") for g in marks if "flagged" in g.get("class").split()}
    assert flagged == {p.name for p in report.parameters if p.flags} and flagged
    for g in marks:
        assert g.find(f"{SVG}rect").get("fill") == (
            "#cc3333" if g.get("data-name") in flagged else "#3a78c2"
        )
        assert g.find(f"{SVG}circle") is not None  # the grad/weight ratio


def test_flow_chart_heights_follow_a_log_scale():
    report = mlp_snapshot().gradient_flow_summary()
    svg = ET.fromstring(flow_chart_svg(report))
    bars = {
        g.get("data-name"): g.find(f"{SVG}rect")
        for g in svg.iter(f"{SVG}g")
        if "flow-param" in g.get("class", "")
    }
    finite = [p for p in report.parameters if p.grad_norm > 0 and math.isfinite(p.grad_norm)]
    a, b = finite[0], finite[1]
    bottom = float(bars[a.name].get("y")) + float(bars[a.name].get("height"))
    ha, hb = float(bars[a.name].get("height")), float(bars[b.name].get("height"))
    per_decade = (ha - hb) / (math.log10(a.grad_norm) - math.log10(b.grad_norm))
    ticks = {t.text: float(t.get("y")) for t in svg.iter(f"{SVG}text") if t.text.startswith("1e")}
    powers = sorted(ticks, key=lambda s: int(s[2:]))
    assert abs((ticks[powers[0]] - ticks[powers[1]]) - per_decade) < 0.2
    assert bottom == max(ticks.values()) - 3  # bars stand on the lowest tick (labels sit 3 lower)


def test_page_shows_the_chart_and_the_flags():
    page = ai.to_html(traced_net()[0], engine="python")
    assert page.count('class="flow-chart-svg"') == 1
    assert "flagged: vanishing at stem.bias" in page
