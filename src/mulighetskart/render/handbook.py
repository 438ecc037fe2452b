"""The handbook: a print edition for the print shop and a tagged screen edition, one source.

Three steps, kept apart so the first two can be tested without WeasyPrint:
  plan   content → `Handbook`, a frozen page/chapter model (pure: no I/O, no templates);
  html   the model → HTML and CSS through the Jinja templates in layouts/<templates>/;
  render HTML → PDF with WeasyPrint, one layout per edition (page sizes differ).
The map and the journeys come from their own targets through the shared contracts
(map_svg, timeline_svg, route_svg) and are embedded as <img> with alt text, so they stay
vector and the alt text lands on the /Figure in the screen edition's structure tree.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Literal
from xml.sax.saxutils import escape as xml_escape

import jinja2
from markupsafe import Markup

from .. import __version__
from ..build import Job, Target
from ..content.fields import ID_PATTERN, Doc, Loc, MinLen, located
from ..content.model import Category, Content, Financing, Offer, Persona
from ..errors import BuildError, ContentError, MissingToolError, Problem
from ..layout.journey import journey_text, span_label
from ..publish import Writer
from ..theme import Theme
from .markup import markdown_html

# --------------------------------------------------------------------------- theme section


@dataclass(frozen=True)
class Margins:
    top: Annotated[float, Doc("mm")]
    bottom: float
    inside: Annotated[float, Doc("mm; the binding side in print")]
    outside: float
    loc: Loc = located()


@dataclass(frozen=True)
class PageStyle:
    size: Annotated[str, MinLen(1), Doc("CSS page size, e.g. 'A4'")]
    margins: Margins
    safe_mm: Annotated[float, Doc("text keeps at least this far inside the trim")]
    loc: Loc = located()


@dataclass(frozen=True)
class EditionStyle:
    file: Annotated[str, ID_PATTERN, Doc("file name without extension")]
    pdf_variant: Literal["", "pdf/x-3", "pdf/x-4", "pdf/ua-1", "pdf/ua-2"]
    output_intent: Literal["", "srgb"]
    bleed_mm: float
    crop_marks: bool
    map_page_size: Annotated[str, MinLen(1), Doc("CSS page size of the map page, e.g. 'A3 landscape'")]
    map_margin_mm: float
    loc: Loc = located()


@dataclass(frozen=True)
class Editions:
    print: EditionStyle
    screen: EditionStyle
    loc: Loc = located()


@dataclass(frozen=True)
class TypeSizes:
    body_pt: float
    small_pt: float
    h1_pt: float
    h2_pt: float
    h3_pt: float
    leading: float
    loc: Loc = located()


@dataclass(frozen=True)
class HandbookStyle:
    """layouts/theme.yaml `targets.handbook`."""

    templates: Annotated[str, MinLen(1), Doc("folder under layouts/ with the templates and CSS")]
    cover_colour: Annotated[str, ID_PATTERN, Doc("colour token of the cover")]
    page: PageStyle
    editions: Editions
    type: TypeSizes
    month_names: Annotated[tuple[str, ...], MinLen(12)]
    labels: dict[str, str]
    loc: Loc = located()


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

# --------------------------------------------------------------------------- the page model


@dataclass(frozen=True)
class Ref:
    """A cross-reference: the templates print its page number next to it."""

    anchor: str
    text: str


@dataclass(frozen=True)
class Fact:
    """A row of a Nøkkelinformasjon box or a profile: plain text and/or cross-references."""

    label: str
    text: str = ""
    refs: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class OutLink:
    title: str
    url: str
    owner: str


@dataclass(frozen=True)
class Figure:
    src: str  # file under FIGURES/
    alt: str
    kind: Literal["map", "timeline", "route"]


@dataclass(frozen=True)
class OfferPage:
    anchor: str
    title: str
    summary: str
    facts: tuple[Fact, ...]
    body: Markup
    combines: tuple[Ref, ...]
    leads: tuple[Ref, ...]
    links: tuple[OutLink, ...]
    sources: tuple[Ref, ...]


@dataclass(frozen=True)
class FinancingPage:
    anchor: str
    title: str
    summary: str
    facts: tuple[Fact, ...]
    body: Markup
    pitfalls: tuple[str, ...]
    links: tuple[OutLink, ...]
    sources: tuple[Ref, ...]


@dataclass(frozen=True)
class Matrix:
    """Offers × livelihood: which ways of covering livelihood fit each offer."""

    columns: tuple[Ref, ...]
    rows: tuple[tuple[Ref, tuple[bool, ...]], ...]


@dataclass(frozen=True)
class Chapter:
    anchor: str
    id: str
    title: str
    kicker: str
    summary: str
    intro: Markup
    colour: str
    on_colour: str  # ink or paper, whichever reads better on `colour`
    offers: tuple[OfferPage, ...] = ()
    financing: tuple[FinancingPage, ...] = ()
    matrix: Matrix | None = None


@dataclass(frozen=True)
class PhasePage:
    heading: str
    text: str
    note: Markup
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class PersonaPage:
    anchor: str
    name: str
    summary: str
    profile: tuple[Fact, ...]
    body: Markup
    timeline: Figure
    route: Figure
    intro: str
    phases: tuple[PhasePage, ...]


@dataclass(frozen=True)
class TocEntry:
    ref: Ref
    children: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Handbook:
    """Everything the templates print, in reading order."""

    title: str
    subtitle: str
    edition: str
    date_iso: str
    date_text: str
    publisher: str
    cover_colour: str
    cover_ink: str
    disclaimer: Markup
    intro: Markup
    goals: tuple[Fact, ...]
    map: Figure
    chapters: tuple[Chapter, ...]
    personas: tuple[PersonaPage, ...]
    cefr: tuple[Fact, ...]
    terms: tuple[Fact, ...]
    sources: tuple[tuple[str, str, str], ...]  # anchor, citation, url
    index: tuple[tuple[str, tuple[Ref, ...]], ...]  # first letter, offers
    toc: tuple[TocEntry, ...]


# Anchors: ids are [a-z0-9-], so these are safe in HTML and as PDF destination names.
def offer_anchor(offer_id: str) -> str:
    return f"tilbud-{offer_id}"


def financing_anchor(financing_id: str) -> str:
    return f"livsopphold-{financing_id}"


def category_anchor(category_id: str) -> str:
    return f"kategori-{category_id}"


def persona_anchor(persona_id: str) -> str:
    return f"person-{persona_id}"


def source_anchor(source_id: str) -> str:
    return f"kilde-{source_id}"


FRONT = ("innhold", "slik-bruker-du", "kartet")
JOURNEYS, CEFR, GLOSSARY, SOURCES, INDEX = "eksempelreiser", "sprakniva", "ordliste", "kilder", "register"


class Labels:
    """The handbook's wording: its own section first, then the shared labels."""

    def __init__(self, theme: Theme, style: HandbookStyle):
        self._own, self._shared = style.labels, theme.labels

    def __call__(self, key: str) -> str:
        if key in self._own:
            return self._own[key]
        if key in self._shared:
            return self._shared[key]
        raise BuildError(f"layouts/theme.yaml: targets.handbook.labels has no '{key}' (add it to the labels there)")


