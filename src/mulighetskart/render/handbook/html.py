"""The handbook's HTML and CSS: the page model (layout/handbook.py) through the Jinja templates
in layouts/<templates>/, and the editions' page set-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import jinja2

from ... import __version__
from ...content.model import Content
from ...errors import BuildError, Problem
from ...layout.handbook import EditionStyle, Handbook, HandbookStyle, Labels, PageStyle, Part, book_parts
from ...layout.map import PAPERS, smallest_size
from ...theme import Theme
from .page_numbers import PageNumbers, page_digits
from .slices import Slice, sliced_svgs


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
                  page_no: PageNumbers | None = None, parts: tuple[Part, ...] | None = None, linked: bool = True,
                  sliced: dict[str, tuple[Slice, ...]] | None = None) -> str:
    """The edition's HTML of `parts` (all by default), linking its CSS unless told not to.
    Without `page_no`, cross-references carry placeholders of the width their numbers will take."""
    try:
        return env.get_template(PAGE_TEMPLATE).render(
            hb=hb, edition=edition, label=Labels(theme, style), figures=FIGURES, generator=f"mulighetskart {__version__}",
            css_files=(SHARED_CSS, f"{edition.style.file}.css") if linked else (), parts=book_parts(hb) if parts is None else parts,
            page_no=page_no or PageNumbers.placeholders(hb), slices=sliced or {},
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


def style_problems(style: HandbookStyle) -> list[Problem]:
    """Margins inside the safe zone would put text where the trim may cut it."""
    page, problems = style.page, []
    for side in ("top", "bottom", "inside", "outside"):
        if getattr(page.margins, side) < page.safe_mm:
            problems.append(Problem(page.margins.loc.of(side), f"margin {side} is {getattr(page.margins, side)} mm, inside the {page.safe_mm} mm safe zone"))
    for ed in (style.editions.print, style.editions.screen):
        if ed.map_margin_mm < page.safe_mm:
            problems.append(Problem(ed.loc.of("map_margin_mm"), f"map_margin_mm is {ed.map_margin_mm} mm, inside the {page.safe_mm} mm safe zone"))
    if "{page}" not in spoken_page_ref(style):
        problems.append(Problem(style.loc.of("labels"), "labels.spoken_page_ref must say where the page number goes, e.g. ', side {page}'"))
    return problems


def map_page_problems(theme: Theme, style: HandbookStyle) -> list[Problem]:
    """Each edition's map page must hold the map's paper at a scale that keeps its text at
    `min_text` (a map on A2 shrunk onto an A3 page prints its 7 pt at 4.8 pt)."""
    if "map" not in theme.sections:
        return []  # the map's own section failed: its problem is reported already
    mstyle = theme.section("map")
    paper_w, paper_h = PAPERS[mstyle.paper]
    smallest = smallest_size(mstyle)
    problems = []
    for name in ("print", "screen"):
        ed = getattr(style.editions, name)
        try:
            area_w, area_h = edition(name, style).map_area_mm
        except BuildError as e:
            problems.append(Problem(ed.loc.of("map_page_size"), str(e).removeprefix("layouts/theme.yaml: ")))
            continue
        k = min(1.0, area_w / paper_w, area_h / paper_h)
        if smallest >= mstyle.min_text and smallest * k < mstyle.min_text - 0.05:  # a size under it is the map's own problem
            problems.append(Problem(ed.loc.of("map_page_size"),
                                    f"the map's {mstyle.paper} sheet prints at {k:.0%} on a '{ed.map_page_size}' page: its {smallest:g} pt "
                                    f"text would be {smallest * k:.1f} pt, under min_text {mstyle.min_text:g} pt",
                                    f"set map_page_size: {mstyle.paper} landscape"))
    return problems


def spoken_page_ref(style: HandbookStyle) -> str:
    """How the screen edition reads a page number out (labels.spoken_page_ref, e.g. ', side {page}')."""
    return style.labels.get("spoken_page_ref", "{page}")


def editions(style: HandbookStyle) -> tuple[Edition, Edition]:
    return edition("print", style), edition("screen", style)


def edition(name: Literal["print", "screen"], style: HandbookStyle) -> Edition:
    ed = getattr(style.editions, name)
    width, height = page_size_mm(ed.map_page_size)
    return Edition(name, ed, style.page, (width - 2 * ed.map_margin_mm, height - 2 * ed.map_margin_mm))


ISO_A = {"A0": (841.0, 1189.0), "A1": (594.0, 841.0), "A2": (420.0, 594.0), "A3": (297.0, 420.0), "A4": (210.0, 297.0), "A5": (148.0, 210.0)}


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


def font_files(theme: Theme) -> dict[str, bytes]:
    """The font files and their licence, copied beside the HTML so it renders on its own."""
    files = {path.name: path.read_bytes() for path in theme.font_files()}
    licence = theme.font_path("regular").parent / "OFL.txt"
    if licence.is_file():
        files[licence.name] = licence.read_bytes()
    return files


# Room a timeline slice leaves on its page for the heading above the first one.
SLICE_HEADROOM_MM = 20


def sliced_timelines(hb: Handbook, style: HandbookStyle, figures: dict[str, str], layers: dict[str, tuple[str, ...]]):
    """Each timeline cut into page-high slices at the text column's width (slices.py): the
    slices by timeline, and the figures and librsvg's layers with the slices for the timelines."""
    m = style.page.margins
    width, height = page_size_mm(style.page.size)
    column, room = width - m.inside - m.outside, height - m.top - m.bottom - SLICE_HEADROOM_MM
    sliced, figures, layers = {}, dict(figures), dict(layers)
    for persona in hb.personas:
        name = persona.timeline.src
        sliced[name], files = sliced_svgs(name, figures.pop(name), column, room)
        del layers[name]
        figures.update(files)
        layers.update({src: (svg,) for src, svg in files.items()})
    return sliced, figures, layers


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


def handbook_sources(content: Content, theme: Theme, style: HandbookStyle, hb: Handbook, figures: dict[str, str],
                     sliced: dict[str, tuple[Slice, ...]]) -> Sources:
    html_env, css_env = template_env(theme, style)
    files: dict[str, str | bytes] = {f"{FONTS}/{name}": data for name, data in font_files(theme).items()}
    files.update({f"{FIGURES}/{name}": svg for name, svg in sorted(figures.items())})
    if hb.logo:
        files[hb.logo] = content.logo_png
    files[SHARED_CSS] = handbook_css(hb, theme, style, css_env)
    for ed in editions(style):
        files[f"{ed.style.file}.css"] = edition_css(hb, ed, theme, css_env)
    parts = book_parts(hb)
    html = lambda ed, page_no: handbook_html(hb, ed, theme, style, html_env, page_no, parts, sliced=sliced)  # noqa: E731
    part_html = lambda ed, part, page_no: handbook_html(hb, ed, theme, style, html_env, page_no, (part,), linked=False, sliced=sliced)  # noqa: E731
    return Sources(files, html, parts, part_html, page_digits(hb), figures)


