"""Geometry of the possibility map, computed from content alone: no drawing, no I/O.

The sheet reads left to right: the start zone, then the parallel categories (as lanes
stacked between start and goal, or as columns side by side), then the goal zone. Programmes
are frames beside the lanes (above the columns) they can hold offers from; livelihood is a
band along the bottom next to the legend.

Stability: every category gets a fixed share of the sheet (theme `weights`), and its
offers flow inside that share. Adding an offer therefore only moves boxes of its own
category, unless the category runs out of room and has to grow.

All lengths are millimetres on the sheet; type sizes come from the theme in points.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from ..content.fields import Doc, Loc, located
from ..content.model import Category, Content, Offer
from ..errors import Problem
from ..theme import Colour
from .connectors import Grid, ports, simplify, transitive_reduction
from .geometry import EPS, Rect
from .text import TextMeasure

PT = 25.4 / 72  # mm per point
PAPERS = {"A3": (420.0, 297.0), "A2": (594.0, 420.0), "A1": (841.0, 594.0), "A0": (1189.0, 841.0)}  # ISO 216, landscape
TIGHT = 0.6  # spacing of the second try, as a share of the theme's
SHRINK_STEP = 0.05  # each further try draws everything this much smaller, down to min_text

Mm = Annotated[float, Doc("millimetres")]
Pt = Annotated[float, Doc("points")]
ColourRef = Annotated[str, Doc("a colour token from `colours:` or #rrggbb")]


# --- the theme section: targets.map ------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    title: Pt
    subtitle: Pt
    meta: Pt
    note: Pt
    zone: Pt
    category: Pt
    category_summary: Pt
    group: Pt
    offer: Pt
    summary: Pt
    actor: Pt
    goal: Pt
    legend: Pt
    legend_title: Pt
    loc: Loc = located()


@dataclass(frozen=True)
class MapColours:
    page: ColourRef
    text: ColourRef
    muted: ColourRef
    box: ColourRef
    box_stroke: ColourRef
    programme: ColourRef
    programme_line: ColourRef
    on_programme: ColourRef
    goal: ColourRef
    on_goal: ColourRef
    loc: Loc = located()


@dataclass(frozen=True)
class ConnectorStyle:
    show: Annotated[bool, Doc("draw leads_to connectors at all")]
    categories: Annotated[tuple[str, ...], Doc("draw leads_to between offers of categories with these colour tokens; empty = all")]
    reduce: Annotated[bool, Doc("leave out a→c when a→b→c is drawn (fewer lines, same reachability)")]
    which: Annotated[Literal["all", "rising", "across"], Doc(
        "all leads_to; rising: only up a level or into another category; across: only into another category")]
    colour: Colour
    width: Mm
    corner: Annotated[float, Doc("radius of the rounded bends, mm")]
    arrow: Annotated[float, Doc("arrowhead length, mm")]
    loc: Loc = located()


@dataclass(frozen=True)
class MapText:
    title: str
    reading: str
    start: str
    goal: str
    legend: str
    actors: str
    lines: str
    leads_to: str
    programme: str
    colours: str
    zone_start: str
    zone_lanes: str
    zone_livelihood: str
    zone_goal: str
    updated: str
    desc: Annotated[str, Doc("root <desc>; {title}, {offers} and {lanes} are filled in")]
    months: tuple[str, ...]
    actor_kinds: dict[str, str]
    date: Annotated[str, Doc("how a date is written, with {day}, {month} and {year}")] = "{day}. {month} {year}"
    loc: Loc = located()


@dataclass(frozen=True)
class MapStyle:
    """targets.map in layouts/theme.yaml."""

    arrangement: Literal["lanes", "columns"]
    paper: Annotated[Literal["A3", "A2", "A1", "A0"], Doc("the sheet; the layout adapts inside it or the build says which paper it needs")]
    embed_fonts: bool
    png_width: int
    margin: Mm
    zone_gap: Mm
    lane_gap: Mm
    gap: Mm
    group_gap: Mm
    padding: Mm
    corner_radius: Mm
    box_width: Mm
    box_max_width: Mm
    box_min_height: Mm
    start_width: Mm
    goal_width: Mm
    programme_width: Mm
    lane_label_width: Mm
    livelihood_box_width: Mm
    chevron: Mm
    line_height: float
    summary_lines: Annotated[int, Doc("an offer's map text may take at most this many lines in the narrowest box (checked)")]
    category_lines: Annotated[int, Doc("a category's map text may take at most this many lines beside its lane (checked)")]
    min_text: Annotated[float, Doc("pt: the layout may draw text smaller to keep its paper, never below this")]
    lane_order: tuple[str, ...]
    weights: dict[str, float]
    order: dict[str, int]
    sizes: Sizes
    colours: MapColours
    actor_kinds: Annotated[dict[str, Colour], Doc("marker colour per kind of actor (stat, kommune, …)")]
    actor_colours: Annotated[dict[str, Colour], Doc("marker colour for one actor by id, overriding its kind's")]
    connectors: ConnectorStyle
    text: MapText
    titles_only: Annotated[bool, Doc("offer boxes show their titles only (route maps set this)")] = False
    loc: Loc = located()


# --- geometry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextBlock:
    """Lines of text and the box they take on the sheet.

    `role` says what the text is (offer, summary, category, …) and `on` what it sits on
    (box, paper, category:<id>, programme, goal); the renderer turns both into colours.
    A rotated block (rotate=-90) reads bottom to top; `rect` is its box on the sheet.
    """

    rect: Rect
    lines: tuple[str, ...]
    size: float  # mm
    style: str
    role: str
    on: str
    pitch: float  # baseline to baseline, mm
    ascent: float  # block top to the first baseline, mm
    anchor: Literal["start", "middle", "end"] = "start"
    rotate: int = 0


@dataclass(frozen=True)
class Mark:
    """An actor marker: a dot in the colour of the actor's kind, then the actor's short name."""

    actor: str
    kind: str
    cx: float
    cy: float
    r: float
    label: TextBlock


@dataclass(frozen=True)
class Box:
    """An offer, a programme frame, a livelihood item or a goal: a rectangle holding text."""

    id: str
    kind: Literal["offer", "programme", "financing", "goal"]
    rect: Rect
    texts: tuple[TextBlock, ...]
    marks: tuple[Mark, ...]
    category: str

    x = property(lambda self: self.rect.x)
    y = property(lambda self: self.rect.y)
    w = property(lambda self: self.rect.w)
    h = property(lambda self: self.rect.h)


@dataclass(frozen=True)
class Area:
    """A coloured background region: a zone, a lane or column, a start section, the livelihood band."""

    id: str
    kind: Literal["zone", "lane", "column", "section", "band"]
    rect: Rect
    category: str
    shape: Literal["rect", "chevron"] = "rect"


@dataclass(frozen=True)
class Lane:
    """A parallel category: its area, its title and the sub-area of each group."""

    category: str
    rect: Rect
    groups: tuple[tuple[str, Rect], ...]


@dataclass(frozen=True)
class Frame:
    """A programme frame: the solid segments beside (above) the lanes (columns) it holds."""

    offer: str
    holds: tuple[str, ...]
    segments: tuple[Rect, ...]
    track: int
    rotated: bool


@dataclass(frozen=True)
class Swatch:
    """A sample drawn in the legend."""

    kind: Literal["dot", "fill", "stack", "goal", "arrow", "frame"]
    rect: Rect
    ref: str  # actor kind or category id(s), space-separated for a stack


@dataclass(frozen=True)
class Connector:
    source: str
    target: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class MapLayout:
    width: float
    height: float
    paper: str
    fits: bool  # False when content needed more than the paper; the sheet then grows
    areas: tuple[Area, ...]
    lanes: tuple[Lane, ...]
    boxes: Mapping[str, Box]  # every offer (programmes too) by offer id
    extras: tuple[Box, ...]  # livelihood items and goals
    frames: tuple[Frame, ...]
    labels: tuple[TextBlock, ...]  # every text that is not inside a box
    swatches: tuple[Swatch, ...]
    connectors: tuple[Connector, ...]
    unrouted: tuple[tuple[str, str], ...] = ()
    scale: float = 1.0  # type sizes and spacing as a share of the theme's, to keep the paper
    gap: float = 0.0  # the gutter between boxes, as laid out

    def all_boxes(self) -> tuple[Box, ...]:
        return (*self.boxes.values(), *self.extras)


# --- the layout ------------------------------------------------------------------------------


@dataclass
class _Parts:
    """What the layout has placed so far (private, mutable while building; frozen at the end)."""

    areas: list[Area] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    boxes: dict[str, Box] = field(default_factory=dict)
    extras: list[Box] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    labels: list[TextBlock] = field(default_factory=list)
    swatches: list[Swatch] = field(default_factory=list)

    def add(self, other: _Parts, dx: float = 0.0, dy: float = 0.0) -> None:
        self.areas += [_shift(a, dx, dy) for a in other.areas]
        self.lanes += [_shift(a, dx, dy) for a in other.lanes]
        self.boxes.update({k: _shift(b, dx, dy) for k, b in other.boxes.items()})
        self.extras += [_shift(b, dx, dy) for b in other.extras]
        self.frames += [_shift(f, dx, dy) for f in other.frames]
        self.labels += [_shift(t, dx, dy) for t in other.labels]
        self.swatches += [_shift(s, dx, dy) for s in other.swatches]


_GEOMETRY_FIELDS = ("rect", "texts", "marks", "segments", "groups")


def _shift(item, dx: float, dy: float):
    """Move any geometry value (and everything inside it) by dx, dy."""
    if dx == 0 and dy == 0:
        return item
    if isinstance(item, Rect):
        return item.shift(dx, dy)
    if isinstance(item, tuple):
        if len(item) == 2 and all(isinstance(v, float | int) for v in item):
            return (item[0] + dx, item[1] + dy)
        return tuple(_shift(v, dx, dy) for v in item)
    if isinstance(item, Mark):
        return dataclasses.replace(item, cx=item.cx + dx, cy=item.cy + dy, label=_shift(item.label, dx, dy))
    if dataclasses.is_dataclass(item):
        changes = {f.name: _shift(getattr(item, f.name), dx, dy) for f in dataclasses.fields(item) if f.name in _GEOMETRY_FIELDS}
        return dataclasses.replace(item, **changes)
    return item


@dataclass(frozen=True)
class _Ctx:
    content: Content
    style: MapStyle
    measure: TextMeasure
    boxes: dict = field(default_factory=dict, compare=False)  # offer boxes by (id, width, lines): lanes try many sizes

    def size(self, name: str) -> float:
        return getattr(self.style.sizes, name) * PT

    def text(self, text: str, x: float, y: float, width: float, size: str, role: str, on: str, *,
             bold: bool = False, anchor: str = "start") -> TextBlock | None:
        """A wrapped text block with its top-left (or top-centre/top-right for anchors) at x, y:
        always the whole text (what does not fit is a content error, see map_text_problems)."""
        mm = self.size(size)
        style = "bold" if bold else "regular"
        lines = self.measure.wrap(text, width, mm, style)
        if not lines:
            return None
        return self.block(lines, x, y, mm, style, role, on, anchor)

    def block(self, lines: tuple[str, ...], x: float, y: float, mm: float, style: str, role: str, on: str, anchor: str = "start") -> TextBlock:
        w = max(self.measure.width(line, mm, style) for line in lines)
        h = self.measure.block_height(len(lines), mm, self.style.line_height, style)
        left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
        return TextBlock(Rect(left, y, w, h), lines, mm, style, role, on, mm * self.style.line_height, self.measure.ascent(mm, style), anchor)



def layout_map(content: Content, style: MapStyle, measure: TextMeasure, date: dt.date | None = None,
               sheet: tuple[float, float] | None = None, tighten: bool = True) -> MapLayout:
    """The whole map's geometry on the theme's paper (or `sheet`, w × h mm).

    The layout keeps its paper: when the content needs more room it tightens the spacing, then
    draws everything smaller step by step down to `min_text`. If even that does not fit, the
    last try comes back with `fits` False and a larger sheet (see needed_paper). Without
    `tighten` the gutters keep their width (route maps need them for the lines)."""
    layout = None
    for scale, tried in fit_styles(style, tighten):
        layout = _layout(content, tried, measure, date, sheet or PAPERS[style.paper], scale)
        if layout.fits:
            break
    return layout


def smallest_size(style: MapStyle) -> float:
    """The smallest type size the theme sets for the map, in pt."""
    return min(v for k, v in vars(style.sizes).items() if k != "loc")


def fit_styles(style: MapStyle, tighten: bool = True) -> list[tuple[float, MapStyle]]:
    """(scale, style) of the tries, in order: as designed; spacing tightened; then smaller and smaller."""
    smallest = smallest_size(style)
    k_min = min(1.0, style.min_text / smallest)
    ks, k = [], 1.0 - SHRINK_STEP
    while k > k_min + EPS:
        ks.append(k)
        k -= SHRINK_STEP
    tight = _spaced(style, TIGHT) if tighten else style
    return [(1.0, style), *([(1.0, tight)] if tighten else []), *((k, _scaled(tight, k)) for k in [*ks, k_min] if k < 1.0 - EPS)]


_SPACING = ("gap", "lane_gap", "group_gap", "zone_gap", "padding")
_LENGTHS = ("box_width", "box_max_width", "box_min_height", "start_width", "goal_width", "programme_width",
            "lane_label_width", "livelihood_box_width", "chevron", "corner_radius")


def _spaced(style: MapStyle, k: float) -> MapStyle:
    return dataclasses.replace(style, **{name: getattr(style, name) * k for name in _SPACING})


def _scaled(style: MapStyle, k: float) -> MapStyle:
    """Everything drawn k times the size: text wraps into exactly the same lines, so a map text
    that fits its box at the theme's size fits at every scale."""
    sizes = dataclasses.replace(style.sizes, **{f.name: getattr(style.sizes, f.name) * k for f in dataclasses.fields(style.sizes) if f.name != "loc"})
    lengths = {name: getattr(style, name) * k for name in (*_SPACING, *_LENGTHS)}
    return dataclasses.replace(style, sizes=sizes, **lengths)