def plan_handbook(content: Content, theme: Theme, style: HandbookStyle, date: dt.date) -> Handbook:
    """The whole handbook as a page model, in reading order."""
    lb = Labels(theme, style)
    guide = content.guide
    chapters = tuple(plan_chapter(content, theme, lb, cat) for cat in sorted(content.categories, key=lambda c: (c.order, c.id)))
    if content.financing and not any(c.zone == "livelihood" for c in content.categories):
        chapters += (livelihood_chapter(content, theme, lb, None),)
    personas = tuple(plan_persona(content, theme, lb, p) for p in content.personas)
    return Handbook(
        title=guide.title,
        subtitle=guide.subtitle,
        edition=guide.edition,
        date_iso=date.isoformat(),
        date_text=f"{date.day}. {style.month_names[date.month - 1]} {date.year}",
        publisher=guide.publisher,
        cover_colour=theme.colour(style.cover_colour),
        cover_ink=readable_on(theme.colour(style.cover_colour), theme),
        disclaimer=Markup(markdown_html(guide.disclaimer, 2)),
        intro=Markup(markdown_html(guide.intro, 1)),
        goals=tuple(Fact(g.title, g.summary) for g in guide.goals),
        map=Figure("mulighetskart.svg", map_alt(content, lb), "map"),
        chapters=chapters,
        personas=personas,
        cefr=tuple(Fact(c.level, f"{c.title}. {c.description}") for c in content.cefr),
        terms=tuple(Fact(t.term, t.definition) for t in sorted(content.terms, key=lambda t: nb_sort_key(t.term))),
        sources=tuple((source_anchor(s.id), citation(s), s.url or "") for s in content.sources),
        index=offer_index(content),
        toc=table_of_contents(lb, chapters, personas, content),
    )


