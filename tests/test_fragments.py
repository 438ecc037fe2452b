"""CMS fragment package: one safe fragment per item, a manifest that validates and matches its
files, a changelog an importer can trust, and content that cannot inject markup."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
import shutil
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from mulighetskart.build import BuildOptions, build
from mulighetskart.cli import main
from mulighetskart.errors import BuildError, ContentError
from mulighetskart.markup import PROFILES, sanitise
from mulighetskart.render import fragments as fragments_target
from mulighetskart.render.changelog import Changes, Previous, read_previous, summary_text, tombstones
from mulighetskart.render.fragments import environment, finish, markdown, render

from .conftest import FIXTURE_CONTENT, LAYOUTS, SHIPPED_CONTENT

WORDS = {"line": "Fragmentpakken: {changes}", "changed": "{n} endret", "added_one": "{n} ny", "added_many": "{n} nye",
         "removed": "{n} fjernet", "nothing": "ingen endringer", "first": "{n} nye (første eksport)"}


def build_fragments(content: Path, out: Path, since: Path | None = None, clean: bool = False) -> Path:
    build(BuildOptions(content, LAYOUTS, out, only=("fragments",), jobs=1, since=since, clean=clean))
    return out / "fragments"


def later(monkeypatch, day: str) -> str:
    """Build as if on `day` (SOURCE_DATE_EPOCH); returns the manifest stamp for that day."""
    when = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(when.timestamp())))
    return f"{day}T00:00:00Z"


def load(folder: Path, name: str):
    return json.loads((folder / name).read_text(encoding="utf-8"))


def items(folder: Path) -> dict[str, dict]:
    return {i["id"]: i for i in load(folder, "manifest.json")["items"]}


def fragments(folder: Path) -> dict[str, str]:
    return {i["id"]: (folder / i["file"]).read_text(encoding="utf-8") for i in items(folder).values()}


class Elements(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def heading_levels(html: str) -> list[int]:
    return [int(tag[1]) for tag, _ in Elements(html).tags if re.fullmatch(r"h[1-6]", tag)]


def headings_ok(html: str) -> bool:
    """Start at h2, never skip a level going down, never below h4."""
    levels = heading_levels(html)
    return not levels or (levels[0] == 2 and max(levels) <= 4 and all(b <= a + 1 for a, b in itertools.pairwise(levels)))


STRICT = PROFILES["strict"]


def allowlisted(html: str) -> str:
    return sanitise(html, STRICT)


def copy_content(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    return content


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


_BUILT: dict[str, Path] = {}


def built(tmp_path_factory, name: str) -> Path:
    """The package of the fixture, hostile or shipped guide, built once per test session and
    shared with test_fragments_a11y.py (builds draw every illustration: seconds each).
    Tests must not change it; copy it first."""
    if name not in _BUILT:
        root = tmp_path_factory.mktemp(f"built-{name}")
        content = {"fixture": FIXTURE_CONTENT, "shipped": SHIPPED_CONTENT}.get(name) or hostile_content(root / "content")
        _BUILT[name] = build_fragments(content, root / "out")
    return _BUILT[name]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    return built(tmp_path_factory, "fixture")


@pytest.fixture
def rebuilt(package, tmp_path):
    """An output folder holding the fixture package, to build on top of."""
    out = tmp_path / "out"
    shutil.copytree(package.parent, out)
    return out


# ---- one fragment per item ----

def test_every_item_has_exactly_one_fragment(package, fixture_content):
    manifest = items(package)
    expected = ({f"category:{c.id}" for c in fixture_content.categories} | {f"offer:{o.id}" for o in fixture_content.offers}
                | {f"persona:{p.id}" for p in fixture_content.personas} | {f"financing:{f.id}" for f in fixture_content.financing})
    assert {i for i in manifest if not i.startswith("page:")} == expected
    files = [i["file"] for i in manifest.values()]
    assert len(files) == len(set(files))
    on_disk = {p.relative_to(package).as_posix() for p in package.glob("*/*.html") if p.parts[-2] != "preview"}
    assert on_disk == set(files), "a fragment file without a manifest item, or the other way round"
    assert manifest["offer:amo"]["file"] == "offer/amo.html"


def test_reference_pages_are_there(package):
    pages = {i["slug"] for i in items(package).values() if i["type"] == "page"}
    assert pages == {"om-veilederen", "mulighetskartet", "eksempelreiser", "sprakniva", "sprakkrav", "ordliste", "sprakniva-en", "sprakniva-ar"}
    cefr = (package / "page" / "sprakniva.html").read_text()
    assert "<li><strong>A2 (Grunnleggende)</strong>: " in cefr, "the level table is a list in the strict profile"
    glossary = (package / "page" / "ordliste.html").read_text()
    assert "<li><strong>Det felles europeiske rammeverket for språk (CEFR)</strong>: " in glossary


def test_cefr_translations_carry_their_language_direction_and_review_status(package):
    manifest = items(package)
    arabic, english = manifest["page:sprakniva-ar"], manifest["page:sprakniva-en"]
    assert (arabic["language"], arabic["dir"], arabic["parent"]) == ("ar", "rtl", "page:sprakniva")
    assert (english["language"], english["dir"]) == ("en", "ltr")
    assert manifest["offer:amo"]["language"] == "nb" and manifest["offer:amo"]["dir"] == "ltr"
    html = (package / arabic["file"]).read_text()
    # a strict editor drops lang and dir: the page takes them from the item, the HTML has none
    assert html.startswith("<p><strong>Utkast – ikke kvalitetssikret av oversetter</strong></p>\n") and " lang=" not in html
    assert "<li><strong>A1 – مبتدئ</strong>: " in html
    reviewed = (package / english["file"]).read_text()
    assert "Kvalitetssikret av oversetter: Kari Nordmann, 2021-05-02" in reviewed and "Utkast" not in reviewed
    cefr = (package / "page" / "sprakniva.html").read_text()
    assert '<a href="page/sprakniva-ar.html">العربية</a> (Arabisk, Utkast – ikke kvalitetssikret av oversetter)' in cefr


def test_requirements_page_lists_education_residence_and_every_offer(package, fixture_content):
    html = (package / "page" / "sprakkrav.html").read_text()
    assert "<li><strong>Universitet og høyskole</strong>: B2" in html
    assert "<li><strong>Statsborgerskap</strong>: Ikke ett fast nivå" in html
    assert all(f'<li><a href="offer/{o.id}.html">' in html for o in fixture_content.offers)
    assert "Reglene ble sist kontrollert 2021-05-01." in html


def test_ids_slugs_and_uuids_are_stable(package, tmp_path_factory):
    import uuid

    for item_id, item in items(package).items():
        kind, slug = item_id.split(":")
        assert (item["type"], item["slug"]) == (kind, slug)
        assert uuid.UUID(item["uuid"]).version == 5
    # The shipped guide keeps the uuids it always had (its url is the namespace that was fixed before).
    shipped = items(built(tmp_path_factory, "shipped"))
    assert shipped["offer:amo"]["uuid"] == "d010489c-2fb0-5331-a2a1-2064b9229243"
    before = uuid.uuid5(uuid.NAMESPACE_URL, "https://www.imdi.no/mulighetskart/")
    assert all(i["uuid"] == str(uuid.uuid5(before, i["id"])) for i in shipped.values())


def test_a_second_guide_gets_uuids_of_its_own(package, tmp_path_factory):
    """The fixture guide names itself in guide.yaml (url): none of its uuids is the shipped guide's,
    not even for the items both have (offer:amo, the reference pages)."""
    mine, shipped = items(package), items(built(tmp_path_factory, "shipped"))
    assert len(set(mine) & set(shipped)) > 5
    assert {i["uuid"] for i in mine.values()}.isdisjoint(i["uuid"] for i in shipped.values())


def test_tree_parents_come_first_and_orders_follow_the_map(package, fixture_content):
    manifest = load(package, "manifest.json")["items"]
    seen = set()
    for item in manifest:
        assert item["parent"] is None or item["parent"] in seen, f"{item['id']} comes before its parent"
        seen.add(item["id"])
    by_id = items(package)
    arbeid = [o.id for o in fixture_content.offers_in("arbeid")]
    assert [by_id[f"offer:{o}"]["order"] for o in arbeid] == list(range(len(arbeid)))
    assert by_id["offer:amo"]["parent"] == "category:arbeid"
    assert by_id["persona:amal"]["parent"] == "page:eksempelreiser"
    assert by_id["offer:amo"]["relations"] == ["offer:arbeidsrettet-norsk", "offer:arbeidstrening", "financing:tiltakspenger"]


# ---- the manifest and its files ----

def test_manifest_validates_against_its_schema(package):
    schema = load(package, "manifest.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    manifest = load(package, "manifest.json")
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(manifest)
    assert list(manifest)[:5] == ["$schema", "schema_version", "export_id", "generated_at", "generator"]
    assert manifest["generated_at"] == "2026-11-26T00:00:00Z" and manifest["language"] == "nb"
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", manifest["generator"]["commit"])


def test_a_broken_manifest_fails_the_schema(package):
    """The schema is strict enough to catch an importer-breaking mistake."""
    schema = load(package, "manifest.schema.json")
    manifest = load(package, "manifest.json")
    manifest["items"][0]["id"] = "amo"  # not namespaced
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, schema)


def test_every_sha256_matches_its_file(package):
    for item in items(package).values():
        assert hashlib.sha256((package / item["file"]).read_bytes()).hexdigest() == item["sha256"], item["file"]
        for asset in item["assets"]:
            data = (package / asset["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == asset["sha256"], asset["file"]
    (line,) = (package / "mulighetskart-fragmenter.zip.sha256").read_text().splitlines()
    digest, name = line.split("  ")
    assert hashlib.sha256((package / name).read_bytes()).hexdigest() == digest


def test_ndjson_is_enough_to_import_from(package):
    """Each line is the item's whole manifest record with its HTML: slug, parent, order, title,
    summary, links, assets with alt and caption."""
    lines = (package / "fragments.ndjson").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    manifest = items(package)
    assert [r["id"] for r in records] == list(manifest)
    for r in records:
        assert {k: v for k, v in r.items() if k != "html"} == manifest[r["id"]]
        assert {"slug", "parent", "order", "title", "summary", "html", "links", "cross_links", "assets"} <= set(r)
        assert r["html"] == (package / manifest[r["id"]]["file"]).read_text(encoding="utf-8")
        assert hashlib.sha256(r["html"].encode()).hexdigest() == r["sha256"] == manifest[r["id"]]["sha256"]


def test_zip_holds_the_package_deterministically(package):
    with zipfile.ZipFile(package / "mulighetskart-fragmenter.zip") as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {(2026, 11, 26, 0, 0, 0)}
        expected = {p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file() and "zip" not in p.name}
        assert set(names) == expected
        assert all(zf.read(n) == (package / n).read_bytes() for n in names)


def test_assets_are_content_hashed_svg_and_png_with_alt_text(package, fixture_content):
    manifest = items(package)
    roles = {("page:mulighetskartet", "map")} | {(f"persona:{p.id}", r) for p in fixture_content.personas for r in ("timeline", "route")}
    found = set()
    for item in manifest.values():
        for asset in item["assets"]:
            found.add((item["id"], asset["role"]))
            data = (package / asset["file"]).read_bytes()
            assert asset["file"].split(".")[-2] == asset["sha256"][:12]
            assert asset["alt"].strip() and asset["caption"].strip()
            if asset["media_type"] == "image/png":
                assert data.startswith(b"\x89PNG")
            else:
                assert b"<svg" in data
        kinds = sorted(a["media_type"] for a in item["assets"])
        assert kinds == sorted(["image/png", "image/svg+xml"] * (len(kinds) // 2))
    assert found == roles
    amal = (package / "persona" / "amal.html").read_text()
    pngs = [a for a in manifest["persona:amal"]["assets"] if a["media_type"] == "image/png"]
    assert all(f'<img src="{a["file"]}" alt="{a["alt"]}" />' in amal for a in pngs), "package paths, closed like XHTML"
    assert all(a["embedded"] == (a["media_type"] == "image/png") for a in manifest["persona:amal"]["assets"])


def test_cross_links_are_package_paths_listed_with_their_target(package):
    """One path convention: a link between fragments is the target's manifest `file`, an image's
    src is its asset's `file`, both relative to the package root."""
    manifest = items(package)
    by_file = {i["file"]: i["id"] for i in manifest.values()}
    asset_files = {a["file"] for i in manifest.values() for a in i["assets"]}
    for item in manifest.values():
        html = (package / item["file"]).read_text()
        listed = {(c["href"], c["target"]) for c in item["cross_links"]}
        for tag, attrs in Elements(html).tags:
            if tag == "img":
                assert attrs["src"] in asset_files and (package / attrs["src"]).is_file(), f"{item['id']}: {attrs['src']}"
            href = attrs.get("href")
            if tag != "a" or href is None or href.startswith(("https:", "http:", "mailto:")):
                continue
            assert (href, by_file[href]) in listed, f"{item['id']}: {href} not listed"
        assert {link["url"] for link in item["links"]} <= {a.get("href") for t, a in Elements(html).tags if t == "a"}
    amo = {(c["href"], c["target"]) for c in manifest["offer:amo"]["cross_links"]}
    assert {("category/arbeid.html", "category:arbeid"), ("offer/arbeidstrening.html", "offer:arbeidstrening")} <= amo


