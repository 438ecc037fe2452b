"""The possibility map's geometry, checked without rendering: nothing overlaps, no text leaves
its box, no connector runs through a box or a label, the sheet reads start → lanes → goal,
and adding an offer only moves things of its own category.

Checked on the fixture guide, the shipped guide, and generated stress content (10× the
offers, 40-letter Norwegian compounds, one-word and 30-word titles).
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from mulighetskart.layout.geometry import Rect
from mulighetskart.layout.map import PT, MapLayout, MapStyle, layout_map
from mulighetskart.layout.text import TextMeasure
from mulighetskart.theme import load_theme

from .conftest import LAYOUTS

COMPOUND_40 = "Arbeidsmarkedsopplæringskvalifiseringene"  # 40 letters, one word
COMPOUNDS = (COMPOUND_40, "Realkompetansevurderingsordningene", "Introduksjonsprogramdeltakerstønaden")
THIRTY_WORDS = (
    "Et tilbud med en svært lang tittel som fortsetter og fortsetter for å vise at boksen vokser "
    "og at teksten aldri renner over kanten uansett hvor mange ord skribenten bruker"
)


@pytest.fixture(scope="module")
def map_theme():
    return load_theme(LAYOUTS, {"map": MapStyle})


@pytest.fixture(scope="module")
def style(map_theme) -> MapStyle:
    return map_theme.section("map")


@pytest.fixture(scope="module")
def measure(map_theme) -> TextMeasure:
    return TextMeasure.from_theme(map_theme)


def with_style(style: MapStyle, **changes) -> MapStyle:
    return dataclasses.replace(style, **changes)


def stress(content, factor: int = 10):
    """`factor` copies of every offer, with the titles writers fear most."""
    assert len(THIRTY_WORDS.split()) == 30 and len(COMPOUND_40) == 40
    offers = []
    for o in content.offers:
        for k in range(factor):
            title = (o.title, COMPOUND_40, THIRTY_WORDS, f"{o.title} {COMPOUNDS[k % 3]}", "Språk")[k % 5]
            summary = f"{COMPOUNDS[k % 3]} og {o.summary}"[:200]
            leads = tuple(f"{t}-{k}" for t in o.leads_to)
            offers.append(dataclasses.replace(o, id=f"{o.id}-{k}", title=title, short_title="", summary=summary, leads_to=leads, combines_with=()))
    return dataclasses.replace(content, offers=tuple(offers), personas=())


def geometry_problems(layout: MapLayout, content, measure: TextMeasure) -> list[str]:
    """Every way the map could be unreadable, as sentences (empty when all is well)."""
    out = []
    solids = [(f"box {b.id}", b.rect) for b in layout.all_boxes() if b.kind != "programme"]
    solids += [(f"frame {f.offer}", seg) for f in layout.frames for seg in f.segments]
    labels = [(f"label {' '.join(t.lines)[:40]!r}", t.rect) for t in layout.labels]
    labels += [(f"legend sample {s.kind} {s.ref}", s.rect) for s in layout.swatches]
    things = solids + labels
    sheet = Rect(0, 0, layout.width, layout.height)
    for (na, ra), (nb, rb) in itertools.combinations(things, 2):
        if ra.overlaps(rb):
            out.append(f"{na} overlaps {nb}")
    out += [f"{name} is off the sheet" for name, r in things if not sheet.contains(r)]
    out += _text_problems(layout, measure)
    for conn in layout.connectors:
        for a, b in itertools.pairwise(conn.points):
            if a[0] != b[0] and a[1] != b[1]:
                out.append(f"connector {conn.source}→{conn.target} has a slanted segment")
            out += [f"connector {conn.source}→{conn.target} runs through {name}" for name, r in things if r.crossed_by(a, b)]
    out += [f"connector {a}→{b} found no way through the gutters" for a, b in layout.unrouted]
    ids = [o.id for o in content.offers]
    out += [f"offer {oid} has no box" for oid in ids if oid not in layout.boxes]
    return out


def _text_problems(layout: MapLayout, measure: TextMeasure) -> list[str]:
    out = []
    frames = {f.offer: f.segments for f in layout.frames}
    for box in layout.all_boxes():
        containers = frames.get(box.id, (box.rect,))
        for block in (*box.texts, *(m.label for m in box.marks)):
            if not any(c.contains(block.rect) for c in containers):
                out.append(f"text {block.lines} leaves box {box.id}")
            length = block.rect.h if block.rotate else block.rect.w
            for line in block.lines:
                if measure.width(line, block.size, block.style) > length + 1e-6:
                    out.append(f"line {line!r} in {box.id} is wider than its block")
    blocks = [*layout.labels, *(t for b in layout.all_boxes() for t in b.texts), *(m.label for b in layout.all_boxes() for m in b.marks)]
    out += [f"text {b.lines} is {b.size / PT:.2f} pt, below 6 pt" for b in blocks if b.size < 6 * PT - 1e-9]
    return out


# --- the shipped and the fixture guide -------------------------------------------------------------


@pytest.mark.parametrize("arrangement", ["lanes", "columns"])
def test_fixture_map_is_clean(fixture_content, style, measure, arrangement):
    layout = layout_map(fixture_content, with_style(style, arrangement=arrangement), measure)
    assert geometry_problems(layout, fixture_content, measure) == []
    assert layout.fits, "the fixture guide should fit on A3"


@pytest.mark.parametrize("arrangement", ["lanes", "columns"])
def test_shipped_map_is_clean_and_fits_a3(shipped_content, style, measure, arrangement):
    layout = layout_map(shipped_content, with_style(style, arrangement=arrangement), measure)
    assert geometry_problems(layout, shipped_content, measure) == []
    assert (layout.width, layout.height) == (420, 297), "the shipped guide no longer fits A3: give the crowded category more weight, or choose A2"


def test_shipped_map_draws_connectors(shipped_content, style, measure):
    layout = layout_map(shipped_content, style, measure)
    assert layout.connectors, "leads_to between education offers should be drawn"
    for conn in layout.connectors:
        assert conn.target in shipped_content.offer(conn.source).leads_to


def test_a2_gives_a_bigger_sheet_with_the_same_type(shipped_content, style, measure):
    layout = layout_map(shipped_content, with_style(style, paper="A2"), measure)
    assert (layout.width, layout.height) == (594, 420)
    assert geometry_problems(layout, shipped_content, measure) == []


def test_connectors_can_be_turned_off(shipped_content, style, measure):
    off = with_style(style, connectors=dataclasses.replace(style.connectors, show=False))
    assert layout_map(shipped_content, off, measure).connectors == ()


# --- stress content -----------------------------------------------------------------------------------


@pytest.mark.parametrize("arrangement", ["lanes", "columns"])
def test_stress_content_is_clean(shipped_content, style, measure, arrangement):
    content = stress(shipped_content)
    layout = layout_map(content, with_style(style, arrangement=arrangement), measure)
    assert len(layout.boxes) == len(content.offers) == 10 * len(shipped_content.offers)
    assert geometry_problems(layout, content, measure) == []
    assert not layout.fits  # ten times the content needs a larger sheet, and gets one


def test_long_titles_wrap_and_hyphenate_inside_their_box(shipped_content, style, measure):
    content = stress(shipped_content, factor=5)
    layout = layout_map(content, style, measure)
    compound = next(b for b in layout.boxes.values() if b.kind == "offer" and content.offer(b.id).title == COMPOUND_40)
    lines = compound.texts[0].lines
    assert len(lines) > 1 and lines[0].endswith("-"), "a 40-letter compound is hyphenated, not cut off"
    assert "".join(line.removesuffix("-") for line in lines) == COMPOUND_40
    thirty = next(b for b in layout.boxes.values() if content.offer(b.id).title == THIRTY_WORDS)
    assert " ".join(thirty.texts[0].lines) == THIRTY_WORDS, "a 30-word title is shown whole, on as many lines as it needs"


# --- reading order ------------------------------------------------------------------------------------


def test_sheet_reads_from_start_to_goal(fixture_content, style, measure):
    layout = layout_map(fixture_content, style, measure)
    areas = {a.id: a.rect for a in layout.areas}
    lanes = [ln.rect for ln in layout.lanes]
    assert areas["start"].right < min(r.x for r in lanes)
    assert areas["goal"].x > max(r.right for r in lanes)
    band = areas["livsopphold"]
    assert band.y >= max(a.rect.bottom for a in layout.areas if a.id != "livsopphold") - 1e-6, "livelihood runs along the bottom"
    assert band.w > 0.9 * (layout.width - 2 * style.margin)


def test_lanes_run_side_by_side_across_the_same_width(fixture_content, style, measure):
    """The point of the map: the categories happen at the same time, so every lane spans the same stretch."""
    layout = layout_map(fixture_content, style, measure)
    lanes = [ln.rect for ln in layout.lanes]
    assert [ln.category for ln in layout.lanes] == ["norsk", "arbeid", "utdanning", "hoyere", "supplerende"]
    assert len({(round(r.x, 6), round(r.right, 6)) for r in lanes}) == 1
    assert all(a.bottom <= b.y for a, b in itertools.pairwise(lanes))


def test_groups_are_ordered_by_level(fixture_content, style, measure):
    layout = layout_map(fixture_content, style, measure)
    assert layout.boxes["grunnskole"].x < layout.boxes["videregaende"].x  # grunnskole → videregående
    utdanning = next(ln for ln in layout.lanes if ln.category == "utdanning")
    assert [g for g, _ in utdanning.groups] == ["grunnskole", "videregaende"]


def test_programme_frames_span_the_lanes_they_hold(fixture_content, style, measure):
    layout = layout_map(fixture_content, style, measure)
    lanes = {ln.category: ln.rect for ln in layout.lanes}
    (frame,) = layout.frames
    held = fixture_content.offer(frame.offer).holds
    (segment,) = frame.segments  # norsk, arbeid and utdanning are neighbours: one frame
    assert segment.y == pytest.approx(min(lanes[c].y for c in held))
    assert segment.bottom == pytest.approx(max(lanes[c].bottom for c in held))
    assert segment.right <= min(r.x for r in lanes.values())
    assert layout.boxes[frame.offer].kind == "programme"


def test_programme_frames_are_split_around_lanes_they_do_not_hold(fixture_content, style, measure):
    prog = fixture_content.offer("introduksjonsprogrammet")
    content = dataclasses.replace(fixture_content, offers=tuple(
        dataclasses.replace(o, holds=("norsk", "supplerende")) if o.id == prog.id else o for o in fixture_content.offers))
    layout = layout_map(content, style, measure)
    lanes = {ln.category: ln.rect for ln in layout.lanes}
    (frame,) = layout.frames
    assert [(s.y, s.bottom) for s in frame.segments] == [
        (pytest.approx(lanes["norsk"].y), pytest.approx(lanes["norsk"].bottom)),
        (pytest.approx(lanes["supplerende"].y), pytest.approx(lanes["supplerende"].bottom)),
    ]
    assert geometry_problems(layout, content, measure) == []


# --- stable under edits -----------------------------------------------------------------------------


def _add_offer(content, category: str):
    template = next(o for o in content.offers if o.category == category and o.kind == "offer")
    new = dataclasses.replace(template, id="nytt-tilbud", title="Nytt tilbud lagt til i testen", short_title="", order=999, leads_to=(), combines_with=())
    return dataclasses.replace(content, offers=(*content.offers, new))


def _outside(layout: MapLayout, content, category: str) -> dict:
    """Everything on the sheet that does not belong to `category`."""
    own = next(a.rect for a in layout.areas if a.id == category)
    return {
        "boxes": {k: b for k, b in layout.boxes.items() if k == "nytt-tilbud" or content.offer(k).category != category},
        "extras": layout.extras,
        "frames": layout.frames,
        "areas": [a for a in layout.areas if a.id != category and a.kind != "zone"],
        "labels": [t for t in layout.labels if not own.contains(t.rect)],
        "swatches": layout.swatches,
    }


# Lanes whose share is full: one more offer there makes the map tighten or shrink to keep its paper.
FULL = {("fixture", "lanes"): {"hoyere", "supplerende"}, ("shipped", "lanes"): {"arbeid", "utdanning"}}


@pytest.mark.parametrize("arrangement", ["lanes", "columns"])
@pytest.mark.parametrize("category", ["kartlegging", "norsk", "arbeid", "utdanning", "hoyere", "supplerende"])
def test_adding_an_offer_moves_nothing_outside_its_category(fixture_content, style, measure, arrangement, category):
    if category in FULL.get(("fixture", arrangement), ()):
        return _keeps_its_paper(fixture_content, with_style(style, arrangement=arrangement), measure, category)
    style = with_style(style, arrangement=arrangement)
    before = layout_map(fixture_content, style, measure)
    grown_content = _add_offer(fixture_content, category)
    after = layout_map(grown_content, style, measure)
    assert "nytt-tilbud" in after.boxes
    old, new = _outside(before, fixture_content, category), _outside(after, grown_content, category)
    new["boxes"].pop("nytt-tilbud")
    for key in old:
        assert new[key] == old[key], f"adding an offer to {category} moved {key} elsewhere on the map"


@pytest.mark.parametrize("category", ["norsk", "arbeid", "utdanning", "hoyere", "supplerende"])
def test_adding_a_shipped_offer_moves_nothing_outside_its_category(shipped_content, style, measure, category):
    if category in FULL[("shipped", "lanes")]:
        return _keeps_its_paper(shipped_content, style, measure, category)
    before = layout_map(shipped_content, style, measure)
    grown_content = _add_offer(shipped_content, category)
    after = layout_map(grown_content, style, measure)
    old, new = _outside(before, shipped_content, category), _outside(after, grown_content, category)
    new["boxes"].pop("nytt-tilbud")
    assert new == old, f"lane {category} is full: one more offer makes it grow; raise its weight in theme.yaml targets.map.weights"


def _keeps_its_paper(content, style, measure, category):
    """A full lane: the map tightens its spacing or shrinks its type, and keeps its A3 sheet."""
    before = layout_map(content, style, measure)
    grown = _add_offer(content, category)
    after = layout_map(grown, style, measure)
    assert before.fits and after.fits and (after.width, after.height) == (420, 297)
    assert after.scale <= before.scale and after.boxes["nytt-tilbud"]
    assert geometry_problems(after, grown, measure) == []


# --- text measurement ----------------------------------------------------------------------------------


def test_kerning_from_the_font_tightens_pairs(measure):
    separate = measure.width("A", 10, "regular") + measure.width("V", 10, "regular")
    assert measure.width("AV", 10, "regular") < separate - 0.1  # GPOS pair kerning applies
    assert measure.width("AV", 10, "bold") != measure.width("AV", 10, "regular")


def test_wrap_never_exceeds_the_width(measure):
    text = f"{THIRTY_WORDS} {COMPOUND_40} AMO-kurs kvalifiseringsprogrammet"
    for width in (6, 12, 25, 40, 90):
        lines = measure.wrap(text, width, 2.8, "bold")
        assert all(measure.width(line, 2.8, "bold") <= width + 1e-9 for line in lines)
        assert "".join(lines).replace("-", "").replace(" ", "") == text.replace("-", "").replace(" ", "")


def test_wrap_breaks_at_words_then_hyphens_then_syllables(measure):
    text = "Norsk og samfunnskunnskap"
    assert measure.wrap(text, measure.width(text, 2.8) + 0.01, 2.8) == (text,)
    assert measure.wrap(text, measure.width(text, 2.8) - 0.01, 2.8) == ("Norsk og", "samfunnskunnskap")
    assert measure.wrap("AMO-kurs for voksne", measure.width("AMO-kurs fo", 2.8), 2.8)[0] == "AMO-kurs"
    lines = measure.wrap("Kvalifiseringsprogrammet", measure.width("Kvalifiserings-", 2.8) + 0.01, 2.8)
    assert lines == ("Kvalifiserings-", "programmet")


def test_wrap_keeps_every_word_and_never_adds_an_ellipsis(measure):
    text = "Tett, individuell hjelp fra en jobbveileder til å finne, komme i og beholde en jobb."
    lines = measure.wrap(text, 30, 2.47)
    assert len(lines) > 1 and " ".join(lines) == text and not any("…" in line for line in lines)


def test_compounds_break_at_their_joint_rather_than_the_last_syllable(measure):
    width = measure.width("samfunnskunn-", 3.35, "bold") + 0.01  # the last syllable would fit
    assert measure.wrap("samfunnskunnskap", width, 3.35, "bold") == ("samfunns-", "kunnskap")


@pytest.mark.parametrize("arrangement", ["lanes", "columns"])
def test_sparse_content_still_lays_out(fixture_content, style, measure, arrangement):
    """An empty lane, no programmes, no goals, no livelihood items: a plainer map, not a crash."""
    offers = tuple(o for o in fixture_content.offers if o.category != "hoyere" and o.kind != "programme")
    content = dataclasses.replace(fixture_content, offers=offers, financing=(),
                                  guide=dataclasses.replace(fixture_content.guide, goals=()))
    layout = layout_map(content, with_style(style, arrangement=arrangement), measure)
    assert geometry_problems(layout, content, measure) == []
    assert layout.frames == () and "hoyere" in {ln.category for ln in layout.lanes}
