"""Load and check the whole content folder in one pass: every problem, then one abort.

Order: find the files, read each (load.py), convert each to the model (convert.py), then
the checks no single file can make: ids unique and matching file names, references
resolved, journeys in time order, and warnings about loose ends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..errors import ContentError, Pos, Problem
from ..memo import NO_MEMO, Memo
from ..output_names import persona_stems, shared_stems
from .convert import INVALID, Collector, Converter, node_pos, suggest
from .load import MAX_BYTES, RawFile, inside, read_yaml
from .model import COLLECTION_FILES, ID_SOURCES, ITEM_DIRS, CefrTranslation, Content, Defaults, LanguageRequirement, LanguagesFile, Offer, Persona, Review
from .overlay import apply, read_overlay

PNG = b"\x89PNG\r\n\x1a\n"
OPTIONAL_FILES = {"languages.yaml"}  # a guide without language rules or translations leaves it out
NO_LANGUAGES = LanguagesFile(checked=None, intro="", requirements=(), cefr_title="", cefr_intro="")  # what its absence says


@dataclass(frozen=True)
class Loaded:
    content: Content
    warnings: tuple[Problem, ...]


def load_content(root: Path | str, strict: bool = False, parsed: Memo = NO_MEMO, edition: Path | str | None = None) -> Loaded:
    """The validated guide, or ContentError listing every problem (warnings too if strict);
    `parsed` keeps each file's YAML nodes between builds; `edition`: a local edition's folder,
    laid over the content before it is validated (overlay.py)."""
    root = Path(root)
    out = Collector()
    if not root.is_dir():
        out.error(Pos(str(root)), "content folder not found", "pass --content DIR")
        raise ContentError(out.problems)
    raw = _read_all(root, out, parsed)
    overlay = read_overlay(Path(edition), out, parsed) if edition is not None else None
    parts = {name: _convert(raw.get(name), cls, out) for name, cls in COLLECTION_FILES.items()}
    items = {d: [_convert(f, cls, out) for f in _item_files(raw, d)] for d, cls in ITEM_DIRS.items()}
    items = {d: [i for i in lst if i is not None] for d, lst in items.items()}
    if overlay is not None:
        parts, items = apply(overlay, parts, items, out)
        raw = {**raw, **overlay.raw}
    for d in ITEM_DIRS:
        _check_stems(items[d], out)
    logo = _read_logo(parts["guide.yaml"], out) if parts.get("guide.yaml") is not None else b""
    content = _assemble(parts, items, raw, logo)
    if content is not None:
        _check_semantics(content, out)
    _check_refs(parts, items, _raw_ids(raw), out)
    errors = _has_errors(out)
    warnings = tuple(sorted(p for p in out.problems if p.severity == "warning"))
    if errors or (strict and warnings) or content is None:
        raise ContentError(out.problems)
    return Loaded(content, warnings)


def _has_errors(out: Collector) -> bool:
    return any(p.severity == "error" for p in out.problems)


def _read_all(root: Path, out: Collector, parsed: Memo) -> dict[str, RawFile]:
    raw = {}
    for name in COLLECTION_FILES:
        path = root / name
        if not path.exists() and not path.is_symlink():
            if name not in OPTIONAL_FILES:
                out.error(Pos(str(path)), f"missing content file {name}")
            continue
        raw[name] = read_yaml(path, root, out, parsed)
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in COLLECTION_FILES or entry.name in ITEM_DIRS:
            continue
        if entry.suffix in (".yaml", ".yml") or entry.is_dir():
            out.error(Pos(str(entry)), f"unknown content file '{entry.name}'", suggest(entry.name, [*COLLECTION_FILES, *ITEM_DIRS]))
    for d in ITEM_DIRS:
        folder = root / d
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            if path.suffix != ".yaml":
                out.error(Pos(str(path)), f"'{path.name}' is not a .yaml file", "name content files <id>.yaml")
                continue
            raw[f"{d}/{path.name}"] = read_yaml(path, root, out, parsed)
    return raw


def _item_files(raw: dict, folder: str) -> list:
    return [f for key, f in sorted(raw.items()) if key.startswith(folder + "/")]


def _convert(raw: RawFile | None, cls, out: Collector):
    if raw is None:
        return None
    value = Converter(raw.path, out).model(raw.node, cls, node_pos(raw.node, raw.path))
    return None if value is INVALID else value


def _check_stems(items: list, out: Collector) -> None:
    for item in items:
        stem = Path(item.loc.at.path).stem
        if item.id != stem:
            out.error(item.loc.of("id"), f"id '{item.id}' does not match the file name '{stem}.yaml'", f"rename the file to {item.id}.yaml or set id: {stem}")


def _read_logo(guide, out: Collector) -> bytes:
    """The PNG the guide's `logo` names, beside the file that names it (guide.yaml or an
    edition's edition.yaml); b"" when there is none or after recording what is wrong."""
    if not guide.logo:
        return b""
    where = guide.loc.of("logo")
    folder = Path(where.path).parent
    path = folder / guide.logo
    if not inside(path, folder):
        out.error(where, f"logo '{guide.logo}' is outside {folder.name}/", "put the logo beside the file that names it")
        return b""
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except OSError as exc:
        out.error(where, f"cannot read logo '{guide.logo}': {exc.strerror or exc}", "the path is relative to the file that names it")
        return b""
    if data is None or not data.startswith(PNG):
        out.error(where, f"logo '{guide.logo}' is not a PNG file of at most 1 MiB", "save the logo as PNG")
        return b""
    return data


