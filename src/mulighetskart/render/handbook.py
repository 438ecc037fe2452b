"""The handbook: a print edition for the print shop and a tagged screen edition, one source.

Three steps, kept apart so the first two can be tested without WeasyPrint:
  plan   content → `Handbook`, a frozen page/chapter model (layout/handbook.py, pure);
  html   the model → HTML and CSS through the Jinja templates in layouts/<templates>/;
  render HTML → PDF with WeasyPrint: the book is laid out once and serves both editions;
         page numbers are written into the laid-out book (see "page numbers" below).
The map and the journeys come from their own targets through the shared contracts
(map_svg, timeline_svg, route_svg) and are embedded as <img> with alt text, so they stay
vector and the alt text lands on the /Figure in the screen edition's structure tree.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import hashlib
import io
import json
import multiprocessing
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import jinja2
from markupsafe import Markup

from .. import __version__
from ..build import Job, Target
from ..content.model import Content
from ..errors import BuildError, ContentError, MissingToolError, Problem
from ..fontconfig import write_fontconfig
from ..layout.handbook import EditionStyle, Handbook, HandbookStyle, Labels, PageStyle, Part, book_parts, persona_anchor, plan_handbook
from ..memo import NO_MEMO, Memo
from ..publish import Writer
from ..theme import Theme
from .journeys import route_drawing, timeline_svg
from .map_svg import fonts_key, map_svg, rsvg_exe, tool_version

if TYPE_CHECKING:  # pdf_join brings pikepdf: imported where used, so a build that reuses the handbook does not load it
    from .pdf_join import PartPdf


@dataclass(frozen=True)
class Edition:
    """An edition as the templates and the renderer see it."""

    name: Literal["print", "screen"]
    style: EditionStyle
    page: PageStyle
    map_area_mm: tuple[float, float]  # room for the map inside the map page's margins


# Files the templates folder must hold; the CSS is generated from the theme.
PAGE_TEMPLATE = "handbook.html.j2"
BASE_CSS = "handbook.css.j2"
EDITION_CSS = "edition.css.j2"
SHARED_CSS = "handbok.css"
FIGURES = "figurer"
FONTS = "fonts"

# --------------------------------------------------------------------------- HTML and CSS


def template_env(theme: Theme, style: HandbookStyle) -> tuple[jinja2.Environment, jinja2.Environment]:
    """(HTML environment with autoescape, CSS environment) over the templates folder."""
    return _environments(theme.layouts / style.templates)


@cache  # compiled templates are kept; the loader still notices a changed file (auto_reload)
def _environments(folder: Path) -> tuple[jinja2.Environment, jinja2.Environment]:
    common = {"loader": jinja2.FileSystemLoader(folder), "undefined": jinja2.StrictUndefined,
              "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}
    html = jinja2.Environment(autoescape=True, **common)
    css = jinja2.Environment(autoescape=False, **common)
    css.filters["css_string"] = css_string
    return html, css


def css_string(text: str) -> str:
    """A CSS string literal: labels go into `content:` and font names into font-family."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\\n\r' or ord(ch) < 32 else ch for ch in str(text))
    return f'"{escaped}"'


def handbook_html(hb: Handbook, edition: Edition, theme: Theme, style: HandbookStyle, env: jinja2.Environment,
                  page_no: PageNumbers | None = None, parts: tuple[Part, ...] | None = None, linked: bool = True) -> str:
    """The edition's HTML of `parts` (all by default), linking its CSS unless told not to.
    Without `page_no`, cross-references carry placeholders of the width their numbers will take."""
    try:
        return env.get_template(PAGE_TEMPLATE).render(
            hb=hb, edition=edition, label=Labels(theme, style), figures=FIGURES, generator=f"mulighetskart {__version__}",
            css_files=(SHARED_CSS, f"{edition.style.file}.css") if linked else (), parts=book_parts(hb) if parts is None else parts,
            page_no=page_no or PageNumbers.placeholders(hb),
        )
    except jinja2.TemplateError as exc:
        raise BuildError(f"handbook template {PAGE_TEMPLATE}: {exc}") from exc


def handbook_css(hb: Handbook, theme: Theme, style: HandbookStyle, env: jinja2.Environment) -> str:
    """The CSS both editions share: fonts, type, colours per chapter."""
    return _render_css(env, BASE_CSS, hb=hb, theme=theme, type=style.type, label=Labels(theme, style), fonts_dir=FONTS)


def edition_css(hb: Handbook, edition: Edition, theme: Theme, env: jinja2.Environment) -> str:
    """Page set-up of one edition: sizes, bleed, margins, running heads."""
    return _render_css(env, EDITION_CSS, hb=hb, theme=theme, edition=edition, ed=edition.style, page=edition.page)


