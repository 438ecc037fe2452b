"""The screen edition as a screen reader reads it (PDF/UA-1): every text tagged or an artifact,
real words in structure order, links that say where they go, whole tables with header
scopes, headings without skipped levels.

The fixture guide's handbook is built once; tests/screen_reader.py reads it independently of
the code that writes the tags (pdfminer.six for the pages' marked content, pikepdf for the
tree). A long table laid out by WeasyPrint alone checks what the fixture's pages may not hold.
"""

from __future__ import annotations

import dataclasses
import html
import io
import re
from pathlib import Path

import pikepdf
import pytest
import weasyprint

from mulighetskart.build import BuildOptions, build
from mulighetskart.layout import handbook as hb_plan
from mulighetskart.render.handbook.html import style_problems
from mulighetskart.render.handbook.reading import Reading, source_words
from mulighetskart.render.handbook.tagging import mend_tagged_pdf
from mulighetskart.theme import load_theme

from .conftest import FIXTURE_CONTENT, LAYOUTS
from .screen_reader import Reading as ScreenReading
from .screen_reader import is_element, kids, page_contents

SCREEN = "handbok-skjerm"
LETTERS = re.compile(r"[^\W\d_]+")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("screen")
    build(BuildOptions(FIXTURE_CONTENT, LAYOUTS, root / "out", only=("handbook",), jobs=1))
    return root / "out" / "handbook"


@pytest.fixture(scope="module")
def reader(built):
    path = built / f"{SCREEN}.pdf"
    with pikepdf.open(path) as pdf:
        yield ScreenReading(pdf, page_contents(path))


@pytest.fixture(scope="module")
def style():
    return load_theme(LAYOUTS, {"handbook": hb_plan.HandbookStyle}).section("handbook")


@pytest.fixture(scope="module")
def labels(style):
    return style.labels


def links(reader) -> list:
    return [e for e in reader.elements() if e.S == "/Link"]


