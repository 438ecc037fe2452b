"""The handbook: a print-shop-ready print edition and a tagged, accessible screen edition.

One build of the fixture guide per session feeds most tests (the PDFs are inspected with
pikepdf and poppler's tools); the shipped guide is built once, without goldens.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
import weasyprint
from fontTools.ttLib import TTFont
from PIL import Image

from mulighetskart.build import BuildOptions, build
from mulighetskart.errors import BuildError, MissingToolError
from mulighetskart.layout import handbook as hb_plan
from mulighetskart.memo import NO_MEMO
from mulighetskart.render.handbook import figures as hb_figures
from mulighetskart.render.handbook import html as hb_html
from mulighetskart.render.handbook import page_numbers as hb_numbers
from mulighetskart.render.handbook import parts as hb_parts
from mulighetskart.render.handbook import weasy as hb_weasy
from mulighetskart.target import build_date
from mulighetskart.theme import load_theme

from .conftest import FIXTURE_CONTENT, LAYOUTS, ROOT

MM = 72 / 25.4  # PDF points per millimetre
A4 = (210 * MM, 297 * MM)
A3_LANDSCAPE = (420 * MM, 297 * MM)
PRINT, SCREEN = "handbok-trykk.pdf", "handbok-skjerm.pdf"


@pytest.fixture(scope="session")
def style():
    return load_theme(LAYOUTS, {"handbook": hb_plan.HandbookStyle}).section("handbook")


@pytest.fixture(scope="session")
def hb_theme():
    return load_theme(LAYOUTS, {"handbook": hb_plan.HandbookStyle})


@pytest.fixture(scope="session")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("handbook")
    build(BuildOptions(FIXTURE_CONTENT, LAYOUTS, root / "a", only=("handbook",), jobs=1))
    return root / "a" / "handbook"


@pytest.fixture(scope="session")
def screen(out):
    with pikepdf.open(out / SCREEN) as pdf:
        yield pdf


@pytest.fixture(scope="session")
def printed(out):
    with pikepdf.open(out / PRINT) as pdf:
        yield pdf


def bookmarks(pdf) -> list[tuple[int, str, int]]:
    """(level, title, 1-based page) for every bookmark, in order."""
    pages = {page.objgen: i for i, page in enumerate(pdf.pages, 1)}
    found = []

    def walk(items, level):
        for item in items:
            found.append((level, item.title, pages[item.destination[0].objgen]))
            walk(item.children, level + 1)

    with pdf.open_outline() as tree:
        walk(tree.root, 1)
    return found


@pytest.fixture(scope="session")
def outline(screen) -> dict[str, int]:
    """Bookmark title -> page; an offer wins over a chapter of the same title (level 2 over 1)."""
    return {title: page for _, title, page in sorted(bookmarks(screen))}


def page_text(pdf_path: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(pdf_path), "-"]
    text = subprocess.run(args, capture_output=True, check=True, text=True).stdout
    return " ".join(text.split())


# --------------------------------------------------------------------------- both editions


def test_generated_html_and_css_match_the_goldens(out, golden):
    for name in ("handbok-trykk.html", "handbok-skjerm.html", "handbok.css", "handbok-trykk.css", "handbok-skjerm.css"):
        golden(f"handbook/{name}", (out / name).read_text(encoding="utf-8"))


def test_both_pdfs_pass_qpdf_check(out):
    for name in (PRINT, SCREEN):
        done = subprocess.run(["qpdf", "--check", str(out / name)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_font_is_embedded(out):
    for name in (PRINT, SCREEN):
        rows = subprocess.run(["pdffonts", str(out / name)], capture_output=True, check=True, text=True).stdout.splitlines()[2:]
        assert rows, "no fonts at all"
        # columns: name type encoding emb sub uni object ID; type may hold spaces, so read from the right
        assert all(row.split()[-5] == "yes" for row in rows), "\n".join(rows)


def test_font_subsets_carry_the_fonts_own_date_not_the_build_time(printed, screen):
    """Reproducible PDFs: a subset made by fontTools (where HarfBuzz's subsetter is missing)
    is stamped with the time of the build, so each build gave other bytes."""
    shipped = {TTFont(path)["head"].modified for path in (ROOT / "fonts").glob("*.ttf")}
    for pdf in (printed, screen):
        files = [obj.FontFile2.read_bytes() for obj in pdf.objects if isinstance(obj, pikepdf.Dictionary) and "/FontFile2" in obj]
        assert files
        assert {TTFont(io.BytesIO(data))["head"].modified for data in files} <= shipped


def test_the_handbook_asks_for_harfbuzz_subset_where_it_is_missing(monkeypatch):
    import weasyprint.text.ffi

    monkeypatch.setattr(weasyprint.text.ffi, "harfbuzz_subset", None)
    with pytest.raises(MissingToolError, match="apt-get install libharfbuzz-subset0"):
        hb_weasy.check_font_subsetter()


def test_diagrams_stay_vector_and_images_have_300_ppi(out, printed, screen):
    """The figures are drawings (forms), not pictures; any raster part would print at 300 ppi
    or more."""
    for pdf in (printed, screen):
        forms = [obj for obj in pdf.objects if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Form"]
        assert len(forms) >= 1 + 2 * 2  # the map, and a timeline and a route per persona
    listing = subprocess.run(["pdfimages", "-list", str(out / PRINT)], capture_output=True, check=True, text=True).stdout
    for row in listing.splitlines()[2:]:
        cols = row.split()
        assert cols[2] != "image" or min(float(cols[12]), float(cols[13])) >= 300, row
    # placeholders sat directly on the pages; images left there would be placeholders
    for pdf in (printed, screen):
        for page in pdf.pages:
            xobjects = page.obj.get("/Resources", {}).get("/XObject", {})
            assert all(xobjects[name].get("/Subtype") != "/Image" for name in xobjects)


def test_placeholders_tell_hundreds_of_figures_apart():
    """A book with more figures than a byte can number (10x content has about 180) still gets
    each figure in its own place: each placeholder is an image of the figure's size that
    carries its own key."""
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"/>'
    holders = hb_figures.placeholders({f"f{i:03}.svg": svg for i in range(300)})
    by_key = {p.key: (p, ()) for p in holders.values()}
    with pikepdf.new() as pdf:
        for p in holders.values():
            data = hb_figures.placeholder_jpeg(p)
            assert Image.open(io.BytesIO(data)).size == (30, 20)
            image = pdf.make_stream(data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=30, Height=20,
                                    Filter=pikepdf.Name.DCTDecode, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)
            assert hb_figures._placeholder_key(image, by_key) == p.key
    assert len(by_key) == 300


def test_a_figure_too_large_for_a_placeholder_is_named():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1500" height="70000"/>'
    with pytest.raises(BuildError, match=re.escape("rute-ayaan.svg is 1500 x 70000 px")):
        hb_figures.placeholders({"rute-ayaan.svg": svg})


def test_the_route_maps_hold_the_map_once(printed, screen, fixture_content):
    """Each persona's route map is the map with the route over it: the book holds the map's
    drawing once, not once per persona (at 10x content that was most of the file)."""
    for pdf in (printed, screen):
        routes = [obj for obj in pdf.objects if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Form"
                  and set(obj.get("/Resources", {}).get("/XObject", {}).keys()) == {"/L0", "/L1"}]
        assert len(routes) == len(fixture_content.personas)
        assert len({route.Resources.XObject.L0.objgen for route in routes}) == 1
        assert len({route.Resources.XObject.L1.objgen for route in routes}) == len(routes)


# --------------------------------------------------------------------------- print edition


def test_print_pages_are_a4_with_bleed_and_a3_landscape_fold_outs(printed, fixture_content):
    sizes = []
    for page in printed.pages:
        trim, bleed, media = (page.obj[key] for key in ("/TrimBox", "/BleedBox", "/MediaBox"))
        tx0, ty0, tx1, ty1 = (float(v) for v in trim)
        bx0, by0, bx1, by1 = (float(v) for v in bleed)
        mx0, my0, mx1, my1 = (float(v) for v in media)
        assert min(tx0 - bx0, ty0 - by0, bx1 - tx1, by1 - ty1) >= 3 * MM - 0.01
        assert mx0 <= bx0 and my0 <= by0 and mx1 >= bx1 and my1 >= by1
        sizes.append((round(tx1 - tx0, 1), round(ty1 - ty0, 1)))
    a4, a3 = tuple(round(v, 1) for v in A4), tuple(round(v, 1) for v in A3_LANDSCAPE)
    leaves = 1 + len(fixture_content.personas)
    assert sizes.count(a3) == 2 * leaves, "a fold-out leaf (front and back) for the map and for each route map"
    assert all(size in (a4, a3) for size in sizes)


def test_print_is_pdf_x4_with_an_output_intent(printed):
    with printed.open_metadata() as meta:
        assert meta.get("pdfxid:GTS_PDFXVersion") == "PDF/X-4"
    intents = printed.Root.OutputIntents
    assert intents[0].S == "/GTS_PDFX" and "/DestOutputProfile" in intents[0]


def test_print_text_keeps_5mm_inside_the_trim(out, printed, style):
    """Every word on every page is at least the safe distance inside the trim."""
    bbox = subprocess.run(["pdftotext", "-bbox", str(out / PRINT), "-"], capture_output=True, check=True, text=True).stdout
    pages = re.findall(r'<page width="[\d.]+" height="[\d.]+">(.*?)</page>', bbox, re.S)
    assert len(pages) == len(printed.pages)
    safe = style.page.safe_mm * MM
    for words, page in zip(pages, printed.pages, strict=True):
        media, trim = ([float(v) for v in page.obj[key]] for key in ("/MediaBox", "/TrimBox"))
        # pdftotext measures from the top-left of the media box
        left, top = trim[0] - media[0], media[3] - trim[3]
        right, bottom = left + trim[2] - trim[0], top + trim[3] - trim[1]
        for x0, y0, x1, y1, word in re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', words):
            box = (float(x0), float(y0), float(x1), float(y1))
            assert box[0] >= left + safe and box[2] <= right - safe and box[1] >= top + safe and box[3] <= bottom - safe, word


# --------------------------------------------------------------------------- screen edition


def test_screen_is_tagged_with_title_and_language(screen, fixture_content):
    root = screen.Root
    assert "/StructTreeRoot" in root and bool(root.MarkInfo.Marked)
    assert str(root.Lang) == "nb"
    assert str(screen.docinfo.Title) == fixture_content.guide.title
    assert bool(root.ViewerPreferences.DisplayDocTitle)
    with screen.open_metadata() as meta:
        assert meta.get("pdfuaid:part") == "1"


def test_screen_has_bookmarks_for_every_chapter_offer_and_persona(screen, fixture_content):
    marks = bookmarks(screen)
    chapters = {t for level, t, _ in marks if level == 1}
    entries = {t for level, t, _ in marks if level == 2}
    assert {c.title for c in fixture_content.categories} - chapters == set()
    wanted = {o.title for o in fixture_content.offers} | {p.name for p in fixture_content.personas} | {f.title for f in fixture_content.financing}
    assert wanted - entries == set()


def test_every_figure_has_alt_text(screen, fixture_content):
    figures, stack, seen = [], [screen.Root.StructTreeRoot], set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary):
            if node.objgen in seen and node.objgen != (0, 0):
                continue
            seen.add(node.objgen)
            if node.get("/S") == "/Figure":
                figures.append(node)
            kids = node.get("/K")
            stack.extend(kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else [])
    assert len(figures) >= 1 + 2 * len(fixture_content.personas)
    assert all(str(f.get("/Alt", "")).strip() for f in figures)
    alts = " ".join(str(f.Alt) for f in figures)
    assert "Mulighetskartet" in alts and all(p.name in alts for p in fixture_content.personas)


def test_screen_text_holds_every_offer_and_persona(out, fixture_content):
    text = page_text(out / SCREEN)
    missing = [o.title for o in fixture_content.offers if o.title not in text]
    missing += [p.name for p in fixture_content.personas if p.name not in text]
    assert missing == []


def test_cross_references_print_the_page_they_point_at(out, screen, outline, fixture_content):
    """'Tittel s. N' next to a cross-reference: N is the page where that offer begins."""
    marks, checked = bookmarks(screen), 0
    for page in range(1, len(outline) and max(outline.values()) + 1):
        text = page_text(out / SCREEN, page)
        for offer in fixture_content.offers:
            for number in re.findall(re.escape(offer.title) + r" s\. (\d+)", text):
                # a category chapter may carry the same title as an offer
                assert int(number) in {p for _, t, p in marks if t == offer.title}, (offer.title, page)
                checked += 1
    assert checked >= len(fixture_content.offers)


def test_contents_and_index_print_the_page_each_offer_begins_on(out, screen, outline, fixture_content, style):
    label, marks = style.labels.get, bookmarks(screen)
    text = page_text(out / SCREEN, outline[label("contents")]) + page_text(out / SCREEN, outline[label("index")])
    for offer in fixture_content.offers:
        numbers = [int(n) for n in re.findall(re.escape(offer.title) + r"[ .]*?(\d+)\b", text)]
        # once in the contents and once in the index; a chapter may carry the same title
        assert numbers.count(outline[offer.title]) == 2 and set(numbers) <= {p for _, t, p in marks if t == offer.title}, offer.title


# Page numbers are written into the laid-out parts instead of laying them out again (render/handbook.py).
NUMBERED = """
@font-face { font-family: Noto; src: url(NotoSans-Regular.ttf); }
body { font-family: Noto; } section { break-before: page; }
a.toc::after { content: leader(". ") attr(data-page); font-variant-numeric: tabular-nums; }
a.ref::after { content: " s. " attr(data-page); font-variant-numeric: tabular-nums; }
"""
SECTIONS = tuple(hb_plan.Part("chapter", f"s{i}") for i in range(12))
TOC = hb_plan.Part("toc", "toc")


def numbered_html(part, page_no) -> str:
    """A contents part listing twelve one-page sections, each pointing back at the first."""
    if part is TOC:
        body = "".join(f'<p><a class="toc" href="#{s.name}" data-page="{page_no.column(s.name)}">Del {s.name}</a></p>' for s in SECTIONS)
    else:
        body = f'<section id="{part.name}"><p>Se <a class="ref" href="#s0" data-page="{page_no.ref("s0")}">første</a>.</p></section>'
    return f'<html lang="nb"><body>{body}</body></html>'


@pytest.fixture
def setup():
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fetcher, fonts = hb_figures.handbook_fetcher(ROOT / "fonts", {}), FontConfiguration()
    css = (weasyprint.CSS(string=NUMBERED, base_url=hb_weasy.BASE_URL, url_fetcher=fetcher, font_config=fonts),)
    return hb_parts.Setup(css, fonts, fetcher, "test", {})


@pytest.fixture
def layouts_counted(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = hb_parts.layout_part
    monkeypatch.setattr(hb_parts, "layout_part", lambda html, setup, start: calls.append(html) or real(html, setup, start))
    return calls


@pytest.fixture
def written() -> dict[int, bytes]:
    """Each part's PDF as the book hands it on to be written, by its place; `written.batches`."""
    return Written()


class Written(dict):
    def __init__(self):
        super().__init__()
        self.batches: list[list[int]] = []

    def __call__(self, book, batch, numbers):
        self.batches.append(batch)
        self.update({i: book.docs[i].write_pdf(pdf_identifier=b"x") for i in batch})


def test_page_numbers_written_after_layout_equal_a_layout_with_the_numbers(layouts_counted, setup, written):
    book, numbers = hb_parts.numbered_book((TOC, *SECTIONS), numbered_html, 3, setup, NO_MEMO, written)
    assert len(layouts_counted) == 13 and numbers.pages["s11"] == 13 and book.starts[:3] == [1, 2, 3]
    for index, part in enumerate(book.parts):
        again = hb_parts.layout_part(numbered_html(part, numbers), setup, book.starts[index])
        assert written[index] == again.write_pdf(pdf_identifier=b"x"), part.name


def test_a_part_is_written_once_the_pages_it_points_at_are_laid_out(layouts_counted, setup, written, monkeypatch):
    """So few layouts wait in memory: each section as soon as the first is laid out, the contents with the last."""
    monkeypatch.setattr(hb_parts, "WRITE_PAGES", 1)
    book, _ = hb_parts.numbered_book((TOC, *SECTIONS), numbered_html, 3, setup, NO_MEMO, written)
    assert written.batches == [*([i] for i in range(1, 12)), [0], [12]] and len(layouts_counted) == 13 and not book.docs


def test_a_page_number_wider_than_its_placeholder_lays_the_book_out_again(layouts_counted, setup, written, tmp_path):
    _, numbers = hb_parts.numbered_book((TOC, *SECTIONS), numbered_html, 1, setup, NO_MEMO, written)
    assert numbers.digits == 2 and len(layouts_counted) == 26
    (tmp_path / "b.pdf").write_bytes(written[0])
    assert re.search(r"Del s11 [ .]+ 13\b", page_text(tmp_path / "b.pdf", 1))


def test_a_part_laid_out_alone_keeps_its_place_in_the_book(setup, tmp_path):
    """A part's first page has the side and the number it has in the book."""
    sides = weasyprint.CSS(string="@page :left { @bottom-left { content: 'venstre ' counter(page) } } "
                                  "@page :right { @bottom-right { content: 'høyre ' counter(page) } }")
    numbered = dataclasses.replace(setup, css=(*setup.css, sides))
    for start, expected in ((5, "høyre 5"), (8, "venstre 8")):
        (tmp_path / "p.pdf").write_bytes(hb_parts.layout_part(numbered_html(SECTIONS[3], hb_numbers.PageNumbers({"s0": 2}, 3)), numbered, start).write_pdf())
        assert expected in page_text(tmp_path / "p.pdf")


def test_an_offer_edit_lays_out_its_own_part_only_and_gives_the_book_a_clean_build_gives(layouts_counted, tmp_path, monkeypatch):
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    options = BuildOptions(content, LAYOUTS, tmp_path / "out", only=("handbook",), jobs=1, cache=tmp_path / "cache")
    build(options)
    offer = content / "offers" / "kartlegging.yaml"
    offer.write_text(offer.read_text(encoding="utf-8").replace("- andre punkt", "- andre punkt, nå endret"), encoding="utf-8")
    layouts_counted.clear()
    drawn, draw = [], hb_figures._draw_figures
    monkeypatch.setattr(hb_figures, "_draw_figures", lambda *args: drawn.append(args) or draw(*args))
    build(options)
    assert len(layouts_counted) == 1 and 'id="tilbud-kartlegging"' in layouts_counted[0]
    assert drawn == []  # the prose is in no figure: none is drawn again
    monkeypatch.setattr(hb_parts, "KEEP_PAGES", 10)  # few layouts kept waiting for their numbers: those parts are laid out again to be written
    monkeypatch.setattr(hb_parts, "WRITE_PAGES", 5)  # and the parts written a few at a time
    build(dataclasses.replace(options, out=tmp_path / "clean", clean=True))
    for name in (PRINT, SCREEN):
        edited = (tmp_path / "out" / "handbook" / name).read_bytes()
        assert b"endret" in subprocess.run(["pdftotext", "-", "-"], input=edited, capture_output=True, check=True).stdout
        assert edited == (tmp_path / "clean" / "handbook" / name).read_bytes(), name


def test_internal_links_land_on_their_targets(out, screen, outline, fixture_content):
    pages = {page.objgen: i for i, page in enumerate(screen.pages, 1)}
    names = screen.Root.Names.Dests.Names
    dests = {str(names[i]): pages[names[i + 1][0].objgen] for i in range(0, len(names), 2)}
    for offer in fixture_content.offers:
        assert dests[hb_plan.offer_anchor(offer.id)] == outline[offer.title]
    links = [a for page in screen.pages for a in page.get("/Annots", []) if a.get("/Subtype") == "/Link"]
    assert any("/A" in a and a.A.get("/URI") for a in links)
    # every cross-reference is a link (parts are laid out alone: links out of a part survive the join) ...
    internal = [str(a.Dest) for a in links if "/Dest" in a]
    assert len(set(internal)) >= len(set(re.findall(r'class="xref" href="#([^"]+)"', (out / "handbok-skjerm.html").read_text())))
    # ... and lands on a destination of the book
    assert set(internal) <= set(dests)


def test_screen_pages_are_trimmed_and_the_maps_are_a3_landscape(screen, printed, outline, hb_theme):
    """The map and the route maps print their text at 6 pt or more only at their own size: A3
    landscape, with their backs, on the same pages as in print."""
    map_page = outline[hb_theme.label("map_title")]
    a4, a3 = tuple(round(v, 1) for v in A4), tuple(round(v, 1) for v in A3_LANDSCAPE)
    for number, (page, in_print) in enumerate(zip(screen.pages, printed.pages, strict=True), 1):
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        tx0, ty0, tx1, ty1 = (float(v) for v in in_print.obj.TrimBox)
        size = (round(x1 - x0, 1), round(y1 - y0, 1))
        assert size == (round(tx1 - tx0, 1), round(ty1 - ty0, 1)) and size in (a4, a3)
        if number in (map_page, map_page + 1):  # the map and its back
            assert size == a3


# --------------------------------------------------------------------------- geometry


def ink(png: Path) -> Image.Image:
    """1 where something is drawn (darker than near-white), else 0."""
    return Image.open(png).convert("L").point(lambda v: 255 if v < 245 else 0)


def render_page(pdf: Path, page: int, tmp_path: Path, dpi: int = 50) -> Image.Image:
    stem = tmp_path / f"p{page}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", str(page), "-l", str(page), str(pdf), str(stem)], check=True)
    return ink(stem.with_suffix(".png"))


