"""The build recipe: load → validate → plan and render each target → publish.

Everything that can be checked is checked before the first byte is written, and the
output folder is only replaced once every target has rendered (publish.staged).
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .content import Content, load_content
from .errors import BuildError, Problem
from .publish import REPORT, Writer, json_bytes, sha256_file, staged
from .theme import Theme, load_theme

# name -> module that defines TARGET; imported only when selected, so a build of the map
# does not pay for WeasyPrint.
TARGET_MODULES = {
    "map": "mulighetskart.render.map_svg",
    "journeys": "mulighetskart.render.journeys",
    "handbook": "mulighetskart.render.handbook",
    "fragments": "mulighetskart.render.fragments",
}


@dataclass(frozen=True)
class Job:
    """Everything a target may read; it writes only through its Writer."""

    content: Content
    theme: Theme
    date: dt.date
    previous: Path | None  # the target's folder in the last good output, if any


@dataclass(frozen=True)
class Target:
    name: str
    style: type | None  # dataclass of its section in theme.yaml
    run: Callable[[Job, Writer], None]


@dataclass(frozen=True)
class BuildOptions:
    content: Path = Path("content")
    layouts: Path = Path("layouts")
    out: Path = Path("output")
    only: tuple[str, ...] = ()
    strict: bool = False
    on_progress: Callable[[str], None] = field(default=lambda msg: None, compare=False)


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: dict[str, str]
    timings: dict[str, float]
    warnings: tuple[Problem, ...]


def build(opts: BuildOptions) -> BuildResult:
    loaded = load_content(opts.content, strict=opts.strict)
    targets = [load_target(name) for name in (opts.only or tuple(TARGET_MODULES))]
    theme = load_theme(opts.layouts, {t.name: t.style for t in targets if t.style},
                       colour_tokens={c.colour for c in loaded.content.categories})
    date = build_date(loaded.content)
    timings: dict[str, float] = {}
    with staged(opts.out, rebuild=[t.name for t in targets]) as stage:
        writer = Writer(stage)
        for target in targets:
            opts.on_progress(target.name)
            previous = opts.out / target.name
            job = Job(loaded.content, theme, date, previous if previous.is_dir() else None)
            started = time.perf_counter()
            target.run(job, writer.sub(target.name))
            timings[target.name] = round(time.perf_counter() - started, 3)
        report = build_report(loaded.content, stage, timings, loaded.warnings, date)
        (stage / REPORT).write_bytes(json_bytes(report))
    return BuildResult(opts.out, dict(writer.written), timings, loaded.warnings)


def load_target(name: str) -> Target:
    if name not in TARGET_MODULES:
        raise BuildError(f"unknown target '{name}' (choose from {', '.join(TARGET_MODULES)})")
    return importlib.import_module(TARGET_MODULES[name]).TARGET


def build_date(content: Content) -> dt.date:
    """The date every output shows: SOURCE_DATE_EPOCH when set, else the guide's `updated`."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return content.guide.updated


def build_report(content: Content, stage: Path, timings: dict, warnings, date: dt.date) -> dict:
    """Counts, files and their hashes for the whole output tree (carried-over targets too).

    Only `timings` varies between two builds of the same input.
    """
    files = {
        p.relative_to(stage).as_posix(): sha256_file(p)
        for p in sorted(stage.rglob("*"))
        if p.is_file() and p.name != REPORT
    }
    return {
        "generator": {"name": "mulighetskart", "version": __version__},
        "date": date.isoformat(),
        "inputs_sha256": content.inputs_sha256,
        "counts": {
            "categories": len(content.categories),
            "offers": len(content.offers),
            "personas": len(content.personas),
            "financing": len(content.financing),
            "terms": len(content.terms),
            "files": len(files),
        },
        "timings": timings,
        "warnings": [str(w) for w in warnings],
        "files": files,
    }