def plan_chapter(content: Content, theme: Theme, lb: Labels, cat: Category) -> Chapter:
    if cat.zone == "livelihood":
        return livelihood_chapter(content, theme, lb, cat)
    colour = theme.colour(cat.colour)
    return Chapter(
        anchor=category_anchor(cat.id), id=cat.id, title=cat.title, kicker=lb(f"zone.{cat.zone}"), summary=cat.summary,
        intro=Markup(markdown_html(cat.body, 2)), colour=colour, on_colour=readable_on(colour, theme),
        offers=tuple(plan_offer(content, lb, o) for o in content.offers_in(cat.id)),
    )


def plan_offer(content: Content, lb: Labels, offer: Offer) -> OfferPage:
    return OfferPage(
        anchor=offer_anchor(offer.id),
        title=offer.title,
        summary=offer.summary,
        facts=offer_facts(content, lb, offer),
        body=Markup(markdown_html(offer.body, 2)),
        combines=tuple(Ref(offer_anchor(o), content.offer(o).title) for o in offer.combines_with),
        leads=tuple(Ref(offer_anchor(o), content.offer(o).title) for o in offer.leads_to),
        links=out_links(content, offer.links),
        sources=source_refs(content, lb, offer.sources),
    )


def offer_facts(content: Content, lb: Labels, offer: Offer) -> tuple[Fact, ...]:
    """The Nøkkelinformasjon box, in the order IMDi's offer pages use."""
    rights = lb(f"rights.{offer.rights}") + (f". {offer.rights_note}" if offer.rights_note else "")
    lang = offer.language
    language = ". ".join(x for x in (lang.level or "", lang.note) if x) or lb("no_language_requirement")
    facts = [
        Fact(lb("responsible"), ", ".join(content.actor(a).name for a in offer.actors)),
        Fact(lb("target_group"), offer.target_group),
        Fact(lb("rights"), rights),
        Fact(lb("language"), language),
        Fact(lb("duration"), offer.duration),
    ]
    if offer.holds:
        facts.append(Fact(lb("holds"), refs=tuple(Ref(category_anchor(c), content.category(c).title) for c in offer.holds)))
    if offer.livelihood:
        facts.append(Fact(lb("livelihood"), refs=tuple(Ref(financing_anchor(f), content.financing_item(f).title) for f in offer.livelihood)))
    if offer.legal_basis:
        facts.append(Fact(lb("legal_basis"), offer.legal_basis))
    return tuple(facts)


