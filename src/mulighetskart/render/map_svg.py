"""The possibility map as SVG (svgwrite) and its PNG preview (librsvg), from layout/map.py.

Drawing only: every position comes from `layout_map`, every colour and size from the theme.
The SVG opens as named layers in Inkscape, Illustrator and Figma, keeps its text as text,
and carries subsets of the shipped fonts as WOFF2 in an @font-face rule, so browsers and
WeasyPrint draw it with exactly the fonts the layout was measured with (see docs/map.md).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import svgwrite

from ..colour import contrast
from ..content.convert import suggest
from ..content.model import Content
from ..errors import ContentError, Problem
from ..layout.map import Box, Connector, Frame, MapLayout, MapStyle, Swatch, TextBlock, date_text, layout_map
from ..layout.text import TextMeasure
from ..memo import NO_MEMO, Memo
from ..publish import Writer
from ..target import Job, Target, build_date
from ..theme import Theme
from .font_subsets import font_face_css
from .rasterise import svg_to_png

SVG_FILE = "mulighetskart.svg"
PNG_FILE = "mulighetskart.png"
MIN_PT = 7.0  # nothing smaller on the printed sheet
INKSCAPE = "http://www.inkscape.org/namespaces/inkscape"
LAYERS = ("background", "columns", "connectors", "offers", "labels", "legend")
MUTED_ROLES = {"summary", "actor", "meta", "subtitle", "category-summary", "legend"}


# --- the target ----------------------------------------------------------------------------------


def run(job: Job, out: Writer) -> None:
    style = map_style(job.theme)
    svg = map_svg(job.content, job.theme, date=job.date, memo=job.memo)
    out.write(SVG_FILE, svg)
    out.write(PNG_FILE, svg_to_png(svg, style.png_width, font_dirs=[job.theme.font_path("regular").parent], memo=job.memo))


def check(content: Content, theme: Theme) -> list[Problem]:
    return style_problems(map_style(theme), theme, content)


TARGET = Target(name="map", style=MapStyle, run=run, check=check)


def map_style(theme: Theme) -> MapStyle:
    """The theme's targets.map section (loaded for every target that `uses` the map)."""
    return theme.section("map")


def check_style(style: MapStyle, theme: Theme, content: Content) -> None:
    """For the contract functions, which other targets call: the build has checked already."""
    if problems := style_problems(style, theme, content):
        raise ContentError(problems)


def style_problems(style: MapStyle, theme: Theme, content: Content) -> list[Problem]:
    """Looks the loader cannot judge alone: readable sizes, known colour tokens, enough contrast."""
    problems = []
    for name, pt in vars(style.sizes).items():
        if name != "loc" and pt < MIN_PT - 1e-9:  # A2 keeps the A3 sizes: more room, same reading distance
            problems.append(Problem(style.sizes.loc.of(name), f"{name} is {pt:g} pt; nothing on the map may be smaller than {MIN_PT:g} pt"))
    for name, ref in vars(style.colours).items():
        if name != "loc" and not ref.startswith("#") and ref not in theme.colours:
            problems.append(Problem(style.colours.loc.of(name), f"unknown colour token '{ref}'", f"use #rrggbb or one of: {', '.join(sorted(theme.colours))}"))
    problems += _unknown_ids(style, content)
    if not problems:
        palette = Palette.of(style, theme, content)
        for fg_name, bg_name, fg, bg in palette.text_pairs():
            ratio = contrast(fg, bg)
            if ratio < 4.5:
                problems.append(Problem(style.colours.loc.of(fg_name if fg_name in vars(style.colours) else "text"),
                                        f"text colour {fg} on {bg_name} ({bg}) has contrast {ratio:.2f}:1; it must be at least 4.5:1"))
    return problems


