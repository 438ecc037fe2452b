"""The book laid out part by part, and each part written as PDF in both editions.

The book is laid out part by part (layout/handbook.py `book_parts`): each part begins on a
page of its own, so it can be laid out alone once its first page has the side and number it
has in the book (one line of CSS), and its running head comes from data-running. A part's
layout and PDFs are kept in the memo under what they are made from, so after an edit only
the parts that print what changed are laid out and written again; join.py then joins
the parts' PDFs into the book. One layout serves both editions: the screen edition is the
print layout without the bleed, except for the map page, laid out at the screen's size.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from ...errors import BuildError
from ...layout.handbook import CopyFit, Part
from ...memo import Memo
from .figures import PLACEHOLDER_TYPE, Placeholder
from .html import FIGURES, SHARED_CSS, Edition
from .page_numbers import DATA_PAGE, FIGURE_SPACE, PageNumbers, anchor_pages, fill_in_page_numbers
from .pdf import PART_ID, pdf_options, write_pdf
from .weasy import BASE_URL, close_up_references, page_fill, screen_part, with_stand_ins

if TYPE_CHECKING:  # join brings pikepdf: imported where used
    from .join import PartPdf


KEEP_PAGES = 700  # pages of parts waiting for their numbers kept laid out; beyond that one is laid out again to be written
WRITE_PAGES = 100  # numbered pages written at a time (the editions side by side)


@dataclass(frozen=True)
class PartLayout:
    """What the book needs to know of a laid-out part."""

    pages: int
    anchors: dict[str, int]  # anchor → page within the part, from 1
    levels: tuple[int, ...]  # the level of each bookmark, in order
    targets: tuple[str, ...]  # anchors it links to in other parts: its numbers are known once they are laid out
    fit: int = 0  # the copy-fitting step it is laid out with (`fitted`)

    @classmethod
    def of(cls, doc, fit: int = 0) -> PartLayout:
        anchors = anchor_pages(doc)
        linked = {target for page in doc.pages for kind, target, *_ in page.links if kind == "internal"}
        levels = tuple(mark[0] for page in doc.pages for mark in page.bookmarks)
        return cls(len(doc.pages), anchors, levels, tuple(sorted(linked - anchors.keys())), fit)

    def to_bytes(self) -> bytes:
        return json.dumps([self.pages, self.anchors, self.levels, self.targets, self.fit], sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PartLayout:
        pages, anchors, levels, targets, fit = json.loads(data)
        return cls(pages, anchors, tuple(levels), tuple(targets), fit)


@dataclass(frozen=True)
class Setup:
    """What WeasyPrint needs for every part of an edition: the style sheets, parsed once with
    their fonts loaded once, and the fetcher. `key` stands for all of it (and the edition's
    PDF options) in the memo."""

    css: tuple
    fonts: object  # weasyprint's FontConfiguration
    fetcher: object
    key: str
    holders: dict[str, Placeholder]

    def inputs(self, html: str) -> tuple[str, str, str]:
        """What a part's layout is made from: the set-up, its HTML, and the figures it shows
        (placeholders: their size and the value that tells them apart)."""
        shown = [f"{name}:{p.key}:{p.width_px}x{p.height_px}" for name, p in sorted(self.holders.items()) if f'"{FIGURES}/{name}"' in html]
        return self.key, html, ";".join(shown)


def part_setup(edition: Edition, files: dict[str, str | bytes], holders: dict[str, Placeholder], fetcher) -> Setup:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = tuple(weasyprint.CSS(string=str(files[name]), base_url=BASE_URL, url_fetcher=fetcher, font_config=fonts)
                for name in (SHARED_CSS, f"{edition.style.file}.css"))
    written = f"{PLACEHOLDER_TYPE}\0references closed up"  # how a part is written, besides its inputs
    digest = hashlib.sha256(f"{weasyprint.__version__}\0{edition.name}\0{sorted(pdf_options(edition, PART_ID).items())}\0{written}\0".encode())
    for name, data in sorted(files.items()):
        if not name.startswith(f"{FIGURES}/"):  # a figure counts in the parts that show it (`inputs`)
            digest.update(name.encode() + b"\0" + (data.encode() if isinstance(data, str) else data))
    return Setup(css, fonts, fetcher, digest.hexdigest(), holders)


def layout_part(html: str, setup: Setup, start: int):
    """A part laid out as it stands in the book, its first page numbered `start`."""
    import weasyprint

    side = "right" if start % 2 else "left"
    first = weasyprint.CSS(string=f"@page :first {{ counter-increment: page {start}; }} html {{ break-before: {side}; }}")
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=setup.fetcher)
    return document.render(stylesheets=[*setup.css, first], font_config=setup.fonts)


def fitted(html: str, step: int) -> str:
    """The part's HTML at copy-fitting `step`: its root carries data-fit, which the CSS reads."""
    return html.replace("<html ", f'<html data-fit="{step}" ', 1) if step else html


