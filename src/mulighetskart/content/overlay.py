"""Local editions: an edition folder laid over the national content before validation.

An edition (editions/<name>/edition.yaml, beside files in the content folder's own formats)
may add offers, personas, actors, financing, sources and terms; hide national offers and
personas; replace an offer's links or responsible actors and add a local note to it; and set
the guide's title, publisher, address and the like. Each file is converted on its own, so
every item keeps the file, line and column it was written at (national or edition), and the
merged content is validated as one guide: downstream, nothing knows editions exist.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from ..errors import Pos
from ..memo import NO_MEMO, Memo
from .convert import INVALID, Collector, Converter, node_pos, suggest
from .fields import Doc, Loc, Markdown, MinLen, Ref, Url, located
from .load import RawFile, read_yaml
from .model import COLLECTION_FILES, ITEM_DIRS, Guide, Link, Md

EDITION_FILE = "edition.yaml"


@dataclass(frozen=True)
class GuideChanges:
    """The guide's front matter as the edition has it; a field left out keeps the national value."""

    title: str = ""
    subtitle: str = ""
    edition: str = ""
    publisher: str = ""
    url: Annotated[str, Url(), Doc("the edition's own address: its CMS fragments get uuids of their own")] | None = None
    offer_url: Annotated[str, Doc("where the edition's CMS shows an offer, with {id}")] | None = None
    intro: Md = ""
    disclaimer: Md = ""
    logo: Annotated[str, Doc("a PNG file beside edition.yaml, shown on the handbook's cover")] = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Hidden:
    """National items not offered here."""

    offers: tuple[Annotated[str, Ref("offer")], ...] = ()
    personas: tuple[Annotated[str, Ref("persona")], ...] = ()
    loc: Loc = located()


@dataclass(frozen=True)
class OfferChange:
    """What the edition says about a national offer."""

    id: Annotated[str, Ref("offer")]
    note: Annotated[str, Markdown(), Doc("a local note, printed after the offer's own text")] = ""
    links: Annotated[tuple[Link, ...], MinLen(1), Doc("the local pages and contacts, instead of the national links")] | None = None
    actors: Annotated[tuple[Annotated[str, Ref("actor")], ...], MinLen(1), Doc("who is responsible here")] | None = None
    loc: Loc = located()


@dataclass(frozen=True)
class Edition:
    """editions/<name>/edition.yaml: a local edition of the guide."""

    name: Annotated[str, MinLen(1), Doc("the municipality, county or office the edition is for")]
    guide: GuideChanges = GuideChanges()
    hide: Hidden = Hidden()
    offers: tuple[OfferChange, ...] = ()
    loc: Loc = located()


@dataclass(frozen=True)
class Overlay:
    """An edition as read: its settings, and its own files converted in the content's formats."""

    edition: Edition
    parts: dict[str, object]  # collection file name -> converted file (its items are added)
    items: dict[str, list]  # item folder -> converted items (added)
    raw: dict[str, RawFile]  # every file read, for the inputs digest


def read_overlay(folder: Path, out: Collector, parsed: Memo = NO_MEMO) -> Overlay | None:
    """The edition in `folder`, or None after recording why it cannot be read."""
    folder = Path(folder)
    path = folder / EDITION_FILE
    if not path.is_file():
        out.error(Pos(str(path)), f"no {EDITION_FILE} in the edition folder", "an edition folder holds edition.yaml and its own content files")
        return None
    raw = {EDITION_FILE: read_yaml(path, folder, out, parsed)}
    _check_names(folder, out)
    for name in COLLECTION_FILES:
        if name != "guide.yaml" and (folder / name).exists():
            raw[name] = read_yaml(folder / name, folder, out, parsed)
    for d in ITEM_DIRS:
        for p in sorted((folder / d).glob("*")) if (folder / d).is_dir() else ():
            if not p.name.startswith("."):
                raw[f"{d}/{p.name}"] = read_yaml(p, folder, out, parsed) if p.suffix == ".yaml" else _not_yaml(p, out)
    if raw[EDITION_FILE] is None:
        return None
    edition = _convert(raw[EDITION_FILE], Edition, out)
    parts = {name: _convert(f, COLLECTION_FILES[name], out) for name, f in raw.items() if name in COLLECTION_FILES}
    items = {d: [i for key, f in sorted(raw.items()) if key.startswith(d + "/") if (i := _convert(f, ITEM_DIRS[d], out)) is not None]
             for d in ITEM_DIRS}
    if edition is None:
        return None
    return Overlay(edition, {k: v for k, v in parts.items() if v is not None}, items, {f"edition/{k}": v for k, v in raw.items() if v})