# ---- the HTML itself ----

def test_fragments_keep_to_the_strict_profile(package):
    """p, h2–h4, ul, ol, li, a[href], strong, em, br, img[src alt] and nothing else; no heading ids."""
    assert STRICT.tags == {"p", "h2", "h3", "h4", "ul", "ol", "li", "a", "strong", "em", "br", "img"}
    for item_id, html in fragments(package).items():
        assert allowlisted(html) == html, item_id
        for tag, attrs in Elements(html).tags:
            assert tag in STRICT.tags, f"{item_id}: <{tag}>"
            assert set(attrs) <= STRICT.attributes.get(tag, set()), f"{item_id}: <{tag} {attrs}>"
        assert "<img" not in html or re.search(r"<img [^>]*[^/]>", html) is None, f"{item_id}: an img without its closing slash"


def test_the_rich_profile_keeps_tables_and_definition_lists(tmp_path):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    shutil.copytree(LAYOUTS.parent / "fonts", tmp_path / "fonts")
    edit(layouts / "theme.yaml", "    profile: strict\n", "    profile: rich\n")
    build(BuildOptions(FIXTURE_CONTENT, layouts, tmp_path / "out", only=("fragments",), jobs=1))
    folder = tmp_path / "out" / "fragments"
    assert '<th scope="row">A2</th><td>Grunnleggende</td>' in (folder / "page" / "sprakniva.html").read_text()
    amo = (folder / "offer" / "amo.html").read_text()
    assert amo.startswith('<h2 id="nokkelinformasjon">Nøkkelinformasjon</h2>\n<dl>\n<dt>Kategori</dt>')
    # the rich profile keeps lang and dir: the Norwegian lines of a translation say so
    arabic = (folder / "page" / "sprakniva-ar.html").read_text()
    assert '<p lang="nb" dir="ltr"><strong>Utkast – ikke kvalitetssikret av oversetter</strong></p>' in arabic and "<dt>A1 – مبتدئ</dt>" in arabic
    cefr = (folder / "page" / "sprakniva.html").read_text()
    assert '<a href="page/sprakniva-ar.html" lang="ar" dir="rtl">العربية</a>' in cefr
    assert '<tr><th scope="row">Universitet og høyskole</th><td>B2</td>' in (folder / "page" / "sprakkrav.html").read_text()