def livelihood_chapter(content: Content, theme: Theme, lb: Labels, cat: Category | None) -> Chapter:
    colour = theme.colour(cat.colour) if cat else theme.colour("paper")
    return Chapter(
        anchor=category_anchor(cat.id if cat else "livsopphold"),
        id=cat.id if cat else "livsopphold",
        title=cat.title if cat else lb("livelihood"),
        kicker=lb("zone.livelihood"),
        summary=cat.summary if cat else "",
        intro=Markup(markdown_html(cat.body, 2)) if cat else Markup(""),
        colour=colour,
        on_colour=readable_on(colour, theme),
        financing=tuple(plan_financing(content, lb, f) for f in content.financing),
        matrix=livelihood_matrix(content),
    )


def plan_financing(content: Content, lb: Labels, item: Financing) -> FinancingPage:
    users = tuple(Ref(offer_anchor(o.id), o.title) for o in content.offers if item.id in o.livelihood)
    facts = (Fact(lb("financing_actor"), content.actor(item.actor).name),) + ((Fact(lb("offers_using"), refs=users),) if users else ())
    return FinancingPage(
        anchor=financing_anchor(item.id), title=item.title, summary=item.summary, facts=facts,
        body=Markup(markdown_html(item.body, 2)), pitfalls=item.pitfalls, links=out_links(content, item.links),
        sources=source_refs(content, lb, item.sources),
    )


def livelihood_matrix(content: Content) -> Matrix:
    """Rows in map order (category order, then offers_in); a column per financing item."""
    columns = tuple(Ref(financing_anchor(f.id), f.title) for f in content.financing)
    rows = tuple(
        (Ref(offer_anchor(o.id), o.title), tuple(f.id in o.livelihood for f in content.financing))
        for cat in sorted(content.categories, key=lambda c: (c.order, c.id))
        for o in content.offers_in(cat.id)
    )
    return Matrix(columns, rows)


def plan_persona(content: Content, theme: Theme, lb: Labels, persona: Persona) -> PersonaPage:
    bg, goals = persona.background, persona.goals
    rows = [
        (lb("age"), f"{persona.age} {lb('years')}"), (lb("origin"), persona.origin), (lb("education"), bg.education),
        (lb("work"), bg.work), (lb("norwegian"), bg.norwegian or ""), (lb("family"), bg.family), (lb("health"), bg.health),
        (lb("residence"), bg.residence), (lb("goal_short"), goals.short), (lb("goal_long"), goals.long),
    ]
    intro, *phase_texts = journey_text(content, theme, persona)
    phases = tuple(
        PhasePage(
            heading=f"{theme.label('phase')} {i} · {span_label(ph, theme)} · {ph.title}",
            text=text,
            note=Markup(markdown_html(ph.note, 3)),
            refs=tuple(Ref(offer_anchor(o), content.offer(o).title) for o in ph.offers),
        )
        for i, (ph, text) in enumerate(zip(persona.journey, phase_texts, strict=True), 1)
    )
    months = max(ph.end_month for ph in persona.journey)
    route_offers = ", ".join(dict.fromkeys(content.offer(o).title for ph in persona.journey for o in ph.offers))
    return PersonaPage(
        anchor=persona_anchor(persona.id), name=persona.name, summary=persona.summary,
        profile=tuple(Fact(label, value) for label, value in rows if value),
        body=Markup(markdown_html(persona.body, 2)),
        timeline=Figure(f"tidslinje-{persona.id}.svg",
                        lb("timeline_alt").format(name=persona.name, phases=len(persona.journey), months=months), "timeline"),
        route=Figure(f"rute-{persona.id}.svg", lb("route_alt").format(name=persona.name, offers=route_offers), "route"),
        intro=intro,
        phases=phases,
    )


def map_alt(content: Content, lb: Labels) -> str:
    def titles(zone: str) -> str:
        return ", ".join(c.title for c in sorted(content.categories, key=lambda c: (c.order, c.id)) if c.zone == zone) or "–"

    programmes = ", ".join(o.title for o in content.offers if o.kind == "programme") or "–"
    return lb("map_alt").format(start=titles("start"), lanes=titles("lane"), programmes=programmes, livelihood=titles("livelihood"))


