"""Journeys as text and as a timeline graph.

The text is the phase-by-phase narrative every target reuses as the text alternative for
journey diagrams (SVG <desc>, handbook alt text, CMS fragments). The timeline graph is the
plan of the Graphviz diagram: pure DOT source, laid out later by `dot` (render/journeys.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Annotated, Literal
from xml.sax.saxutils import escape

import graphviz

from ..colour import best_text
from ..content.fields import Doc, Loc, located
from ..content.model import Content, Persona, Phase, Text
from ..theme import Colour, Theme
from .text import TextMeasure


def span_label(phase: Phase, theme: Theme) -> str:
    """'0–12 mnd': the phase's time span as shown on the time axis."""
    return f"{phase.start_month}–{phase.end_month} {theme.label('months')}"


def phase_text(content: Content, theme: Theme, index: int, phase: Phase) -> str:
    """One sentence group per phase: when, what in parallel, who, how livelihood, what next."""
    lb = theme.label
    offers = ", ".join(content.offer(o).title for o in phase.offers)
    actors = ", ".join(content.actor(a).short for a in phase.responsible)
    money = ", ".join(content.financing_item(f).title for f in phase.livelihood)
    parts = [
        f"{lb('phase')} {index} ({span_label(phase, theme)}): {phase.title}.",
        f"{offers}.",
        f"{lb('responsible')}: {actors}.",
        f"{lb('livelihood')}: {money}.",
    ]
    if phase.transition:
        parts.append(f"{lb('transition')}: {phase.transition.strip()}")
    return " ".join(parts)


def journey_text(content: Content, theme: Theme, persona: Persona) -> tuple[str, ...]:
    """The whole journey as plain-text paragraphs, first the person, then each phase."""
    intro = f"{persona.name}, {persona.age} år, fra {persona.origin}. {persona.summary}"
    return (intro, *(phase_text(content, theme, i, ph) for i, ph in enumerate(persona.journey, 1)))


# --- The timeline as a Graphviz graph ------------------------------------------------------
#
# Columns (rankdir=LR): the persona card, the lane headings, then one cluster per phase.
# Rows inside every phase: the time-axis arrow with the span, the offers taken in parallel,
# who is responsible, how livelihood is covered. Heavy invisible edges between the cells of
# a row keep the rows straight (heavier than dot's pull to keep clusters compact).
# Content reaches the DOT only inside HTML-like labels, through `html_text`: no title can
# end a label or open a new statement. Plain DOT strings carry only ids we make.


@dataclass(frozen=True)
class TimelineStyle:
    direction: Annotated[Literal["TB", "LR"], Doc("TB: phases top to bottom, one row each (fits an A4 page); LR: phases left to right")]
    font_size: Annotated[float, Doc("pt")]
    title_size: float
    small_size: float
    wrap: Annotated[float, Doc("pt: text width in offer, lane and phase boxes")]
    note_wrap: Annotated[float, Doc("pt: text width of a transition note")]
    card_wrap: Annotated[float, Doc("pt: text width of the persona card")]
    ranksep: Annotated[float, Doc("inches between columns")]
    nodesep: Annotated[float, Doc("inches between stacked boxes")]
    pad: float
    ink: Colour
    muted: Colour
    paper: Colour
    phase_fill: Colour
    phase_border: Colour
    card_border: Colour
    axis_fill: Colour
    transition: Colour
    loc: Loc = located()


@dataclass(frozen=True)
class JourneyLabels:
    """Wording of the journey outputs; `{name}`-style fields are filled in by the code."""

    age_origin: Text
    education: Text
    work: Text
    norwegian: Text
    family: Text
    health: Text
    residence: Text
    goals: Text
    goal_short: Text
    goal_long: Text
    time: Text
    offers: Text
    timeline_title: Text
    route_title: Text
    route_intro: Text
    all_title: Text
    all_intro: Text
    loc: Loc = located()


ROW_WEIGHT = "1000"  # rows stay straight: outweighs dot's pull to keep clusters compact
LIGHT_WEIGHT = "1"  # the offers row: columns differ in height, these boxes centre instead
CARD_LABEL_SHARE = 0.3  # share of the card's width given to the labels column


def html_text(text: str) -> str:
    """Content as text inside an HTML-like label: markup characters become entities."""
    return escape(" ".join(str(text).split()), {'"': "&quot;"})


def timeline_graph(content: Content, theme: Theme, persona: Persona, style: TimelineStyle, labels: JourneyLabels,
                   measure: TextMeasure | None = None) -> graphviz.Digraph:
    """The timeline of one persona's journey as a dot graph (nothing is run here)."""
    return _Timeline(content, theme, persona, style, labels, measure or TextMeasure.from_theme(theme)).graph()


