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


# --- how full a laid-out page is (copy-fitting, parts.py) ---


def page_fill(page) -> tuple[int, float]:
    """(lines of text, share of the page area's height down to its lowest line or image) of a
    laid-out page; running heads and page numbers (margin boxes) do not count."""
    from weasyprint.formatting_structure.boxes import LineBox, MarginBox, ReplacedBox

    box = page._page_box
    top, height = box.content_box_y(), box.height
    lines, bottom = 0, top
    stack = [child for child in box.children if not isinstance(child, MarginBox)]
    while stack:
        child = stack.pop()
        if isinstance(child, LineBox | ReplacedBox):
            lines += isinstance(child, LineBox) and any(getattr(d, "text", "").strip() for d in child.descendants())
            bottom = max(bottom, child.position_y + child.margin_height())
        elif hasattr(child, "children"):
            stack.extend(child.children)
    return lines, (bottom - top) / height if height else 1.0


# --- page references closed up (page_numbers.py) ---


def close_up_references(document, pad: str) -> None:
    """Take the padding after a page reference's number out of the laid-out text ("s. 24" and
    a figure space): the reference shrinks by its width and what follows on its line moves
    left, so no gap is left before a comma. The text is left-aligned, so a line ending a few
    points earlier does not show."""
    from weasyprint.formatting_structure.boxes import LineBox

    for page in document.pages:
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            if isinstance(box, LineBox):
                _close_up_line(box, pad)
            else:
                stack.extend(getattr(box, "children", ()))


def _close_up_line(line, pad: str) -> None:
    from weasyprint.formatting_structure.boxes import TextBox

    def walk(box, chain):
        for child in list(getattr(box, "children", ())):
            here = [*chain, (box, child)]
            if isinstance(child, TextBox):
                element = child.element
                if ((child.element_tag or "").endswith("::after") and element is not None and element.get("data-page")
                        and child.text.endswith(pad) and not child.text.startswith(pad)):
                    _shrink(here, pad)
            else:
                walk(child, here)

    walk(line, [])


def _shrink(chain, pad: str) -> None:
    """Drop the trailing `pad` of the text box at the end of `chain` (pairs of parent and the
    child on the way down) and close up everything after it on the line."""
    text = chain[-1][1]
    layout = text.pango_layout
    kept = text.text.rstrip(pad)
    before = _text_width(layout, text.style, layout.text)
    layout.text = layout.text[: len(kept) - len(text.text)] if len(kept) < len(text.text) else layout.text
    text.text = kept
    gap = before - _text_width(layout, text.style, layout.text)
    if gap <= 0:
        return
    for parent, child in chain:
        if parent is not chain[0][0]:
            parent.width -= gap
        siblings = parent.children
        for later in siblings[siblings.index(child) + 1:]:
            later.translate(-gap, 0)
    text.width -= gap