def _unknown_ids(style: MapStyle, content: Content) -> list[Problem]:
    """Ids the theme steers by must exist, so a typo does not silently do nothing."""
    known = {"category": {c.id for c in content.categories}, "offer": {o.id for o in content.offers}, "actor": {a.id for a in content.actors}}
    uses = [("lane_order", "category", style.lane_order, style.loc), ("weights", "category", style.weights, style.loc),
            ("order", "offer", style.order, style.loc), ("actor_colours", "actor", style.actor_colours, style.loc),
            ("categories", "category", style.connectors.categories, style.connectors.loc)]
    problems = []
    for field_name, kind, ids, loc in uses:
        for unknown in sorted(set(ids) - known[kind]):
            hint = suggest(unknown, known[kind])
            problems.append(Problem(loc.of(field_name), f"unknown {kind} '{unknown}' in {field_name}", hint))
    return problems


# --- colours -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    """Every colour the map uses, resolved from theme tokens."""

    page: str
    text: str
    muted: str
    box: str
    box_stroke: str
    programme: str
    programme_line: str
    on_programme: str
    goal: str
    on_goal: str
    categories: dict[str, str]
    backdrops: tuple[str, ...]  # categories drawn as an area that text sits on
    actor_kinds: dict[str, str]
    actors: dict[str, str]
    connector: str

    @classmethod
    def of(cls, style: MapStyle, theme: Theme, content: Content) -> Palette:
        def resolve(ref: str) -> str:
            return ref if ref.startswith("#") else theme.colours[ref]

        named = {k: resolve(v) for k, v in vars(style.colours).items() if k != "loc"}
        cats = {c.id: theme.colours.get(c.colour, named["page"]) for c in content.categories}
        backdrops = tuple(sorted(c.id for c in content.categories if c.zone != "programme"))
        return cls(**named, categories=cats, backdrops=backdrops, actor_kinds=dict(style.actor_kinds),
                   actors=dict(style.actor_colours), connector=style.connectors.colour)

    def marker(self, ref: str) -> str:
        """A marker's colour: `actor:<id>` for one actor, else a kind of actor."""
        if ref.startswith("actor:"):
            return self.actors.get(ref.removeprefix("actor:"), self.text)
        return self.actor_kinds.get(ref, self.text)

    def background(self, on: str) -> str:
        if on.startswith("category:"):
            return self.categories[on.split(":", 1)[1]]
        return {"box": self.box, "programme": self.programme, "goal": self.goal}.get(on, self.page)

    def fill(self, block: TextBlock) -> str:
        if block.on == "programme":
            return self.on_programme
        if block.on == "goal":
            return self.on_goal
        return self.muted if block.role in MUTED_ROLES else self.text

    def text_pairs(self) -> list[tuple[str, str, str, str]]:
        """(text colour name, background name, text colour, background) for every pairing drawn."""
        pairs = [("text", "page", self.text, self.page), ("muted", "page", self.muted, self.page),
                 ("text", "box", self.text, self.box), ("muted", "box", self.muted, self.box),
                 ("on_programme", "programme", self.on_programme, self.programme), ("on_goal", "goal", self.on_goal, self.goal)]
        for cid in self.backdrops:
            colour = self.categories[cid]
            pairs += [("text", f"category {cid}", self.text, colour), ("muted", f"category {cid}", self.muted, colour)]
        return pairs


# --- the SVG document ------------------------------------------------------------------------------


def map_svg(content: Content, theme: Theme, *, date: dt.date | None = None, href: str | None = None, memo: Memo = NO_MEMO) -> str:
    """The whole map as an SVG document.

    `href` overrides the theme's link pattern (e.g. "#offer-{id}" inside the handbook);
    `date` defaults to the build date (SOURCE_DATE_EPOCH or the guide's `updated`); `memo`
    keeps the font subsets.
    """
    style = map_style(theme)
    check_style(style, theme, content)
    measure = TextMeasure.from_theme(theme)
    layout = layout_map(content, style, measure, date or build_date(content))
    return render_svg(layout, content, theme, style, href or style.offer_href, date or build_date(content), memo)