def drawn_in(image: Image.Image, box_mm: tuple[float, float, float, float], dpi: int = 50) -> bool:
    px = dpi / 25.4
    x0, y0, x1, y1 = (round(v * px) for v in box_mm)
    if x1 <= x0 or y1 <= y0:
        return False
    return image.crop((x0, y0, x1, y1)).getbbox() is not None


def test_map_page_draws_nothing_outside_its_margins(out, outline, hb_theme, style, tmp_path):
    page = outline[hb_theme.label("map_title")]
    image = render_page(out / SCREEN, page, tmp_path)
    w, h = (v * 25.4 / 50 for v in image.size)
    m = style.editions.screen.map_margin_mm - 0.5
    for band in ((0, 0, w, m), (0, h - m, w, h), (0, 0, m, h), (w - m, 0, w, h)):
        assert not drawn_in(image, band), band


@pytest.mark.parametrize("what", ["offer", "persona"])
def test_offer_and_persona_pages_stay_inside_their_columns(what, out, outline, fixture_content, style, tmp_path):
    """Nothing in the margins beside the text column, except the chapter's thumb tab on the
    outer edge and an offer heading's colour bar just left of the column."""
    title = fixture_content.offers[0].title if what == "offer" else fixture_content.personas[0].name
    page = outline[title]
    image = render_page(out / SCREEN, page, tmp_path)
    w, h = (v * 25.4 / 50 for v in image.size)
    m = style.page.margins
    left, right = (m.inside, m.outside) if page % 2 else (m.outside, m.inside)
    tab = 5.5  # the thumb tab reaches 5 mm in from the trim (edition.css.j2), plus rounding
    bar = 6.0 if what == "offer" else 0.0
    rows = (m.top, h - m.bottom)
    left_band = (tab if page % 2 == 0 else 0.5, rows[0], left - bar - 0.5, rows[1])
    right_band = (w - right + 0.5, rows[0], w - (tab if page % 2 else 0.5), rows[1])
    assert not drawn_in(image, left_band) and not drawn_in(image, right_band)