def _check_names(folder: Path, out: Collector) -> None:
    allowed = [EDITION_FILE, *(n for n in COLLECTION_FILES if n != "guide.yaml"), *ITEM_DIRS]
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in allowed:
            continue
        if entry.suffix in (".yaml", ".yml") or entry.is_dir():
            hint = "the guide's front matter goes under guide: in edition.yaml" if entry.name == "guide.yaml" else suggest(entry.name, allowed)
            out.error(Pos(str(entry)), f"unknown edition file '{entry.name}'", hint)


def _not_yaml(path: Path, out: Collector) -> None:
    out.error(Pos(str(path)), f"'{path.name}' is not a .yaml file", "name content files <id>.yaml")


def _convert(raw: RawFile | None, cls, out: Collector):
    if raw is None:
        return None
    value = Converter(raw.path, out).model(raw.node, cls, node_pos(raw.node, raw.path))
    return None if value is INVALID else value


def apply(overlay: Overlay, parts: dict, items: dict, out: Collector) -> tuple[dict, dict]:
    """The national parts and items with the edition laid over them."""
    ed = overlay.edition
    parts = dict(parts)
    if parts.get("guide.yaml") is not None:
        parts["guide.yaml"] = _guide(parts["guide.yaml"], ed.guide)
    for name, local in overlay.parts.items():
        if parts.get(name) is not None:
            parts[name] = _joined(parts[name], local)
    items = {d: [*items[d], *_new(items[d], overlay.items[d], out)] for d in items}
    hidden_offers, hidden_personas = set(ed.hide.offers), set(ed.hide.personas)
    changes = {c.id: c for c in ed.offers}
    for c in ed.offers:
        if c.id in hidden_offers:
            out.error(c.loc.of("id"), f"offer '{c.id}' is hidden in this edition and changed too", "remove it from hide: or from offers:")
    personas = [p for p in items["personas"] if p.id not in hidden_personas]
    _check_hidden_in_journeys(personas, hidden_offers, ed.hide, out)
    offers = [_changed(o, changes.get(o.id), hidden_offers) for o in items["offers"] if o.id not in hidden_offers]
    return parts, {**items, "offers": offers, "personas": personas}


def _new(national: list, local: list, out: Collector) -> list:
    """The edition's own items; one with a national item's id is reported where the edition has it."""
    taken = {i.id: i.loc.at for i in national}
    for item in local:
        if item.id in taken:
            kind = type(item).__name__.lower()
            out.error(item.loc.of("id"), f"{kind} '{item.id}' is in the national guide already ({taken[item.id]})",
                      f"change it in edition.yaml under {kind}s:, or hide it and give the local one another id")
    return [i for i in local if i.id not in taken]


def _guide(guide: Guide, changes: GuideChanges) -> Guide:
    """The national front matter with the edition's fields; those keep the edition's positions."""
    given = {f.name: getattr(changes, f.name) for f in dataclasses.fields(changes) if f.name != "loc"}
    given = {k: v for k, v in given.items() if v not in ("", None)}
    where = dict(guide.loc.fields) | {k: changes.loc.of(k) for k in given}
    return dataclasses.replace(guide, **given, loc=Loc(guide.loc.at, tuple(where.items())))


def _joined(national, local):
    """A collection file with the edition's items after the national ones."""
    lists = {f.name: getattr(national, f.name) + getattr(local, f.name) for f in dataclasses.fields(national) if f.name != "loc"}
    return dataclasses.replace(national, **lists)


def _changed(offer, change: OfferChange | None, hidden: set[str]):
    """An offer with the edition's links, actors and note, and without ties to hidden offers."""
    values = {name: tuple(i for i in getattr(offer, name) if i not in hidden) for name in ("combines_with", "leads_to")}
    if change is not None:
        if change.links is not None:
            values["links"] = change.links
        if change.actors is not None:
            values["actors"] = change.actors
        if change.note.strip():
            values["body"] = f"{offer.body.rstrip()}\n\n{change.note.strip()}\n"
        fields = dict(offer.loc.fields) | {k: change.loc.of(k) for k in ("links", "actors") if k in values}
        values["loc"] = Loc(offer.loc.at, tuple(fields.items()))
    if all(values[k] == getattr(offer, k) for k in ("combines_with", "leads_to")) and change is None:
        return offer
    return dataclasses.replace(offer, **values)


def _check_hidden_in_journeys(personas, hidden: set[str], hide: Hidden, out: Collector) -> None:
    """A journey through an offer that is not offered here cannot be told here."""
    for p in personas:
        for number, phase in enumerate(p.journey, 1):
            for oid in sorted(set(phase.offers) & hidden):
                out.error(hide.loc.of("offers"), f"offer '{oid}' is hidden, but persona '{p.id}' takes it (phase {number}, {phase.loc.at})",
                          f"hide the persona too (hide: personas: [{p.id}]) or keep the offer")
