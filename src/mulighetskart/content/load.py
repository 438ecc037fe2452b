"""Read content files safely into ruamel.yaml round-trip nodes that keep line and column.

While composing, a strict composer refuses what hand-edited content never needs and
attackers love: aliases and anchors (billion laughs), and explicit tags such as
!!python/object — before any object is built. Oversized, non-UTF-8, empty and out-of-tree files are refused up front.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ruamel.yaml
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent

from ..errors import Pos
from ..memo import NO_MEMO, Memo
from .convert import Collector

MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RawFile:
    path: str  # as given, for messages
    node: object  # CommentedMap / CommentedSeq / scalar
    digest_input: bytes


def read_yaml(path: Path, root: Path, out: Collector, parsed: Memo = NO_MEMO) -> RawFile | None:
    """One file's nodes, or None after recording why it cannot be read."""
    where = Pos(str(path))
    if not _inside(path, root):
        out.error(where, f"'{path.name}' points outside {root.name}/", "content files must live inside the content folder; copy the file instead of linking it")
        return None
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            out.error(where, f"file is {size} bytes, the limit is {MAX_BYTES} (1 MiB)", "split it into smaller files")
            return None
        data = path.read_bytes()
    except OSError as exc:
        out.error(where, f"cannot read file: {exc.strerror or exc}")
        return None
    text = _decode(data, str(path), out)
    if text is None:
        return None
    try:
        node = parse(text, parsed)
    except _Refused as exc:
        out.error(Pos(str(path), exc.mark.line + 1, exc.mark.column + 1), exc.message, exc.hint)
        return None
    except MarkedYAMLError as exc:
        out.error(*_syntax_problem(exc, text, str(path)))
        return None
    except YAMLError as exc:
        out.error(where, f"YAML syntax: {exc}")
        return None
    if node is None:
        out.error(where, "file is empty", "see the other files in this folder for the expected fields")
        return None
    return RawFile(str(path), node, data)


def parse(text: str, parsed: Memo = NO_MEMO):
    """The nodes of a file's text; `parsed` keeps them between builds (pickled, lines and
    columns included), so an edit parses only the files it changed."""
    if parsed.folder is None:
        return _parse(text)
    make = lambda: pickle.dumps(_parse(text), protocol=pickle.HIGHEST_PROTOCOL)  # noqa: E731
    return pickle.loads(parsed.get("yaml", make, text, ruamel.yaml.__version__))  # written by this program into its own cache


@lru_cache(maxsize=4096)  # pure on the text: serve and the tests read unchanged files again
def _parse(text: str):
    """Parsing is the slow part of validation; `serve` and the tests re-read files that did
    not change, so nodes are kept by text (they carry no path). Nodes are never mutated."""
    return _yaml().load(io.StringIO(text))


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.Composer = _StrictComposer
    y.allow_duplicate_keys = False
    return y


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, top]) == top


def _decode(data: bytes, path: str, out: Collector) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        out.error(Pos(path, line, col), f"file is not UTF-8 (byte 0x{data[exc.start]:02x})", "save the file as UTF-8 in your editor")
        return None
    return text.removeprefix("\ufeff")


class _Refused(Exception):
    def __init__(self, mark, message: str, hint: str):
        super().__init__(message)
        self.mark, self.message, self.hint = mark, message, hint


class _StrictComposer(Composer):
    """Refuses anchors, aliases and explicit tags as it meets them, before anything is built."""

    def compose_node(self, parent, index):
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            raise _Refused(event.start_mark, f"YAML aliases (*{event.anchor}) are not allowed", "write the value out in full")
        if getattr(event, "anchor", None):
            raise _Refused(event.start_mark, f"YAML anchors (&{event.anchor}) are not allowed", "write the value out in full")
        tag = getattr(event, "ctag", None)
        if tag is not None and str(tag) != "!":
            raise _Refused(event.start_mark, f"YAML tags ({tag}) are not allowed", "remove the tag; plain values are enough")
        return super().compose_node(parent, index)


def _syntax_problem(exc: MarkedYAMLError, text: str, path: str) -> tuple[Pos, str, str]:
    """Where and what: an unclosed quote is reported where it opens, not where YAML gave up."""
    mark = exc.problem_mark or exc.context_mark
    msg = (exc.problem or exc.context or "invalid YAML").strip()
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    quote = _unclosed_quote(text, line)
    if quote and "duplicate" not in msg:
        return Pos(path, *quote), "YAML syntax: unclosed quote", "add the closing quote at the end of the value"
    if "'\\t'" in msg or "tab" in msg.lower():
        return Pos(path, line, col), f"YAML syntax: {msg}", "indent with spaces, not tabs"
    if "duplicate key" in msg:
        return Pos(path, line, col), f"YAML syntax: {msg}", "each key may appear only once in a mapping"
    return Pos(path, line, col), f"YAML syntax: {msg}", ""


def _unclosed_quote(text: str, upto_line: int) -> tuple[int, int] | None:
    """The first line up to the error whose value opens a quote it never closes."""
    for number, line in enumerate(text.splitlines()[:upto_line], 1):
        _, sep, value = line.partition(": ")
        value = value.strip() if sep else line.strip().removeprefix("- ").strip()
        for q in "\"'":
            if value.startswith(q) and (len(value) == 1 or not value.rstrip().endswith(q)):
                return number, line.index(value) + 1
    return None