def out_links(content: Content, links) -> tuple[OutLink, ...]:
    return tuple(OutLink(link.title, link.url, content.actor(link.owner).short if link.owner else "") for link in links)


def source_refs(content: Content, lb: Labels, refs) -> tuple[Ref, ...]:
    def text(r) -> str:
        s = content.source(r.ref)
        return f"{s.author} ({s.year})" + (f", {lb('source_section')} {r.section}" if r.section else "")

    return tuple(Ref(source_anchor(r.ref), text(r)) for r in refs)


def citation(s) -> str:
    return ". ".join(x for x in (f"{s.author} ({s.year})", s.title, s.publisher) if x) + "."


def offer_index(content: Content) -> tuple[tuple[str, tuple[Ref, ...]], ...]:
    """Offers A–Å by title (and by short title where it differs), grouped by first letter."""
    entries = {(o.title, o.id) for o in content.offers} | {(o.short_title, o.id) for o in content.offers if o.short_title}
    groups: dict[str, list[Ref]] = {}
    for title, oid in sorted(entries, key=lambda e: (nb_sort_key(e[0]), e[1])):
        groups.setdefault(title[:1].upper(), []).append(Ref(offer_anchor(oid), title))
    return tuple((letter, tuple(refs)) for letter, refs in groups.items())


def table_of_contents(lb: Labels, chapters, personas, content: Content) -> tuple[TocEntry, ...]:
    head = (TocEntry(Ref("slik-bruker-du", lb("how_to_use"))), TocEntry(Ref("kartet", lb("map_title"))))
    body = tuple(
        TocEntry(Ref(c.anchor, c.title), tuple(Ref(o.anchor, o.title) for o in c.offers) + tuple(Ref(f.anchor, f.title) for f in c.financing))
        for c in chapters
    )
    tail = (
        TocEntry(Ref(JOURNEYS, lb("journeys_title")), tuple(Ref(p.anchor, p.name) for p in personas)),
        *([TocEntry(Ref(CEFR, lb("cefr")))] if content.cefr else []),
        *([TocEntry(Ref(GLOSSARY, lb("glossary")))] if content.terms else []),
        TocEntry(Ref(SOURCES, lb("sources"))),
        TocEntry(Ref(INDEX, lb("index"))),
    )
    return head + body + tail


# Norwegian alphabetical order: æ, ø, å come after z (plain code-point order puts å first).
_NB_ORDER = str.maketrans({"æ": "{", "ø": "|", "å": "}", "é": "e", "ü": "u", "ö": "|", "ä": "{"})


def nb_sort_key(text: str) -> str:
    return text.casefold().translate(_NB_ORDER)


def readable_on(background: str, theme: Theme) -> str:
    """Ink or paper: whichever has the higher contrast on `background` (WCAG formula)."""
    ink, paper = theme.colour("ink"), theme.colour("paper")
    return max((ink, paper), key=lambda fg: contrast(fg, background))


def contrast(a: str, b: str) -> float:
    la, lb_ = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb_ + 0.05)


def luminance(colour: str) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


# --------------------------------------------------------------------------- HTML and CSS


