"""The tagged (PDF/UA) edition's structure mended after the parts are joined, so a screen reader
reads it well. WeasyPrint tags what it lays out page by page; this fixes what that leaves:

  - running heads and page numbers (margin boxes, whose marked content WeasyPrint tags but
    hangs under no element) and repeated table headers become artifacts;
  - an element split over pages is one element again (a section, a list, a table: the table's
    repeated header goes), so each table is one Table;
  - nested links (a link's ::after, which shows its page number or URL) fold into their link;
  - the text read out is the text of the source: an inserted hyphen at a line end is dropped,
    a line end gives a space, and a page number reads as `spoken_page_ref` ("side 9"), apart
    from the link text and without its dot leaders (/ActualText on the pieces that need it);
  - each link annotation says where it goes (/Contents: its text and page);
  - each table header cell has a scope.
Everything works on the PDF's own objects with pikepdf; nothing here knows the guide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

import pikepdf

from .reading import Reading, letters, word

HYPHEN = "\u2010"  # what WeasyPrint inserts where it hyphenates (the source writes U+002D)
LEADER = " .\u2007\u00a0"  # dot leaders and the figure spaces that pad a page number
SPLITTABLE = {"/Sect", "/Art", "/Part", "/Div", "/NonStruct", "/L", "/Table", "/TBody", "/BlockQuote", "/Index", "/TOC"}
BLOCKS = {"/P", "/H", "/H1", "/H2", "/H3", "/H4", "/H5", "/H6", "/LBody", "/Lbl", "/TD", "/TH", "/Caption", "/Figure"}
SAME_LINE = 0.5  # pt: pieces whose baselines differ by less share a line
PAGE_NUMBER = re.compile(r"\D{0,12}?\d{1,5}")  # "s. 29", or "29" after a leader
BARE_ADDRESS = re.compile(r"(https?://|www\.)\S+")


@dataclass(frozen=True)
class Piece:
    """The text of one marked-content sequence and the baseline it starts on."""

    text: str
    y: float


@dataclass
class Mending:
    """What the passes share: the pages by object, the text by (page, MCID), and the
    marked content that is to become artifacts."""

    pdf: pikepdf.Pdf
    page_index: dict[tuple[int, int], int]
    pieces: dict[tuple[int, int], Piece] = field(default_factory=dict)
    artifacts: set[tuple[int, int]] = field(default_factory=set)
    afters: list[tuple[tuple[int, int], ...]] = field(default_factory=list)  # the pieces of each link's ::after


def mend_tagged_pdf(pdf: pikepdf.Pdf, reading: Reading, starts: frozenset[int] = frozenset()) -> None:
    """Mend the tagged PDF in place (an untagged one is left as it is); `starts` are the
    pages (from 0) where a part of the book begins: nothing there continues the page before."""
    if "/StructTreeRoot" not in pdf.Root:
        return
    mending = Mending(pdf, {page.obj.objgen: i for i, page in enumerate(pdf.pages)})
    document = pdf.Root.StructTreeRoot.K[0]
    _merge_continued(mending, document, starts)
    _fold_nested_links(mending, document)
    _join_split_links(mending, document)
    _mark_artifacts(mending, document)
    _set_actual_text(mending, document, reading)
    _set_link_contents(mending, document)
    _set_header_scopes(document)
    _set_languages(mending, document, reading.languages)
    _rebuild_parent_tree(mending, document)


# --------------------------------------------------------------------------- the tree


def _kids(element) -> list:
    k = element.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, pikepdf.Array) else [k]


def _is_element(obj) -> bool:
    return isinstance(obj, pikepdf.Dictionary) and "/S" in obj  # marked-content and object references have no /S


def _elements(element) -> Iterator:
    """The elements under `element`, depth first, in reading order."""
    for kid in _kids(element):
        if _is_element(kid):
            yield kid
            yield from _elements(kid)


def _content(mending: Mending, element) -> Iterator[tuple[object, int, tuple[int, int]]]:
    """(owner, index in its /K, (page, MCID)) for the marked content under `element`, in order."""
    for i, kid in enumerate(_kids(element)):
        if _is_element(kid):
            yield from _content(mending, kid)
        elif (key := _marked(mending, element, kid)) is not None:
            yield element, i, key


def _marked(mending: Mending, element, kid) -> tuple[int, int] | None:
    """(page, MCID) of a kid that is marked content (an MCID or a marked-content reference)."""
    if isinstance(kid, int) or (isinstance(kid, pikepdf.Object) and not isinstance(kid, pikepdf.Dictionary)):
        return mending.page_index[element.Pg.objgen], int(kid)
    if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
        return mending.page_index[kid.Pg.objgen], int(kid.MCID)
    return None


def _move_kids(pdf: pikepdf.Pdf, source, target) -> None:
    """Append `source`'s kids to `target`'s; marked content of another page keeps its page."""
    moved = []
    for kid in _kids(source):
        if isinstance(kid, pikepdf.Dictionary):
            if _is_element(kid):
                kid.P = target
            moved.append(kid)
        elif source.Pg.objgen != target.Pg.objgen:
            moved.append(pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.MCR, MCID=int(kid), Pg=source.Pg)))
        else:
            moved.append(kid)
    target.K = pikepdf.Array(_kids(target) + moved)


# --------------------------------------------------------------------------- continued elements


def _merge_continued(mending: Mending, document, starts: frozenset[int]) -> None:
    """WeasyPrint tags each page on its own, so an element that runs over a page break is two
    elements; where the elements either side of a page break continue one another, join them."""
    kids = _kids(document)
    merged = [kids[0]] if kids else []
    for kid in kids[1:]:
        last, page = merged[-1], mending.page_index[kid.Pg.objgen]
        if page not in starts and last.Pg.objgen != kid.Pg.objgen and _continues(last, kid):
            _join(mending, last, kid)
        else:
            merged.append(kid)
    document.K = pikepdf.Array(merged)


def _continues(before, after) -> bool:
    """`after` goes on with `before`: a splittable element of the same kind that does not open
    with a heading of its own."""
    if not (_is_element(before) and _is_element(after)) or before.S != after.S or str(before.S) not in SPLITTABLE:
        return False
    first = next(iter(_kids(after)), None)
    return not (_is_element(first) and re.fullmatch(r"/H\d?", str(first.S)))


def _join(mending: Mending, before, after) -> None:
    """Join `after` (on the next page) into `before`, and go on at the seam: the last kid of
    `before` and the first of `after` may continue one another too."""
    old = _kids(before)
    tail = old[-1] if old else None
    new = _kids(after)
    if before.S == "/Table":
        repeats = [kid for kid in new if _is_element(kid) and kid.S == "/THead"]
        if any(_is_element(kid) and kid.S == "/THead" for kid in old):
            for head in repeats:
                _drop(mending, head)
            after.K = pikepdf.Array([kid for kid in new if not (_is_element(kid) and kid.S == "/THead")])
            new = _kids(after)
    head = new[0] if new else None
    if _continues(tail, head):
        after.K = pikepdf.Array(new[1:])
        _move_kids(mending.pdf, after, before)
        _join(mending, tail, head)
    else:
        _move_kids(mending.pdf, after, before)


def _drop(mending: Mending, element) -> None:
    """An element repeated by the layout (a table header on a later page): its content becomes
    an artifact, its link annotations go (the first header keeps the links)."""
    for _, _, key in _content(mending, element):
        mending.artifacts.add(key)
    for sub in [element, *_elements(element)]:
        for kid in _kids(sub):
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                page = kid.Pg
                page.Annots = pikepdf.Array([a for a in page.get("/Annots", []) if a.objgen != kid.Obj.objgen])


# --------------------------------------------------------------------------- links


def _fold_nested_links(mending: Mending, document) -> None:
    """A link's ::after (its page number or URL) is tagged as a link inside the link: fold it
    into its link, keeping its annotations, and remember its pieces (a leader inside it is a
    link inside that again)."""
    for link in reversed([e for e in _elements(document) if e.S == "/Link"]):  # the innermost first
        if not any(_is_element(kid) and kid.S == "/Link" for kid in _kids(link)):
            continue
        kids = []
        for kid in _kids(link):
            if _is_element(kid) and kid.S == "/Link":
                mending.afters.append(tuple(key for _, _, key in _content(mending, kid)))
                holder = pikepdf.Dictionary(K=pikepdf.Array(), Pg=link.Pg)
                _move_kids(mending.pdf, kid, holder)
                for moved in _kids(holder):
                    if _is_element(moved):
                        moved.P = link
                    kids.append(moved)
            else:
                kids.append(kid)
        link.K = pikepdf.Array(kids)


def _join_split_links(mending: Mending, document) -> None:
    """A link broken over two lines is two links, side by side, to one target: make it one."""
    for element in [document, *_elements(document)]:
        kids = _kids(element)
        if sum(1 for kid in kids if _is_element(kid) and kid.S == "/Link") < 2:
            continue
        joined = []
        for kid in kids:
            last = joined[-1] if joined else None
            if _is_element(kid) and kid.S == "/Link" and _is_element(last) and last.S == "/Link" and _target(last) == _target(kid) is not None:
                _move_kids(mending.pdf, kid, last)
            else:
                joined.append(kid)
        if len(joined) != len(kids):
            element.K = pikepdf.Array(joined)


def _target(link) -> str | None:
    """Where a link element's (first) annotation goes."""
    for kid in _kids(link):
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
            annot = kid.Obj
            action = annot.get("/A", {})
            return str(annot.get("/Dest") or action.get("/URI") or action.get("/D") or "") or None
    return None


