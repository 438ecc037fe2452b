"""A tall figure (a timeline) shown at a legible size over as many pages as it needs.

The figure is shown at the width of the text column (never larger than drawn) and cut into
slices no taller than a page holds; each cut runs through a gap between the drawing's boxes
and texts, so no box or line of text is split over two pages. Each slice is an SVG of its
own (the drawing with the slice's viewBox, holding only the texts inside it), so a page
carries only the text it shows.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import pairwise

SVG_NS, XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
SVG = f"{{{SVG_NS}}}"
MM_PER = {"pt": 25.4 / 72, "px": 25.4 / 96, "mm": 1.0, "": 25.4 / 96}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


@dataclass(frozen=True)
class Slice:
    """A page-high window onto the figure: where it starts and how tall it is, in mm as shown
    at the column's width, and the file it is drawn in."""

    src: str
    top_mm: float
    height_mm: float


def slices(svg: str, column_mm: float, page_mm: float) -> tuple[tuple[float, float], ...]:
    """(top, height) in mm of the slices of `svg` shown `column_mm` wide (or at its own width
    if narrower), each at most `page_mm` tall."""
    drawing = _Drawing(ET.fromstring(svg.encode()), column_mm)
    blocked = sorted((drawing.mm(top), drawing.mm(bottom)) for top, bottom in drawing.extents())
    drawn = max((end for _, end in blocked), default=drawing.height_mm)  # below it only the drawing's margin
    cuts, top = [], 0.0
    while drawn - top > page_mm:
        top = _cut(blocked, top, top + page_mm)
        cuts.append(top)
    edges = [0.0, *cuts, min(drawing.height_mm, top + page_mm)]
    return tuple((round(a, 2), round(b - a, 2)) for a, b in pairwise(edges))


def sliced_svgs(name: str, svg: str, column_mm: float, page_mm: float) -> tuple[tuple[Slice, ...], dict[str, str]]:
    """The slices of figure `name` and the SVG of each, by file name (`<stem>-<n>.svg`)."""
    cut, files = [], {}
    for number, (top, height) in enumerate(slices(svg, column_mm, page_mm), 1):
        src = f"{name.removesuffix('.svg')}-{number}.svg"
        files[src] = _slice_svg(svg, column_mm, top, height)
        cut.append(Slice(src, top, height))
    return tuple(cut), files


class _Drawing:
    """A Graphviz SVG's geometry: its size, viewBox and the group's shift down (y upwards is
    negative in Graphviz's drawing)."""

    def __init__(self, root, column_mm: float) -> None:
        self.root = root
        self.width_mm, self.height_mm = (_length_mm(root.get(side, "0")) for side in ("width", "height"))
        self.view = [float(v) for v in NUMBER.findall(root.get("viewBox", ""))] or [0, 0, self.width_mm, self.height_mm]
        self.unit_mm = self.height_mm / self.view[3]  # mm per unit of the drawing at its own size
        self.shown = min(column_mm, self.width_mm) / self.width_mm  # the scale it is shown at
        graph = root.find(f"{SVG}g")
        found = re.search(r"translate\(\s*(-?[\d.]+)[ ,]+(-?[\d.]+)\s*\)", graph.get("transform", "") if graph is not None else "")
        self.shift = float(found.group(2)) if found else 0.0

    def mm(self, y: float) -> float:
        """A y of the drawing's group as mm from the figure's top, as shown."""
        return (y + self.shift - self.view[1]) * self.unit_mm * self.shown

    def units(self, mm: float) -> float:
        """mm from the top as shown, as a y of the root's viewBox."""
        return self.view[1] + mm / (self.unit_mm * self.shown)

    def extents(self):
        """(top, bottom) of every box (nodes and clusters) and every line of text, in the group's units."""
        for group in self.root.iter(f"{SVG}g"):
            if group.get("class") in ("node", "cluster"):
                for shape in group:
                    ys = [float(n) for n in NUMBER.findall(shape.get("d", "") or shape.get("points", ""))][1::2]
                    if ys:
                        yield min(ys), max(ys)
        for text in self.root.iter(f"{SVG}text"):
            yield _text_extent(text)


def _text_extent(text) -> tuple[float, float]:
    y, size = float(text.get("y", "0")), float(text.get("font-size", "10"))
    return y - size, y + 0.3 * size


def _slice_svg(svg: str, column_mm: float, top_mm: float, height_mm: float) -> str:
    root = ET.fromstring(svg.encode())
    drawing = _Drawing(root, column_mm)
    y0, y1 = drawing.units(top_mm), drawing.units(top_mm + height_mm)
    for parent in list(root.iter()):
        for text in [child for child in parent if child.tag == f"{SVG}text"]:
            top, bottom = (drawing.mm(v) for v in _text_extent(text))
            if bottom <= top_mm or top >= top_mm + height_mm:
                parent.remove(text)  # shown on another slice
    x, _, w, _ = drawing.view
    root.set("viewBox", f"{x:g} {y0:.2f} {w:g} {y1 - y0:.2f}")
    root.set("height", f"{(y1 - y0) * drawing.unit_mm:.2f}mm")
    root.set("width", f"{drawing.width_mm:.2f}mm")
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(root, encoding="unicode")


def _length_mm(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*([a-z]*)", value.strip()).groups()
    return float(number) * MM_PER[unit]


def _cut(blocked: list[tuple[float, float]], top: float, limit: float) -> float:
    """The lowest place above `limit` (and below `top`) that crosses nothing, else `limit`."""
    best, reach = None, top
    for start, end in blocked:
        if start > reach > top and reach < limit:  # a gap from reach to start
            best = min((reach + start) / 2, limit)
        if start >= limit:
            break
        reach = max(reach, end)
    if top < reach < limit:  # free from reach down to the limit
        best = limit
    return best if best is not None and best > top else limit
