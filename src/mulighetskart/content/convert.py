"""Turn ruamel.yaml round-trip nodes into the frozen model, collecting every problem.

The walk follows the type hints of model.py. A node that does not fit is reported at its
own line and column and becomes INVALID; the walk goes on so one pass finds everything.
References are only recorded here (RefUse) and resolved once every file is read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

from ..errors import Pos, Problem
from ..markup import remote_images
from .fields import Loc, Markdown, MaxLen, MinLen, Pattern, Ref, Url

INVALID = object()
ALLOWED_SCHEMES = ("https://", "http://")


@dataclass(frozen=True)
class RefUse:
    kind: str
    value: str
    pos: Pos


@dataclass
class Collector:
    """What one load pass has found so far: problems and references to resolve."""

    problems: list[Problem] = field(default_factory=list)
    refs: list[RefUse] = field(default_factory=list)

    def error(self, pos: Pos, message: str, hint: str = "") -> None:
        self.problems.append(Problem(pos, message, hint))

    def warning(self, pos: Pos, message: str, hint: str = "") -> None:
        self.problems.append(Problem(pos, message, hint, "warning"))


def suggest(word: str, choices) -> str:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else ""


def unwrap(tp) -> tuple[Any, tuple]:
    """Split Annotated[T, markers...] into (T, markers)."""
    if get_origin(tp) is Annotated:
        base, *markers = get_args(tp)
        inner, more = unwrap(base)
        return inner, tuple(markers) + more
    return tp, ()


def optional_of(tp):
    """T for `T | None`, else None."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0]
    return None


@cache  # pure on the class: a model's fields do not change while the program runs
def model_fields(cls) -> tuple[tuple[str, Any, bool], ...]:
    """(name, type hint, required) for each content field of a model class."""
    hints = get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        if f.name == "loc":
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append((f.name, hints[f.name], required))
    return tuple(out)


def node_pos(node, path: str) -> Pos:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return Pos(path, lc.line + 1, lc.col + 1)
    return Pos(path)


def _lc(pair) -> tuple[int, int]:
    return (pair[0] + 1, pair[1] + 1)


def describe(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.date):
        return "a date"
    return type(value).__name__