def _set_link_contents(mending: Mending, document) -> None:
    """Each link annotation's /Contents: the text its link reads (title and page); a link that
    reads only its address is named by the text around it too (whose page it is)."""
    for link in [e for e in _elements(document) if e.S == "/Link"]:
        text = " ".join(_read(mending, link).split())
        if BARE_ADDRESS.fullmatch(text) and _is_element(link.get("/P")):
            around = " ".join(_read(mending, link.P).replace(_read(mending, link), " ").split()).rstrip(" .,:;")
            text = f"{around} ({text})" if around else text
        for kid in [k for e in [link, *_elements(link)] for k in _kids(e)]:
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                kid.Obj.Contents = pikepdf.String(text)


def _read(mending: Mending, element) -> str:
    """The text a screen reader reads for `element`: /ActualText where set, else its content."""
    if "/ActualText" in element:
        return str(element.ActualText)
    parts = []
    for kid in _kids(element):
        if _is_element(kid):
            parts.append(_read(mending, kid))
        elif not isinstance(kid, pikepdf.Dictionary) or kid.get("/Type") == "/MCR":
            page = mending.page_index[(kid.Pg if isinstance(kid, pikepdf.Dictionary) else element.Pg).objgen]
            mcid = int(kid.MCID) if isinstance(kid, pikepdf.Dictionary) else int(kid)
            piece = mending.pieces.get((page, mcid))
            parts.append(piece.text if piece else "")
    return "".join(parts)