def needed_paper(content: Content, style: MapStyle, measure: TextMeasure, date: dt.date | None = None) -> str | None:
    """The smallest paper that holds the map (with the theme's smallest text at least), or None."""
    area = PAPERS[style.paper][0] * PAPERS[style.paper][1]
    larger = [name for name, (w, h) in PAPERS.items() if w * h > area]
    return next((name for name in larger if layout_map(content, dataclasses.replace(style, paper=name), measure, date).fits), None)


def map_text_problems(content: Content, style: MapStyle, measure: TextMeasure) -> list[Problem]:
    """Map texts longer than their box holds at the theme's sizes, located at their source line.

    An offer's text must fit `summary_lines` lines of the narrowest offer box, a category's
    `category_lines` lines of its label beside the lane: the map shows every text whole."""
    p = style.padding
    narrowest = min(style.box_width, style.livelihood_box_width) - 2 * p
    items = [(o, narrowest, style.summary_lines, style.sizes.summary) for o in content.offers]
    items += [(c, style.lane_label_width - 2 * p, style.category_lines, style.sizes.category_summary) for c in content.categories]
    problems = []
    for item, width, allowed, size in items:
        lines = measure.wrap(" ".join(item.map_summary.split()), width, size * PT)
        if len(lines) > allowed:
            over = math.ceil(measure.width(" ".join(lines[allowed:]), size * PT))
            fit = len(" ".join(lines[:allowed]))
            field_name = "map_text" if item.map_text else "summary"
            hint = "shorten map_text" if item.map_text else "add a shorter map_text: the summary is too long for the map"
            problems.append(Problem(item.loc.of(field_name), f"map text is {over} mm too long for its box (about {fit} characters fit)", hint))
    return problems