def fit_part(html: str, setup: Setup, start: int, fit: CopyFit | None) -> tuple[object, int]:
    """The part laid out, and its copy-fitting step: a part of more than one page whose last
    page is nearly empty is laid out a step tighter at a time, and the first step that fills
    or removes that page is kept (none that does: as it was)."""
    doc = layout_part(html, setup, start)
    last = _last_text_page(doc)
    if fit is None or len(doc.pages) < 2 or last is None or not _sparse(last, fit):
        return doc, 0
    for step in range(1, fit.steps + 1):
        tighter = layout_part(fitted(html, step), setup, start)
        last = _last_text_page(tighter)
        if len(tighter.pages) < len(doc.pages) or last is None or not _sparse(last, fit):
            return tighter, step
    return doc, 0


def _last_text_page(doc):
    """The part's last page of text: a fold-out (a page of another size than the part's first,
    as a persona's route map) and its back, and the blank page before it, do not count."""
    size = (doc.pages[0].width, doc.pages[0].height)
    return next((page for page in reversed(doc.pages) if (page.width, page.height) == size and page_fill(page) != (0, 0.0)), None)


def _sparse(page, fit: CopyFit) -> bool:
    lines, filled = page_fill(page)
    return lines < fit.min_lines or filled < fit.min_fill


@dataclass
class Book:
    """The parts as far as laid out: where each starts, what it holds, the pages of the
    anchors placed so far, and the layouts still in memory."""

    parts: tuple[Part, ...]
    starts: list[int] = field(default_factory=list)
    layouts: list[PartLayout] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)  # the numbered cross-references in each part's HTML
    pages: dict[str, int] = field(default_factory=dict)  # anchor → page in the book (its first place)
    docs: dict[int, object] = field(default_factory=dict)  # part index → laid-out part, until written

    @property
    def next_page(self) -> int:
        return self.starts[-1] + self.layouts[-1].pages if self.layouts else 1

    def place(self, layout: PartLayout, doc, refs: int) -> None:
        start = self.next_page
        for anchor, page in layout.anchors.items():
            self.pages.setdefault(anchor, start + page - 1)
        if doc is not None:
            self.docs[len(self.layouts)] = doc
        self.starts.append(start)
        self.layouts.append(layout)
        self.refs.append(refs)

    def forget(self, indexes: list[int], pages: int) -> None:
        """Drop the layouts of `indexes`, first ones first, until the book keeps at most `pages`."""
        kept = sum(self.layouts[i].pages for i in self.docs)
        for index in indexes:
            if kept <= pages:
                return
            if self.docs.pop(index, None) is not None:
                kept -= self.layouts[index].pages

    def numbers(self, digits: int) -> PageNumbers:
        return PageNumbers(dict(self.pages), max(digits, len(str(self.next_page - 1))))