# --------------------------------------------------------------------------- text


def _set_actual_text(mending: Mending, document, reading: Reading) -> None:
    """Read in structure order, a line's last piece ends its word: an inserted hyphen goes, a
    space comes where the line broke between words; a page reference reads as words."""
    content = [(owner, i, key) for owner, i, key in _content(mending, document)
               if key in mending.pieces and key not in mending.artifacts]
    blocks = [_block(owner) for owner, _, _ in content]
    page_refs = _page_references(mending)
    spoken = [_spoken(mending.pieces[key].text, reading) if key in page_refs else _logical(mending.pieces[key].text) for _, _, key in content]
    fixes: dict[tuple[int, int], tuple[object, dict[int, str]]] = {}
    for n, (owner, i, key) in enumerate(content):
        piece, text = mending.pieces[key], spoken[n]
        if n + 1 < len(content) and text and not text[-1].isspace():
            after_key, after = content[n + 1][2], spoken[n + 1]
            line_end = after_key[0] != key[0] or abs(mending.pieces[after_key].y - piece.y) > SAME_LINE
            hyphenated = line_end and text.endswith(HYPHEN)
            text = text[:-1] if hyphenated else text
            if not hyphenated and after and not after[0].isspace() and after[0] not in ",.;:)" and (
                    blocks[n + 1] != blocks[n] or (line_end and not _one_word(text, after, reading.words))):
                text += " "
        if text != piece.text:
            fixes.setdefault(owner.objgen, (owner, {}))[1][i] = text
    for owner, texts in fixes.values():
        _actual_texts(mending.pdf, owner, texts)


