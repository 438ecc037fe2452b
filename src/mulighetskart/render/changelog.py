"""What changed since the previous fragment export: added, changed, removed, unchanged.

The previous export is read from its manifest.json (a package folder, an output folder
holding fragments/, the manifest itself or the package zip). An item counts as unchanged
when its fragment bytes and every manifest field but `date_modified` are the same; it then
keeps its old `date_modified`, so a CMS can skip it. Removed items become tombstones and
stay in every later manifest, so an importer that skipped an export still unpublishes them.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError

MANIFEST = "manifest.json"
# Fields that make an item "changed" when they differ; date_modified follows from them.
COMPARED = ("type", "slug", "title", "summary", "language", "file", "sha256", "parent", "order", "relations", "assets", "links", "cross_links")
TOMBSTONE_FIELDS = ("id", "uuid", "type", "slug", "title", "file")


@dataclass(frozen=True)
class Previous:
    """The parts of an earlier manifest the comparison needs."""

    export_id: str
    items: dict[str, dict]
    tombstones: dict[str, dict]


@dataclass(frozen=True)
class Changes:
    added: tuple[str, ...]
    changed: tuple[tuple[str, tuple[str, ...]], ...]  # (id, fields that differ)
    removed: tuple[dict, ...]  # tombstones created by this export
    unchanged: tuple[str, ...]
    first: bool  # no previous export to compare with

    def status(self, item_id: str) -> str:
        if item_id in self.added:
            return "added"
        return "changed" if item_id in dict(self.changed) else "unchanged"


def read_previous(path: Path | None) -> Previous | None:
    """The previous export at `path`, None when there is none; BuildError when unreadable."""
    if path is None:
        return None
    path = Path(path)
    raw = _manifest_bytes(path)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        items = {i["id"]: i for i in data["items"]}
        tombstones = {t["id"]: t for t in data.get("tombstones", [])}
        return Previous(str(data.get("export_id", "")), items, tombstones)
    except (ValueError, KeyError, TypeError) as exc:
        raise BuildError(f"the previous export's {MANIFEST} in {path} cannot be read ({exc}); remove it or pass --since with another export") from exc


def _manifest_bytes(path: Path) -> bytes | None:
    if path.is_file() and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                return zf.read(MANIFEST)
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            raise BuildError(f"{path} holds no readable {MANIFEST}: {exc}") from exc
    candidates = [path] if path.is_file() else [path / MANIFEST, path / "fragments" / MANIFEST]
    for candidate in candidates:
        if candidate.is_file():
            try:
                return candidate.read_bytes()
            except OSError as exc:
                raise BuildError(f"cannot read {candidate}: {exc.strerror or exc}") from exc
    return None


def compare(records: list[dict], previous: Previous | None) -> Changes:
    if previous is None:
        return Changes(tuple(r["id"] for r in records), (), (), (), first=True)
    ids = {r["id"] for r in records}
    added, changed, unchanged = [], [], []
    for r in records:
        old = previous.items.get(r["id"])
        if old is None:
            added.append(r["id"])
            continue
        differ = tuple(f for f in COMPARED if r.get(f) != old.get(f))
        if differ:
            changed.append((r["id"], differ))
        else:
            unchanged.append(r["id"])
    removed = tuple({f: old.get(f, "") for f in TOMBSTONE_FIELDS} for rid, old in previous.items.items() if rid not in ids)
    return Changes(tuple(added), tuple(changed), tuple(sorted(removed, key=lambda t: t["id"])), tuple(unchanged), first=False)


def dated(records: list[dict], previous: Previous | None, changes: Changes, stamp: str) -> list[dict]:
    """Records with `date_modified`: the old one when unchanged, else this export's stamp."""
    out = []
    for r in records:
        keep = previous is not None and r["id"] in changes.unchanged
        out.append({**r, "date_modified": previous.items[r["id"]].get("date_modified", stamp) if keep else stamp})
    return out


def tombstones(previous: Previous | None, changes: Changes, live_ids: set[str], stamp: str) -> list[dict]:
    """Every item removed so far and not back since, oldest removal date kept."""
    kept = {} if previous is None else {k: v for k, v in previous.tombstones.items() if k not in live_ids}
    for t in changes.removed:
        kept.setdefault(t["id"], {**t, "date_removed": stamp})
    return [kept[k] for k in sorted(kept)]


def summary_text(changes: Changes, words: dict[str, str]) -> str:
    """'Fragmentpakken: 3 endret, 1 ny' with the wording from the theme."""
    if changes.first:
        text = words["first"].format(n=len(changes.added))
    else:
        parts = []
        if changes.changed:
            parts.append(words["changed"].format(n=len(changes.changed)))
        if changes.added:
            parts.append(words["added_one" if len(changes.added) == 1 else "added_many"].format(n=len(changes.added)))
        if changes.removed:
            parts.append(words["removed"].format(n=len(changes.removed)))
        text = ", ".join(parts) or words["nothing"]
    return words["line"].format(changes=text)


def changelog_doc(changes: Changes, records: list[dict], previous: Previous | None, head: dict, text: str) -> dict:
    by_id = {r["id"]: r for r in records}

    def brief(item_id: str) -> dict:
        r = by_id[item_id]
        return {"id": item_id, "type": r["type"], "title": r["title"], "file": r["file"]}

    return {
        **head,
        "previous_export_id": previous.export_id if previous else None,
        "summary": {"added": len(changes.added), "changed": len(changes.changed), "removed": len(changes.removed), "unchanged": len(changes.unchanged)},
        "summary_text": text,
        "added": [brief(i) for i in changes.added],
        "changed": [{**brief(i), "fields": list(fields)} for i, fields in changes.changed],
        "removed": [{**t, "date_removed": head["generated_at"]} for t in changes.removed],
        "unchanged": list(changes.unchanged),
    }


def read_summary(folder: Path) -> str | None:
    """The one-line summary of the export in `folder` (for the CLI), None when there is none."""
    try:
        return json.loads((Path(folder) / "changelog.json").read_text(encoding="utf-8"))["summary_text"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
