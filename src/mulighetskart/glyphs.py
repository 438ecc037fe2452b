"""Characters no shipped font can draw print as empty boxes (an emoji in a title, a script
without a font). Find them in the content files, at their line and column, before rendering."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from pathlib import Path

from fontTools.ttLib import TTFont

from .errors import Pos, Problem

# Control and format characters (line breaks, zero-width joiners, direction marks) shape
# text but are never drawn as glyphs of their own.
INVISIBLE = ("Cc", "Cf", "Zl", "Zp")


def drawable(font_files: Iterable[Path]) -> frozenset[int]:
    """Every code point at least one of the fonts has a glyph for."""
    points: set[int] = set()
    for path in font_files:
        with TTFont(path, lazy=True) as font:
            points.update(font.getBestCmap() or {})
    return frozenset(points)


def undrawable(content: Path, can_draw: frozenset[int], edition: Path | None = None) -> list[Problem]:
    """A warning at the first place of each character in each content file (and each file of
    a local edition laid over it) that no font has."""
    problems = []
    for folder in (content, *([edition] if edition else [])):
        problems += _in_folder(Path(folder), can_draw)
    return problems


def _in_folder(folder: Path, can_draw: frozenset[int]) -> list[Problem]:
    problems = []
    for path in sorted(folder.rglob("*.yaml")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # validation reports unreadable files
        problems += _in_file(str(path), text, can_draw)
    return problems


def _in_file(path: str, text: str, can_draw: frozenset[int]) -> list[Problem]:
    first: dict[str, Pos] = {}
    count: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue  # comments are never printed
        for col, ch in enumerate(line, 1):
            if ord(ch) in can_draw or unicodedata.category(ch) in INVISIBLE:
                continue
            first.setdefault(ch, Pos(path, number, col))
            count[ch] = count.get(ch, 0) + 1
    return [_problem(ch, pos, count[ch]) for ch, pos in first.items()]


def _problem(ch: str, pos: Pos, times: int) -> Problem:
    name = unicodedata.name(ch, "unnamed character").lower()
    more = f", {times} times in this file" if times > 1 else ""
    message = f"no shipped font can draw '{ch}' (U+{ord(ch):04X} {name}{more}); it would print as an empty box"
    return Problem(pos, message, "remove it, or add a font that has it to fonts/ and to fonts.scripts in theme.yaml", "warning")