def _logical(shown: str) -> str:
    """A piece in reading order: right-to-left text (Arabic, Persian) is shown, and so stored,
    in visual order, last letter first; a number or a Latin word inside it ("A1") is shown
    left to right, so it turns back once the piece is turned."""
    return LTR_RUN.sub(lambda run: run.group()[::-1], shown[::-1]) if _rtl(shown) else shown


# Left-to-right text inside a right-to-left line: Latin words and numbers, with the spaces
# and marks between them ("A1", "Kari Nordmann", "2021-05-02").
_LTR = r"0-9A-Za-z\u00c0-\u024f\u0660-\u0669\u06f0-\u06f9"  # Latin letters, Western and Arabic-Indic digits
LTR_RUN = re.compile(rf"[{_LTR}](?:[{_LTR} .,:/\-]*[{_LTR}])?")


def _rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def _spoken(shown: str, reading: Reading) -> str:
    """A page reference's piece as read: its number as words, a leader as nothing."""
    number = re.search(r"\d+", shown)
    return reading.spoken_page_ref.format(page=number.group()) if number else shown.strip(LEADER)


def _page_references(mending: Mending) -> set[tuple[int, int]]:
    """The pieces of the ::afters that show a page number (with a label or a leader before
    it), not an address."""
    found = set()
    for keys in mending.afters:
        shown = "".join(mending.pieces[k].text for k in keys if k in mending.pieces).strip(LEADER)
        if PAGE_NUMBER.fullmatch(shown):
            found.update(keys)
    return found


def _one_word(before: str, after: str, words: frozenset[str]) -> bool:
    """The line broke inside a word of the source: the end of `before` and the start of
    `after` make one."""
    tail, head = before.split()[-1] if before.split() else "", after.split()[0]
    return word(tail + head) in words


def _block(element) -> tuple[int, int]:
    """The paragraph, heading, list item or cell `element` sits in (a line ends with it)."""
    while str(element.get("/S")) not in BLOCKS and "/P" in element and _is_element(element.P):
        element = element.P
    return element.objgen


def _actual_texts(pdf: pikepdf.Pdf, owner, texts: dict[int, str]) -> None:
    """/ActualText for the marked content at `owner.K[index]` for each index in `texts`: on
    the owner where that is all it holds, else on a span of its own around it."""
    kids = _kids(owner)
    if len(kids) == 1 and owner.S == "/Span":
        owner.ActualText = pikepdf.String(texts[0])
        return
    for index, text in texts.items():
        kids[index] = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Span, P=owner, Pg=owner.Pg,
                                                           K=pikepdf.Array([kids[index]]), ActualText=pikepdf.String(text)))
    owner.K = pikepdf.Array(kids)


# --------------------------------------------------------------------------- tables


