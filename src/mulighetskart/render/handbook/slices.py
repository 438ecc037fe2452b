"""A tall figure (a timeline) shown at a legible size over as many pages as it needs.

The figure is shown at the width of the text column (never larger than drawn) and cut into
slices no taller than a page holds; each cut runs through a gap between the drawing's boxes
and texts, so no box or line of text is split over two pages. The template shows each slice
as a window onto the same image.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import pairwise

SVG = "{http://www.w3.org/2000/svg}"
MM_PER = {"pt": 25.4 / 72, "px": 25.4 / 96, "mm": 1.0, "": 25.4 / 96}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


@dataclass(frozen=True)
class Slice:
    """A window onto the figure, in mm at the size it is shown: its top within the figure and its height."""

    top_mm: float
    height_mm: float
    width_mm: float  # the whole figure's width as shown


def slices(svg: str, column_mm: float, page_mm: float) -> tuple[Slice, ...]:
    """The slices of `svg` shown `column_mm` wide (or its own width if narrower), each at most `page_mm` tall."""
    root = ET.fromstring(svg.encode())
    width_mm, height_mm = (_length_mm(root.get(side, "0")) for side in ("width", "height"))
    view = [float(v) for v in NUMBER.findall(root.get("viewBox", ""))] or [0, 0, width_mm, height_mm]
    scale = min(column_mm, width_mm) / width_mm * height_mm / view[3]  # mm shown per unit of the drawing
    shift = _translate_y(root) - view[1]
    blocked = sorted((scale * (top + shift), scale * (bottom + shift)) for top, bottom in _extents(root))
    total, cuts, top = scale * view[3], [], 0.0
    drawn = max((end for _, end in blocked), default=total)  # below it only the drawing's margin
    while drawn - top > page_mm:
        top = _cut(blocked, top, top + page_mm)
        cuts.append(top)
    edges = [0.0, *cuts, min(total, top + page_mm)]
    shown = min(column_mm, width_mm)
    return tuple(Slice(round(a, 2), round(b - a, 2), round(shown, 2)) for a, b in pairwise(edges))


def _length_mm(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*([a-z]*)", value.strip()).groups()
    return float(number) * MM_PER[unit]


def _translate_y(root) -> float:
    """Graphviz draws in a group moved down by the drawing's height (y upwards is negative)."""
    graph = root.find(f"{SVG}g")
    found = re.search(r"translate\(\s*(-?[\d.]+)[ ,]+(-?[\d.]+)\s*\)", graph.get("transform", "") if graph is not None else "")
    return float(found.group(2)) if found else 0.0


def _extents(root):
    """(top, bottom) of every box (nodes and clusters) and every line of text, in drawing units."""
    for group in root.iter(f"{SVG}g"):
        if group.get("class") in ("node", "cluster"):
            for shape in group:
                numbers = [float(n) for n in NUMBER.findall(shape.get("d", "") or shape.get("points", ""))]
                ys = numbers[1::2]
                if ys:
                    yield min(ys), max(ys)
    for text in root.iter(f"{SVG}text"):
        y, size = float(text.get("y", "0")), float(text.get("font-size", "10"))
        yield y - size, y + 0.3 * size


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