def template_env(theme: Theme, style: HandbookStyle) -> tuple[jinja2.Environment, jinja2.Environment]:
    """(HTML environment with autoescape, CSS environment) over the templates folder."""
    loader = jinja2.FileSystemLoader(theme.layouts / style.templates)
    common = {"loader": loader, "undefined": jinja2.StrictUndefined, "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}
    html = jinja2.Environment(autoescape=True, **common)
    css = jinja2.Environment(autoescape=False, **common)
    css.filters["css_string"] = css_string
    return html, css


def css_string(text: str) -> str:
    """A CSS string literal: labels go into `content:` and font names into font-family."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\\n\r' or ord(ch) < 32 else ch for ch in str(text))
    return f'"{escaped}"'


def handbook_html(hb: Handbook, edition: Edition, theme: Theme, style: HandbookStyle, env: jinja2.Environment, only_map: bool = False) -> str:
    """The edition's HTML; `only_map` keeps just the map page (the screen edition lays it out alone)."""
    try:
        return env.get_template(PAGE_TEMPLATE).render(
            hb=hb, edition=edition, label=Labels(theme, style), css_files=(SHARED_CSS, f"{edition.style.file}.css"),
            figures=FIGURES, generator=f"mulighetskart {__version__}", only_map=only_map,
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


def draw_figures(content: Content, theme: Theme, hb: Handbook) -> dict[str, str]:
    """SVG files by name, drawn by the map and journeys targets through their contracts."""
    from .journeys import route_svg, timeline_svg
    from .map_svg import map_svg

    persona_ids = {persona_anchor(p.id): p.id for p in content.personas}
    figures = {hb.map.src: map_svg(content, theme)}
    for page in hb.personas:
        pid = persona_ids[page.anchor]
        figures[page.timeline.src] = timeline_svg(content, theme, pid)
        figures[page.route.src] = route_svg(content, theme, pid)
    return figures


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

# librsvg rasterises SVG masks (the route maps fade what is off the route) at one pixel per
# point of its page; drawing at this zoom keeps them at 300 ppi or more at the figure's own
# size, and the handbook only ever shows figures at that size or smaller.
FIGURE_ZOOM = 300 / 72

FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{fonts}</dir><cachedir>{cache}</cachedir></fontconfig>
"""


@dataclass(frozen=True)
class Placeholder:
    """Stands in for a figure during layout: an image of the figure's size in CSS px whose
    pixels all hold `key`, so it can be told apart from the others in the PDF."""

    key: int
    width_px: int
    height_px: int


def placeholders(figures: dict[str, str]) -> dict[str, Placeholder]:
    if len(figures) > 255:
        raise BuildError(f"the handbook has {len(figures)} figures; placeholders can tell 255 apart")
    return {name: Placeholder(i, *svg_size_px(figures[name])) for i, name in enumerate(sorted(figures), 1)}


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


def placeholder_png(p: Placeholder) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (p.width_px, p.height_px), p.key).save(buf, format="PNG", optimize=False)
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
                return URLFetcherResponse(f"placeholder:{rel}", placeholder_png(placeholders_by_path[rel]), {"Content-Type": "image/png"})
            path = folder / rel
            if not path.is_file():
                raise URLFetchingError(f"{rel} is not in the handbook folder")
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": MIME.get(path.suffix, "application/octet-stream")})

    return HandbookFetcher()


def figure_pdfs(figures: dict[str, str], font_dir: Path) -> dict[str, bytes]:
    """Each figure as a one-page vector PDF drawn by librsvg with the handbook's fonts."""
    exe = shutil.which("rsvg-convert")
    if exe is None:
        raise MissingToolError("rsvg-convert (librsvg) draws the handbook's figures; install with: "
                               "apt-get install librsvg2-bin (Debian/Ubuntu) or brew install librsvg (macOS)")
    with tempfile.TemporaryDirectory(prefix="mulighetskart-handbook-") as tmp:
        conf = Path(tmp) / "fonts.conf"
        conf.write_text(FONTCONFIG.format(fonts=xml_escape(str(font_dir)), cache=xml_escape(str(Path(tmp) / "cache"))), encoding="utf-8")
        env = {**os.environ, "FONTCONFIG_FILE": str(conf), "SOURCE_DATE_EPOCH": "0"}
        names = sorted(figures)
        first = {names[0]: _rsvg_pdf(exe, figures[names[0]], env)} if names else {}  # builds the font cache once
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            rest = dict(zip(names[1:], pool.map(lambda n: _rsvg_pdf(exe, figures[n], env), names[1:]), strict=True))
    return first | rest


def _rsvg_pdf(exe: str, svg: str, env: dict) -> bytes:
    try:
        done = subprocess.run([exe, "--format", "pdf", "--zoom", f"{FIGURE_ZOOM:.4f}"], input=svg.encode("utf-8"),
                              capture_output=True, env=env, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"rsvg-convert failed: {exc}") from exc
    if done.returncode != 0 or not done.stdout.startswith(b"%PDF"):
        raise BuildError(f"rsvg-convert could not draw a handbook figure: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def swap_in_figures(pdf_bytes: bytes, holders: dict[str, Placeholder], drawn: dict[str, bytes]) -> bytes:
    """The PDF with every placeholder image replaced by its figure, saved deterministically."""
    import pikepdf

    by_key = {p.key: (p, drawn[name]) for name, p in holders.items()}
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        sources, forms = [], {}
        for page in pdf.pages:
            xobjects = page.obj.get("/Resources", {}).get("/XObject", {})
            for name in sorted(xobjects.keys()):  # keys() is a set: sort for a stable object order
                key = _placeholder_key(xobjects[name], by_key)
                if key is None:
                    continue
                if key not in forms:
                    src = pikepdf.open(io.BytesIO(by_key[key][1]))
                    sources.append(src)
                    forms[key] = _unit_form(pdf.copy_foreign(src.pages[0].as_form_xobject()))
                xobjects[name] = forms[key]
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
        for src in sources:
            src.close()
    return out.getvalue()


def _placeholder_key(xobject, by_key) -> int | None:
    if xobject.get("/Subtype") != "/Image":
        return None
    data = xobject.read_bytes()
    key = data[0] if data else None
    if key not in by_key:
        return None
    p = by_key[key][0]
    return key if (int(xobject.Width), int(xobject.Height)) == (p.width_px, p.height_px) else None


def _unit_form(form):
    """Scale a form so its bounding box fills the unit square, where an image is drawn."""
    x0, y0, x1, y1 = (float(v) for v in form.BBox)
    form.Matrix = [1 / (x1 - x0), 0, 0, 1 / (y1 - y0), -x0 / (x1 - x0), -y0 / (y1 - y0)]
    return form


# --------------------------------------------------------------------------- rendering
# One layout serves both editions: the screen edition is the print layout's pages without
# the bleed, with the map page laid out again at the screen edition's map size. The book is
# laid out once (half the build time) and page numbers are the same in both editions.

MAP_ANCHOR = "kartet"


def layout_book(html: str, fetcher):
    """WeasyPrint's laid-out document: pages, boxes, anchors and bookmarks."""
    import weasyprint

    return weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render()


def screen_document(book, map_page_doc):
    """The print layout's pages without bleed, its map page swapped for the screen one."""
    pages = []
    for page in book.pages:
        pages.extend(map_page_doc.pages if MAP_ANCHOR in page.anchors else [without_bleed(page)])
    return book.copy(pages)


def without_bleed(page):
    trimmed = copy.copy(page)
    trimmed.bleed = dict.fromkeys(page.bleed, 0)
    return trimmed


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
    return document.write_pdf(finisher=finisher, **pdf_options(edition, identifier))


_DOC_ID = re.compile(rb"xmp\.did:[0-9a-fA-F-]+")


def _fix_document_id(doc_id: str, document, pdf) -> None:
    ref = pdf.catalog.get("Metadata")
    for obj in pdf.objects:
        if getattr(obj, "reference", None) == ref and hasattr(obj, "stream"):
            obj.stream = [_DOC_ID.sub(f"xmp.did:{doc_id}".encode(), part) for part in obj.stream]


def pdf_identifier(*parts: str) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:32].encode("ascii")


@dataclass(frozen=True)
class Sources:
    """The files beside the PDFs: what WeasyPrint reads, kept for inspection."""

    files: dict[str, str | bytes]
    html: dict[str, str]  # edition name -> its HTML
    map_html: str  # the screen edition's map page on its own
    figures: dict[str, str]  # SVG by file name under FIGURES/


def handbook_sources(content: Content, theme: Theme, style: HandbookStyle, hb: Handbook, figures: dict[str, str]) -> Sources:
    html_env, css_env = template_env(theme, style)
    files: dict[str, str | bytes] = {f"{FONTS}/{name}": data for name, data in font_files(theme).items()}
    files.update({f"{FIGURES}/{name}": svg for name, svg in sorted(figures.items())})
    files[SHARED_CSS] = handbook_css(hb, theme, style, css_env)
    html = {}
    for ed in editions(style):
        html[ed.name] = handbook_html(hb, ed, theme, style, html_env)
        files[f"{ed.style.file}.html"] = html[ed.name]
        files[f"{ed.style.file}.css"] = edition_css(hb, ed, theme, css_env)
    map_html = handbook_html(hb, edition("screen", style), theme, style, html_env, only_map=True)
    return Sources(files, html, map_html, figures)


def render_editions(sources: Sources, style: HandbookStyle, folder: Path, font_dir: Path) -> dict[str, bytes]:
    """PDF bytes by edition name; `folder` holds the sources (HTML, CSS, fonts, figures)."""
    print_ed, screen_ed = editions(style)
    holders = placeholders(sources.figures)
    drawn = figure_pdfs(sources.figures, font_dir)
    fetcher = handbook_fetcher(folder, holders)
    book = layout_book(sources.html["print"], fetcher)
    screen = screen_document(book, layout_book(sources.map_html, fetcher))
    ident = pdf_identifier(*(v if isinstance(v, str) else hashlib.sha256(v).hexdigest() for _, v in sorted(sources.files.items())))
    finish = partial(finished_pdf, identifier=ident, holders=holders, drawn=drawn)
    return write_side_by_side({"screen": (screen, screen_ed), "print": (book, print_ed)}, finish)


def finished_pdf(document, edition: Edition, identifier: bytes, holders: dict[str, Placeholder], drawn: dict[str, bytes]) -> bytes:
    return swap_in_figures(write_pdf(document, edition, identifier), holders, drawn)


def write_side_by_side(jobs: dict[str, tuple], finish) -> dict[str, bytes]:
    """Write the editions at the same time: a forked child inherits the laid-out pages and
    writes the first, this process writes the others. (Where fork is missing, one by one.)
    Separate processes also keep the print edition's output-intent profile, which WeasyPrint
    adds to the colour profiles both documents share, out of the screen edition."""
    names = list(jobs)
    if "fork" not in multiprocessing.get_all_start_methods() or (os.cpu_count() or 1) < 2:
        return {name: finish(*jobs[name]) for name in reversed(names)}  # screen edition last: see above
    ctx = multiprocessing.get_context("fork")
    reader, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_write_into, args=(sender, finish, *jobs[names[0]]), daemon=True)
    child.start()
    sender.close()
    try:
        pdfs = {name: finish(*jobs[name]) for name in names[1:]}
        ok, result = reader.recv()
    except EOFError:
        ok, result = False, "the process writing it ended without an answer"
    finally:
        child.join()
    if not ok:
        raise BuildError(f"writing the {names[0]} edition failed: {result}")
    return {names[0]: result, **pdfs}


def _write_into(sender, finish, document, edition) -> None:
    try:
        sender.send((True, finish(document, edition)))
    except BaseException as exc:  # report any failure to the parent instead of dying silently
        sender.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


def run(job: Job, out: Writer) -> None:
    style: HandbookStyle = job.theme.section("handbook")
    check_style(style)
    hb = plan_handbook(job.content, job.theme, style, job.date)
    figures = draw_figures(job.content, job.theme, hb)
    sources = handbook_sources(job.content, job.theme, style, hb, figures)
    for rel, data in sources.files.items():
        out.write(rel, data)
    pdfs = render_editions(sources, style, out.folder, job.theme.font_path().parent)
    for ed in editions(style):
        out.write(f"{ed.style.file}.pdf", pdfs[ed.name])


TARGET = Target(name="handbook", style=HandbookStyle, run=run)
