"""The build recipe: load → validate → plan and render each target → publish.

Everything that can be checked is checked before the first byte is written, and the
output folder is only replaced once every target has rendered (publish.staged).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .content import Content
from .content.cached import load_content_cached, parsed_nodes
from .errors import BuildError, ContentError, Problem
from .glyphs import drawable, undrawable
from .memo import NO_MEMO, Memo
from .publish import REPORT, Writer, hash_tree, json_bytes, sha256_file, staged
from .theme import Theme, load_theme

# name -> module that defines TARGET; imported only when selected, so a build of the map
# does not pay for WeasyPrint.
TARGET_MODULES = {
    "map": "mulighetskart.render.map_svg",
    "journeys": "mulighetskart.render.journeys",
    "handbook": "mulighetskart.render.handbook",
    "fragments": "mulighetskart.render.fragments",
}

# The order targets are handed to the workers: the longest first, so the workers end together.
LONGEST_FIRST = ("handbook", "fragments", "journeys", "map")


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


@dataclass(frozen=True)
class Target:
    name: str
    style: type | None  # dataclass of its section in theme.yaml
    run: Callable[[Job, Writer], None]
    cacheable: bool = True  # False when the output depends on the previous output (changelogs)
    uses: tuple[str, ...] = ()  # targets it draws with through their contracts: their theme sections load too


@dataclass(frozen=True)
class BuildOptions:
    content: Path = Path("content")
    layouts: Path = Path("layouts")
    out: Path = Path("output")
    only: tuple[str, ...] = ()
    strict: bool = False
    clean: bool = False  # ignore the caches: validate again and render every selected target
    jobs: int = 2  # targets rendered side by side in worker processes
    on_progress: Callable[[str, float], None] = field(default=lambda name, seconds: None, compare=False)
    since: Path | None = None  # fragments: compare with this earlier export, not the last output
    cache: Path = Path(".cache")  # kept between builds: the validated guide (content/), drawings and layouts (render/)


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: dict[str, str]
    timings: dict[str, float]
    reused: tuple[str, ...]
    warnings: tuple[Problem, ...]


def build(opts: BuildOptions) -> BuildResult:
    loaded = load_content_cached(opts.content, opts.cache / "content", strict=opts.strict, fresh=opts.clean)
    memo = Memo(opts.cache / "render", fresh=opts.clean)
    targets = [load_target(name) for name in (opts.only or tuple(TARGET_MODULES))]
    theme = load_theme(opts.layouts, theme_styles(targets), colour_tokens={c.colour for c in loaded.content.categories},
                       parsed=parsed_nodes(opts.cache / "content", opts.clean))
    warnings = (*loaded.warnings, *undrawable(opts.content, drawable(theme.font_files())))
    if opts.strict and len(warnings) > len(loaded.warnings):
        raise ContentError(list(warnings))
    date = build_date(loaded.content)
    fonts = theme.font_path().parent
    keys = {t.name: cache_key(t.name, loaded.content, date, (Path(opts.layouts), fonts, Path(__file__).parent)) for t in targets}
    previous = read_report(opts.out)
    same = {t.name for t in targets if not opts.clean and previous.get("cache", {}).get(t.name) == keys[t.name]}  # --clean trusts nothing kept
    reused = tuple(t.name for t in targets if t.name in same and t.cacheable and (opts.out / t.name).is_dir())
    todo = sorted((t.name for t in targets if t.name not in reused), key=LONGEST_FIRST.index)
    jobs = {name: Job(loaded.content, theme, date, _previous_folder(opts.out, name), opts.since, same_inputs=name in same, memo=memo)
            for name in todo}
    with staged(opts.out, rebuild=todo) as stage:
        written, timings = render_all(jobs, stage, opts)
        for name in reused:
            opts.on_progress(name, 0.0)
        cache = {**previous.get("cache", {}), **keys}
        report = build_report(loaded.content, stage, timings, reused, cache, warnings, date)
        (stage / REPORT).write_bytes(json_bytes(report))
    memo.prune()
    return BuildResult(opts.out, written, timings, reused, tuple(sorted(warnings)))


def theme_styles(targets: list[Target]) -> dict[str, type]:
    """The theme sections a build needs: its targets' and those of the targets they draw with."""
    names = sorted({name for t in targets for name in (t.name, *t.uses)})
    return {name: style for name in names if (style := load_target(name).style)}


def render_all(jobs: dict[str, Job], stage: Path, opts: BuildOptions) -> tuple[dict[str, str], dict[str, float]]:
    """Render targets, side by side in worker processes when there are several."""
    written: dict[str, str] = {}
    timings: dict[str, float] = {}
    workers = min(opts.jobs, len(jobs))
    if workers <= 1:
        results = (render_one(name, job, stage) for name, job in jobs.items())
        for name, files, seconds in results:
            written.update(files)
            timings[name] = seconds
            opts.on_progress(name, seconds)
        return written, timings
    with ProcessPoolExecutor(max_workers=workers, initializer=_exit_with, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(render_one, name, job, stage) for name, job in jobs.items()]
        try:
            for future in as_completed(futures):
                name, files, seconds = future.result()
                written.update(files)
                timings[name] = seconds
                opts.on_progress(name, seconds)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return dict(sorted(written.items())), {name: timings[name] for name in jobs}


def _exit_with(parent: int) -> None:
    """In a worker: end when the build process is gone (kill -9 gives it no chance to stop us),
    instead of lingering as an orphan."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def render_one(name: str, job: Job, stage: Path) -> tuple[str, dict[str, str], float]:
    writer = Writer(stage).sub(name)
    started = time.perf_counter()
    load_target(name).run(job, writer)
    return name, dict(writer.written), round(time.perf_counter() - started, 3)


def _previous_folder(out: Path, name: str) -> Path | None:
    folder = out / name
    return folder if folder.is_dir() else None


def cache_key(name: str, content: Content, date: dt.date, folders: tuple[Path, ...]) -> str:
    """What a target's output depends on: content, date, and the files in `folders`
    (looks, fonts, the code)."""
    digest = hashlib.sha256(f"{name}\0{content.inputs_sha256}\0{date.isoformat()}\0{__version__}".encode())
    for folder in folders:
        hash_tree(digest, folder)
    return digest.hexdigest()


def read_report(out: Path) -> dict:
    try:
        return json.loads((out / REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


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


def build_report(content: Content, stage: Path, timings: dict, reused, cache: dict, warnings, date: dt.date) -> dict:
    """Counts, files and their hashes for the whole output tree (carried-over targets too).

    Only `timings` and `reused` vary between two builds of the same input.
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
        "reused": sorted(reused),
        "cache": dict(sorted(cache.items())),
        "warnings": [str(w) for w in warnings],
        "files": files,
    }