def render_svg(layout: MapLayout, content: Content, theme: Theme, style: MapStyle, href: str, date: dt.date, memo: Memo = NO_MEMO) -> str:
    palette = Palette.of(style, theme, content)
    dwg = svgwrite.Drawing(size=(f"{_n(layout.width)}mm", f"{_n(layout.height)}mm"), viewBox=f"0 0 {_n(layout.width)} {_n(layout.height)}",
                           profile="full", debug=False)
    dwg.attribs.update({"xmlns:inkscape": INKSCAPE, "xml:lang": "nb", "lang": "nb", "font-family": f"{theme.fonts.family}, sans-serif"})
    dwg.set_desc(f"{style.text.title} – {content.guide.title}", map_description(content, style, date))
    if style.embed_fonts:
        dwg.defs.add(dwg.style(font_face_css(theme, used_text(layout), memo)))
    dwg.defs.add(_arrow_marker(dwg, style, palette))
    layers = {name: _layer(dwg, name) for name in LAYERS}
    layers["background"].add(dwg.rect((0, 0), (_n(layout.width), _n(layout.height)), fill=palette.page))
    _draw_areas(dwg, layers["columns"], layout, style, palette)
    for conn in layout.connectors:
        layers["connectors"].add(_connector(dwg, conn, style))
    frames = {f.offer: f for f in layout.frames}
    for box in layout.all_boxes():
        layers["offers"].add(_box(dwg, box, frames.get(box.id), content, style, palette, href))
    for block in layout.labels:
        target = layers["legend"] if block.role.startswith("legend") else layers["labels"]
        target.add(_text(dwg, block, palette.fill(block)))
    for swatch in layout.swatches:
        layers["legend"].add(_swatch(dwg, swatch, style, palette))
    for name in LAYERS:
        dwg.add(layers[name])
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _one_element_per_line(dwg.tostring()) + "\n"


def _one_element_per_line(svg: str) -> str:
    """Line breaks between elements (never inside a <text>), so diffs and golden files stay readable."""
    return re.sub(r"(</(?:g|a|text|title|desc|defs|marker|style)>|/>|<(?:svg|g|a|defs|marker)\b[^>]*[^/]>)(?=<)", "\\1\n", svg)


