"""The handbook's figures: drawn by the map and journeys targets through their contracts, drawn
again by librsvg as vector PDFs, and swapped into the laid-out book in place of placeholders.

WeasyPrint draws SVG text letter by letter: about a second per route map, without kerning.
librsvg instead draws each figure once into a one-page vector PDF (shaped text, embedded
fonts); WeasyPrint lays out a placeholder image of the same size, and pikepdf swaps each
placeholder for its figure as a Form XObject. The swap keeps the placeholder's marked
content, so in the screen edition the /Figure with its Alt holds the real drawing.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path

from ...content.fingerprint import fingerprint
from ...content.model import Content
from ...errors import BuildError
from ...fontconfig import fonts_key
from ...layout.handbook import Handbook, persona_anchor
from ...memo import NO_MEMO, Memo
from ...theme import Theme
from ..journeys import Drawings, drawn_content
from ..map_svg import map_svg
from ..rasterise import rsvg, rsvg_exe, tool_version
from .html import FIGURES
from .weasy import BASE_URL


def draw_figures(content: Content, theme: Theme, hb: Handbook, memo: Memo = NO_MEMO) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """SVG files by name, drawn by the map and journeys targets through their contracts, and
    the layers librsvg draws each as (a route map: the map, the same in every one, and the
    route over it). Without embedded font subsets: librsvg draws them with the shipped fonts
    through fontconfig, and WeasyPrint (the kept HTML) with the handbook's @font-face fonts.

    Kept in `memo` by what the drawings read: an edit of an offer's prose draws nothing again."""
    names = [hb.map.src, *((page.anchor, page.timeline.src, page.route.src) for page in hb.personas)]
    key = (drawn_content(content), fingerprint(theme), json.dumps(names), fonts_key([theme.font_path("regular").parent]))
    drawn = json.loads(memo.get("handbook-figures", lambda: json.dumps(_draw_figures(content, theme, hb, memo)).encode("utf-8"), *key))
    return drawn[0], {name: tuple(layers) for name, layers in drawn[1].items()}


def _draw_figures(content: Content, theme: Theme, hb: Handbook, memo: Memo = NO_MEMO) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    theme = replace(theme, sections={**theme.sections, "map": replace(theme.section("map"), embed_fonts=False)})
    persona_ids = {persona_anchor(p.id): p.id for p in content.personas}
    figures = {hb.map.src: map_svg(content, theme, memo=memo)}
    journeys = Drawings(content, theme, memo)
    journeys.fonts  # noqa: B018 - made once, before the threads that all use it
    timeline_of = {page.timeline.src: persona_ids[page.anchor] for page in hb.personas}
    sources = {src: journeys.timeline_source(pid) for src, pid in timeline_of.items()}  # text measured here, not in the threads
    layers = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # `dot` lays out the timelines while the routes are planned
        timelines = {src: pool.submit(journeys.timeline_svg, pid, sources[src]) for src, pid in timeline_of.items()}
        for page in hb.personas:
            route = journeys.route(persona_ids[page.anchor])
            figures[page.timeline.src] = timelines[page.timeline.src].result()
            figures[page.route.src], layers[page.route.src] = route.svg, route.layers()
    return figures, {name: layers.get(name, (svg,)) for name, svg in figures.items()}


# librsvg rasterises what has no vector form in PDF (masks, filters; the figures have none
# today) at one pixel per point of its page; drawing at this zoom would keep such parts at
# 300 ppi or more at the figure's own size, and the handbook only ever shows figures at that
# size or smaller.
FIGURE_ZOOM = 300 / 72


@dataclass(frozen=True)
class Placeholder:
    """Stands in for a figure during layout: a plain JPEG of the figure's size in CSS px whose
    comment holds `key`, so it can be told apart from the others in the PDF."""

    key: int
    width_px: int
    height_px: int


JPEG_MAX_PX = 65535  # a JPEG's width and height are 16-bit


def placeholders(figures: dict[str, str]) -> dict[str, Placeholder]:
    holders = {name: Placeholder(i, *svg_size_px(figures[name])) for i, name in enumerate(sorted(figures), 1)}
    for name, p in holders.items():
        if max(p.width_px, p.height_px) > JPEG_MAX_PX:
            raise BuildError(f"the figure {name} is {p.width_px} x {p.height_px} px; the handbook takes figures up to {JPEG_MAX_PX} px on a side")
    return holders


_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(mm|cm|in|pt|pc|px|)\s*$")
_PX_PER = {"mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0, "pt": 96 / 72, "pc": 16.0, "px": 1.0, "": 1.0}


def svg_size_px(svg: str) -> tuple[int, int]:
    """The SVG's width and height in CSS px (as WeasyPrint would size it), from the root."""
    import xml.etree.ElementTree as ET

    for _, element in ET.iterparse(io.BytesIO(svg.encode("utf-8")), events=("start",)):
        box = [float(v) for v in re.split(r"[\s,]+", element.get("viewBox", "").strip()) if v] or [0, 0, 0, 0]
        sizes = []
        for attr, fallback in (("width", box[2] if len(box) == 4 else 0), ("height", box[3] if len(box) == 4 else 0)):
            m = _LENGTH.match(element.get(attr, ""))
            sizes.append(float(m.group(1)) * _PX_PER[m.group(2)] if m else fallback)
        if min(sizes) <= 0:
            raise BuildError("a figure SVG has no usable width/height or viewBox")
        return round(sizes[0]), round(sizes[1])
    raise BuildError("a figure SVG is empty")


# A JPEG because WeasyPrint puts JPEG data in the PDF as it is, where it decodes and encodes
# any other image again for each part that shows it: a route map's placeholder is megapixels,
# and at 10x content that was a third of the time spent writing parts.
PLACEHOLDER_TYPE = "image/jpeg"  # in the memo keys: parts written with another kind are not found
PLACEHOLDER_MARK = b"mulighetskart-figure:"
_PLACEHOLDER_KEY = re.compile(re.escape(PLACEHOLDER_MARK) + rb"(\d+)\.")


@cache  # fetched by each part that shows the figure
def placeholder_jpeg(p: Placeholder) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (p.width_px, p.height_px), 255).save(buf, format="JPEG", optimize=True, comment=PLACEHOLDER_MARK + b"%d." % p.key)
    return buf.getvalue()