def test_headings_start_at_h2_and_never_skip(package):
    for item_id, html in fragments(package).items():
        assert headings_ok(html), f"{item_id}: {heading_levels(html)}"


def test_offer_fragments_carry_key_information(package, fixture_content):
    for offer in fixture_content.offers:
        html = (package / "offer" / f"{offer.id}.html").read_text()
        assert html.startswith("<h2>Nøkkelinformasjon</h2>\n<ul>\n<li><strong>Kategori</strong>: ")
        for label in ("Målgruppe", "Ansvarlig", "Rettigheter", "Språkkrav", "Varighet"):
            assert f"<li><strong>{label}</strong>: " in html, (offer.id, label)
    amo = (package / "offer" / "amo.html").read_text()
    assert "<li><strong>Språkkrav</strong>: A2 (Grunnleggende). Testnotat om språkkrav.</li>" in amo


@pytest.mark.parametrize(("body", "level", "expected"), [
    ("# En\n\n## To", 2, [2, 3, 4]),  # under an h2 section
    ("### Dypt\n\n#### Dypere", 1, [2, 3]),  # at the top: lifted to h2, no gap
    ("## A\n\n#### Hopper over\n\n## B", 1, [2, 3, 2]),  # a skipped level is closed
])
def test_markdown_headings_fit_where_they_are_placed(body, level, expected):
    section = "<h2>Om tilbudet</h2>\n" if level == 2 else ""
    assert heading_levels(finish(section + str(markdown(body, level)))) == expected


