"""The command line: thin click commands, each calling one library function."""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__
from .target import NAMES

CONTENT = click.option("--content", type=click.Path(path_type=Path), default=Path("content"), show_default=True, help="Content folder.")
STRICT = click.option("--strict", is_flag=True, help="Treat warnings as errors.")
ONLY = click.option("--only", multiple=True, type=click.Choice(NAMES), help="Build only this target (repeatable).")
LAYOUTS = click.option("--layouts", type=click.Path(path_type=Path), default=Path("layouts"), show_default=True, help="Templates, CSS and theme.yaml.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mulighetskart")
def main() -> None:
    """Compile the guide's content into the possibility map, journeys, handbook and CMS fragments."""


@main.command()
@CONTENT
@STRICT
def validate(content: Path, strict: bool) -> None:
    """Check the content and report every problem as path:line:col.

    Example: mulighetskart validate --content content --strict
    """
    from .content import load_content

    loaded = load_content(content, strict=strict)
    for w in loaded.warnings:
        click.echo(str(w), err=True)
    c = loaded.content
    click.echo(f"ok: {len(c.offers)} offers, {len(c.personas)} personas, {len(c.categories)} categories, {len(loaded.warnings)} warnings")


@main.command()
@CONTENT
@LAYOUTS
@click.option("--out", type=click.Path(path_type=Path), default=Path("output"), show_default=True, help="Output folder (replaced only on success).")
@ONLY
@STRICT
@click.option("--clean", is_flag=True, help="Render every target, ignoring the cache of the last build.")
@click.option("-j", "--jobs", type=click.IntRange(1, 8), default=2, show_default=True, help="Targets rendered side by side.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("-v", "--verbose", is_flag=True, help="List every file written.")
@click.option("--since", type=click.Path(exists=True, path_type=Path),
              help="Fragments: compare with this earlier export (folder, manifest.json or zip), not the last output.")
@click.option("--cache", type=click.Path(path_type=Path), default=Path(".cache"), show_default=True,
              help="Kept between builds: the validated content, drawings and laid-out handbook parts.")
def build(content: Path, layouts: Path, out: Path, only: tuple[str, ...], strict: bool, clean: bool, jobs: int, quiet: bool, verbose: bool,
          since: Path | None, cache: Path) -> None:
    """Build every output (map, journeys, handbook, fragments) into OUT.

    Example: mulighetskart build --only map --out output
    """
    from .build import BuildOptions
    from .build import build as run_build
    from .progress import progress

    names = only or NAMES
    with progress(names, quiet) as tick:
        result = run_build(BuildOptions(content, layouts, out, only, strict, clean, jobs, on_progress=tick, since=since, cache=cache))
    if quiet:
        return
    for w in result.warnings:
        click.echo(str(w), err=True)
    if verbose:
        for path in sorted(result.files):
            click.echo(f"  {path}")
    reused = f", reused {', '.join(result.reused)}" if result.reused else ""
    click.echo(f"built {len(result.files)} files into {result.out}/{reused}")
    if "fragments" in names and "fragments" not in result.reused:
        from .render.changelog import read_summary

        if summary := read_summary(result.out / "fragments"):
            click.echo(summary)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("schema"), show_default=True, help="Folder for the schema files.")
def schema(out: Path) -> None:
    """Write a JSON Schema for every kind of content file (for editor autocompletion).

    Example: mulighetskart schema --out schema
    """
    import json

    from .content.schema import schema_files

    out.mkdir(parents=True, exist_ok=True)
    for name, doc in schema_files().items():
        (out / name).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        click.echo(f"wrote {out / name}")


@main.command()
@click.argument("kind", type=click.Choice(["offer", "persona"]))
@click.argument("id")
@click.option("--category", help="Category id (offers only).")
@CONTENT
@LAYOUTS
def new(kind: str, id: str, category: str | None, content: Path, layouts: Path) -> None:
    """Start a new offer or persona from a commented template.

    Example: mulighetskart new offer jobbklubb --category arbeid
    """
    from .scaffold import new_file

    if kind == "offer" and not category:
        raise click.UsageError("an offer needs --category")
    path = new_file(kind, id, content, layouts, category)
    click.echo(f"wrote {path}: fill in the fields marked FYLL UT, then run mulighetskart validate")


@main.command()
@CONTENT
@click.option("--offline", is_flag=True, help="Check syntax and duplicates only; ask no server.")
@click.option("--cache", type=click.Path(path_type=Path), default=Path(".cache/links.json"), show_default=True, help="Where results are kept.")
@click.option("--max-age", type=float, default=7.0, show_default=True, help="Days a cached result stays valid.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for each server.")
def links(content: Path, offline: bool, cache: Path, max_age: float, timeout: float) -> None:
    """Check every external link and report broken ones at their file:line:col.

    Example: mulighetskart links --offline
    """
    from .content import load_content
    from .errors import ContentError
    from .links import check_online, link_uses, offline_problems

    uses = link_uses(load_content(content).content)
    problems = offline_problems(uses)
    if not offline:
        problems += check_online(uses, cache, max_age * 86400, timeout)
    if any(p.severity == "error" for p in problems):
        raise ContentError(problems)
    for p in problems:
        click.echo(str(p), err=True)
    click.echo(f"ok: {len({u.url for u in uses})} links{' (offline check)' if offline else ''}")


@main.command()
@CONTENT
@LAYOUTS
@click.option("--out", type=click.Path(path_type=Path), default=Path("output"), show_default=True, help="Output folder to build and serve.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port (0 picks a free one).")
@ONLY
def serve(content: Path, layouts: Path, out: Path, host: str, port: int, only: tuple[str, ...]) -> None:
    """Build, serve OUT on localhost, rebuild on every change and reload the page.

    Example: mulighetskart serve --port 8000
    """
    from .build import BuildOptions
    from .serve import serve as run_serve

    try:
        run_serve(BuildOptions(content, layouts, out, only), host, port, log=lambda msg: click.echo(msg, err=True))
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
