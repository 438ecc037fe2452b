"""Text measured with the shipped font files, so boxes fit what renderers will draw.

Widths come from fontTools: advance widths (hmtx) plus pair kerning from the font's
GPOS `kern` feature, the same numbers a shaping engine uses for Latin text. Wrapping
breaks at spaces first, then after hyphens already in a word, then at Norwegian
hyphenation points (pyphen, nb_NO), and only as a last resort between letters: a line
never comes out wider than asked for.

Sizes and widths share one unit (mm, pt, anything): a width is `em fraction × size`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyphen
from fontTools.ttLib import TTFont

HYPHEN = "-"
ELLIPSIS = "…"
STYLES = ("regular", "bold", "italic", "bold_italic")


@dataclass(frozen=True)
class FontMetrics:
    """What measuring needs from one font file, in font units."""

    path: str
    units_per_em: int
    ascender: int  # hhea ascent: room for Å and accents above the cap height
    descender: int  # positive, below the baseline
    advances: Mapping[str, int]  # character -> advance width
    fallback_advance: int  # for characters the font lacks (a renderer substitutes a similar width)
    glyph_of: Mapping[str, str]
    pair_lookups: tuple[tuple[_PairTable, ...], ...]  # the GPOS `kern` pair lookups, in order
    _kerns: dict = field(default_factory=dict, compare=False, repr=False)

    def kern(self, left: str, right: str) -> int:
        key = (left, right)
        if key not in self._kerns:
            gl, gr = self.glyph_of.get(left), self.glyph_of.get(right)
            self._kerns[key] = 0 if gl is None or gr is None else sum(_apply(lookup, gl, gr) for lookup in self.pair_lookups)
        return self._kerns[key]


class _PairTable:
    """One GPOS pair-adjustment subtable, read lazily: only the pairs a text uses are decoded."""

    def __init__(self, st):
        self.st = st
        self.index = {g: i for i, g in enumerate(st.Coverage.glyphs)}
        self._classes = None

    def adjust(self, left: str, right: str) -> int | None:
        """The x-advance adjustment, or None when this subtable does not apply to the pair."""
        i = self.index.get(left)
        if i is None:
            return None
        if self.st.Format == 1:
            for rec in self.st.PairSet[i].PairValueRecord:
                if rec.SecondGlyph == right:
                    return _x_advance(rec.Value1)
            return None
        if self._classes is None:
            self._classes = (self.st.ClassDef1.classDefs, self.st.ClassDef2.classDefs)
        c1, c2 = self._classes[0].get(left, 0), self._classes[1].get(right, 0)
        return _x_advance(self.st.Class1Record[c1].Class2Record[c2].Value1)


def _x_advance(value) -> int:
    return (getattr(value, "XAdvance", 0) or 0) if value is not None else 0


def _apply(lookup: tuple[_PairTable, ...], left: str, right: str) -> int:
    for table in lookup:  # the first subtable that applies wins, as in a shaping engine
        dx = table.adjust(left, right)
        if dx is not None:
            return dx
    return 0


@cache  # a font file does not change during a build
def font_metrics(path: str) -> FontMetrics:
    """Read one font once per process; lazy loading keeps it to a few hundredths of a second."""
    font = TTFont(path, lazy=True)
    cmap = font.getBestCmap()
    hmtx = font["hmtx"].metrics
    advances = {chr(code): hmtx[name][0] for code, name in cmap.items()}
    hhea = font["hhea"]
    return FontMetrics(
        path=path,
        units_per_em=font["head"].unitsPerEm,
        ascender=hhea.ascent,
        descender=-hhea.descent,
        advances=advances,
        fallback_advance=advances.get("n", font["head"].unitsPerEm // 2),
        glyph_of={chr(code): name for code, name in cmap.items()},
        pair_lookups=_kern_lookups(font),
    )


def _kern_lookups(font: TTFont) -> tuple[tuple[_PairTable, ...], ...]:
    """The pair-adjustment lookups (GPOS type 2, or 9 wrapping 2) behind the `kern` feature.

    Contextual kerning lookups (type 8) are left out: in Latin fonts they fine-tune a few
    punctuation sequences and change a line's width by far less than a box's padding.
    """
    if "GPOS" not in font:
        return ()
    table = font["GPOS"].table
    indices = sorted({i for rec in table.FeatureList.FeatureRecord if rec.FeatureTag == "kern" for i in rec.Feature.LookupListIndex})
    lookups = []
    for index in indices:
        lookup = table.LookupList.Lookup[index]
        subtables = [st.ExtSubTable if lookup.LookupType == 9 else st for st in lookup.SubTable]
        pairs = tuple(_PairTable(st) for st in subtables if getattr(st, "LookupType", lookup.LookupType) == 2)
        if pairs:
            lookups.append(pairs)
    return tuple(lookups)


@cache  # the dictionary is read once; the hyphenator keeps no state between words
def _hyphenator() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="nb_NO")


class TextMeasure:
    """Widths, line boxes and wrapping for the theme's fonts, keyed by style name."""

    def __init__(self, font_paths: Mapping[str, Path | str]):
        self._paths = {style: str(Path(p).resolve()) for style, p in font_paths.items()}
        self._fonts: dict[str, FontMetrics] = {}
        self._widths: dict[tuple[str, str], int] = {}
        self._wraps: dict[tuple, tuple[str, ...]] = {}

    @classmethod
    def from_theme(cls, theme) -> TextMeasure:
        return cls({style: theme.font_path(style) for style in STYLES})

    def metrics(self, style: str = "regular") -> FontMetrics:
        """The style's font, read the first time it is asked for."""
        if style not in self._fonts:
            self._fonts[style] = font_metrics(self._paths[style])
        return self._fonts[style]

    def units(self, text: str, style: str = "regular") -> int:
        """Width of `text` in font units (cached: labels repeat across the map)."""
        key = (style, text)
        if key not in self._widths:
            m = self.metrics(style)
            words = text.split(" ")
            if len(words) > 1:  # wrapping measures many lines made of the same words: reuse them
                width = sum(self.units(w, style) for w in words) + (len(words) - 1) * m.advances.get(" ", m.fallback_advance)
                width += sum(m.kern(a[-1], " ") + m.kern(" ", b[0]) for a, b in itertools.pairwise(words) if a and b)
            else:
                width = sum(m.advances.get(ch, m.fallback_advance) for ch in text)
                width += sum(m.kern(a, b) for a, b in itertools.pairwise(text))
            self._widths[key] = width
        return self._widths[key]

    def width(self, text: str, size: float, style: str = "regular") -> float:
        m = self.metrics(style)
        return self.units(text, style) * size / m.units_per_em

    def ascent(self, size: float, style: str = "regular") -> float:
        m = self.metrics(style)
        return m.ascender * size / m.units_per_em

    def descent(self, size: float, style: str = "regular") -> float:
        m = self.metrics(style)
        return m.descender * size / m.units_per_em

    def block_height(self, lines: int, size: float, line_height: float, style: str = "regular") -> float:
        """From the top of the first line's ascent to the bottom of the last line's descent."""
        if lines <= 0:
            return 0.0
        return (lines - 1) * size * line_height + self.ascent(size, style) + self.descent(size, style)

    def fits(self, text: str, width: float, size: float, style: str = "regular") -> bool:
        return self.width(text, size, style) <= width + 1e-9

    def wrap(self, text: str, width: float, size: float, style: str = "regular", max_lines: int | None = None) -> tuple[str, ...]:
        """Lines of `text` no wider than `width`; with max_lines, the last kept line ends in '…'."""
        key = (text, width, size, style, max_lines)
        if key not in self._wraps:
            self._wraps[key] = self._wrap(text, width, size, style, max_lines)
        return self._wraps[key]

    def _wrap(self, text: str, width: float, size: float, style: str, max_lines: int | None) -> tuple[str, ...]:
        lines: list[str] = []
        current = ""
        for word in text.split():
            candidate = f"{current} {word}" if current else word
            if self.fits(candidate, width, size, style):
                current = candidate
                continue
            if current:
                lines.append(current)
            pieces = self._break_word(word, width, size, style)
            lines.extend(pieces[:-1])
            current = pieces[-1]
        if current:
            lines.append(current)
        if max_lines is not None and len(lines) > max_lines:
            return self._truncate(lines, max_lines, width, size, style)
        return tuple(lines)

    def _break_word(self, word: str, width: float, size: float, style: str) -> list[str]:
        """A word too wide for one line: the longest pieces that fit, broken where a reader expects."""
        pieces = []
        rest = word
        while not self.fits(rest, width, size, style):
            piece = self._best_break(rest, width, size, style)
            pieces.append(piece[0])
            rest = piece[1]
        pieces.append(rest)
        return pieces

    def _best_break(self, word: str, width: float, size: float, style: str) -> tuple[str, str]:
        fitting = [(head, tail) for head, tail in _break_points(word) if self.fits(head, width, size, style)]
        if fitting:
            return _prefer_joint(fitting)
        # No reasonable point fits (a very narrow box): break between letters.
        cut = max(1, max((i for i in range(1, len(word)) if self.fits(word[:i] + HYPHEN, width, size, style)), default=1))
        head = word[:cut] + HYPHEN if self.fits(word[:cut] + HYPHEN, width, size, style) else word[:cut]
        return head, word[cut:]

    def _truncate(self, lines: list[str], max_lines: int, width: float, size: float, style: str) -> tuple[str, ...]:
        if max_lines <= 0:
            return ()
        kept = lines[:max_lines]
        words = kept[-1].rstrip(HYPHEN).split()
        while words and not self.fits(" ".join(words) + ELLIPSIS, width, size, style):
            words.pop()
        last = " ".join(words).rstrip(",;:.–-") + ELLIPSIS
        if not words or not self.fits(last, width, size, style):
            last = ELLIPSIS
        return (*kept[:-1], last)