def _render_css(env: jinja2.Environment, name: str, **values) -> str:
    try:
        return env.get_template(name).render(**values)
    except jinja2.TemplateError as exc:
        raise BuildError(f"handbook template {name}: {exc}") from exc


def check_style(style: HandbookStyle) -> None:
    """Margins inside the safe zone would put text where the trim may cut it."""
    page, problems = style.page, []
    for side in ("top", "bottom", "inside", "outside"):
        if getattr(page.margins, side) < page.safe_mm:
            problems.append(Problem(page.margins.loc.of(side), f"margin {side} is {getattr(page.margins, side)} mm, inside the {page.safe_mm} mm safe zone"))
    for ed in (style.editions.print, style.editions.screen):
        if ed.map_margin_mm < page.safe_mm:
            problems.append(Problem(ed.loc.of("map_margin_mm"), f"map_margin_mm is {ed.map_margin_mm} mm, inside the {page.safe_mm} mm safe zone"))
    if problems:
        raise ContentError(problems)


def check_font_subsetter() -> None:
    """Without HarfBuzz's subsetter WeasyPrint subsets fonts with fontTools, which stamps each
    subset with the time of the build: the same content would give other PDFs every second."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is None or not harfbuzz.hb_version_atleast(4, 1, 0):  # WeasyPrint's own condition
        raise MissingToolError("the handbook needs HarfBuzz's font subsetter (libharfbuzz-subset) for reproducible PDFs; "
                               "install with: apt-get install libharfbuzz-subset0 (Debian/Ubuntu) or brew install harfbuzz (macOS)")


def editions(style: HandbookStyle) -> tuple[Edition, Edition]:
    return edition("print", style), edition("screen", style)


def edition(name: Literal["print", "screen"], style: HandbookStyle) -> Edition:
    ed = getattr(style.editions, name)
    width, height = page_size_mm(ed.map_page_size)
    return Edition(name, ed, style.page, (width - 2 * ed.map_margin_mm, height - 2 * ed.map_margin_mm))


ISO_A = {"A2": (420.0, 594.0), "A3": (297.0, 420.0), "A4": (210.0, 297.0), "A5": (148.0, 210.0)}


def page_size_mm(size: str) -> tuple[float, float]:
    """(width, height) in mm of a CSS page size such as 'A3 landscape' or '210mm 297mm'."""
    words = size.split()
    if words and words[0].upper() in ISO_A:
        w, h = ISO_A[words[0].upper()]
        return (h, w) if "landscape" in words[1:] else (w, h)
    lengths = [float(w[:-2]) for w in words if w.endswith("mm") and w[:-2].replace(".", "", 1).isdigit()]
    if len(lengths) == 2:
        return lengths[0], lengths[1]
    raise BuildError(f"layouts/theme.yaml: page size '{size}' in targets.handbook is not understood (write e.g. 'A4', 'A3 landscape' or '210mm 297mm')")


# --------------------------------------------------------------------------- figures and fonts


def draw_figures(content: Content, theme: Theme, hb: Handbook) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """SVG files by name, drawn by the map and journeys targets through their contracts, and
    the layers librsvg draws each as (a route map: the map, the same in every one, and the
    route over it). Without embedded font subsets: librsvg draws them with the shipped fonts
    through fontconfig, and WeasyPrint (the kept HTML) with the handbook's @font-face fonts."""
    theme = replace(theme, sections={**theme.sections, "map": replace(theme.section("map"), embed_fonts=False)})
    persona_ids = {persona_anchor(p.id): p.id for p in content.personas}
    figures = {hb.map.src: map_svg(content, theme)}
    layers = {}
    for page in hb.personas:
        pid = persona_ids[page.anchor]
        figures[page.timeline.src] = timeline_svg(content, theme, pid)
        route = route_drawing(content, theme, pid)
        figures[page.route.src], layers[page.route.src] = route.svg, route.layers()
    return figures, {name: layers.get(name, (svg,)) for name, svg in figures.items()}


def font_files(theme: Theme) -> dict[str, bytes]:
    """The font files and their licence, copied beside the HTML so it renders on its own."""
    files = {}
    for style in ("regular", "bold", "italic", "bold_italic"):
        path = theme.font_path(style)
        files[path.name] = path.read_bytes()
    licence = theme.font_path("regular").parent / "OFL.txt"
    if licence.is_file():
        files[licence.name] = licence.read_bytes()
    return files


