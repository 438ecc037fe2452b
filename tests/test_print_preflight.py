"""Preflight of the shipped guide's print edition, as a print shop runs it before it prints.

One build of the shipped guide's handbook; each test is one point the shop checks:
CMYK-only colour with black text in black ink, a PDF/X-4 output intent for a named printing
condition, the fold-out as a leaf of its own, full pages, bleed, embedded fonts, no links,
and both editions read without errors by qpdf and Ghostscript.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from mulighetskart.build import BuildOptions, build
from mulighetskart.errors import ContentError
from mulighetskart.layout import handbook as hb_plan
from mulighetskart.theme import load_theme

from .conftest import LAYOUTS, ROOT, SHIPPED_CONTENT

MM = 72 / 25.4
PRINT, SCREEN = "handbok-trykk.pdf", "handbok-skjerm.pdf"
A3_LANDSCAPE = (round(420 * MM), round(297 * MM))
COLOUR_OPERATORS = {"rg", "RG", "k", "K", "g", "G", "sc", "scn", "SC", "SCN", "cs", "CS"}


@pytest.fixture(scope="module")
def folder(shipped_handbook) -> Path:
    return shipped_handbook


@pytest.fixture(scope="module")
def printed(folder):
    with pikepdf.open(folder / PRINT) as pdf:
        yield pdf


@pytest.fixture(scope="module")
def style():
    return load_theme(LAYOUTS, {"handbook": hb_plan.HandbookStyle}).section("handbook")


def drawn_streams(pdf):
    """Every content stream drawn: the pages, and the forms and tiling patterns they use, all
    the way down (the figures are forms in forms)."""
    seen, stack = set(), [page.obj for page in pdf.pages]
    while stack:
        obj = stack.pop()
        if obj.is_indirect and obj.objgen in seen:
            continue
        seen.add(obj.objgen)
        yield obj
        resources = obj.get("/Resources", {})
        for kind in ("/XObject", "/Pattern"):
            stack += [x for x in resources.get(kind, {}).values() if x.get("/Subtype") == "/Form" or x.get("/PatternType") == 1]


def colour_operators(pdf) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stream in drawn_streams(pdf):
        for _, op in pikepdf.parse_content_stream(stream, " ".join(COLOUR_OPERATORS)):
            counts[str(op)] = counts.get(str(op), 0) + 1
    return counts


# --------------------------------------------------------------------------- colour


def test_print_has_no_rgb_colour_operators_only_cmyk(printed):
    counts = colour_operators(printed)
    assert counts.get("rg", 0) == counts.get("RG", 0) == 0, counts
    assert counts.get("k", 0) > 1000 and counts.get("K", 0) > 100, counts
    assert not {"cs", "CS", "sc", "scn", "SC", "SCN"} & counts.keys(), "every colour is set with k/K (DeviceCMYK)"


def test_print_has_no_rgb_colour_spaces_images_or_blending(printed):
    for stream in drawn_streams(printed):
        group = stream.get("/Group")
        assert group is None or group.get("/CS", pikepdf.Name.DeviceCMYK) == pikepdf.Name.DeviceCMYK
        resources = stream.get("/Resources", {})
        for space in resources.get("/ColorSpace", {}).values():
            assert not (isinstance(space, pikepdf.Array) and space[0] == "/ICCBased" and int(space[1].N) == 3)
            assert space != pikepdf.Name.DeviceRGB
        for image in (x for x in resources.get("/XObject", {}).values() if x.get("/Subtype") == "/Image"):
            assert image.get("/ColorSpace") != pikepdf.Name.DeviceRGB


def text_fill_colours(pdf) -> dict[tuple[float, ...], int]:
    """How many text-showing operators draw in each fill colour (following q/Q)."""
    found: dict[tuple[float, ...], int] = {}
    for stream in drawn_streams(pdf):
        fill, saved = None, []
        for operands, op in pikepdf.parse_content_stream(stream, "q Q k Tj TJ ' \""):
            name = str(op)
            if name == "q":
                saved.append(fill)
            elif name == "Q":
                fill = saved.pop() if saved else None
            elif name == "k":
                fill = tuple(float(v) for v in operands)
            elif fill is not None:
                found[fill] = found.get(fill, 0) + 1
    return found


def test_darkest_text_is_black_ink_only(printed):
    """Body text in 0 0 0 1 k: one plate, no misregistered four-colour black."""
    colours = text_fill_colours(printed)
    assert max(colours, key=colours.get) == (0, 0, 0, 1), "most text is black ink only"
    def lightness(c):  # the ink's rough sRGB luminance: a saturated red is not darker than black
        r, g, b = ((1 - v) * (1 - c[3]) for v in c[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    darkest = min(colours, key=lightness)
    assert darkest == (0, 0, 0, 1)
    assert not [c for c in colours if c[3] >= 0.8 and sum(c[:3]) > 0], "no rich black text"
    assert all(b"0 0 0 1 k" in page.obj.Contents.read_bytes() for page in printed.pages[10:20]), "written as a shop's preflight reads it"


def test_print_declares_pdf_x4_with_a_cmyk_output_intent(printed):
    with printed.open_metadata() as meta:
        assert meta.get("pdfxid:GTS_PDFXVersion") == "PDF/X-4"
    assert str(printed.trailer.Info.GTS_PDFXVersion) == "PDF/X-4"
    (intent,) = printed.Root.OutputIntents
    assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "FOGRA39"
    profile = intent.DestOutputProfile
    icc = profile.read_bytes()
    assert int(profile.N) == 4 and icc[12:16] == b"prtr" and icc[16:20] == b"CMYK"


def test_the_screen_edition_stays_rgb(folder):
    with pikepdf.open(folder / SCREEN) as screen:
        counts = colour_operators(screen)
        assert counts.get("rg", 0) > 1000 and counts.get("k", 0) == 0
        assert "/OutputIntents" not in screen.Root


# --------------------------------------------------------------------------- the fold-out


def trim_size(page) -> tuple[int, int]:
    x0, y0, x1, y1 = (float(v) for v in page.obj.TrimBox)
    return round(x1 - x0), round(y1 - y0)


def test_every_a3_page_has_a_back_of_its_own_size(printed):
    """The fold-out is a leaf: its front on a right-hand (odd) page, its back right after it."""
    a3 = [number for number, page in enumerate(printed.pages, 1) if trim_size(page) == A3_LANDSCAPE]
    assert a3, "the print edition has its fold-out"
    assert len(a3) % 2 == 0
    for front, back in zip(a3[::2], a3[1::2], strict=True):
        assert front % 2 == 1 and back == front + 1


def test_readme_and_contents_name_the_foldout_page(printed, folder):
    page = next(number for number, p in enumerate(printed.pages, 1) if trim_size(p) == A3_LANDSCAPE)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    claimed = re.search(r"A3 landscape fold-out\*\* with the possibility map \(page (\d+)", readme)
    assert claimed and int(claimed.group(1)) == page
    title = load_theme(LAYOUTS, {}).label("map_title")
    contents = pdftotext(folder / PRINT, 2, page - 1)  # the contents come before the map
    assert re.search(rf"^{title}[ .]*{page}$", contents, re.M), "the contents give the map's page"


def pdftotext(pdf: Path, first: int, last: int) -> str:
    text = subprocess.run(["pdftotext", "-f", str(first), "-l", str(last), "-layout", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    return "\n".join(re.sub(r"\s+", " ", line).strip() for line in text.splitlines())


# --------------------------------------------------------------------------- full pages


def page_fill(folder: Path, printed, style, tmp_path: Path) -> list[tuple[int, float]]:
    """(lines of text, share of the text area's height used) of every page: lines from
    pdftotext inside the margins (not the running head or the page number), the share from
    the lowest mark drawn there (figures count)."""
    layout = subprocess.run(["pdftotext", "-bbox-layout", str(folder / PRINT), "-"], capture_output=True, check=True, text=True).stdout
    pages = re.findall(r"<page [^>]*>(.*?)</page>", layout, re.S)
    subprocess.run(["pdftoppm", "-r", "24", "-gray", str(folder / PRINT), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p-*.pgm"))
    assert len(pages) == len(images) == len(printed.pages)
    margins = style.page.margins
    fills = []
    for body, image, page in zip(pages, images, printed.pages, strict=True):
        media, trim = ([float(v) for v in page.obj[key]] for key in ("/MediaBox", "/TrimBox"))
        top, bottom = media[3] - trim[3] + margins.top * MM, media[3] - trim[1] - margins.bottom * MM
        left, right = trim[0] - media[0] + margins.inside * MM, trim[2] - media[0] - margins.inside * MM
        lines = [line for line in re.findall(r'<line xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">', body)
                 if float(line[0]) >= top - 1 and float(line[1]) <= bottom + 1]
        fills.append((len(lines), _lowest_mark(Image.open(image), (media[3] - media[1]), left, top, right, bottom)))
    return fills


def _lowest_mark(image: Image.Image, height_pt: float, left: float, top: float, right: float, bottom: float) -> float:
    scale = image.height / height_pt
    x0, y0, x1, y1 = (round(v * scale) for v in (left, top, right, bottom))
    area = image.crop((x0, y0, x1, y1)).point(lambda v: 255 if v < 235 else 0)
    box = area.getbbox()
    return 0.0 if box is None else box[3] / (y1 - y0)


@pytest.fixture(scope="module")
def fills(folder, printed, style, tmp_path_factory):
    return page_fill(folder, printed, style, tmp_path_factory.mktemp("fill"))


def test_no_page_holds_only_one_to_three_lines(fills):
    assert [number for number, (lines, _) in enumerate(fills, 1) if 1 <= lines <= 3] == []


def test_at_most_five_pages_are_under_a_quarter_full(fills, printed):
    """Fold-out leaves (the map's and each route map's: A3 fronts and their blank backs) and the
    blank page that puts a route map's fold-out on a right-hand page are as they must be."""
    a3 = {number for number, page in enumerate(printed.pages, 1) if trim_size(page) == A3_LANDSCAPE}
    before_a3 = {number - 1 for number in a3 if number - 1 not in a3 and fills[number - 2][0] == 0}
    sparse = [number for number, (_, filled) in enumerate(fills, 1) if filled < 0.25 and number not in a3 | before_a3]
    assert len(sparse) <= 5, sparse


# --------------------------------------------------------------------------- page references


def test_page_references_leave_no_gap_before_the_comma(folder):
    """'s. 29, ' as set, not 's. 29   ,': the padding that keeps a number's width is taken out."""
    words = re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<',
                       subprocess.run(["pdftotext", "-bbox", str(folder / PRINT), "-"], capture_output=True, check=True, text=True).stdout)
    gaps = [float(comma[0]) - float(number[2]) for label, number, comma in zip(words, words[1:], words[2:], strict=False)
            if label[3] == "s." and number[3].isdigit() and comma[3].startswith(",") and abs(float(comma[1]) - float(number[1])) < 5]
    assert len(gaps) > 50 and max(gaps) < 1.0, max(gaps)