# --------------------------------------------------------------------------- the pure steps


def ink_centre_x(image: Image.Image) -> float:
    """Mean x of the drawn pixels, as a share of the width."""
    xs = [x for x in range(image.width) for y in range(0, image.height, 2) if image.getpixel((x, y))]
    return sum(xs) / len(xs) / image.width


def test_handouts_one_page_per_language_arabic_right_to_left_with_its_font(out, outline, tmp_path):
    title = "Språknivåene på flere språk: {}"
    pages = {name: outline[title.format(name)] for name in ("Norsk (original)", "Engelsk", "Arabisk")}
    assert pages["Engelsk"] == pages["Norsk (original)"] + 1 and pages["Arabisk"] == pages["Engelsk"] + 1  # a page each
    arabic, english = (page_text(out / SCREEN, pages[n]) for n in ("Arabisk", "Engelsk"))
    assert "Utkast – ikke kvalitetssikret av oversetter" in arabic  # the fixture's Arabic is a draft
    assert "Kvalitetssikret av oversetter: Kari Nordmann, 2. mai 2021" in english and "Utkast" not in english
    fonts = subprocess.run(["pdffonts", "-f", str(pages["Arabisk"]), "-l", str(pages["Arabisk"]), str(out / SCREEN)],
                           capture_output=True, check=True, text=True).stdout
    assert "Noto-Sans-Arabic" in fonts and all(row.split()[-5] == "yes" for row in fonts.splitlines()[2:])
    html = (out / SCREEN.replace(".pdf", ".html")).read_text(encoding="utf-8")
    assert '<section class="reference handout" id="sprakniva-ar" lang="ar" dir="rtl"' in html
    # Laid out from the right: the short Arabic lines sit right of the middle, the English ones left of it.
    def body(page: int) -> Image.Image:  # below the running head, above the page number
        image = render_page(out / SCREEN, page, tmp_path)
        return image.crop((0, 60, image.width, 400))

    assert ink_centre_x(body(pages["Arabisk"])) > 0.55 > 0.45 > ink_centre_x(body(pages["Engelsk"]))