def test_a_template_mistake_is_a_build_error(tmp_path):
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "offer.html.j2").write_text("<p>{{ lb.no_such_label }}</p>")
    with pytest.raises(BuildError, match=r"layouts/fragments/offer\.html\.j2: UndefinedError: .*no_such_label.* \(while rendering offer:amo\)"):
        render(environment(tmp_path), "offer.html.j2", {"lb": {}}, "offer:amo")


def test_goldens(package, golden):
    """Fragment structure and manifest shape; hashes of other targets' pictures are masked."""
    def mask(text: str) -> str:
        text = re.sub(r"\.[0-9a-f]{12}\.(svg|png)", r".HASH.\1", text)
        text = re.sub(r'"[0-9a-f]{64}"', '"SHA256"', text)
        text = re.sub(r'"commit": "[^"]*"', '"commit": "COMMIT"', text)
        return re.sub(r"(mulighetskart-fragmenter-\d{8})-[0-9a-f]{12}", r"\1-EXPORT", text)

    for name in ("offer/amo.html", "category/arbeid.html", "persona/amal.html", "financing/tiltakspenger.html",
                 "page/mulighetskartet.html", "page/om-veilederen.html", "page/sprakkrav.html", "page/sprakniva-ar.html", "manifest.json"):
        golden(f"fragments/{name.replace('/', '-')}", mask((package / name).read_text(encoding="utf-8")))