def _assemble(parts: dict, items: dict, raw: dict, logo: bytes = b"") -> Content | None:
    if any(p is None for name, p in parts.items() if name not in OPTIONAL_FILES):
        return None
    glossary = parts["glossary.yaml"]
    digest = hashlib.sha256()
    for key in sorted(raw):
        if raw[key] is not None:
            digest.update(key.encode() + b"\0" + raw[key].digest_input + b"\0")
    if logo:
        digest.update(b"logo\0" + logo)
    return Content(
        guide=parts["guide.yaml"],
        categories=tuple(sorted(parts["categories.yaml"].categories, key=lambda c: (c.order, c.id))),
        actors=parts["actors.yaml"].actors,
        financing=parts["financing.yaml"].financing,
        offers=tuple(sorted((_with_defaults(o, parts["guide.yaml"].defaults) for o in items["offers"]), key=lambda o: o.id)),
        personas=tuple(sorted(items["personas"], key=lambda p: p.id)),
        terms=glossary.terms,
        cefr=glossary.cefr,
        sources=parts["sources.yaml"].sources,
        languages=parts["languages.yaml"] or NO_LANGUAGES,
        inputs_sha256=digest.hexdigest(),
        logo_png=logo,
    )


def _with_defaults(o: Offer, defaults: Defaults) -> Offer:
    """What a silent offer is taken to say, as the guide's defaults have it."""
    lang = o.language
    if defaults.language_requirement and not (lang.level or lang.note):
        lang = LanguageRequirement(note=defaults.language_requirement, loc=defaults.loc)
    return o if lang is o.language else dataclasses.replace(o, language=lang)


def _ids(parts: dict, items: dict) -> dict[str, list]:
    """Every converted item that has an id, by the reference kind that points at it."""
    out = {}
    for kind, (where, attr) in ID_SOURCES.items():
        part = parts.get(where)
        out[kind] = list(items[where]) if attr is None else list(getattr(part, attr)) if part is not None else []
    return out


def _raw_ids(raw: dict) -> dict[str, set[str]]:
    """Ids written in files that failed to convert, so one broken offer does not make every
    reference to it an error too."""
    ids: dict[str, set[str]] = defaultdict(set)
    for kind, (where, attr) in ID_SOURCES.items():
        for key, f in raw.items():
            node = getattr(f, "node", None)
            if attr is None and key.startswith(where + "/") and isinstance(node, dict):
                ids[kind].add(str(node.get("id")))
            elif key == where and isinstance(node, dict) and isinstance(node.get(attr), list):
                ids[kind].update(str(i.get("id")) for i in node[attr] if isinstance(i, dict))
    return ids


