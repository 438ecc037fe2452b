"""PNGs of drawings that share most of their pixels with two shared rasters.

A persona's route map is the whole possibility map, veiled, with the route drawn on it: drawn
whole by librsvg for every persona, it cost personas × map size, most of a 10× build. Here
librsvg draws the map twice per build (plain and veiled) and, per drawing, only the regions
where the drawing's own overlay may leave ink, packed side by side into one small sprite.
Each region is the overlay laid over the plain map by Pillow (the order of compositing differs
from librsvg's: a few levels on anti-aliased edges); everywhere else the drawing is the veiled map.
"""

from __future__ import annotations

import io
import math
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from zlib_ng import zlib_ng

from ..memo import NO_MEMO, Memo
from .rasterise import svg_to_png

Rect = tuple[int, int, int, int]  # px: left, top, right, bottom (exclusive)
GRID = 16  # px: regions are snapped to this grid, then merged into rectangles
PIECE = 8  # grid rows: taller regions are cut, so they pack tightly in a sprite
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BAND = 256  # px: rows composed and compressed at a time
KEEP = 4  # shared rasters kept decoded (up to ~90 MB each at 10× content and 2400 px)
LEVEL = 5  # zlib-ng's level 5: within 2 % of zlib's level 6 in size, in a third of the time

@dataclass(frozen=True, eq=False)
class SharedRasters:
    """The rasters the drawings of one map share (the map plain and veiled), each drawn once
    for all the threads that ask for it (the others wait: drawing it again would take longer).
    One per map drawn (journeys.MapBase): it lives as long as the map."""

    kept: dict[tuple, Image.Image] = field(default_factory=dict)
    making: threading.Lock = field(default_factory=threading.Lock)

    def get(self, svg: str, width_px: int, font_dirs: Sequence[Path] = (), memo: Memo = NO_MEMO) -> Image.Image:
        """The decoded RGBA raster of `svg`."""
        key = (svg, int(width_px), tuple(str(d) for d in font_dirs))
        with self.making:
            if key not in self.kept:
                while len(self.kept) >= KEEP:
                    self.kept.pop(next(iter(self.kept)))
                self.kept[key] = Image.open(io.BytesIO(svg_to_png(svg, width_px, font_dirs, memo))).convert("RGBA")
            return self.kept[key]


def regions(boxes: Iterable[tuple[float, float, float, float]], scale: float, size: tuple[int, int], pad: float = 2) -> list[Rect]:
    """Pixel rectangles covering `boxes` (x0, y0, x1, y1 in the drawing's units) and `pad` px
    around them (anti-aliasing), grown to the grid, overlaps merged: each pixel is drawn once."""
    width, height = size
    columns, rows = -(-width // GRID), -(-height // GRID)
    cells: dict[int, set[int]] = {}  # grid row -> its cells
    for x0, y0, x1, y1 in boxes:
        left, top = max(0, math.floor(x0 * scale - pad) // GRID), max(0, math.floor(y0 * scale - pad) // GRID)
        right, bottom = min(columns, math.ceil(x1 * scale + pad) // GRID + 1), min(rows, math.ceil(y1 * scale + pad) // GRID + 1)
        for cy in range(top, bottom):
            cells.setdefault(cy, set()).update(range(left, right))
    rects: list[list[int]] = []
    open_runs: dict[tuple[int, int], list[int]] = {}  # a run of the row above, still growing down
    for cy in sorted(cells):
        runs = _runs(sorted(cells[cy]))
        grown = {}
        for run in runs:
            rect = open_runs.get(run)
            if rect is not None and rect[3] == cy:
                rect[3] = cy + 1
            else:
                rect = [run[0], cy, run[1], cy + 1]
                rects.append(rect)
            grown[run] = rect
        open_runs = grown
    return [(x0 * GRID, top * GRID, min(x1 * GRID, width), min(min(top + PIECE, y1) * GRID, height))
            for x0, y0, x1, y1 in rects for top in range(y0, y1, PIECE)]


def _runs(xs: list[int]) -> list[tuple[int, int]]:
    """Consecutive cells as (first, last + 1)."""
    runs: list[tuple[int, int]] = []
    for x in xs:
        if runs and runs[-1][1] == x:
            runs[-1] = (runs[-1][0], x + 1)
        else:
            runs.append((x, x + 1))
    return runs


def pack(rects: Sequence[Rect], width: int) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """Shelves of `rects`, tallest first, in a sprite `width` wide: (sprite size, place of each)."""
    order = sorted(range(len(rects)), key=lambda i: (-(rects[i][3] - rects[i][1]), i))
    places: list[tuple[int, int]] = [(0, 0)] * len(rects)
    x = y = shelf = 0
    for i in order:
        w, h = rects[i][2] - rects[i][0], rects[i][3] - rects[i][1]
        if x and x + w > width:
            x, y, shelf = 0, y + shelf, 0
        places[i] = (x, y)
        x, shelf = x + w, max(shelf, h)
    return (max(1, width), max(1, y + shelf)), places


def compose(plain: Image.Image, veiled: Image.Image, sprite: Image.Image, rects: Sequence[Rect], places: Sequence[tuple[int, int]]) -> bytes:
    """The veiled map with each region replaced by its piece of the sprite over the plain map,
    as PNG. Made and compressed a band of rows at a time: whole, a 2400 px wide route map and
    its copies took 350 MB per thread."""
    pieces = [(rect, Image.alpha_composite(plain.crop(rect), sprite.crop((sx, sy, sx + rect[2] - rect[0], sy + rect[3] - rect[1]))))
              for rect, (sx, sy) in zip(rects, places, strict=True)]
    width, height = veiled.size
    deflate = zlib_ng.compressobj(LEVEL)  # deflate was half of a 10× fragments build with zlib
    idat = []
    for top in range(0, height, BAND):
        band = veiled.crop((0, top, width, min(top + BAND, height)))
        for rect, piece in pieces:
            if rect[1] < top + band.height and rect[3] > top:
                band.paste(piece, (rect[0], rect[1] - top))  # clipped to the band
        idat.append(deflate.compress(_unfiltered(band)))
    idat.append(deflate.flush())
    return b"".join((PNG_SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),
                     _chunk(b"IDAT", b"".join(idat)), _chunk(b"IEND", b"")))


def _unfiltered(image: Image.Image) -> bytes:
    """RGBA rows as PNG data, each row unfiltered: Pillow's writer, choosing a filter per
    row, took twice as long for a file a tenth larger. A paste gives each row its filter byte."""
    width, height = image.size
    rows = Image.new("L", (width * 4 + 1, height))  # a zero byte, then the row's RGBA bytes
    rows.paste(Image.frombuffer("L", (width * 4, height), image.tobytes(), "raw", "L", 0, 1), (1, 0))
    return rows.tobytes()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib_ng.crc32(kind + data))