MIME = {".css": "text/css", ".ttf": "font/ttf", ".svg": "image/svg+xml", ".png": "image/png"}


def handbook_fetcher(folder: Path, holders: dict[str, Placeholder]):
    """WeasyPrint's URL fetcher: files from the output folder, placeholders for the figures,
    nothing from the network (a remote image in a Markdown body is left out, not fetched)."""
    import weasyprint
    from weasyprint.urls import URLFetcherResponse, URLFetchingError

    placeholders_by_path = {f"{FIGURES}/{name}": p for name, p in holders.items()}

    class HandbookFetcher(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            rel = url.removeprefix(BASE_URL).split("#")[0]
            if not url.startswith(BASE_URL) or ".." in rel.split("/"):
                raise URLFetchingError(f"the handbook only uses its own files, not {url}")
            if rel in placeholders_by_path:  # not a file: URL, or WeasyPrint would read the SVG file again
                return URLFetcherResponse(f"placeholder:{rel}", placeholder_jpeg(placeholders_by_path[rel]), {"Content-Type": PLACEHOLDER_TYPE})
            path = folder / rel
            if not path.is_file():
                raise URLFetchingError(f"{rel} is not in the handbook folder")
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": MIME.get(path.suffix, "application/octet-stream")})

    return HandbookFetcher()


def figure_pdfs(layers: dict[str, tuple[str, ...]], font_dir: Path, memo: Memo = NO_MEMO) -> dict[str, tuple[bytes, ...]]:
    """Each figure's layers as one-page vector PDFs drawn by librsvg with the shipped fonts
    only, a layer that several figures share once, one at a time: this runs beside the layout,
    which has the other core."""
    args = ("--format", "pdf", "--zoom", f"{FIGURE_ZOOM:.4f}")
    inputs = (f"{FIGURE_ZOOM:.4f}", tool_version(rsvg_exe(), "--version"), fonts_key([font_dir]))
    pdfs: dict[str, bytes] = {}
    for svg in (svg for name in sorted(layers) for svg in layers[name]):
        if svg not in pdfs:
            pdfs[svg] = memo.get("handbook-figure", partial(rsvg, svg, args, [font_dir], "a handbook figure", False), svg, *inputs)
    return {name: tuple(pdfs[svg] for svg in svgs) for name, svgs in layers.items()}


def swap_in_figures(pdf, holders: dict[str, Placeholder], drawn: dict[str, tuple[bytes, ...]], stack: contextlib.ExitStack) -> None:
    """Replace every placeholder image in `pdf` by its figure; the figures' PDFs stay open on `stack`."""
    by_key = {p.key: (p, drawn[name]) for name, p in holders.items()}
    forms, layers = {}, {}
    for page in pdf.pages:
        xobjects = page.obj.get("/Resources", {}).get("/XObject", {})
        for name in sorted(xobjects.keys()):  # keys() is a set: sort for a stable object order
            key = _placeholder_key(xobjects[name], by_key)
            if key is None:
                continue
            if key not in forms:
                forms[key] = _figure_form(pdf, by_key[key][1], layers, stack)
            xobjects[name] = forms[key]


def _figure_form(pdf, drawn: tuple[bytes, ...], layers: dict[bytes, object], stack: contextlib.ExitStack):
    """A figure as a form filling the unit square: its layers' forms drawn in turn, each
    layer copied into the book once (`layers`)."""
    import pikepdf

    forms = []
    for data in drawn:
        if data not in layers:
            src = stack.enter_context(pikepdf.open(io.BytesIO(data)))
            layers[data] = _unit_form(pdf.copy_foreign(src.pages[0].as_form_xobject()))
        forms.append(layers[data])
    if len(forms) == 1:
        return forms[0]
    names = {f"/L{i}": form for i, form in enumerate(forms)}
    return pdf.make_stream(" ".join(f"{name} Do" for name in names).encode(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                           BBox=[0, 0, 1, 1], Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(names)))


def _placeholder_key(xobject, by_key) -> int | None:
    if xobject.get("/Subtype") != "/Image" or xobject.get("/Filter") != "/DCTDecode":
        return None
    found = _PLACEHOLDER_KEY.search(xobject.read_raw_bytes())
    key = int(found.group(1)) if found else None
    if key not in by_key:
        return None
    p = by_key[key][0]
    return key if (int(xobject.Width), int(xobject.Height)) == (p.width_px, p.height_px) else None


def _unit_form(form):
    """Scale a form so its bounding box fills the unit square, where an image is drawn."""
    x0, y0, x1, y1 = (float(v) for v in form.BBox)
    form.Matrix = [1 / (x1 - x0), 0, 0, 1 / (y1 - y0), -x0 / (x1 - x0), -y0 / (y1 - y0)]
    return form


