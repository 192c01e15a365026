"""to_dot, to_svg and to_html: valid output, one shape per node, large graphs stay fast."""

import re
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from axoncl import Variable
from axoncl.inspect import dot_available, to_dot, to_html, to_svg, trace_backward

SVG = "{http://www.w3.org/2000/svg}"
SHAPES = {f"{SVG}{tag}" for tag in ("rect", "ellipse", "polygon", "path", "circle")}
needs_dot = pytest.mark.skipif(not dot_available(), reason="Graphviz 'dot' is not installed")


def mlp_snapshot(backward=True):
    rng = np.random.default_rng(0)
    x = Variable(rng.normal(size=(8, 4)))
    w1 = Variable(rng.normal(size=(4, 5)), requires_grad=True, name="fc1.weight")
    b1 = Variable(np.zeros(5), requires_grad=True, name="fc1.bias")
    w2 = Variable(rng.normal(size=(5, 2)), requires_grad=True, name="fc2.weight")
    data = Variable(rng.normal(size=(8, 4)), requires_grad=True)  # an unnamed leaf
    loss = ((x @ w1 + b1).relu() @ w2).pow(2).mean() + (data * data).sum()
    if backward:
        loss.backward()
    return trace_backward(loss)


def check_dot_syntax(text):
    """A small structural check: balanced braces, quoted labels, edges between declared nodes."""
    assert text.startswith("digraph ") and text.rstrip().endswith("}")
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert unquoted.count("{") == unquoted.count("}") == 1
    declared = set(re.findall(r"^\s*(\w+) \[label=\"", text, flags=re.M))
    edges = re.findall(r"^\s*(\w+) -> (\w+);$", text, flags=re.M)
    assert edges
    for source, target in edges:
        assert source in declared and target in declared
    for line in text.splitlines()[1:-1]:
        assert line.rstrip().endswith(";"), line
    return declared, edges


def test_dot_declares_every_node_and_edge():
    snap = mlp_snapshot()
    text = to_dot(snap)
    declared, edges = check_dot_syntax(text)
    assert len(declared) == snap.node_count(include_leaves=True)
    assert len(edges) == len({(e.source, e.target) for e in snap.edges})
    assert "(8, 5) float64" in text  # shapes in labels
    assert 'fillcolor="#cfe3ff"' in text  # parameters styled apart
    assert 'fillcolor="#ffd9a8"' in text and "penwidth=2.5" in text  # the output too


def test_dot_escapes_quotes_in_names():
    x = Variable(np.ones(2), requires_grad=True, name='say "hi" \\ there')
    text = to_dot(trace_backward(x.relu().sum()))
    check_dot_syntax(text)
    assert r"say \"hi\" \\ there" in text


@needs_dot
def test_dot_output_parses_with_graphviz():
    done = subprocess.run(
        ["dot", "-Tsvg"], input=to_dot(mlp_snapshot()), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    ET.fromstring(done.stdout[done.stdout.index("<svg") :])


def node_groups(svg_text):
    root = ET.fromstring(svg_text)
    return [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()]


def test_python_svg_is_well_formed_with_one_shape_per_node():
    snap = mlp_snapshot()
    groups = node_groups(to_svg(snap, engine="python"))
    assert len(groups) == snap.node_count(include_leaves=True)
    for group in groups:
        assert sum(1 for child in group if child.tag in SHAPES) == 1
        assert group.find(f"{SVG}title") is not None  # tooltip with statistics


def test_python_svg_before_backward_and_for_a_single_leaf():
    assert len(node_groups(to_svg(mlp_snapshot(backward=False), engine="python"))) == 9 + 4
    leaf = Variable(np.ones(2), requires_grad=True)
    assert len(node_groups(to_svg(trace_backward(leaf), engine="python"))) == 1


@needs_dot
def test_graphviz_svg_has_one_group_per_node():
    snap = mlp_snapshot()
    assert len(node_groups(to_svg(snap, engine="dot"))) == snap.node_count(include_leaves=True)


def test_unknown_engine_raises():
    with pytest.raises(ValueError, match="engine"):
        to_svg(mlp_snapshot(), engine="cairo")


def test_html_embeds_svg_summary_and_table():
    snap = mlp_snapshot()
    page = to_html(snap, engine="python", title="<mlp>")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "&lt;mlp&gt;" in page and "<mlp>" not in page
    assert "<svg" in page and "Gradient flow" in page and "fc1.weight" in page
    assert page.count("<tr") == snap.node_count(include_leaves=True) + 1
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    assert len(node_groups(svg)) == snap.node_count(include_leaves=True)


def chain_graph(layers):
    """``layers`` blocks of (add a bias leaf, relu): 2 * layers op nodes."""
    h = Variable(np.ones(4), requires_grad=True)
    for k in range(layers):
        h = (h + Variable(np.full(4, 0.01), requires_grad=True, name=f"b{k}")).relu()
    return h.sum()


def branchy_graph(branches):
    """A sum of ``branches`` separate products: no straight runs to collapse, so it is cut."""
    x = Variable(np.ones(3), requires_grad=True)
    total = (x * 1.0).sum()
    for k in range(branches):
        total = total + (x * Variable(np.full(3, float(k)), requires_grad=True)).sum()
    return total


@pytest.mark.parametrize("build, size", [(chain_graph, 5000), (branchy_graph, 3333)])
def test_ten_thousand_node_graph_renders_in_seconds(build, size):
    y = build(size)
    start = time.perf_counter()
    snap = trace_backward(y)
    assert snap.node_count() >= 10_000
    svg = to_svg(snap, engine="python", max_nodes=300)
    page = to_html(snap, engine="python", max_nodes=300)
    text = to_dot(snap)
    elapsed = time.perf_counter() - start
    assert elapsed < 15, f"rendering took {elapsed:.1f} s"
    groups = node_groups(svg)
    assert len(groups) <= 300
    kinds = {g.get("class").split()[1] for g in groups}
    assert ("block" in kinds) or ("note" in kinds)
    assert "more nodes not drawn" in svg or "block of" in svg
    assert "<svg" in page
    check_dot_syntax(text)


def test_chain_collapses_into_a_block_that_keeps_the_output():
    snap = trace_backward(chain_graph(300))
    groups = node_groups(to_svg(snap, engine="python", max_nodes=100))
    kinds = [g.get("class").split()[1] for g in groups]
    assert kinds.count("block") == 1 and kinds.count("output") == 1
    assert "note" not in kinds  # the collapse was enough; nothing cut


def test_small_graph_is_never_collapsed():
    snap = mlp_snapshot()
    svg = to_svg(snap, engine="python", max_nodes=400)
    assert "block of" not in svg and "not drawn" not in svg
