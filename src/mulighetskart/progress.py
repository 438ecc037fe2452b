"""Progress for long builds: a rich bar on a terminal, plain lines elsewhere, nothing with -q."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def progress(names: tuple[str, ...], quiet: bool) -> Iterator[Callable[[str, float], None]]:
    """Yields tick(name, seconds), called as each target finishes (0 s: reused from cache)."""
    if quiet:
        yield lambda name, seconds: None
        return
    if not sys.stderr.isatty() or os.environ.get("CI"):
        yield lambda name, seconds: click.echo(f"· {name}: {'reused' if seconds == 0 else f'{seconds:.1f} s'}", err=True)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"building {', '.join(names)}", total=len(names))

        def tick(name: str, seconds: float) -> None:
            bar.console.print(f"· {name}: {'reused' if seconds == 0 else f'{seconds:.1f} s'}")
            bar.advance(task)

        yield tick