# --------------------------------------------------------------------------- figures in the PDF
# WeasyPrint draws SVG text letter by letter: about a second per route map, without kerning.
# librsvg instead draws each figure once into a one-page vector PDF (shaped text, embedded
# fonts); WeasyPrint lays out a placeholder image of the same size, and pikepdf swaps each
# placeholder for its figure as a Form XObject. The swap keeps the placeholder's marked
# content, so in the screen edition the /Figure with its Alt holds the real drawing.

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


# WeasyPrint sees the output folder under this fixed address, so no path of the machine or
# of the staging folder ends up in the PDF (image names are hashes of their URLs).
BASE_URL = "file:///mulighetskart-handbook/"
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
    """Each figure's layers as one-page vector PDFs drawn by librsvg with the handbook's fonts,
    a layer that several figures share once, one at a time: this runs beside the layout,
    which has the other core."""
    exe = rsvg_exe("draws the handbook's figures")
    with tempfile.TemporaryDirectory(prefix="mulighetskart-handbook-") as tmp:
        conf = write_fontconfig(Path(tmp), [font_dir], system=False)  # the shipped fonts only
        env = {**os.environ, "FONTCONFIG_FILE": str(conf), "SOURCE_DATE_EPOCH": "0"}
        inputs = (f"{FIGURE_ZOOM:.4f}", tool_version(exe, "--version"), fonts_key([font_dir]))
        pdfs: dict[str, bytes] = {}
        for svg in (svg for name in sorted(layers) for svg in layers[name]):
            if svg not in pdfs:
                pdfs[svg] = memo.get("handbook-figure", partial(_rsvg_pdf, exe, svg, env), svg, *inputs)
        return {name: tuple(pdfs[svg] for svg in svgs) for name, svgs in layers.items()}


