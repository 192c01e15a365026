"""``to_html``: one self-contained page with every view of the drawing, zoom and pan, node
details on hover or click, a gradient-flow chart and table, and a table of nodes.

Everything is inline (styles, the script, the data as JSON): the page makes no request, so it
works offline and from a file.
"""

from __future__ import annotations

import html
import json
import math
from typing import TYPE_CHECKING, Any

from .render import (
    DEFAULT_MAX_NODES,
    _check_engine,
    _flags_by_node,
    shape_text,
    view_svg,
    views,
)

if TYPE_CHECKING:
    from .health import GradientFlowReport
    from .snapshot import GraphSnapshot, NodeInfo

__all__ = ["flow_chart_svg", "to_html"]

_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
.graph-panel { display: flex; gap: 1em; align-items: stretch; }
.viewer { flex: 1; min-width: 0; }
.toolbar { display: flex; gap: 0.4em; align-items: center; margin-bottom: 0.4em;
  flex-wrap: wrap; }
.toolbar button { font-size: 0.9em; padding: 2px 8px; cursor: pointer; }
.crumbs button { border: none; background: none; color: #2a5da8; padding: 0 2px; }
.crumbs button:last-child { color: #222; font-weight: bold; }
.viewport { position: relative; overflow: hidden; height: 70vh; border: 1px solid #ddd;
  background: #fcfcfc; cursor: grab; touch-action: none; }
.viewport.dragging { cursor: grabbing; }
.viewport svg { position: absolute; left: 0; top: 0; transform-origin: 0 0; }
.view[hidden] { display: none; }
g.node { cursor: pointer; }
g.node.selected > rect, g.node.selected > polygon, g.node.selected > path,
g.node.selected > ellipse { stroke: #ff00aa; stroke-width: 3; }
#details { width: 22em; flex: none; border: 1px solid #ddd; padding: 0.6em; font-size: 0.85em;
  overflow: auto; max-height: 70vh; }
#details h3 { font-size: 1em; margin: 0 0 0.4em 0; word-break: break-all; }
#details td:first-child { color: #666; white-space: nowrap; }
.flag { color: #b00000; font-weight: bold; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
tr.flag td { background: #ffe5e5; }
pre { background: #f7f7f7; padding: 0.8em; overflow: auto; }
.flow-chart { max-width: 100%; overflow-x: auto; }
"""

# Zoom and pan (wheel, drag, buttons, keys), opening group views, and the details panel.
_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("axoncl-data").textContent);
  var viewport = document.getElementById("viewport");
  var details = document.getElementById("details");
  var crumbs = document.getElementById("crumbs");
  var zoomText = document.getElementById("zoom-level");
  var state = {};
  var current = null;
  var selected = null;

  function svgOf(id) { return document.querySelector('.view[data-view="' + id + '"] svg'); }
  function size(svg) {
    var box = svg.viewBox && svg.viewBox.baseVal;
    if (box && box.width) { return [box.width, box.height]; }
    return [svg.width.baseVal.value, svg.height.baseVal.value];
  }
  function apply() {
    var s = state[current], svg = svgOf(current), wh = size(svg);
    svg.setAttribute("width", wh[0]);
    svg.setAttribute("height", wh[1]);
    svg.style.transform = "translate(" + s.x + "px," + s.y + "px) scale(" + s.k + ")";
    zoomText.textContent = Math.round(s.k * 100) + "%";
  }
  function fit() {
    var wh = size(svgOf(current));
    var w = viewport.clientWidth, h = viewport.clientHeight;
    var k = Math.min(w / wh[0], h / wh[1], 1.5);
    state[current] = { k: k, x: (w - wh[0] * k) / 2, y: Math.max((h - wh[1] * k) / 2, 0) };
    apply();
  }
  function zoomAt(factor, px, py) {
    var s = state[current];
    var k = Math.min(Math.max(s.k * factor, 0.02), 20);
    s.x = px - (px - s.x) * (k / s.k);
    s.y = py - (py - s.y) * (k / s.k);
    s.k = k;
    apply();
  }
  function show(id) {
    document.querySelectorAll(".view").forEach(function (v) {
      v.hidden = v.getAttribute("data-view") !== id;
    });
    current = id;
    var chain = [], at = id;
    while (at) { chain.unshift(at); at = data.views[at].parent; }
    crumbs.textContent = "";
    chain.forEach(function (v) {
      var b = document.createElement("button");
      b.textContent = data.views[v].label;
      b.setAttribute("data-view", v);
      b.addEventListener("click", function () { show(v); });
      crumbs.appendChild(b);
    });
    if (state[id]) { apply(); } else { fit(); }
  }
  function row(table, key, value, flag) {
    var tr = table.insertRow(), a = tr.insertCell(), b = tr.insertCell();
    a.textContent = key;
    b.textContent = value;
    if (flag) { b.className = "flag"; }
  }
  function describe(key) {
    var item = data.boxes[key];
    if (!item) { return; }
    details.textContent = "";
    var h = document.createElement("h3");
    h.textContent = item.title;
    details.appendChild(h);
    var table = document.createElement("table");
    item.rows.forEach(function (r) { row(table, r[0], r[1], false); });
    (item.flags || []).forEach(function (f) { row(table, "flag", f, true); });
    details.appendChild(table);
    if (item.opens) {
      var b = document.createElement("button");
      b.textContent = item.kind === "port" ? "go to its view" : "open";
      b.addEventListener("click", function () { show(item.opens); });
      details.appendChild(b);
    }
  }
  function nodeOf(target) {
    var g = target.closest ? target.closest("g.node") : null;
    return g && data.boxes[g.id] ? g : null;
  }
  document.querySelectorAll(".view").forEach(function (view) {
    view.addEventListener("mouseover", function (e) {
      var g = nodeOf(e.target);
      if (g && !selected) { describe(g.id); }
    });
    view.addEventListener("click", function (e) {
      var g = nodeOf(e.target);
      if (!g || moved) { return; }
      if (selected) { selected.classList.remove("selected"); }
      selected = g;
      g.classList.add("selected");
      describe(g.id);
      var item = data.boxes[g.id];
      if (item.opens && item.kind === "group") { show(item.opens); }
    });
  });
  var drag = null, moved = false;
  viewport.addEventListener("pointerdown", function (e) {
    drag = { x: e.clientX, y: e.clientY, sx: state[current].x, sy: state[current].y };
    moved = false;
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; viewport.classList.add("dragging"); }
    state[current].x = drag.sx + dx;
    state[current].y = drag.sy + dy;
    apply();
  });
  window.addEventListener("pointerup", function () {
    drag = null;
    viewport.classList.remove("dragging");
    setTimeout(function () { moved = false; }, 0);
  });
  viewport.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = viewport.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  function centre(factor) {
    zoomAt(factor, viewport.clientWidth / 2, viewport.clientHeight / 2);
  }
  document.getElementById("zoom-in").addEventListener("click", function () { centre(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { centre(0.8); });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  document.getElementById("zoom-one").addEventListener("click", function () {
    var s = state[current]; zoomAt(1 / s.k, 0, 0);
  });
  viewport.addEventListener("dblclick", fit);
  document.addEventListener("keydown", function (e) {
    if (e.target.tagName === "INPUT") { return; }
    if (e.key === "+" || e.key === "=") { centre(1.25); }
    if (e.key === "-") { centre(0.8); }
    if (e.key === "0") { fit(); }
    if (e.key === "Backspace" && data.views[current].parent) { show(data.views[current].parent); }
  });
  window.axoncl = { show: show, zoom: centre, fit: fit, state: state,
                    current: function () { return current; } };
  show(data.root);
})();
"""

_TABLE_ROWS = 2000


def _stats_rows(prefix: str, stats: Any) -> list[list[str]]:
    rows = [
        [f"{prefix} norm", f"{stats.norm:.4g}"],
        [f"{prefix} mean", f"{stats.mean:.4g}"],
        [f"{prefix} max |x|", f"{stats.max_abs:.4g}"],
        [f"{prefix} zeros", f"{stats.zeros} of {stats.size} ({stats.zero_fraction:.0%})"],
    ]
    if stats.nan or stats.inf:
        rows.append([f"{prefix} nan / inf", f"{stats.nan} / {stats.inf}"])
    return rows


def _node_details(node: NodeInfo, snapshot: GraphSnapshot, flags: list[str]) -> dict[str, Any]:
    rows = [
        ["node", f"#{node.id}"],
        ["op", node.op],
        ["shape", "(" + shape_text(node).split("(", 1)[1].split(")")[0] + ")"],
        ["dtype", node.dtype],
        ["device", node.device],
    ]
    if node.name:
        rows.append(["name", node.name])
    if node.module is not None:
        kind = snapshot.modules.get(node.module, "")
        rows.append(["module", f"{node.module or '(outermost)'} {kind}".strip()])
    rows += _stats_rows("grad", node.grad) if node.grad is not None else [["grad", "none"]]
    if node.value is not None:
        rows += _stats_rows("value", node.value)
    if node.inputs:
        rows.append(["inputs", ", ".join(f"#{i}" for i in node.inputs)])
    if node.outputs:
        rows.append(["read by", ", ".join(f"#{i}" for i in node.outputs)])
    if node.creation_site:
        rows.append(["created at", node.creation_site])
    return {"title": node.label, "kind": "node", "rows": rows, "flags": flags}


def _page_data(snapshot: GraphSnapshot, found: list, flags: dict[int, list[str]]) -> dict[str, Any]:
    boxes: dict[str, Any] = {}
    nodes = snapshot.nodes
    for view in found:
        for box in view.boxes:
            if box.kind == "port":
                boxes[box.key] = {
                    "title": box.lines[0],
                    "kind": "port",
                    "rows": [["stands for", box.tooltip]],
                    "opens": box.opens,
                }
            elif box.kind == "group":
                inside = [nodes[m] for m in _members(found, box.opens)]
                params = [n for n in inside if n.is_leaf and n.grad is not None]
                rows = [["contains", box.lines[1]], ["output", box.lines[-1]]]
                rows += [[n.label, f"|grad| {n.grad.norm:.4g}"] for n in params[:20]]
                mine = sorted({f"{f} at {n.label}" for n in inside for f in flags.get(n.id, [])})
                boxes[box.key] = {
                    "title": box.lines[0],
                    "kind": "group",
                    "rows": rows,
                    "flags": mine,
                    "opens": box.opens,
                }
            else:
                node = nodes[int(box.key[1:])]
                boxes[box.key] = _node_details(node, snapshot, flags.get(node.id, []))
    return {
        "root": found[0].key,
        "views": {
            v.key: {"label": v.title.rsplit(" / ", 1)[-1], "parent": v.parent} for v in found
        },
        "boxes": boxes,
    }


def _members(found: list, view_key: str) -> list[int]:
    """Node ids drawn in a view and the views below it."""
    below = {view_key}
    ids = []
    for view in found:  # parents come before their children
        if view.key in below or view.parent in below:
            below.add(view.key)
            ids += [int(b.key[1:]) for b in view.boxes if b.key[0] == "n" and b.kind != "port"]
    return ids


# -- the gradient-flow chart -----------------------------------------------------------------

_CHART_H = 220.0
_CHART_TOP = 24.0
_CHART_LEFT = 64.0
_STEP = 34.0


def _log_range(values: list[float]) -> tuple[int, int]:
    finite = [v for v in values if math.isfinite(v) and v > 0]
    if not finite:
        return -1, 1
    low = math.floor(math.log10(min(finite)))
    high = math.ceil(math.log10(max(finite)))
    return low, max(high, low + 1)


def flow_chart_svg(report: GradientFlowReport) -> str:
    """An inline SVG chart of ``report``: per parameter, in model order, the gradient norm (a
    bar) and the grad/weight ratio (a dot) on one log scale; flagged parameters are red and
    carry their flags above the bar. The vanishing and exploding ratio thresholds are dashed
    lines when they fall in the range drawn.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> w = axoncl.Variable(np.ones(3), requires_grad=True, name="w")
    >>> (w * 2.0).sum().backward()
    >>> svg = flow_chart_svg(trace_backward(w * 2.0).gradient_flow_summary())
    >>> svg.startswith("<svg"), svg.count('class="flow-param"')
    (True, 1)
    """
    esc = html.escape
    params = report.parameters
    values = [p.grad_norm for p in params] + [p.ratio for p in params]
    low, high = _log_range(values)
    thresholds = report.thresholds
    for name in ("vanishing", "exploding"):
        limit = thresholds.get(name)
        if limit and low <= math.log10(limit) <= high + 1:
            low, high = min(low, math.floor(math.log10(limit))), max(high, math.log10(limit))
    high = math.ceil(high)
    label_h = 110.0
    width = _CHART_LEFT + _STEP * max(len(params), 1) + 30
    height = _CHART_TOP + _CHART_H + label_h

    def y_of(value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            return _CHART_TOP + _CHART_H
        fraction = (math.log10(value) - low) / (high - low)
        return _CHART_TOP + _CHART_H * (1 - min(max(fraction, 0.0), 1.0))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-chart-svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="10">',
        '<text x="4" y="12" fill="#333">gradient norm (bars) and grad/weight ratio (dots), '
        "log scale; red: flagged</text>",
    ]
    for power in range(low, high + 1):
        y = y_of(10.0**power)
        out.append(
            f'<line x1="{_CHART_LEFT}" x2="{width - 10:.0f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e3e3e3"/><text x="{_CHART_LEFT - 4}" y="{y + 3:.1f}" '
            f'text-anchor="end" fill="#555">1e{power}</text>'
        )
    for name, color in (("vanishing", "#9a6a00"), ("exploding", "#9a6a00")):
        limit = thresholds.get(name)
        if limit and low <= math.log10(limit) <= high:
            y = y_of(limit)
            out.append(
                f'<line class="threshold {name}" x1="{_CHART_LEFT}" x2="{width - 10:.0f}" '
                f'y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" stroke-dasharray="5 4"/>'
                f'<text x="{width - 12:.0f}" y="{y - 3:.1f}" text-anchor="end" '
                f'fill="{color}">ratio {name} ({limit:g})</text>'
            )
    base = _CHART_TOP + _CHART_H
    for k, p in enumerate(params):
        x = _CHART_LEFT + _STEP * k + _STEP / 2
        flagged = bool(p.flags)
        color = "#cc3333" if flagged else "#3a78c2"
        tip = (
            f"{p.name} {'x'.join(map(str, p.shape)) or 'scalar'}: |grad| {p.grad_norm:.3g}, "
            f"|w| {p.weight_norm:.3g}, ratio {p.ratio:.3g}"
            + (f"; flagged: {', '.join(p.flags)}" if flagged else "")
        )
        classes = "flow-param flagged" if flagged else "flow-param"
        top = y_of(p.grad_norm)
        out.append(
            f'<g class="{classes}" data-name="{esc(p.name)}" '
            f'data-flags="{esc(",".join(p.flags))}"><title>{esc(tip)}</title>'
            f'<rect class="grad" x="{x - 9:.1f}" y="{top:.1f}" width="18" '
            f'height="{base - top:.1f}" fill="{color}" opacity="0.85"/>'
            f'<circle class="ratio" cx="{x:.1f}" cy="{y_of(p.ratio):.1f}" r="4" fill="#fff" '
            f'stroke="{"#cc3333" if flagged else "#222"}" stroke-width="1.5"/>'
        )
        if flagged:
            out.append(
                f'<text class="flag-mark" x="{x:.1f}" y="{min(top, y_of(p.ratio)) - 6:.1f}" '
                f'text-anchor="middle" fill="#b00000" font-weight="bold">'
                f"{esc(', '.join(p.flags))}</text>"
            )
        out.append(
            f'<text x="{x:.1f}" y="{base + 10:.1f}" transform="rotate(55 {x:.1f} '
            f'{base + 10:.1f})" fill="#333">{esc(p.name[:18])}</text></g>'
        )
    out.append(
        f'<line x1="{_CHART_LEFT}" x2="{_CHART_LEFT}" y1="{_CHART_TOP}" y2="{base:.1f}" '
        'stroke="#888"/></svg>'
    )
    return "".join(out)


def to_html(
    snapshot: GraphSnapshot,
    *,
    engine: str = "auto",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    title: str = "axoncl graph",
) -> str:
    """A self-contained HTML page: the graph with zoom and pan, its groups (module calls and
    parts of large graphs) opened by a click, the details of a node on hover or click (shape,
    dtype, gradient and value statistics, flags), op counts, a gradient-flow chart and table
    when gradients are known, and a table of nodes. No external scripts or files.

    Parameters
    ----------
    snapshot
        From :func:`trace_backward`.
    engine, max_nodes
        As for :func:`to_svg`.
    title
        The page's title.

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> x = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> page = to_html(trace_backward(x.relu().sum()), engine="python")
    >>> page.startswith("<!DOCTYPE html>"), "<svg" in page, "src=" in page
    (True, True, False)
    """
    _check_engine(engine)
    esc = html.escape
    found, graph_title = views(snapshot, max_nodes)
    flags = _flags_by_node(snapshot)
    counts = ", ".join(f"{esc(op)}×{n}" for op, n in snapshot.op_counts().items())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{snapshot.node_count()} ops, {len(snapshot.leaves())} leaves, depth "
        f"{snapshot.depth()}, backend {esc(snapshot.backend)}.<br>Ops: {counts or '—'}</p>",
        '<div class="graph-panel"><div class="viewer"><div class="toolbar">'
        '<button id="zoom-out" title="zoom out (-)">−</button>'
        '<span id="zoom-level">100%</span>'
        '<button id="zoom-in" title="zoom in (+)">+</button>'
        '<button id="zoom-fit" title="fit (0, double-click)">fit</button>'
        '<button id="zoom-one" title="actual size">1:1</button>'
        '<span class="crumbs" id="crumbs"></span></div>'
        '<div class="viewport" id="viewport">',
    ]
    for view in found:
        parts.append(f'<div class="view" data-view="{view.key}" hidden>')
        parts.append(view_svg(view, graph_title if view.parent is None else view.title, engine))
        parts.append("</div>")
    parts.append(
        '</div><p style="font-size:0.8em;color:#666">Wheel or +/− to zoom, drag to pan, '
        "double-click to fit; hover or click a box for details; click a dashed group to open "
        "it, and the path above to go back.</p></div>"
        '<aside id="details"><h3>Details</h3>Hover or click a box.</aside></div>'
    )
    if flags or any(node.grad is not None for node in snapshot.leaves()):
        report = snapshot.gradient_flow_summary()
        found_flags = "; ".join(f"{what} at {where}" for what, where in report.flags)
        parts.append("<h2>Gradient flow</h2>")
        parts.append(
            f'<p class="health {"flagged" if report.flags else "healthy"}">'
            + (f'<span class="flag">flagged: {esc(found_flags)}</span>' if report.flags else "")
            + ("healthy: nothing flagged" if not report.flags else "")
            + "</p>"
        )
        parts.append(f'<div class="flow-chart">{flow_chart_svg(report)}</div>')
        parts.append(f"<pre>{esc(str(report))}</pre>")
    parts.append(
        "<h2>Nodes</h2><table><tr><th>#</th><th>op / name</th><th>shape</th>"
        "<th>dtype</th><th>module</th><th>inputs</th><th>|grad|</th><th>grad nan/inf</th>"
        "<th>zeros in value</th><th>site</th></tr>"
    )
    for node in snapshot.nodes[:_TABLE_ROWS]:
        grad = node.grad
        flag = (grad is not None and not grad.finite) or node.id in flags
        parts.append(
            f"<tr{' class=flag' if flag else ''}><td>{node.id}</td><td>{esc(node.label)}</td>"
            f"<td>{esc(shape_text(node).split(')')[0] + ')')}</td><td>{esc(node.dtype)}</td>"
            f"<td>{esc(node.module or '')}</td>"
            f"<td>{esc(', '.join(map(str, node.inputs)))}</td>"
            f"<td>{'' if grad is None else f'{grad.norm:.3g}'}</td>"
            f"<td>{'' if grad is None else f'{grad.nan}/{grad.inf}'}</td>"
            f"<td>{'' if node.value is None else f'{node.value.zero_fraction:.0%}'}</td>"
            f"<td>{esc(node.creation_site or '')}</td></tr>"
        )
    parts.append("</table>")
    if len(snapshot.nodes) > _TABLE_ROWS:
        parts.append(f"<p>… {len(snapshot.nodes) - _TABLE_ROWS} more nodes not listed.</p>")
    payload = json.dumps(_page_data(snapshot, found, flags), separators=(",", ":"))
    payload = payload.replace("<", "\\u003c")  # no "</script>" inside the data
    parts.append(f'<script type="application/json" id="axoncl-data">{payload}</script>')
    parts.append(f"<script>{_SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
