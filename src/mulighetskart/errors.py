"""The error tree: every user-facing failure is a ClickException, so the CLI prints a
clean message and exits 1 without a traceback, while the library never imports click's UI."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click


@dataclass(frozen=True, order=True)
class Pos:
    """A place in a content file; line and col are 1-based like editors show them."""

    path: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}:{self.col}"


NOWHERE = Pos("<unknown>", 0, 0)


def display_path(path: str | Path) -> str:
    """Paths relative to the working directory, as compilers print them."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


@dataclass(frozen=True, order=True)
class Problem:
    pos: Pos
    message: str
    hint: str = ""
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.pos}: {self.severity}: {self.message}{hint}"


class MulighetskartError(click.ClickException):
    """Root of every error the tool reports to a user (exit code 1)."""

    exit_code = 1


class ContentError(MulighetskartError):
    """One or more problems in content or layouts, reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (display_path(p.pos.path), p.pos.line, p.pos.col, p.message))
        super().__init__(format_problems(self.problems))

    def format_message(self) -> str:
        return self.message

    def __reduce__(self):  # raised in build worker processes, re-raised in the parent
        return (type(self), (self.problems,))

    def show(self, file=None) -> None:  # no "Error:" prefix: lines are already compiler-style
        click.echo(self.message, file=file, err=True)


def format_problems(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "error"]
    files = {p.pos.path for p in errors}
    lines = [str(p) for p in problems]
    noun = "error" if len(errors) == 1 else "errors"
    fnoun = "file" if len(files) == 1 else "files"
    lines.append(f"{len(errors)} {noun} in {len(files)} {fnoun}")
    return "\n".join(lines)


class BuildError(MulighetskartError):
    """A target failed for a reason that is not the content's fault."""


class MissingToolError(MulighetskartError):
    """A system program or library is missing; the message says how to install it."""