def _rsvg_pdf(exe: str, svg: str, env: dict) -> bytes:
    try:
        done = subprocess.run([exe, "--format", "pdf", "--zoom", f"{FIGURE_ZOOM:.4f}"], input=svg.encode("utf-8"),
                              capture_output=True, env=env, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"rsvg-convert failed: {exc}") from exc
    if done.returncode != 0 or not done.stdout.startswith(b"%PDF"):
        raise BuildError(f"rsvg-convert could not draw a handbook figure: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


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


# --------------------------------------------------------------------------- page numbers
# Cross-references, the contents and the index print the page they point at. WeasyPrint's
# target-counter() lays the book out three times for that (once, again for the forward
# references, again once the page count is known). Instead the HTML carries each number as
# text, padded with figure spaces to a fixed width in tabular figures, so no number can move
# a line break. The book is laid out once with placeholders; the numbers are then read from
# the pages' anchors and written into the laid-out text. If one would not keep its
# placeholder's width, the book is laid out again from HTML holding the real numbers.

FIGURE_SPACE = "\u2007"  # as wide as a tabular digit
FIGURE_SPACE_ENTITY = "&#8199;"  # written so in the HTML, where it would not be seen


@dataclass(frozen=True)
class PageNumbers:
    """The page of each anchor, as the templates print it (`ref` in running text, `column`
    right-aligned in the contents and the index)."""

    pages: dict[str, int]
    digits: int

    @classmethod
    def placeholders(cls, hb: Handbook) -> PageNumbers:
        return cls({}, page_digits(hb))

    def ref(self, anchor: str) -> Markup:
        return _in_html(padded(self.pages.get(anchor, 0), self.digits, right=False))

    def column(self, anchor: str) -> Markup:
        return _in_html(padded(self.pages.get(anchor, 0), self.digits, right=True))


def padded(number: int, width: int, right: bool) -> str:
    """The number in `width` digit widths, figure spaces before it (`right`) or after it."""
    return (str.rjust if right else str.ljust)(str(number), width, FIGURE_SPACE)


def _in_html(text: str) -> Markup:
    return Markup(text.replace(FIGURE_SPACE, FIGURE_SPACE_ENTITY))


def page_digits(hb: Handbook) -> int:
    """Room for the page numbers: a generous estimate of the page count (a wider placeholder
    costs a figure space of white; a narrower one a second layout)."""
    items = sum(len(ch.offers) + len(ch.financing) for ch in hb.chapters) + len(hb.personas)
    return max(3, len(str(4 * items + 100)))


def anchor_pages(book) -> dict[str, int]:
    """The page where each anchor begins (an element running over pages is on each of them)."""
    pages: dict[str, int] = {}
    for number, page in enumerate(book.pages, 1):
        for anchor in page.anchors:
            pages.setdefault(anchor, number)
    return pages


def fill_in_page_numbers(book, pages: dict[str, int], expected: int) -> bool:
    """Write the real numbers over the `expected` placeholders of a laid-out book; False (the
    book partly written) if one is missing or a number would change its width."""
    from weasyprint.formatting_structure.boxes import TextBox

    filled = 0
    for page in book.pages:
        for box in page._page_box.descendants():
            is_after = isinstance(box, TextBox) and box.element is not None and box.element_tag.endswith("::after")
            placeholder = box.element.get("data-page") if is_after else None
            if not placeholder or not box.text.endswith(placeholder):
                continue  # not a number, or the label or leader before it
            anchor = box.element.get("href", "").removeprefix("#")
            if anchor not in pages:
                raise BuildError(f"a cross-reference in the handbook points at #{anchor}, which is not in the book")
            number = padded(pages[anchor], len(placeholder), right=placeholder.startswith(FIGURE_SPACE))
            if not _retext(box, placeholder, number):
                return False
            filled += 1
    return filled == expected


DATA_PAGE = ' data-page="'


def _retext(box, old: str, new: str) -> bool:
    """Swap the end of a laid-out text box, if the new text is exactly as wide."""
    layout = box.pango_layout
    if len(new) != len(old) or not (box.text.endswith(old) and layout.text.endswith(old)):
        return False
    before = _text_width(layout, box.style, layout.text)
    layout.text = layout.text[: -len(old)] + new
    box.text = box.text[: -len(old)] + new
    return _text_width(layout, box.style, layout.text) == before


def _text_width(layout, style, text: str) -> float:
    from weasyprint.text.line_break import line_size

    layout.setup(style)
    layout.set_text(text)
    width = line_size(layout.get_first_line()[0], style)[0]
    layout.deactivate()
    return width


# --------------------------------------------------------------------------- part by part
# The book is laid out part by part (layout/handbook.py `book_parts`): each part begins on a
# page of its own, so it can be laid out alone once its first page has the side and number it
# has in the book (one line of CSS), and its running head comes from data-running. A part's
# layout and PDFs are kept in the memo under what they are made from, so after an edit only
# the parts that print what changed are laid out and written again; pdf_join.py then joins
# the parts' PDFs into the book. One layout serves both editions: the screen edition is the
# print layout without the bleed, except for the map page, laid out at the screen's size.

KEEP_PAGES = 700  # pages of parts waiting for their numbers kept laid out; beyond that one is laid out again to be written
WRITE_PAGES = 100  # numbered pages written at a time (the editions side by side)
PART_ID = b"part"  # the parts' own /ID: the book gets its own when joined


@dataclass(frozen=True)
class PartLayout:
    """What the book needs to know of a laid-out part."""

    pages: int
    anchors: dict[str, int]  # anchor → page within the part, from 1
    levels: tuple[int, ...]  # the level of each bookmark, in order
    targets: tuple[str, ...]  # anchors it links to in other parts: its numbers are known once they are laid out

    @classmethod
    def of(cls, doc) -> PartLayout:
        anchors = anchor_pages(doc)
        linked = {target for page in doc.pages for kind, target, *_ in page.links if kind == "internal"}
        levels = tuple(mark[0] for page in doc.pages for mark in page.bookmarks)
        return cls(len(doc.pages), anchors, levels, tuple(sorted(linked - anchors.keys())))

    def to_bytes(self) -> bytes:
        return json.dumps([self.pages, self.anchors, self.levels, self.targets], sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PartLayout:
        pages, anchors, levels, targets = json.loads(data)
        return cls(pages, anchors, tuple(levels), tuple(targets))


@dataclass(frozen=True)
class Setup:
    """What WeasyPrint needs for every part of an edition: the style sheets, parsed once with
    their fonts loaded once, and the fetcher. `key` stands for all of it (and the edition's
    PDF options) in the memo."""

    css: tuple
    fonts: object  # weasyprint's FontConfiguration
    fetcher: object
    key: str
    holders: dict[str, Placeholder]

    def inputs(self, html: str) -> tuple[str, str, str]:
        """What a part's layout is made from: the set-up, its HTML, and the figures it shows
        (placeholders: their size and the value that tells them apart)."""
        shown = [f"{name}:{p.key}:{p.width_px}x{p.height_px}" for name, p in sorted(self.holders.items()) if f'"{FIGURES}/{name}"' in html]
        return self.key, html, ";".join(shown)


def part_setup(edition: Edition, files: dict[str, str | bytes], holders: dict[str, Placeholder], fetcher) -> Setup:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = tuple(weasyprint.CSS(string=str(files[name]), base_url=BASE_URL, url_fetcher=fetcher, font_config=fonts)
                for name in (SHARED_CSS, f"{edition.style.file}.css"))
    digest = hashlib.sha256(f"{weasyprint.__version__}\0{edition.name}\0{sorted(pdf_options(edition, PART_ID).items())}\0{PLACEHOLDER_TYPE}\0".encode())
    for name, data in sorted(files.items()):
        if not name.startswith(f"{FIGURES}/"):  # a figure counts in the parts that show it (`inputs`)
            digest.update(name.encode() + b"\0" + (data.encode() if isinstance(data, str) else data))
    return Setup(css, fonts, fetcher, digest.hexdigest(), holders)


def layout_part(html: str, setup: Setup, start: int):
    """A part laid out as it stands in the book, its first page numbered `start`."""
    import weasyprint

    side = "right" if start % 2 else "left"
    first = weasyprint.CSS(string=f"@page :first {{ counter-increment: page {start}; }} html {{ break-before: {side}; }}")
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=setup.fetcher)
    return document.render(stylesheets=[*setup.css, first], font_config=setup.fonts)


@dataclass
class Book:
    """The parts as far as laid out: where each starts, what it holds, the pages of the
    anchors placed so far, and the layouts still in memory."""

    parts: tuple[Part, ...]
    starts: list[int] = field(default_factory=list)
    layouts: list[PartLayout] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)  # the numbered cross-references in each part's HTML
    pages: dict[str, int] = field(default_factory=dict)  # anchor → page in the book (its first place)
    docs: dict[int, object] = field(default_factory=dict)  # part index → laid-out part, until written

    @property
    def next_page(self) -> int:
        return self.starts[-1] + self.layouts[-1].pages if self.layouts else 1

    def place(self, layout: PartLayout, doc, refs: int) -> None:
        start = self.next_page
        for anchor, page in layout.anchors.items():
            self.pages.setdefault(anchor, start + page - 1)
        if doc is not None:
            self.docs[len(self.layouts)] = doc
        self.starts.append(start)
        self.layouts.append(layout)
        self.refs.append(refs)

    def forget(self, indexes: list[int], pages: int) -> None:
        """Drop the layouts of `indexes`, first ones first, until the book keeps at most `pages`."""
        kept = sum(self.layouts[i].pages for i in self.docs)
        for index in indexes:
            if kept <= pages:
                return
            if self.docs.pop(index, None) is not None:
                kept -= self.layouts[index].pages

    def numbers(self, digits: int) -> PageNumbers:
        return PageNumbers(dict(self.pages), max(digits, len(str(self.next_page - 1))))


