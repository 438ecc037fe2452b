"""Target `journeys` (Eksempelreiser): per persona a timeline and a route on the map.

    OUT/journeys/<id>.dot        the timeline's Graphviz source (planned in layout/journey.py)
    OUT/journeys/<id>.svg        the timeline laid out by `dot`, <title>/<desc> on the root
    OUT/journeys/<id>-rute.svg   the persona's route on the possibility map
    OUT/journeys/alle-reiser.svg every route on one map, one colour and legend entry each
    and a PNG preview next to each SVG.

`dot` finds the shipped fonts through a generated fontconfig file (FONTCONFIG_FILE, in its
own environment) that puts fonts/ ahead of the system's fonts, so it measures the text the SVG shows. The SVGs
embed subsets of the same fonts, as the map does. The slow steps (dot, rsvg-convert) run
side by side in threads while the main thread plans the routes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import itertools
import math
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from xml.sax.saxutils import escape, quoteattr

import svgwrite
from PIL import Image

from ..content.convert import suggest
from ..content.fields import COLOUR, Doc, Loc, MinLen, located
from ..content.fingerprint import reading_all_but
from ..content.model import OFFER_PROSE, Content, Offer, Persona
from ..errors import BuildError, ContentError, MissingToolError, Problem
from ..fontconfig import fonts_key, write_fontconfig
from ..layout.geometry import Rect
from ..layout.journey import JourneyLabels, TimelineStyle, journey_text, span_label, timeline_graph
from ..layout.map import PAPERS, PT, MapLayout, MapStyle
from ..layout.routes import Corridors, Journey, Key, KeyEntry, Mark, RouteCheck, RoutePlan, RouteStyle, Station, check_routes, layout_key, plan_routes
from ..layout.text import TextMeasure
from ..memo import NO_MEMO, Memo
from ..output_names import ALL_ROUTES, route_stem
from ..publish import Writer, json_bytes
from ..target import Job, Target, build_date
from ..theme import Theme
from . import sprites
from .font_subsets import font_face_css
from .map_svg import check_style as check_map_style
from .map_svg import fitted_layout, map_style, render_svg
from .rasterise import png_key, svg_to_png, tool_version

INSTALL_GRAPHVIZ = "install with: apt-get install graphviz (Debian/Ubuntu) or brew install graphviz (macOS)"
ROUTE_CHECK = "rutesjekk.json"  # per route map: segments through boxes it does not stop at, over text, line crossings
# Makes the route views' elements; unchecked, as svgwrite otherwise validates every attribute
# of an element made on its own (a quarter of a second per build).
SVG = svgwrite.Drawing(debug=False)
FONT_STYLES = ("regular", "bold", "italic")  # what the timelines, the keys and the map draw
DIGITS = "0123456789"
SVG_NS = "http://www.w3.org/2000/svg"
INKSCAPE = "http://www.inkscape.org/namespaces/inkscape"
XLINK = "http://www.w3.org/1999/xlink"
FOREIGN_NS = {"http://www.w3.org/1999/xlink": "xlink", "http://www.w3.org/XML/1998/namespace": "xml", INKSCAPE: "inkscape"}
ROOT_TAG = re.compile(r"<svg\b[^>]*>")
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the map's coordinates
MAP_SLOT = "mulighetskart-map"  # where a route document takes the map's serialised <svg>
LINE_PIECE = 4.0  # mm: a route line's ink is boxed piece by piece

@dataclass(frozen=True)
class JourneysStyle:
    """targets.journeys in layouts/theme.yaml."""

    png_width: Annotated[int, Doc("px width of the PNG previews")]
    png_min_side: Annotated[int, Doc("px: no preview's short side is smaller")]
    persona_colours: Annotated[tuple[Annotated[str, COLOUR], ...], MinLen(1), Doc("route colour per persona, in content order")]
    dashes: Annotated[tuple[str, ...], MinLen(1), Doc("stroke-dasharray for each round through the colours")]
    timeline: TimelineStyle
    route: RouteStyle
    labels: JourneyLabels
    loc: Loc = located()


# --- The contract other targets call ---------------------------------------------------------


@dataclass(frozen=True)
class Drawings:
    """The journeys' drawings for a target that asks for them persona by persona (the handbook,
    the fragments): the map and the fonts are made once for all of them, not once a call,
    which would cost content size squared."""

    content: Content
    theme: Theme
    memo: Memo = NO_MEMO  # Graphviz layouts and font subsets kept between builds

    @functools.cached_property
    def base(self) -> MapBase:
        return MapBase.of(self.content, self.theme, journeys_style(self.theme), build_date(self.content), self.memo, self.fonts)

    @functools.cached_property
    def fonts(self) -> str:
        return font_css(self.content, self.theme, journeys_style(self.theme), self.memo)

    def timeline_source(self, persona_id: str) -> str:
        """The timeline's Graphviz source, its text measured with the shipped fonts: in one
        thread only (fontTools reads a font's tables as they are first asked for)."""
        style = journeys_style(self.theme)
        return timeline_graph(self.content, self.theme, _persona(self.content, persona_id), style.timeline, style.labels).source

    def timeline_svg(self, persona_id: str, source: str | None = None) -> str:
        """The timeline laid out by `dot`, with a root <title> and <desc> (the journey as text).
        `source`: timeline_source's, made beforehand, so that this may run in another thread."""
        source = self.timeline_source(persona_id) if source is None else source
        return _timeline_svg(self.content, self.theme, journeys_style(self.theme), _persona(self.content, persona_id), source, self.fonts, self.memo)

    def route(self, persona_id: str) -> RouteDrawing:
        """The possibility map with this persona's route: offers numbered in journey order."""
        return RouteDrawing(self.theme, self.base, _route_view(self.content, self.theme, _persona(self.content, persona_id), self.base))

    def all_routes_svg(self) -> str:
        """Every persona's route on one map, each in its own colour, with a legend."""
        return route_document(self.theme, self.base, _all_routes_view(self.content, self.theme, self.base))


def timeline_dot(content: Content, theme: Theme, persona_id: str) -> str:
    """The Graphviz source of a persona's timeline."""
    style = journeys_style(theme)
    return timeline_graph(content, theme, _persona(content, persona_id), style.timeline, style.labels).source


def timeline_svg(content: Content, theme: Theme, persona_id: str, memo: Memo = NO_MEMO) -> str:
    return Drawings(content, theme, memo).timeline_svg(persona_id)


def route_svg(content: Content, theme: Theme, persona_id: str) -> str:
    return Drawings(content, theme).route(persona_id).svg


def all_routes_svg(content: Content, theme: Theme) -> str:
    return Drawings(content, theme).all_routes_svg()


@dataclass(frozen=True)
class RouteDrawing:
    """A persona's route map, its view made once for the ways it is drawn."""

    theme: Theme
    base: MapBase
    view: RouteView

    @functools.cached_property
    def svg(self) -> str:
        return route_document(self.theme, self.base, self.view)

    def layers(self) -> tuple[str, str]:
        """The SVG as two SVGs of its size that, drawn one over the other, give the same
        picture: the map, the same for every persona (so a PDF can hold it once), and what
        the route adds."""
        return _map_layer(self.theme, self.base, self.view), route_document(self.theme, self.base, self.view, map_=False)

    def png(self, width_px: int, font_dirs: Sequence[Path] = (), memo: Memo = NO_MEMO) -> bytes:
        """The SVG's PNG as svg_to_png would draw it, at a fraction of the cost (route_png);
        safe to call from any thread."""
        return route_png(self.theme, self.base, self.view, self.svg, width_px, font_dirs, memo)


# --- The target --------------------------------------------------------------------------------


def run(job: Job, out: Writer) -> None:
    content, theme = job.content, job.theme
    style = journeys_style(theme)
    measure = TextMeasure.from_theme(theme)
    sources = {p.id: timeline_graph(content, theme, p, style.timeline, style.labels, measure).source for p in content.personas}
    fonts = font_css(content, theme, style, job.memo)  # before the threads: they all use its font subsets
    png = {"width_px": style.png_width, "font_dirs": [theme.font_path("regular").parent], "memo": job.memo}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        timelines = {p.id: pool.submit(_timeline_files, content, theme, style, p, sources[p.id], fonts, png) for p in content.personas}
        base = MapBase.of(content, theme, style, job.date, job.memo, fonts)
        routes, previews, checks = {}, {}, {}
        for stem, view in _route_views(content, theme, base):  # each preview starts as soon as its SVG is there
            routes[stem] = route_document(theme, base, view)
            checks[f"{stem}.svg"] = dataclasses.asdict(view.check)
            wide = {**png, "width_px": preview_width(routes[stem], style)}
            previews[stem] = pool.submit(route_png, theme, base, view, routes[stem], **wide)
        for persona in content.personas:
            svg, preview = timelines[persona.id].result()
            out.write(f"{persona.id}.dot", sources[persona.id])
            out.write(f"{persona.id}.svg", svg)
            out.write(f"{persona.id}.png", preview)
        for stem, svg in routes.items():
            out.write(f"{stem}.svg", svg)
            out.write(f"{stem}.png", previews[stem].result())
        out.write(ROUTE_CHECK, json_bytes(checks))


def _route_views(content: Content, theme: Theme, base: MapBase) -> Iterator[tuple[str, RouteView]]:
    """(file stem, view): one route map per persona, then all of them together."""
    for p in content.personas:
        yield route_stem(p.id), _route_view(content, theme, p, base)
    yield ALL_ROUTES, _all_routes_view(content, theme, base)


def check(content: Content, theme: Theme) -> list[Problem]:
    return []  # the map's check covers the map the routes are drawn on (`uses`)


# The drawings print an offer's map title and text, never its prose for the handbook and CMS:
# what they read, for the build's cache key and the handbook's kept figures.
drawn_content = reading_all_but(Offer, OFFER_PROSE)
TARGET = Target(name="journeys", style=JourneysStyle, run=run, uses=("map",), reads=drawn_content)


def journeys_style(theme: Theme) -> JourneysStyle:
    """The theme's targets.journeys section (loaded for every target that `uses` the journeys)."""
    return theme.section("journeys")


def _persona(content: Content, persona_id: str) -> Persona:
    for persona in content.personas:
        if persona.id == persona_id:
            return persona
    raise BuildError(f"no persona '{persona_id}' in the content")


# --- Timeline: dot → SVG ----------------------------------------------------------------------


def _timeline_files(content: Content, theme: Theme, style: JourneysStyle, persona: Persona, source: str, fonts: str, png: dict) -> tuple[str, bytes]:
    svg = _timeline_svg(content, theme, style, persona, source, fonts, png["memo"])
    return svg, svg_to_png(without_fonts(svg), **{**png, "width_px": preview_width(svg, style)})


ROOT_SIZE = re.compile(r'\b(width|height)="([\d.]+)(pt|mm|px)?"')


def preview_width(svg: str, style: JourneysStyle) -> int:
    """The theme's preview width, or wider where the drawing is so wide that its short side
    would come out under png_min_side."""
    tag = ROOT_TAG.search(svg)
    size = dict((name, float(value)) for name, value, _ in ROOT_SIZE.findall(tag.group(0) if tag else ""))
    if not size.get("width") or not size.get("height"):
        return style.png_width
    return max(style.png_width, math.ceil(style.png_min_side * size["width"] / size["height"]))


STYLE_ELEMENT = re.compile(r"<style>[^<]*</style>")


def without_fonts(svg: str) -> str:
    """The SVG for rsvg-convert: it ignores @font-face (it gets the fonts from fontconfig), but
    parsing the embedded fonts would still cost it a tenth of a second per preview."""
    return STYLE_ELEMENT.sub("", svg)


def _timeline_svg(content: Content, theme: Theme, style: JourneysStyle, persona: Persona, source: str, fonts: str, memo: Memo) -> str:
    svg = run_dot(source, persona.id, memo, [theme.font_path("regular").parent])
    title = style.labels.timeline_title.format(name=persona.name)
    return with_root_title(svg, f"{persona.id}-timeline", title, journey_text(content, theme, persona), fonts, theme.language)


def run_dot(source: str, what: str, memo: Memo = NO_MEMO, font_dirs: Sequence[Path] = ()) -> str:
    """SVG from `dot`, or from `memo` when it met this source, Graphviz and fonts (`dot` measures
    the text with the fonts fontconfig finds: `font_dirs` first) before."""
    exe = shutil.which("dot")
    if exe is None:
        raise MissingToolError(f"Graphviz 'dot' was not found on PATH, needed for the journey timelines; {INSTALL_GRAPHVIZ}")
    make = lambda: _dot(exe, source, what, font_dirs).encode("utf-8")  # noqa: E731
    return memo.get("dot", make, source, tool_version(exe, "-V"), fonts_key(font_dirs)).decode("utf-8")


def _dot(exe: str, source: str, what: str, font_dirs: Sequence[Path]) -> str:
    """`dot` in an environment of its own whose fontconfig finds `font_dirs` first; a Graphviz
    error becomes a message, not a traceback."""
    with tempfile.TemporaryDirectory(prefix="mulighetskart-dot-") as tmp:
        env = {**os.environ, "FONTCONFIG_FILE": str(write_fontconfig(Path(tmp), font_dirs))}
        try:
            done = subprocess.run([exe, "-Tsvg"], input=source.encode("utf-8"), capture_output=True, env=env, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BuildError(f"Graphviz failed on the timeline for '{what}': {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise BuildError(f"Graphviz failed on the timeline for '{what}': {detail} (a broken Graphviz can be repaired; {INSTALL_GRAPHVIZ})")
    return done.stdout.decode("utf-8")


def with_root_title(svg: str, ref: str, title: str, paragraphs: Sequence[str], font_css: str = "", lang: str = "nb") -> str:
    """Give the root <svg> a direct-child <title> and <desc> (dot nests its title in a <g>),
    which WeasyPrint and screen readers read; label the image by them; embed the fonts."""
    tag = ROOT_TAG.search(svg)
    if tag is None:
        raise BuildError(f"Graphviz gave no SVG for '{ref}'")
    opening = tag.group(0)[:-1] + f' xml:lang={quoteattr(lang)} role="img" aria-labelledby={quoteattr(f"{ref}-title {ref}-desc")}>'
    head = (f"\n<title id={quoteattr(ref + '-title')}>{escape(title)}</title>"
            f"\n<desc id={quoteattr(ref + '-desc')}>{escape(chr(10).join(paragraphs))}</desc>")
    if font_css:
        head += f"\n<defs><style>{escape(font_css)}</style></defs>"
    return svg[: tag.start()] + opening + head + svg[tag.end():]


def font_css(content: Content, theme: Theme, style: JourneysStyle, memo: Memo = NO_MEMO) -> str:
    """@font-face rules with subsets of the shipped fonts (made by the map's subsetter), so
    browsers and WeasyPrint draw exactly the fonts the text was measured with.

    One character set serves every journey SVG: all text of the content and of the theme's
    wording, a superset of what any of them draws, the map included. Subsetting is slow and
    cached by text, so a build pays for it once per font style.
    """
    if not map_style(theme).embed_fonts:
        return ""
    words = [*_strings(content), *_strings(theme.labels), *_strings(style.labels), *_strings(map_style(theme).text), DIGITS]
    chars = "".join(sorted(set("".join(words)) - set("\n\r\t")))
    return font_face_css(theme, dict.fromkeys(FONT_STYLES, chars), memo)


def _strings(value) -> Iterator[str]:
    """Every text inside a model value: dataclass fields, tuples, mappings, strings, numbers."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            if f.name != "loc":
                yield from _strings(getattr(value, f.name))
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)


# --- Routes on the map ------------------------------------------------------------------------
#
# The map comes from the map target (map_svg) and sits unchanged in a nested <svg>. The
# route view adds, in the map's own coordinates (mm): a veil that fades every offer not
# on the route (a full-size path with the route's boxes cut out), the metro lines (masked
# so they run under the boxes they stop at), outlines and numbered badges on the stops.
# The key (stop list or legend) stands to the right of the map.


@dataclass(frozen=True)
class MapBase:
    """The possibility map, drawn once per build: its SVG, size, and where each offer stands."""

    drawing: str  # the map's <svg>, serialised once, ready to nest in every view
    viewport: Mapping[str, str]  # its x, y, width, height and viewBox: the overlay's too
    box: tuple[float, float, float, float]  # the map's viewBox: x, y, width, height (mm)
    stations: Mapping[str, Station]
    corridors: Corridors  # where the lines may run
    fonts: str  # @font-face rules for the map's text and ours ("" when the theme embeds none)
    measure: TextMeasure
    style: JourneysStyle  # the journeys' theme section, for everything drawn over the map
    rasters: sprites.SharedRasters = field(default_factory=sprites.SharedRasters, compare=False)  # the PNG previews' shared pixels

    @classmethod
    def of(cls, content: Content, theme: Theme, style: JourneysStyle, date: dt.date, memo: Memo = NO_MEMO, fonts: str | None = None) -> MapBase:
        """`fonts`: font_css's rules when the caller has them (a fresh build would subset again)."""
        measure = TextMeasure.from_theme(theme)
        mstyle = map_style(theme)
        check_map_style(mstyle, theme, content)
        mstyle = route_map_style(mstyle, style.route)
        paper_w, paper_h = PAPERS[mstyle.paper]
        sheet = (paper_w - style.route.key_width - 2 * style.route.margin, paper_h)  # the key beside it: one sheet in all
        layout = fitted_layout(content, mstyle, measure, date, sheet, tighten=False, what="the route map")
        fonts = font_css(content, theme, style, memo) if fonts is None else fonts
        if fonts:  # one set of @font-face rules for the map's text and ours: a second set would shadow the first
            mstyle = dataclasses.replace(mstyle, embed_fonts=False)
        drawing = _hidden(_plain(ET.fromstring(render_svg(layout, content, theme, mstyle, content.guide.offer_url, date, memo))))
        box = _view_box(drawing)
        for name, value in zip(("x", "y", "width", "height"), box, strict=True):
            drawing.set(name, _n(value))
        viewport = {k: drawing.get(k) for k in ("x", "y", "width", "height", "viewBox")}
        return cls(ET.tostring(drawing, encoding="unicode"), viewport, box, stations_of(layout), corridors_of(layout, style.route), fonts, measure, style)


def route_map_style(style: MapStyle, route: RouteStyle) -> MapStyle:
    """The map under the routes: gutters `corridor` wide for the lines, titles only if asked,
    the route section's own box sizes, and no leads_to arrows (the lines tell the way)."""
    lengths = {f.name for f in dataclasses.fields(MapStyle) if f.type in ("Mm", "float")}
    unknown = sorted(set(route.map) - lengths)
    if unknown:
        raise ContentError([Problem(route.loc.of("map"), f"'{name}' is not a length of targets.map", suggest(name, lengths)) for name in unknown])
    c = route.corridor
    return dataclasses.replace(style, **route.map, titles_only=route.titles_only, gap=max(style.gap, c), lane_gap=max(style.lane_gap, c),
                               group_gap=max(style.group_gap, c), zone_gap=max(style.zone_gap, c),
                               connectors=dataclasses.replace(style.connectors, show=False))


def corridors_of(layout: MapLayout, style: RouteStyle) -> Corridors:
    """What the lines keep clear of: every box (a programme: its whole frame) and every label;
    and what the theme makes a detour worth."""
    frames = {f.offer: f.segments for f in layout.frames}
    boxes = {b.id: frames.get(b.id, (b.rect,)) for b in layout.all_boxes()}
    texts = (*(t.rect for t in layout.labels), *(s.rect for s in layout.swatches))
    return Corridors(boxes, texts, Rect(0, 0, layout.width, layout.height), layout.gap / 2, style.share, style.crossing, style.meeting, style.reach,
                     style.snap)


@dataclass(frozen=True)
class RouteView:
    """What a route view draws over the map, and its key."""

    ref: str  # prefix of the ids in the document
    title: str
    paragraphs: tuple[str, ...]  # the <desc>
    overlay: tuple  # svgwrite elements in the map's coordinates
    key: Key
    ink: tuple[Box, ...] = ()  # where the overlay draws more than the veil; () if not known
    badges: tuple[Box, ...] = ()  # around each of the overlay's last elements, the numbered badges
    check: RouteCheck | None = None  # lines through boxes, over text, crossing: for the build report


def _route_view(content: Content, theme: Theme, persona: Persona, base: MapBase) -> RouteView:
    style = base.style
    colour, dash = persona_colours(content, style)[persona.id]
    plan = plan_routes([journey_of(persona)], _stations_for(base, [persona]), 0, base.corridors)  # its own legs: no detours round others'
    route = plan.routes[0]
    boxes = [base.stations[s.offer] for s in route.stops]
    ref = f"{persona.id}-route"
    overlay = (
        _veil(base, boxes, style.route),
        *_lines(ref, base, boxes, [(route, colour, dash)], style.route),
        *(_outline(b, colour, style.route) for b in boxes),
        *(_badge(base.measure, theme, style.route, Mark("stop", colour, str(s.number), at=(b.x, b.y))) for s, b in zip(route.stops, boxes, strict=True)),
    )
    entries = [KeyEntry(Mark("stop", colour, str(s.number)), content.offer(s.offer).title, _stop_detail(theme, persona, s.phase))
               for s in route.stops]
    title = style.labels.route_title.format(name=persona.name)
    key = _layout_key(base, title, style.labels.route_intro, entries)
    badge = _badge_reach(style.route)
    badges = tuple((b.x - badge, b.y - badge, b.x + badge, b.y + badge) for b in boxes)
    return RouteView(ref, title, journey_text(content, theme, persona), overlay, key, _ink(base, boxes, route.path, key) + badges, badges,
                     check_routes(plan, base.corridors))


def _ink(base: MapBase, boxes: Sequence[Station], path: Sequence[tuple[float, float]], key: Key) -> tuple[Box, ...]:
    """Boxes around the stops with their outlines, the line cut in short pieces (a long
    diagonal's own box would cover half the map), and the key."""
    style = base.style.route
    edge, half = style.casing_width, style.line_width / 2 + style.casing_width
    ink = [(b.x - edge, b.y - edge, b.x + b.w + edge, b.y + b.h + edge) for b in boxes]
    for (x0, y0), (x1, y1) in itertools.pairwise(path):
        n = max(1, math.ceil(math.dist((x0, y0), (x1, y1)) / LINE_PIECE))
        for i in range(n):
            (ax, ay), (bx, by) = ((x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in (i, i + 1))
            ink.append((min(ax, bx) - half, min(ay, by) - half, max(ax, bx) + half, max(ay, by) + half))
    return (*ink, _key_box(base, key))


def _key_box(base: MapBase, key: Key) -> Box:
    x, y, w, _ = base.box
    style = base.style.route
    return (x + w, y, x + w + style.key_width + 2 * style.margin, key.bottom + style.margin)


def _all_routes_view(content: Content, theme: Theme, base: MapBase) -> RouteView:
    style = base.style
    personas = content.personas
    colours = persona_colours(content, style)
    plan, lines = _bundled(base, personas, style.route)
    boxes = [base.stations[o] for o in sorted({s.offer for r in plan.routes for s in r.stops})]
    overlay = (
        _veil(base, boxes, style.route),
        *_lines(ALL_ROUTES, base, boxes, [(r, *colours[r.persona]) for r in plan.routes], lines),
        *(_outline(b, style.route.station_stroke, style.route) for b in boxes),
    )
    lb = style.labels
    entries = [KeyEntry(Mark("line", *colours[p.id]), p.name, lb.age_origin.format(age=p.age, origin=p.origin)) for p in personas]
    intro = lb.all_intro.format(names=_names([p.name for p in personas]))
    paragraphs = (intro, *(" ".join(journey_text(content, theme, p)) for p in personas))
    return RouteView(ALL_ROUTES, lb.all_title, paragraphs, overlay, _layout_key(base, lb.all_title, intro, entries),
                     check=check_routes(plan, base.corridors))


def _bundled(base: MapBase, personas: Sequence[Persona], style: RouteStyle) -> tuple[RoutePlan, RouteStyle]:
    """Every route, parallel lines thinned where the most lines share a gutter so the bundle
    stays inside it (and off the boxes either side)."""
    journeys, stations = [journey_of(p) for p in personas], _stations_for(base, personas)
    pitch = style.line_width + style.line_gap
    plan = plan_routes(journeys, stations, pitch, base.corridors, room=2 * base.corridors.clearance - style.line_gap)
    if plan.gap >= pitch:
        return plan, style
    return plan, dataclasses.replace(style, line_width=max(plan.gap - style.line_gap, 0.2))


def journey_of(persona: Persona) -> Journey:
    return Journey(persona.id, tuple(phase.offers for phase in persona.journey))


def persona_colours(content: Content, style: JourneysStyle) -> dict[str, tuple[str, str]]:
    """(colour, dash) per persona in content order; after the last colour, the next dash pattern."""
    n = len(style.persona_colours)
    return {p.id: (style.persona_colours[i % n], style.dashes[(i // n) % len(style.dashes)]) for i, p in enumerate(content.personas)}


def stations_of(layout: MapLayout) -> dict[str, Station]:
    """Where the map layout put each offer (a programme: the box with its name on the frame)."""
    return {offer_id: Station(b.x, b.y, b.w, b.h) for offer_id, b in layout.boxes.items()}


def _stations_for(base: MapBase, personas: Sequence[Persona]) -> Mapping[str, Station]:
    missing = sorted({o for p in personas for ph in p.journey for o in ph.offers} - set(base.stations))
    if missing:
        raise BuildError(f"the map has no box for {', '.join(missing)}, so the route through it cannot be drawn")
    return base.stations


def _stop_detail(theme: Theme, persona: Persona, phase_no: int) -> str:
    return theme.label("phase_span").format(number=phase_no, span=span_label(persona.journey[phase_no - 1], theme))


def _names(names: list[str]) -> str:
    """'A, B og C'."""
    return f"{', '.join(names[:-1])} og {names[-1]}" if len(names) > 1 else "".join(names)


def _layout_key(base: MapBase, title: str, intro: str, entries: list[KeyEntry]) -> Key:
    style = base.style.route
    x, y, w, _ = base.box
    return layout_key(title, intro, entries, (x + w + style.margin, y + style.margin), style, base.measure)


# Drawing pieces: svgwrite elements in the map's coordinates.


def _veil(base: MapBase, holes: Sequence[Station], style: RouteStyle) -> svgwrite.base.BaseElement:
    """A paper-coloured layer over the whole map with the route's boxes cut out (even-odd)."""
    return SVG.path(d=_map_less(base, holes), fill=style.station_fill, fill_opacity=_n(1 - style.fade_opacity),
                    fill_rule="evenodd", class_="route-veil")


def _map_less(base: MapBase, boxes: Sequence[Station]) -> str:
    """A path of the whole map with `boxes` as holes, under the even-odd rule."""
    x, y, w, h = base.box
    return " ".join([f"M{_n(x)},{_n(y)}h{_n(w)}v{_n(h)}h{_n(-w)}z", *(f"M{_n(b.x)},{_n(b.y)}h{_n(b.w)}v{_n(b.h)}h{_n(-b.w)}z" for b in boxes)])


def _lines(ref: str, base: MapBase, boxes: Sequence[Station], routes, style: RouteStyle) -> list:
    """The metro lines, each on a thin casing, clipped so they pass under the stop boxes.
    A clip path (the map less the boxes, even-odd) stays vector in PDF; a mask would be
    rasterised, at print resolution costing seconds and hundreds of MB per route map."""
    clip = SVG.clipPath(id=f"{ref}-clip", clipPathUnits="userSpaceOnUse")
    clip.add(SVG.path(d=_map_less(base, boxes), clip_rule="evenodd"))
    defs = svgwrite.container.Defs(debug=False)
    defs.add(clip)
    group = SVG.g(clip_path=f"url(#{ref}-clip)", class_="route-lines", fill="none", stroke_linejoin="round", stroke_linecap="round")
    for route, colour, dash in routes:
        points = [(_n(px), _n(py)) for px, py in route.path]
        group.add(SVG.polyline(points, stroke=style.casing, stroke_width=_n(style.line_width + 2 * style.casing_width)))
        group.add(_dashed(SVG.polyline(points, stroke=colour, stroke_width=_n(style.line_width), id=f"{ref}-{route.persona}"), dash))
    return [defs, group]


def _dashed(element, dash: str):
    if dash:
        element["stroke-dasharray"] = dash
    return element


def _outline(box: Station, colour: str, style: RouteStyle) -> svgwrite.shapes.Rect:
    return SVG.rect((_n(box.x), _n(box.y)), (_n(box.w), _n(box.h)), fill="none", stroke=colour,
                    stroke_width=_n(2 * style.casing_width), class_="route-stop")


def _badge(measure: TextMeasure, theme: Theme, style: RouteStyle, mark: Mark) -> svgwrite.container.Group:
    """A numbered circle; the number is centred from the font's metrics (dominant-baseline is
    treated differently by each renderer)."""
    (cx, cy), size = mark.at, style.number_size * PT
    baseline = cy + (measure.ascent(size, "bold") - measure.descent(size, "bold")) / 2
    g = SVG.g(class_="route-badge")
    g.add(SVG.circle((_n(cx), _n(cy)), _n(style.stop_radius), fill=mark.colour, stroke=style.casing, stroke_width=_n(style.casing_width)))
    g.add(SVG.text(mark.label, insert=(_n(cx), _n(baseline)), text_anchor="middle", font_family=theme.fonts.family,
                   font_size=_n(size), font_weight="bold", fill=style.station_fill))
    return g


def _swatch(style: RouteStyle, mark: Mark) -> svgwrite.container.Group:
    """A short piece of a persona's line, for the legend."""
    (cx, cy), half = mark.at, style.stop_radius
    ends = ((_n(cx - half), _n(cy)), (_n(cx + half), _n(cy)))
    g = SVG.g(class_="route-swatch")
    g.add(SVG.line(*ends, stroke=style.casing, stroke_width=_n(style.line_width + 2 * style.casing_width)))
    g.add(_dashed(SVG.line(*ends, stroke=mark.colour, stroke_width=_n(style.line_width)), mark.dash))
    return g


def _key_elements(theme: Theme, base: MapBase, key: Key) -> list:
    style = base.style
    elements: list = []
    for line in key.lines:
        font = {"bold": {"font_weight": "bold"}, "italic": {"font_style": "italic"}}.get(line.font, {})
        elements.append(SVG.text(line.text, insert=(_n(line.x), _n(line.y)), font_family=theme.fonts.family,
                                 font_size=_n(line.size), fill=style.timeline.ink, **font))
    for mark in key.marks:
        elements.append(_badge(base.measure, theme, style.route, mark) if mark.kind == "stop" else _swatch(style.route, mark))
    return elements


# The document, and its PNG preview.


def route_document(theme: Theme, base: MapBase, view: RouteView, map_: bool = True, route: bool = True) -> str:
    """The route view as one SVG: title and desc, the map in a nested <svg>, the overlay in a
    second one with the same viewport, the key beside them (or the `map_` or the `route` alone).
    The map, most of the document, is spliced in as MapBase serialised it: each view
    serialises only what it adds."""
    style = base.style.route
    x, y, w, h = base.box
    width, height = w + style.key_width + 2 * style.margin, max(h, view.key.bottom + style.margin - y)
    doc = svgwrite.Drawing(size=(f"{_n(width)}mm", f"{_n(height)}mm"), viewBox=f"{_n(x)} {_n(y)} {_n(width)} {_n(height)}", debug=False)
    root = doc.get_xml()
    # A graphics document: its title names it, its desc reads the journey; the map under the
    # veil and the drawn route are hidden from assistive technology, the key reads the stops in order.
    for name, value in (("xmlns:inkscape", INKSCAPE), ("xml:lang", theme.language), ("role", "graphics-document"),
                        ("aria-labelledby", f"{view.ref}-title"), ("aria-describedby", f"{view.ref}-desc")):
        root.set(name, value)
    for i, (tag, text) in enumerate((("title", view.title), ("desc", "\n".join(view.paragraphs)))):
        root.insert(i, ET.Element(tag, id=f"{view.ref}-{tag}"))
        root[i].text = text
    if base.fonts:
        ET.SubElement(root.find("defs"), "style").text = base.fonts
    if map_:
        ET.SubElement(root, "rect", x=_n(x), y=_n(y), width=_n(width), height=_n(height), fill=style.station_fill)
        ET.SubElement(root, MAP_SLOT)
    if route:
        overlay = ET.SubElement(root, "svg", dict(base.viewport), id=f"{view.ref}-overlay", **{"aria-hidden": "true"})
        overlay.extend(element.get_xml() for element in view.overlay)
        root.extend(element.get_xml() for element in _key_elements(theme, base, view.key))
    svg = ET.tostring(root, encoding="unicode").replace(f"<{MAP_SLOT} />", base.drawing, 1)  # text never holds a bare "<"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"


def route_png(theme: Theme, base: MapBase, view: RouteView, doc: str, width_px: int, font_dirs: Sequence[Path] = (),
              memo: Memo = NO_MEMO) -> bytes:
    """The PNG of `doc`, the view's route_document, as svg_to_png draws it (`font_dirs`: the
    fonts it is given; none: the embedded ones). A persona's view is composed from the map
    drawn plain and veiled, once for every view, and the regions its own ink covers (sprites.py)."""
    for_rsvg = without_fonts if font_dirs else str
    x, y, w, h = base.box
    if not view.ink or view.key.bottom + base.style.route.margin - y > h:  # a key taller than the map: no shared size
        return svg_to_png(for_rsvg(doc), width_px, font_dirs, memo)

    def compose() -> bytes:
        veil = dataclasses.replace(_bare(view), overlay=(_veil(base, [], base.style.route),))
        plain, veiled = (base.rasters.get(for_rsvg(svg), width_px, font_dirs, memo)
                         for svg in (_map_layer(theme, base, view), route_document(theme, base, veil)))
        scale = plain.width / (w + base.style.route.key_width + 2 * base.style.route.margin)
        rects = sprites.regions([(x0 - x, y0 - y, x1 - x, y1 - y) for x0, y0, x1, y1 in view.ink], scale, plain.size)
        size, places = sprites.pack(rects, plain.width)
        sprite = for_rsvg(_sprite(theme, base, view, rects, places, size, scale))
        return sprites.compose(plain, veiled, Image.open(io.BytesIO(svg_to_png(sprite, size[0], font_dirs))).convert("RGBA"), rects, places)

    return memo.get("route-png", compose, doc, *png_key(width_px, font_dirs))


def _bare(view: RouteView) -> RouteView:
    """A view of the same size that adds nothing to the map."""
    return dataclasses.replace(view, ref="base", title="", paragraphs=(), overlay=(), key=Key((), (), view.key.bottom), ink=(), badges=())


def _map_layer(theme: Theme, base: MapBase, view: RouteView) -> str:
    """The map alone at the size of `view`'s drawing: the same for every view of that size."""
    return route_document(theme, base, _bare(view), route=False)


def _sprite(theme: Theme, base: MapBase, view: RouteView, rects: Sequence[sprites.Rect], places: Sequence[tuple[int, int]],
            size: tuple[int, int], scale: float) -> str:
    """The view's overlay and key, without the map, in each of `rects` (px of the whole
    drawing) placed at `places` in a picture of `size` px: nested viewports aligned to whole
    pixels, so each piece is drawn as in the whole drawing. A piece draws the lines and the
    badges and key it meets (drawn in every piece, their text would cost most of the time)."""
    x, y = base.box[:2]
    root = ET.Element("svg", {"xmlns": SVG_NS, "xmlns:xlink": XLINK, "xmlns:inkscape": INKSCAPE, "xml:lang": theme.language,
                              "width": str(size[0]), "height": str(size[1]), "viewBox": f"0 0 {size[0]} {size[1]}"})
    defs = ET.SubElement(root, "defs")
    if base.fonts:
        ET.SubElement(defs, "style").text = base.fonts
    lines = len(view.overlay) - len(view.badges)
    ET.SubElement(defs, "g", id="sprite-lines").extend(element.get_xml() for element in view.overlay[:lines])
    for i, element in enumerate(view.overlay[lines:]):
        ET.SubElement(defs, "g", id=f"sprite-badge-{i}").append(element.get_xml())
    key = _key_parts(base, view.key)
    for i, element in enumerate(_key_elements(theme, base, view.key)):
        ET.SubElement(defs, "g", id=f"sprite-key-{i}").append(element.get_xml())
    for (left, top, right, bottom), (sx, sy) in zip(rects, places, strict=True):
        box = (x + left / scale, y + top / scale, (right - left) / scale, (bottom - top) / scale)
        piece = ET.SubElement(root, "svg", x=str(sx), y=str(sy), width=str(right - left), height=str(bottom - top),
                              viewBox=" ".join(repr(v) for v in box), preserveAspectRatio="none")
        meets = functools.partial(_meets, (box[0], box[1], box[0] + box[2], box[1] + box[3]), 2 / scale)
        overlay = ET.SubElement(piece, "svg", dict(base.viewport))
        ET.SubElement(overlay, "use", {"xlink:href": "#sprite-lines"})
        for i, badge in enumerate(view.badges):
            if meets(badge):
                ET.SubElement(overlay, "use", {"xlink:href": f"#sprite-badge-{i}"})
        for i, part in enumerate(key):
            if meets(part):
                ET.SubElement(piece, "use", {"xlink:href": f"#sprite-key-{i}"})
    return ET.tostring(root, encoding="unicode")


def _key_parts(base: MapBase, key: Key) -> list[Box]:
    """Boxes around _key_elements' elements, in order: each text line (a whole em above its
    baseline and half below, out to the page's edge) and each mark."""
    right = _key_box(base, key)[2]
    mark = _badge_reach(base.style.route)
    return [*((line.x - line.size, line.y - line.size, right, line.y + line.size / 2) for line in key.lines),
            *((m.at[0] - mark, m.at[1] - mark, m.at[0] + mark, m.at[1] + mark) for m in key.marks)]


def _badge_reach(style: RouteStyle) -> float:
    """How far a numbered badge's ink reaches from its centre: the number may stand out of the circle."""
    return style.stop_radius + style.casing_width + style.number_size * PT


def _meets(a: Box, pad: float, b: Box) -> bool:
    return a[0] < b[2] + pad and b[0] - pad < a[2] and a[1] < b[3] + pad and b[1] - pad < a[3]


def _hidden(drawing: ET.Element) -> ET.Element:
    """The map as a route view's background: hidden from assistive technology (it reads the
    key), its offer links out of the tab order (a focusable link may not hide)."""
    for name in ("role", "aria-labelledby", "aria-describedby"):
        drawing.attrib.pop(name, None)
    drawing.set("aria-hidden", "true")
    for link in drawing.iter("a"):
        link.set("tabindex", "-1")
    return drawing


def _plain(element: ET.Element) -> ET.Element:
    """The parsed map without ElementTree's namespace prefixes: it sits inside our root,
    which declares the SVG, xlink and Inkscape namespaces itself."""
    for node in element.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            node.tag = node.tag.split("}", 1)[1]
        for key in [k for k in node.attrib if k.startswith("{")]:
            ns, local = key[1:].split("}", 1)
            value = node.attrib.pop(key)
            if ns in FOREIGN_NS:
                node.set(f"{FOREIGN_NS[ns]}:{local}", value)
    return element


def _view_box(root: ET.Element) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in root.get("viewBox", "").replace(",", " ").split())
    return (x, y, w, h)


def _n(value: float) -> str:
    """A coordinate as text: at most two decimals, no trailing zeros, never '-0'."""
    text = f"{round(value, 2) + 0.0:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
