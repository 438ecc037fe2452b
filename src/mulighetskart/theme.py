"""Looks as data: layouts/theme.yaml, checked like content and handed to each target.

The shared part (colour tokens, fonts, labels) is typed here; each target declares the
dataclass of its own section and receives it converted, with file:line:col on mistakes.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from ruamel.yaml.comments import CommentedMap

from .content.convert import INVALID, Collector, Converter, node_pos, suggest
from .content.fields import COLOUR, Doc, Loc, MinLen, Pattern, located
from .content.load import read_yaml
from .errors import BuildError, ContentError, Pos, Problem
from .memo import NO_MEMO, Memo

Colour = Annotated[str, COLOUR]
# Process colour in percent of cyan, magenta, yellow and black, as a print shop writes it.
CMYK = Pattern(r"^(100|[1-9]?[0-9])( (100|[1-9]?[0-9])){3}$", "a CMYK value: four percentages 0–100, 'C M Y K' (like '0 0 0 100')")


@dataclass(frozen=True)
class ColourToken:
    """One colour, twice: as a screen shows it (sRGB) and as the print shop prints it (CMYK)."""

    screen: Annotated[Colour, Doc("sRGB for the screen edition, SVGs and fragments")]
    print: Annotated[str, CMYK, Doc("CMYK percentages for the print edition, 'C M Y K'")]
    loc: Loc = located()

    def cmyk(self) -> tuple[float, float, float, float]:
        """The print value as PDF colour components (0–1)."""
        return tuple(int(v) / 100 for v in self.print.split())


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
    colours: Annotated[dict[str, ColourToken], Doc("colour tokens, each with its screen and print value; categories name theirs in content")]
    fonts: FontSet
    language: Annotated[str, Doc("the language of the wording in this file (nb, nn, en)")]
    hyphenation: Annotated[str, Doc("pyphen dictionary for breaking words in that language, e.g. nb_NO")]
    labels: Annotated[dict[str, str], Doc("fixed wording used by the outputs")]
    targets: Annotated[dict[str, Any], Doc("one section per target, checked by that target")]
    languages: Annotated[dict[str, Any] | None, Doc("per other language: the wording that differs, in the same shape as the file")] = None
    loc: Loc = located()


@dataclass(frozen=True)
class Theme:
    layouts: Path
    colours: dict[str, str]  # token: its screen value, #rrggbb
    fonts: FontSet
    labels: dict[str, str]
    sections: dict[str, object]
    print_colours: dict[str, ColourToken]  # token: both values, for the print edition
    language: str = "nb"  # of the wording: the guide's language
    hyphenation: str = "nb_NO"

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


def load_theme(layouts: Path, styles: dict[str, type], colour_tokens: set[str] = frozenset(), parsed: Memo = NO_MEMO,
               language: str = "") -> Theme:
    """Theme with each requested target section converted to its style class (`parsed` keeps
    theme.yaml's nodes between builds), or ContentError with every problem."""
    theme, problems = read_theme(layouts, styles, colour_tokens, parsed, language)
    if problems:
        raise ContentError(problems)
    return theme


def read_theme(layouts: Path, styles: dict[str, type], colour_tokens: set[str] = frozenset(),
               parsed: Memo = NO_MEMO, language: str = "") -> tuple[Theme | None, list[Problem]]:
    """The theme as far as it converts, and its problems: a section that does not convert is
    left out, so the build can still check the others (None when the shared part fails).
    `language` (the guide's; empty: the file's own) lays `languages.<language>` over the rest."""
    layouts = Path(layouts)
    out = Collector()
    path = layouts / "theme.yaml"
    raw = read_yaml(path, layouts, out, parsed) if path.exists() else None
    if raw is None:
        if not out.problems:
            out.error(Pos(str(path)), "theme file not found", "pass --layouts DIR")
        return None, out.problems
    conv = Converter(raw.path, out)
    node = in_language(raw.node, language, raw.path, out)
    top = conv.model(node, ThemeFile, node_pos(raw.node, raw.path))
    sections = {}
    for name, cls in styles.items():
        section = node.get("targets", {}).get(name) if isinstance(node, dict) and isinstance(node.get("targets"), dict) else None
        if section is None:
            out.error(node_pos(raw.node, raw.path), f"theme has no section targets.{name}")
            continue
        value = conv.model(section, cls, node_pos(section, raw.path))
        if value is not INVALID:
            sections[name] = value
    if top is INVALID:
        return None, out.problems
    if not _check_top(top, layouts, colour_tokens, out):
        return None, out.problems  # without its fonts no target can measure a word
    screen = {token: value.screen for token, value in top.colours.items()}
    return Theme(layouts.resolve(), screen, top.fonts, top.labels, sections, top.colours, language or top.language, top.hyphenation), out.problems


def in_language(node, language: str, path: str, out: Collector):
    """theme.yaml's nodes with `languages.<language>` laid over them (a new tree: parsed nodes
    are shared and never changed); each value keeps the line and column it was written at."""
    if not isinstance(node, dict) or not language or language == node.get("language"):
        return node
    wording = node.get("languages") if isinstance(node.get("languages"), dict) else {}
    if language not in wording:
        where = Pos(path, *(p + 1 for p in node.lc.key("languages"))) if "languages" in node else node_pos(node, path)
        out.error(where, f"no wording for language '{language}' (the guide's language)",
                  f"add languages.{language} here, with the labels and texts in that language")
        return node
    return _laid_over(node, wording[language], path, out)


def _laid_over(base, over, path: str, out: Collector):
    """`over` laid on `base`: mappings merge key by key, anything else is replaced."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    merged = CommentedMap()
    merged.lc.line, merged.lc.col = over.lc.line, over.lc.col
    for key in base:
        merged[key] = base[key]
        merged.lc.add_kv_line_col(key, list(base.lc.data[key]))
    for key in over:
        if key not in base:
            out.error(Pos(path, *(p + 1 for p in over.lc.key(key))), f"'{key}' is not in the wording it translates", suggest(key, list(base)))
            continue
        merged[key] = _laid_over(base[key], over[key], path, out)
        merged.lc.add_kv_line_col(key, list(over.lc.data[key]))
    return merged


# Labels that are templates: what each fills in.
LABEL_FIELDS = {"phase_span": {"number", "span"}, "phase_heading": {"number", "span", "title"}}


def _check_top(top: ThemeFile, layouts: Path, tokens: set[str], out: Collector) -> bool:
    """Reports missing fonts and undefined colours; False when a font file is missing."""
    named = [(top.fonts, style) for style in STYLES] + [(s, style) for s in top.fonts.scripts for style in ("regular", "bold")]
    missing = [(owner, style, f) for owner, style in named if not (f := layouts / top.fonts.dir / getattr(owner, style)).is_file()]
    for owner, style, f in missing:
        out.error(owner.loc.of(style), f"font file not found: {f}", "fonts live in fonts/ at the top of the project")
    for key, fields in LABEL_FIELDS.items():
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(top.labels.get(key, "")) if name is not None}
        except ValueError as e:  # an unmatched brace
            out.error(top.loc.of("labels"), f"labels.{key} is not a template: {e}")
            continue
        if used - fields:
            out.error(top.loc.of("labels"), f"labels.{key} fills in {', '.join(sorted(used - fields))}, which it does not know",
                      f"use {', '.join('{' + f + '}' for f in sorted(fields))}")
    for token in sorted(tokens - set(top.colours)):
        out.error(top.loc.of("colours"), f"colour token '{token}' used in content is not defined here")
    return not missing
