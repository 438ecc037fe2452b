"""No text in either handbook edition prints under 6 pt, figures included.

Measured on the built PDFs of the shipped guide, independently of the code that lays them
out: pdfminer.six interprets each page's content, form XObjects (the figures) included with
their /Matrix, and every glyph's size is its font size times the scale of its text and
transformation matrices.
"""

from __future__ import annotations

import io
import math
from itertools import pairwise

import pikepdf
import pytest
from pdfminer.pdfdevice import PDFTextDevice
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage

from mulighetskart.render.handbook.slices import slices

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
    assert cut[0].top_mm == 0 and cut[-1].top_mm + cut[-1].height_mm >= 290  # all that is drawn
    assert all(a.top_mm + a.height_mm == pytest.approx(b.top_mm) for a, b in pairwise(cut))
    assert all(s.height_mm <= 150 for s in cut)
    for s in cut[1:]:
        assert not any(t < s.top_mm < b for t, b in boxes), f"cut at {s.top_mm} mm runs through a box"
    assert [s.width_mm for s in cut] == [100] * len(cut)
