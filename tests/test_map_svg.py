"""The possibility map as a file: what designers, screen readers, renderers and the CMS get.

A golden file (fixture guide) guards the whole SVG; the other tests name the promises one by
one: every offer linked once with its title as text, named layers, real text in the shipped
fonts, readable sizes and contrast, escaping, determinism, and librsvg rendering it.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import struct
import subprocess
import xml.etree.ElementTree as ET
from io import BytesIO

import pytest
from fontTools.ttLib import TTFont

from mulighetskart.build import BuildOptions, build
from mulighetskart.colour import contrast
from mulighetskart.errors import ContentError, MissingToolError
from mulighetskart.layout.map import PT, MapStyle, layout_map
from mulighetskart.layout.text import TextMeasure
from mulighetskart.render.font_subsets import font_subset
from mulighetskart.render.map_svg import LAYERS, Palette, map_svg
from mulighetskart.render.rasterise import svg_to_png
from mulighetskart.target import load_target
from mulighetskart.theme import load_theme

from .chromium import CHROMIUMS, Chromium, need
from .conftest import FIXTURE_CONTENT, LAYOUTS

NS = {"svg": "http://www.w3.org/2000/svg", "inkscape": "http://www.inkscape.org/namespaces/inkscape"}
SVG = "{http://www.w3.org/2000/svg}"
INK = "{http://www.inkscape.org/namespaces/inkscape}"
FONT_DATA = re.compile(r"base64,[A-Za-z0-9+/=]+")


@pytest.fixture(scope="module")
def map_theme():
    return load_theme(LAYOUTS, {"map": MapStyle})


@pytest.fixture(scope="module")
def fixture_svg(fixture_content, map_theme) -> str:
    return map_svg(fixture_content, map_theme)


@pytest.fixture(scope="module")
def shipped_svg(shipped_content, map_theme) -> str:
    return map_svg(shipped_content, map_theme)


def restyled(theme, **changes):
    return dataclasses.replace(theme, sections={**theme.sections, "map": dataclasses.replace(theme.section("map"), **changes)})


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def text_of(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}tspan")]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", data[16:24])


# --- the golden file ---------------------------------------------------------------------------------


def test_fixture_map_matches_golden(fixture_svg, golden):
    # The embedded font data depends on the fontTools version; it is checked on its own below.
    golden("map/mulighetskart.svg", FONT_DATA.sub("base64,…", fixture_svg))


# --- every offer, once, linked, with its title ------------------------------------------------------


@pytest.mark.parametrize("which", ["fixture", "shipped"])
def test_every_offer_is_one_linked_box_with_its_title(which, fixture_content, shipped_content, fixture_svg, shipped_svg, map_theme):
    content, svg = (fixture_content, fixture_svg) if which == "fixture" else (shipped_content, shipped_svg)
    root = parse(svg)
    parents = {child: parent for parent in root.iter() for child in parent}
    pattern = content.guide.offer_url  # the guide names where the CMS shows an offer
    for offer in content.offers:
        found = [g for g in root.iter(f"{SVG}g") if g.get("id") == f"offer-{offer.id}"]
        assert len(found) == 1, f"offer {offer.id} appears {len(found)} times"
        group = found[0]
        link = parents[group]
        assert link.tag == f"{SVG}a" and link.get("href") == pattern.format(id=offer.id)
        assert group.find(f"{SVG}title").text == offer.title
        drawn = "".join(text_of(group)).replace("-", "").replace(" ", "")
        assert offer.map_title.replace("-", "").replace(" ", "") in drawn, f"{offer.id}: title not drawn as text"


def test_root_has_title_desc_and_language(fixture_svg, fixture_content):
    root = parse(fixture_svg)
    assert root[0].tag == f"{SVG}title" and "Mulighetskartet" in root[0].text
    desc = root[1].text
    assert root[1].tag == f"{SVG}desc"
    for offer in fixture_content.offers:
        assert offer.title in desc, "the description lists every offer for screen readers"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "nb"


def test_map_is_a_graphics_document_named_by_its_title_and_described_by_its_desc(fixture_svg, fixture_content):
    root = parse(fixture_svg)
    assert root.get("role") == "graphics-document"  # not an image: its offer links stay reachable
    assert root.get("aria-labelledby") == root[0].get("id") and root.get("aria-describedby") == root[1].get("id")
    assert [e for e in root.iter() if e.get("aria-hidden")] == []
    assert len(list(root.iter(f"{SVG}a"))) == len(fixture_content.offers)


def test_layers_open_as_named_layers(fixture_svg):
    root = parse(fixture_svg)
    layers = [g for g in root if g.tag == f"{SVG}g"]
    assert [g.get("id") for g in layers] == list(LAYERS)
    for g in layers:
        assert g.get(f"{INK}groupmode") == "layer" and g.get(f"{INK}label") == g.get("id")
    by_id = {g.get("id"): g for g in layers}
    assert by_id["connectors"].findall(f"{SVG}path"), "leads_to connectors are drawn in their own layer"
    assert len(by_id["offers"].findall(f"{SVG}a")) == len([o for o in parse(fixture_svg).iter(f"{SVG}a")])


def test_paper_size_a3_and_a2(fixture_svg, fixture_content, map_theme):
    root = parse(fixture_svg)
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("420mm", "297mm", "0 0 420 297")
    a2 = parse(map_svg(fixture_content, restyled(map_theme, paper="A2")))
    assert (a2.get("width"), a2.get("height"), a2.get("viewBox")) == ("594mm", "420mm", "0 0 594 420")


# --- legible for everyone ---------------------------------------------------------------------------


def test_nothing_is_smaller_than_the_themes_minimum(shipped_svg, map_theme):
    """The layout may shrink type to fit its paper, never below min_text (6 pt by default)."""
    floor = map_theme.section("map").min_text
    assert floor >= 6
    sizes = [float(t.get("font-size")) for t in parse(shipped_svg).iter(f"{SVG}text")]
    assert sizes and min(sizes) >= round(floor * PT, 2) - 0.005  # user units are millimetres on the A3 sheet


def test_text_contrast_is_at_least_4_5(shipped_content, map_theme):
    style = map_theme.section("map")
    palette = Palette.of(style, map_theme, shipped_content)
    for fg_name, bg_name, fg, bg in palette.text_pairs():
        assert contrast(fg, bg) >= 4.5, f"{fg_name} {fg} on {bg_name} {bg}"
    layout = layout_map(shipped_content, style, TextMeasure.from_theme(map_theme))
    blocks = [*layout.labels, *(t for b in layout.all_boxes() for t in b.texts), *(m.label for b in layout.all_boxes() for m in b.marks)]
    for block in blocks:
        fg, bg = palette.fill(block), palette.background(block.on)
        assert contrast(fg, bg) >= 4.5, f"{block.lines[0]!r}: {fg} on {bg}"


def test_contrast_check_refuses_a_pale_theme(fixture_content, map_theme):
    pale = restyled(map_theme, colours=dataclasses.replace(map_theme.section("map").colours, muted="#b0b0b0"))
    with pytest.raises(ContentError, match=r"theme\.yaml:\d+:\d+: error: text colour #b0b0b0 .* at least 4.5:1"):
        load_target("map").run(_job(fixture_content, pale), None)


def test_a_size_below_min_text_is_refused_with_its_place(fixture_content, map_theme):
    small = restyled(map_theme, sizes=dataclasses.replace(map_theme.section("map").sizes, summary=5.5))
    with pytest.raises(ContentError, match=r"theme\.yaml:\d+:\d+: error: summary is 5\.5 pt; nothing on the map may be smaller than min_text \(6 pt\)"):
        load_target("map").run(_job(fixture_content, small), None)


def _job(content, theme):
    from mulighetskart.target import Job

    return Job(content, theme, content.guide.updated, None)


# --- text stays text, in the shipped fonts ----------------------------------------------------------


def test_fonts_travel_inside_the_svg(fixture_svg):
    """Subsets of the shipped Noto Sans ride along as WOFF2, so browsers and WeasyPrint need no installed font."""
    face = r'@font-face\{font-family:"([^"]+)";font-weight:(\d+);font-style:normal;src:url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)'
    faces = re.findall(face, fixture_svg)
    assert {(family, weight) for family, weight, _ in faces} == {("Noto Sans", "400"), ("Noto Sans", "700")}
    covered = set()
    for _, _, data in faces:
        font = TTFont(BytesIO(base64.b64decode(data)))
        assert font["name"].getDebugName(1) == "Noto Sans"
        assert "Open Font License" in (font["name"].getDebugName(13) or ""), "the OFL notice travels with the font"
        covered |= set(font.getBestCmap())
    root = parse(fixture_svg)
    assert root.get("font-family").startswith("Noto Sans")
    drawn = {ord(c) for c in "".join(text_of(root)) if not c.isspace()}
    assert drawn <= covered, "every drawn letter is in the embedded fonts"
    assert not root.findall(f".//{SVG}path[@class='text']"), "text is never turned into outlines"


def test_font_subset_is_deterministic(map_theme):
    path = map_theme.font_path("regular")
    first = font_subset(path, "Kvalifiseringsløp ÆØÅ")
    assert font_subset(path, "Kvalifiseringsløp ÆØÅ") == first


def test_hostile_titles_are_escaped(fixture_content, map_theme):
    evil = '<script>alert(1)</script> "]; x [label=" & <b>'
    offers = tuple(dataclasses.replace(o, title=evil, short_title="", summary=evil) if o.id == "amo" else o for o in fixture_content.offers)
    svg = map_svg(dataclasses.replace(fixture_content, offers=offers), map_theme)
    root = parse(svg)  # still well-formed XML
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "offer-amo")
    assert group.find(f"{SVG}title").text == evil


def test_connectors_can_be_switched_off_in_the_theme(fixture_content, map_theme):
    style = map_theme.section("map")
    svg = map_svg(fixture_content, restyled(map_theme, connectors=dataclasses.replace(style.connectors, show=False)))
    connectors = next(g for g in parse(svg) if g.get("id") == "connectors")
    assert len(connectors) == 0


def test_link_pattern_can_point_inside_the_handbook(fixture_content, map_theme):
    svg = map_svg(fixture_content, map_theme, href="#offer-{id}")
    assert 'href="#offer-amo"' in svg


# --- deterministic, and real renderers draw it -------------------------------------------------------


def test_same_input_gives_the_same_svg(fixture_content, map_theme, fixture_svg):
    assert map_svg(fixture_content, map_theme) == fixture_svg


def test_librsvg_renders_the_map(shipped_svg, tmp_path):
    path = tmp_path / "map.svg"
    path.write_text(shipped_svg, encoding="utf-8")
    done = subprocess.run(["rsvg-convert", "--width", "800", str(path)], capture_output=True, check=False)
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()
    assert png_size(done.stdout)[0] == 800


# In the opened SVG: no XML error, the embedded fonts loaded, and every text line of every
# offer inside its box as Chromium itself measures it (a font fallback would overflow).
CHROMIUM_CHECK = """(async () => {
  await document.fonts.ready;
  const faces = [...document.fonts].map(f => `${f.family}:${f.weight}:${f.status}`);
  const offers = [...document.querySelectorAll('g[id^="offer-"]')];
  const overflow = [];
  for (const g of offers) {
    const box = g.querySelector('rect').getBoundingClientRect();  // on screen: rotated labels included
    for (const line of g.querySelectorAll('tspan')) {
      const b = line.getBoundingClientRect();
      if (b.left < box.left || b.right > box.right || b.top < box.top || b.bottom > box.bottom)
        overflow.push(`${g.id}: ${line.textContent}`);
    }
  }
  return {root: document.documentElement.localName, errors: document.getElementsByTagName('parsererror').length,
          faces, offers: offers.length, overflow};
})()"""


def test_headless_chromium_renders_the_map_with_its_fonts(shipped_svg, shipped_content, tmp_path):
    path = tmp_path / "mulighetskart.svg"
    path.write_text(shipped_svg, encoding="utf-8")
    browser = Chromium(need("chromium", CHROMIUMS))
    try:
        browser.call("Page.enable", page=True)
        browser.open(path.as_uri())
        seen = browser.evaluate(CHROMIUM_CHECK)
    finally:
        browser.close()
    assert seen["root"] == "svg" and seen["errors"] == 0
    assert seen["faces"] and all(face.endswith(":loaded") for face in seen["faces"]), seen["faces"]
    assert seen["offers"] == len(shipped_content.offers)
    assert seen["overflow"] == []


def test_png_preview_is_2000_px_wide_and_repeatable(shipped_svg):
    first = svg_to_png(shipped_svg, 2000)
    width, height = png_size(first)
    assert width == 2000 and abs(height - round(2000 * 297 / 420)) <= 1
    assert svg_to_png(shipped_svg, 2000) == first


def test_missing_renderer_says_how_to_install_it(fixture_svg, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(MissingToolError, match="apt-get install librsvg2-bin"):
        svg_to_png(fixture_svg, 100)


def test_build_writes_svg_and_png_twice_identically(tmp_path):
    outs = []
    for name in ("one", "two"):
        result = build(BuildOptions(content=FIXTURE_CONTENT, layouts=LAYOUTS, out=tmp_path / name, only=("map",)))
        assert set(result.files) >= {"map/mulighetskart.svg", "map/mulighetskart.png"}
        outs.append({p: (tmp_path / name / p).read_bytes() for p in ("map/mulighetskart.svg", "map/mulighetskart.png")})
    assert outs[0] == outs[1]
    assert png_size(outs[0]["map/mulighetskart.png"])[0] == 2000


# --- designers steer it from the theme ---------------------------------------------------------------


def test_a_typo_in_a_theme_id_is_reported_with_its_place(fixture_content, map_theme):
    typo = restyled(map_theme, weights={**map_theme.section("map").weights, "utdaning": 2})
    with pytest.raises(ContentError, match=r"theme\.yaml:\d+:\d+: error: unknown colour token 'utdaning' in weights \(did you mean 'utdanning'\?\)"):
        load_target("map").run(_job(fixture_content, typo), None)


def test_one_actor_can_have_its_own_marker_colour(fixture_content, map_theme):
    root = parse(map_svg(fixture_content, restyled(map_theme, actor_colours={"nav": "#123456"})))
    amo = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "offer-amo")
    assert [c.get("fill") for c in amo.iter(f"{SVG}circle")] == ["#123456"]
    legend = next(g for g in root if g.get("id") == "legend")
    assert "NAV" in text_of(legend) and any(c.get("fill") == "#123456" for c in legend.iter(f"{SVG}circle"))


def test_the_date_shown_is_the_build_date(fixture_content, map_theme):
    import datetime as dt

    svg = map_svg(fixture_content, map_theme, date=dt.date(2030, 1, 2))
    assert "Oppdatert 2. januar 2030" in text_of(parse(svg))


def test_fonts_can_be_left_out_for_installed_use(fixture_content, map_theme):
    svg = map_svg(fixture_content, restyled(map_theme, embed_fonts=False))
    assert "@font-face" not in svg and parse(svg).get("font-family").startswith("Noto Sans")


def test_sparse_content_renders(fixture_content, map_theme):
    offers = tuple(o for o in fixture_content.offers if o.kind != "programme")
    content = dataclasses.replace(fixture_content, offers=offers, financing=(), guide=dataclasses.replace(fixture_content.guide, goals=()))
    root = parse(map_svg(content, map_theme))
    assert len([g for g in root.iter(f"{SVG}g") if g.get("id", "").startswith("offer-")]) == len(offers)