def test_requirements_overview_lists_the_rules_and_every_offer(out, fixture_content):
    html = (out / SCREEN.replace(".pdf", ".html")).read_text(encoding="utf-8")
    section = html[html.index('<section class="reference requirements" id="sprakkrav">'):]
    section = section[: section.index("</section>")]
    assert "<caption>Opptak til utdanning</caption>" in section and "<caption>Permanent opphold og statsborgerskap</caption>" in section
    assert all(f'href="#tilbud-{o.id}"' in section for o in fixture_content.offers)
    assert "Reglene ble sist kontrollert 1. mai 2021." in section


def test_content_text_is_escaped_in_the_html(fixture_content, hb_theme, style):
    evil = '<script>alert(1)</script>"]; x [label="'
    offer = dataclasses.replace(fixture_content.offers[0], title=evil, summary=evil)
    content = dataclasses.replace(fixture_content, offers=(offer, *fixture_content.offers[1:]))
    plan = hb_plan.plan_handbook(content, hb_theme, style, build_date(content))
    html_env, _ = hb_html.template_env(hb_theme, style)
    html = hb_html.handbook_html(plan, hb_html.edition("screen", style), hb_theme, style, html_env)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_margins_inside_the_safe_zone_are_refused(style):
    narrow = dataclasses.replace(style, page=dataclasses.replace(style.page, margins=dataclasses.replace(style.page.margins, outside=3.0)))
    assert any("safe zone" in p.message for p in hb_html.style_problems(narrow))


