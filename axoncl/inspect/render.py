"""Drawing a ``GraphSnapshot``: Graphviz DOT text, and SVG/HTML laid out in pure Python.

The layout is a small Sugiyama scheme: longest-path layering (then every node pulled down next to
its first consumer), then a few barycentric sweeps to order each layer, then left-to-right packing.
When Graphviz's ``dot`` is on the PATH, ``engine="auto"`` lets it do the layout instead.
Graphs above ``max_nodes`` are reduced first: straight runs of ops (a chain of layers)
collapse into one block, and what is still too much is cut, keeping the nodes nearest the
output, with a note saying what was left out.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .snapshot import GraphSnapshot, NodeInfo

__all__ = ["DEFAULT_MAX_NODES", "dot_available", "to_dot", "to_html", "to_svg"]

DEFAULT_MAX_NODES = 400
_MIN_RUN = 4  # shorter straight runs stay drawn op by op

_FILL = {
    "op": "#ffffff",
    "parameter": "#cfe3ff",
    "input": "#e4f2e0",
    "output": "#ffd9a8",
    "block": "#fff6c8",
    "note": "#f2f2f2",
}
_STROKE = {
    "op": "#444444",
    "parameter": "#2a5da8",
    "input": "#4d8a3d",
    "output": "#b35900",
    "block": "#9a8420",
    "note": "#888888",
}


@dataclass
class _Box:
    key: str
    lines: list[str]
    kind: str
    tooltip: str
    alert: bool = False
    members: list[int] = field(default_factory=list)


@dataclass
class _Drawing:
    boxes: list[_Box]
    edges: list[tuple[int, int]]  # indices into boxes, data direction
    notes: list[str]


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def _shape_text(node: NodeInfo) -> str:
    shape = "(" + ", ".join(str(d) for d in node.shape) + ("," if len(node.shape) == 1 else "")
    return f"{shape}) {node.dtype}"


def _kind(node: NodeInfo) -> str:
    if node.is_output:
        return "output"
    if node.is_leaf:
        return "parameter" if node.is_parameter else "input"
    return "op"


def _tooltip(node: NodeInfo) -> str:
    parts = [f"#{node.id} {node.label}", f"shape {_shape_text(node)} on {node.device}"]
    if node.grad is not None:
        parts.append(f"grad: {node.grad}")
    if node.value is not None:
        parts.append(f"value: {node.value} zeros={node.value.zero_fraction:.0%}")
    if node.creation_site:
        parts.append(f"created at {node.creation_site}")
    return "\n".join(parts)


def _box(node: NodeInfo) -> _Box:
    lines = [node.label, _shape_text(node)]
    if node.grad is not None:
        lines.append(f"|grad| {node.grad.norm:.3g}")
    alert = node.grad is not None and not node.grad.finite
    return _Box(f"n{node.id}", lines, _kind(node), _tooltip(node), alert, [node.id])


def _runs(snapshot: GraphSnapshot) -> list[list[int]]:
    """Maximal straight runs of op nodes: each reads only the previous one among ops, and the
    previous one feeds only it."""
    nodes = snapshot.nodes
    continues = [False] * len(nodes)
    for node in nodes:
        if node.is_leaf or node.is_output:
            continue
        op_inputs = {i for i in node.inputs if not nodes[i].is_leaf}
        if len(op_inputs) == 1:
            (previous,) = op_inputs
            continues[node.id] = len(nodes[previous].outputs) == 1
    runs = []
    for node in nodes:
        if node.is_leaf or continues[node.id]:
            continue
        run = [node.id]
        while True:
            following = nodes[run[-1]].outputs
            if len(following) == 1 and continues[following[0]]:
                run.append(following[0])
            else:
                break
        runs.append(run)
    return runs


def _drawing(snapshot: GraphSnapshot, max_nodes: int | None) -> _Drawing:
    nodes = snapshot.nodes
    notes: list[str] = []
    owner = list(range(len(nodes)))  # node id -> representative node id
    blocks: dict[int, list[int]] = {}
    if max_nodes is not None and len(nodes) > max_nodes:
        for run in _runs(snapshot):
            if len(run) < _MIN_RUN:
                continue
            members = set(run)
            absorbed = [
                i
                for i in {j for m in run for j in nodes[m].inputs}
                if nodes[i].is_leaf and set(nodes[i].outputs) <= members
            ]
            representative = run[-1]
            for member in run + absorbed:
                owner[member] = representative
            blocks[representative] = sorted(run + absorbed)
        if blocks:
            notes.append(f"{len(blocks)} straight runs of ops drawn as blocks")
    kept_ids = [node.id for node in nodes if owner[node.id] == node.id]
    boxes = []
    position: dict[int, int] = {}
    for node_id in kept_ids:
        position[node_id] = len(boxes)
        if node_id in blocks:
            members = blocks[node_id]
            ops = Counter(nodes[m].op for m in members if not nodes[m].is_leaf)
            leaves = sum(1 for m in members if nodes[m].is_leaf)
            summary = ", ".join(f"{op}×{n}" for op, n in ops.most_common(3))
            if len(ops) > 3:
                summary += ", …"
            lines = [f"block of {sum(ops.values())} ops", summary]
            if leaves:
                lines.append(f"+{leaves} leaves")
            lines.append(_shape_text(nodes[node_id]))
            tooltip = f"nodes #{members[0]}…#{members[-1]}: " + ", ".join(
                f"{op}×{n}" for op, n in ops.most_common()
            )
            alert = any(nodes[m].grad is not None and not nodes[m].grad.finite for m in members)
            boxes.append(_Box(f"b{node_id}", lines, "block", tooltip, alert, members))
        else:
            boxes.append(_box(nodes[node_id]))
    edges = sorted(
        {
            (position[owner[e.source]], position[owner[e.target]])
            for e in snapshot.edges
            if owner[e.source] != owner[e.target]
        }
    )
    if max_nodes is not None and len(boxes) > max_nodes:
        boxes, edges, cut = _truncate(boxes, edges, snapshot, max_nodes)
        notes.append(cut)
    return _Drawing(boxes, edges, notes)


def _truncate(
    boxes: list[_Box], edges: list[tuple[int, int]], snapshot: GraphSnapshot, max_nodes: int
) -> tuple[list[_Box], list[tuple[int, int]], str]:
    """Keep the ``max_nodes - 1`` boxes nearest an output (breadth first, against the data
    flow), plus one note box standing for the rest."""
    inputs: list[list[int]] = [[] for _ in boxes]
    for source, target in edges:
        inputs[target].append(source)
    start = [i for i, box in enumerate(boxes) if box.kind == "output"] or [len(boxes) - 1]
    keep = set(start)
    frontier = list(start)
    budget = max_nodes - 1
    while frontier and len(keep) < budget:
        following = []
        for box in frontier:
            for source in inputs[box]:
                if source not in keep and len(keep) < budget:
                    keep.add(source)
                    following.append(source)
        frontier = following
    order = sorted(keep)
    new_index = {old: new for new, old in enumerate(order)}
    dropped = [i for i in range(len(boxes)) if i not in keep]
    ops = Counter(
        snapshot.nodes[m].op
        for i in dropped
        for m in boxes[i].members
        if not snapshot.nodes[m].is_leaf
    )
    hidden = sum(len(boxes[i].members) for i in dropped)
    text = (
        f"{hidden} more nodes not drawn ("
        + ", ".join(f"{op}×{n}" for op, n in ops.most_common(4))
        + (", …" if len(ops) > 4 else "")
        + ")"
    )
    kept_boxes = [boxes[i] for i in order]
    note = _Box("cut", ["…", text], "note", text)
    kept_boxes.insert(0, note)
    new_index = {old: new + 1 for old, new in new_index.items()}
    kept_edges = [(new_index[s], new_index[t]) for s, t in edges if s in keep and t in keep]
    frontier_targets = sorted({new_index[t] for s, t in edges if s not in keep and t in keep})
    kept_edges.extend((0, t) for t in frontier_targets)
    return kept_boxes, kept_edges, text


# -- DOT -------------------------------------------------------------------------------------


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _drawing_to_dot(drawing: _Drawing, title: str) -> str:
    lines = [
        "digraph axoncl {",
        f"  label={_dot_quote(title)};",
        "  labelloc=t;",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", '
        'fillcolor="#ffffff"];',
        '  edge [color="#666666", arrowsize=0.6];',
    ]
    for box in drawing.boxes:
        style = '"filled"' if box.kind in ("parameter", "input", "note") else '"rounded,filled"'
        if box.kind in ("block", "note"):
            style = '"dashed,filled"'
        color = "#cc0000" if box.alert else _STROKE[box.kind]
        width = "2.5" if box.kind == "output" or box.alert else "1"
        lines.append(
            f"  {box.key} [label={_dot_quote(chr(10).join(box.lines))}, "
            f"tooltip={_dot_quote(box.tooltip)}, style={style}, "
            f'fillcolor="{_FILL[box.kind]}", color="{color}", penwidth={width}];'
        )
    for source, target in drawing.edges:
        lines.append(f"  {drawing.boxes[source].key} -> {drawing.boxes[target].key};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _title(snapshot: GraphSnapshot, drawing: _Drawing) -> str:
    text = (
        f"{snapshot.node_count()} ops, {len(snapshot.leaves())} leaves, "
        f"depth {snapshot.depth()} ({snapshot.backend})"
    )
    return "; ".join([text, *drawing.notes])


def to_dot(snapshot: GraphSnapshot, *, max_nodes: int | None = None) -> str:
    """The graph as Graphviz DOT text.

    Nodes are labelled with the op (or the parameter's name), the shape and dtype, and the
    gradient norm when known; parameters, other leaves and the output each have their own fill,
    and a non-finite gradient a red border. Edges point along the data flow.

    Parameters
    ----------
    snapshot
        From :func:`trace_backward`.
    max_nodes
        Reduce larger graphs as the SVG does (blocks, then a cut); ``None`` writes every node.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> x = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> text = to_dot(trace_backward(x.relu().sum()))
    >>> text.startswith("digraph axoncl {"), "n0 -> n1;" in text
    (True, True)
    """
    drawing = _drawing(snapshot, max_nodes)
    return _drawing_to_dot(drawing, _title(snapshot, drawing))


# -- layout ----------------------------------------------------------------------------------

_CHAR_W = 6.6
_LINE_H = 14.0
_PAD_X = 10.0
_PAD_Y = 7.0
_GAP_X = 18.0
_GAP_Y = 46.0
_SWEEPS = 4


def _size(box: _Box) -> tuple[float, float]:
    width = max(len(line) for line in box.lines) * _CHAR_W + 2 * _PAD_X
    return max(width, 40.0), len(box.lines) * _LINE_H + 2 * _PAD_Y


def _layout(drawing: _Drawing) -> tuple[list[tuple[float, float, float, float]], float, float]:
    """(x, y, width, height) of each box (top-left corner), and the canvas size."""
    count = len(drawing.boxes)
    preds: list[list[int]] = [[] for _ in range(count)]
    succs: list[list[int]] = [[] for _ in range(count)]
    for source, target in drawing.edges:
        preds[target].append(source)
        succs[source].append(target)
    # Boxes are in topological order, so one pass gives longest-path layers.
    layer = [0] * count
    for i in range(count):
        if preds[i]:
            layer[i] = 1 + max(layer[p] for p in preds[i])
    for i in range(count - 1, -1, -1):  # then as late as possible: just above the first consumer
        if succs[i]:
            layer[i] = min(layer[s] for s in succs[i]) - 1
    lowest = min(layer, default=0)
    depth = max(layer, default=-1) + 1 - lowest
    layers: list[list[int]] = [[] for _ in range(depth)]
    for i in range(count):
        layers[layer[i] - lowest].append(i)
    sizes = [_size(box) for box in drawing.boxes]
    x = [0.0] * count

    def place(row: list[int]) -> None:
        total = sum(sizes[i][0] for i in row) + _GAP_X * max(len(row) - 1, 0)
        cursor = -total / 2
        for i in row:
            x[i] = cursor + sizes[i][0] / 2  # x holds the centre while ordering
            cursor += sizes[i][0] + _GAP_X

    for row in layers:
        place(row)
    for sweep in range(_SWEEPS):
        downward = sweep % 2 == 0
        rows = layers[1:] if downward else layers[-2::-1]
        for row in rows:

            def barycentre(i: int, down: bool = downward) -> float:
                near = preds[i] if down else succs[i]
                return sum(x[j] for j in near) / len(near) if near else x[i]

            row.sort(key=barycentre)
            place(row)
    top = 0.0
    boxes: list[tuple[float, float, float, float]] = [(0.0, 0.0, 0.0, 0.0)] * count
    left = min((x[i] - sizes[i][0] / 2 for i in range(count)), default=0.0)
    right = max((x[i] + sizes[i][0] / 2 for i in range(count)), default=0.0)
    margin = 20.0
    for row in layers:
        height = max(sizes[i][1] for i in row)
        for i in row:
            width, h = sizes[i]
            boxes[i] = (x[i] - width / 2 - left + margin, top + margin + (height - h) / 2, width, h)
        top += height + _GAP_Y
    return boxes, right - left + 2 * margin, max(top - _GAP_Y, 0.0) + 2 * margin + 24.0


# -- SVG and HTML ----------------------------------------------------------------------------


def _svg_python(drawing: _Drawing, title: str) -> str:
    boxes, width, height = _layout(drawing)
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#666666"/></marker></defs>',
        f'<text class="title" x="10" y="{height - 8:.0f}" fill="#555555">{esc(title)}</text>',
        '<g class="edges" fill="none" stroke="#666666" stroke-width="1">',
    ]
    for source, target in drawing.edges:
        sx, sy, sw, sh = boxes[source]
        tx, ty, tw, _ = boxes[target]
        x0, y0 = sx + sw / 2, sy + sh
        x1, y1 = tx + tw / 2, ty
        bend = max((y1 - y0) / 2, 12.0)
        out.append(
            f'<path class="edge" d="M {x0:.1f} {y0:.1f} C {x0:.1f} {y0 + bend:.1f} '
            f'{x1:.1f} {y1 - bend:.1f} {x1:.1f} {y1:.1f}" marker-end="url(#arrow)"/>'
        )
    out.append("</g>")
    for box, (bx, by, bw, bh) in zip(drawing.boxes, boxes, strict=True):
        stroke = "#cc0000" if box.alert else _STROKE[box.kind]
        stroke_width = 2.5 if box.kind == "output" or box.alert else 1.0
        radius = 8 if box.kind in ("op", "output") else 0
        dash = ' stroke-dasharray="4 3"' if box.kind in ("block", "note") else ""
        out.append(f'<g class="node {box.kind}" id="{box.key}"><title>{esc(box.tooltip)}</title>')
        out.append(
            f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
            f'rx="{radius}" fill="{_FILL[box.kind]}" stroke="{stroke}" '
            f'stroke-width="{stroke_width}"{dash}/>'
        )
        for k, line in enumerate(box.lines):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(
                f'<text x="{bx + bw / 2:.1f}" y="{by + _PAD_Y + (k + 0.8) * _LINE_H:.1f}" '
                f'text-anchor="middle"{weight}>{esc(line)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_graphviz(dot_text: str) -> str | None:
    try:
        done = subprocess.run(
            ["dot", "-Tsvg"],
            input=dot_text,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or "<svg" not in done.stdout:
        return None
    return done.stdout[done.stdout.index("<svg") :]


def to_svg(
    snapshot: GraphSnapshot, *, engine: str = "auto", max_nodes: int | None = DEFAULT_MAX_NODES
) -> str:
    """The graph drawn as a standalone SVG document.

    Parameters
    ----------
    snapshot
        From :func:`trace_backward`.
    engine
        ``"python"``: the built-in layered layout, no external tool. ``"dot"``: Graphviz (raises
        ``RuntimeError`` when it is missing or fails). ``"auto"`` (default): Graphviz when
        ``dot`` is on the PATH, else the built-in layout.
    max_nodes
        Larger graphs collapse straight runs of ops into blocks, then are cut to this many
        boxes nearest the output, with a note; ``None`` draws everything (slow for huge graphs).

    Each node is one ``<g class="node …">`` group holding one shape, its text, and a
    ``<title>`` tooltip with the full statistics.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> x = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> to_svg(trace_backward(x.relu().sum()), engine="python").count("<rect")
    3
    """
    if engine not in ("auto", "python", "dot"):
        raise ValueError(f"to_svg: expected engine 'auto', 'python' or 'dot', got {engine!r}")
    drawing = _drawing(snapshot, max_nodes)
    title = _title(snapshot, drawing)
    if engine == "dot" or (engine == "auto" and dot_available()):
        svg = _svg_graphviz(_drawing_to_dot(drawing, title)) if dot_available() else None
        if svg is not None:
            return svg
        if engine == "dot":
            raise RuntimeError(
                "to_svg: Graphviz 'dot' is not on the PATH or failed; "
                "use engine='python' for the built-in layout"
            )
    return _svg_python(drawing, title)


_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
.graph { overflow: auto; border: 1px solid #ddd; padding: 0.5em; max-height: 80vh; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
tr.flag td { background: #ffe5e5; }
pre { background: #f7f7f7; padding: 0.8em; overflow: auto; }
"""

_TABLE_ROWS = 2000


def to_html(
    snapshot: GraphSnapshot,
    *,
    engine: str = "auto",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    title: str = "axoncl graph",
) -> str:
    """A self-contained HTML page: the SVG drawing (hover a node for its statistics), op
    counts, the gradient-flow summary when gradients are known, and a table of nodes.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> x = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> page = to_html(trace_backward(x.relu().sum()), engine="python")
    >>> page.startswith("<!DOCTYPE html>"), "<svg" in page
    (True, True)
    """
    esc = html.escape
    svg = to_svg(snapshot, engine=engine, max_nodes=max_nodes)
    counts = ", ".join(f"{esc(op)}×{n}" for op, n in snapshot.op_counts().items())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{snapshot.node_count()} ops, {len(snapshot.leaves())} leaves, depth "
        f"{snapshot.depth()}, backend {esc(snapshot.backend)}.<br>Ops: {counts or '—'}</p>",
        f'<div class="graph">{svg}</div>',
    ]
    if any(node.grad is not None for node in snapshot.leaves()):
        report = snapshot.gradient_flow_summary()
        parts.append(f"<h2>Gradient flow</h2><pre>{esc(str(report))}</pre>")
    parts.append(
        "<h2>Nodes</h2><table><tr><th>#</th><th>op / name</th><th>shape</th>"
        "<th>dtype</th><th>inputs</th><th>|grad|</th><th>grad nan/inf</th>"
        "<th>zeros in value</th><th>site</th></tr>"
    )
    for node in snapshot.nodes[:_TABLE_ROWS]:
        grad = node.grad
        flag = grad is not None and not grad.finite
        parts.append(
            f"<tr{' class=flag' if flag else ''}><td>{node.id}</td><td>{esc(node.label)}</td>"
            f"<td>{esc(_shape_text(node).split(')')[0] + ')')}</td><td>{esc(node.dtype)}</td>"
            f"<td>{esc(', '.join(map(str, node.inputs)))}</td>"
            f"<td>{'' if grad is None else f'{grad.norm:.3g}'}</td>"
            f"<td>{'' if grad is None else f'{grad.nan}/{grad.inf}'}</td>"
            f"<td>{'' if node.value is None else f'{node.value.zero_fraction:.0%}'}</td>"
            f"<td>{esc(node.creation_site or '')}</td></tr>"
        )
    parts.append("</table>")
    if len(snapshot.nodes) > _TABLE_ROWS:
        parts.append(f"<p>… {len(snapshot.nodes) - _TABLE_ROWS} more nodes not listed.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