@dataclass
class PartQueue:
    """Laid-out parts wait here until the pages their cross-references point at are laid out
    too; then their numbers are written in and they go to `write`, WRITE_PAGES at a time. So a
    part's layout stays in memory only that long, and is not laid out again to be written."""

    page_no: PageNumbers  # the numbers in the HTML laid out (none: placeholders, written in here)
    write: Callable[[Book, list[int], PageNumbers], None]
    waiting: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    holds: bool = True  # every number written in kept its placeholder's width

    def laid_out(self, book: Book) -> None:
        self.waiting.append(len(book.layouts) - 1)
        now = [i for i in self.waiting if all(t in book.pages for t in book.layouts[i].targets)]
        self.waiting = [i for i in self.waiting if i not in now]
        if self.ready and sum(book.layouts[i].pages for i in self.ready + now) > WRITE_PAGES:
            self.flush(book)  # one run: a second would wait for the first's writers
        self.ready += now
        self.holds = self.holds and len(str(book.next_page - 1)) <= self.page_no.digits
        book.forget(self.waiting, KEEP_PAGES)

    def finish(self, book: Book) -> None:
        self.ready += self.waiting
        self.waiting = []
        self.flush(book)

    def flush(self, book: Book) -> None:
        """Write the ready parts, WRITE_PAGES at a time: a part laid out again to be written
        stays in memory only with its run."""
        numbers = self.page_no if self.page_no.pages else PageNumbers(dict(book.pages), self.page_no.digits)
        for run in _runs(self.ready, [book.layouts[i].pages for i in self.ready], WRITE_PAGES):
            if not self.page_no.pages:
                self.holds = self.holds and all(fill_in_page_numbers(book.docs[i], numbers.pages, book.refs[i]) for i in run if i in book.docs)
            if self.holds:
                self.write(book, run, numbers)
            for index in run:
                book.docs.pop(index, None)
            _return_freed_memory()
        self.ready = []


def _runs(items: list[int], sizes: list[int], most: int) -> list[list[int]]:
    """`items` in order, in runs of at most `most` in size (a bigger item alone)."""
    runs: list[list[int]] = []
    held = most
    for item, size in zip(items, sizes, strict=True):
        if held + size > most:
            runs.append([])
            held = 0
        runs[-1].append(item)
        held += size
    return runs


