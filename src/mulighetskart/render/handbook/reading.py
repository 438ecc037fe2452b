"""What the screen edition's tag mending (tagging.py) needs to know of the source, without pikepdf."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Reading:
    """What the mending needs to know of the source: how a page number is read out
    (`spoken_page_ref`, e.g. ', side {page}') and the words of the source text, which tell a
    line that broke inside a word (no space: 'AMO-' 'kurs', a URL) from one that broke
    between words ('Integrerings-' 'og')."""

    spoken_page_ref: str
    words: frozenset[str] = frozenset()
    # Passages in another language than the one around them, in source order: (lang, letters)
    # — their letters (lower case, no spaces, punctuation or digits) find their element in the tree.
    languages: tuple[tuple[str, str], ...] = ()


class _Words(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.words: set[str] = set()

    def handle_data(self, data):
        self.words.update(word(w) for w in data.split())

    def handle_starttag(self, tag, attrs):
        self.words.update(word(value) for name, value in attrs if name == "href" and value)


def source_words(html: str) -> frozenset[str]:
    """The words of an edition's HTML (its text and its link addresses)."""
    parser = _Words()
    parser.feed(html)
    parser.close()
    return frozenset(parser.words)


def source_languages(html: str) -> tuple[tuple[str, str], ...]:
    """Each element whose `lang` differs from its parent's, with the letters of its text."""
    parser = _Languages()
    parser.feed(html)
    parser.close()
    return tuple((lang, "".join(letters)) for lang, letters in parser.passages)


def letters(text: str) -> str:
    """What a passage is matched by: visual order, line breaks and generated marks aside."""
    return "".join(c for c in text.lower() if c.isalpha())


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
UNREAD = {"head", "style", "script"}


class _Languages(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, str, int | None]] = []  # tag, its language, its passage
        self.passages: list[tuple[str, list[str]]] = []
        self.unread = 0

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        around = self.open[-1][1] if self.open else ""
        lang = dict(attrs).get("lang") or around
        passage = None
        if self.open and lang != around:
            passage = len(self.passages)
            self.passages.append((lang, []))
        self.open.append((tag, lang, passage))
        self.unread += tag in UNREAD

    def handle_endtag(self, tag):
        while self.open:
            closed, _, _ = self.open.pop()
            self.unread -= closed in UNREAD
            if closed == tag:
                break

    def handle_data(self, data):
        if self.unread:
            return
        text = letters(data)
        for _, _, passage in self.open:
            if passage is not None:
                self.passages[passage][1].append(text)


def word(token: str) -> str:
    """A token as compared: no soft hyphens, no punctuation around it, lower case."""
    return token.replace("\u00ad", "").strip("()[]{},;:.!?«»\"'").lower()
