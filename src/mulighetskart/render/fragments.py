"""CMS fragment package: one HTML fragment per item, a manifest, illustrations, a changelog.

Three steps: draw the illustrations (through the map and journey contracts), plan the
package (items, slugs, relations, HTML, manifest, changelog: pure, it writes nothing and
reads only the templates), write it.
Every fragment is passed through the allowlist of its HTML profile (markup.py; `strict`
unless layouts/theme.yaml says `rich`) as its last step, so whatever the templates or the
content hold, only HTML a strict CMS editor keeps as it is leaves this module.

One path convention everywhere in the package: every path (manifest `file`, asset `file`,
`href` of a link between fragments, `src` of an image) is relative to the package root, so
an importer rewrites each with one exact-match lookup in the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, field, fields, replace
from functools import cache, cached_property, partial
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from .. import __version__
from ..content.fields import ID_PATTERN, Doc, Loc, MaxLen, MinLen, located
from ..content.model import Content
from ..errors import BuildError, ContentError, Problem
from ..layout.journey import span_label
from ..markup import PROFILES, Profile, markdown_html, sanitise
from ..memo import NO_MEMO, Memo
from ..publish import Writer, hash_tree, json_bytes
from ..target import Job, Target
from ..theme import Theme
from .changelog import Changes, Previous, changelog_doc, compare, dated, read_previous, summary_text, tombstones
from .journeys import Drawings
from .map_svg import map_svg
from .preview import PreviewStyle, sections_by_heading, site_files
from .rasterise import svg_to_png

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "manifest.schema.json"
TYPES = ("category", "offer", "persona", "financing", "page")
MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
WEB_SCHEMES = ("http", "https", "mailto")
CHANGELOG_WORDS = ("line", "changed", "added_one", "added_many", "removed", "assets", "nothing", "first")

Slug = Annotated[str, ID_PATTERN]
Text = Annotated[str, MinLen(1)]


# ---- the theme section (layouts/theme.yaml, targets.fragments) ----

@dataclass(frozen=True)
class PageSpec:
    slug: Slug
    title: Text
    summary: Annotated[Text, MaxLen(200)]
    loc: Loc = located()


@dataclass(frozen=True)
class Pages:
    about: PageSpec
    map: PageSpec
    journeys: PageSpec
    cefr: PageSpec
    requirements: PageSpec
    glossary: PageSpec
    loc: Loc = located()


@dataclass(frozen=True)
class Illustration:
    name: Annotated[Text, Doc("file name stem; {persona} is the persona id")]
    alt: Annotated[Text, Doc("alternative text; {name} is the persona's name")]
    caption: str
    width_px: Annotated[int, Doc("width of the PNG version")]
    loc: Loc = located()


@dataclass(frozen=True)
class Illustrations:
    map: Illustration
    timeline: Illustration
    route: Illustration
    loc: Loc = located()


@dataclass(frozen=True)
class FragmentsStyle:
    fragment_url: Annotated[Text, Doc("where a fragment goes, with {type} and {slug}")]
    asset_url: Annotated[Text, Doc("where an illustration goes, with {name}, {hash} and {ext}")]
    hash_length: Annotated[int, Doc("hex digits of the content hash in asset names")]
    package_name: Slug
    pages: Pages
    illustrations: Illustrations
    types: Annotated[dict[str, str], Doc("Norwegian name of each item type")]
    labels: Annotated[dict[str, str], Doc("wording inside fragments and the preview")]
    changelog: Annotated[dict[str, str], Doc("wording of the one-line change summary")]
    preview_regions: Annotated[dict[str, tuple[str, ...]], Doc("preview: the region of each h2 section, by its label key (key_facts, listing, related)")]
    profile: Annotated[Literal["strict", "rich"], Doc("HTML profile: strict (what a strict CMS editor keeps) or rich (tables, dl, ids)")] = "strict"
    loc: Loc = located()

    @property
    def html(self) -> Profile:
        return PROFILES[self.profile]


def style_problems(style: FragmentsStyle) -> list[Problem]:
    """What the converter cannot see: placeholders in patterns, every type named, counts."""
    problems = []
    need = {"fragment_url": ("{type}", "{slug}"), "asset_url": ("{name}", "{hash}", "{ext}")}
    for name, parts in need.items():
        value = getattr(style, name)
        missing = [p for p in parts if p not in value]
        if missing or value.startswith(("/", "..")) or "/../" in value:
            problems.append(Problem(style.loc.of(name), f"'{value}' must be a relative path with {', '.join(parts)}"))
    if not style.fragment_url.endswith(".html"):
        problems.append(Problem(style.loc.of("fragment_url"), "fragment files must end in .html"))
    if not 8 <= style.hash_length <= 64:
        problems.append(Problem(style.loc.of("hash_length"), "hash_length must be between 8 and 64"))
    for t in TYPES:
        if t not in style.types:
            problems.append(Problem(style.loc.of("types"), f"no name for the item type '{t}'"))
    for section, keys in (("changelog", CHANGELOG_WORDS), ("labels", ("persona_title",))):
        problems += [Problem(style.loc.of(section), f"missing wording '{k}'") for k in keys if k not in getattr(style, section)]
    return problems


# ---- what flows between the steps ----

@dataclass(frozen=True)
class Generator:
    name: str
    version: str
    commit: str


@dataclass(frozen=True)
class Asset:
    """One illustration file: the SVG or the PNG of a map, timeline or route."""

    owner: str  # item id
    role: str  # map | timeline | route
    file: str
    media_type: str
    alt: str
    caption: str
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Stub:
    """An item before its HTML: identity, place in the tree and relations."""

    id: str
    type: str
    slug: str
    title: str
    summary: str
    file: str
    parent: str | None
    order: int
    relations: tuple[str, ...]
    template: str
    source: object = field(repr=False, compare=False)  # the content item (None for pages)
    language: str = ""  # the item's own language, when not the guide's (a translation)
    dir: str = "ltr"


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    target: str | None = None  # item id for cross-links


@dataclass(frozen=True)
class Fragment:
    stub: Stub
    html: str
    links: tuple[Link, ...]
    cross_links: tuple[Link, ...]
    assets: tuple[Asset, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.html.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Package:
    files: tuple[tuple[str, bytes], ...]
    fragments: tuple[Fragment, ...]
    changes: Changes
    summary: str


# ---- the target ----

def run(job: Job, out: Writer) -> None:
    style: FragmentsStyle = job.theme.section("fragments")
    previous = read_previous(job.since or job.previous)
    assets = (job.same_inputs and kept_assets(job.previous)) or draw_assets(job.content, job.theme, style, job.memo)
    schema = (job.theme.layouts / "fragments" / SCHEMA_FILE).read_bytes()
    package = plan_package(job.content, job.theme, style, assets, schema, previous, job.date.isoformat(), generator(), job.memo)
    for path, data in package.files:
        out.write(path, data)


# Not cached between builds: the changelog depends on the previous output.
TARGET = Target(name="fragments", style=FragmentsStyle, run=run, cacheable=False, uses=("map", "journeys"),
                check=lambda content, theme: style_problems(theme.section("fragments")))


@cache  # git is asked once per process: the checkout does not change during a build
def generator() -> Generator:
    """This program and the commit it was built from (HEAD of its checkout; stable for one checkout)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=10, check=False)
        commit = done.stdout.strip() if done.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return Generator("mulighetskart", __version__, commit if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit) else "unknown")


