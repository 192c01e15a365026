"""The built-in graph layout: a layered (Sugiyama) drawing whose edges never cross a box.

1. Layers: longest path from the sources, then every node pulled down to just above its first
   consumer (parameters sit next to the op that reads them).
2. An edge that spans several layers gets a *dummy* node in each layer it crosses, so within a
   layer it owns a slot of its own between the boxes, like a thin box.
3. Order within layers: barycentric sweeps, down and up, over boxes and dummies together.
4. Horizontal positions: each layer is placed as close as it can to the mean position of its
   neighbours (the isotonic fit of ``pool adjacent violators`` under the minimum spacing), a few
   times down and up, which also straightens long edges.
5. Routing: an edge leaves its source's bottom edge, runs vertically down its own box's column
   to the bottom of the layer, crosses the empty gap to the next layer with a cubic curve (whose
   control points stay inside the gap), runs vertically through each dummy slot, and enters its
   target from above. Boxes lie only inside layers and never in a gap, and inside a layer every
   vertical run is in its own box's or its own dummy's slot, so no edge crosses a box it does not
   belong to.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["Geometry", "layout"]

GAP_X = 18.0  # between neighbours in a layer
GAP_Y = 46.0  # between layers: where edges change column
DUMMY_W = 6.0  # the slot of an edge passing through a layer
MARGIN = 20.0
_SWEEPS = 6
_PLACEMENT_ROUNDS = 4


@dataclass
class Geometry:
    """Where everything goes: ``boxes[i]`` is (x, y, width, height) of box ``i``'s top-left
    corner and size; ``paths[k]`` the SVG path data of edge ``k`` (same order as the input)."""

    boxes: list[tuple[float, float, float, float]]
    paths: list[str]
    width: float
    height: float


def _layers(count: int, edges: list[tuple[int, int]]) -> list[int]:
    preds: list[list[int]] = [[] for _ in range(count)]
    succs: list[list[int]] = [[] for _ in range(count)]
    indegree = [0] * count
    for source, target in edges:
        preds[target].append(source)
        succs[source].append(target)
        indegree[target] += 1
    order = []
    ready = deque(i for i in range(count) if indegree[i] == 0)
    while ready:
        i = ready.popleft()
        order.append(i)
        for s in succs[i]:
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    if len(order) != count:
        raise ValueError("layout: expected an acyclic graph, got one with a cycle")
    layer = [0] * count
    for i in order:
        for p in preds[i]:
            layer[i] = max(layer[i], layer[p] + 1)
    for i in reversed(order):  # then as late as possible: just above the first consumer
        if succs[i]:
            layer[i] = min(layer[s] for s in succs[i]) - 1
    low = min(layer, default=0)
    return [value - low for value in layer]


def _fit_in_order(desired: list[float], widths: list[float]) -> list[float]:
    """Centres as close as possible (least squares) to ``desired``, keeping the given order and
    at least ``GAP_X`` between neighbours: isotonic regression by pool adjacent violators."""
    offsets = [0.0]
    for k in range(1, len(widths)):
        offsets.append(offsets[-1] + (widths[k - 1] + widths[k]) / 2 + GAP_X)
    targets = [d - o for d, o in zip(desired, offsets, strict=True)]
    blocks: list[list[float]] = []  # [sum, count]
    for value in targets:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, n = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += n
    fitted: list[float] = []
    for total, n in blocks:
        fitted.extend([total / n] * int(n))
    return [f + o for f, o in zip(fitted, offsets, strict=True)]


def layout(sizes: list[tuple[float, float]], edges: list[tuple[int, int]]) -> Geometry:
    """Place boxes of the given (width, height) and route ``edges`` (source, target) between
    them.

    Parameters
    ----------
    sizes
        (width, height) of each box.
    edges
        (source, target) index pairs; the graph must be acyclic (``ValueError`` otherwise).

    Returns
    -------
    Geometry
        Box corners and one SVG path (``M``, ``V`` and ``C`` commands) per edge.

    Examples
    --------
    >>> g = layout([(60.0, 30.0), (60.0, 30.0), (60.0, 30.0)], [(0, 1), (1, 2), (0, 2)])
    >>> [round(y) for _, y, _, _ in g.boxes], g.paths[2].count(" C ")
    ([20, 96, 172], 2)
    """
    count = len(sizes)
    layer = _layers(count, edges)
    depth = max(layer, default=-1) + 1
    # Nodes 0..count-1 are boxes; dummies follow. chain[k]: the nodes edge k passes through.
    node_layer = list(layer)
    widths = [w for w, _ in sizes]
    chains: list[list[int]] = []
    for source, target in edges:
        chain = [source]
        for level in range(layer[source] + 1, layer[target]):
            node_layer.append(level)
            widths.append(DUMMY_W)
            chain.append(len(node_layer) - 1)
        chain.append(target)
        chains.append(chain)
    total = len(node_layer)
    up: list[list[int]] = [[] for _ in range(total)]
    down: list[list[int]] = [[] for _ in range(total)]
    for chain in chains:
        for a, b in zip(chain, chain[1:], strict=False):
            down[a].append(b)
            up[b].append(a)
    rows: list[list[int]] = [[] for _ in range(depth)]
    for node in range(total):
        rows[node_layer[node]].append(node)
    rank = [0.0] * total
    for row in rows:
        for k, node in enumerate(row):
            rank[node] = float(k)
    for sweep in range(_SWEEPS):
        downward = sweep % 2 == 0
        for row in rows[1:] if downward else rows[-2::-1]:
            near = up if downward else down
            keys = {
                node: sum(rank[n] for n in near[node]) / len(near[node])
                if near[node]
                else rank[node]
                for node in row
            }
            row.sort(key=keys.__getitem__)
            for k, node in enumerate(row):
                rank[node] = float(k)
    x = [0.0] * total
    for row in rows:
        row_widths = [widths[n] for n in row]
        x_row = _fit_in_order([0.0] * len(row), row_widths)
        shift = (x_row[0] + x_row[-1]) / 2 if row else 0.0
        for node, value in zip(row, x_row, strict=True):
            x[node] = value - shift
    for round_ in range(_PLACEMENT_ROUNDS):
        downward = round_ % 2 == 0
        for row in rows[1:] if downward else rows[-2::-1]:
            near = up if downward else down
            desired = [
                sum(x[n] for n in near[node]) / len(near[node]) if near[node] else x[node]
                for node in row
            ]
            fitted = _fit_in_order(desired, [widths[n] for n in row])
            for node, value in zip(row, fitted, strict=True):
                x[node] = value
    left = min((x[n] - widths[n] / 2 for n in range(total)), default=0.0)
    right = max((x[n] + widths[n] / 2 for n in range(total)), default=0.0)
    x = [value - left + MARGIN for value in x]
    tops: list[float] = []
    bottoms: list[float] = []
    cursor = MARGIN
    for row in rows:
        height = max((sizes[n][1] for n in row if n < count), default=10.0)
        tops.append(cursor)
        bottoms.append(cursor + height)
        cursor += height + GAP_Y
    boxes = []
    for i, (w, h) in enumerate(sizes):
        row_top, row_bottom = tops[layer[i]], bottoms[layer[i]]
        boxes.append((x[i] - w / 2, row_top + (row_bottom - row_top - h) / 2, w, h))
    paths = _route(chains, x, node_layer, boxes, tops, bottoms)
    height = (cursor - GAP_Y if rows else 0.0) + MARGIN
    return Geometry(boxes, paths, right - left + 2 * MARGIN, height)


def _ports(
    chains: list[list[int]], x: list[float], boxes: list[tuple[float, float, float, float]]
) -> tuple[dict[int, float], dict[int, float]]:
    """x of where edge k leaves its source and enters its target: spread along the box's edge
    in the order of the neighbour they lead to, so edges leave without crossing each other."""
    outgoing: dict[int, list[int]] = {}
    incoming: dict[int, list[int]] = {}
    for k, chain in enumerate(chains):
        outgoing.setdefault(chain[0], []).append(k)
        incoming.setdefault(chain[-1], []).append(k)
    out_x: dict[int, float] = {}
    in_x: dict[int, float] = {}
    for table, result, neighbour in ((outgoing, out_x, 1), (incoming, in_x, -2)):
        for box, ks in table.items():
            bx, _, bw, _ = boxes[box]
            ks.sort(key=lambda k: x[chains[k][neighbour]])
            for j, k in enumerate(ks):
                result[k] = bx + bw * (j + 1) / (len(ks) + 1)
    return out_x, in_x


def _route(
    chains: list[list[int]],
    x: list[float],
    node_layer: list[int],
    boxes: list[tuple[float, float, float, float]],
    tops: list[float],
    bottoms: list[float],
) -> list[str]:
    out_x, in_x = _ports(chains, x, boxes)
    paths = []
    for k, chain in enumerate(chains):
        source, target = chain[0], chain[-1]
        _, sy, _, sh = boxes[source]
        _, ty, _, _ = boxes[target]
        column = out_x[k]
        parts = [f"M {column:.1f} {sy + sh:.1f} V {bottoms[node_layer[source]]:.1f}"]
        for node in chain[1:]:
            level = node_layer[node]
            y0, y1 = bottoms[level - 1], tops[level]
            mid = (y0 + y1) / 2
            nxt = in_x[k] if node == target else x[node]
            parts.append(f"C {column:.1f} {mid:.1f} {nxt:.1f} {mid:.1f} {nxt:.1f} {y1:.1f}")
            column = nxt
            parts.append(f"V {ty:.1f}" if node == target else f"V {bottoms[level]:.1f}")
        paths.append(" ".join(parts))
    return paths