def test_import_guide_is_norwegian_and_lists_the_fields(package):
    text = (package / "IMPORT.md").read_text()
    assert text.startswith("# Slik importerer du fragmentpakken")
    for field in ("`id`", "`uuid`", "`sha256`", "`date_modified`", "`date_published`", "`cross_links`", "`tombstones`", "`embedded`"):
        assert field in text
    assert "mulighetskart-fragmenter.zip" in text
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert {"Slik anbefaler vi å sette det opp", "Import i to omganger", "Fjernede elementer", "Én regel for stier"} <= set(sections)
    assert "**Første omgang: opprett og oppdater sidene.**" in text and "**Andre omgang: lenker og bilder.**" in text
    assert "`preview/index.html`" in text
    assert "`p`, `a` (med `href`)" in text and "`img` (med `alt` og `src`)" in text and "`table`" not in text


# ---- rebuilds and the changelog ----

def test_first_export_reports_everything_new(package):
    log = load(package, "changelog.json")
    assert log["previous_export_id"] is None
    assert len(log["added"]) == len(items(package)) and not log["changed"] and not log["removed"]


def test_unchanged_rebuild_reports_nothing_and_keeps_dates(package, rebuilt):
    # Backdate the previous export, so a kept date cannot be mistaken for a recomputed one.
    manifest = load(rebuilt / "fragments", "manifest.json")
    for item in manifest["items"]:
        item["date_modified"] = "2020-01-01T00:00:00Z"
    (rebuilt / "fragments" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    folder = build_fragments(FIXTURE_CONTENT, rebuilt)
    log = load(folder, "changelog.json")
    assert (log["added"], log["changed"], log["removed"]) == ([], [], [])
    assert log["unchanged"] == list(items(package))
    assert log["summary_text"] == "Fragmentpakken: ingen endringer"
    assert log["previous_export_id"] == manifest["export_id"]
    assert {r["date_modified"] for r in items(folder).values()} == {"2020-01-01T00:00:00Z"}
    # Same input, same bytes: every fragment and illustration.
    same = [p.relative_to(package).as_posix() for p in package.rglob("*")
            if p.is_file() and p.parent.name != "fragments" and p.relative_to(package).parts[0] != "preview"]
    assert same and [name for name in same if (folder / name).read_bytes() != (package / name).read_bytes()] == []


def test_same_inputs_reuse_the_drawn_illustrations_unless_altered(package, rebuilt, monkeypatch):
    """A rebuild from unchanged inputs keeps the illustrations the last export drew (the
    no-op build is fast); a kept file that was altered is drawn again, not trusted, and
    --clean draws them all again."""
    drawn = []
    real = fragments_target.draw_assets
    monkeypatch.setattr(fragments_target, "draw_assets", lambda *args: drawn.append(1) or real(*args))
    folder = build_fragments(FIXTURE_CONTENT, rebuilt)
    assert drawn == []
    assets = sorted(p.relative_to(package).as_posix() for p in (package / "assets").iterdir())
    assert assets and all((folder / a).read_bytes() == (package / a).read_bytes() for a in assets)
    (folder / assets[0]).write_bytes(b"altered")
    folder = build_fragments(FIXTURE_CONTENT, rebuilt)
    assert drawn == [1] and (folder / assets[0]).read_bytes() == (package / assets[0]).read_bytes()
    build_fragments(FIXTURE_CONTENT, rebuilt, clean=True)
    assert drawn == [1, 1]


def test_editing_one_offer_title_reports_that_offer_changed(package, tmp_path, monkeypatch):
    """Through the CLI, compared with the first export's zip (--since), into a new folder."""
    content = copy_content(tmp_path)
    edit(content / "offers" / "amo.yaml", "title: Arbeidsmarkedskurs (AMO)\n", "title: Arbeidsmarkedskurs for voksne (AMO)\n")
    stamp = later(monkeypatch, "2027-01-15")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", "--content", str(content), "--layouts", str(LAYOUTS), "--out", str(out), "--only", "fragments",
                                       "--jobs", "1", "--since", str(package / "mulighetskart-fragmenter.zip")])
    assert result.exit_code == 0, result.output
    folder = out / "fragments"
    log = load(folder, "changelog.json")
    changed = {c["id"]: c["fields"] for c in log["changed"]}
    assert "title" in changed["offer:amo"]
    assert log["added"] == [] and log["removed"] == []
    # Pages that only mention other things stay untouched and keep their date.
    assert "financing:introduksjonsstonad" in log["unchanged"] and "page:sprakniva" in log["unchanged"]
    now, before = items(folder), items(package)
    assert now["offer:amo"]["date_modified"] == stamp
    assert now["financing:introduksjonsstonad"]["date_modified"] == before["financing:introduksjonsstonad"]["date_modified"]
    assert now["offer:amo"]["uuid"] == before["offer:amo"]["uuid"]
    assert re.fullmatch(r"Fragmentpakken: \d+ endret, \d+ bildefiler endret", log["summary_text"])
    assert log["summary_text"] in result.output.splitlines(), "the CLI prints the one-line summary"