def _return_freed_memory() -> None:
    """Give the layouts just freed back to the system (glibc keeps them otherwise), so the
    process forked to write the next run does not carry them."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def lay_out_book(parts: tuple[Part, ...], html_for: Callable[[Part], str], setup: Setup, memo: Memo, queue: PartQueue) -> Book:
    book = Book(parts)
    for part in parts:
        html, made, start = html_for(part), {}, book.next_page

        def make(html=html, start=start, made=made) -> bytes:
            made["doc"] = layout_part(html, setup, start)
            return PartLayout.of(made["doc"]).to_bytes()

        layout = PartLayout.from_bytes(memo.get("handbook-layout", make, *setup.inputs(html), str(start % 2)))
        book.place(layout, made.get("doc"), html.count(DATA_PAGE))
        queue.laid_out(book)
    queue.finish(book)
    return book


def numbered_book(parts, html_for: Callable[[Part, PageNumbers], str], digits: int, setup: Setup, memo: Memo,
                  write: Callable[[Book, list[int], PageNumbers], None]) -> tuple[Book, PageNumbers]:
    """The book laid out, its parts handed to `write` with their page numbers, and the numbers:
    laid out with placeholders, the numbers written in; where one does not fit, laid out again
    with the numbers in the HTML until they hold (each pass writes every part again)."""
    page_no = PageNumbers({}, digits)
    for _ in range(4):
        queue = PartQueue(page_no, write)
        book = lay_out_book(parts, partial(html_for, page_no=page_no), setup, memo, queue)
        numbers = book.numbers(digits)
        if numbers == page_no or (not page_no.pages and queue.holds):
            return book, numbers
        page_no, digits = numbers, numbers.digits
    raise BuildError("the handbook's page numbers do not settle: each layout moves the pages they point at")


def with_stand_ins(doc, targets: frozenset[str]):
    """The part with a stand-in for each anchor it links to in other parts of the book:
    WeasyPrint drops links to anchors it cannot see; the book's own destinations replace the
    stand-ins."""
    for anchor in sorted(targets):
        doc.pages[0].anchors[anchor] = (0, 0, 0, 0)
    return doc


def without_bleed(page):
    trimmed = copy.copy(page)
    trimmed.bleed = dict.fromkeys(page.bleed, 0)
    return trimmed


def screen_part(doc):
    return doc.copy([without_bleed(page) for page in doc.pages])


def pdf_options(edition: Edition, identifier: bytes) -> dict:
    ed = edition.style
    options = {"pdf_identifier": identifier, "uncompressed_pdf": False}
    if ed.pdf_variant:
        options["pdf_variant"] = ed.pdf_variant
    if ed.output_intent:
        options["output_intent"] = ed.output_intent
    return options


def write_pdf(document, edition: Edition, identifier: bytes) -> bytes:
    """PDF bytes, identical for identical input: the file /ID and the XMP DocumentID are
    derived from the input instead of WeasyPrint's random uuid."""
    finisher = partial(_fix_document_id, identifier.decode("ascii"))
    with _page_references_kept():
        return document.write_pdf(finisher=finisher, **pdf_options(edition, identifier))


@contextlib.contextmanager
def _page_references_kept():
    """pydyf builds the list of every page's reference anew each time it is asked, and
    WeasyPrint's tagging asks once per tagged element: a second or two of the screen
    edition. While writing, the list is kept until a page is added."""
    import pydyf

    original = pydyf.PDF.page_references

    def kept(pdf):
        count = len(pdf.pages["Kids"])
        if getattr(pdf, "_kept_references", (None,))[0] != count:
            pdf._kept_references = (count, original.fget(pdf))
        return pdf._kept_references[1]

    pydyf.PDF.page_references = property(kept)
    try:
        yield
    finally:
        pydyf.PDF.page_references = original


_DOC_ID = re.compile(rb"xmp\.did:[0-9a-zA-Z-]+")


def _fix_document_id(doc_id: str, document, pdf) -> None:
    ref = pdf.catalog.get("Metadata")
    for obj in pdf.objects:
        if getattr(obj, "reference", None) == ref and hasattr(obj, "stream"):
            obj.stream = [_DOC_ID.sub(f"xmp.did:{doc_id}".encode(), part) for part in obj.stream]


def set_document_id(pdf, identifier: bytes) -> None:
    """The XMP DocumentID of a joined book: its own, as its parts carry theirs."""
    if "/Metadata" in pdf.Root:
        xmp = pdf.Root.Metadata
        xmp.write(_DOC_ID.sub(b"xmp.did:" + identifier, xmp.read_bytes()))


def pdf_identifier(*parts: str) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:32].encode("ascii")


