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


def word(token: str) -> str:
    """A token as compared: no soft hyphens, no punctuation around it, lower case."""
    return token.replace("\u00ad", "").strip("()[]{},;:.!?«»\"'").lower()
