"""The journeys target: timelines from Graphviz, routes on the map, the all-journeys view."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from mulighetskart.colour import contrast
from mulighetskart.errors import BuildError, MissingToolError
from mulighetskart.layout.journey import journey_text, readable_on
from mulighetskart.render import journeys
from mulighetskart.render.journeys import all_routes_svg, route_svg, timeline_dot, timeline_svg

from .conftest import FIXTURE_CONTENT, LAYOUTS, ROOT

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '"]; x [label="<script>alert(1)</script> & \\N \\" }'


def texts(element: ET.Element) -> str:
    """All text drawn inside an element, lines joined by spaces."""
    return " ".join(" ".join(t.itertext()) for t in element.iter(f"{SVG}text"))


def squash(text: str) -> str:
    """Text without spaces and hyphens: wrapping may break a word at a hyphenation point."""
    return re.sub(r"[\s\-]", "", text)


def by_id(root: ET.Element, ident: str) -> ET.Element:
    found = [e for e in root.iter() if e.get("id") == ident]
    assert found, f"no element with id {ident}"
    return found[0]


def x_range(element: ET.Element) -> tuple[float, float]:
    """Left and right of a dot cluster or node, from the numbers in its shapes (x,y pairs)."""
    xs = []
    for shape in element:
        for attr in ("d", "points"):
            if shape.get(attr):
                xs += [float(x) for x, _ in re.findall(r"(-?[\d.]+),(-?[\d.]+)", shape.get(attr))]
    return min(xs), max(xs)


@pytest.fixture(scope="module")
def amal_timeline(fixture_content, theme):
    return ET.fromstring(timeline_svg(fixture_content, theme, "amal").encode())


# --- timeline ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pid", ["amal", "bilal"])
def test_golden_timeline_dot(fixture_content, theme, golden, pid):
    golden(f"journeys/{pid}.dot", timeline_dot(fixture_content, theme, pid))


def test_timeline_shows_every_offer_of_every_phase(fixture_content, theme, amal_timeline):
    amal = next(p for p in fixture_content.personas if p.id == "amal")
    for i, phase in enumerate(amal.journey, 1):
        column = squash(texts(by_id(amal_timeline, f"amal-offers-{i}")))
        for offer_id in phase.offers:
            assert squash(fixture_content.offer(offer_id).title) in column


def test_phases_stand_in_time_order_left_to_right(fixture_content, amal_timeline):
    amal = next(p for p in fixture_content.personas if p.id == "amal")
    columns = [x_range(by_id(amal_timeline, f"amal-phase-{i}")) for i in range(1, len(amal.journey) + 1)]
    assert all(left[1] < right[0] for left, right in itertools.pairwise(columns))
    spans = [texts(by_id(amal_timeline, f"amal-span-{i}")) for i in range(1, len(amal.journey) + 1)]
    assert spans == ["0–3 mnd", "3–24 mnd", "24–48 mnd"]


def test_timeline_lanes_show_responsible_livelihood_and_transitions(fixture_content, theme, amal_timeline):
    assert texts(by_id(amal_timeline, "amal-lane-resp")) == theme.label("responsible")
    assert texts(by_id(amal_timeline, "amal-lane-live")) == theme.label("livelihood")
    assert "Voksenoppl." in texts(by_id(amal_timeline, "amal-responsible-2"))
    assert texts(by_id(amal_timeline, "amal-livelihood-1")) == "Introduksjonsstønad"
    assert squash("Kartleggingen viser behov for grunnskole.") == squash(texts(by_id(amal_timeline, "amal-transition-1")))
    card = texts(by_id(amal_timeline, "amal-card"))
    for words in ("Amal", "34 år, fra Somalia", "Fire år grunnskole", "Fagbrev som helsefagarbeider"):
        assert squash(words) in squash(card)


def test_timeline_root_has_title_and_desc_from_the_journey_text(fixture_content, theme, amal_timeline):
    children = [c.tag for c in amal_timeline]
    assert children[:2] == [f"{SVG}title", f"{SVG}desc"]
    assert amal_timeline[0].text == "Eksempelreise: Amal"
    amal = next(p for p in fixture_content.personas if p.id == "amal")
    assert amal_timeline[1].text == "\n".join(journey_text(fixture_content, theme, amal))
    assert amal_timeline.get("role") == "img"


def test_timeline_uses_the_theme_font_and_dot_finds_the_shipped_file(theme, fixture_content, amal_timeline, monkeypatch):
    families = {t.get("font-family") for t in amal_timeline.iter(f"{SVG}text")}
    assert families == {theme.fonts.family}
    found = []
    real = subprocess.run

    def run(args, **kwargs):  # ask fontconfig, in the environment dot runs in, which file it finds
        if args[0].endswith("dot"):
            found.append(real(["fc-match", "-f", "%{file}", theme.fonts.family], env=kwargs["env"], capture_output=True, text=True, check=True).stdout)
        return real(args, **kwargs)

    monkeypatch.setattr(journeys.subprocess, "run", run)
    before = dict(os.environ)
    timeline_svg(fixture_content, theme, "amal")
    assert found == [str(theme.font_path("regular"))]
    assert dict(os.environ) == before  # dot's own environment: the process's is left alone


def nasty_content(content):
    """Amal with markup and DOT syntax in every kind of text the timeline shows."""
    amal = next(p for p in content.personas if p.id == "amal")
    phases = tuple(dataclasses.replace(ph, title=f"{ph.title} {NASTY}", transition=NASTY) for ph in amal.journey)
    amal = dataclasses.replace(amal, name=f"Amal {NASTY}", journey=phases, goals=dataclasses.replace(amal.goals, short=NASTY))
    offers = tuple(dataclasses.replace(o, title=f"{o.title} {NASTY}") if o.id == "tolk" else o for o in content.offers)
    return dataclasses.replace(content, personas=(amal, *content.personas[1:]), offers=offers)


def test_content_cannot_break_the_dot_or_the_svg(fixture_content, theme):
    content = nasty_content(fixture_content)
    source = timeline_dot(content, theme, "amal")
    plain = timeline_dot(fixture_content, theme, "amal")
    statements = lambda dot: len(re.findall(r"^\s*(\w+)( \[| ->)", dot, re.M))  # noqa: E731
    assert statements(source) == statements(plain)  # no node or edge smuggled in
    root = ET.fromstring(timeline_svg(content, theme, "amal").encode())
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert squash(NASTY) in squash(texts(root))  # drawn as text, whole (wrapping may break it into lines)
    assert NASTY in root[0].text + root[1].text
    route = ET.fromstring(route_svg(content, theme, "amal").encode())
    assert not [e for e in route.iter() if e.tag.endswith("script")]
    assert squash(f"Tolk i samtaler {NASTY}") in squash(texts(route))


# --- failures of the tool ------------------------------------------------------------------------


def test_missing_dot_says_how_to_install_it(fixture_content, theme, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="apt-get install graphviz"):
        timeline_svg(fixture_content, theme, "amal")


def test_missing_dot_in_a_build_is_a_message_not_a_traceback(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    cmd = [sys.executable, "-m", "mulighetskart", "build", "--content", str(FIXTURE_CONTENT), "--layouts", str(LAYOUTS),
           "--out", str(tmp_path / "out"), "--only", "journeys"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 1
    assert "apt-get install graphviz" in done.stderr and "brew install graphviz" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "journeys").exists()


def test_a_graphviz_failure_is_a_build_error(fixture_content, theme, tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(BuildError, match="Graphviz failed on the timeline for 'amal': Error: syntax error") as failed:
        timeline_svg(fixture_content, theme, "amal")
    assert "apt-get install graphviz" in str(failed.value)


def test_targets_drawing_with_the_journeys_get_its_theme_section(fixture_content):
    """The handbook and the fragments call the journeys' contract functions: a build of only
    them loads targets.journeys (and the map's) too; a theme without it is a clear error."""
    from mulighetskart.build import theme_styles
    from mulighetskart.target import load_target
    from mulighetskart.theme import load_theme

    for name in ("handbook", "fragments"):
        assert {"map", "journeys", name} <= set(theme_styles([load_target(name)]))
    with pytest.raises(BuildError, match=r"without targets\.journeys"):
        timeline_dot(fixture_content, load_theme(LAYOUTS, {}), "amal")


def test_unknown_persona_is_a_build_error(fixture_content, theme):
    with pytest.raises(BuildError, match="no persona 'nobody'"):
        timeline_dot(fixture_content, theme, "nobody")


# --- routes ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def amal_route(fixture_content, theme):
    return ET.fromstring(route_svg(fixture_content, theme, "amal").encode())


def test_route_shows_every_offer_of_the_journey_numbered(fixture_content, amal_route):
    amal = next(p for p in fixture_content.personas if p.id == "amal")
    drawn = squash(texts(amal_route))
    offers = list(dict.fromkeys(o for ph in amal.journey for o in ph.offers))
    for offer_id in offers:
        assert squash(fixture_content.offer(offer_id).title) in drawn
    badges = [texts(g) for g in amal_route.iter(f"{SVG}g") if g.get("class") == "route-badge"]
    assert sorted(badges, key=int) == sorted([str(n) for n in range(1, len(offers) + 1)] * 2, key=int)  # on the map and in the key


def test_route_has_title_desc_and_the_map_inside(fixture_content, theme, amal_route):
    assert [c.tag for c in amal_route][:2] == [f"{SVG}title", f"{SVG}desc"]
    assert amal_route[0].text == "Rute gjennom mulighetskartet: Amal"
    amal = next(p for p in fixture_content.personas if p.id == "amal")
    assert amal_route[1].text == "\n".join(journey_text(fixture_content, theme, amal))
    nested = [c for c in amal_route if c.tag == f"{SVG}svg"]
    assert [c.get("id") for c in nested] == [None, "amal-route-overlay"], "the map, then the route over it"
    assert nested[0].get("viewBox") == nested[1].get("viewBox")
    assert "Mulighetskartet" in texts(nested[0])
    line = by_id(amal_route, "amal-route-amal")
    assert len(re.findall(r"[\d.]+,[\d.]+", line.get("points"))) >= 2


def test_route_fades_the_offers_off_the_route(fixture_content, amal_route):
    amal = next(p for p in fixture_content.personas if p.id == "amal")
    veil = next(e for e in amal_route.iter(f"{SVG}path") if e.get("class") == "route-veil")
    holes = veil.get("d").count("M") - 1
    assert holes == len({o for ph in amal.journey for o in ph.offers})
    assert veil.get("fill-rule") == "evenodd" and 0 < float(veil.get("fill-opacity")) < 1


def test_all_journeys_legend_names_every_persona(fixture_content, theme):
    root = ET.fromstring(all_routes_svg(fixture_content, theme).encode())
    drawn = texts(root)
    for persona in fixture_content.personas:
        assert persona.name in drawn
        assert by_id(root, f"alle-reiser-{persona.id}") is not None
    swatches = [g for g in root.iter(f"{SVG}g") if g.get("class") == "route-swatch"]
    assert len(swatches) == len(fixture_content.personas)


def test_persona_colours_are_distinct_and_carry_white_numbers(fixture_content, shipped_content, theme):
    style = theme.section("journeys")
    colours = journeys.persona_colours(shipped_content, style)
    assert len(set(colours.values())) == len(shipped_content.personas)
    for colour in style.persona_colours:
        assert contrast(colour, style.route.station_fill) >= 4.5


def test_timeline_text_is_readable_on_every_fill(theme):
    style = theme.section("journeys").timeline
    for fill in [*theme.colours.values(), style.axis_fill, style.phase_fill]:
        assert contrast(readable_on(fill, style), fill) >= 4.5, fill


# --- the target ------------------------------------------------------------------------------------


def render(content, theme, folder):
    from mulighetskart.publish import Writer
    from mulighetskart.target import Job

    writer = Writer(folder)
    journeys.run(Job(content, theme, content.guide.updated, None), writer.sub("journeys"))
    return writer


@pytest.fixture(scope="module")
def shipped_out(shipped_content, theme, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shipped")
    return render(shipped_content, theme, folder), folder / "journeys"


def test_shipped_content_renders_every_file(shipped_content, shipped_out):
    writer, folder = shipped_out
    for persona in shipped_content.personas:
        for suffix in (".svg", ".dot", ".png", "-rute.svg", "-rute.png"):
            assert f"journeys/{persona.id}{suffix}" in writer.written
    assert "journeys/alle-reiser.svg" in writer.written and "journeys/alle-reiser.png" in writer.written
    assert all((folder / name).read_bytes().startswith(b"\x89PNG") for name in os.listdir(folder) if name.endswith(".png"))


def test_shipped_journeys_show_every_offer_in_time_order(shipped_content, shipped_out):
    _, folder = shipped_out
    for persona in shipped_content.personas:
        timeline = ET.parse(folder / f"{persona.id}.svg").getroot()
        route = squash(texts(ET.parse(folder / f"{persona.id}-rute.svg").getroot()))
        columns = []
        for i, phase in enumerate(persona.journey, 1):
            offers = squash(texts(by_id(timeline, f"{persona.id}-offers-{i}")))
            for offer_id in phase.offers:
                title = squash(shipped_content.offer(offer_id).title)
                assert title in offers, (persona.id, i, offer_id)
                assert title in route, (persona.id, offer_id)
            columns.append(x_range(by_id(timeline, f"{persona.id}-phase-{i}")))
        assert all(left[1] < right[0] for left, right in itertools.pairwise(columns)), persona.id


def test_shipped_all_journeys_legend_names_every_persona(shipped_content, shipped_out):
    _, folder = shipped_out
    root = ET.parse(folder / "alle-reiser.svg").getroot()
    swatches = [g for g in root.iter(f"{SVG}g") if g.get("class") == "route-swatch"]
    assert len(swatches) == len(shipped_content.personas)
    drawn = texts(root)
    assert all(p.name in drawn for p in shipped_content.personas)


def test_two_renders_are_byte_identical(fixture_content, theme, tmp_path):
    assert render(fixture_content, theme, tmp_path / "a").written == render(fixture_content, theme, tmp_path / "b").written


def test_route_preview_looks_like_the_whole_route_map_drawn(fixture_content, theme):
    """The preview composed from the shared map rasters and the route's own regions, against
    librsvg drawing the whole document: the same picture, up to rounding on anti-aliased edges."""
    import io

    from PIL import Image, ImageChops

    from mulighetskart.render.rasterise import svg_to_png

    dirs = [theme.font_path("regular").parent]
    for pid in ("amal", "bilal"):
        whole = Image.open(io.BytesIO(svg_to_png(journeys.without_fonts(route_svg(fixture_content, theme, pid)), 900, dirs))).convert("RGBA")
        data = journeys.Drawings(fixture_content, theme).route(pid).png(900, font_dirs=dirs)
        composed = Image.open(io.BytesIO(data)).convert("RGBA")
        assert composed.size == whole.size
        diff = ImageChops.difference(whole, composed)
        assert max(high for _, high in diff.getextrema()) <= 16
        assert sum(1 for px in diff.get_flattened_data() if max(px) > 2) < whole.width * whole.height / 1000
        assert journeys.Drawings(fixture_content, theme).route(pid).png(900, font_dirs=dirs) == data


def test_route_preview_draws_the_map_once_for_every_route(fixture_content, theme, monkeypatch):
    """librsvg draws the map twice (plain and veiled) for all the routes, then per route only
    what the route adds."""
    from mulighetskart.render import rasterise

    drawn = []
    real = rasterise.rsvg
    monkeypatch.setattr(rasterise, "rsvg", lambda svg, *args: drawn.append(svg) or real(svg, *args))
    drawings = journeys.Drawings(fixture_content, theme)
    for p in fixture_content.personas:
        drawings.route(p.id).png(333)
    the_map = drawings.base.drawing
    assert [the_map in svg for svg in drawn] == [True, True] + [False] * len(fixture_content.personas)
