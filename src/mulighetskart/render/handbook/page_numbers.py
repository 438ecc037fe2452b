"""Page numbers written into the laid-out book.

Cross-references, the contents and the index print the page they point at. WeasyPrint's
target-counter() lays the book out three times for that (once, again for the forward
references, again once the page count is known). Instead the HTML carries each number as
text, padded with figure spaces to a fixed width in tabular figures, so no number can move
a line break. The book is laid out once with placeholders; the numbers are then read from
the pages' anchors and written into the laid-out text. If one would not keep its
placeholder's width, the book is laid out again from HTML holding the real numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from ...errors import BuildError
from ...layout.handbook import Handbook
from . import weasy

FIGURE_SPACE = "\u2007"  # as wide as a tabular digit
FIGURE_SPACE_ENTITY = "&#8199;"  # written so in the HTML, where it would not be seen


@dataclass(frozen=True)
class PageNumbers:
    """The page of each anchor, as the templates print it (`ref` in running text, `column`
    right-aligned in the contents and the index)."""

    pages: dict[str, int]
    digits: int

    @classmethod
    def placeholders(cls, hb: Handbook) -> PageNumbers:
        return cls({}, page_digits(hb))

    def ref(self, anchor: str) -> Markup:
        return _in_html(padded(self.pages.get(anchor, 0), self.digits, right=False))

    def column(self, anchor: str) -> Markup:
        return _in_html(padded(self.pages.get(anchor, 0), self.digits, right=True))


def padded(number: int, width: int, right: bool) -> str:
    """The number in `width` digit widths, figure spaces before it (`right`) or after it."""
    return (str.rjust if right else str.ljust)(str(number), width, FIGURE_SPACE)


def _in_html(text: str) -> Markup:
    return Markup(text.replace(FIGURE_SPACE, FIGURE_SPACE_ENTITY))


def page_digits(hb: Handbook) -> int:
    """Room for the page numbers: a generous estimate of the page count (a wider placeholder
    costs a figure space of white; a narrower one a second layout)."""
    items = sum(len(ch.offers) + len(ch.financing) for ch in hb.chapters) + len(hb.personas)
    return max(3, len(str(4 * items + 100)))


def anchor_pages(book) -> dict[str, int]:
    """The page where each anchor begins (an element running over pages is on each of them)."""
    pages: dict[str, int] = {}
    for number, page in enumerate(book.pages, 1):
        for anchor in page.anchors:
            pages.setdefault(anchor, number)
    return pages


def fill_in_page_numbers(book, pages: dict[str, int], expected: int) -> bool:
    """Write the real numbers over the `expected` placeholders of a laid-out book; False (the
    book partly written) if one is missing or a number would change its width."""
    filled = 0
    for box, placeholder, anchor in weasy.page_number_boxes(book):
        if anchor not in pages:
            raise BuildError(f"a cross-reference in the handbook points at #{anchor}, which is not in the book")
        number = padded(pages[anchor], len(placeholder), right=placeholder.startswith(FIGURE_SPACE))
        if not weasy.retext(box, placeholder, number):
            return False
        filled += 1
    return filled == expected


DATA_PAGE = ' data-page="'