def _layout(content: Content, style: MapStyle, measure: TextMeasure, date: dt.date | None, paper: tuple[float, float], scale: float) -> MapLayout:
    ctx = _Ctx(content, style, measure)
    width, height = paper
    m = style.margin
    parts = _Parts()
    head = _title_block(ctx, width, date or content.guide.updated)
    parts.add(head)
    top = _bottom_of(head) + style.zone_gap
    bottom = _bottom_row(ctx, width)
    bottom_h = _bottom_of(bottom)
    mid_bottom = height - m - bottom_h - style.zone_gap
    middle = _middle(ctx, width, top, mid_bottom)
    parts.add(middle)
    needed_bottom = max([mid_bottom, *(a.rect.bottom for a in middle.areas)])
    parts.add(bottom, 0, needed_bottom + style.zone_gap)
    sheet_h = max(height, _up(needed_bottom + style.zone_gap + bottom_h + m))
    sheet_w = max(width, _up(max(r.right for r in _rects(parts) + [b.rect for b in parts.boxes.values()]) + m))
    connectors, unrouted = _connectors(ctx, parts, sheet_w, sheet_h)
    return MapLayout(
        width=sheet_w, height=sheet_h, paper=style.paper,
        fits=(sheet_w, sheet_h) == (width, height),
        areas=tuple(parts.areas), lanes=tuple(parts.lanes), boxes=dict(sorted(parts.boxes.items())),
        extras=tuple(parts.extras), frames=tuple(parts.frames), labels=tuple(parts.labels),
        swatches=tuple(parts.swatches), connectors=connectors, unrouted=unrouted,
        scale=round(scale, 4), gap=style.gap,
    )


def _up(length: float) -> float:
    """Up to the next 1/100 mm, ignoring float noise, so a sheet that fits keeps its paper size."""
    return math.ceil(length * 100 - 1e-6) / 100


def _bottom_of(parts: _Parts) -> float:
    rects = [a.rect for a in parts.areas] + [t.rect for t in parts.labels] + [b.rect for b in parts.extras] + [s.rect for s in parts.swatches]
    return max((r.bottom for r in rects), default=0.0)


# --- title block -------------------------------------------------------------------------------


def date_text(date: dt.date, months: tuple[str, ...], pattern: str = "{day}. {month} {year}") -> str:
    """'26. november 2026' (or as `pattern` has it)."""
    return pattern.format(day=date.day, month=months[date.month - 1], year=date.year)


def _title_block(ctx: _Ctx, width: float, date: dt.date) -> _Parts:
    """Title, subtitle and reading hint on the left; the legend; edition, date and publisher on the right."""
    s, g = ctx.style, ctx.content.guide
    m = s.margin
    parts = _Parts()
    meta_lines = (g.edition, f"{s.text.updated} {date_text(date, s.text.months, s.text.date)}", g.publisher)
    meta = ctx.block(meta_lines, width - m, m, ctx.size("meta"), "regular", "meta", "paper", anchor="end")
    legend = _legend(ctx)
    legend_w = max((r.right for r in _rects(legend)), default=0.0)
    legend_x = meta.rect.x - 8.0 - legend_w
    left_w = max(legend_x - 8.0 - m, 100.0)
    title = ctx.text(s.text.title, m, m, left_w, "title", "title", "paper", bold=True)
    y = title.rect.bottom + 0.8
    sub = ctx.text(f"{g.title}: {g.subtitle}", m, y, left_w, "subtitle", "subtitle", "paper")
    y = sub.rect.bottom + 0.8
    note = ctx.text(s.text.reading, m, y, left_w, "note", "note", "paper")
    parts.labels += [b for b in (title, sub, note, meta) if b]
    parts.add(legend, max(legend_x, m + left_w + 8.0), m + 0.6)
    return parts


# --- the middle: start zone, programmes, lanes or columns, goal zone ------------------------------


