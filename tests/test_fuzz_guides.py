"""Property tests over generated *valid* guides (issue: hardening): random ids; titles and
names in Norwegian with æøå, Arabic, Somali and Tigrinya, emoji and 40-letter compounds;
optional fields left out; 0–20 items per list. Every generated guide must load without a
problem, lay the map out with nothing overlapping, and give SVG, fragment HTML and handbook
HTML that parse; and every generated guide given to the whole-build property must build
every target, with SVG that parses and PDFs that pass `qpdf --check` (2 guides in the suite,
200 in CI's own run, 5,000 under `nox -s fuzz`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mulighetskart.build import BuildOptions, build
from mulighetskart.content import load_content
from mulighetskart.layout import handbook as hb_plan
from mulighetskart.layout.map import layout_map
from mulighetskart.layout.text import TextMeasure
from mulighetskart.render.fragments import SCHEMA_FILE, Generator, plan_package
from mulighetskart.render.handbook import html as hb
from mulighetskart.render.map_svg import map_style, map_svg
from mulighetskart.target import build_date

from .conftest import FIXTURE_CONTENT, LAYOUTS
from .test_fragments import allowlisted, headings_ok
from .test_map_layout import geometry_problems

pytestmark = pytest.mark.fuzz

# Whole builds (every target, both PDFs) cost 3-10 s each. The test suite runs 2, so it stays
# quick; CI then runs 200 on their own (.ci/run, profile "builds"), `nox -s fuzz` 5,000.
WHOLE_BUILDS = {"builds": 200, "fuzz": 5000}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 2)

WORDS = (
    "norsk", "opplæring", "språkpraksis", "Ærlig", "grønn", "Åpen", "fagbrev",  # bokmål
    "Arbeidsmarkedsopplæringskvalifiseringene",  # 40 letters, one word
    "التعليم", "اللغة النرويجية", "عمل",  # Arabic
    "waxbarasho", "shaqo", "Af-Soomaali",  # Somali
    "ትምህርቲ", "ስራሕ", "ትግርኛ",  # Tigrinya
    "🙂", "📚", "👩🏽‍🏫",  # emoji, one with a skin tone and a joiner
)
LETTERS = "abcdefghijklmnopqrstuvwxyzæøåéüABCÆØÅعربيሀለሐመ"

word = st.one_of(st.sampled_from(WORDS), st.text(alphabet=LETTERS, min_size=1, max_size=40))
text = st.lists(word, min_size=1, max_size=30).map(" ".join)
short_text = st.lists(word, min_size=1, max_size=4).map(" ".join)
ids = st.from_regex(r"[a-z][a-z0-9]{0,9}(-[a-z0-9]{1,6})?", fullmatch=True)


def q(value: str) -> str:
    """A YAML scalar: JSON strings are YAML double-quoted strings."""
    return json.dumps(value, ensure_ascii=False)


def flow(items) -> str:
    return "[" + ", ".join(items) + "]"


def collections() -> dict:
    """Ids the generated offers and personas may point at: the fixture's collection files."""
    loaded = load_content(FIXTURE_CONTENT).content
    cats = [(c.id, [g.id for g in c.groups]) for c in loaded.categories if c.zone in ("start", "lane")]
    return {"categories": cats, "actors": [a.id for a in loaded.actors], "financing": [f.id for f in loaded.financing],
            "sources": [s.id for s in loaded.sources]}


KNOWN = collections()


@st.composite
def offer_yaml(draw, offer_id: str, all_ids: list[str]) -> str:
    category, groups = draw(st.sampled_from(KNOWN["categories"]))
    others = [i for i in all_ids if i != offer_id]
    some = lambda pool, lo=0: st.lists(st.sampled_from(pool), min_size=lo, max_size=20, unique=True) if pool else st.just([])  # noqa: E731
    lines = [
        f"id: {offer_id}",
        f"title: {q(draw(text))}",
        f"summary: {q(draw(text)[:200].strip() or 'x')}",
        f"category: {category}",
        f"actors: {flow(draw(some(KNOWN['actors'], 1)))}",
        f"target_group: {q(draw(short_text))}",
        f"rights: {draw(st.sampled_from(['rett-og-plikt', 'rett', 'etter-vurdering', 'apent']))}",
        f"duration: {q(draw(short_text))}",
        f"body: {q(draw(text))}",
        "links:",
        *[f"  - {{title: {q(draw(short_text))}, url: {q('https://example.org/' + str(i))}}}" for i in range(draw(st.integers(1, 3)))],
        "sources:",
        f"  - {{ref: {draw(st.sampled_from(KNOWN['sources']))}}}",
    ]
    if groups:  # required where the category has groups
        lines.append(f"group: {draw(st.sampled_from(groups))}")
    if draw(st.booleans()):
        lines.append(f"short_title: {q(draw(short_text)[:40].strip() or 'x')}")
    if draw(st.booleans()):
        lines.append(f"language: {{level: {draw(st.sampled_from(['A1', 'A2', 'B1', 'B2', 'C1', 'C2']))}}}")
    for key, pool in (("livelihood", KNOWN["financing"]), ("combines_with", others), ("leads_to", others)):
        if draw(st.booleans()):
            lines.append(f"{key}: {flow(draw(some(pool)))}")
    return "\n".join(lines) + "\n"