def _set_header_scopes(document) -> None:
    """A header cell in the table's head heads its column; one that starts a body row, its row."""
    for element in [document, *_elements(document)]:
        if element.S == "/THead":
            cells = [(e, "/Column") for e in _elements(element) if e.S == "/TH"]
        elif element.S == "/TR" and element.P.get("/S") != "/THead":
            row = [k for k in _kids(element) if _is_element(k)]
            cells = [(e, "/Row" if i == 0 and any(k.S == "/TD" for k in row) else "/Column")
                     for i, e in enumerate(row) if e.S == "/TH"]
        else:
            continue
        for cell, scope in cells:
            attributes = cell.get("/A", pikepdf.Dictionary(O=pikepdf.Name.Table))
            attributes.Scope = pikepdf.Name(scope)
            cell.A = attributes


# --------------------------------------------------------------------------- languages


def _set_languages(mending: Mending, document, languages: tuple[tuple[str, str], ...]) -> None:
    """/Lang on the element holding each passage in another language (a handout in Arabic,
    its review note in Norwegian inside it), so a screen reader speaks it with the right voice.
    An element is known by its letters in any order: the pieces of right-to-left text are in
    visual order. Passages are found in source order, each after the one before."""
    if not languages:
        return
    found: list[tuple[object, str]] = []
    _letters_below(mending, document, found)
    at = 0
    for lang, wanted in languages:
        ordered = sorted(wanted)
        match = next((i for i in range(at, len(found)) if len(found[i][1]) == len(wanted) and sorted(found[i][1]) == ordered), None)
        if match is not None:
            found[match][0].Lang = pikepdf.String(lang)
            at = match + 1


def _letters_below(mending: Mending, element, found: list[tuple[object, str]]) -> str:
    """The letters under `element`; each element below it is appended to `found` (depth first) with its own."""
    own = []
    for kid in _kids(element):
        if _is_element(kid):
            slot = len(found)
            found.append((kid, ""))
            found[slot] = (kid, _letters_below(mending, kid, found))
            own.append(found[slot][1])
        elif (key := _marked(mending, element, kid)) is not None and key in mending.pieces:
            own.append(letters(mending.pieces[key].text))
    return "".join(own)


# --------------------------------------------------------------------------- page content


def _mark_artifacts(mending: Mending, document) -> None:
    """Read every page's marked content (its text, for the passes after this one); content
    tagged for no element of the tree (running heads, page numbers) or dropped from it
    becomes an artifact."""
    tagged = {key for _, _, key in _content(mending, document)} - mending.artifacts
    forms: set[tuple[int, int]] = set()
    for index, page in enumerate(mending.pdf.pages):
        mending.artifacts |= {(index, mcid) for mcid in _read_page(mending, page, index, tagged)}
        _untag_forms(page.obj.get("/Resources", {}), forms)


def _untag_forms(resources, seen: set[tuple[int, int]]) -> None:
    """A figure drawn by librsvg keeps the marked content cairo tagged its links with, MCIDs
    that belong to no tree in the book: inside the book's /Figure they are plain marks."""
    for xobject in resources.get("/XObject", {}).values():
        if xobject.get("/Subtype") != "/Form" or xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        if b"MCID" in xobject.read_bytes():
            out = [pikepdf.ContentStreamInstruction([operands[0]], pikepdf.Operator("BMC")) if str(op) == "BDC" else
                   pikepdf.ContentStreamInstruction(operands, op) for operands, op in pikepdf.parse_content_stream(xobject)]
            xobject.write(pikepdf.unparse_content_stream(out))
        _untag_forms(xobject.get("/Resources", {}), seen)