def _middle(ctx: _Ctx, width: float, top: float, bottom: float) -> _Parts:
    s = ctx.style
    x0 = s.margin
    x1 = width - s.margin
    parts = _Parts()
    start = _start_zone(ctx, x0, s.start_width, top, bottom)
    parts.add(start)
    bottom = max(bottom, *(a.rect.bottom for a in start.areas))
    inner_x0 = x0 + s.start_width + s.zone_gap
    inner_x1 = x1 - s.goal_width - s.zone_gap
    arrange = _lanes if s.arrangement == "lanes" else _columns
    inner = arrange(ctx, inner_x0, inner_x1, top, bottom)
    parts.add(inner)
    bottom = max(bottom, *(a.rect.bottom for a in inner.areas))
    right = max(r.right for r in _rects(inner) + [b.rect for b in inner.boxes.values()])
    goal_x = max(x1 - s.goal_width, right + s.zone_gap)  # past the lanes, should they need more than the paper
    parts.add(_goal_zone(ctx, goal_x, s.goal_width, top, bottom))
    # zones stretch to the common bottom so the sheet reads as one table
    parts.areas = [_stretch(a, bottom) if a.kind == "zone" else a for a in parts.areas]
    return parts


def _stretch(area: Area, bottom: float) -> Area:
    r = area.rect
    return dataclasses.replace(area, rect=Rect(r.x, r.y, r.w, max(r.h, bottom - r.y)))


def _categories(ctx: _Ctx, zone: str) -> list[Category]:
    cats = [c for c in ctx.content.categories if c.zone == zone]
    rank = {cid: i for i, cid in enumerate(ctx.style.lane_order)}
    return sorted(cats, key=lambda c: (rank.get(c.id, len(rank)), c.order, c.id))


def _is_programme(ctx: _Ctx, offer: Offer) -> bool:
    return offer.kind == "programme" or ctx.content.category(offer.category).zone == "programme"


def _groups(ctx: _Ctx, cat: Category) -> list[tuple[str, str, list[Offer]]]:
    """(group id, title, offers in map order) in reading order: by level where there is one."""
    offers = [o for o in ctx.content.offers if o.category == cat.id and not _is_programme(ctx, o)]
    order = ctx.style.order
    offers.sort(key=lambda o: (order.get(o.id, o.order), o.title, o.id))
    known = {g.id for g in cat.groups}
    ordered = sorted(enumerate(cat.groups), key=lambda ig: (ig[1].level if ig[1].level is not None else 0, ig[0]))
    result = []
    loose = [o for o in offers if o.group not in known]
    if loose:
        result.append(("", "", loose))
    for _, g in ordered:
        mine = [o for o in offers if o.group == g.id]
        if mine:
            result.append((g.id, g.title, mine))
    return result


def _weights(ctx: _Ctx, cats: list[Category]) -> list[float]:
    return [max(ctx.style.weights.get(c.colour, 1.0), 0.05) for c in cats]  # by colour token: a theme names no content ids


def _shares(total: float, weights: list[float], gap: float) -> list[float]:
    room = total - gap * (len(weights) - 1)
    return [room * w / sum(weights) for w in weights] if weights else []


# --- boxes --------------------------------------------------------------------------------------


def _contents(ctx: _Ctx, title: str, summary: str, actors: Iterable[str], width: float, *, title_size: str = "offer", role: str = "offer",
              on: str = "box", inline: bool = False) -> tuple[list[TextBlock], list[Mark], float]:
    """Title, the whole map text and actor marks stacked from (0, 0) inside `width`; returns their height."""
    texts: list[TextBlock] = []
    title_block = ctx.text(title, 0, 0, width, title_size, role, on, bold=True)
    texts.append(title_block)
    y = title_block.rect.bottom
    if summary:
        block = ctx.text(summary, 0, y + 0.5, width, "summary", "summary" if on == "box" else role + "-summary", on)
        if block:
            texts.append(block)
            y = block.rect.bottom
    marks = _inline_marks(ctx, title_block, actors, width, on) if inline and len(texts) == 1 else None
    marks = marks or _marks(ctx, actors, 0, y + 0.7, width, on)
    if marks:
        y = max(m.label.rect.bottom for m in marks)
    return texts, marks, y


def _inline_marks(ctx: _Ctx, title: TextBlock, actors: Iterable[str], width: float, on: str) -> list[Mark] | None:
    """Actor marks on the title's last line, when they all fit there (thin programme frames)."""
    last_w = ctx.measure.width(title.lines[-1], title.size, title.style)
    x = last_w + 3.0
    baseline = title.rect.y + title.ascent + (len(title.lines) - 1) * title.pitch
    marks = _marks(ctx, actors, x, baseline - ctx.measure.ascent(ctx.size("actor")), width - x, on)
    one_line = all(len(m.label.lines) == 1 and abs(m.cy - marks[0].cy) < EPS for m in marks)
    return marks if marks and one_line and max(m.label.rect.right for m in marks) <= width + EPS else None


def _marks(ctx: _Ctx, actor_ids: Iterable[str], x0: float, y0: float, width: float, on: str) -> list[Mark]:
    """Actor markers flowing left to right, wrapping to a new line when the box is full."""
    size = ctx.size("actor")
    r = size * 0.3
    lead = 2 * r + 0.7
    pitch = size * ctx.style.line_height
    marks, x, y = [], x0, y0
    for aid in actor_ids:
        actor = ctx.content.actor(aid)
        name_w = ctx.measure.width(actor.short, size)
        if x > x0 and x + lead + name_w > x0 + width:
            x, y = x0, y + pitch
        label = ctx.text(actor.short, x + lead, y, width - lead, "actor", "actor" if on == "box" else "actor-on-" + on, on)
        baseline = y + label.ascent
        marks.append(Mark(aid, actor.kind, x + r, baseline - size * 0.36, r, label))
        if len(label.lines) > 1:
            y = label.rect.bottom - ctx.measure.block_height(1, size, ctx.style.line_height)
        x = label.rect.right + 1.8
    return marks


def _offer_box(ctx: _Ctx, offer: Offer, width: float) -> Box:
    """An offer box at the origin, as tall as its text needs (at least box_min_height)."""
    key = (offer.id, width)
    if key not in ctx.boxes:
        ctx.boxes[key] = _build_offer_box(ctx, offer, width)
    return ctx.boxes[key]


def _build_offer_box(ctx: _Ctx, offer: Offer, width: float) -> Box:
    p = ctx.style.padding
    bare = ctx.style.titles_only
    texts, marks, h = _contents(ctx, offer.map_title, "" if bare else offer.map_summary, () if bare else offer.actors, width - 2 * p)
    height = max(ctx.style.box_min_height, h + 2 * p)
    return _shift(Box(offer.id, "offer", Rect(-p, -p, width, height), tuple(texts), tuple(marks), offer.category), p, p)


def _place(box: Box, x: float, y: float) -> Box:
    return _shift(box, x - box.rect.x, y - box.rect.y)


