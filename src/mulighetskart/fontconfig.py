"""A private fontconfig for the external renderers (`dot`, `rsvg-convert`): they find fonts
only through fontconfig, so each run gets a config that lists the shipped fonts first."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

SYSTEM_CONF = "/etc/fonts/fonts.conf"


def write_fontconfig(folder: Path, font_dirs: Iterable[Path], *, system: bool = True) -> Path:
    """Write `folder/fonts.conf` (its cache beside it) and return its path for FONTCONFIG_FILE.

    The shipped fonts come first, so they win over a system copy of the same family; with
    `system` the machine's fonts stay available for glyphs the shipped fonts lack.
    """
    dirs = "".join(f"<dir>{escape(str(Path(d).resolve()))}</dir>" for d in font_dirs)
    include = f'<include ignore_missing="yes">{SYSTEM_CONF}</include>' if system else ""
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig>{dirs}<cachedir>{escape(str(folder / 'cache'))}</cachedir>{include}</fontconfig>\n", encoding="utf-8")
    return conf


def fonts_key(font_dirs: Iterable[Path]) -> str:
    """The fonts a renderer finds in `font_dirs`: each file's name and the digest of its bytes
    (part of the key of what the renderer makes)."""
    files = sorted((p for d in font_dirs for p in Path(d).rglob("*") if p.is_file()), key=lambda p: (p.name, str(p)))
    return "\n".join(file_key(p) for p in files)


def file_key(path: Path) -> str:
    """A file's name and the digest of its bytes."""
    stat = path.stat()
    return f"{path.name} {_file_digest(path, stat.st_mtime_ns, stat.st_size)}"


@cache  # a pure function of the file's version (time and size tell a new one): read once per process
def _file_digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