@dataclass(frozen=True)
class Sources:
    """The files beside the PDFs: what WeasyPrint reads, kept for inspection. The HTML is
    written once its page numbers are known."""

    files: dict[str, str | bytes]  # fonts, figures and CSS
    html: Callable[[Edition, PageNumbers], str]  # an edition's whole HTML with these page numbers
    parts: tuple[Part, ...]
    part_html: Callable[[Edition, Part, PageNumbers], str]  # a part alone, its CSS given apart
    digits: int  # room for a page number
    figures: dict[str, str]  # SVG by file name under FIGURES/


def handbook_sources(content: Content, theme: Theme, style: HandbookStyle, hb: Handbook, figures: dict[str, str]) -> Sources:
    html_env, css_env = template_env(theme, style)
    files: dict[str, str | bytes] = {f"{FONTS}/{name}": data for name, data in font_files(theme).items()}
    files.update({f"{FIGURES}/{name}": svg for name, svg in sorted(figures.items())})
    files[SHARED_CSS] = handbook_css(hb, theme, style, css_env)
    for ed in editions(style):
        files[f"{ed.style.file}.css"] = edition_css(hb, ed, theme, css_env)
    parts = book_parts(hb)
    html = lambda ed, page_no: handbook_html(hb, ed, theme, style, html_env, page_no, parts)  # noqa: E731
    part_html = lambda ed, part, page_no: handbook_html(hb, ed, theme, style, html_env, page_no, (part,), linked=False)  # noqa: E731
    return Sources(files, html, parts, part_html, page_digits(hb), figures)


def render_editions(sources: Sources, layers: dict[str, tuple[str, ...]], style: HandbookStyle, folder: Path, font_dir: Path,
                    memo: Memo = NO_MEMO) -> dict[str, str | bytes]:
    """Both editions' PDFs and HTML by file name; `folder` holds the other sources (CSS, fonts,
    figures), `layers` the SVGs librsvg draws each figure as."""
    print_ed, screen_ed = editions(style)
    eds = (print_ed, screen_ed)
    holders = placeholders(sources.figures)
    fetcher = handbook_fetcher(folder, holders)
    setups = {ed.name: part_setup(ed, sources.files, holders, fetcher) for ed in eds}
    with ThreadPoolExecutor(max_workers=1) as background:  # librsvg on the other core while WeasyPrint lays out
        drawn = background.submit(figure_pdfs, layers, font_dir, memo)
        writer = PartWriter(partial(sources.part_html, print_ed), setups, eds, memo)
        book, page_no = numbered_book(sources.parts, writer.html_for, sources.digits, setups["print"], memo, writer)
        parts = writer.in_order(len(book.parts))
        html = {f"{ed.style.file}.html": sources.html(ed, page_no) for ed in (print_ed, screen_ed)}
        ident = pdf_identifier(*(v if isinstance(v, str) else hashlib.sha256(v).hexdigest() for _, v in sorted({**sources.files, **html}.items())))
        finish = partial(joined_pdf, identifier=ident, holders=holders, drawn=drawn.result())
    pdfs = joined_books({ed.name: (parts[ed.name], ed) for ed in eds}, finish)
    return html | {f"{ed.style.file}.pdf": pdfs[ed.name] for ed in (print_ed, screen_ed)}


@dataclass
class PartWriter:
    """Writes parts of the book in both editions, from the memo or now, each edition in a
    process of its own while this one lays out the next parts; keeps each part's PDFs by its
    place in the book."""

    html_for: Callable[..., str]  # a part's HTML, given its page numbers (`page_no`)
    setups: dict[str, Setup]
    eds: tuple[Edition, ...]
    memo: Memo
    pdfs: dict[str, dict[int, PartPdf]] = field(default_factory=dict)
    running: list[tuple[list[int], str, Callable[[], list[PartPdf]]]] = field(default_factory=list)

    def __call__(self, book: Book, batch: list[int], numbers: PageNumbers) -> None:
        html = {i: self.html_for(book.parts[i], page_no=numbers) for i in batch}
        jobs = {ed.name: [part_job(book, i, html[i], self.setups, ed, self.memo) for i in batch] for ed in self.eds}
        self.collect()  # one run at a time: its processes carry this one's memory
        write = partial(part_pdfs, memo=self.memo)
        self.running = [(batch, ed.name, in_background(write, jobs[ed.name], ed)) for ed in self.eds]

    def collect(self) -> None:
        for batch, name, result in self.running:
            self.pdfs.setdefault(name, {}).update(zip(batch, result(), strict=True))
        self.running = []

    def in_order(self, count: int) -> dict[str, list[PartPdf]]:
        self.collect()
        return {name: [made[i] for i in range(count)] for name, made in self.pdfs.items()}