def imported(folder: Path) -> dict[str, tuple]:
    """What an editor imports per item: its HTML, its fields, the bytes of the images it shows."""
    out = {}
    for item_id, item in items(folder).items():
        fields = {k: v for k, v in item.items() if k not in ("date_modified", "date_published", "assets", "sha256")}
        shown = [(folder / a["file"]).read_bytes() for a in item["assets"] if a["embedded"]]
        out[item_id] = ((folder / item["file"]).read_bytes(), json.dumps(fields, sort_keys=True), shown)
    return out


def test_editing_one_summary_changes_exactly_what_an_editor_reimports(package, rebuilt, tmp_path, monkeypatch):
    """The summary of an offer is in its own record, its category's teaser list and the pictures
    of the map and routes (the fixture draws summaries): exactly those items are changed.
    date_modified moves on the changed items and only there, even when the export date stays
    the same; date_published never moves."""
    content = copy_content(tmp_path)
    amo = (content / "offers" / "amo.yaml").read_text(encoding="utf-8")
    old = re.search(r"^summary: (.*)$", amo, re.M)[1]
    edit(content / "offers" / "amo.yaml", f"summary: {old}\n", "summary: Kurs fra NAV som gir kvalifikasjoner arbeidsgivere etterspør.\n")
    folder = build_fragments(content, rebuilt)  # same build date as the first export
    log = load(folder, "changelog.json")
    before, after = imported(package), imported(folder)
    really = {i for i in after if after[i] != before[i]}
    assert {"offer:amo", "category:arbeid"} <= really
    assert {c["id"] for c in log["changed"]} == really
    assert log["added"] == [] and log["removed"] == []
    old_items, new_items = items(package), items(folder)
    moved = {i for i in new_items if new_items[i]["date_modified"] != old_items[i]["date_modified"]}
    assert moved == really and all(new_items[i]["date_modified"] > old_items[i]["date_modified"] for i in moved)
    assert all(new_items[i]["date_published"] == old_items[i]["date_published"] for i in new_items)
    svgs = {(a["owner"], a["media_type"]) for a in log["assets"]}
    assert ("page:mulighetskartet", "image/svg+xml") in svgs and all(a["status"] == "changed" for a in log["assets"])
    assert all(a["previous_file"] != a["file"] for a in log["assets"])


def test_an_illustration_the_fragment_does_not_show_is_an_asset_change_only():
    """The SVG beside a PNG changed (a summary in its tooltip), the HTML and the PNG did not: the
    item stays unchanged and keeps its date; the SVG is listed on its own."""
    from mulighetskart.render.changelog import compare, dated

    def item(svg: str) -> dict:
        return {"id": "page:kart", "sha256": "h", "title": "Kart", "assets": [
            {"file": "assets/kart.p1.png", "media_type": "image/png", "sha256": "p1", "role": "map", "embedded": True},
            {"file": f"assets/kart.{svg}.svg", "media_type": "image/svg+xml", "sha256": svg, "role": "map", "embedded": False}]}

    old = {**item("s1"), "date_modified": "2026-01-01T00:00:00Z", "date_published": "2025-01-01T00:00:00Z"}
    changes = compare([item("s2")], Previous("old", {"page:kart": old}, {}))
    assert changes.unchanged == ("page:kart",) and changes.changed == ()
    assert [(a["owner"], a["status"], a["previous_file"], a["file"]) for a in changes.assets] == [
        ("page:kart", "changed", "assets/kart.s1.svg", "assets/kart.s2.svg")]
    (r,) = dated([item("s2")], Previous("old", {"page:kart": old}, {}), changes, "2026-06-01T00:00:00Z")
    assert (r["date_modified"], r["date_published"]) == ("2026-01-01T00:00:00Z", "2025-01-01T00:00:00Z")


