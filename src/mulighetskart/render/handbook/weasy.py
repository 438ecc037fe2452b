"""Every use of WeasyPrint's (and pydyf's) internals, in one place.

Checked against WeasyPrint 70.0 with pydyf 0.13.0; pyproject.toml bounds both to these
releases and test_handbook.py pins each behaviour relied on here, so a new release is taken
on purpose: run the handbook tests, mend what moved, then widen the bounds.
The rest of the handbook uses WeasyPrint's public API only (HTML, CSS, Document, Page,
URLFetcher, write_pdf).
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterator
from functools import partial

from ...errors import MissingToolError

CHECKED = ("70.0",)  # WeasyPrint releases this module was checked against

# WeasyPrint sees the output folder under this fixed address, so no path of the machine or
# of the staging folder ends up in the PDF (image names are hashes of their URLs).
BASE_URL = "file:///mulighetskart-handbook/"


def check_font_subsetter() -> None:
    """Without HarfBuzz's subsetter WeasyPrint subsets fonts with fontTools, which stamps each
    subset with the time of the build: the same content would give other PDFs every second."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is None or not harfbuzz.hb_version_atleast(4, 1, 0):  # WeasyPrint's own condition
        raise MissingToolError("the handbook needs HarfBuzz's font subsetter (libharfbuzz-subset) for reproducible PDFs; "
                               "install with: apt-get install libharfbuzz-subset0 (Debian/Ubuntu) or brew install harfbuzz (macOS)")


# --- page numbers: the laid-out text of ::after boxes holding a data-page placeholder ---


def page_number_boxes(document) -> Iterator[tuple[object, str, str]]:
    """(text box, its placeholder, the anchor it points at) for every page-number placeholder
    laid out in `document`, in page order."""
    from weasyprint.formatting_structure.boxes import TextBox

    for page in document.pages:
        for box in page._page_box.descendants():
            is_after = isinstance(box, TextBox) and box.element is not None and box.element_tag.endswith("::after")
            placeholder = box.element.get("data-page") if is_after else None
            if placeholder and box.text.endswith(placeholder):  # not the label or leader before it
                yield box, placeholder, box.element.get("href", "").removeprefix("#")


def retext(box, old: str, new: str) -> bool:
    """Swap the end of a laid-out text box, if the new text is exactly as wide."""
    layout = box.pango_layout
    if len(new) != len(old) or not (box.text.endswith(old) and layout.text.endswith(old)):
        return False
    before = _text_width(layout, box.style, layout.text)
    layout.text = layout.text[: -len(old)] + new
    box.text = box.text[: -len(old)] + new
    return _text_width(layout, box.style, layout.text) == before


def _text_width(layout, style, text: str) -> float:
    from weasyprint.text.line_break import line_size

    layout.setup(style)
    layout.set_text(text)
    width = line_size(layout.get_first_line()[0], style)[0]
    layout.deactivate()
    return width


# --- parts of the book ---


def with_stand_ins(doc, targets: frozenset[str]):
    """The part with a stand-in for each anchor it links to in other parts of the book:
    WeasyPrint drops links to anchors it cannot see; the book's own destinations replace the
    stand-ins."""
    for anchor in sorted(targets):
        doc.pages[0].anchors[anchor] = (0, 0, 0, 0)
    return doc


def screen_part(doc):
    """The part as the screen edition shows it: the same layout without the bleed."""
    return doc.copy([_without_bleed(page) for page in doc.pages])


def _without_bleed(page):
    trimmed = copy.copy(page)
    trimmed.bleed = dict.fromkeys(page.bleed, 0)
    return trimmed


# --- writing ---

DOC_ID = re.compile(rb"xmp\.did:[0-9a-zA-Z-]+")


def stable_document_id(doc_id: str):
    """A write_pdf finisher that gives the XMP DocumentID `doc_id` instead of WeasyPrint's
    random uuid (it writes the metadata stream before the finisher sees it)."""
    return partial(_fix_document_id, doc_id)


def _fix_document_id(doc_id: str, document, pdf) -> None:
    ref = pdf.catalog.get("Metadata")
    for obj in pdf.objects:
        if getattr(obj, "reference", None) == ref and hasattr(obj, "stream"):
            obj.stream = [DOC_ID.sub(f"xmp.did:{doc_id}".encode(), part) for part in obj.stream]


@contextlib.contextmanager
def keep_page_references():
    """While writing, pydyf's list of every page's reference is kept until a page is added.

    The one monkeypatch in the program, undone on leaving: pydyf builds the list anew each
    time it is asked, and WeasyPrint's tagging asks once per tagged element (a second or two
    of the screen edition), with no way to hand it a list. Writes run one at a time in a
    process (parts.py forks a process per edition), so nothing else sees the patch.
    """
    import pydyf

    original = pydyf.PDF.page_references

    def kept(pdf):
        count = len(pdf.pages["Kids"])
        if getattr(pdf, "_kept_references", (None,))[0] != count:
            pdf._kept_references = (count, original.fget(pdf))
        return pdf._kept_references[1]

    pydyf.PDF.page_references = property(kept)
    try:
        yield
    finally:
        pydyf.PDF.page_references = original
