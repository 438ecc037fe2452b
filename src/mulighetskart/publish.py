"""Write a build into a staging folder and swap it into place only when everything worked.

The previous output stays untouched until the final rename; an exception, Ctrl-C or a
killed process leaves it as it was, and the next build sweeps the leftovers away.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import BuildError

REPORT = "build-report.json"


@dataclass(frozen=True)
class Writer:
    """Writes files under one root and refuses to write the same path twice (a bug, not an update).

    Sub-writers for a target's folder share the table of written files with their parent.
    """

    root: Path
    prefix: str = ""
    written: dict[str, str] = field(default_factory=dict)  # relative posix path -> sha256

    def write(self, rel: str, data: bytes | str) -> Path:
        rel_path = PurePosixPath(self.prefix + rel)
        if rel_path.is_absolute() or ".." in rel_path.parts:
            raise BuildError(f"refusing to write outside the output folder: {rel}")
        key = str(rel_path)
        if key in self.written:
            raise BuildError(f"two items map to the same output file {key}")
        raw = data.encode("utf-8") if isinstance(data, str) else data
        target = self.root / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
        self.written[key] = hashlib.sha256(raw).hexdigest()
        return target

    def sub(self, folder: str) -> Writer:
        return Writer(self.root, f"{self.prefix}{folder}/", self.written)

    @property
    def folder(self) -> Path:
        return self.root / self.prefix


def write_atomic(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all (a reader never sees half a file); for caches that
    several processes may fill at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def hash_tree(digest, folder: Path) -> None:
    """Feed every file under `folder` into `digest`: its relative path and bytes (a dangling
    link: where it points), in a stable order. The caches' keys are built from it."""
    for path in sorted(p for p in Path(folder).rglob("*") if "__pycache__" not in p.parts):
        rel = path.relative_to(folder).as_posix().encode()
        if path.is_file():
            digest.update(rel + b"\0" + path.read_bytes())
        elif path.is_symlink():
            digest.update(rel + b"\0->" + os.fsencode(os.readlink(path)))


def json_bytes(data) -> bytes:
    """Stable JSON: sorted keys, UTF-8, trailing newline."""
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


@contextmanager
def staged(out: Path, rebuild: list[str]) -> Iterator[Path]:
    """A staging folder holding the previous output minus the targets being rebuilt.

    On normal exit it replaces `out`; on any exception it is removed and `out` is untouched.
    """
    out = Path(out)
    recover(out)
    _refuse_foreign(out)
    stage = out.parent / f".{out.name}.staging-{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
        _carry_over(out, stage, keep_out=set(rebuild) | {REPORT})
        yield stage
        _swap(stage, out)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise BuildError(f"cannot write output to {out}: {exc.strerror or exc}; the previous output is unchanged") from exc
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def recover(out: Path) -> None:
    """Undo a swap cut short between its two renames, and sweep dead staging folders."""
    parent = out.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{out.name}.old-*"))
    if not out.exists() and olds:
        olds[-1].rename(out)
        olds = olds[:-1]
    for leftover in [*olds, *parent.glob(f".{out.name}.staging-*")]:
        pid = leftover.name.rsplit("-", 1)[-1]
        if not (pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid))):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _refuse_foreign(out: Path) -> None:
    """Never replace a folder this tool did not make (think --out ~)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / REPORT).is_file())):
        raise BuildError(f"{out} exists and was not made by mulighetskart (no {REPORT}); choose a new or empty folder")


def _carry_over(out: Path, stage: Path, keep_out: set[str]) -> None:
    """Hard-link the untouched targets of the previous output into the stage (cheap, safe:
    the build only ever creates new files, never rewrites carried ones)."""
    if not out.is_dir():
        return
    for entry in sorted(out.iterdir()):
        if entry.name in keep_out:
            continue
        if entry.is_dir():
            shutil.copytree(entry, stage / entry.name, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, stage / entry.name)


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _swap(stage: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    stage.rename(out)
    shutil.rmtree(old, ignore_errors=True)