def test_a_remote_image_in_content_is_a_located_error(tmp_path):
    content = copy_content(tmp_path)
    edit(content / "offers" / "amo.yaml", "  - første punkt\n", "  - første punkt med ![kart](https://bilder.example.com/kart.png)\n")
    with pytest.raises(ContentError) as err:
        build_fragments(content, tmp_path / "out")
    lines = (content / "offers" / "amo.yaml").read_text(encoding="utf-8").splitlines()
    (number,) = [n for n, line in enumerate(lines, 1) if "![kart]" in line]
    col = lines[number - 1].index("![kart]") + 1
    assert re.search(rf"offers/amo\.yaml:{number}:{col}: error: the image 'https://bilder\.example\.com/kart\.png' is on another website", str(err.value))
    assert not (tmp_path / "out" / "fragments").exists(), "nothing written"


def test_removed_items_become_tombstones(package, rebuilt, tmp_path, monkeypatch):
    content = copy_content(tmp_path)
    (content / "offers" / "hoyere-utdanning.yaml").unlink()
    edit(content / "offers" / "videregaende.yaml", "leads_to: [hoyere-utdanning]", "leads_to: []")
    new = (content / "offers" / "tolk.yaml").read_text().replace("id: tolk\n", "id: tolk-skjermtolk\n")
    (content / "offers" / "tolk-skjermtolk.yaml").write_text(new)
    stamp = later(monkeypatch, "2027-01-15")
    folder = build_fragments(content, rebuilt)
    log = load(folder, "changelog.json")
    assert [a["id"] for a in log["added"]] == ["offer:tolk-skjermtolk"]
    old = items(package)["offer:hoyere-utdanning"]
    assert [(t["id"], t["uuid"], t["date_removed"]) for t in log["removed"]] == [(old["id"], old["uuid"], stamp)]
    assert ", 1 ny, 1 fjernet" in log["summary_text"]
    assert [t["id"] for t in load(folder, "manifest.json")["tombstones"]] == ["offer:hoyere-utdanning"]
    assert not (folder / "offer" / "hoyere-utdanning.html").exists()


def test_tombstones_stay_until_the_item_comes_back():
    previous = Previous("old", {"offer:a": {"id": "offer:a"}},
                        {"offer:gone": {"id": "offer:gone", "date_removed": "2027-01-15T00:00:00Z"}, "offer:back": {"id": "offer:back"}})
    nothing_new = Changes((), (), (), ("offer:a",), first=False)
    kept = tombstones(previous, nothing_new, {"offer:a", "offer:back"}, "2027-02-01T00:00:00Z")
    assert kept == [{"id": "offer:gone", "date_removed": "2027-01-15T00:00:00Z"}]


def test_the_previous_export_is_found_in_every_form(package, tmp_path):
    manifest = load(package, "manifest.json")
    for where in (package, package.parent, package / "manifest.json", package / "mulighetskart-fragmenter.zip"):
        previous = read_previous(where)
        assert previous.export_id == manifest["export_id"] and set(previous.items) == set(items(package)), where
    assert read_previous(tmp_path) is None, "an empty folder is no previous export"


def test_an_unreadable_previous_export_is_reported_not_a_traceback(tmp_path):
    bad = tmp_path / "old"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(BuildError, match="cannot be read"):
        build_fragments(FIXTURE_CONTENT, tmp_path / "out", since=bad)


def test_summary_line_wording():
    changes = Changes(added=("offer:x",), changed=tuple((f"offer:{i}", ("title",)) for i in "abc"), removed=(), unchanged=(), first=False)
    assert summary_text(changes, WORDS) == "Fragmentpakken: 3 endret, 1 ny"
    two = Changes(added=("a", "b"), changed=(), removed=({"id": "c"},), unchanged=(), first=False)
    assert summary_text(two, WORDS) == "Fragmentpakken: 2 nye, 1 fjernet"
    assert summary_text(Changes((), (), (), ("a",), first=False), WORDS) == "Fragmentpakken: ingen endringer"


