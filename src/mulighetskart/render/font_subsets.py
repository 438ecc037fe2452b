"""Subsets of the shipped fonts embedded in the SVGs as WOFF2 @font-face rules.

Browsers, the CMS and WeasyPrint then draw each drawing with exactly the fonts its text was
measured with, whether or not the font is installed (see docs/map.md). A subset holds only
the characters drawn, so it stays a few kB; it is kept in the render memo by font and text.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import fontTools
from fontTools.ttLib import TTFont

from ..fontconfig import file_key
from ..memo import NO_MEMO, Memo
from ..theme import Theme

STYLE_WEIGHT = {"regular": ("400", "normal"), "bold": ("700", "normal"), "italic": ("400", "italic"), "bold_italic": ("700", "italic")}


def font_face_css(theme: Theme, text_by_style: dict[str, str], memo: Memo = NO_MEMO) -> str:
    """@font-face rules with the used glyphs of each style as WOFF2 data."""
    rules = []
    for style, text in text_by_style.items():
        weight, slant = STYLE_WEIGHT[style]
        data = base64.b64encode(font_subset(theme.font_path(style), text, memo)).decode("ascii")
        rules.append(f'@font-face{{font-family:"{theme.fonts.family}";font-weight:{weight};font-style:{slant};'
                     f'src:url(data:font/woff2;base64,{data}) format("woff2")}}')
    return "\n".join(rules)


def font_subset(path: Path, text: str, memo: Memo = NO_MEMO) -> bytes:
    """A WOFF2 subset holding `text` (and kerning between its letters); same input, same bytes."""
    return memo.get("font-subset", lambda: _subset(path, text), file_key(Path(path)), text, fontTools.version)


def _subset(path: Path, text: str) -> bytes:
    from fontTools import subset  # a fifth of a second to import; a no-op build never subsets

    opts = subset.Options()
    opts.flavor = "woff2"
    opts.layout_features = ["kern"]
    opts.hinting = False
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and OFL licence names
    font = TTFont(str(path), lazy=True, recalcTimestamp=False)
    sub = subset.Subsetter(opts)
    sub.populate(text=text + " -…")
    sub.subset(font)
    font.flavor = "woff2"
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()