def test_a_map_on_a_larger_paper_than_its_page_is_refused_where_the_page_is_set(tmp_path):
    """A municipality sets the map to A2 but keeps the handbook's A3 fold-out: its text would
    print at about 4.8 pt. Both editions' map_page_size are located; A2 pages mend it."""
    from mulighetskart.layout.map import MapStyle

    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    shutil.copytree(LAYOUTS.parent / "fonts", tmp_path / "fonts")
    theme_file = layouts / "theme.yaml"
    text = theme_file.read_text(encoding="utf-8").replace("    paper: A3 ", "    paper: A2 ", 1)
    theme_file.write_text(text, encoding="utf-8")

    def problems():
        theme = load_theme(layouts, {"handbook": hb_plan.HandbookStyle, "map": MapStyle})
        return hb_html.map_page_problems(theme, theme.section("handbook"))

    found = problems()
    lines = [n for n, line in enumerate(text.splitlines(), 1) if "map_page_size: A3 landscape" in line]
    assert [p.pos.line for p in found] == lines and len(lines) == 2
    assert "prints at 68%" in found[0].message and "4.8 pt" in found[0].message and found[0].hint == "set map_page_size: A2 landscape"
    theme_file.write_text(text.replace("map_page_size: A3 landscape", "map_page_size: A2 landscape"), encoding="utf-8")
    assert problems() == []