class Converter:
    def __init__(self, path: str, out: Collector):
        self.path = path
        self.out = out

    def convert(self, node, tp, pos: Pos):
        base, markers = unwrap(tp)
        if base is Any:
            return node  # checked later by whoever owns this part
        inner = optional_of(base)
        if inner is not None:
            return None if node is None else self.convert(node, Annotated[(inner, *markers)] if markers else inner, pos)
        if get_origin(base) is Literal:
            return self._literal(node, get_args(base), pos)
        if get_origin(base) is tuple:
            return self._list(node, get_args(base)[0], markers, pos)
        if get_origin(base) is dict:
            return self._mapping(node, get_args(base)[1], pos)
        if dataclasses.is_dataclass(base):
            return self.model(node, base, pos)
        if base is str:
            return self._str(node, markers, pos)
        if base is int:
            return self._int(node, pos)
        if base is float:
            return self._float(node, pos)
        if base is bool:
            return self._typed(node, bool, "true or false", pos)
        if base is dt.date:
            return self._date(node, pos)
        raise TypeError(f"model field type {base!r} is not supported")  # a bug in model.py

    def model(self, node, cls, pos: Pos):
        if not isinstance(node, dict):
            self.out.error(pos, f"expected a mapping of fields, got {describe(node)}")
            return INVALID
        fields = model_fields(cls)
        known = {name for name, _, _ in fields}
        lc = node.lc
        for key in node:
            if key not in known:
                self.out.error(Pos(self.path, *_lc(lc.key(key))), f"unknown key '{key}'", suggest(key, known))
        values, field_pos, ok = {}, [], True
        for name, tp, required in fields:
            if name not in node:
                if required:
                    self.out.error(pos, f"missing required field '{name}'")
                    ok = False
                continue
            key_pos = Pos(self.path, *_lc(lc.key(name)))
            value_pos = Pos(self.path, *_lc(lc.value(name)))
            field_pos.append((name, key_pos))
            value = self.convert(node[name], tp, value_pos)
            if value is INVALID:
                ok = False
            else:
                values[name] = value
        if not ok:
            return INVALID
        return cls(**values, loc=Loc(pos, tuple(field_pos)))

    def _list(self, node, item_tp, markers, pos):
        if node is None:
            node = []
        if not isinstance(node, list):
            self.out.error(pos, f"expected a list, got {describe(node)}")
            return INVALID
        items = []
        for i, child in enumerate(node):
            item_pos = Pos(self.path, *_lc(node.lc.item(i))) if hasattr(node, "lc") else pos
            items.append(self.convert(child, item_tp, item_pos))
        for m in markers:
            if isinstance(m, MinLen) and len(node) < m.limit:
                self.out.error(pos, f"needs at least {m.limit} item{'s' if m.limit > 1 else ''}, has {len(node)}")
                return INVALID
        return INVALID if INVALID in items else tuple(items)

    def _mapping(self, node, value_tp, pos):
        """A free-form mapping (theme colour tokens and the like): text keys, typed values."""
        if not isinstance(node, dict):
            self.out.error(pos, f"expected a mapping, got {describe(node)}")
            return INVALID
        result = {}
        for key in node:
            value = self.convert(node[key], value_tp, Pos(self.path, *_lc(node.lc.value(key))))
            if not isinstance(key, str):
                self.out.error(Pos(self.path, *_lc(node.lc.key(key))), f"key {key!r} must be text")
                value = INVALID
            result[key] = value
        return INVALID if INVALID in result.values() else result

    def _literal(self, node, choices, pos):
        if node not in choices or isinstance(node, bool):
            listed = ", ".join(str(c) for c in choices)
            self.out.error(pos, f"'{node}' is not one of: {listed}", suggest(node, choices))
            return INVALID
        return str(node) if isinstance(node, str) else node

    def _typed(self, node, typ, wanted, pos):
        if not isinstance(node, typ):
            self.out.error(pos, f"expected {wanted}, got {describe(node)}")
            return INVALID
        return node

    def _int(self, node, pos):
        if isinstance(node, bool):
            return self._typed(None, int, "a whole number", pos)
        value = self._typed(node, int, "a whole number", pos)
        return INVALID if value is INVALID else int(value)

    def _float(self, node, pos):
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            return self._typed(None, float, "a number", pos)
        return float(node)

    def _date(self, node, pos):
        if isinstance(node, dt.datetime):
            return node.date()
        if isinstance(node, dt.date):
            return dt.date(node.year, node.month, node.day)
        if isinstance(node, str):
            try:
                return dt.date.fromisoformat(node)
            except ValueError:
                pass
        self.out.error(pos, f"expected a date like 2021-04-30, got {describe(node)}")
        return INVALID

    def _str(self, node, markers, pos):
        if not isinstance(node, str):
            hint = "put the value in quotes" if isinstance(node, (int, float, bool, dt.date)) else ""
            self.out.error(pos, f"expected text, got {describe(node)}", hint)
            return INVALID
        value = str(node)
        ok = True
        for m in markers:
            if isinstance(m, MaxLen) and len(value) > m.limit:
                self.out.error(pos, f"text is {len(value)} characters, the limit is {m.limit}")
                ok = False
            elif isinstance(m, MinLen) and len(value.strip()) < m.limit:
                self.out.error(pos, "text must not be empty")
                ok = False
            elif isinstance(m, Pattern) and not re.match(m.regex, value):
                self.out.error(pos, f"'{value}' is not {m.describe}")
                ok = False
            elif isinstance(m, Url) and not is_web_url(value):
                self.out.error(pos, f"link '{value}' is not an http(s) address", "only https:// and http:// links are allowed")
                ok = False
            elif isinstance(m, Ref):
                self.out.refs.append(RefUse(m.kind, value, pos))
            elif isinstance(m, Markdown):
                ok = self._local_images(node, value, pos) and ok
        return value if ok else INVALID

    def _local_images(self, node, value: str, pos: Pos) -> bool:
        """A picture from another website is refused where it is written: the guide's pages
        must never make a reader's browser call a third party."""
        found = remote_images(value)
        for image in found:
            self.out.error(text_pos(node, pos, image.line, image.col), f"the image '{image.url}' is on another website",
                           "put the picture in the guide's own files, or link to the page that shows it")
        return not found


def text_pos(node, pos: Pos, line: int, col: int) -> Pos:
    """Where (line, col) of a text value stands in its file: a block scalar (`|` or `>`)
    starts on the next line, indented; a one-line value starts at `pos`."""
    if type(node).__name__ not in ("LiteralScalarString", "FoldedScalarString"):
        return Pos(pos.path, pos.line + line, (pos.col if line == 0 else 1) + col)
    number = pos.line + 1 + line
    try:
        text = Path(pos.path).read_text(encoding="utf-8").splitlines()[number - 1]
        indent = len(text) - len(text.lstrip(" "))
    except (OSError, IndexError, UnicodeDecodeError):
        indent = pos.col + 1
    return Pos(pos.path, number, indent + col + 1)


_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def is_web_url(value: str) -> bool:
    return bool(_URL.match(value.strip())) and value == value.strip()
