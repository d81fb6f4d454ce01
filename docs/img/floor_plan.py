"""Draws docs/img/floor_plan.svg: flowpose's folders in their layers, and the imports between them.

The layers come from tests/support/layer_rules.py (the table tests/flowpose/test_layers.py
enforces); the arrows come from the code, read with :mod:`ast` by tests/support/import_scan.py
and gathered per folder. An arrow A -> B means "something in A imports something in B". To
keep the picture readable an arrow is left out when a path of other arrows already leads from
A to B (a transitive reduction): who-can-reach-whom is exactly the code's. Imports that break
the layering are drawn red and dashed, every one of them.

Run it again after moving folders or adding imports between them (test_layers.py says when)::

    .venv/bin/python docs/img/floor_plan.py

The SVG is written by hand (no graphviz, no matplotlib): small, and the same bytes on every
machine, so the test can compare it with a fresh drawing.
"""

from __future__ import annotations

import html
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(__file__).resolve().with_name("floor_plan.svg")
if str(ROOT / "tests" / "support") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests" / "support"))

import import_scan  # noqa: E402  (tests/support, added just above)
import layer_rules  # noqa: E402

BOX_W, BOX_H = 132, 30  # a unit's box (labels are monospace: 17 characters fit)
GAP_X = 12  # between boxes, and between groups of a row
PAD = 10  # inside a group's frame
ARCH = 16  # how far an arrow between two boxes of one row dips below them
TITLE_H = 34  # a group's name and job above its boxes
ROW_GAP = 44  # between rows: room for the arrows
MARGIN = 16
CHAR_W = 6.0  # the width of one character of an 11 px sans-serif title, roughly
LEGEND_H = 54
# Fill colours of the groups, by row, light enough for black text.
FILLS = ("#e8eefc", "#e6f4ea", "#fdf2e0", "#fdecea", "#f3e8fd", "#e0f4f4", "#f5f5dc", "#eeeeee", "#fff4cc")


@dataclass(frozen=True)
class Rect:
    """A rectangle of the picture, in pixels."""

    x: float
    y: float
    w: float
    h: float


def label(unit: str) -> str:
    """How a unit is named in its box: a folder ends in '/', a module in '.py'."""
    if unit == layer_rules.ROOT_UNIT:
        return "__init__.py"
    for folder, package in import_scan.PACKAGE_TREES[1:]:  # nodes/ and trainer/ at the top
        if unit == package.removeprefix("flowpose."):
            return f"{folder}/"
    path = ROOT / "flowpose" / unit.replace(".", "/")
    return (
        f"{unit.replace('.', '/')}/" if path.is_dir() or unit in layer_rules.PLANNED else f"{unit.replace('.', '/')}.py"
    )


def group_size(group: layer_rules.Group) -> tuple[float, float]:
    """A group frame's width and height (one row high, or ``span`` rows with a box per row)."""
    boxes = 1 if group.span > 1 else len(group.units)
    text = max(len(group.name) + 3, len(group.job)) * CHAR_W
    width = max(boxes * BOX_W + (boxes - 1) * GAP_X, text) + 2 * PAD
    return width, row_height() * group.span + ROW_GAP * (group.span - 1)


def row_height() -> float:
    """The height of one row's group frames."""
    return TITLE_H + BOX_H + ARCH + PAD / 2