def _check_refs(parts: dict, items: dict, claimed: dict[str, set[str]], out: Collector) -> None:
    known = _ids(parts, items)
    for kind, things in known.items():
        seen: dict[str, Pos] = {}
        for t in sorted(things, key=lambda t: t.loc.at):
            if t.id in seen:
                out.error(t.loc.of("id"), f"duplicate {kind} id '{t.id}' (first defined at {seen[t.id]})")
            else:
                seen[t.id] = t.loc.of("id")
    ids = {kind: {t.id for t in things} for kind, things in known.items()}
    for use in out.refs:
        if use.value not in ids[use.kind] | claimed[use.kind]:
            out.error(use.pos, f"unknown {use.kind} '{use.value}'", suggest(use.value, ids[use.kind]))


def _check_semantics(c: Content, out: Collector) -> None:
    cats = {cat.id: cat for cat in c.categories}
    for o in c.offers:
        _check_offer(o, cats, out)
    for p in c.personas:
        _check_journey(p, out)
    _check_cefr(c, out)
    _check_output_names(c.personas, out)
    _check_source_sections(c, out)
    _check_translations(c, out)
    visited = {oid for p in c.personas for ph in p.journey for oid in ph.offers}
    reachable = _reachable(c, visited)
    for o in c.offers:
        if o.id not in reachable and o.kind == "offer":
            out.warning(o.loc.of("id"), f"offer '{o.id}' is not on any persona's journey nor reachable through leads_to from one")
    for link in _all_links(c):
        if link.owner is None:
            out.warning(link.loc.at, f"link '{link.title}' has no owner", "add owner: <actor id>")


def _check_offer(o: Offer, cats: dict, out: Collector) -> None:
    cat = cats.get(o.category)
    if cat is None:
        return  # reported as an unknown reference
    groups = [g.id for g in cat.groups]
    if o.group and o.group not in groups:
        out.error(o.loc.of("group"), f"unknown group '{o.group}' in category '{cat.id}'", suggest(o.group, groups) or f"groups: {', '.join(groups) or 'none'}")
    if groups and not o.group:
        out.error(o.loc.at, f"missing field 'group': category '{cat.id}' has groups", f"one of: {', '.join(groups)}")
    if o.holds and o.kind != "programme":
        out.error(o.loc.of("holds"), "only programmes (kind: programme) can hold offers from other categories")
    for name in ("combines_with", "leads_to"):
        if o.id in getattr(o, name):
            out.error(o.loc.of(name), f"offer '{o.id}' lists itself in {name}")
        dupes = [k for k, n in Counter(getattr(o, name)).items() if n > 1]
        for d in dupes:
            out.error(o.loc.of(name), f"'{d}' appears twice in {name}")


def _check_journey(p: Persona, out: Collector) -> None:
    prev = None
    for i, ph in enumerate(p.journey, 1):
        if ph.end_month < ph.start_month:
            out.error(ph.loc.of("end_month"), f"phase {i} ends (month {ph.end_month}) before it starts (month {ph.start_month})")
        if ph.start_month < 0:
            out.error(ph.loc.of("start_month"), "months count from 0, the start of the journey")
        if prev is not None and ph.start_month < prev.start_month:
            message = f"phase {i} starts (month {ph.start_month}) before phase {i - 1} (month {prev.start_month})"
            out.error(ph.loc.of("start_month"), message, "list phases in time order")
        if prev is not None and not prev.transition.strip():
            out.warning(prev.loc.at, f"phase {i - 1} of '{p.id}' has no transition note", "say what happens in the move to the next phase")
        prev = ph


def _check_output_names(personas, out: Collector) -> None:
    """A persona id must not be the name of a file made for something else: the build would
    refuse to write it twice (or overwrite one output with another)."""
    taken = {stem: f"the {what}" for stem, what in shared_stems().items()}
    for p in personas:
        taken |= {stem: f"{p.id}'s {what}" for stem, what in persona_stems(p.id).items() if stem != p.id}
    for p in sorted(personas, key=lambda p: p.loc.at):
        if p.id in taken:
            out.error(p.loc.of("id"), f"persona id '{p.id}' is the file name of {taken[p.id]} (journeys/{p.id}.svg)",
                      "choose another id; the journeys are written as <id>.svg, <id>-rute.svg and alle-reiser.svg")


