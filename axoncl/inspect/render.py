"""Drawing a ``GraphSnapshot``: Graphviz DOT text, and SVG laid out in pure Python.

A drawing is a tree of *views*. Ops recorded under :func:`record_modules` are grouped by the
module call that made them: each call is one box in its parent's view and a view of its own,
so a BatchNorm or a GELU is one box until opened. A module call that made a single op is drawn
as that op. A view with more than ``max_nodes`` boxes is split into parts (consecutive runs of
the topological order, so the parts form no cycle), each a box and a view of its own, and so
on down: nothing is cut, every node is in exactly one view. ``to_svg`` draws the top view;
``to_html`` (:mod:`.page`) draws them all and opens a box's view on a click.

The built-in layout is in :mod:`.layout`. When Graphviz's ``dot`` is on the PATH,
``engine="auto"`` lets it lay out each view instead.
"""

from __future__ import annotations

import heapq
import html
import math
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .layout import layout

if TYPE_CHECKING:
    from .snapshot import GraphSnapshot, NodeInfo

__all__ = ["DEFAULT_MAX_NODES", "dot_available", "to_dot", "to_svg"]

DEFAULT_MAX_NODES = 400
_MAX_PORTS = 6  # per direction and view; further outside neighbours share one box

_FILL = {
    "op": "#ffffff",
    "parameter": "#cfe3ff",
    "input": "#e4f2e0",
    "output": "#ffd9a8",
    "group": "#fff6c8",
    "port": "#f2f2f2",
}
_STROKE = {
    "op": "#444444",
    "parameter": "#2a5da8",
    "input": "#4d8a3d",
    "output": "#b35900",
    "group": "#9a8420",
    "port": "#888888",
}
_ALERT = "#cc0000"


@dataclass
class _Box:
    key: str
    lines: list[str]
    kind: str
    tooltip: str
    alert: bool = False  # a non-finite gradient inside
    flagged: bool = False  # a gradient-flow flag inside
    opens: str | None = None  # the view a click opens (groups), or the view a port leads to


