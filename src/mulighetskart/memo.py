"""Results of slow, pure steps kept between builds, by the digest of everything they read.

librsvg drawings, Graphviz layouts, font subsets and laid-out handbook sections depend on
their input bytes only, so a build that meets the same input again (the same route map in
journeys and fragments, an unchanged chapter after an offer edit) takes the bytes from here.
A key covers the input, the step's name, and the program's code (every source file): an entry
can only be stale if an outside tool changed under the same version string, which
`build --clean` (`fresh`: nothing is read, everything is kept anew) covers. Writes are atomic, so two worker
processes may fill the same entry at once; entries unused for `KEEP_DAYS` are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import __version__
from .publish import hash_tree, write_atomic

KEEP_DAYS = 14


@dataclass(frozen=True)
class Memo:
    folder: Path | None = None  # None: keep nothing (tests, or a folder that cannot be written)
    fresh: bool = False  # make every result again, and keep it

    def get(self, step: str, make: Callable[[], bytes], *inputs: str | bytes) -> bytes:
        """`make()`'s bytes, from the folder when `step` met these `inputs` before."""
        entry = self.entry(step, *inputs)
        if entry is not None and not self.fresh:
            try:
                data = entry.read_bytes()
                os.utime(entry)  # used: keep it
                return data
            except OSError:
                pass
        data = make()
        if entry is not None:
            _write(entry, data)
        return data

    def has(self, step: str, *inputs: str | bytes) -> bool:
        """Whether `get` would take the result from the folder."""
        entry = self.entry(step, *inputs)
        return entry is not None and not self.fresh and entry.is_file()

    def entry(self, step: str, *inputs: str | bytes) -> Path | None:
        if self.folder is None:
            return None
        digest = hashlib.sha256(f"{code_digest()}\0{step}\0".encode())
        for part in inputs:
            data = part.encode("utf-8") if isinstance(part, str) else part
            digest.update(len(data).to_bytes(8, "big") + data)
        key = digest.hexdigest()
        return self.folder / step / key[:2] / key

    def prune(self, now: float | None = None) -> None:
        """Remove entries no build has used for KEEP_DAYS."""
        if self.folder is None or not self.folder.is_dir():
            return
        limit = (now or time.time()) - KEEP_DAYS * 86400
        for path in self.folder.glob("*/*/*"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except OSError:
                pass


@cache  # the program does not change while it runs
def code_digest() -> str:
    """The program as it runs: a changed step gives new keys, so no stale result is used."""
    digest = hashlib.sha256(__version__.encode())
    hash_tree(digest, Path(__file__).parent)
    return digest.hexdigest()


NO_MEMO = Memo()  # keeps nothing: the default where a caller has no memo


def _write(entry: Path, data: bytes) -> None:
    """A cache that cannot be written is skipped."""
    with contextlib.suppress(OSError):
        write_atomic(entry, data)