@st.composite
def persona_yaml(draw, persona_id: str, offer_ids: list[str]) -> str:
    phases, month = [], 0
    for _ in range(draw(st.integers(1, 8))):
        length = draw(st.integers(1, 24))
        phase = [
            f"  - title: {q(draw(short_text))}",
            f"    start_month: {month}",
            f"    end_month: {month + length}",
            f"    offers: {flow(draw(st.lists(st.sampled_from(offer_ids), min_size=1, max_size=20, unique=True)))}",
            f"    responsible: {flow(draw(st.lists(st.sampled_from(KNOWN['actors']), min_size=1, max_size=5, unique=True)))}",
            f"    livelihood: {flow(draw(st.lists(st.sampled_from(KNOWN['financing']), min_size=1, max_size=5, unique=True)))}",
        ]
        if draw(st.booleans()):
            phase.append(f"    transition: {q(draw(text))}")
        phases += phase
        month += length
    return "\n".join([
        f"id: {persona_id}", f"name: {q(draw(short_text))}", f"age: {draw(st.integers(18, 70))}", f"origin: {q(draw(short_text))}",
        f"summary: {q(draw(text)[:200].strip() or 'x')}",
        f"background: {{education: {q(draw(short_text))}, work: {q(draw(short_text))}}}",
        f"goals: {{short: {q(draw(short_text))}, long: {q(draw(short_text))}}}",
        "journey:", *phases,
    ]) + "\n"


@st.composite
def guides(draw) -> dict[str, str]:
    """Offer and persona files (path → text) of one valid guide."""
    offer_ids = draw(st.lists(ids, min_size=1, max_size=20, unique=True))
    files = {f"offers/{i}.yaml": draw(offer_yaml(i, offer_ids)) for i in offer_ids}
    persona_ids = draw(st.lists(ids, max_size=3, unique=True))
    files |= {f"personas/{i}.yaml": draw(persona_yaml(i, offer_ids)) for i in persona_ids}
    return files


def write_guide(files: dict[str, str]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="mk-guide-")) / "content"
    shutil.copytree(FIXTURE_CONTENT, root, ignore=shutil.ignore_patterns("offers", "personas"))
    for rel, body in files.items():
        (root / rel).parent.mkdir(exist_ok=True)
        (root / rel).write_text(body, encoding="utf-8")
    return root


VOID = frozenset({"img", "br", "hr", "meta", "link", "col", "source", "wbr", "input"})


class StrictHTML(HTMLParser):
    """Collects tags left open or closed without opening (void elements aside)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag) -> None:
        if tag in VOID:
            return
        if not self.open or self.open.pop() != tag:
            self.errors.append(f"</{tag}> does not close the open element")


def html_problems(html: str) -> list[str]:
    parser = StrictHTML()
    parser.feed(html)
    parser.close()
    return parser.errors + [f"<{tag}> is never closed" for tag in parser.open]


@pytest.fixture(scope="module")
def lean_theme(theme):
    """The shipped theme without font embedding in the map (tested on its own elsewhere):
    every new text would otherwise cost a font subset."""
    map_section = dataclasses.replace(theme.section("map"), embed_fonts=False)
    return dataclasses.replace(theme, sections={**theme.sections, "map": map_section})


@given(files=guides())
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_every_generated_guide_loads_lays_out_and_renders_markup(files, lean_theme):
    theme = lean_theme
    root = write_guide(files)
    try:
        content = load_content(root).content  # a valid guide: no problem at all
        layout = layout_map(content, map_style(theme), TextMeasure.from_theme(theme))
        assert geometry_problems(layout, content, TextMeasure.from_theme(theme)) == []
        svg = ET.fromstring(map_svg(content, theme))
        offers = {g.get("id") for g in svg.iter("{http://www.w3.org/2000/svg}g") if (g.get("id") or "").startswith("offer-")}
        assert offers == {f"offer-{o.id}" for o in content.offers}

        style = theme.section("fragments")
        schema = (LAYOUTS / "fragments" / SCHEMA_FILE).read_bytes()
        package = plan_package(content, theme, style, (), schema, None, build_date(content).isoformat(), Generator("t", "0", "unknown"))
        for fragment in package.fragments:
            assert allowlisted(fragment.html) == fragment.html and headings_ok(fragment.html), fragment.stub.file
            assert html_problems(fragment.html) == [], fragment.stub.file

        hstyle = theme.section("handbook")
        book = hb_plan.plan_handbook(content, theme, hstyle, build_date(content))
        html_env, _ = hb.template_env(theme, hstyle)
        assert html_problems(hb.handbook_html(book, hb.edition("screen", hstyle), theme, hstyle, html_env)) == []
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


@given(files=guides())
@settings(max_examples=WHOLE_BUILDS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_generated_guides_build_every_target(files):
    root = write_guide(files)
    out = root.parent / "out"
    try:
        result = build(BuildOptions(root, LAYOUTS, out, cache=root.parent / "cache"))
        for rel in result.files:
            if rel.endswith(".svg"):
                ET.parse(out / rel)
            elif rel.endswith(".pdf"):
                check = subprocess.run(["qpdf", "--check", str(out / rel)], capture_output=True, text=True, check=False)
                assert check.returncode == 0, check.stdout + check.stderr
        assert any(rel.endswith(".pdf") for rel in result.files)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
