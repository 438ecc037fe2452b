"""Markdown → safe HTML: markdown-it-py renders, nh3 keeps only the allowlist.

Content is written by hand and ends up on a public website and in print, so raw HTML in
Markdown is disabled and everything is sanitised with the one allowlist the CMS keeps.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt

# Tags and attributes every mainstream CMS keeps (issue: CMS fragment package).
ALLOWED_TAGS = frozenset({
    "p", "h2", "h3", "h4", "ul", "ol", "li", "a", "strong", "em", "blockquote", "table", "caption",
    "thead", "tbody", "tr", "th", "td", "img", "dl", "dt", "dd",
})
# lang and dir on any tag mark a passage in another language (WCAG 3.1.2); CMSs keep them.
ALLOWED_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}, "th": {"scope"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "*": {"lang", "dir"}}
URL_SCHEMES = frozenset({"https", "http", "mailto"})


@cache  # one parser: it keeps no state between documents
def _md() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )


def markdown_html(text: str, shift_headings: int = 0) -> str:
    """Sanitised HTML for a Markdown body; headings pushed down `shift_headings` levels."""
    html = _md().render(text or "")
    for level in range(6, 0, -1):
        new = min(level + shift_headings, 6)
        html = html.replace(f"<h{level}>", f"<h{new}>").replace(f"</h{level}>", f"</h{new}>")
    return sanitise(html).strip()