# ---- hostile content ----

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)><iframe src="https://evil.example/"></iframe>'
HOSTILE_MD = f"""# Overskrift øverst

{HOSTILE}

[Klikk her](javascript:alert(3)) og <a href="javascript:alert(4)">her</a>.

![bilde](javascript:alert(5))

### Hopper over et nivå

###### Helt nederst
"""


def hostile_content(content: Path) -> Path:
    """A copy of the fixture guide with markup attacks in titles, names and Markdown bodies."""
    shutil.copytree(FIXTURE_CONTENT, content)
    title = json.dumps(f"AMO {HOSTILE}")
    edit(content / "offers" / "amo.yaml", "title: Arbeidsmarkedskurs (AMO)\n", f"title: {title}\n")
    body = "body: |\n" + "".join(f"  {line}\n" for line in HOSTILE_MD.splitlines())
    text = (content / "offers" / "amo.yaml").read_text()
    (content / "offers" / "amo.yaml").write_text(text[: text.index("body: |")] + body)
    edit(content / "personas" / "amal.yaml", "name: Amal\n", f"name: {json.dumps('Amal ' + HOSTILE)}\n")
    edit(content / "categories.yaml", "title: Arbeidsrettede tiltak\n", f"title: {json.dumps('Tiltak ' + HOSTILE)}\n")
    edit(content / "financing.yaml", "body: Tiltakspenger kan gis under deltakelse i tiltak fra NAV.",
         "body: " + json.dumps(HOSTILE_MD))
    return content


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    return built(tmp_path_factory, "hostile")


def test_hostile_content_never_reaches_a_fragment(hostile):
    previews = {p.relative_to(hostile).as_posix(): p.read_text() for p in (hostile / "preview").rglob("*.html")}
    pages = {**fragments(hostile), **previews}
    assert "AMO <script>" in items(hostile)["offer:amo"]["title"], "titles stay plain text in the manifest"
    for name, html in pages.items():
        lowered = html.lower()
        assert "<script" not in lowered and "<iframe" not in lowered, name
        for tag, attrs in Elements(html).tags:
            assert tag not in {"script", "iframe", "object", "embed", "style"}, (name, tag)
            assert not [a for a in attrs if a.startswith("on")], (name, tag, attrs)
            for key in ("href", "src"):
                assert not (attrs.get(key) or "").strip().lower().startswith("javascript:"), (name, tag, attrs)
    amo = (hostile / "offer" / "amo.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in amo, "hostile markup in text is shown as text"
    arbeid = (hostile / "category" / "arbeid.html").read_text()
    assert 'href="offer/amo.html">AMO &lt;script&gt;' in arbeid


def test_hostile_bodies_keep_the_heading_rules(hostile):
    for item_id, html in fragments(hostile).items():
        assert headings_ok(html), f"{item_id}: {heading_levels(html)}"
    tiltakspenger = (hostile / "financing" / "tiltakspenger.html").read_text()
    assert "<h2>Overskrift øverst</h2>" in tiltakspenger


# ---- theme mistakes, shipped content ----

def test_a_bad_url_pattern_is_a_located_theme_error(tmp_path):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    shutil.copytree(LAYOUTS.parent / "fonts", tmp_path / "fonts")
    edit(layouts / "theme.yaml", 'fragment_url: "{type}/{slug}.html"', 'fragment_url: "{type}.html"')
    with pytest.raises(ContentError) as err:
        build(BuildOptions(FIXTURE_CONTENT, layouts, tmp_path / "out", only=("fragments",), jobs=1))
    assert re.search(r"theme\.yaml:\d+:\d+: error: '\{type\}\.html' must be a relative path with \{type\}, \{slug\}", str(err.value))


def test_shipped_content_builds_a_clean_package(tmp_path_factory, shipped_content):
    folder = built(tmp_path_factory, "shipped")
    manifest = items(folder)
    assert {f"offer:{o.id}" for o in shipped_content.offers} <= set(manifest)
    assert {f"persona:{p.id}" for p in shipped_content.personas} <= set(manifest)
    schema = load(folder, "manifest.schema.json")
    jsonschema.validate(load(folder, "manifest.json"), schema)
    for item_id, html in fragments(folder).items():
        assert allowlisted(html) == html, item_id
        assert headings_ok(html), f"{item_id}: {heading_levels(html)}"
