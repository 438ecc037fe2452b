"""The one registry of targets and what a target is handed.

The CLI, the build and the renderers read this module; no renderer imports build.py. Each
target's module is imported by name only when it is selected, so a build of the map does not
pay for WeasyPrint.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BuildError, Problem
from .memo import NO_MEMO, Memo

if TYPE_CHECKING:
    from .content import Content
    from .publish import Writer
    from .theme import Theme

# name -> module that defines TARGET, in the order the workers take them: the longest first,
# so the workers end together.
TARGETS = {
    "handbook": "mulighetskart.render.handbook.target",
    "fragments": "mulighetskart.render.fragments",
    "journeys": "mulighetskart.render.journeys",
    "map": "mulighetskart.render.map_svg",
}
# The order users read them in (help texts, the progress bar).
NAMES = ("map", "journeys", "handbook", "fragments")


@dataclass(frozen=True)
class Job:
    """Everything a target may read; it writes only through its Writer."""

    content: Content
    theme: Theme
    date: dt.date
    previous: Path | None  # the target's folder in the last good output, if any
    since: Path | None = None  # an earlier export to compare with instead (build --since)
    same_inputs: bool = False  # `previous` was built from exactly these inputs (what it drew can be reused)
    memo: Memo = NO_MEMO  # slow pure steps' results kept between builds


def no_problems(content: Content, theme: Theme) -> list[Problem]:
    return []


@dataclass(frozen=True)
class Target:
    name: str
    style: type | None  # dataclass of its section in theme.yaml
    run: Callable[[Job, Writer], None]
    cacheable: bool = True  # False when the output depends on the previous output (changelogs)
    uses: tuple[str, ...] = ()  # targets it draws with through their contracts: their theme sections load too
    # Problems in its theme section or in what the content asks of it, found before anything
    # is rendered (errors and warnings: Problem.severity).
    check: Callable[[Content, Theme], list[Problem]] = no_problems
    # A digest of the part of the content its output depends on (content/fingerprint.py),
    # for the build's cache key; None: all of it.
    reads: Callable[[Content], str] | None = None


def load_target(name: str) -> Target:
    if name not in TARGETS:
        raise BuildError(f"unknown target '{name}' (choose from {', '.join(NAMES)})")
    return importlib.import_module(TARGETS[name]).TARGET


def build_date(content: Content) -> dt.date:
    """The date every output shows: SOURCE_DATE_EPOCH when set, else the guide's `updated`."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return content.guide.updated
