"""No text in either handbook edition prints under 6 pt, figures included.

Measured on the built PDFs of the shipped guide, independently of the code that lays them
out: pdfminer.six interprets each page's content, form XObjects (the figures) included with
their /Matrix, and every glyph's size is its font size times the scale of its text and
transformation matrices.
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from itertools import pairwise

import pikepdf
import pytest
from pdfminer.pdfdevice import PDFTextDevice
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage

from mulighetskart.render.handbook.slices import sliced_svgs, slices

SMALLEST_PT = 6
ROUNDING = 0.05  # a 6 pt size scaled by a figure's matrix may land a hair under


class SmallestGlyph(PDFTextDevice):
    """Keeps the size at which the smallest glyph of a page prints."""

    def __init__(self, resources: PDFResourceManager) -> None:
        super().__init__(resources)
        self.smallest = math.inf

    def render_char(self, matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate) -> float:
        _, _, c, d, _, _ = matrix  # the text matrix times the CTM: how far a glyph's height is scaled
        self.smallest = min(self.smallest, abs(fontsize) * math.hypot(c, d))
        return font.char_width(cid) * fontsize * scaling


def smallest_glyphs(pdf: bytes) -> list[float]:
    """The smallest glyph size in points on each page (infinity on a page without text)."""
    resources, sizes = PDFResourceManager(caching=True), []
    for page in PDFPage.get_pages(io.BytesIO(pdf)):
        device = SmallestGlyph(resources)
        PDFPageInterpreter(resources, device).process_page(page)
        sizes.append(device.smallest)
    return sizes


@pytest.mark.parametrize("edition", ["handbok-trykk.pdf", "handbok-skjerm.pdf"])
def test_no_glyph_prints_under_6_pt(shipped_handbook, edition):
    sizes = smallest_glyphs((shipped_handbook / edition).read_bytes())
    small = {page: round(size, 2) for page, size in enumerate(sizes, 1) if size < SMALLEST_PT - ROUNDING}
    assert not small, f"{edition}: text under {SMALLEST_PT} pt on pages {small}"
    assert any(size < math.inf for size in sizes)


def test_the_figures_are_measured_at_their_drawn_scale():
    """The measure sees a figure's scale: 10 pt text in a form drawn at half size is 5 pt."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
    form = pikepdf.Stream(pdf, b"BT /F1 10 Tf 10 10 Td (Hej) Tj ET", Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                          BBox=[0, 0, 200, 200], Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)))
    page = pdf.add_blank_page(page_size=(200, 200))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Fig=form), Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 8 Tf 10 100 Td (Tekst) Tj ET q 0.5 0 0 0.5 0 0 cm /Fig Do Q")
    form.Matrix = [1.2, 0, 0, 1.2, 0, 0]  # the form's own matrix counts too: 10 x 0.5 x 1.2
    out = io.BytesIO()
    pdf.save(out)
    assert smallest_glyphs(out.getvalue()) == [pytest.approx(6.0)]


TALL = """<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="300mm" viewBox="0 0 100 300">
<g class="graph">{boxes}</g></svg>"""


def test_a_tall_figure_is_cut_between_its_boxes():
    """A timeline taller than a page is cut in gaps between boxes, never through one."""
    boxes = [(10, 60), (70, 140), (150, 200), (210, 290)]  # (top, bottom) of each box
    svg = TALL.format(boxes="".join(f'<g class="cluster"><polygon points="0,{t} 100,{t} 100,{b} 0,{b}"/></g>' for t, b in boxes))
    cut = slices(svg, column_mm=100, page_mm=150)
    assert cut[0][0] == 0 and cut[-1][0] + cut[-1][1] >= 290  # all that is drawn
    assert all(top + height == pytest.approx(below) for (top, height), (below, _) in pairwise(cut))
    assert all(height <= 150 for _, height in cut)
    for top, _ in cut[1:]:
        assert not any(t < top < b for t, b in boxes), f"cut at {top} mm runs through a box"


def test_a_slice_holds_only_its_own_text():
    """Each slice is an SVG of the slice's window, with only the texts inside it: a page's
    text (what is copied, searched and read out) is the text it shows."""
    texts = "".join(f'<text y="{y}" font-size="4">Fase {n}</text>' for n, y in enumerate((50, 130, 190, 280), 1))
    svg = TALL.format(boxes=texts)
    cut, files = sliced_svgs("tidslinje-x.svg", svg, column_mm=50, page_mm=80)  # shown at half size: 150 mm tall
    assert [s.src for s in cut] == list(files) == [f"tidslinje-x-{n}.svg" for n in range(1, len(cut) + 1)]
    shown = [re.findall(r"Fase \d", files[s.src]) for s in cut]
    assert sorted(t for texts in shown for t in texts) == ["Fase 1", "Fase 2", "Fase 3", "Fase 4"]  # each text exactly once
    assert all(len(texts) < 4 for texts in shown)
    for s in cut:
        root = ET.fromstring(files[s.src])
        height_mm = float(root.get("height").removesuffix("mm"))
        assert height_mm / 2 == pytest.approx(s.height_mm, abs=0.02) and root.get("width") == "100.00mm"