def layout() -> tuple[dict[str, Rect], list[tuple[int, layer_rules.Group, Rect]], float, float]:
    """Where every box and group frame goes; also the picture's width and height.

    Rows are centred, except those beside a group that spans several rows: they start to its
    right, and the spanning group keeps the left edge.
    """
    widths = []
    reserved: dict[int, float] = {}  # row -> width taken on the left by a spanning group above
    for row, members in enumerate(layer_rules.ROWS):
        widths.append(reserved.get(row, 0) + sum(group_size(g)[0] for g in members) + GAP_X * (len(members) - 1))
        for group in members:
            for below in range(row + 1, row + group.span):
                reserved[below] = reserved.get(below, 0) + group_size(group)[0] + GAP_X
    width = max(widths) + 2 * MARGIN
    boxes: dict[str, Rect] = {}
    frames = []
    for row, members in enumerate(layer_rules.ROWS):
        y = MARGIN + row * (row_height() + ROW_GAP)
        beside = row in reserved or any(g.span > 1 for g in members)
        x = MARGIN + reserved.get(row, 0) if beside else (width - widths[row]) / 2
        for group in members:
            w, h = group_size(group)
            frames.append((row, group, Rect(x, y, w, h)))
            for i, unit in enumerate(group.units):
                if group.span > 1:  # one box per row, down the frame
                    bx, by = x + (w - BOX_W) / 2, y + TITLE_H + i * (row_height() + ROW_GAP)
                else:
                    inner = len(group.units) * BOX_W + (len(group.units) - 1) * GAP_X
                    bx, by = x + (w - inner) / 2 + i * (BOX_W + GAP_X), y + TITLE_H
                boxes[unit] = Rect(bx, by, BOX_W, BOX_H)
            x += w + GAP_X
    height = MARGIN + len(layer_rules.ROWS) * (row_height() + ROW_GAP) - ROW_GAP + LEGEND_H
    return boxes, frames, width, height