# ---- step 1: illustrations, through the other targets' contracts ----

def draw_assets(content: Content, theme: Theme, style: FragmentsStyle, memo: Memo = NO_MEMO) -> tuple[Asset, ...]:
    spec = style.illustrations
    # SVGs one after the other ...
    drawn = [Drawn(f"page:{style.pages.map.slug}", "map", spec.map, {}, map_svg(content, theme, memo=memo))]
    journeys = Drawings(content, theme, memo)
    for p in content.personas:
        names = {"persona": p.id, "name": p.name}
        drawn.append(Drawn(f"persona:{p.id}", "timeline", spec.timeline, names, journeys.timeline_svg(p.id)))
        route = journeys.route(p.id)
        drawn.append(Drawn(f"persona:{p.id}", "route", spec.route, names, route.svg, route.png))
    # ... and the PNGs side by side: rsvg-convert runs in its own process.
    with ThreadPoolExecutor(max_workers=max(1, min(len(drawn), os.cpu_count() or 1))) as pool:
        pngs = list(pool.map(lambda d: (d.preview or partial(svg_to_png, d.svg))(d.spec.width_px, memo=memo), drawn))
    return tuple(a for d, png in zip(drawn, pngs, strict=True) for a in d.assets(style, png))


def kept_assets(folder: Path | None) -> tuple[Asset, ...] | None:
    """The illustrations of the last export, when it was made from the same inputs: drawing
    them again would give the same bytes. None when any file is missing or altered."""
    try:
        manifest = json.loads((folder / "manifest.json").read_bytes())
        kept = []
        for item in manifest["items"]:
            for a in item["assets"]:
                data = (folder / a["file"]).read_bytes()
                if hashlib.sha256(data).hexdigest() != a["sha256"]:
                    return None
                kept.append(Asset(item["id"], a["role"], a["file"], a["media_type"], a["alt"], a["caption"], data))
        return tuple(kept)
    except (OSError, TypeError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class Drawn:
    """An illustration as drawn, before it has its PNG and file names."""

    owner: str
    role: str
    spec: Illustration
    names: dict[str, str]
    svg: str = field(repr=False)
    preview: Callable[..., bytes] | None = field(default=None, repr=False)  # draws the PNG (width_px, memo) faster than from `svg`

    def assets(self, style: FragmentsStyle, png: bytes) -> list[Asset]:
        try:
            stem, alt, caption = (text.format_map(self.names) for text in (self.spec.name, self.spec.alt, self.spec.caption))
        except (KeyError, ValueError, IndexError) as exc:
            raise ContentError([Problem(self.spec.loc.at, f"unknown placeholder {exc} in the {self.role} illustration (use {{persona}} or {{name}})")]) from exc
        out = []
        for ext, data in (("svg", self.svg.encode("utf-8")), ("png", png)):
            digest = hashlib.sha256(data).hexdigest()[: style.hash_length]
            path = style.asset_url.format(name=slugify(stem), hash=digest, ext=ext)
            out.append(Asset(self.owner, self.role, path, MEDIA_TYPES[ext], alt, caption, data))
        return out


# ---- step 2: the plan (pure) ----

def plan_package(content: Content, theme: Theme, style: FragmentsStyle, assets: tuple[Asset, ...], schema: bytes,
                 previous: Previous | None, date: str, gen: Generator, memo: Memo = NO_MEMO) -> Package:
    """Every file of the package, from data only (it reads no file but the templates; `memo`
    keeps each fragment's HTML for a build of the same inputs, which only dates the changes)."""
    stubs = plan_stubs(content, style)
    env = environment(theme.layouts)
    site = Site(content, theme, style, stubs, assets)
    fragments = tuple(render_fragment(env, site, stub, memo) for stub in stubs)
    language = content.guide.language
    stamp = f"{date}T00:00:00Z"
    space = namespace(content.guide.url)
    records = [record(f, language, space) for f in fragments]
    changes = compare(records, previous)
    records = dated(records, previous, changes, stamp)
    export_id = f"{style.package_name}-{date.replace('-', '')}-{_digest(records)[:12]}"
    head = {"schema_version": SCHEMA_VERSION, "export_id": export_id, "generated_at": stamp}
    manifest = {
        "$schema": SCHEMA_FILE, **head,
        "generator": {"name": gen.name, "version": gen.version, "commit": gen.commit},
        "language": language,
        "title": content.guide.title,
        "items": records,
        "tombstones": tombstones(previous, changes, {r["id"] for r in records}, stamp),
    }
    summary = summary_text(changes, style.changelog)
    changelog = changelog_doc(changes, records, previous, head, summary)
    files = [(f.stub.file, f.html.encode("utf-8")) for f in fragments]
    files += sorted({(a.file, a.data) for a in assets})
    files += [
        ("manifest.json", _json(manifest)),
        (SCHEMA_FILE, schema),
        ("fragments.ndjson", ndjson(fragments, records)),
        ("changelog.json", json_bytes(changelog)),
        ("IMPORT.md", import_guide(env, style, fragments, json.loads(schema), manifest, summary).encode("utf-8")),
    ]
    labels = {**theme.labels, **style.labels}
    files += site_files(partial(render, env), PreviewStyle(labels, style.types, sections_by_heading(labels, style.preview_regions)), theme,
                        fragments, records, {"language": language, "guide_title": content.guide.title, "summary_text": summary, **head},
                        changes.removed, changes.status, memo)
    zip_name = f"{style.package_name}.zip"
    archive = zip_bytes(files, date)
    files += [(zip_name, archive), (f"{zip_name}.sha256", f"{hashlib.sha256(archive).hexdigest()}  {zip_name}\n".encode())]
    return Package(tuple(files), fragments, changes, summary)


def plan_stubs(content: Content, style: FragmentsStyle) -> tuple[Stub, ...]:
    """Every item in import order (parents before children), with its place in the tree."""
    pages = style.pages
    map_id = f"page:{pages.map.slug}"
    # a reference page only when content has one
    silent = {"cefr": not content.cefr, "glossary": not content.terms, "requirements": not content.languages.requirements}
    specs = [(f.name, getattr(pages, f.name)) for f in fields(Pages) if f.name != "loc" and not silent.get(f.name)]
    stubs = [_stub(style, "page", spec.slug, spec.title, spec.summary, None, i, (), f"page-{name}.html.j2", None) for i, (name, spec) in enumerate(specs)]
    categories = content.categories
    stubs += [_stub(style, "category", c.id, c.title, c.summary, map_id, i, (), "category.html.j2", c) for i, c in enumerate(categories)]
    for c in categories:
        stubs += [_stub(style, "offer", o.id, o.title, o.summary, f"category:{c.id}", i, offer_relations(o), "offer.html.j2", o)
                  for i, o in enumerate(content.offers_in(c.id))]
    cefr_id = f"page:{pages.cefr.slug}"
    stubs += [replace(_stub(style, "page", translation_slug(pages.cefr.slug, t.lang), t.title, "", cefr_id, i, (), "page-cefr-translation.html.j2", t),
                      language=t.lang, dir=t.dir) for i, t in enumerate(content.languages.translations)]
    home = next((f"category:{c.id}" for c in categories if c.zone == "livelihood"), map_id)
    stubs += [_stub(style, "financing", f.id, f.title, f.summary, home, i, (), "financing.html.j2", f) for i, f in enumerate(content.financing)]
    journeys, title = f"page:{pages.journeys.slug}", style.labels["persona_title"]
    stubs += [_stub(style, "persona", p.id, title.format(name=p.name), p.summary, journeys, i, persona_relations(p), "persona.html.j2", p)
              for i, p in enumerate(content.personas)]
    return tuple(stubs)


def _stub(style, type_, slug, title, summary, parent, order, relations, template, source) -> Stub:
    return Stub(f"{type_}:{slug}", type_, slug, title, summary, style.fragment_url.format(type=type_, slug=slug), parent, order, relations, template, source)


def translation_slug(cefr_slug: str, lang: str) -> str:
    return f"{cefr_slug}-{lang.lower()}"


def offer_relations(o) -> tuple[str, ...]:
    ids = [*(f"offer:{i}" for i in (*o.combines_with, *o.leads_to)), *(f"financing:{i}" for i in o.livelihood), *(f"category:{i}" for i in o.holds)]
    return tuple(dict.fromkeys(ids))


def persona_relations(p) -> tuple[str, ...]:
    ids = [f"offer:{o}" for ph in p.journey for o in ph.offers] + [f"financing:{f}" for ph in p.journey for f in ph.livelihood]
    return tuple(dict.fromkeys(ids))


def namespace(guide_url: str) -> uuid.UUID:
    """The namespace of every item uuid: the guide's own address, so two guides (or a local
    edition and the national guide) never share a uuid. Changing the address would make a
    CMS see every item as new."""
    return uuid.uuid5(uuid.NAMESPACE_URL, guide_url)


def item_uuid(item_id: str, space: uuid.UUID) -> str:
    return str(uuid.uuid5(space, item_id))


# ---- HTML ----

@cache  # compiled templates are kept; the loader still notices a changed file (auto_reload)
def environment(layouts: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(layouts) / "fragments"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["prefix"] = lambda item_id, kind: f"{kind}:{item_id}"
    return env


@dataclass(frozen=True)
class Site:
    """What templates may look up: items by id, labels, content, reverse relations."""

    content: Content
    theme: Theme
    style: FragmentsStyle
    stubs: tuple[Stub, ...]
    assets: tuple[Asset, ...]

    @property
    def by_id(self) -> dict[str, Stub]:
        return {s.id: s for s in self.stubs}

    @cached_property
    def key(self) -> str:
        """What every fragment's HTML is made from: the content, layouts/ (templates, labels,
        the theme) and the illustrations it shows."""
        digest = hashlib.sha256(self.content.inputs_sha256.encode())
        hash_tree(digest, self.theme.layouts)
        digest.update(repr(sorted((a.owner, a.role, a.file, a.alt, a.caption) for a in self.assets)).encode())
        return digest.hexdigest()

    def context(self, stub: Stub) -> dict:
        c, by_id = self.content, self.by_id
        cefr = {lvl.level: lvl.title for lvl in c.cefr}
        return {
            "content": c,
            "item": stub.source,
            "lb": {**self.theme.labels, **self.style.labels},
            "href": lambda target: by_id[target].file,
            "title": lambda target: by_id[target].title,
            "summary": lambda target: by_id[target].summary,
            "actor": c.actor,
            "source": c.source,
            "cefr": lambda level: f"{level} ({cefr[level]})" if level in cefr else level,
            "span": lambda phase: span_label(phase, self.theme),
            "md": partial(markdown, profile=self.style.html),
            "strict": self.style.html.name == "strict",
            "assets": [
                {"role": a.role, "src": a.file, "alt": a.alt, "caption": a.caption}
                for a in self.assets if a.owner == stub.id and a.media_type == "image/png"
            ],
            "categories": c.categories,
            "financing_ids": [f"financing:{f.id}" for f in c.financing],
            "persona_ids": [s.id for s in self.stubs if s.type == "persona"],
            "personas_with": lambda offer_id: [f"persona:{p.id}" for p in c.personas if any(offer_id in ph.offers for ph in p.journey)],
            "offers_using": lambda fin_id: [s.id for s in self.stubs if s.type == "offer" and fin_id in s.source.livelihood],
            "cefr_page": f"page:{self.style.pages.cefr.slug}",
            "translation_id": lambda t: f"page:{translation_slug(self.style.pages.cefr.slug, t.lang)}",
            "programmes_holding": lambda cat_id: [s.id for s in self.stubs if s.type == "offer" and cat_id in s.source.holds],
        }


def render(env: jinja2.Environment, template: str, context: dict, what: str) -> str:
    """A template's output; a mistake in it (an unknown label, say) is a BuildError naming the file."""
    try:
        return env.get_template(template).render(context)
    except (jinja2.TemplateError, KeyError, AttributeError) as exc:
        raise BuildError(f"layouts/fragments/{template}: {type(exc).__name__}: {exc} (while rendering {what})") from exc


def render_fragment(env: jinja2.Environment, site: Site, stub: Stub, memo: Memo = NO_MEMO) -> Fragment:
    def make() -> bytes:
        html = finish(render(env, stub.template, site.context(stub), stub.id), site.style.html)
        links, cross = classify_links(stub, html, {s.file: s.id for s in site.stubs}, {a.file for a in site.assets})
        return json.dumps([html, [astuple(x) for x in links], [astuple(x) for x in cross]]).encode("utf-8")

    html, links, cross = json.loads(memo.get("fragment", make, site.key, stub.id))
    return Fragment(stub, html, tuple(Link(*x) for x in links), tuple(Link(*x) for x in cross),
                    tuple(a for a in site.assets if a.owner == stub.id))


@cache  # one parser: it keeps no state between documents
def _heading_parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


def markdown(text: str, level: int, profile: Profile = PROFILES["rich"]) -> Markup:
    """Markdown for a spot under a heading of `level` (1 = the top): its first heading becomes level + 1."""
    levels = [int(t.tag[1]) for t in _heading_parser().parse(text or "") if t.type == "heading_open"]
    # Never shift up: markdown_html renames level by level, so h3→h2 would then go on to h1.
    # A first heading that sits too deep is lifted by relevel() instead.
    shift = max(0, level + 1 - min(levels)) if levels else 0
    return Markup(markdown_html(text or "", shift_headings=shift, profile=profile))


def finish(raw: str, profile: Profile = PROFILES["rich"]) -> str:
    """Sanitise with the profile's allowlist, fix heading levels (and ids, where the profile
    keeps them), drop blank lines."""
    html = relevel(sanitise(raw, profile), ids=profile.heading_ids)
    html = "\n".join(line for line in html.splitlines() if line.strip()) + "\n"
    if sanitise(html, profile) != html:  # a template or relevel() produced something nh3 would change
        raise BuildError("a fragment is not stable under the HTML allowlist; check the templates in layouts/fragments/")
    return html


_HEADING = re.compile(r"<h([1-6])(?:\s[^>]*)?>(.*?)</h\1>", re.S)
_TAG = re.compile(r"<[^>]+>")


def relevel(html: str, ids: bool = True) -> str:
    """Headings start at h2 and never skip a level (at most h4); with `ids`, each gets a unique id."""
    prev, used = 1, set()

    def fix(m: re.Match) -> str:
        nonlocal prev
        level = max(2, min(int(m[1]), prev + 1, 4))
        prev = level
        base = slugify(unescape(_TAG.sub("", m[2]))) or "avsnitt"
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        return f'<h{level} id="{anchor}">{m[2]}</h{level}>' if ids else f"<h{level}>{m[2]}</h{level}>"

    return _HEADING.sub(fix, html)


_NORDIC = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a", "–": "-", "—": "-"})


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.translate(_NORDIC)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


class _Refs(HTMLParser):
    """Collects <a href> with their text and <img src> from a fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.images: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href") is not None:
            self._open = [a["href"], ""]
        elif tag == "img":
            self.images.append(a.get("src") or "")

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append((self._open[0], " ".join(self._open[1].split())))
            self._open = None


def classify_links(stub: Stub, html: str, files: dict[str, str], asset_files: set[str]) -> tuple[tuple[Link, ...], tuple[Link, ...]]:
    """External links and cross-links (with their target ids); a package path to nothing is an
    error, and so is an image from outside the package (content.convert refuses those earlier)."""
    refs = _Refs()
    refs.feed(html)
    refs.close()
    external, cross = [], []
    for href, text in refs.links:
        if urlsplit(href).scheme in WEB_SCHEMES:
            external.append(Link(href, text))
            continue
        target = files.get(href)
        if target is None:
            raise BuildError(f"{stub.id}: the link '{href}' points to no fragment; write links in the content as full https:// addresses")
        cross.append(Link(href, text, target))
    for src in refs.images:
        if src not in asset_files:
            raise BuildError(f"{stub.id}: the image '{src}' is not part of the package; a fragment may only show the package's own illustrations")
    return tuple(dict.fromkeys(external)), tuple(dict.fromkeys(cross))


# ---- manifest, ndjson, preview, import guide, zip ----

def record(f: Fragment, language: str, space: uuid.UUID) -> dict:
    s = f.stub
    shown = set(images_in(f.html))
    return {
        "id": s.id, "uuid": item_uuid(s.id, space), "type": s.type, "slug": s.slug, "title": s.title, "summary": s.summary,
        "language": s.language or language, "dir": s.dir, "file": s.file, "sha256": f.sha256, "date_published": None, "date_modified": None,
        "parent": s.parent, "order": s.order, "relations": list(s.relations),
        "assets": [{"file": a.file, "media_type": a.media_type, "sha256": a.sha256, "role": a.role, "alt": a.alt, "caption": a.caption,
                    "embedded": a.file in shown} for a in f.assets],
        "links": [{"url": link.href, "text": link.text} for link in f.links],
        "cross_links": [{"href": link.href, "target": link.target, "text": link.text} for link in f.cross_links],
    }


def _json(data) -> bytes:
    """JSON in the order written (the manifest reads top-down), UTF-8, trailing newline."""
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def images_in(html: str) -> list[str]:
    refs = _Refs()
    refs.feed(html)
    refs.close()
    return refs.images


def _digest(records: list[dict]) -> str:
    stable = [{k: v for k, v in r.items() if k not in ("date_modified", "date_published")} for r in records]
    return hashlib.sha256(json.dumps(stable, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def ndjson(fragments: tuple[Fragment, ...], records: list[dict]) -> bytes:
    """One line per item, enough to import from alone: the manifest record with the HTML in it."""
    lines = []
    for f, r in zip(fragments, records, strict=True):
        at = list(r).index("file") + 1
        lines.append(json.dumps(dict([*list(r.items())[:at], ("html", f.html), *list(r.items())[at:]]), ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def standalone_page(layouts: Path, title: str, html: str, language: str = "nb", summary: str = "", dir: str = "ltr") -> str:
    """A fragment on its own page (<html lang dir>…<main><h1>), as a CMS would show it."""
    values = {"title": title, "summary": summary, "html": Markup(html), "language": language, "dir": dir}
    return render(environment(layouts), "wrapper.html.j2", values, title)


def import_guide(env, style: FragmentsStyle, fragments, schema: dict, manifest: dict, summary: str) -> str:
    def described(props: dict) -> list[tuple[str, str]]:
        return [(name, spec.get("description", "")) for name, spec in props.items() if spec.get("description")]

    example = next((f.stub.file for f in fragments if f.stub.type == "offer"), fragments[0].stub.file)
    return render(env, "IMPORT.md.j2", {
        "guide_title": manifest["title"], "export_id": manifest["export_id"], "generated_at": manifest["generated_at"], "summary_text": summary,
        "counts": f"{len(fragments)} fragmenter", "fragment_url": style.fragment_url, "example_file": example, "zip_name": f"{style.package_name}.zip",
        "top_fields": described(schema["properties"]), "item_fields": described(schema["$defs"]["item"]["properties"]),
        "asset_fields": described(schema["$defs"]["asset"]["properties"]), "allowed": allowed_html(style.html),
        "language": manifest["language"], "keeps_lang": "lang" in style.html.attributes.get("*", ()),
    }, "IMPORT.md")


def allowed_html(profile: Profile) -> str:
    """'`p`, `a` (med `href`), …' for IMPORT.md, from the profile itself."""
    def one(tag: str) -> str:
        attrs = sorted(profile.attributes.get(tag, ()))
        return f"`{tag}`" + (f" (med {' og '.join(f'`{a}`' for a in attrs)})" if attrs else "")

    names = [one(t) for t in sorted(profile.tags, key=lambda t: (t[0] != "p", t))]
    everywhere = sorted(profile.attributes.get("*", ()))
    anywhere = f", {' og '.join(f'`{a}`' for a in everywhere)} på alle elementer" if everywhere else ""
    return ", ".join(names[:-1]) + " og " + names[-1] + anywhere


def zip_bytes(files: list[tuple[str, bytes]], date: str) -> bytes:
    """A zip that is the same bytes for the same files: sorted entries, fixed time and modes."""
    year, month, day = (int(x) for x in date.split("-"))
    stamp = (max(year, 1980), month, day, 0, 0, 0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            # PNGs are compressed already: deflating them again costs time and saves nothing
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data, compresslevel=9)
    return buf.getvalue()
