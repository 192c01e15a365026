"""to_dot, to_svg and to_html: valid output, one shape per node, large graphs stay fast."""

import json
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from axoncl import Variable
from axoncl.inspect import dot_available, to_dot, to_html, to_svg, trace_backward
from axoncl.inspect.layout import layout

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


def page_views(page):
    """view key -> its SVG root, for every view of a ``to_html`` page."""
    found = {}
    for part in page.split('<div class="view" data-view="')[1:]:
        key = part.split('"', 1)[0]
        found[key] = ET.fromstring(part[part.index("<svg") : part.index("</svg>") + 6])
    return found


def page_data(page):
    start = page.index('id="axoncl-data">') + len('id="axoncl-data">')
    return json.loads(page[start : page.index("</script>", start)])


def drawn_nodes(page):
    """Ids of the snapshot nodes drawn as boxes across all views (ports excluded)."""
    ids = []
    for svg in page_views(page).values():
        for g in svg.iter(f"{SVG}g"):
            classes = g.get("class", "").split()
            if "node" in classes and "port" not in classes and g.get("id", "")[:1] == "n":
                ids.append(int(g.get("id")[1:]))
    return ids


@pytest.mark.parametrize("build, size", [(chain_graph, 5000), (branchy_graph, 3333)])
def test_ten_thousand_node_graph_renders_in_seconds_with_nothing_cut(build, size):
    y = build(size)
    start = time.perf_counter()
    snap = trace_backward(y)
    assert snap.node_count() >= 10_000
    svg = to_svg(snap, engine="python", max_nodes=300)
    page = to_html(snap, engine="python", max_nodes=300)
    text = to_dot(snap)
    elapsed = time.perf_counter() - start
    assert elapsed < 30, f"rendering took {elapsed:.1f} s"
    groups = node_groups(svg)
    assert 2 <= len(groups) <= 300
    assert {g.get("class").split()[1] for g in groups} == {"group"}  # parts, each openable
    views = page_views(page)
    assert all(len(node_groups(ET.tostring(v, encoding="unicode"))) <= 300 for v in views.values())
    assert sorted(drawn_nodes(page)) == list(range(len(snap.nodes)))  # each node, once
    check_dot_syntax(text)


def test_chain_splits_into_parts_that_open_into_views():
    snap = trace_backward(chain_graph(300))
    page = to_html(snap, engine="python", max_nodes=100)
    top = node_groups(to_svg(snap, engine="python", max_nodes=100))
    # 901 nodes in parts of at most 86 (100, less room for 14 boxes of outside neighbours)
    assert [g.get("class") for g in top] == ["node group"] * 11
    data = page_data(page)
    views = page_views(page)
    opened = [g.get("data-opens") for g in top]
    assert all(data["views"][v]["parent"] == data["root"] for v in opened)
    assert all(v in views for v in opened)
    last = views[opened[-1]]
    kinds = [g.get("class").split()[1] for g in last.iter(f"{SVG}g") if g.get("id")]
    assert kinds.count("output") == 1 and "port" in kinds  # its input arrives from part 9
    assert sorted(drawn_nodes(page)) == list(range(len(snap.nodes)))


def test_small_graph_is_drawn_whole():
    snap = mlp_snapshot()
    svg = to_svg(snap, engine="python", max_nodes=400)
    assert "group" not in svg and len(node_groups(svg)) == len(snap.nodes)


# -- edges are routed around boxes -----------------------------------------------------------


def path_points(d):
    """The polyline of an SVG path made of M, V and C commands (curves sampled finely)."""
    tokens = d.split()
    points, k = [], 0
    while k < len(tokens):
        command = tokens[k]
        if command == "M":
            points.append((float(tokens[k + 1]), float(tokens[k + 2])))
            k += 3
        elif command == "V":
            points.append((points[-1][0], float(tokens[k + 1])))
            k += 2
        elif command == "C":
            (x0, y0), rest = points[-1], [float(v) for v in tokens[k + 1 : k + 7]]
            x1, y1, x2, y2, x3, y3 = rest
            for step in range(1, 25):
                s = step / 24
                a, b, c, e = (1 - s) ** 3, 3 * s * (1 - s) ** 2, 3 * s * s * (1 - s), s**3
                points.append(
                    (a * x0 + b * x1 + c * x2 + e * x3, a * y0 + b * y1 + c * y2 + e * y3)
                )
            k += 7
        else:
            raise AssertionError(f"unexpected path command {command!r} in {d!r}")
    return points


def crosses(p, q, box):
    """Whether segment p-q enters the open rectangle ``box`` (Liang-Barsky clipping)."""
    x, y, w, h = box
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for num, den in ((p[0] - x, -dx), (x + w - p[0], dx), (p[1] - y, -dy), (y + h - p[1], dy)):
        if den == 0:
            if num <= 0:
                return False
        else:
            t = num / den
            if den < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    return t0 < t1