def _n(v: float) -> str:
    """Numbers to 1/100 mm, without trailing zeros: short and stable output."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _layer(dwg, name: str):
    g = dwg.g(id=name)
    g.attribs["inkscape:groupmode"] = "layer"
    g.attribs["inkscape:label"] = name
    return g


def map_description(content: Content, style: MapStyle, date: dt.date) -> str:
    """The root <desc>: what the map shows, zone by zone, for screen readers and search."""
    lanes = [c for c in content.categories if c.zone == "lane"]
    parts = [style.text.desc.format(offers=len(content.offers), lanes=len(lanes)), style.text.reading]
    for cat in content.categories:
        offers = [o.title for o in content.offers if o.category == cat.id]
        if cat.zone == "livelihood":
            offers += [f.title for f in content.financing]
        if offers:
            parts.append(f"{cat.title}: {', '.join(offers)}.")
    goals = ", ".join(g.title for g in content.guide.goals)
    if goals:
        parts.append(f"{style.text.goal}: {goals}.")
    parts.append(f"{content.guide.edition}, {style.text.updated.lower()} {date_text(date, style.text.months)}.")
    return " ".join(parts)


# --- pieces -----------------------------------------------------------------------------------------


def _draw_areas(dwg, layer, layout: MapLayout, style: MapStyle, palette: Palette) -> None:
    r = style.corner_radius
    for area in layout.areas:
        if area.kind == "zone":
            continue  # zones are read from their labels and contents, not a fill
        fill = palette.categories.get(area.category, palette.page)
        rect = area.rect
        if area.shape == "chevron":
            tip = style.chevron
            points = [(rect.x, rect.y), (rect.right, rect.y), (rect.right + tip, rect.cy), (rect.right, rect.bottom), (rect.x, rect.bottom)]
            layer.add(dwg.polygon([(_n(x), _n(y)) for x, y in points], fill=fill, id=f"area-{area.id}"))
        else:
            layer.add(dwg.rect((_n(rect.x), _n(rect.y)), (_n(rect.w), _n(rect.h)), rx=_n(r), fill=fill, id=f"area-{area.id}"))


def _box(dwg, box: Box, frame: Frame | None, content: Content, style: MapStyle, palette: Palette, href: str):
    group = dwg.g(id=box.id if box.kind in ("financing", "goal") else f"offer-{box.id}")
    group.set_desc(*_box_title(box, content))
    r = _n(style.corner_radius)
    if box.kind == "programme":
        _frame_shapes(dwg, group, frame, palette, style)
    else:
        fill, stroke = (palette.goal, "none") if box.kind == "goal" else (palette.box, palette.box_stroke)
        group.add(dwg.rect((_n(box.x), _n(box.y)), (_n(box.w), _n(box.h)), rx=r, fill=fill, stroke=stroke, stroke_width="0.25"))
    for block in box.texts:
        group.add(_text(dwg, block, palette.fill(block)))
    for mark in box.marks:
        group.add(dwg.circle((_n(mark.cx), _n(mark.cy)), _n(mark.r), fill=palette.marker(f"actor:{mark.actor}" if mark.actor in palette.actors else mark.kind)))
        group.add(_text(dwg, mark.label, palette.fill(mark.label)))
    if box.kind not in ("offer", "programme"):
        return group
    link = dwg.a(href=href.format(id=box.id))
    link.attribs["href"] = link.attribs["xlink:href"]
    link.attribs.pop("target", None)
    link.add(group)
    return link


def _box_title(box: Box, content: Content) -> tuple[str, str]:
    """The box's own <title> and <desc>: the full title and the summary."""
    if box.kind in ("offer", "programme"):
        item = content.offer(box.id)
    elif box.kind == "financing":
        item = content.financing_item(box.id.removeprefix("financing-"))
    else:
        item = next(g for g in content.guide.goals if f"goal-{g.id}" == box.id)
    return item.title, item.summary


def _frame_shapes(dwg, group, frame: Frame, palette: Palette, style: MapStyle) -> None:
    r = _n(style.corner_radius)
    for seg in frame.segments:
        group.add(dwg.rect((_n(seg.x), _n(seg.y)), (_n(seg.w), _n(seg.h)), rx=r, fill=palette.programme, stroke=palette.programme_line, stroke_width="0.5"))
    for a, b in zip(frame.segments, frame.segments[1:], strict=False):
        if frame.rotated:
            start, end = (a.cx, a.bottom), (b.cx, b.y)
        else:
            start, end = (a.right, a.cy), (b.x, b.cy)
        group.add(dwg.line((_n(start[0]), _n(start[1])), (_n(end[0]), _n(end[1])), stroke=palette.programme_line, stroke_width="0.5", stroke_dasharray="1.2 1"))


def _text(dwg, block: TextBlock, fill: str):
    """One <text> per block, a <tspan> per line; rotated blocks turn about their bottom-left corner."""
    attrs = {"font_size": _n(block.size), "fill": fill}
    if block.style.startswith("bold"):
        attrs["font_weight"] = "bold"
    if block.style.endswith("italic"):
        attrs["font_style"] = "italic"
    if block.anchor != "start":
        attrs["text_anchor"] = block.anchor
    if block.rotate:
        attrs["transform"] = f"translate({_n(block.rect.x)} {_n(block.rect.bottom)}) rotate({block.rotate})"
        x0, top = 0.0, 0.0
    else:
        x0 = {"start": block.rect.x, "middle": block.rect.cx, "end": block.rect.right}[block.anchor]
        top = block.rect.y
    text = dwg.text("", **attrs)
    for i, line in enumerate(block.lines):
        text.add(dwg.tspan(line, x=[_n(x0)], y=[_n(top + block.ascent + i * block.pitch)]))
    return text