def reduce(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges not implied by a longer path of other edges (who reaches whom is unchanged)."""
    out: dict[str, set[str]] = {}
    for a, b in edges:
        out.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str, skip: tuple[str, str]) -> bool:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            for nxt in out.get(node, ()):
                if (node, nxt) == skip or nxt in seen:
                    continue
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    return {(a, b) for a, b in edges if not reaches(a, b, (a, b))}


def arrow_path(a: Rect, b: Rect, start_x: float, end_x: float) -> str:
    """An SVG path from box ``a`` to box ``b``: down (or up) between rows, arched within a row."""
    if abs(a.y - b.y) < 1:  # same row: an arch under the boxes (the group's title is above them)
        y0 = a.y + a.h
        low = y0 + (ARCH if end_x > start_x else ARCH * 0.55)  # two ways between a pair: two arches
        return f"M{start_x:.1f},{y0:.1f} C{start_x:.1f},{low:.1f} {end_x:.1f},{low:.1f} {end_x:.1f},{y0:.1f}"
    if b.y > a.y:  # the usual case: bottom of the importer to the top of the imported
        y0, y1 = a.y + a.h, b.y
    else:  # a break going up: top of the importer to the bottom of the imported
        y0, y1 = a.y, b.y + b.h
    mid = (y0 + y1) / 2
    return f"M{start_x:.1f},{y0:.1f} C{start_x:.1f},{mid:.1f} {end_x:.1f},{mid:.1f} {end_x:.1f},{y1:.1f}"


def spread(rect: Rect, others: list[float]) -> dict[float, float]:
    """Where arrows towards the x positions ``others`` leave (or reach) ``rect``: spread along it."""
    order = sorted(set(others))
    step = rect.w / (len(order) + 1)
    return {x: rect.x + step * (i + 1) for i, x in enumerate(order)}


def render_svg(graph: dict[str, set[str]]) -> str:
    """The floor plan of the import graph ``graph`` (module -> modules it imports) as SVG text.

    Arrows between groups (thick) stand for every import from a unit of one into a unit of the
    other; arrows inside a group join its units; red dashed arrows are the breaks, unit to unit.
    """
    boxes, frames, width, height = layout()
    frame_of = {group.name: rect for _, group, rect in frames}
    group_name = {unit: layer_rules.group_of(unit)[1].name for unit in boxes}
    edges = layer_rules.unit_edges(graph)
    breaking = {pair for pair in edges if not layer_rules.may_import(*pair)}
    between = reduce(
        {(group_name[a], group_name[b]) for a, b in set(edges) - breaking if group_name[a] != group_name[b]}
    )
    inside = sorted(pair for pair in set(edges) - breaking if group_name[pair[0]] == group_name[pair[1]])
    arrows: list[tuple[Rect, Rect, str, str]] = []  # from, to, kind, hover text
    for a, b in sorted(between):
        pairs = [f"{x} -> {y}" for (x, y) in sorted(edges) if (group_name[x], group_name[y]) == (a, b)]
        arrows.append((frame_of[a], frame_of[b], "between", f"{a} imports {b}: " + ", ".join(pairs)))
    for a, b in inside:
        arrows.append((boxes[a], boxes[b], "inside", f"{a} imports {b}"))
    for a, b in sorted(breaking):
        note = "; ".join(f"{m} imports {t}" for m, t in edges[(a, b)])
        arrows.append((boxes[a], boxes[b], "break", note))
    centre = {id(r): r.x + r.w / 2 for r, _, _, _ in arrows} | {id(r): r.x + r.w / 2 for _, r, _, _ in arrows}
    leaving = {id(r): spread(r, [centre[id(t)] for f, t, _, _ in arrows if f is r]) for r, _, _, _ in arrows}
    arriving = {id(r): spread(r, [centre[id(f)] for f, t, _, _ in arrows if t is r]) for _, r, _, _ in arrows}
    styles = {
        "between": 'stroke="#666" stroke-width="2.2" marker-end="url(#arrow)"',
        "inside": 'stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"',
        "break": 'stroke="#c0392b" stroke-width="1.4" stroke-dasharray="5,3" marker-end="url(#broken)"',
    }
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        "<title>flowpose floor plan: folders by layer, and the imports between them</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        '<marker id="broken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
    ]
    for row, _, r in frames:
        out.append(
            f'<rect x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" height="{r.h:.1f}" rx="8" '
            f'fill="{FILLS[row % len(FILLS)]}" stroke="#999"/>'
        )
    for start, end, kind, note in arrows:
        path = arrow_path(start, end, leaving[id(start)][centre[id(end)]], arriving[id(end)][centre[id(start)]])
        out.append(f'<path d="{path}" fill="none" {styles[kind]}><title>{html.escape(note)}</title></path>')
    halo = 'stroke="white" stroke-width="3" paint-order="stroke"'  # titles stay readable over arrows
    for _, group, r in frames:
        out.append(
            f'<text x="{r.x + PAD:.1f}" y="{r.y + 14:.1f}" font-size="12" font-weight="bold" {halo}>'
            f"{html.escape(group.name)}</text>"
        )
        out.append(
            f'<text x="{r.x + PAD:.1f}" y="{r.y + 27:.1f}" font-size="10.5" fill="#444" {halo}>'
            f"{html.escape(group.job)}</text>"
        )
    for unit, r in boxes.items():
        planned = unit in layer_rules.PLANNED and not (ROOT / "flowpose" / unit).exists()
        dash = ' stroke-dasharray="4,3"' if planned else ""
        out.append(
            f'<rect x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" height="{r.h:.1f}" rx="4" '
            f'fill="white" stroke="#333"{dash}/>'
        )
        text = label(unit) + (" (planned)" if planned else "")
        out.append(
            f'<text x="{r.x + r.w / 2:.1f}" y="{r.y + 19.5:.1f}" font-size="12" text-anchor="middle" '
            f'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">{html.escape(text)}</text>'
        )
    y = height - LEGEND_H + 18
    out.append(f'<path d="M{MARGIN},{y - 4} h36" stroke="#666" stroke-width="2.2" marker-end="url(#arrow)"/>')
    out.append(
        f'<text x="{MARGIN + 44}" y="{y}" font-size="11">imports, read from the code by docs/img/floor_plan.py '
        "(between groups: an arrow implied by others is left out)</text>"
    )
    y += 20
    out.append(
        f'<path d="M{MARGIN},{y - 4} h36" stroke="#c0392b" stroke-width="1.4" stroke-dasharray="5,3" '
        'marker-end="url(#broken)"/>'
    )
    out.append(
        f'<text x="{MARGIN + 44}" y="{y}" font-size="11">an import that breaks the layering '
        "(docs/architecture.md lists each one)</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    """Draw the checkout's floor plan into docs/img/floor_plan.svg."""
    OUTPUT.write_text(render_svg(import_scan.flowpose_import_graph(ROOT)))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