@dataclass
class PartQueue:
    """Laid-out parts wait here until the pages their cross-references point at are laid out
    too; then their numbers are written in and they go to `write`, WRITE_PAGES at a time. So a
    part's layout stays in memory only that long, and is not laid out again to be written."""

    page_no: PageNumbers  # the numbers in the HTML laid out (none: placeholders, written in here)
    write: Callable[[Book, list[int], PageNumbers], None]
    waiting: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    holds: bool = True  # every number written in kept its placeholder's width

    def laid_out(self, book: Book) -> None:
        self.waiting.append(len(book.layouts) - 1)
        now = [i for i in self.waiting if all(t in book.pages for t in book.layouts[i].targets)]
        self.waiting = [i for i in self.waiting if i not in now]
        if self.ready and sum(book.layouts[i].pages for i in self.ready + now) > WRITE_PAGES:
            self.flush(book)  # one run: a second would wait for the first's writers
        self.ready += now
        self.holds = self.holds and len(str(book.next_page - 1)) <= self.page_no.digits
        book.forget(self.waiting, KEEP_PAGES)

    def finish(self, book: Book) -> None:
        self.ready += self.waiting
        self.waiting = []
        self.flush(book)

    def flush(self, book: Book) -> None:
        """Write the ready parts, WRITE_PAGES at a time: a part laid out again to be written
        stays in memory only with its run."""
        numbers = self.page_no if self.page_no.pages else PageNumbers(dict(book.pages), self.page_no.digits)
        for run in _runs(self.ready, [book.layouts[i].pages for i in self.ready], WRITE_PAGES):
            if not self.page_no.pages:
                self.holds = self.holds and all(fill_in_page_numbers(book.docs[i], numbers.pages, book.refs[i]) for i in run if i in book.docs)
            if self.holds:
                self.write(book, run, numbers)
            for index in run:
                book.docs.pop(index, None)
            _return_freed_memory()
        self.ready = []


def _runs(items: list[int], sizes: list[int], most: int) -> list[list[int]]:
    """`items` in order, in runs of at most `most` in size (a bigger item alone)."""
    runs: list[list[int]] = []
    held = most
    for item, size in zip(items, sizes, strict=True):
        if held + size > most:
            runs.append([])
            held = 0
        runs[-1].append(item)
        held += size
    return runs