# --------------------------------------------------------------------------- the rest of the checklist


def test_bleed_is_3mm_on_every_page(printed):
    for page in printed.pages:
        trim, bleed = ([float(v) for v in page.obj[key]] for key in ("/TrimBox", "/BleedBox"))
        assert min(trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2], bleed[3] - trim[3]) >= 3 * MM - 0.01


def test_every_font_is_embedded(folder):
    for name in (PRINT, SCREEN):
        rows = subprocess.run(["pdffonts", str(folder / name)], capture_output=True, check=True, text=True).stdout.splitlines()[2:]
        assert rows and all(row.split()[-5] == "yes" for row in rows), name


def test_print_has_no_link_annotations_and_the_screen_keeps_them(printed, folder):
    assert [a for page in printed.pages for a in page.obj.get("/Annots", [])] == []
    with pikepdf.open(folder / SCREEN) as screen:
        assert sum(1 for page in screen.pages for a in page.obj.get("/Annots", []) if a.get("/Subtype") == "/Link") > 100


@pytest.mark.parametrize("name", [PRINT, SCREEN])
def test_qpdf_and_ghostscript_read_the_pdf_without_errors(folder, name):
    check = subprocess.run(["qpdf", "--check", str(folder / name)], capture_output=True, text=True)
    assert check.returncode == 0 and "No syntax or stream encoding errors" in check.stdout, check.stdout + check.stderr
    gs = subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=nullpage", str(folder / name)],
                        capture_output=True, text=True, timeout=300)
    assert gs.returncode == 0 and "rror" not in gs.stdout + gs.stderr, gs.stdout + gs.stderr


# --------------------------------------------------------------------------- the theme's CMYK values


INK = 'ink:         {screen: "#1b1b1f", print: "0 0 0 100"}'
MUTED = 'muted:       {screen: "#55565c", print: "0 0 0 75"}'


@pytest.mark.parametrize(("old", "new", "message"), [
    (INK, INK.replace("0 0 0 100", "0 0 0 120"), r"'0 0 0 120' is not a CMYK value"),
    (INK, INK.replace(', print: "0 0 0 100"', ""), r"missing required field 'print'"),
    (MUTED, MUTED.replace("#55565c", "#1b1b1f"), r"colour token 'muted' has the screen value of 'ink'"),
])
def test_a_wrong_or_missing_cmyk_value_is_reported_at_its_line(tmp_path, old, new, message):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    shutil.copytree(LAYOUTS.parent / "fonts", tmp_path / "fonts")
    theme = layouts / "theme.yaml"
    text = theme.read_text(encoding="utf-8")
    assert old in text
    theme.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        build(BuildOptions(SHIPPED_CONTENT, layouts, tmp_path / "out", only=("handbook",), jobs=1))
    assert re.search(r"theme\.yaml:\d+:\d+: error: " + message, str(err.value)), str(err.value)
