"""Looks as data: layouts/theme.yaml, checked like content and handed to each target.

The shared part (colour tokens, fonts, labels) is typed here; each target declares the
dataclass of its own section and receives it converted, with file:line:col on mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from .content.convert import INVALID, Collector, Converter, node_pos
from .content.fields import COLOUR, Doc, Loc, MinLen, located
from .content.load import read_yaml
from .errors import BuildError, ContentError, Pos, Problem
from .memo import NO_MEMO, Memo

Colour = Annotated[str, COLOUR]
STYLES = ("regular", "bold", "italic", "bold_italic")


@dataclass(frozen=True)
class ScriptFont:
    """A family for a script the main family lacks (Arabic, Ethiopic), tried after it."""

    family: Annotated[str, MinLen(1)]
    regular: str
    bold: str
    loc: Loc = located()


@dataclass(frozen=True)
class FontSet:
    family: Annotated[str, MinLen(1), Doc("font-family name used in SVG, CSS and DOT")]
    dir: Annotated[str, Doc("folder of the font files, relative to the layouts folder")]
    regular: str
    bold: str
    italic: str
    bold_italic: str
    scripts: Annotated[tuple[ScriptFont, ...], Doc("families for other scripts, in the same folder, tried after the main family")] = ()
    loc: Loc = located()

    @property
    def families(self) -> tuple[str, ...]:
        """The main family, then the script families: a CSS font-family list in order."""
        return (self.family, *(s.family for s in self.scripts))


@dataclass(frozen=True)
class ThemeFile:
    colours: Annotated[dict[str, Colour], Doc("colour tokens; categories name theirs in content")]
    fonts: FontSet
    labels: Annotated[dict[str, str], Doc("fixed Norwegian wording used by the outputs")]
    targets: Annotated[dict[str, Any], Doc("one section per target, checked by that target")]
    loc: Loc = located()


@dataclass(frozen=True)
class Theme:
    layouts: Path
    colours: dict[str, str]
    fonts: FontSet
    labels: dict[str, str]
    sections: dict[str, object]

    def font_path(self, style: str = "regular") -> Path:
        return (self.layouts / self.fonts.dir / getattr(self.fonts, style)).resolve()

    def font_files(self) -> tuple[Path, ...]:
        """Every font file the theme names: what the outputs can draw with."""
        folder = (self.layouts / self.fonts.dir).resolve()
        main = [getattr(self.fonts, style) for style in STYLES]
        return tuple(folder / name for name in (*main, *(f for s in self.fonts.scripts for f in (s.regular, s.bold))))

    def colour(self, token: str) -> str:
        return self.colours[token]

    def label(self, key: str) -> str:
        return self.labels[key]

    def section(self, target: str):
        if target not in self.sections:
            raise BuildError(f"the theme was loaded without targets.{target}; a target that draws with {target} names it in its `uses`")
        return self.sections[target]


def load_theme(layouts: Path, styles: dict[str, type], colour_tokens: set[str] = frozenset(), parsed: Memo = NO_MEMO) -> Theme:
    """Theme with each requested target section converted to its style class (`parsed` keeps
    theme.yaml's nodes between builds), or ContentError with every problem."""
    theme, problems = read_theme(layouts, styles, colour_tokens, parsed)
    if problems:
        raise ContentError(problems)
    return theme


def read_theme(layouts: Path, styles: dict[str, type], colour_tokens: set[str] = frozenset(),
               parsed: Memo = NO_MEMO) -> tuple[Theme | None, list[Problem]]:
    """The theme as far as it converts, and its problems: a section that does not convert is
    left out, so the build can still check the others (None when the shared part fails)."""
    layouts = Path(layouts)
    out = Collector()
    path = layouts / "theme.yaml"
    raw = read_yaml(path, layouts, out, parsed) if path.exists() else None
    if raw is None:
        if not out.problems:
            out.error(Pos(str(path)), "theme file not found", "pass --layouts DIR")
        return None, out.problems
    conv = Converter(raw.path, out)
    top = conv.model(raw.node, ThemeFile, node_pos(raw.node, raw.path))
    sections = {}
    for name, cls in styles.items():
        node = raw.node.get("targets", {}).get(name) if isinstance(raw.node, dict) and isinstance(raw.node.get("targets"), dict) else None
        if node is None:
            out.error(node_pos(raw.node, raw.path), f"theme has no section targets.{name}")
            continue
        value = conv.model(node, cls, node_pos(node, raw.path))
        if value is not INVALID:
            sections[name] = value
    if top is INVALID:
        return None, out.problems
    _check_top(top, layouts, colour_tokens, out)
    return Theme(layouts.resolve(), top.colours, top.fonts, top.labels, sections), out.problems


def _check_top(top: ThemeFile, layouts: Path, tokens: set[str], out: Collector) -> None:
    named = [(top.fonts, style) for style in STYLES] + [(s, style) for s in top.fonts.scripts for style in ("regular", "bold")]
    for owner, style in named:
        f = layouts / top.fonts.dir / getattr(owner, style)
        if not f.is_file():
            out.error(owner.loc.of(style), f"font file not found: {f}", "fonts live in fonts/ at the top of the project")
    for token in sorted(tokens - set(top.colours)):
        out.error(top.loc.of("colours"), f"colour token '{token}' used in content is not defined here")