def annotations(link) -> list:
    return [kid.Obj for e in [link, *_below(link)] for kid in kids(e) if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR"]


def _below(element):
    for kid in kids(element):
        if is_element(kid):
            yield kid
            yield from _below(kid)


# --------------------------------------------------------------------------- artifacts


def test_every_text_is_tagged_or_an_artifact(reader, fixture_content):
    tagged = reader.tagged()
    untagged = [(n, text) for n, page in enumerate(reader.pages, 1) for text in page.untagged]
    orphans = [(n + 1, text) for n, page in enumerate(reader.pages) for mcid, text in page.texts.items() if (n, mcid) not in tagged]
    assert untagged == []
    assert orphans == []  # marked content the tree does not hold is as good as untagged
    # the running heads and page numbers are there, as artifacts
    assert sum(fixture_content.guide.title in " ".join(page.artifacts) for page in reader.pages) > len(reader.pages) // 2
    assert "12" in reader.pages[11].artifacts


# --------------------------------------------------------------------------- words


def source_vocabulary(built: Path, labels: dict) -> set[str]:
    """Every word of the HTML: its text, its alt texts (what a figure reads), the labels."""
    text = (built / f"{SCREEN}.html").read_text(encoding="utf-8")
    alts = " ".join(re.findall(r'alt="([^"]*)"', text))
    body = html.unescape(re.sub(r"<[^>]+>", " ", text) + " " + alts).replace("\u00ad", "")
    return {w.lower() for w in LETTERS.findall(body + " " + " ".join(labels.values()))}


def test_structure_order_text_has_the_source_words(reader, built, labels):
    text = reader.text(reader.pdf.Root.StructTreeRoot.K[0])
    assert "\u2010" not in text  # no hyphen inserted by hyphenation
    vocabulary = source_vocabulary(built, labels)
    strange = sorted({w for w in LETTERS.findall(text) if w.lower() not in vocabulary})
    assert strange == []  # a word glued across a line break or split by a hyphen is not in the source
    assert len(LETTERS.findall(text)) > 2000


def test_hyphenated_words_read_whole(reader, built):
    hyphenated = sum(page.texts.get(m, "").endswith("\u2010") for page in reader.pages for m in page.texts)
    assert hyphenated > 3  # the fixture's pages do hyphenate: the check above is not empty


# --------------------------------------------------------------------------- links


def test_page_references_read_apart_from_their_link_text(reader, labels):
    spoken = re.escape(labels["spoken_page_ref"]).replace(re.escape("{page}"), r"\d+")
    internal = [link for link in links(reader) if any("/Dest" in a for a in annotations(link))]
    texts = [" ".join(reader.text(link).split()) for link in internal]
    with_number = [t for t in texts if re.search(r"\d+$", t)]
    assert len(with_number) > 50
    assert [t for t in with_number if not re.search(spoken.strip() + "$", t)] == []
    assert [t for t in texts if ". ." in t] == []  # contents and index entries read without their leaders


def test_links_say_where_they_go_and_do_not_nest(reader):
    dests = {str(reader.pdf.Root.Names.Dests.Names[i]) for i in range(0, len(reader.pdf.Root.Names.Dests.Names), 2)}
    found = links(reader)
    assert [link for link in found if any(e.S == "/Link" for e in _below(link))] == []
    described = [str(a.get("/Contents", "")) for link in found for a in annotations(link)]
    assert len(described) >= len(found) > 100
    on_pages = [a for page in reader.pdf.pages for a in page.get("/Annots", []) if a.get("/Subtype") == "/Link"]
    assert len(on_pages) == len(described)  # every link annotation belongs to a link element
    assert [d for d in described if not d.strip() or d in dests or re.fullmatch(r"[\s.\d\u2007]*", d)] == []
    assert [d for d in described if re.fullmatch(r"https?://\S+", d)] == []  # a bare address says who it is from


def test_a_spoken_page_reference_without_its_number_is_refused(style):
    silent = dataclasses.replace(style, labels={**style.labels, "spoken_page_ref": ", side"})
    assert [p.message for p in style_problems(silent)] == ["labels.spoken_page_ref must say where the page number goes, e.g. ', side {page}'"]
    assert style_problems(style) == []


# --------------------------------------------------------------------------- tables and headings


def test_tables_are_whole_and_every_header_cell_has_a_scope(reader, built):
    elements = list(reader.elements())
    tables = [e for e in elements if e.S == "/Table"]
    assert len(tables) == (built / f"{SCREEN}.html").read_text(encoding="utf-8").count("<table")
    headers = [e for e in elements if e.S == "/TH"]
    assert headers
    assert [e for e in headers if str(e.get("/A", {}).get("/Scope")) not in ("/Row", "/Column")] == []
    for table in tables:
        assert sum(1 for e in _below(table) if e.S == "/THead") <= 1


def test_an_element_over_a_page_break_is_one_and_parts_stay_apart(reader):
    top = kids(reader.pdf.Root.StructTreeRoot.K[0])
    pages = reader.page_index
    spanning = [e for e in top if len({pages[k.Pg.objgen] for k in [e, *_below(e)] if "/Pg" in k}) > 1]
    assert spanning  # the fixture's long offers run over a page break
    assert [e for e in top if sum(1 for k in _below(e) if k.S == "/H1") > 1] == []  # one part, one chapter


def _spoken_in(element, lang: str) -> list:
    """(language, element) of every element, depth first: its own /Lang, or the one around it."""
    found = []
    for kid in kids(element):
        if is_element(kid):
            own = str(kid.get("/Lang", lang))
            found += [(own, kid), *_spoken_in(kid, own)]
    return found


def test_each_handout_is_spoken_in_its_language_and_its_review_note_in_norwegian(reader):
    """A screen reader picks its voice by /Lang: the Arabic handout in Arabic (read right to
    left), the English one in English, the Norwegian note on their review status in Norwegian."""
    spoken = [(lang, str(e.S), reader.text(e)) for lang, e in _spoken_in(reader.pdf.Root.StructTreeRoot.K[0], str(reader.pdf.Root.Lang))]
    leaves = [(lang, text) for lang, tag, text in spoken if tag in {"/P", "/H1", "/H2", "/H3", "/LBody", "/TD", "/TH", "/Span"}]
    arabic = [(lang, text) for lang, text in leaves if re.search("[\u0600-\u06ff]", text)]
    assert arabic and {lang for lang, _ in arabic} == {"ar"}, arabic
    assert any("A1" in text for _, text in arabic) and not any("1A" in text for _, text in arabic)  # a level's name keeps its order
    assert ("en", "The levels") in [(lang, text.strip()) for lang, tag, text in spoken if tag == "/H1"]
    notes = [lang for lang, tag, text in spoken if tag == "/P" and text.startswith("Utkast")]
    assert notes and set(notes) == {"nb"}, notes
    assert str(reader.pdf.Root.Lang) == "nb"


def test_headings_do_not_skip_levels(reader):
    level, skips = 0, []
    for element in reader.elements():
        found = re.fullmatch(r"/H(\d)", str(element.S))
        if found:
            if int(found.group(1)) > level + 1:
                skips.append((level, reader.text(element)))
            level = int(found.group(1))
    assert skips == []


# --------------------------------------------------------------------------- a table over pages


LONG_TABLE = """<!DOCTYPE html><html lang="nb"><head><title>Tabell</title><style>
@page { size: A6; margin: 10mm; @top-center { content: "Løpende tittel"; } @bottom-right { content: counter(page); } }
body { font: 9pt sans-serif; hyphens: auto; }
a.ref::after { content: "s. " attr(data-page); } a.out::after { content: " (" attr(href) ")"; }
thead { display: table-header-group; } td, th { border: 0.4pt solid; }
</style></head><body><section><h1>Tabell</h1>
<p>Kvalifiseringsprogrammet og introduksjonsprogrammet <a href="#slutt">kombineres med arbeidsrettede tiltak</a> i kommunene.</p>
<p>Se <a class="ref" href="#slutt" data-page="4">slutten</a> og <a class="out" href="https://lovdata.no/lov/2020-11-06-127">loven</a>.</p>
<table><thead><tr><th scope="col">Tilbud</th><th scope="col">Introduksjonsstønad</th></tr></thead><tbody>
{rows}
</tbody></table><p id="slutt">Slutt.</p></section></body></html>"""


@pytest.fixture(scope="module")
def long_table(tmp_path_factory):
    rows = "\n".join(f'<tr><th scope="row">Tilbud {i}</th><td>Ja</td></tr>' for i in range(60))
    source = LONG_TABLE.replace("{rows}", rows)
    pdf = pikepdf.open(io.BytesIO(weasyprint.HTML(string=source).write_pdf(pdf_variant="pdf/ua-1")))
    mend_tagged_pdf(pdf, Reading(", side {page}", source_words(source)))
    path = tmp_path_factory.mktemp("table") / "table.pdf"
    pdf.save(path)
    with pikepdf.open(path) as saved:
        yield ScreenReading(saved, page_contents(path))


def test_a_table_over_pages_is_one_table_with_one_head(long_table):
    assert len(long_table.pdf.pages) > 2
    elements = list(long_table.elements())
    tables = [e for e in elements if e.S == "/Table"]
    assert len(tables) == 1
    parts = [e.S for e in kids(tables[0]) if is_element(e)]
    assert parts == ["/THead", "/TBody"]
    rows = [e for e in _below(tables[0]) if e.S == "/TR"]
    assert len(rows) == 61
    scopes = {long_table.text(e).strip(): str(e.A.Scope) for e in _below(tables[0]) if e.S == "/TH"}
    assert scopes["Tilbud"] == "/Column" and scopes["Tilbud 0"] == "/Row"
    # the head repeated on later pages and the running heads are artifacts
    assert any("Introduksjonsstønad" in " ".join(page.artifacts) for page in long_table.pages[1:])
    assert all("Løpende tittel" in " ".join(page.artifacts) for page in long_table.pages)


def test_a_link_over_two_lines_is_one_link(long_table):
    found = [e for e in long_table.elements() if e.S == "/Link"]
    assert len(found) == 3
    assert " ".join(long_table.text(found[0]).split()) == "kombineres med arbeidsrettede tiltak"
    assert {str(a.Contents) for a in annotations(found[0])} == {"kombineres med arbeidsrettede tiltak"}


def test_a_page_number_reads_as_words_and_an_address_as_itself(long_table):
    reference, outside = [e for e in long_table.elements() if e.S == "/Link"][1:]
    assert long_table.text(reference) == "slutten, side 4"
    assert " ".join(long_table.text(outside).split()) == "loven (https://lovdata.no/lov/2020-11-06-127)"
