"""Markdown → safe HTML: markdown-it-py renders, nh3 keeps only the allowlist of a profile.

Content is written by hand and ends up on a public website and in print, so raw HTML in
Markdown is disabled and everything is sanitised with one allowlist. Two profiles:
`strict` is what the strictest mainstream CMS rich-text editor keeps as it is (the CMS
fragments' default), `rich` adds tables, definition lists, quotes and heading ids (the handbook).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

URL_SCHEMES = frozenset({"https", "http", "mailto"})
STRICT_TAGS = frozenset({"p", "h2", "h3", "h4", "ul", "ol", "li", "a", "strong", "em", "br", "img"})
RICH_TAGS = STRICT_TAGS | {"blockquote", "table", "caption", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd"}
# "*" is stated even when empty: without it nh3 keeps its own defaults (lang, title) on every tag.
STRICT_ATTRIBUTES = {"a": frozenset({"href"}), "img": frozenset({"src", "alt"}), "*": frozenset()}
# lang and dir on any tag mark a passage in another language (WCAG 3.1.2). Only the rich profile
# keeps them: a strict editor (Draftail) drops both, so there the item carries its language and
# direction (manifest `language`, `dir`) and the page gets them from the CMS.
RICH_ATTRIBUTES = {**STRICT_ATTRIBUTES, "th": frozenset({"scope"}), "h2": frozenset({"id"}), "h3": frozenset({"id"}), "h4": frozenset({"id"}),
                   "*": frozenset({"lang", "dir"})}


@dataclass(frozen=True)
class Profile:
    """An HTML allowlist: the tags and, per tag, the attributes that pass."""

    name: str
    tags: frozenset[str]
    attributes: dict[str, frozenset[str]]

    @property
    def heading_ids(self) -> bool:
        return "id" in self.attributes.get("h2", ())


PROFILES = {"strict": Profile("strict", STRICT_TAGS, STRICT_ATTRIBUTES), "rich": Profile("rich", RICH_TAGS, RICH_ATTRIBUTES)}
RICH = PROFILES["rich"]
# Kept for callers that check against "the" allowlist: the wider one, which every profile fits in.
ALLOWED_TAGS = RICH_TAGS
ALLOWED_ATTRIBUTES = RICH_ATTRIBUTES


@cache  # one parser: it keeps no state between documents
def _md() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


_VOID = re.compile(r"<(img|br)((?:\s[^<>]*?)?)\s*/?>")


def sanitise(html: str, profile: Profile = RICH) -> str:
    """Only the profile's tags and attributes; void elements written `<img … />`, `<br />`
    (an editor that parses XHTML-style, like Draftail's converter, needs the slash)."""
    clean = nh3.clean(
        html,
        tags=set(profile.tags),
        attributes={k: set(v) for k, v in profile.attributes.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )
    return _VOID.sub(lambda m: f"<{m[1]}{m[2].rstrip()} />", clean)


def markdown_html(text: str, shift_headings: int = 0, profile: Profile = RICH) -> str:
    """Sanitised HTML for a Markdown body; headings pushed down `shift_headings` levels."""
    html = _md().render(text or "")
    for level in range(6, 0, -1):
        new = min(level + shift_headings, 6)
        html = html.replace(f"<h{level}>", f"<h{new}>").replace(f"</h{level}>", f"</h{new}>")
    return sanitise(html, profile).strip()


@dataclass(frozen=True)
class RemoteImage:
    line: int  # 0-based line in the Markdown text
    col: int  # 0-based column in that line
    url: str


def remote_images(text: str) -> list[RemoteImage]:
    """Images in Markdown whose address leaves the guide (any URL with a scheme or host):
    shown on a web page, they would make every reader's browser call a third party."""
    found = []
    lines = (text or "").splitlines()
    for block in _md().parse(text or ""):
        for token in block.children or ():
            src = token.attrGet("src") if token.type == "image" else None
            if src is None:
                continue
            parts = urlsplit(str(src))
            if not (parts.scheme or parts.netloc):
                continue
            line = block.map[0] if block.map else 0
            for i in range(line, block.map[1] if block.map else len(lines)):
                if str(src) in lines[i]:
                    line = i
                    break
            col = max(0, lines[line].find("![")) if line < len(lines) else 0
            found.append(RemoteImage(line, col, str(src)))
    return found