@dataclass(frozen=True)
class PartJob:
    """A part's PDF in one edition: what it is made from (its memo key), and its layout,
    in memory when the memo does not hold the PDF."""

    inputs: tuple[str, ...]
    layout: PartLayout
    doc: object | None
    targets: frozenset[str] = frozenset()  # anchors in other parts of the book it links to


def part_job(book: Book, index: int, html: str, setups: dict[str, Setup], edition: Edition, memo: Memo) -> PartJob:
    """A part's job for `edition`, laid out now if the memo lacks its PDF and the layout is
    not in memory. Only the map page has a layout of its own on screen."""
    part, start, layout = book.parts[index], book.starts[index], book.layouts[index]
    own = part.kind == "map" and edition.name != "print"
    inputs = (*setups["print"].inputs(html), setups[edition.name].key, str(start))
    if memo.has("handbook-part", *inputs):
        return PartJob(inputs, layout, None)
    doc = layout_part(html, setups[edition.name], start) if own else book.docs.get(index)
    if doc is None:
        doc = book.docs[index] = layout_part(html, setups["print"], start)
    again = PartLayout.of(doc)
    if again.pages != layout.pages or (not own and again != layout):
        raise BuildError(f"the handbook part '{part.name}' laid out again does not keep its pages")
    return PartJob(inputs, layout, doc, frozenset(t for t in layout.targets if t in book.pages))


def part_pdfs(jobs: list[PartJob], edition: Edition, memo: Memo) -> list[PartPdf]:
    from .pdf_join import PartPdf

    return [PartPdf(memo.get("handbook-part", partial(write_part, job, edition), *job.inputs),
                    frozenset(job.layout.anchors), job.layout.levels) for job in jobs]


def write_part(job: PartJob, edition: Edition) -> bytes:
    doc = screen_part(job.doc) if edition.name == "screen" else job.doc
    return write_pdf(with_stand_ins(doc, job.targets), edition, PART_ID)


def joined_pdf(parts: list[PartPdf], edition: Edition, identifier: bytes, holders: dict[str, Placeholder], drawn: dict[str, bytes]) -> bytes:
    """The edition's book: its parts joined, the figures swapped in, saved deterministically."""
    import pikepdf

    from .pdf_join import join_parts

    with contextlib.ExitStack() as stack:
        book = stack.enter_context(join_parts(parts))
        swap_in_figures(book, holders, drawn, stack)
        set_document_id(book, identifier)
        out = io.BytesIO()
        book.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    return out.getvalue()


def joined_books(jobs: dict[str, tuple], finish) -> dict[str, bytes]:
    """Join the editions side by side, each in a fresh process: a join holds all its parts
    open, and a process forked from this one would carry the layouts' memory besides."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1), mp_context=spawn) as pool:
        books = {name: pool.submit(finish, *job) for name, job in jobs.items()}
        return {name: book.result() for name, book in books.items()}


def in_background(work: Callable, *args) -> Callable[[], object]:
    """Start `work(*args)` in a forked process, which inherits the laid-out pages; the function
    returned waits for its result. (Where fork is missing, the work is done now.) A process
    per edition also keeps the print edition's output-intent profile, which WeasyPrint adds
    to the colour profiles a part's two documents share, out of the screen edition."""
    if "fork" not in multiprocessing.get_all_start_methods() or (os.cpu_count() or 1) < 2:
        done = work(*args)
        return lambda: done
    ctx = multiprocessing.get_context("fork")
    reader, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_send_result, args=(sender, work, *args), daemon=True)
    child.start()
    sender.close()

    def result():
        try:
            ok, value = reader.recv()
        except EOFError:
            ok, value = False, "the process ended without an answer"
        finally:
            reader.close()
            child.join()
        if not ok:
            raise BuildError(f"writing the handbook failed: {value}")
        return value

    return result


def _send_result(sender, work, *args) -> None:
    try:
        sender.send((True, work(*args)))
    except BaseException as exc:  # report any failure to the parent instead of dying silently
        sender.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


def run(job: Job, out: Writer) -> None:
    style: HandbookStyle = job.theme.section("handbook")
    check_style(style)
    check_font_subsetter()
    hb = plan_handbook(job.content, job.theme, style, job.date)
    figures, layers = draw_figures(job.content, job.theme, hb)
    sources = handbook_sources(job.content, job.theme, style, hb, figures)
    for rel, data in sources.files.items():
        out.write(rel, data)
    for rel, data in render_editions(sources, layers, style, out.folder, job.theme.font_path().parent, job.memo).items():
        out.write(rel, data)


TARGET = Target(name="handbook", style=HandbookStyle, run=run, uses=("map", "journeys"))