def _flow_down(heights: list[float], room: float, gap: float) -> list[list[int]] | None:
    """Fill columns top to bottom; None when one box is taller than the room."""
    cols: list[list[int]] = [[]]
    used = 0.0
    for i, h in enumerate(heights):
        if h > room + EPS:
            return None
        if cols[-1] and used + gap + h > room + EPS:
            cols.append([])
            used = 0.0
        used = used + gap + h if cols[-1] else h
        cols[-1].append(i)
    return cols


def _flow_across(ctx: _Ctx, offers: list[Offer], x: float, y: float, width: float) -> tuple[list[Box], float]:
    """Boxes in rows of as many as fit in `width`; returns them placed and the bottom y."""
    s = ctx.style
    per_row = max(1, int((width + s.gap) // (s.box_width + s.gap)))
    per_row = min(per_row, max(1, len(offers)))
    cw = min((width - (per_row - 1) * s.gap) / per_row, s.box_max_width if per_row > 1 else width)
    built = [_offer_box(ctx, o, cw) for o in offers]
    placed, bottom = [], y
    for start in range(0, len(built), per_row):
        row = built[start : start + per_row]
        row_h = max(b.rect.h for b in row)
        for i, b in enumerate(row):
            placed.append(_place(_with_height(b, row_h), x + i * (cw + s.gap), bottom))
        bottom += row_h + s.gap
    return placed, bottom - s.gap if placed else y


def _with_height(box: Box, h: float) -> Box:
    return dataclasses.replace(box, rect=Rect(box.rect.x, box.rect.y, box.rect.w, h))


# --- start zone, columns and start sections ------------------------------------------------------


def _zone_label(ctx: _Ctx, text: str, x: float, y: float, width: float) -> TextBlock:
    return ctx.text(text, x, y, width, "zone", "zone", "paper", bold=True)


def _start_zone(ctx: _Ctx, x: float, width: float, top: float, bottom: float) -> _Parts:
    s = ctx.style
    parts = _Parts()
    label = _zone_label(ctx, s.text.start, x, top, width)
    parts.labels.append(label)
    y0 = label.rect.bottom + 1.5
    cats = _categories(ctx, "start")
    shares = _shares(bottom - y0, _weights(ctx, cats), s.lane_gap)
    y = y0
    for cat, share in zip(cats, shares, strict=True):
        section = _category_column(ctx, cat, x, y, width, share, "section")
        parts.add(section)
        y = section.areas[-1].rect.bottom + s.lane_gap
    parts.areas.insert(0, Area("start", "zone", Rect(x, top, width, bottom - top), ""))
    return parts


def _category_column(ctx: _Ctx, cat: Category, x: float, y: float, width: float, height: float, kind: str) -> _Parts:
    """A category as a column: title, a short summary if room, then its groups stacked."""
    s = ctx.style
    p = s.padding
    on = f"category:{cat.id}"
    parts = _Parts()
    inner = width - 2 * p
    title = ctx.text(cat.title, x + p, y + p, inner, "category", "category", on, bold=True)
    parts.labels.append(title)
    cy = title.rect.bottom + 1.0
    groups = _groups(ctx, cat)
    if kind == "column":
        summary = ctx.text(cat.map_summary, x + p, cy, inner, "category_summary", "category-summary", on)
        if summary:
            parts.labels.append(summary)
            cy = summary.rect.bottom + 1.5
    bottom = _column_groups(ctx, groups, x + p, cy, inner, on, parts)
    rect = Rect(x, y, width, max(height, bottom + p - y))
    parts.areas.insert(0, Area(cat.id, kind, rect, cat.id))
    if kind == "column":
        parts.lanes.append(Lane(cat.id, rect, ()))
    return parts


def _column_groups(ctx: _Ctx, groups, x: float, y: float, width: float, on: str, parts: _Parts) -> float:
    """Groups stacked downwards, each a label and rows of boxes; returns the bottom y."""
    s = ctx.style
    for gid, gtitle, offers in groups:
        if gtitle:
            label = ctx.text(gtitle, x, y, width, "group", "group", on, bold=True)
            parts.labels.append(label)
            y = label.rect.bottom + s.gap  # a full gutter, so connectors can pass between label and boxes
        boxes, y = _flow_across(ctx, offers, x, y, width)
        for b in boxes:
            parts.boxes[b.id] = b
        y += s.gap + (1.0 if gid else 0)
    return y - s.gap


# --- lanes ----------------------------------------------------------------------------------------


def _lanes(ctx: _Ctx, x0: float, x1: float, top: float, bottom: float) -> _Parts:
    """Categories as horizontal bands between start and goal, programme frames at their left."""
    s = ctx.style
    cats = _categories(ctx, "lane")
    programmes = [o for o in ctx.content.offers if _is_programme(ctx, o)]
    spans = _spans(cats, programmes)
    shares = _shares(bottom - top, _weights(ctx, cats), s.lane_gap)
    slots = _slot_rects(top, shares, s.lane_gap)
    tracks = _tracks(spans)
    thickness = _track_thickness(ctx, programmes, spans, tracks, slots)
    frames_w = sum(thickness) + s.gap * len(thickness)
    lx0 = x0 + frames_w
    x1 = max(x1, lx0 + _narrowest_lane(ctx, cats))  # many programmes: the sheet widens rather than squeeze the lanes
    parts = _Parts()
    y = top
    for cat, share in zip(cats, shares, strict=True):
        lane = _lane(ctx, cat, lx0, x1, y, share)
        parts.add(lane)
        y = lane.lanes[-1].rect.bottom + s.lane_gap
    lane_rects = [ln.rect for ln in parts.lanes]
    parts.add(_frames(ctx, programmes, spans, tracks, thickness, lane_rects, x0, rotated=True))
    return parts


def _narrowest_lane(ctx: _Ctx, cats: list[Category]) -> float:
    """Width that still gives every group of every lane one column of boxes."""
    s = ctx.style
    groups = max((len(_groups(ctx, c)) for c in cats), default=1)
    return s.lane_label_width + groups * s.box_width + max(0, groups - 1) * s.group_gap + s.padding


def _slot_rects(top: float, shares: list[float], gap: float) -> list[tuple[float, float]]:
    out, y = [], top
    for h in shares:
        out.append((y, y + h))
        y += h + gap
    return out


def _lane(ctx: _Ctx, cat: Category, x0: float, x1: float, y: float, height: float) -> _Parts:
    """One band: title and summary on the left, groups as sub-columns ordered by level."""
    s = ctx.style
    p = s.padding
    on = f"category:{cat.id}"
    parts = _Parts()
    label_w = s.lane_label_width - 2 * p
    title = ctx.text(cat.title, x0 + p, y + p, label_w, "category", "category", on, bold=True)
    parts.labels.append(title)
    groups = _groups(ctx, cat)
    summary = ctx.text(cat.map_summary, x0 + p, title.rect.bottom + 1.2, label_w, "category_summary", "category-summary", on)
    label_bottom = summary.rect.bottom if summary else title.rect.bottom
    height = max(height, label_bottom + p - y)
    height, header, (cw, cols, built) = _size_lane(ctx, groups, x1 - p - (x0 + s.lane_label_width), height)
    if summary:
        parts.labels.append(summary)
    group_rects = _place_groups(ctx, parts, groups, cols, built, cw, x0 + s.lane_label_width, x1 - p, y + p, header, on)
    rect = Rect(x0, y, x1 - x0, height)
    parts.areas.append(Area(cat.id, "lane", rect, cat.id, "chevron" if s.chevron > 0 else "rect"))
    parts.lanes.append(Lane(cat.id, rect, tuple(r for r in group_rects)))
    return parts


def _size_lane(ctx: _Ctx, groups, width: float, height: float):
    """The lane's height (its share, or more when it has run out of room), group header height, flow."""
    s = ctx.style
    header = 0.0
    while True:
        fit = _fit_lane(ctx, groups, width, height - 2 * s.padding - header)
        if fit is None:
            height += s.box_min_height + s.gap
            continue
        cw, cols, _ = fit
        need = _group_header_height(ctx, groups, [len(c) * cw + (len(c) - 1) * s.gap for c in cols])
        if need <= header + EPS:
            return height, header, fit
        header = need


def _place_groups(ctx: _Ctx, parts: _Parts, groups, cols, built, cw: float, gx0: float, gx1: float, top: float, header: float, on: str):
    """Groups left to right, spare width spread between them; returns each group's rect."""
    s = ctx.style
    widths = [len(c) * cw + (len(c) - 1) * s.gap for c in cols]
    slack = (gx1 - gx0) - sum(widths) - s.group_gap * (len(groups) - 1)
    # spare width goes between the groups (reading left to right by level), up to a box's width
    spread = min(slack / (len(groups) - 1), s.box_max_width) if len(groups) > 1 else 0.0
    gx, rects = gx0, []
    for (gid, gtitle, _), col_list, gw, boxes in zip(groups, cols, widths, built, strict=True):
        if gtitle:
            parts.labels.append(ctx.text(gtitle, gx, top, gw, "group", "group", on, bold=True))
        bottom = top + header
        for ci, col in enumerate(col_list):
            cy = top + header
            for i in col:
                box = _place(boxes[i], gx + ci * (cw + s.gap), cy)
                parts.boxes[box.id] = box
                cy = box.rect.bottom + s.gap
            bottom = max(bottom, cy - s.gap)
        rects.append((gid, Rect(gx, top, gw, bottom - top)))
        gx += gw + s.group_gap + spread
    return rects


def _fit_lane(ctx: _Ctx, groups, width: float, room: float):
    """Column width, columns per group and built boxes, or None when the lane needs more height."""
    s = ctx.style
    n_groups = max(1, len(groups))
    # never narrower than what lets one column per group fit, so growing in height always ends
    cw = min(s.box_width, (width - s.group_gap * (n_groups - 1)) / n_groups)
    result = _flow_lane(ctx, groups, cw, room)
    if result is None:
        return None
    cols, built = result
    n_cols = sum(len(c) for c in cols)
    fixed = s.group_gap * (n_groups - 1) + s.gap * (n_cols - n_groups)
    if n_cols * cw + fixed > width + EPS:
        return None
    wide = min(s.box_max_width, (width - fixed) / max(1, n_cols))
    if wide > cw + 0.01:
        wider = _flow_lane(ctx, groups, wide, room)
        if wider is not None:
            return wide, *wider
    return cw, cols, built


def _flow_lane(ctx: _Ctx, groups, cw: float, room: float):
    cols, built = [], []
    for _, _, offers in groups:
        boxes = [_offer_box(ctx, o, cw) for o in offers]
        flow = _flow_down([b.rect.h for b in boxes], room, ctx.style.gap)
        if flow is None:
            return None
        cols.append(flow)
        built.append(boxes)
    return cols, built


def _group_header_height(ctx: _Ctx, groups, widths: list[float]) -> float:
    heights = [ctx.text(t, 0, 0, w, "group", "group", "", bold=True).rect.h for (_, t, _), w in zip(groups, widths, strict=True) if t]
    return max(heights) + ctx.style.gap if heights else 0.0  # a full gutter under the group titles


# --- programmes ------------------------------------------------------------------------------------


def _spans(cats: list[Category], programmes: list[Offer]) -> dict[str, list[int]]:
    """Indices of the lanes (columns) each programme can hold offers from; all when it names none."""
    index = {c.id: i for i, c in enumerate(cats)}
    spans = {}
    for p in programmes:
        held = sorted({index[c] for c in p.holds if c in index})
        spans[p.id] = held or list(range(len(cats)))
    return spans


def _tracks(spans: dict[str, list[int]]) -> dict[str, int]:
    """Programmes whose spans do not overlap share a track (interval colouring, longest first)."""
    order = sorted(spans, key=lambda pid: (spans[pid][0] if spans[pid] else 0, -(spans[pid][-1] - spans[pid][0]) if spans[pid] else 0, pid))
    taken: list[list[tuple[int, int]]] = []
    result = {}
    for pid in order:
        lo, hi = (spans[pid][0], spans[pid][-1]) if spans[pid] else (0, 0)
        for t, intervals in enumerate(taken):
            if all(hi < a or lo > b for a, b in intervals):
                intervals.append((lo, hi))
                result[pid] = t
                break
        else:
            taken.append([(lo, hi)])
            result[pid] = len(taken) - 1
    return result


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _frame_content(ctx: _Ctx, offer: Offer, length: float, rotated: bool):
    p = ctx.style.padding
    bare = ctx.style.titles_only
    return _contents(ctx, offer.map_title, "" if bare else offer.map_summary, () if bare else offer.actors, length - 2 * p,
                     role="programme", on="programme", inline=rotated)


def _track_thickness(ctx: _Ctx, programmes: list[Offer], spans, tracks, slots) -> list[float]:
    """Width of each track of rotated frames, from the text its frames must hold."""
    n = max(tracks.values(), default=-1) + 1
    widths = [ctx.style.programme_width] * n
    for prog in programmes:
        length = max(slots[b][1] - slots[a][0] for a, b in _runs(spans[prog.id])) if slots else 40.0  # text goes in the longest segment
        _, _, h = _frame_content(ctx, prog, length, rotated=True)
        t = tracks[prog.id]
        widths[t] = max(widths[t], h + 2 * ctx.style.padding)
    return widths


def _frames(ctx: _Ctx, programmes: list[Offer], spans, tracks, thickness: list[float], lanes: list[Rect], x0: float, rotated: bool) -> _Parts:
    """Programme frames beside the lanes (rotated text) or above the columns (horizontal text)."""
    s = ctx.style
    parts = _Parts()
    offsets = [sum(thickness[:t]) + s.gap * t for t in range(len(thickness))]
    for prog in programmes:
        t = tracks[prog.id]
        segs = []
        for a, b in _runs(spans[prog.id]):
            if rotated:
                segs.append(Rect(x0 + offsets[t], lanes[a].y, thickness[t], lanes[b].bottom - lanes[a].y))
            else:
                segs.append(Rect(lanes[a].x, x0 + offsets[t], lanes[b].right - lanes[a].x, thickness[t]))
        main = max(segs, key=lambda r: (r.h if rotated else r.w, -r.y, -r.x))
        box = _frame_box(ctx, prog, main, rotated)
        parts.boxes[prog.id] = box
        holds = tuple(c for c in prog.holds)
        parts.frames.append(Frame(prog.id, holds, tuple(segs), t, rotated))
    return parts


def _frame_box(ctx: _Ctx, prog: Offer, rect: Rect, rotated: bool) -> Box:
    p = ctx.style.padding
    length = rect.h if rotated else rect.w
    texts, marks, content_h = _frame_content(ctx, prog, length, rotated)
    if not rotated:
        box = Box(prog.id, "programme", Rect(-p, -p, rect.w, rect.h), tuple(texts), tuple(marks), prog.category)
        return _place(box, rect.x, rect.y)
    # Lay the text out along the frame, then turn it a quarter left: local (u, v) -> (x + v, bottom - u),
    # centred across the frame's thickness and along its length.
    left = rect.x + (rect.w - content_h) / 2
    extent = max(r.right for r in [t.rect for t in texts] + [m.label.rect for m in marks])
    base = rect.bottom - max(p, (rect.h - extent) / 2)

    def turn(r: Rect) -> Rect:
        return Rect(left + r.y, base - r.x - r.w, r.h, r.w)

    turned = tuple(dataclasses.replace(t, rect=turn(t.rect), rotate=-90) for t in texts)
    turned_marks = tuple(
        dataclasses.replace(m, cx=left + m.cy, cy=base - m.cx, label=dataclasses.replace(m.label, rect=turn(m.label.rect), rotate=-90))
        for m in marks
    )
    return Box(prog.id, "programme", rect, turned, turned_marks, prog.category)


# --- columns -----------------------------------------------------------------------------------------


def _columns(ctx: _Ctx, x0: float, x1: float, top: float, bottom: float) -> _Parts:
    """Categories side by side, programme frames above the columns they hold."""
    s = ctx.style
    cats = _categories(ctx, "lane")
    programmes = [o for o in ctx.content.offers if _is_programme(ctx, o)]
    spans = _spans(cats, programmes)
    tracks = _tracks(spans)
    widths = _shares(x1 - x0, _weights(ctx, cats), s.lane_gap)
    xs = _slot_rects(x0, widths, s.lane_gap)
    col_rects = [Rect(a, 0, b - a, 0) for a, b in xs]
    n = max(tracks.values(), default=-1) + 1
    thickness = [0.0] * n
    for prog in programmes:
        span = spans[prog.id]
        length = max(col_rects[b].right - col_rects[a].x for a, b in _runs(span))
        _, _, h = _frame_content(ctx, prog, length, rotated=False)
        thickness[tracks[prog.id]] = max(thickness[tracks[prog.id]], h + 2 * s.padding)
    frames_h = sum(thickness) + s.gap * n
    parts = _Parts()
    parts.add(_frames(ctx, programmes, spans, tracks, thickness, col_rects, top, rotated=False))
    ctop = top + frames_h
    for cat, (a, b) in zip(cats, xs, strict=True):
        parts.add(_category_column(ctx, cat, a, ctop, b - a, bottom - ctop, "column"))
    return parts


# --- goal zone ----------------------------------------------------------------------------------------


def _goal_zone(ctx: _Ctx, x: float, width: float, top: float, bottom: float) -> _Parts:
    s = ctx.style
    p = s.padding
    parts = _Parts()
    label = _zone_label(ctx, s.text.goal, x, top, width)
    parts.labels.append(label)
    built = []
    for goal in ctx.content.guide.goals:
        title = ctx.text(goal.title, p, p, width - 2 * p, "goal", "goal", "goal", bold=True)
        texts = [title]
        if goal.summary:
            texts.append(ctx.text(goal.summary, p, title.rect.bottom + 0.8, width - 2 * p, "summary", "goal-summary", "goal"))
        h = texts[-1].rect.bottom + p
        built.append(Box(f"goal-{goal.id}", "goal", Rect(0, 0, width, h), tuple(texts), (), ""))
    total = sum(b.rect.h for b in built) + s.gap * (len(built) - 1)
    y = max(label.rect.bottom + 2, (top + bottom) / 2 - total / 2)
    for b in built:
        parts.extras.append(_place(b, x, y))
        y += b.rect.h + s.gap
    parts.areas.append(Area("goal", "zone", Rect(x, top, width, bottom - top), ""))
    return parts


# --- bottom row: livelihood band and legend -----------------------------------------------------------


def _bottom_row(ctx: _Ctx, width: float) -> _Parts:
    """The livelihood band along the bottom, with y measured from the band's top."""
    s = ctx.style
    return _livelihood(ctx, s.margin, 0.0, width - 2 * s.margin, 0.0)


def _rects(parts: _Parts) -> list[Rect]:
    return [a.rect for a in parts.areas] + [t.rect for t in parts.labels] + [s.rect for s in parts.swatches] + [b.rect for b in parts.extras]


def _livelihood(ctx: _Ctx, x: float, y: float, width: float, min_height: float) -> _Parts:
    s = ctx.style
    p = s.padding
    parts = _Parts()
    cats = _categories(ctx, "livelihood")
    if not cats and not ctx.content.financing:
        return parts
    cat = cats[0] if cats else None
    on = f"category:{cat.id}" if cat else "paper"
    label_w = s.lane_label_width - 2 * p
    title = ctx.text(cat.title if cat else s.text.colours, x + p, y + p, label_w, "category", "category", on, bold=True)
    parts.labels.append(title)
    bx0 = x + s.lane_label_width
    room = x + width - p - bx0
    per_row = max(1, int((room + s.gap) // (s.livelihood_box_width + s.gap)))
    items = [_financing_box(ctx, f.id, f.title, (f.actor,), s.livelihood_box_width) for f in ctx.content.financing]
    loose = [o for c in cats for _, _, offers in _groups(ctx, c) for o in offers]
    items = [_offer_box(ctx, o, s.livelihood_box_width) for o in loose] + items
    cy = y + p
    for start in range(0, len(items), per_row):
        row = items[start : start + per_row]
        row_h = max(b.rect.h for b in row)
        for i, b in enumerate(row):
            placed = _place(_with_height(b, row_h), bx0 + i * (s.livelihood_box_width + s.gap), cy)
            (parts.boxes.__setitem__(placed.id, placed) if placed.kind == "offer" else parts.extras.append(placed))
        cy += row_h + s.gap
    summary = ctx.text(cat.map_summary, x + p, title.rect.bottom + 1.0, label_w, "category_summary", "category-summary", on) if cat else None
    label_bottom = summary.rect.bottom if summary else title.rect.bottom
    bottom = max(cy - s.gap + p, label_bottom + p, y + min_height)
    if summary:
        parts.labels.append(summary)
    parts.areas.insert(0, Area(cat.id if cat else "livelihood", "band", Rect(x, y, width, bottom - y), cat.id if cat else ""))
    return parts


def _financing_box(ctx: _Ctx, fid: str, title: str, actors, width: float) -> Box:
    p = ctx.style.padding
    texts, marks, h = _contents(ctx, title, "", actors, width - 2 * p, role="financing")
    box = Box(f"financing-{fid}", "financing", Rect(-p, -p, width, h + 2 * p), tuple(texts), tuple(marks), "")
    return _shift(box, p, p)


def _legend(ctx: _Ctx) -> _Parts:
    """Who is responsible (dot colours), the lines and frames, and what the colours of the zones mean."""
    s = ctx.style
    parts = _Parts()
    title = ctx.text(s.text.legend, 0, 0, 120, "legend_title", "legend-title", "paper", bold=True)
    parts.labels.append(title)
    top = title.rect.bottom + 1.0
    plain = [a for a in ctx.content.actors if a.id not in s.actor_colours]
    kinds = [k for k in s.actor_kinds if any(a.kind == k for a in plain)]
    own = [a for a in ctx.content.actors if a.id in s.actor_colours]
    sections = [
        (s.text.actors, [("dot", k, s.text.actor_kinds.get(k, k)) for k in kinds] + [("dot", f"actor:{a.id}", a.short) for a in own]),
        (s.text.lines, _line_items(ctx)),
        (s.text.colours, _zone_items(ctx)),
    ]
    x = 0.0
    for heading, items in sections:
        if items:
            x = _legend_section(ctx, parts, heading, items, x, top) + 6.0
    return parts


def _zone_items(ctx: _Ctx) -> list[tuple[str, str, str]]:
    s, own = ctx.style, ctx.content.guide.legend  # the guide's own words first, the theme's plain names else
    start, lanes, livelihood = (_categories(ctx, z) for z in ("start", "lane", "livelihood"))
    items = []
    if start:
        items.append(("fill", start[0].id, own.start or s.text.zone_start))
    if lanes:
        items.append(("stack", " ".join(c.id for c in lanes), own.lanes or s.text.zone_lanes))
    if livelihood:
        items.append(("fill", livelihood[0].id, own.livelihood or s.text.zone_livelihood))
    if ctx.content.guide.goals:
        items.append(("goal", "", own.goal or s.text.zone_goal))
    return items


def _line_items(ctx: _Ctx) -> list[tuple[str, str, str]]:
    s = ctx.style
    items = []
    if s.connectors.show:
        items.append(("arrow", "", s.text.leads_to))
    if any(_is_programme(ctx, o) for o in ctx.content.offers):
        items.append(("frame", "", s.text.programme))
    return items


def _legend_section(ctx: _Ctx, parts: _Parts, heading: str, items, x: float, top: float) -> float:
    """One legend section: a heading and a sample with its words per line; returns its right edge."""
    size = ctx.size("legend")
    head = ctx.text(heading, x, top, 60, "legend", "legend-heading", "paper", bold=True)
    parts.labels.append(head)
    y, right = head.rect.bottom + 0.7, head.rect.right
    for kind, ref, words in items:
        sw, sh = {"dot": (size * 0.6, size * 0.6), "arrow": (7.0, 1.6), "frame": (7.0, 2.4)}.get(kind, (4.0, 2.6))
        label = ctx.text(words, x + sw + 1.2, y, 46, "legend", "legend", "paper")
        mid = y + label.ascent - size * 0.36
        parts.swatches.append(Swatch(kind, Rect(x, mid - sh / 2, sw, sh), ref))
        parts.labels.append(label)
        right = max(right, label.rect.right)
        y = label.rect.bottom + 0.5
    return right


# --- connectors --------------------------------------------------------------------------------------


def _connectors(ctx: _Ctx, parts: _Parts, width: float, height: float) -> tuple[tuple[Connector, ...], tuple[tuple[str, str], ...]]:
    cs = ctx.style.connectors
    if not cs.show:
        return (), ()
    allowed = set(cs.categories)  # colour tokens
    token = {c.id: c.colour for c in ctx.content.categories}
    offers = {o.id: o for o in ctx.content.offers}
    boxes = parts.boxes
    pairs = []
    for o in ctx.content.offers:
        for target in o.leads_to:
            if o.id not in boxes or target not in boxes or target not in offers:
                continue
            if boxes[o.id].kind != "offer" or boxes[target].kind != "offer":
                continue
            if allowed and not (token.get(o.category) in allowed and token.get(offers[target].category) in allowed):
                continue
            if not _wanted(ctx, cs.which, o, offers[target]):
                continue
            pairs.append((o.id, target))
    if cs.reduce:
        pairs = transitive_reduction(pairs)
    if not pairs:
        return (), ()
    obstacles = [b.rect for b in parts.boxes.values()] + [b.rect for b in parts.extras]
    obstacles += [seg for f in parts.frames for seg in f.segments] + [t.rect for t in parts.labels] + [s.rect for s in parts.swatches]
    clearance = ctx.style.gap / 2
    ends = ports(pairs, {bid: box.rect for bid, box in boxes.items()}, clearance)
    stubs = [stub for (_, start), (_, end) in ends.values() for stub in (start, end)]
    grid = Grid.around(obstacles, clearance, Rect(0, 0, width, height), stubs)
    routed, failed = [], []
    for a, b in sorted(pairs):
        (pa, sa), (pb, sb) = ends[(a, b)]
        path = grid.search(sa, sb, b)
        if path is None:
            failed.append((a, b))
        else:
            routed.append(Connector(a, b, simplify([pa, *path, pb])))
    return tuple(routed), tuple(failed)


def _wanted(ctx: _Ctx, which: str, a: Offer, b: Offer) -> bool:
    """Is a→b one of the connectors the theme asks for? Inside a lane the groups already stand
    in level order, left to right, so `across` leaves those steps to the reading direction."""
    if which == "all" or a.category != b.category:
        return True
    if which == "across":
        return False
    levels = {g.id: g.level for g in ctx.content.category(a.category).groups}
    la, lb = levels.get(a.group), levels.get(b.group)
    return la is not None and lb is not None and lb > la
