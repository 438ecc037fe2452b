"""Join PDFs of a book's parts, each laid out and written by WeasyPrint on its own, into one book.

The first part gives the document its catalogue (metadata, output intent, language, viewer
preferences). The other parts bring their pages and everything that refers to them:
  - the structure tree: each part's top-level elements go under the first part's /Document,
    and the parent tree is numbered again (pages first, then annotations, as WeasyPrint does);
  - named destinations: each part keeps the names of its own anchors (a part also carries
    stand-ins for anchors in other parts, so WeasyPrint keeps the links to them);
  - bookmarks: rebuilt over the whole book from each part's bookmarks and their levels.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import pikepdf


@dataclass(frozen=True)
class PartPdf:
    data: bytes
    anchors: frozenset[str]  # the anchors this part holds (its other destinations are stand-ins)
    levels: tuple[int, ...]  # the level of each of its bookmarks, in order


def join_parts(parts: Sequence[PartPdf]) -> pikepdf.Pdf:
    """One PDF of all parts' pages, in order; the caller saves and closes it."""
    book = pikepdf.open(io.BytesIO(parts[0].data))
    sources = [book] + [pikepdf.open(io.BytesIO(p.data)) for p in parts[1:]]
    try:
        spans, marks, dests = [], [], {}
        for part, src in zip(parts, sources, strict=True):
            start = len(book.pages) if src is not book else 0
            if src is not book:
                with warnings.catch_warnings():  # named destinations are joined below
                    warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
                    book.pages.extend(src.pages)
            pages = book.pages[start:]
            spans.append((src, start, len(pages)))
            marks += _bookmarks(src, pages, part.levels)
            for name, dest in _destinations(src):
                if name in part.anchors and name not in dests:
                    dests[name] = _copy(book, dest) if src is not book else dest
        _join_structure(book, spans)
        _set_destinations(book, dests)
        _set_outline(book, marks)
    finally:
        for src in sources[1:]:
            src.close()
    return book


def _copy(book: pikepdf.Pdf, obj):
    """A part's object in the book: indirect objects through qpdf's copier (which maps the
    part's pages to their copies), direct arrays element by element."""
    if isinstance(obj, pikepdf.Array) and not obj.is_indirect:
        return pikepdf.Array([_copy(book, item) for item in obj])
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return book.copy_foreign(obj)
    return obj


def _destinations(pdf: pikepdf.Pdf):
    names = pdf.Root.get("/Names", {}).get("/Dests", {}).get("/Names", [])
    return [(str(names[i]), names[i + 1]) for i in range(0, len(names), 2)]


def _set_destinations(book: pikepdf.Pdf, dests: dict) -> None:
    if not dests:
        return
    flat = [item for name in sorted(dests) for item in (pikepdf.String(name), dests[name])]  # a name tree is sorted
    book.Root.Names = book.Root.get("/Names", pikepdf.Dictionary())
    book.Root.Names.Dests = book.make_indirect(pikepdf.Dictionary(Names=pikepdf.Array(flat)))


# --------------------------------------------------------------------------- structure tree


def _join_structure(book: pikepdf.Pdf, spans) -> None:
    """One /Document for every part's elements; the parent tree numbered for the whole book."""
    if "/StructTreeRoot" not in book.Root:
        return
    root = book.Root.StructTreeRoot
    document = root.K[0]
    nums, annotations = [], []  # a list: growing a pikepdf.Array one item at a time costs its length each time
    for src, start, count in spans:
        src_root = src.Root.StructTreeRoot
        local = _parent_tree(src_root)
        if src is not book:
            src_document = src_root.K[0]
            for kid in src_document.K:
                del kid["/P"]  # set below: copying it would bring the part's whole tree along
            for kid in _copy(book, src_document.K):
                kid.P = document
                document.K.append(kid)
            local = {key: _copy(book, value) for key, value in local.items()}
        for index in range(start, start + count):
            page = book.pages[index]
            key = int(page.obj.get("/StructParents", -1))
            if key in local:
                page.obj.StructParents = index
                nums.extend([index, local[key]])
            annotations += [(annot, local) for annot in page.obj.get("/Annots", []) if "/StructParent" in annot]
    next_key = len(book.pages)
    for annot, local in annotations:
        element = local.get(int(annot.StructParent))
        if element is not None:
            annot.StructParent = next_key
            nums.extend([next_key, element])
            next_key += 1
    root.ParentTree = book.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(nums)))
    root.ParentTreeNextKey = next_key


def _parent_tree(struct_root) -> dict[int, object]:
    nums = struct_root.ParentTree.get("/Nums", [])
    return {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}


# --------------------------------------------------------------------------- bookmarks


def _bookmarks(src: pikepdf.Pdf, pages, levels: tuple[int, ...]) -> list[tuple[int, str, object]]:
    """(level, title, destination on the book's page) for a part's bookmarks, in order."""
    local = {page.objgen: i for i, page in enumerate(src.pages)}
    found = []

    def walk(items):
        for item in items:
            dest = list(item.destination)
            dest[0] = pages[local[dest[0].objgen]].obj
            found.append((item.title, pikepdf.Array(dest)))
            walk(item.children)

    with src.open_outline() as outline:
        walk(outline.root)
    if len(found) != len(levels):
        raise ValueError(f"a part has {len(found)} bookmarks but {len(levels)} levels")
    return [(level, title, dest) for level, (title, dest) in zip(levels, found, strict=True)]


def _set_outline(book: pikepdf.Pdf, marks: list[tuple[int, str, object]]) -> None:
    """The bookmarks as one tree: each under the nearest earlier one of a lower level."""
    with book.open_outline() as outline:
        outline.root.clear()
        stack: list[tuple[int, pikepdf.OutlineItem]] = []
        for level, title, dest in marks:
            item = pikepdf.OutlineItem(title, dest)
            while stack and stack[-1][0] >= level:
                stack.pop()
            (stack[-1][1].children if stack else outline.root).append(item)
            stack.append((level, item))