def _arrow_marker(dwg, style: MapStyle, palette: Palette):
    a = style.connectors.arrow
    marker = dwg.marker(id="arrow", insert=(_n(a), _n(a / 2)), size=(_n(a), _n(a)), orient="auto", markerUnits="userSpaceOnUse")
    marker.add(dwg.path(d=f"M0,0 L{_n(a)},{_n(a / 2)} L0,{_n(a)} z", fill=palette.connector))
    return marker


def _connector(dwg, conn: Connector, style: MapStyle):
    path = dwg.path(d=rounded_path(conn.points, style.connectors.corner), fill="none", stroke=style.connectors.colour,
                    stroke_width=_n(style.connectors.width), stroke_linejoin="round", id=f"leads-{conn.source}-{conn.target}")
    path.attribs["marker-end"] = "url(#arrow)"
    return path


def rounded_path(points: tuple[tuple[float, float], ...], radius: float) -> str:
    """An orthogonal polyline with its bends rounded off (quadratic curves)."""
    d = [f"M{_n(points[0][0])},{_n(points[0][1])}"]
    for prev, here, nxt in zip(points, points[1:], points[2:], strict=False):
        r = min(radius, _dist(prev, here) / 2, _dist(here, nxt) / 2)
        a = _towards(here, prev, r)
        b = _towards(here, nxt, r)
        d.append(f"L{_n(a[0])},{_n(a[1])} Q{_n(here[0])},{_n(here[1])} {_n(b[0])},{_n(b[1])}")
    d.append(f"L{_n(points[-1][0])},{_n(points[-1][1])}")
    return " ".join(d)


def _dist(a, b) -> float:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def _towards(origin, target, r: float):
    d = _dist(origin, target) or 1.0
    return (origin[0] + (target[0] - origin[0]) * r / d, origin[1] + (target[1] - origin[1]) * r / d)


def _swatch(dwg, swatch: Swatch, style: MapStyle, palette: Palette):
    r = swatch.rect
    if swatch.kind == "dot":
        return dwg.circle((_n(r.cx), _n(r.cy)), _n(r.w / 2), fill=palette.marker(swatch.ref))
    if swatch.kind in ("fill", "goal"):
        fill = palette.goal if swatch.kind == "goal" else palette.categories.get(swatch.ref, palette.page)
        return dwg.rect((_n(r.x), _n(r.y)), (_n(r.w), _n(r.h)), rx="0.4", fill=fill, stroke=palette.box_stroke, stroke_width="0.2")
    if swatch.kind == "stack":  # one thin stripe per lane colour
        ids = swatch.ref.split()
        group = dwg.g()
        for i, cid in enumerate(ids):
            group.add(dwg.rect((_n(r.x), _n(r.y + i * r.h / len(ids))), (_n(r.w), _n(r.h / len(ids))), fill=palette.categories.get(cid, palette.page)))
        group.add(dwg.rect((_n(r.x), _n(r.y)), (_n(r.w), _n(r.h)), rx="0.4", fill="none", stroke=palette.box_stroke, stroke_width="0.2"))
        return group
    if swatch.kind == "frame":
        return dwg.rect((_n(r.x), _n(r.y)), (_n(r.w), _n(r.h)), rx="0.6", fill=palette.programme, stroke=palette.programme_line, stroke_width="0.35")
    line = dwg.line((_n(r.x), _n(r.cy)), (_n(r.right), _n(r.cy)), stroke=style.connectors.colour, stroke_width=_n(style.connectors.width))
    line.attribs["marker-end"] = "url(#arrow)"
    return line


# --- fonts --------------------------------------------------------------------------------------------


def used_text(layout: MapLayout) -> dict[str, str]:
    """Characters drawn per font style (for the font subsets)."""
    blocks = [*layout.labels, *(t for b in layout.all_boxes() for t in b.texts), *(m.label for b in layout.all_boxes() for m in b.marks)]
    chars: dict[str, set[str]] = {}
    for block in blocks:
        chars.setdefault(block.style, set()).update("".join(block.lines))
    return {style: "".join(sorted(c)) for style, c in sorted(chars.items())}