@dataclass
class _View:
    """One drawing: its boxes, edges between them (indices), and where it sits in the tree."""

    key: str
    title: str
    parent: str | None
    boxes: list[_Box] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Group:
    """A module call (``path``) or a part of a view too large to draw (``path`` None)."""

    key: str
    label: str
    path: str | None
    items: list[int | _Group] = field(default_factory=list)  # node ids and subgroups
    members: set[int] = field(default_factory=set)

    def first(self) -> int:
        return min(self.members)


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH.

    Returns
    -------
    bool
        True when ``dot`` can be run: ``to_svg(engine="auto")`` then lays out with Graphviz.

    Examples
    --------
    >>> from axoncl.inspect import dot_available
    >>> isinstance(dot_available(), bool)
    True
    """
    return shutil.which("dot") is not None


def shape_text(node: NodeInfo) -> str:
    shape = "(" + ", ".join(str(d) for d in node.shape) + ("," if len(node.shape) == 1 else "")
    return f"{shape}) {node.dtype}"


def _kind(node: NodeInfo) -> str:
    if node.is_output:
        return "output"
    if node.is_leaf:
        return "parameter" if node.is_parameter else "input"
    return "op"


def _tooltip(node: NodeInfo) -> str:
    parts = [f"#{node.id} {node.label}", f"shape {shape_text(node)} on {node.device}"]
    if node.module is not None:
        parts.append(f"module {node.module or '(outermost)'}")
    if node.grad is not None:
        parts.append(f"grad: {node.grad}")
    if node.value is not None:
        parts.append(f"value: {node.value} zeros={node.value.zero_fraction:.0%}")
    if node.creation_site:
        parts.append(f"created at {node.creation_site}")
    return "\n".join(parts)


def _node_box(node: NodeInfo, flagged: set[int], single_module: str | None = None) -> _Box:
    title = node.label if single_module is None else f"{node.label} · {single_module}"
    lines = [title, shape_text(node)]
    if node.grad is not None:
        lines.append(f"|grad| {node.grad.norm:.3g}")
    alert = node.grad is not None and not node.grad.finite
    return _Box(f"n{node.id}", lines, _kind(node), _tooltip(node), alert, node.id in flagged)


# -- the tree of views -------------------------------------------------------------------------


def _scope_chain(path: str) -> list[str]:
    """The module calls enclosing ``path``, outermost first, ending with ``path`` itself."""
    parts = path.split(".") if path else []
    if parts and parts[0].startswith("#"):  # a second call of the outermost module
        chain, prefix, parts = [parts[0]], parts[0], parts[1:]
    else:
        chain, prefix = [""], ""
    for part in parts:
        prefix = f"{prefix}.{part}" if prefix else part
        chain.append(prefix)
    return chain


def _module_tree(snapshot: GraphSnapshot) -> _Group:
    """The root group: module calls nest as groups; a leaf lives in the innermost call that
    holds all its consumers."""
    nodes = snapshot.nodes
    root = _Group("g0", "graph", None)
    groups: dict[str, _Group] = {}
    chains: dict[int, list[str]] = {}

    def group_of(chain: list[str]) -> _Group:
        parent = root
        for path in chain:
            found = groups.get(path)
            if found is None:
                name = path.rsplit(".", 1)[-1] or snapshot.modules.get(path, "model")
                found = _Group(f"g{len(groups) + 1}", name, path)
                groups[path] = found
                parent.items.append(found)
            parent = found
        return parent

    for node in nodes:
        if node.is_leaf:
            continue
        chain = _scope_chain(node.module) if node.module is not None else []
        chains[node.id] = chain
        group_of(chain).items.append(node.id)
    for node in nodes:
        if not node.is_leaf:
            continue
        shared: list[str] | None = None
        for consumer in node.outputs:
            chain = chains.get(consumer, [])
            if shared is None:
                shared = chain
            else:
                k = 0
                while k < min(len(shared), len(chain)) and shared[k] == chain[k]:
                    k += 1
                shared = shared[:k]
        group_of(shared or []).items.append(node.id)
    _fill_members(root)
    return root


def _fill_members(group: _Group) -> set[int]:
    for item in group.items:
        group.members |= _fill_members(item) if isinstance(item, _Group) else {item}
    return group.members


def _op_count(group: _Group, nodes: tuple[NodeInfo, ...]) -> int:
    return sum(1 for m in group.members if not nodes[m].is_leaf)


def _simplify(group: _Group, nodes: tuple[NodeInfo, ...]) -> None:
    """Open what a box would only hide: a module call that made one op is that op, and the
    outermost module call, when it is the only one, is the top view itself."""
    items: list[int | _Group] = []
    for item in group.items:
        if isinstance(item, _Group):
            _simplify(item, nodes)
            if _op_count(item, nodes) <= 1:
                items.extend(item.items)
                continue
        items.append(item)
    outermost = [i for i in items if isinstance(i, _Group) and i.path == ""]
    if group.path is None and len(outermost) == 1 and len(items) > 1:
        (only,) = outermost
        items.remove(only)
        items.extend(only.items)
    group.items = items


def _first(item: int | _Group) -> int:
    return item.first() if isinstance(item, _Group) else item


def _item_order(items: list[int | _Group], snapshot: GraphSnapshot) -> list[int | _Group]:
    """``items`` in a topological order of the graph between them (ties: lowest node first).
    Node ids alone would not do: a group whose first member is an early leaf may still read
    the output of an item with later ids."""
    slot: dict[int, int] = {}
    for k, item in enumerate(items):
        for member in item.members if isinstance(item, _Group) else (item,):
            slot[member] = k
    following: list[set[int]] = [set() for _ in items]
    waiting = [0] * len(items)
    for edge in snapshot.edges:
        a, b = slot.get(edge.source), slot.get(edge.target)
        if a is not None and b is not None and a != b and b not in following[a]:
            following[a].add(b)
            waiting[b] += 1
    ready = [(_first(items[k]), k) for k in range(len(items)) if waiting[k] == 0]
    heapq.heapify(ready)
    order: list[int | _Group] = []
    while ready:
        _, k = heapq.heappop(ready)
        order.append(items[k])
        for b in following[k]:
            waiting[b] -= 1
            if waiting[b] == 0:
                heapq.heappush(ready, (_first(items[b]), b))
    if len(order) != len(items):  # module calls are sequential in time, so this cannot happen
        raise RuntimeError("to_svg: the groups of a view depend on each other in a cycle")
    return order


def _split(group: _Group, max_nodes: int, snapshot: GraphSnapshot, counter: list[int]) -> None:
    """Parts for a view with more than ``max_nodes`` items: consecutive runs of a
    topological order of its items (edges only go forward in it, so the parts form no
    cycle)."""
    for item in group.items:
        if isinstance(item, _Group):
            _split(item, max_nodes, snapshot, counter)
    while len(group.items) > max_nodes:
        ordered = _item_order(group.items, snapshot)
        parts = math.ceil(len(ordered) / max_nodes)
        size = math.ceil(len(ordered) / parts)
        new_items: list[int | _Group] = []
        for k in range(0, len(ordered), size):
            counter[0] += 1
            part = _Group(f"p{counter[0]}", f"part {k // size + 1} of {parts}", None)
            part.items = ordered[k : k + size]
            _fill_members(part)
            new_items.append(part)
        group.items = new_items


def _groups(snapshot: GraphSnapshot, max_nodes: int | None) -> _Group:
    root = _module_tree(snapshot)
    if max_nodes is None:  # every node in one view
        root.items = sorted(root.members)
        return root
    _simplify(root, snapshot.nodes)
    # Room for the ports a view may add (_MAX_PORTS each way, plus one "more" box each).
    _split(root, max(max_nodes - 2 * (_MAX_PORTS + 1), max_nodes // 2, 2), snapshot, [0])
    return root


def _flags_by_node(snapshot: GraphSnapshot) -> dict[int, list[str]]:
    """node id -> gradient-flow flags (empty before backward)."""
    if not any(node.grad is not None for node in snapshot.leaves()):
        return {}
    report = snapshot.gradient_flow_summary()
    flags: dict[int, list[str]] = {}
    for p in report.parameters:
        if p.flags:
            flags.setdefault(p.node_id, []).extend(p.flags)
    for a in report.activations:
        if a.flags:
            flags.setdefault(a.node_id, []).extend(a.flags)
    return flags


def _group_box(group: _Group, snapshot: GraphSnapshot, flagged: set[int], view: str) -> _Box:
    nodes = snapshot.nodes
    ops = Counter(nodes[m].op for m in group.members if not nodes[m].is_leaf)
    leaves = sum(1 for m in group.members if nodes[m].is_leaf)
    if group.path is not None:
        kind = snapshot.modules.get(group.path, "module")
        title = f"{group.label} ({kind})"
    else:
        title = group.label
    summary = ", ".join(f"{op}×{n}" for op, n in ops.most_common(3))
    if len(ops) > 3:
        summary += ", …"
    lines = [title, f"{sum(ops.values())} ops: {summary}" if ops else "no ops"]
    if leaves:
        lines.append(f"+{leaves} leaves")
    last = nodes[max(group.members)]
    lines.append(shape_text(last))
    tooltip = (
        f"{title}: nodes #{min(group.members)}…#{max(group.members)}; "
        + ", ".join(f"{op}×{n}" for op, n in ops.most_common())
        + "\nclick to open"
    )
    alert = any(nodes[m].grad is not None and not nodes[m].grad.finite for m in group.members)
    return _Box(
        group.key, lines, "group", tooltip, alert, bool(flagged & group.members), opens=view
    )


def _views(snapshot: GraphSnapshot, max_nodes: int | None) -> list[_View]:
    """Every view of the drawing, the top one first."""
    root = _groups(snapshot, max_nodes)
    flags = _flags_by_node(snapshot)
    flagged = set(flags)
    nodes = snapshot.nodes
    view_of: dict[str, str] = {}
    tree: list[tuple[_View, _Group]] = []
    where: dict[int, str] = {}  # node id -> the view it is drawn in

    def walk(group: _Group, parent: str | None, title: str) -> None:
        key = f"v{len(tree)}"
        view_of[group.key] = key
        tree.append((_View(key, title, parent), group))
        for item in group.items:
            if isinstance(item, _Group):
                walk(item, key, f"{title} / {item.label}")
            else:
                where[item] = key

    walk(root, None, "graph")
    for view, group in tree:
        owner: dict[int, int] = {}  # node id -> box index in this view
        for item in group.items:
            index = len(view.boxes)
            if isinstance(item, _Group):
                view.boxes.append(_group_box(item, snapshot, flagged, view_of[item.key]))
                for m in item.members:
                    owner[m] = index
            else:
                single = _single_module(nodes[item], group)
                view.boxes.append(_node_box(nodes[item], flagged, single))
                owner[item] = index
        ports: dict[tuple[int, str], int] = {}
        edges: set[tuple[int, int]] = set()
        for edge in snapshot.edges:
            source = owner.get(edge.source)
            target = owner.get(edge.target)
            if source is None and target is None:
                continue
            if source is None:
                source = _port(view, ports, nodes[edge.source], "from", where)
            if target is None:
                target = _port(view, ports, nodes[edge.target], "to", where)
            if source != target:
                edges.add((source, target))
        view.edges = sorted(edges)
    return [view for view, _ in tree]


def _single_module(node: NodeInfo, group: _Group) -> str | None:
    """The module to show on an op drawn in place of its one-op module call: its path below
    the view's own module, unless that only repeats the op's name."""
    if not node.module or node.module == group.path or node.is_leaf:
        return None
    path = node.module
    if group.path and path.startswith(group.path + "."):
        path = path[len(group.path) + 1 :]
    return None if path.rsplit(".", 1)[-1] == node.op else path


def _port(
    view: _View, ports: dict[tuple[int, str], int], node: NodeInfo, way: str, where: dict
) -> int:
    """A small box standing for a node drawn in another view (an input or a consumer)."""
    found = ports.get((node.id, way))
    if found is not None:
        return found
    if sum(1 for _, w in ports if w == way) >= _MAX_PORTS:
        shared = ports.get((-1, way))
        if shared is None:
            shared = ports[(-1, way)] = len(view.boxes)
            text = f"{way} more nodes"
            view.boxes.append(
                _Box(f"{view.key}_{way}more", [text], "port", f"{text} in other views")
            )
        return shared
    ports[(node.id, way)] = len(view.boxes)
    text = f"{way} {node.label}"
    view.boxes.append(
        _Box(
            f"{view.key}_{way}{node.id}",
            [text, shape_text(node)],
            "port",
            f"{text} (#{node.id}, drawn in another view)",
            opens=where.get(node.id),
        )
    )
    return ports[(node.id, way)]


# -- DOT -------------------------------------------------------------------------------------


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _view_to_dot(view: _View, title: str, clusters: dict[str, list[int]] | None = None) -> str:
    lines = [
        "digraph axoncl {",
        f"  id={_dot_quote(view.key)};",
        f"  label={_dot_quote(title)};",
        "  labelloc=t;",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", '
        'fillcolor="#ffffff"];',
        '  edge [color="#666666", arrowsize=0.6];',
    ]
    declared = []
    for box in view.boxes:
        style = '"filled"' if box.kind in ("parameter", "input", "port") else '"rounded,filled"'
        if box.kind in ("group", "port"):
            style = '"dashed,filled"'
        color = _ALERT if box.alert or box.flagged else _STROKE[box.kind]
        width = "2.5" if box.kind == "output" or box.alert or box.flagged else "1"
        classes = f"{box.kind} flagged" if box.flagged else box.kind
        declared.append(
            f"{box.key} [label={_dot_quote(chr(10).join(box.lines))}, "
            f"tooltip={_dot_quote(box.tooltip)}, id={_dot_quote(box.key)}, "
            f'class="{classes}", style={style}, '
            f'fillcolor="{_FILL[box.kind]}", color="{color}", penwidth={width}];'
        )
    if clusters:
        inside = {i for members in clusters.values() for i in members}
        lines += ["  " + declared[i] for i in range(len(declared)) if i not in inside]
        for k, (path, members) in enumerate(sorted(clusters.items())):
            lines.append(f"  subgraph cluster_{k} {{")
            lines.append(f'    label={_dot_quote(path)}; style="dashed"; color="#9a8420";')
            lines += ["    " + declared[i] for i in members]
            lines.append("  }")
    else:
        lines += ["  " + text for text in declared]
    for source, target in view.edges:
        lines.append(f"  {view.boxes[source].key} -> {view.boxes[target].key};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _title(snapshot: GraphSnapshot, views: list[_View]) -> str:
    text = (
        f"{snapshot.node_count()} ops, {len(snapshot.leaves())} leaves, "
        f"depth {snapshot.depth()} ({snapshot.backend})"
    )
    if len(views) > 1:
        text += f"; {len(views) - 1} groups, click one to open it"
    return text


def to_dot(snapshot: GraphSnapshot, *, max_nodes: int | None = None) -> str:
    """The graph as Graphviz DOT text.

    Nodes are labelled with the op (or the parameter's name), the shape and dtype, and the
    gradient norm when known; parameters, other leaves and the output each have their own fill,
    and a non-finite gradient or a gradient-flow flag a red border. Edges point along the data
    flow. Ops recorded under :func:`record_modules` sit in one dashed cluster per module call.

    Parameters
    ----------
    snapshot
        From :func:`trace_backward`.
    max_nodes
        ``None`` (default) writes every node; a number writes the top view that
        :func:`to_svg` draws (module calls and parts as single boxes).

    Returns
    -------
    str
        The DOT text, from ``digraph axoncl {`` to the closing brace.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> x = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> text = to_dot(trace_backward(x.relu().sum()))
    >>> text.startswith("digraph axoncl {"), "n0 -> n1;" in text
    (True, True)
    """
    views = _views(snapshot, max_nodes)
    top = views[0]
    clusters = None
    if max_nodes is None:
        clusters = {}
        for index, box in enumerate(top.boxes):
            module = snapshot.nodes[int(box.key[1:])].module if box.key[0] == "n" else None
            if module:
                clusters.setdefault(module, []).append(index)
    return _view_to_dot(top, _title(snapshot, views), clusters)


# -- SVG -------------------------------------------------------------------------------------

_CHAR_W = 6.6
_LINE_H = 14.0
_PAD_X = 10.0
_PAD_Y = 7.0


def _size(box: _Box) -> tuple[float, float]:
    width = max(len(line) for line in box.lines) * _CHAR_W + 2 * _PAD_X
    return max(width, 40.0), len(box.lines) * _LINE_H + 2 * _PAD_Y


def _svg_python(view: _View, title: str) -> str:
    geometry = layout([_size(box) for box in view.boxes], view.edges)
    width, height = geometry.width, geometry.height + 24.0
    esc = html.escape
    arrow = f"arrow-{view.key}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="axoncl-graph" id="svg-{view.key}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11">',
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#666666"/></marker></defs>',
        f'<text class="title" x="10" y="{height - 8:.0f}" fill="#555555">{esc(title)}</text>',
        '<g class="edges" fill="none" stroke="#666666" stroke-width="1">',
    ]
    for (source, target), path in zip(view.edges, geometry.paths, strict=True):
        out.append(
            f'<path class="edge" data-source="{view.boxes[source].key}" '
            f'data-target="{view.boxes[target].key}" d="{path}" marker-end="url(#{arrow})"/>'
        )
    out.append("</g>")
    for box, (bx, by, bw, bh) in zip(view.boxes, geometry.boxes, strict=True):
        stroke = _ALERT if box.alert or box.flagged else _STROKE[box.kind]
        stroke_width = 2.5 if box.kind == "output" or box.alert or box.flagged else 1.0
        radius = 8 if box.kind in ("op", "output", "group") else 0
        dash = ' stroke-dasharray="4 3"' if box.kind in ("group", "port") else ""
        classes = f"node {box.kind}" + (" flagged" if box.flagged else "")
        opens = f' data-opens="{box.opens}"' if box.opens else ""
        out.append(f'<g class="{classes}" id="{box.key}"{opens}><title>{esc(box.tooltip)}</title>')
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


def _check_engine(engine: str) -> None:
    if engine not in ("auto", "python", "dot"):
        raise ValueError(f"to_svg: expected engine 'auto', 'python' or 'dot', got {engine!r}")


def view_svg(view: _View, title: str, engine: str) -> str:
    """One view as SVG, by Graphviz or the built-in layout (see :func:`to_svg`)."""
    if engine == "dot" or (engine == "auto" and dot_available()):
        svg = _svg_graphviz(_view_to_dot(view, title)) if dot_available() else None
        if svg is not None:
            return svg
        if engine == "dot":
            raise RuntimeError(
                "to_svg: Graphviz 'dot' is not on the PATH or failed; "
                "use engine='python' for the built-in layout"
            )
    return _svg_python(view, title)


def views(snapshot: GraphSnapshot, max_nodes: int | None) -> tuple[list[_View], str]:
    """The views of a drawing and its title (for :mod:`.page`)."""
    found = _views(snapshot, max_nodes)
    return found, _title(snapshot, found)


def to_svg(
    snapshot: GraphSnapshot, *, engine: str = "auto", max_nodes: int | None = DEFAULT_MAX_NODES
) -> str:
    """The graph drawn as a standalone SVG document: its top view.

    Each box is one ``<g class="node …">`` group holding one shape, its text, and a
    ``<title>`` tooltip with the full statistics; a group box has the class ``group``.

    Parameters
    ----------
    snapshot
        From :func:`trace_backward`.
    engine
        ``"python"``: the built-in layered layout, no external tool; edges are routed around
        boxes. ``"dot"``: Graphviz (raises ``RuntimeError`` when it is missing or fails).
        ``"auto"`` (default): Graphviz when ``dot`` is on the PATH, else the built-in layout.
    max_nodes
        The most boxes in one view. Module calls (recorded by :func:`record_modules`) are
        single boxes; a view with more boxes is split into parts, each one box. ``None`` draws
        every node in one view (slow for huge graphs). :func:`to_html` draws every view.

    Returns
    -------
    str
        The SVG document, from ``<svg`` to ``</svg>``.

    Raises
    ------
    ValueError
        When ``engine`` is not ``"auto"``, ``"python"`` or ``"dot"``.
    RuntimeError
        When ``engine="dot"`` and Graphviz is missing or fails.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl.inspect import trace_backward
    >>> x = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> to_svg(trace_backward(x.relu().sum()), engine="python").count("<rect")
    3
    """
    _check_engine(engine)
    found, title = views(snapshot, max_nodes)
    return view_svg(found[0], title, engine)