def test_crop_marks_are_a_theme_switch(fixture_content, hb_theme, style):
    plan = hb_plan.plan_handbook(fixture_content, hb_theme, style, build_date(fixture_content))
    _, css_env = hb_html.template_env(hb_theme, style)
    marked = dataclasses.replace(style, editions=dataclasses.replace(
        style.editions, print=dataclasses.replace(style.editions.print, crop_marks=True)))
    assert "marks: none" in hb_html.edition_css(plan, hb_html.edition("print", style), hb_theme, css_env)
    assert "marks: crop" in hb_html.edition_css(plan, hb_html.edition("print", marked), hb_theme, css_env)


def test_index_sorts_the_norwegian_way():
    assert sorted(["Åpen", "Ørn", "Ære", "Zulu", "arbeid"], key=hb_plan.nb_sort_key) == ["arbeid", "Zulu", "Ære", "Ørn", "Åpen"]


# --------------------------------------------------------------------------- shipped guide


def test_handbook_builds_for_the_shipped_guide(shipped_handbook, shipped_content):
    folder = shipped_handbook
    text = page_text(folder / SCREEN)
    assert [o.title for o in shipped_content.offers if o.title not in text] == []
    assert [p.name for p in shipped_content.personas if p.name not in text] == []
    with pikepdf.open(folder / PRINT) as pdf:
        assert len(pdf.pages) > len(shipped_content.offers)
