"""The fragment package's preview: the recommended set-up of the guide in a CMS, as a small site.

One page per manifest item at preview/<its file>; the navigation tree in the manifest's parent
and order: whole on the front page (every item), and on an item page as a CMS shows it (the
top level, the branch down to the page with the siblings on the way, the page's children),
so a page's size does not grow with the whole guide. Per item type a page template that draws the fragment inside a
plain wireframe: each region (title, ingress, key facts, body, illustration, related links,
"sist oppdatert") is framed and named. Links between fragments go to their preview pages,
images to the package's own files. The look (fonts, theme colours, wording, which section
goes in which region) is data in layouts/; nothing here changes a fragment.
"""

from __future__ import annotations

import io
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from markupsafe import Markup

from ..memo import NO_MEMO, Memo
from ..theme import Theme

FOLDER = "preview"
FONT_STYLES = ("regular", "bold", "italic")


@dataclass(frozen=True)
class Block:
    """A piece of a fragment in a page region: an h2 section, or an illustration with its caption."""

    region: str  # key_facts | body | related | illustration
    html: Markup


@dataclass(frozen=True)
class Region:
    name: str  # the region's key (its label is in the theme)
    blocks: tuple[Block, ...]


def page_file(item_file: str) -> str:
    return f"{FOLDER}/{item_file}"


def relative(from_file: str, to_file: str) -> str:
    return posixpath.relpath(to_file, posixpath.dirname(from_file) or ".")


def linked(html: str, here: str, pages: dict[str, str]) -> str:
    """Links between fragments to their preview pages, image paths to the package's files."""
    def href(m: re.Match) -> str:
        target = pages.get(m[1])
        return f'href="{relative(here, target)}"' if target else m[0]

    html = re.sub(r'href="([^"]+)"', href, html)
    return re.sub(r'src="([^"]+)"', lambda m: f'src="{relative(here, m[1])}"', html)


_H2 = re.compile(r"(?=<h2>)")
_FIGURE = re.compile(r'(<img src="[^"]*" alt="[^"]*" />)\n(?:<p><em>(.*?)</em></p>\n)?')


def blocks(html: str, sections: dict[str, str]) -> list[Block]:
    """The fragment cut at each h2; `sections` names the region of a section by its heading.
    Illustrations leave their section for a region of their own, with the caption under them."""
    out: list[Block] = []
    for part in _H2.split(html):
        if not part.strip():
            continue
        heading = re.match(r"<h2>(.*?)</h2>", part)
        region = sections.get(re.sub(r"<[^>]+>", "", heading[1]), "body") if heading else "body"
        at = 0
        for m in _FIGURE.finditer(part):
            out.append(Block(region, Markup(part[at : m.start()])))
            caption = f"<figcaption>{m[2]}</figcaption>" if m[2] else ""
            out.append(Block("illustration", Markup(f"<figure>{m[1]}{caption}</figure>")))
            at = m.end()
        out.append(Block(region, Markup(part[at:])))
    return [b for b in out if b.html.strip()]


def regions(found: list[Block]) -> list[Region]:
    """Consecutive blocks of one region kind framed together, in the fragment's order."""
    out: list[Region] = []
    for b in found:
        if out and out[-1].name == b.region:
            out[-1] = Region(b.region, (*out[-1].blocks, b))
        else:
            out.append(Region(b.region, (b,)))
    return out


def tree(records: list[dict]) -> list[dict]:
    """The navigation: manifest items nested by parent, in the manifest's order within each parent."""
    children: dict[str | None, list[dict]] = {}
    for r in records:
        children.setdefault(r["parent"], []).append(r)

    def node(r: dict) -> dict:
        kids = sorted(children.get(r["id"], []), key=lambda c: c["order"])
        return {"id": r["id"], "title": r["title"], "file": page_file(r["file"]), "language": r["language"], "dir": r["dir"],
                "children": [node(k) for k in kids]}

    return [node(r) for r in sorted(children.get(None, []), key=lambda c: c["order"])]


def branch(nodes: list[dict], current: str) -> list[dict]:
    """The tree as an item page shows it: every level on the way to `current` with its
    siblings, and `current`'s children; other branches closed."""
    def on_path(n: dict) -> bool:
        return n["id"] == current or any(on_path(c) for c in n["children"])

    return [{**n, "children": branch(n["children"], current) if on_path(n) else []} for n in nodes]


def web_fonts(theme: Theme, text: str, memo: Memo = NO_MEMO) -> list[tuple[str, bytes]]:
    """The shipped fonts as WOFF2, cut down to the characters the preview shows (small, and the
    same bytes for the same text: no timestamp is recalculated)."""
    chars = "".join(sorted({*text, *map(chr, range(0x20, 0x7F))}))
    out = []
    for style in FONT_STYLES:
        path = theme.font_path(style)
        data = memo.get("preview-font", lambda path=path: woff2_subset(path, chars), path.read_bytes(), chars)
        out.append((f"{FOLDER}/fonts/{path.stem}.woff2", data))
    return out


def woff2_subset(path: Path, chars: str) -> bytes:
    font = TTFont(path, recalcTimestamp=False)
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["kern", "liga"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes={ord(c) for c in chars})
    subsetter.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff2"
    font.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class PreviewStyle:
    """What the preview takes from the theme: wording and which h2 section goes in which region."""

    labels: dict[str, str]
    types: dict[str, str]
    sections: dict[str, str]  # heading text → region


def sections_by_heading(labels: dict[str, str], placing: dict[str, list[str]]) -> dict[str, str]:
    """theme `preview_regions: {key_facts: [key_info], related: [links, …]}` (label keys) as heading text → region."""
    return {labels[key]: region for region, keys in placing.items() for key in keys if key in labels}


def site_files(render, style: PreviewStyle, theme: Theme, fragments, records: list[dict], head: dict, removed, status,
               memo: Memo = NO_MEMO) -> list[tuple[str, bytes]]:
    """Every page of the preview, its stylesheet and its fonts. `render(template, context, what)`
    renders a template of layouts/fragments/."""
    pages = {r["file"]: page_file(r["file"]) for r in records}
    nav = tree(records)
    common = {"lb": style.labels, "types": style.types, **head}
    files = []
    for f, r in zip(fragments, records, strict=True):
        here = page_file(r["file"])
        found = regions(blocks(linked(f.html, here, pages), style.sections))
        page = {**r, "type_label": style.types[r["type"]], "status": status(r["id"])}
        html = render(f"preview/{r['type']}.html.j2", {**common, "nav": branch(nav, r["id"]), "here": here, "current": r["id"], "page": page, "regions": found,
                                                      "root": relative(here, FOLDER + "/index.html"), "css": relative(here, FOLDER + "/preview.css"),
                                                      "href": lambda target, here=here: relative(here, target)}, f"the preview of {r['id']}")
        files.append((here, html.encode("utf-8")))
    index = f"{FOLDER}/index.html"
    top = [r for r in records if r["parent"] is None]
    html = render("preview/index.html.j2", {**common, "nav": nav, "here": index, "current": None, "top": top, "removed": removed,
                                            "root": "index.html", "css": "preview.css", "href": lambda target: relative(index, target)}, "the preview")
    files.append((index, html.encode("utf-8")))
    css = render("preview/preview.css.j2", {"colour": theme.colour, "fonts": theme.fonts}, "the preview stylesheet")
    text = "".join({c for _, data in files for c in re.sub(r"<[^>]+>", " ", data.decode("utf-8"))})
    return [*files, (f"{FOLDER}/preview.css", css.encode("utf-8")), *web_fonts(theme, text, memo)]
