"""A tagged PDF read the way a screen reader reads it, for the accessibility tests.

Independent of the code that writes the tags: pdfminer.six interprets each page's content
(its own font decoding, forms included) and tells which marked content every text-showing
operator sits in; pikepdf walks the structure tree in order, taking /ActualText where an
element has one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from pdfminer.pdfdevice import PDFDevice
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser


@dataclass
class PageContent:
    """The text of each MCID on a page, and the text shown outside any tag or artifact."""

    texts: dict[int, str] = field(default_factory=dict)
    untagged: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)


class _MarkedText(PDFDevice):
    def __init__(self, rsrcmgr, page: PageContent):
        super().__init__(rsrcmgr)
        self.page, self.stack = page, []

    def begin_tag(self, tag, props=None):
        mcid = props.get("MCID") if isinstance(props, dict) else None
        self.stack.append("artifact" if tag.name == "Artifact" else mcid)

    def end_tag(self):
        if self.stack:
            self.stack.pop()

    def do_tag(self, tag, props=None):
        pass

    def render_string(self, textstate, seq, ncs, graphicstate):
        font = textstate.font
        text = "".join(font.to_unichr(cid) if _has(font, cid) else "" for item in seq if isinstance(item, bytes) for cid in font.decode(item))
        if not text.strip():
            return
        if "artifact" in self.stack:
            self.page.artifacts.append(text)
            return
        mcid = next((m for m in reversed(self.stack) if isinstance(m, int)), None)
        if mcid is None:
            self.page.untagged.append(text)
        else:
            self.page.texts[mcid] = self.page.texts.get(mcid, "") + text


def _has(font, cid) -> bool:
    try:
        font.to_unichr(cid)
    except Exception:  # pdfminer raises for a code its map lacks
        return False
    return True


def page_contents(path: Path) -> list[PageContent]:
    with path.open("rb") as handle:
        document = PDFDocument(PDFParser(handle))
        manager = PDFResourceManager()
        pages = []
        for page in PDFPage.create_pages(document):
            content = PageContent()
            device = _MarkedText(manager, content)
            PDFPageInterpreter(manager, device).process_page(page)
            pages.append(content)
        return pages


@dataclass(frozen=True)
class Reading:
    """The tagged PDF as read: the elements in order and the text each leaf reads."""

    pdf: pikepdf.Pdf
    pages: list[PageContent]

    @property
    def page_index(self) -> dict:
        return {page.obj.objgen: i for i, page in enumerate(self.pdf.pages)}

    def elements(self) -> Iterator:
        """Every structure element, depth first in reading order."""
        yield from _walk(self.pdf.Root.StructTreeRoot.K[0])

    def text(self, element) -> str:
        """What a screen reader reads for `element`."""
        if "/ActualText" in element:
            return str(element.ActualText)
        if element.S == "/Figure":
            return str(element.get("/Alt", ""))
        index, parts = self.page_index, []
        for kid in kids(element):
            if is_element(kid):
                parts.append(self.text(kid))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                parts.append(self.pages[index[kid.Pg.objgen]].texts.get(int(kid.MCID), ""))
            elif not isinstance(kid, pikepdf.Dictionary):
                parts.append(self.pages[index[element.Pg.objgen]].texts.get(int(kid), ""))
        return "".join(parts)

    def tagged(self) -> set[tuple[int, int]]:
        """(page, MCID) of the marked content the tree holds."""
        index, found = self.page_index, set()
        for element in [self.pdf.Root.StructTreeRoot.K[0], *self.elements()]:
            for kid in kids(element):
                if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                    found.add((index[kid.Pg.objgen], int(kid.MCID)))
                elif not isinstance(kid, pikepdf.Dictionary):
                    found.add((index[element.Pg.objgen], int(kid)))
        return found


def kids(element) -> list:
    k = element.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, pikepdf.Array) else [k]


def is_element(obj) -> bool:
    return isinstance(obj, pikepdf.Dictionary) and "/S" in obj


def _walk(element) -> Iterator:
    for kid in kids(element):
        if is_element(kid):
            yield kid
            yield from _walk(kid)