def _return_freed_memory() -> None:
    """Give the layouts just freed back to the system (glibc keeps them otherwise), so the
    process forked to write the next run does not carry them."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def lay_out_book(parts: tuple[Part, ...], html_for: Callable[[Part], str], setup: Setup, memo: Memo, queue: PartQueue, fit: CopyFit | None = None) -> Book:
    book = Book(parts)
    for part in parts:
        html, made, start = html_for(part), {}, book.next_page

        def make(html=html, start=start, made=made) -> bytes:
            made["doc"], step = fit_part(html, setup, start, fit)
            return PartLayout.of(made["doc"], step).to_bytes()

        layout = PartLayout.from_bytes(memo.get("handbook-layout", make, *setup.inputs(html), str(start % 2)))
        book.place(layout, made.get("doc"), html.count(DATA_PAGE))
        queue.laid_out(book)
    queue.finish(book)
    return book


def numbered_book(parts, html_for: Callable[[Part, PageNumbers], str], digits: int, setup: Setup, memo: Memo,
                  write: Callable[[Book, list[int], PageNumbers], None], fit: CopyFit | None = None) -> tuple[Book, PageNumbers]:
    """The book laid out, its parts handed to `write` with their page numbers, and the numbers:
    laid out with placeholders, the numbers written in; where one does not fit, laid out again
    with the numbers in the HTML until they hold (each pass writes every part again)."""
    page_no = PageNumbers({}, digits)
    for _ in range(4):
        queue = PartQueue(page_no, write)
        book = lay_out_book(parts, partial(html_for, page_no=page_no), setup, memo, queue, fit)
        numbers = book.numbers(digits)
        if numbers == page_no or (not page_no.pages and queue.holds):
            return book, numbers
        page_no, digits = numbers, numbers.digits
    raise BuildError("the handbook's page numbers do not settle: each layout moves the pages they point at")


@dataclass
class PartWriter:
    """Writes parts of the book in both editions, from the memo or now, each edition in a
    process of its own while this one lays out the next parts; keeps each part's PDFs by its
    place in the book."""

    html_for: Callable[..., str]  # a part's HTML, given its page numbers (`page_no`)
    setups: dict[str, Setup]
    eds: tuple[Edition, ...]
    memo: Memo
    pdfs: dict[str, dict[int, PartPdf]] = field(default_factory=dict)
    running: list[tuple[list[int], str, Callable[[], list[PartPdf]]]] = field(default_factory=list)

    def __call__(self, book: Book, batch: list[int], numbers: PageNumbers) -> None:
        html = {i: fitted(self.html_for(book.parts[i], page_no=numbers), book.layouts[i].fit) for i in batch}
        jobs = {ed.name: [part_job(book, i, html[i], self.setups, ed, self.memo) for i in batch] for ed in self.eds}
        self.collect()  # one run at a time: its processes carry this one's memory
        write = partial(part_pdfs, memo=self.memo)
        self.running = [(batch, ed.name, in_background(write, jobs[ed.name], ed)) for ed in self.eds]

    def collect(self) -> None:
        for batch, name, result in self.running:
            self.pdfs.setdefault(name, {}).update(zip(batch, result(), strict=True))
        self.running = []

    def in_order(self, count: int) -> dict[str, list[PartPdf]]:
        self.collect()
        return {name: [made[i] for i in range(count)] for name, made in self.pdfs.items()}


@dataclass(frozen=True)
class PartJob:
    """A part's PDF in one edition: what it is made from (its memo key), and its layout,
    in memory when the memo does not hold the PDF."""

    inputs: tuple[str, ...]
    layout: PartLayout
    doc: object | None
    targets: frozenset[str] = frozenset()  # anchors in other parts of the book it links to


def part_job(book: Book, index: int, html: str, setups: dict[str, Setup], edition: Edition, memo: Memo) -> PartJob:
    """A part's job for `edition`, laid out now if the memo lacks its PDF and the layout is
    not in memory. Only the map page has a layout of its own on screen."""
    part, start, layout = book.parts[index], book.starts[index], book.layouts[index]
    own = part.kind == "map" and edition.name != "print"
    inputs = (*setups["print"].inputs(html), setups[edition.name].key, str(start))
    if memo.has("handbook-part", *inputs):
        return PartJob(inputs, layout, None)
    doc = layout_part(html, setups[edition.name], start) if own else book.docs.get(index)
    if doc is None:
        doc = book.docs[index] = layout_part(html, setups["print"], start)
    again = PartLayout.of(doc, layout.fit)
    if again.pages != layout.pages or (not own and again != layout):
        raise BuildError(f"the handbook part '{part.name}' laid out again does not keep its pages")
    close_up_references(doc, FIGURE_SPACE)  # the numbers are in: no gap after them (a second call finds none)
    return PartJob(inputs, layout, doc, frozenset(t for t in layout.targets if t in book.pages))


def part_pdfs(jobs: list[PartJob], edition: Edition, memo: Memo) -> list[PartPdf]:
    from .join import PartPdf

    return [PartPdf(memo.get("handbook-part", partial(write_part, job, edition), *job.inputs),
                    frozenset(job.layout.anchors), job.layout.levels, job.layout.pages) for job in jobs]


def write_part(job: PartJob, edition: Edition) -> bytes:
    doc = screen_part(job.doc) if edition.name == "screen" else job.doc
    return write_pdf(with_stand_ins(doc, job.targets), edition, PART_ID)


def in_background(work: Callable, *args) -> Callable[[], object]:
    """Start `work(*args)` in a forked process, which inherits the laid-out pages; the function
    returned waits for its result. (Where fork is missing, the work is done now.) A process
    per edition also keeps the print edition's output-intent profile, which WeasyPrint adds
    to the colour profiles a part's two documents share, out of the screen edition."""
    if "fork" not in multiprocessing.get_all_start_methods() or (os.cpu_count() or 1) < 2:
        done = work(*args)
        return lambda: done
    ctx = multiprocessing.get_context("fork")
    reader, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_send_result, args=(sender, work, *args), daemon=True)
    child.start()
    sender.close()

    def result():
        try:
            ok, value = reader.recv()
        except EOFError:
            ok, value = False, "the process ended without an answer"
        finally:
            reader.close()
            child.join()
        if not ok:
            raise BuildError(f"writing the handbook failed: {value}")
        return value

    return result


def _send_result(sender, work, *args) -> None:
    try:
        sender.send((True, work(*args)))
    except BaseException as exc:  # report any failure to the parent instead of dying silently
        sender.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