def _prefer_joint(fitting: list[tuple[str, str]]) -> tuple[str, str]:
    """The latest break that fits, unless a compound joint nearly as late fits too.

    Norwegian compounds are mostly joined with an -s- (samfunns|kunnskap, arbeids|markeds|
    opplæring, kvalifiserings|programmet); breaking there reads better than at the last syllable.
    """
    latest = fitting[0][0].rstrip(HYPHEN)
    for head, tail in fitting:
        core = head.rstrip(HYPHEN)
        if head.endswith(HYPHEN) and core.endswith("s") and len(core) >= 5 and len(core) >= 0.5 * len(latest) and len(tail) >= 4:
            return head, tail
    return fitting[0]


def _break_points(word: str) -> list[tuple[str, str]]:
    """(head, tail) splits, latest first: after an existing hyphen, or at a hyphenation point."""
    points = {}
    for i, ch in enumerate(word[:-1]):
        if ch in "-–/" and i > 0:
            points[i + 1] = (word[: i + 1], word[i + 1 :])
    offset = 0
    for part in _split_keep(word, "-–/"):
        for pos in _hyphenator().positions(part.rstrip("-–/")):
            points.setdefault(offset + pos, (word[: offset + pos] + HYPHEN, word[offset + pos :]))
        offset += len(part)
    return [points[cut] for cut in sorted(points, reverse=True)]


def _split_keep(word: str, seps: str) -> list[str]:
    parts, start = [], 0
    for i, ch in enumerate(word):
        if ch in seps:
            parts.append(word[start : i + 1])
            start = i + 1
    if start < len(word):
        parts.append(word[start:])
    return parts