@dataclass(frozen=True)
class _Timeline:
    content: Content
    theme: Theme
    persona: Persona
    style: TimelineStyle
    labels: JourneyLabels
    measure: TextMeasure

    def graph(self) -> graphviz.Digraph:
        pid = self.persona.id
        g = graphviz.Digraph(name=pid, graph_attr=self._graph_attrs(), node_attr=self._node_attrs(), edge_attr=self._edge_attrs())
        g.node("card", self._card(), shape="plain", id=f"{pid}-card")
        self._lane_headings(g)
        g.edge("card", "lane_offers", style="invis")
        title_lines = max(len(self._lines(ph.title, self.style.wrap)) for ph in self.persona.journey)
        for i, phase in enumerate(self.persona.journey, 1):
            self._phase(g, i, phase, title_lines)
        self._rows(g)
        return g

    # Text: wrapped with the shipped fonts' metrics, escaped, lines joined by <BR/>.
    def _lines(self, text: str, width: float, size: float | None = None, font: str = "regular") -> tuple[str, ...]:
        return self.measure.wrap(" ".join(str(text).split()), width, size or self.style.font_size, font) or (" ",)

    def _text(self, text: str, width: float, size: float | None = None, font: str = "regular") -> str:
        return "<BR/>".join(html_text(line) for line in self._lines(text, width, size, font))

    def _graph_attrs(self) -> dict[str, str]:
        s = self.style
        return {
            "rankdir": s.direction, "newrank": "true", "compound": "true", "outputorder": "edgesfirst",
            "fontname": self.theme.fonts.family, "fontsize": _num(s.font_size), "fontcolor": s.ink,
            "ranksep": _num(s.ranksep), "nodesep": _num(s.nodesep), "pad": _num(s.pad),
            "bgcolor": s.paper, "labeljust": "l", "labelloc": "t", "id": f"{self.persona.id}-timeline",
        }

    def _node_attrs(self) -> dict[str, str]:
        s = self.style
        return {"fontname": self.theme.fonts.family, "fontsize": _num(s.font_size), "fontcolor": s.ink, "shape": "box",
                "style": "rounded,filled", "fillcolor": s.paper, "color": s.phase_border, "margin": "0.1,0.06"}

    def _edge_attrs(self) -> dict[str, str]:
        s = self.style
        return {"fontname": self.theme.fonts.family, "fontsize": _num(s.small_size), "fontcolor": s.ink,
                "color": s.axis_fill, "arrowsize": "0.7"}

    def _card(self) -> str:
        """The persona card: name, age and origin, summary, background and goals."""
        p, lb, s = self.persona, self.labels, self.style
        facts = [(lb.education, p.background.education), (lb.work, p.background.work),
                 (lb.norwegian, p.background.norwegian or ""), (lb.family, p.background.family),
                 (lb.health, p.background.health), (lb.residence, p.background.residence)]
        rows = [
            _row(f'<FONT POINT-SIZE="{_num(s.title_size)}"><B>{html_text(p.name)}</B></FONT>'),
            _row(html_text(lb.age_origin.format(age=p.age, origin=p.origin))),
            _row(self._small(p.summary, s.card_wrap)),
            *(self._card_fact(name, value) for name, value in facts if value),
            _row(f"<B>{html_text(lb.goals)}</B>"),
            self._card_fact(lb.goal_short, p.goals.short),
            self._card_fact(lb.goal_long, p.goals.long),
        ]
        return (f'<<TABLE BORDER="1" STYLE="ROUNDED" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
                f'COLOR="{s.card_border}" BGCOLOR="{s.paper}">{"".join(rows)}</TABLE>>')

    def _card_fact(self, name: str, value: str) -> str:
        s = self.style
        head = f'<FONT POINT-SIZE="{_num(s.small_size)}"><B>{html_text(name)}</B></FONT>'
        body = self._small(value, s.card_wrap * (1 - CARD_LABEL_SHARE))
        return f'<TR><TD ALIGN="LEFT" VALIGN="TOP">{head}</TD><TD ALIGN="LEFT" BALIGN="LEFT">{body}</TD></TR>'

    def _small(self, text: str, width: float) -> str:
        size = self.style.small_size
        return f'<FONT POINT-SIZE="{_num(size)}">{self._text(text, width, size)}</FONT>'

    def _lane_headings(self, g: graphviz.Digraph) -> None:
        headings = [("time", self.labels.time), ("offers", self.labels.offers),
                    ("resp", self.theme.label("responsible")), ("live", self.theme.label("livelihood"))]
        with g.subgraph(name="lanes") as lanes:
            lanes.attr(rank="same")
            for key, text in headings:
                lanes.node(f"lane_{key}", f"<<B>{html_text(text)}</B>>", shape="plain", fontcolor=self.style.muted,
                           id=f"{self.persona.id}-lane-{key}")
            for (a, _), (b, _) in itertools.pairwise(headings):  # flat edges: this order, top to bottom
                lanes.edge(f"lane_{a}", f"lane_{b}", style="invis")

    def _phase(self, g: graphviz.Digraph, i: int, phase: Phase, title_lines: int) -> None:
        """One column: axis arrow with the span, offers in parallel, responsible, livelihood."""
        s, pid, c = self.style, self.persona.id, self.content
        band = self._livelihood_fill()
        with g.subgraph(name=f"cluster_phase_{i}") as col:
            col.attr(label=f"<{self._phase_title(i, phase, title_lines)}>", style="rounded,filled",
                     fillcolor=s.phase_fill, color=s.phase_border, id=f"{pid}-phase-{i}")
            col.node(f"t{i}", f"<<B>{html_text(span_label(phase, self.theme))}</B>>", shape="cds", style="filled",
                     fillcolor=s.axis_fill, color=s.axis_fill, fontcolor=readable_on(s.axis_fill, s), id=f"{pid}-span-{i}")
            col.node(f"p{i}_offers", self._offers(i, phase), shape="plain", style="solid", id=f"{pid}-offers-{i}")
            actors = "<BR/>".join(self._text(c.actor(a).short, s.wrap) for a in phase.responsible)
            col.node(f"p{i}_resp", f"<{actors}>", id=f"{pid}-responsible-{i}")
            money = "<BR/>".join(self._text(c.financing_item(f).title, s.wrap) for f in phase.livelihood)
            col.node(f"p{i}_live", f"<{money}>", fillcolor=band, fontcolor=readable_on(band, s), id=f"{pid}-livelihood-{i}")

    def _phase_title(self, i: int, phase: Phase, lines: int) -> str:
        """'Fase 2' and the title, padded to `lines` lines so every column starts at one height."""
        title = self._lines(phase.title, self.style.wrap)
        pad = "<BR/> " * (lines - len(title))
        return _left(f"<B>{html_text(self.theme.label('phase'))} {i}</B><BR/>{'<BR/>'.join(map(html_text, title))}{pad}")

    def _offers(self, i: int, phase: Phase) -> str:
        """The offers of a phase stacked in one column, each a rounded box in its category's colour.

        One node holds them all because dot keeps the order of table rows, not of separate nodes.
        """
        s, rows = self.style, []
        for offer_id in phase.offers:
            offer = self.content.offer(offer_id)
            category = self.content.category(offer.category)
            fill = self.theme.colour(category.colour)
            text = (f'<FONT COLOR="{readable_on(fill, s)}"><B>{self._text(offer.title, s.wrap, font="bold")}</B><BR/>'
                    f'<FONT POINT-SIZE="{_num(s.small_size)}"><I>{self._text(category.title, s.wrap, s.small_size, "italic")}</I></FONT></FONT>')
            rows.append(f'<TR><TD><TABLE BORDER="1" STYLE="ROUNDED" CELLBORDER="0" CELLPADDING="5" COLOR="{s.phase_border}" '
                        f'BGCOLOR="{fill}" ID="{self.persona.id}-offer-{i}-{offer.id}"><TR><TD>{text}</TD></TR></TABLE></TD></TR>')
        return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">{"".join(rows)}</TABLE>>'

    def _rows(self, g: graphviz.Digraph) -> None:
        """Straight rows from the lane headings through every phase; the axis carries the transitions."""
        n = len(self.persona.journey)
        for key, cell, weight in (("offers", "p{i}_offers", LIGHT_WEIGHT), ("resp", "p{i}_resp", ROW_WEIGHT), ("live", "p{i}_live", ROW_WEIGHT)):
            for a, b in itertools.pairwise([f"lane_{key}", *(cell.format(i=i) for i in range(1, n + 1))]):
                g.edge(a, b, style="invis", weight=weight)
        g.edge("lane_time", "t1", style="invis", weight=ROW_WEIGHT)
        for i, phase in enumerate(self.persona.journey[:-1], 1):
            attrs = {"weight": ROW_WEIGHT, "ltail": f"cluster_phase_{i}", "lhead": f"cluster_phase_{i + 1}",
                     "color": self.style.transition, "penwidth": "1.6", "id": f"{self.persona.id}-transition-{i}"}
            if phase.transition.strip():
                note = self._text(phase.transition, self.style.note_wrap, self.style.small_size, "italic")
                attrs["label"] = f"<{_left(f'<I>{note}</I>')}>"
            g.edge(f"t{i}", f"t{i + 1}", **attrs)

    def _livelihood_fill(self) -> str:
        """The livelihood band's colour on the map, so the two views read alike."""
        band = [c for c in self.content.categories if c.zone == "livelihood"]
        return self.theme.colour(band[0].colour) if band else self.style.paper


def _left(lines: str) -> str:
    """Lines aligned left: a borderless one-cell table (a bare label centres each line)."""
    return f'<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="0" CELLSPACING="0"><TR><TD ALIGN="LEFT" BALIGN="LEFT">{lines}</TD></TR></TABLE>'


def _row(cell: str) -> str:
    return f'<TR><TD COLSPAN="2" ALIGN="LEFT" BALIGN="LEFT">{cell}</TD></TR>'


def readable_on(fill: str, style: TimelineStyle) -> str:
    """Ink or paper, whichever reads better on `fill` (dark programme colours take paper)."""
    return best_text(fill, style.ink, style.paper)


def _num(value: float) -> str:
    return f"{value:g}"
