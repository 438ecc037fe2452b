"""The validated guide kept between builds.

Parsing YAML with line and column is most of a no-op build's time (about a second for the
shipped guide); loading the validated model back takes milliseconds. Entries are keyed by
every byte under the content folder, the folder as given (positions in messages use it),
the strictness and the code that validates, so a stale entry can never be used. Content
with errors is never kept: it is reported afresh each time.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from .. import __version__
from ..memo import Memo
from ..publish import hash_tree, write_atomic
from .validate import Loaded, load_content

KEEP = 8  # entries; older ones are removed


def load_content_cached(root: Path, cache_dir: Path, strict: bool = False, fresh: bool = False) -> Loaded:
    """Like `load_content`, from `cache_dir` when the same inputs were validated before
    (unless `fresh`: validate again, as `build --clean` does, and keep the result)."""
    key = cache_key(Path(root), strict)
    entry = cache_dir / f"{key}.pickle" if key else None
    if entry is not None and not fresh and (kept := _read(entry)) is not None:
        return kept
    parsed = parsed_nodes(cache_dir, fresh)
    loaded = load_content(root, strict=strict, parsed=parsed)  # raises ContentError: nothing is kept
    parsed.prune()
    if entry is not None:
        _write(entry, loaded)
    return loaded


def cache_key(root: Path, strict: bool) -> str | None:
    """A digest of everything validation reads, or None when the folder cannot be read
    (load_content then says what is wrong)."""
    digest = hashlib.sha256(f"{__version__}\0{root}\0{strict}\0".encode())
    try:
        here = Path(__file__).parent
        for path in [*sorted(here.glob("*.py")), here.parent / "errors.py"]:  # the model and its problems
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        hash_tree(digest, root)  # a new dangling link changes the key too: load_content reports it
    except OSError:
        return None
    return digest.hexdigest()


def _read(entry: Path) -> Loaded | None:
    try:
        kept = pickle.loads(entry.read_bytes())  # written by this program into the project's own cache
    except (OSError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError, pickle.UnpicklingError):
        return None
    return kept if isinstance(kept, Loaded) else None


def _write(entry: Path, loaded: Loaded) -> None:
    """Write atomically, then drop the oldest entries; a cache that cannot be written is skipped."""
    try:
        write_atomic(entry, pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL))
        entries = sorted(entry.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def parsed_nodes(cache_dir: Path, fresh: bool = False) -> Memo:
    """Each YAML file's parsed nodes (content and theme.yaml): an edit parses only what it changed."""
    return Memo(cache_dir / "nodes", fresh=fresh)