def _read_page(mending: Mending, page, index: int, tagged: set[tuple[int, int]]) -> set[int]:
    """Keep the text of each tagged MCID on the page; the other MCIDs become artifacts (returned)."""
    fonts = {str(name): _to_unicode(font) for name, font in page.Resources.get("/Font", {}).items()}
    stack: list[int | None] = []
    font: dict[int, str] = {}
    y = 0.0
    orphans: set[int] = set()
    texts: dict[int, list[str]] = {}
    ys: dict[int, float] = {}
    for operands, operator in pikepdf.parse_content_stream(page, READ_OPS):
        op = str(operator)
        if op == "BDC":
            mcid = operands[1].get("/MCID") if isinstance(operands[1], pikepdf.Dictionary) else None
            stack.append(None if mcid is None else int(mcid))
            if mcid is not None and (index, int(mcid)) not in tagged:
                orphans.add(int(mcid))
        elif op == "BMC":
            stack.append(None)
        elif op == "EMC":
            if stack:
                stack.pop()
        elif op == "Tf":
            font = fonts.get(str(operands[0]), {})
        elif op == "Tm":
            y = float(operands[5])
        else:
            mcid = next((m for m in reversed(stack) if m is not None), None)
            if mcid is not None:
                texts.setdefault(mcid, []).append(_decode(operands[-1], font))
                ys.setdefault(mcid, y)
    for mcid, parts in texts.items():
        mending.pieces[(index, mcid)] = Piece("".join(parts), ys[mcid])
    if orphans:
        _as_artifacts(mending.pdf, page, orphans)
    return orphans


READ_OPS = "BDC BMC EMC Tf Tm Tj TJ ' \""
MARKED = re.compile(rb"/[A-Za-z]+\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")


def _as_artifacts(pdf: pikepdf.Pdf, page, mcids: set[int]) -> None:
    """Turn the marked content of `mcids` into artifacts. On the stream's bytes: WeasyPrint
    writes each mark as `/Span <</MCID n>> BDC`, and shows text only as hex strings, so the
    pattern cannot occur inside one."""
    contents = page.obj.Contents
    data = b"\n".join(c.read_bytes() for c in contents) if isinstance(contents, pikepdf.Array) else contents.read_bytes()
    marked = MARKED.sub(lambda m: b"/Artifact BMC" if int(m.group(1)) in mcids else m.group(0), data)
    page.obj.Contents = pdf.make_stream(marked)


BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")


def _to_unicode(font) -> dict[int, str]:
    """A font's glyph codes → text, from the ToUnicode map WeasyPrint writes (bfchar pairs)."""
    if "/ToUnicode" not in font:
        return {}
    data = font.ToUnicode.read_bytes()
    return {int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be", "replace")
            for code, text in BFCHAR.findall(data) if len(code) == 4}


def _decode(shown, font: dict[int, str]) -> str:
    strings = [item for item in shown if isinstance(item, pikepdf.String)] if isinstance(shown, pikepdf.Array) else [shown]
    codes = b"".join(bytes(s) for s in strings)
    glyphs = (font.get(int.from_bytes(codes[i:i + 2], "big"), "") for i in range(0, len(codes) - 1, 2))
    # In visual order with each right-to-left glyph's letters (a lam-alef ligature) turned too,
    # so reversing the whole piece gives the reading order (_logical).
    return "".join(g[::-1] if len(g) > 1 and _rtl(g) else g for g in glyphs)


# --------------------------------------------------------------------------- parent tree


def _rebuild_parent_tree(mending: Mending, document) -> None:
    """The parent tree anew from the tree as mended: each page's MCIDs and each annotation
    point at the element that now holds them; artifacts at none."""
    pdf = mending.pdf
    by_page: dict[int, dict[int, object]] = {}
    for owner, _, (page, mcid) in _content(mending, document):
        if (page, mcid) not in mending.artifacts:
            by_page.setdefault(page, {})[mcid] = owner
    nums = []
    for index, page in enumerate(pdf.pages):
        owners = by_page.get(index)
        if owners:
            page.obj.StructParents = index
            nums += [index, pikepdf.Array([owners.get(m) for m in range(max(owners) + 1)])]
        elif "/StructParents" in page.obj:
            del page.obj["/StructParents"]
    key = len(pdf.pages)
    for element in [document, *_elements(document)]:
        for kid in _kids(element):
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                kid.Obj.StructParent = key
                nums += [key, element]
                key += 1
    root = pdf.Root.StructTreeRoot
    root.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(nums)))
    root.ParentTreeNextKey = key
