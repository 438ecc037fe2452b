"""Writing PDFs: the parts' options, deterministic identifiers, and the joined editions."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from .figures import Placeholder, swap_in_figures
from .html import Edition
from .weasy import DOC_ID, keep_page_references, stable_document_id

if TYPE_CHECKING:  # join and tagging bring pikepdf: imported where used, so a build that reuses the handbook does not load it
    from .join import PartPdf
    from .print_ready import PrintColour
    from .tagging import Reading

PART_ID = b"part"  # the parts' own /ID: the book gets its own when joined


def pdf_options(edition: Edition, identifier: bytes) -> dict:
    ed = edition.style
    options = {"pdf_identifier": identifier, "uncompressed_pdf": False}
    if ed.pdf_variant:
        options["pdf_variant"] = ed.pdf_variant
    if ed.output_intent == "srgb":  # a CMYK intent is set by the print pass (print_ready.py)
        options["output_intent"] = ed.output_intent
    return options


def write_pdf(document, edition: Edition, identifier: bytes) -> bytes:
    """PDF bytes, identical for identical input: the file /ID and the XMP DocumentID are
    derived from the input instead of WeasyPrint's random uuid."""
    with keep_page_references():
        return document.write_pdf(finisher=stable_document_id(identifier.decode("ascii")), **pdf_options(edition, identifier))


def set_document_id(pdf, identifier: bytes) -> None:
    """The XMP DocumentID of a joined book: its own, as its parts carry theirs."""
    if "/Metadata" in pdf.Root:
        xmp = pdf.Root.Metadata
        xmp.write(DOC_ID.sub(b"xmp.did:" + identifier, xmp.read_bytes()))


def pdf_identifier(*parts: str) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:32].encode("ascii")


def joined_pdf(parts: list[PartPdf], edition: Edition, colour: PrintColour | None, identifier: bytes, holders: dict[str, Placeholder],
               drawn: dict[str, bytes], reading: Reading) -> bytes:
    """The edition's book: its parts joined, the figures swapped in, a tagged edition's tags
    mended for screen readers, made print-ready where `colour` says how, saved deterministically."""
    import pikepdf

    from .join import join_parts
    from .print_ready import make_print_ready
    from .tagging import mend_tagged_pdf

    with contextlib.ExitStack() as stack:
        book = stack.enter_context(join_parts(parts))
        swap_in_figures(book, holders, drawn, stack)
        if edition.style.pdf_variant.startswith("pdf/ua"):
            starts = itertools.accumulate((part.pages for part in parts[:-1]), initial=0)  # where each part begins
            mend_tagged_pdf(book, reading, frozenset(starts))
        if colour is not None:
            make_print_ready(book, colour)
        set_document_id(book, identifier)
        out = io.BytesIO()
        book.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    return out.getvalue()


def joined_books(jobs: dict[str, tuple], finish) -> dict[str, bytes]:
    """Join the editions side by side, each in a fresh process: a join holds all its parts
    open, and a process forked from this one would carry the layouts' memory besides."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1), mp_context=spawn) as pool:
        books = {name: pool.submit(finish, *job) for name, job in jobs.items()}
        return {name: book.result() for name, book in books.items()}


