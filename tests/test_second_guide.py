"""Any guide: a second, unrelated guide (tests/fixtures/second-guide: a fictional
municipality's youth-employment guide in nynorsk, with its own categories, zones, actors and
personas) builds every target with the shipped layouts/, and nothing of the shipped guide
shows in what it makes: its wording comes from its own content, or is left out."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from mulighetskart.build import BuildOptions, build
from mulighetskart.content import load_content

from .conftest import ROOT, SHIPPED_CONTENT

SECOND = ROOT / "tests" / "fixtures" / "second-guide"
TEXT_FILES = (".html", ".svg", ".dot", ".json", ".ndjson", ".md", ".txt")  # and the PDFs' text; CSS has class names only
# What only the shipped guide says, whatever its items are called (the findings).
SHIPPED_PHRASES = ("Start: kartlegging", "arbeid eller utdanning", "kvalifiseringsløp", "kvalifiseringslop", "innvandrer",
                   "Ingen formelle krav", "Språkkrav", "IMDi", "CEFR", "sprakniva")


@pytest.fixture(scope="module")
def second(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("second") / "out"
    build(BuildOptions(content=SECOND, layouts=ROOT / "layouts", out=out, cache=out.parent / "cache"))
    return out


def shipped_words() -> set[str]:
    """The shipped guide's own phrases: its front matter and the names of everything in it
    (those of two words or more: 'Arbeidstrening' or 'Kommunen' belong to any guide)."""
    c = load_content(SHIPPED_CONTENT).content
    names = {c.guide.title, c.guide.subtitle, c.guide.publisher, *(o.title for o in c.offers), *(cat.title for cat in c.categories),
             *(a.name for a in c.actors), *(f.title for f in c.financing), *(p.name for p in c.personas), *(s.title for s in c.sources)}
    return {*SHIPPED_PHRASES, *(n for n in names if len(n.split()) > 1)}


def texts(out: Path) -> dict[str, str]:
    """Every text output, and the text of both PDFs as a reader sees it."""
    found = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.suffix in TEXT_FILES}
    for pdf in sorted(out.rglob("*.pdf")):
        found[pdf.relative_to(out).as_posix()] = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                                                                text=True, check=True).stdout
    return found


def test_second_guide_builds_every_target(second):
    for folder, wanted in {"map": "mulighetskart.svg", "journeys": "alle-reiser.svg", "handbook": "handbok-skjerm.pdf",
                           "fragments": "manifest.json"}.items():
        assert (second / folder / wanted).is_file(), f"{folder}/{wanted} missing"
    assert {p.name for p in (second / "journeys").glob("*-rute.svg")} == {"mira-rute.svg", "sander-rute.svg"}


def test_nothing_of_the_shipped_guide_leaks_into_it(second):
    words = shipped_words()
    own = "\n".join(p.read_text(encoding="utf-8") for p in SECOND.rglob("*.yaml"))
    assert not [w for w in words if w.lower() in own.lower()], "the second guide itself must not use the shipped guide's words"
    leaks = {(name, w) for name, text in texts(second).items() for w in words if re.search(re.escape(w), text, re.IGNORECASE)}
    leaks -= {("fragments/manifest.schema.json", "IMDi")}  # the tool's own schema address ($id), the same for every guide
    assert not leaks, f"the shipped guide's words in the second guide's outputs: {sorted(leaks)[:20]}"


def test_reference_pages_only_when_content_has_them(second):
    manifest = json.loads((second / "fragments" / "manifest.json").read_text(encoding="utf-8"))
    slugs = {i["slug"] for i in manifest["items"] if i["type"] == "page"}
    assert "ordliste" in slugs  # the guide has a glossary …
    assert not any("cefr" in i["title"].lower() or "språknivå" in i["title"].lower() for i in manifest["items"])  # … but no CEFR levels
    screen = texts(second)["handbook/handbok-skjerm.pdf"]
    assert "Ordliste" in screen and "Språknivå" not in screen


def test_its_language_reaches_every_output(second):
    """nynorsk: the fixed wording of layouts/ in nynorsk, and lang="nn" for screen readers,
    hyphenation and the PDF."""
    out = texts(second)
    assert '<html lang="nn">' in out["handbook/handbok-skjerm.html"]
    assert json.loads(out["fragments/manifest.json"])["language"] == "nn"
    assert 'xml:lang="nn"' in out["map/mulighetskart.svg"] and 'xml:lang="nn"' in out["journeys/alle-reiser.svg"]
    assert "Moglegheitskartet" in out["map/mulighetskart.svg"] and "Mulighetskartet" not in out["map/mulighetskart.svg"]
    assert "Innhald" in out["handbook/handbok-skjerm.pdf"]


def test_offer_boxes_link_only_where_the_guide_names_an_address(second):
    svg = (second / "map" / "mulighetskart.svg").read_text(encoding="utf-8")
    assert "<a " not in svg  # second guide has no offer_url
    shipped = load_content(SHIPPED_CONTENT).content.guide.offer_url
    assert shipped and "{id}" in shipped  # the shipped guide names its own
