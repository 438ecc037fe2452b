"""The build recipe: load → validate → plan and render each target → publish.

Everything that can be checked is checked before the first byte is written, and the
output folder is only replaced once every target has rendered (publish.staged).
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
from .errors import ContentError, Problem
from .glyphs import drawable, undrawable
from .memo import Memo
from .publish import REPORT, Writer, hash_tree, json_bytes, sha256_file, staged
from .target import NAMES, TARGETS, Job, Target, build_date, load_target
from .theme import Theme, read_theme


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
    edition: Path | None = None  # a local edition's folder, laid over the content


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: dict[str, str]
    timings: dict[str, float]
    reused: tuple[str, ...]
    warnings: tuple[Problem, ...]


def build(opts: BuildOptions) -> BuildResult:
    loaded = load_content_cached(opts.content, opts.cache / "content", strict=opts.strict, fresh=opts.clean, edition=opts.edition)
    memo = Memo(opts.cache / "render", fresh=opts.clean)
    targets = [load_target(name) for name in (opts.only or NAMES)]
    theme, problems = read_theme(opts.layouts, theme_styles(targets), colour_tokens={c.colour for c in loaded.content.categories},
                                 parsed=parsed_nodes(opts.cache / "content", opts.clean), language=loaded.content.guide.language)
    if theme is not None:  # characters no shipped font can draw would print as empty boxes
        problems = [*problems, *undrawable(opts.content, drawable(f for f in theme.font_files() if f.is_file()), opts.edition)]
    warnings = (*loaded.warnings, *check_targets(targets, loaded.content, theme, problems, opts.strict))
    date = build_date(loaded.content)
    fonts = theme.font_path().parent
    keys = {t.name: cache_key(t, loaded.content, date, (Path(opts.layouts), fonts, Path(__file__).parent)) for t in targets}
    previous = read_report(opts.out)
    same = {t.name for t in targets if not opts.clean and previous.get("cache", {}).get(t.name) == keys[t.name]}  # --clean trusts nothing kept
    reused = tuple(t.name for t in targets if t.name in same and t.cacheable and (opts.out / t.name).is_dir())
    todo = [name for name in TARGETS if name in {t.name for t in targets} - set(reused)]  # the longest first
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
    return BuildResult(opts.out, written, timings, reused, warnings)


def check_targets(targets: list[Target], content: Content, theme: Theme | None, problems: list[Problem], strict: bool) -> tuple[Problem, ...]:
    """Every problem of the theme and of every target and the targets they draw with, in one
    pass before anything is rendered (`problems`: the theme's own): errors (and warnings, if
    strict) stop the build; warnings are returned."""
    names = sorted({name for t in targets for name in (t.name, *t.uses)})
    checked = [load_target(n) for n in names if theme is not None and (n in theme.sections or load_target(n).style is None)]
    problems = sorted({*problems, *(p for t in checked for p in t.check(content, theme))})
    warnings = tuple(p for p in problems if p.severity == "warning")
    if len(warnings) < len(problems) or (strict and warnings):
        raise ContentError(problems)
    return warnings


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


def cache_key(target: Target, content: Content, date: dt.date, folders: tuple[Path, ...]) -> str:
    """What a target's output depends on: the content it reads, the date, and the files in
    `folders` (looks, fonts, the code)."""
    read = target.reads(content) if target.reads else content.inputs_sha256
    digest = hashlib.sha256(f"{target.name}\0{read}\0{date.isoformat()}\0{__version__}".encode())
    for folder in folders:
        hash_tree(digest, folder)
    return digest.hexdigest()


def read_report(out: Path) -> dict:
    try:
        return json.loads((out / REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _route_checks(stage: Path) -> dict:
    """What the journeys target measured on its route maps (a reader's eye: lines through boxes,
    over text, crossing each other), if it ran or was kept."""
    try:
        return json.loads((stage / "journeys" / "rutesjekk.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


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
        "routes": _route_checks(stage),
        "files": files,
    }