def _check_cefr(c: Content, out: Collector) -> None:
    seen = defaultdict(list)
    for lvl in c.cefr:
        seen[lvl.level].append(lvl)
    for level, entries in seen.items():
        for dup in entries[1:]:
            out.error(dup.loc.of("level"), f"CEFR level {level} is described twice")


def _check_source_sections(c: Content, out: Collector) -> None:
    """A cited section must exist in a source that lists its sections: a typo or a section
    number from another report would send readers to the wrong place."""
    sections = {s.id: s.sections for s in c.sources if s.sections}
    for item in (*c.offers, *c.financing, *c.languages.requirements):
        for ref in item.sources:
            known = sections.get(ref.ref)
            if not known or ref.section in known:
                continue
            listed = f"sections: {', '.join(known)}"
            if ref.section:
                message = f"unknown section '{ref.section}' of source '{ref.ref}' (not listed in sources.yaml)"
                out.error(ref.loc.of("section"), message, suggest(ref.section, known) or listed)
            else:
                out.error(ref.loc.at, f"missing section: source '{ref.ref}' lists its sections", listed)


def _check_translations(c: Content, out: Collector) -> None:
    described = {lvl.level for lvl in c.cefr}
    first: dict[str, CefrTranslation] = {}
    for t in c.languages.translations:
        if t.lang in first:
            out.error(t.loc.of("lang"), f"a second translation into '{t.lang}' (first at {first[t.lang].loc.of('lang')})")
        first.setdefault(t.lang, t)
        _check_review(t.review, out)
        _check_direction(t, out)
        seen: set[str] = set()
        for lvl in t.levels:
            if lvl.level in seen:
                out.error(lvl.loc.of("level"), f"CEFR level {lvl.level} is described twice in '{t.lang}'")
            elif lvl.level not in described:
                message = f"CEFR level {lvl.level} is translated but not described in glossary.yaml"
                out.error(lvl.loc.of("level"), message, "describe it in Norwegian first: the translation follows the original")
            seen.add(lvl.level)


def _check_review(r: Review, out: Collector) -> None:
    """A translation is presented as reviewed only with a named reviewer and a date."""
    if r.status != "reviewed":
        return
    if not r.reviewer.strip():
        out.error(r.loc.of("status"), "a reviewed translation needs the reviewer's name", "add reviewer: <name>, or set status: draft")
    if r.date is None:
        out.error(r.loc.of("status"), "a reviewed translation needs the date it was reviewed", "add date: YYYY-MM-DD, or set status: draft")


def _check_direction(t: CefrTranslation, out: Collector) -> None:
    """Arabic-script text marked left to right would print its sentences back to front."""
    text = t.title + t.intro + "".join(lvl.description for lvl in t.levels)
    strong = [unicodedata.bidirectional(ch) for ch in text if unicodedata.bidirectional(ch) in ("L", "R", "AL")]
    rtl = sum(1 for b in strong if b != "L") > len(strong) / 2
    if rtl and t.dir != "rtl":
        out.error(t.loc.of("dir"), f"'{t.lang}' is written right to left but its dir is '{t.dir}'", "set dir: rtl")
    elif not rtl and t.dir == "rtl":
        out.error(t.loc.of("dir"), f"'{t.lang}' is written left to right but its dir is 'rtl'", "set dir: ltr")


def _reachable(c: Content, start: set[str]) -> set[str]:
    by_id = {o.id: o for o in c.offers}
    seen, todo = set(), list(start)
    while todo:
        oid = todo.pop()
        if oid in seen or oid not in by_id:
            continue
        seen.add(oid)
        todo.extend(by_id[oid].leads_to)
    return seen


def _all_links(c: Content):
    for item in (*c.offers, *c.financing, *c.terms, *c.languages.requirements):
        yield from item.links