def assert_edges_avoid_foreign_boxes(svg_root):
    boxes = {}
    for g in svg_root.iter(f"{SVG}g"):
        if "node" in g.get("class", "").split():
            rect = g.find(f"{SVG}rect")
            x, y = float(rect.get("x")), float(rect.get("y"))
            w, h = float(rect.get("width")), float(rect.get("height"))
            boxes[g.get("id")] = (x + 0.5, y + 0.5, w - 1.0, h - 1.0)  # strictly inside
    edges = [p for p in svg_root.iter(f"{SVG}path") if p.get("class") == "edge"]
    checked = 0
    for edge in edges:
        ends = {edge.get("data-source"), edge.get("data-target")}
        points = path_points(edge.get("d"))
        for key, box in boxes.items():
            if key in ends:
                continue
            for p, q in zip(points, points[1:]):
                assert not crosses(p, q, box), (
                    f"edge {edge.get('data-source')} -> {edge.get('data-target')} crosses box "
                    f"{key} {box} between {p} and {q}"
                )
                checked += 1
    return len(edges), checked


def skip_connections(n):
    """Each value reads the previous one and the one three back: long edges across layers."""
    x = Variable(np.ones(3), requires_grad=True)
    values = [x]
    for k in range(n):
        w = Variable(np.full(3, 0.5 + k), requires_grad=True, name=f"w{k}")
        h = values[-1] * w
        if len(values) > 3:
            h = h + values[-4]
        values.append(h.tanh())
    return sum(v.sum() for v in values[1:])


@pytest.mark.parametrize(
    "make", [mlp_snapshot, lambda: trace_backward(skip_connections(12))], ids=["mlp", "skips"]
)
def test_no_edge_crosses_a_box_it_does_not_belong_to(make):
    root = ET.fromstring(to_svg(make(), engine="python"))
    edges, checked = assert_edges_avoid_foreign_boxes(root)
    assert edges >= 12 and checked > 1000


def test_long_edges_pass_between_boxes_in_their_own_slots():
    snap = trace_backward(skip_connections(12))
    root = ET.fromstring(to_svg(snap, engine="python"))
    rects = {
        g.get("id"): float(g.find(f"{SVG}rect").get("y"))
        for g in root.iter(f"{SVG}g")
        if "node" in g.get("class", "")
    }
    long_edges = 0
    for edge in root.iter(f"{SVG}path"):
        if edge.get("class") != "edge":
            continue
        source, target = edge.get("data-source"), edge.get("data-target")
        if rects[target] - rects[source] > 200:  # spans several layers
            long_edges += 1
            assert edge.get("d").count(" C ") >= 2  # one curve per gap crossed
    assert long_edges >= 5


def random_dag(rng, count):
    """Boxes of random sizes; each reads one to three earlier ones, some far back."""
    sizes = [(float(rng.integers(40, 160)), float(rng.integers(20, 60))) for _ in range(count)]
    edges = set()
    for target in range(1, count):
        for _ in range(int(rng.integers(1, 4))):
            edges.add((int(rng.integers(max(0, target - 12), target)), target))
    return sizes, sorted(edges)


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_route_every_edge_around_foreign_boxes(seed):
    rng = np.random.default_rng(seed)
    sizes, edges = random_dag(rng, int(rng.integers(5, 60)))
    geometry = layout(sizes, edges)
    rects = geometry.boxes
    for a in range(len(rects)):  # boxes never overlap
        ax, ay, aw, ah = rects[a]
        for b in range(a):
            bx, by, bw, bh = rects[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)
    assert all(x >= 0 and y >= 0 for x, y, _, _ in rects)
    assert max(x + w for x, _, w, _ in rects) <= geometry.width
    assert max(y + h for _, y, _, h in rects) <= geometry.height
    for (source, target), d in zip(edges, geometry.paths, strict=True):
        points = path_points(d)
        sx, sy, sw, sh = rects[source]
        tx, ty, tw, _ = rects[target]
        assert sx < points[0][0] < sx + sw and points[0][1] == pytest.approx(sy + sh, abs=0.06)
        assert tx < points[-1][0] < tx + tw and points[-1][1] == pytest.approx(ty, abs=0.06)
        for k, (x, y, w, h) in enumerate(rects):
            if k in (source, target):
                continue
            inner = (x + 0.5, y + 0.5, w - 1.0, h - 1.0)
            for p, q in zip(points, points[1:]):
                assert not crosses(p, q, inner), (seed, source, target, k)


def test_layout_refuses_a_cycle():
    with pytest.raises(ValueError, match="cycle"):
        layout([(50.0, 20.0)] * 2, [(0, 1), (1, 0)])


@needs_dot
def test_dot_with_module_clusters_parses_with_graphviz():
    from inspect_models import traced_net

    snap, _ = traced_net()
    text = to_dot(snap)
    assert text.count("subgraph cluster_") == len({n.module for n in snap.nodes if n.module})
    assert 'label="blocks.0.act"' in text
    done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    svg = ET.fromstring(done.stdout[done.stdout.index("<svg") :])
    clusters = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "cluster"]
    assert len(clusters) == text.count("subgraph cluster_")
