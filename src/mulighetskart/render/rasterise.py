"""librsvg (rsvg-convert) draws the SVGs as PNG previews and as the handbook's vector figures.

librsvg ignores @font-face, so each run gets a private fontconfig (fontconfig.py) that finds
the shipped fonts first, or the fonts embedded in the SVG itself. What a drawing is made of
besides the SVG (its size, the fonts, librsvg's version) is part of its key in the render memo.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont

from ..errors import BuildError, MissingToolError
from ..fontconfig import fonts_key, write_fontconfig
from ..memo import NO_MEMO, Memo


def svg_to_png(svg: str, width_px: int, font_dirs: Iterable[Path] = (), memo: Memo = NO_MEMO) -> bytes:
    """The SVG drawn `width_px` wide, with the fonts in `font_dirs` (none: the fonts embedded
    in the SVG); a PNG `memo` has seen for the same SVG, width, fonts and librsvg is taken from it."""
    dirs = [Path(d).resolve() for d in font_dirs]
    args = ["--width", str(int(width_px)), "--keep-aspect-ratio", "--format", "png"]
    return memo.get("png", lambda: rsvg(svg, args, dirs, "the SVG"), svg, *png_key(width_px, dirs))


def png_key(width_px: int, font_dirs: Iterable[Path]) -> tuple[str, str, str]:
    """What besides the SVG makes a PNG: its width, the fonts and librsvg's version."""
    dirs = [Path(d).resolve() for d in font_dirs]
    fonts = fonts_key(dirs) if dirs else "embedded"  # embedded fonts are part of the SVG text
    return str(int(width_px)), fonts, tool_version(rsvg_exe(), "--version")


def rsvg(svg: str, args: Sequence[str], font_dirs: Sequence[Path], what: str, system_fonts: bool = True) -> bytes:
    """What rsvg-convert `args` makes of `svg` (a PNG or a PDF), drawn with the fonts in
    `font_dirs` (none: the SVG's embedded fonts), the machine's fonts after them if `system_fonts`."""
    exe = rsvg_exe()
    with tempfile.TemporaryDirectory(prefix="mulighetskart-rsvg-") as tmp:
        dirs = list(font_dirs) or [_unpack_fonts(svg, Path(tmp) / "fonts")]
        conf = write_fontconfig(Path(tmp), dirs, system=system_fonts)
        env = {**os.environ, "FONTCONFIG_FILE": str(conf), "SOURCE_DATE_EPOCH": "0"}  # a PDF's dates: none of the build's
        try:
            done = subprocess.run([exe, *args], input=svg.encode("utf-8"), capture_output=True, env=env, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BuildError(f"rsvg-convert failed: {exc}") from exc
    if done.returncode != 0 or not done.stdout.startswith((b"\x89PNG", b"%PDF")):
        raise BuildError(f"rsvg-convert could not draw {what}: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def rsvg_exe() -> str:
    exe = shutil.which("rsvg-convert")
    if exe is None:
        raise MissingToolError("rsvg-convert (librsvg) is needed for the PNG previews and the handbook's figures; install with: "
                               "apt-get install librsvg2-bin (Debian/Ubuntu) or brew install librsvg (macOS)")
    return exe


@cache  # the program does not change while the build runs: asked once per process
def tool_version(exe: str, flag: str) -> str:
    """What `exe flag` prints: part of the key of what the program makes, so a new version
    draws anew. A program that will not say is still asked to draw, which reports its failure."""
    try:
        done = subprocess.run([exe, flag], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


_FONT_DATA = re.compile(r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)")


def _unpack_fonts(svg: str, folder: Path) -> Path:
    """Write the SVG's embedded WOFF2 fonts as TrueType files fontconfig can read."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(_FONT_DATA.findall(svg)):
        (folder / f"embedded-{i}.ttf").write_bytes(_truetype(data))
    return folder


@lru_cache(maxsize=16)  # pure; every drawing of a build embeds the same few (0.1 s each otherwise)
def _truetype(woff2_base64: str) -> bytes:
    """An embedded font as TrueType."""
    font = TTFont(io.BytesIO(base64.b64decode(woff2_base64)), recalcTimestamp=False)
    font.flavor = None
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()
