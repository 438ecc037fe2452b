"""What changed since the previous fragment export: added, changed, removed, unchanged.

The previous export is read from its manifest.json (a package folder, an output folder
holding fragments/, the manifest itself or the package zip). An item is changed when an
editor would have to import it again: its fragment bytes, a field (title, summary, place in
the tree, relations, links) or an illustration the fragment shows differ. Otherwise it keeps
its old `date_modified`, so a CMS can skip it. An illustration file that changed (the SVG
beside a PNG, say) is listed as an asset change of its own. `date_published` never moves. Removed items become tombstones and
stay in every later manifest, so an importer that skipped an export still unpublishes them.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError

MANIFEST = "manifest.json"
# Fields that make an item "changed" when they differ; date_modified follows from them.
# "assets" counts only the illustrations the fragment shows (see shown_assets).
COMPARED = ("type", "slug", "title", "summary", "language", "file", "sha256", "parent", "order", "relations", "assets", "links", "cross_links")
TOMBSTONE_FIELDS = ("id", "uuid", "type", "slug", "title", "file", "date_published")
STAMP = "%Y-%m-%dT%H:%M:%SZ"


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
    assets: tuple[dict, ...] = ()  # illustration files added, changed or removed, each on its own

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


def shown_assets(item: dict) -> list[dict]:
    """The illustrations an item's fragment shows (an older manifest without `embedded`: its PNGs)."""
    return [a for a in item.get("assets", []) if a.get("embedded", a.get("media_type") == "image/png")]


def _imported(item: dict, name: str):
    return shown_assets(item) if name == "assets" else item.get(name)


def _asset_keys(items) -> dict[tuple[str, str, str], dict]:
    return {(i["id"], a["role"], a["media_type"]): a for i in items for a in i.get("assets", [])}


def asset_changes(records: list[dict], previous: Previous) -> tuple[dict, ...]:
    """Each illustration file (owner, role, media type) that is new, different or gone."""
    now, before = _asset_keys(records), _asset_keys(previous.items.values())
    out = []
    for key in sorted(now.keys() | before.keys()):
        new, old = now.get(key), before.get(key)
        if new is not None and old is not None and new.get("sha256") == old.get("sha256"):
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        out.append({"owner": key[0], "role": key[1], "media_type": key[2], "status": status,
                    "file": new["file"] if new else None, "previous_file": old["file"] if old else None})
    return tuple(out)


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
        differ = tuple(f for f in COMPARED if _imported(r, f) != _imported(old, f))
        if differ:
            changed.append((r["id"], differ))
        else:
            unchanged.append(r["id"])
    removed = tuple({f: old.get(f, "") for f in TOMBSTONE_FIELDS} for rid, old in previous.items.items() if rid not in ids)
    return Changes(tuple(added), tuple(changed), tuple(sorted(removed, key=lambda t: t["id"])), tuple(unchanged), first=False,
                   assets=asset_changes(records, previous))


def dated(records: list[dict], previous: Previous | None, changes: Changes, stamp: str) -> list[dict]:
    """Records with `date_published` (the first export's, never moved) and `date_modified`:
    the old one when unchanged, else this export's stamp, moved past the old date when the
    export date is not later (the guide's `updated` date was left as it was)."""
    out = []
    for r in records:
        old = previous.items.get(r["id"], {}) if previous else {}
        gone = previous.tombstones.get(r["id"], {}) if previous else {}
        published = old.get("date_published") or gone.get("date_published") or old.get("date_modified") or stamp
        kept = old and r["id"] in changes.unchanged
        modified = old.get("date_modified", stamp) if kept else later_than(stamp, old.get("date_modified"))
        out.append({**r, "date_published": published, "date_modified": modified})
    return out


def later_than(stamp: str, before: str | None) -> str:
    """`stamp`, or one second after `before` when `stamp` is not later: a changed item's date always moves."""
    if not before or stamp > before:
        return stamp
    try:
        return (dt.datetime.strptime(before, STAMP) + dt.timedelta(seconds=1)).strftime(STAMP)
    except ValueError:
        return stamp


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
        if changes.assets:
            parts.append(words["assets"].format(n=len(changes.assets)))
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
        "summary": {"added": len(changes.added), "changed": len(changes.changed), "removed": len(changes.removed), "unchanged": len(changes.unchanged),
                    "assets": len(changes.assets)},
        "summary_text": text,
        "added": [brief(i) for i in changes.added],
        "changed": [{**brief(i), "fields": list(fields)} for i, fields in changes.changed],
        "removed": [{**t, "date_removed": head["generated_at"]} for t in changes.removed],
        "unchanged": list(changes.unchanged),
        "assets": list(changes.assets),
    }


def read_summary(folder: Path) -> str | None:
    """The one-line summary of the export in `folder` (for the CLI), None when there is none."""
    try:
        return json.loads((Path(folder) / "changelog.json").read_text(encoding="utf-8"))["summary_text"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
