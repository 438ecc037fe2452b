"""Local editions: an edition folder laid over the national content. The shipped example
(editions/eksempelvik, a fictional municipality) builds all four products as its own guide,
and a mistake in an overlay is reported at the overlay file's line and column."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from mulighetskart.build import BuildOptions, build
from mulighetskart.cli import main
from mulighetskart.content import load_content
from mulighetskart.render.fragments import item_uuid, namespace

from .conftest import ROOT, SHIPPED_CONTENT
from .test_validation import errors_at, line_of

EXAMPLE = ROOT / "editions" / "eksempelvik"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "out"
    build(BuildOptions(content=SHIPPED_CONTENT, layouts=ROOT / "layouts", out=out, cache=out.parent / "cache", edition=EXAMPLE))
    return out


@pytest.fixture
def edition(tmp_path) -> Path:
    folder = tmp_path / "eksempelvik"
    shutil.copytree(EXAMPLE, folder)
    return folder


def validate(edition: Path):
    return CliRunner().invoke(main, ["validate", "--content", str(SHIPPED_CONTENT), "--edition", str(edition)])


def test_the_example_is_marked_as_an_example():
    for path in EXAMPLE.rglob("*.yaml"):
        assert "EKSEMPEL" in path.read_text(encoding="utf-8").splitlines()[0], f"{path.name} does not say it is an example"


def test_its_map_shows_its_local_offers_and_not_the_hidden_ones(built):
    svg = (built / "map" / "mulighetskart.svg").read_text(encoding="utf-8")
    for local in ("sprakkafe-biblioteket", "jobbverksted-eksempelvik"):
        assert f'id="offer-{local}"' in svg
    for hidden in ("jobbsjansen", "fagbrev-pa-jobb"):
        assert f'id="offer-{hidden}"' not in svg
    assert 'href="/eksempelvik/tilbud/norskopplaering/"' in svg  # the edition's own CMS addresses


def test_its_journeys_are_its_own(built):
    names = {p.name for p in (built / "journeys").glob("*.svg")}
    assert {"linh.svg", "linh-rute.svg"} <= names
    assert not {n for n in names if n.startswith("thandar")}  # hidden with the offers her journey takes


def test_its_handbook_names_the_municipality(built):
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(built / "handbook" / "handbok-skjerm.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Eksempelvik kommune (eksempel)" in text
    assert "Eksempelvik læringssenter" in text  # the local note and contact on a national offer
    html = (built / "handbook" / "handbok-skjerm.html").read_text(encoding="utf-8")
    assert 'id="tilbud-sprakkafe-biblioteket"' in html and 'id="tilbud-jobbsjansen"' not in html


def test_its_fragment_uuids_differ_from_the_national_ones(built):
    manifest = json.loads((built / "fragments" / "manifest.json").read_text(encoding="utf-8"))
    national = namespace(load_content(SHIPPED_CONTENT).content.guide.url)
    ours = {i["id"]: i["uuid"] for i in manifest["items"]}
    assert "offer:norskopplaering" in ours
    assert all(uuid.UUID(u) and u != item_uuid(i, national) for i, u in ours.items())
    assert manifest["title"] == "Kvalifiseringsløp i Eksempelvik"


def test_the_overlay_changes_a_national_offer_and_keeps_its_positions():
    c = load_content(SHIPPED_CONTENT, edition=EXAMPLE).content
    offer = c.offer("norskopplaering")
    assert [link.url for link in offer.links] == ["https://eksempelvik.example.org/laeringssenter/"]
    assert "**I Eksempelvik:**" in offer.body
    assert offer.loc.of("links").path.endswith("edition.yaml") and offer.loc.at.path.endswith("norskopplaering.yaml")
    assert all("jobbsjansen" not in o.leads_to + o.combines_with for o in c.offers)
    assert c.guide.publisher == "Eksempelvik kommune (eksempel)" and c.guide.loc.of("publisher").path.endswith("edition.yaml")


def test_a_typo_in_the_overlay_is_reported_at_its_line_and_column(edition):
    f = edition / "edition.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("offers: [jobbsjansen, fagbrev-pa-jobb]", "offers: [jobbsjanse, fagbrev-pa-jobb]"))
    result = validate(edition)
    assert result.exit_code == 1
    [err] = errors_at(result, "eksempelvik/edition.yaml")
    assert (err["line"], err["col"]) == (line_of(f, "jobbsjanse,"), f.read_text().splitlines()[line_of(f, "jobbsjanse,") - 1].index("jobbsjanse") + 1)
    assert err["msg"] == "unknown offer 'jobbsjanse' (did you mean 'jobbsjansen'?)"


def test_every_overlay_mistake_in_one_pass(edition):
    f = edition / "edition.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("  publisher: Eksempelvik", "  publsher: Eksempelvik").replace("personas: [thandar]", "personas: []"))
    local = edition / "offers" / "jobbverksted-eksempelvik.yaml"
    local.write_text(local.read_text(encoding="utf-8").replace("rights: apent", "rights: open"))
    result = validate(edition)
    assert result.exit_code == 1
    found = {(e["line"], e["msg"].split(" (")[0]) for e in errors_at(result, "eksempelvik/edition.yaml")}
    assert (line_of(f, "publsher"), "unknown key 'publsher'") in found
    assert any(msg.startswith("offer 'jobbsjansen' is hidden, but persona 'thandar' takes it") for _, msg in found)
    [bad] = errors_at(result, "jobbverksted-eksempelvik.yaml")
    assert bad["line"] == line_of(local, "rights: open")


def test_an_edition_offer_with_a_national_id_is_a_located_duplicate(edition):
    shutil.copy(SHIPPED_CONTENT / "offers" / "tolk.yaml", edition / "offers" / "tolk.yaml")
    result = validate(edition)
    [err] = errors_at(result, "eksempelvik/offers/tolk.yaml")
    assert err["msg"].startswith("offer 'tolk' is in the national guide already")
    assert result.exit_code == 1 and not errors_at(result, "content/offers/tolk.yaml")


def test_a_character_no_font_draws_in_the_overlay_is_a_warning_at_its_place(edition, tmp_path):
    local = edition / "offers" / "jobbverksted-eksempelvik.yaml"
    text = local.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title: "))
    local.write_text(text.replace(title, title + " 🎓", 1), encoding="utf-8")
    result = build(BuildOptions(content=SHIPPED_CONTENT, layouts=ROOT / "layouts", out=tmp_path / "out", only=("map",),
                                cache=tmp_path / "cache", edition=edition))
    [warning] = [w for w in result.warnings if "no shipped font" in w.message]
    assert (warning.pos.path, warning.pos.line, warning.pos.col) == (str(local), line_of(local, title), len(title) + 2)


def test_the_edition_builds_into_its_own_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", "-q", "--only", "map", "--content", str(SHIPPED_CONTENT), "--layouts", str(ROOT / "layouts"),
                                       "--edition", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "output-eksempelvik" / "map" / "mulighetskart.svg").is_file()
    assert not (tmp_path / "output").exists()


def test_its_logo_is_on_the_handbook_cover_with_its_name(built):
    import pikepdf

    folder = built / "handbook"
    assert (folder / "logo.png").read_bytes() == (EXAMPLE / "logo.png").read_bytes()
    for name in ("handbok-trykk.pdf", "handbok-skjerm.pdf"):
        done = subprocess.run(["qpdf", "--check", str(folder / name)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        listing = subprocess.run(["pdfimages", "-f", "1", "-l", "1", "-list", str(folder / name)], capture_output=True, check=True, text=True).stdout
        [row] = [r.split() for r in listing.splitlines()[2:] if r.split()[2] == "image"]
        assert min(float(row[12]), float(row[13])) >= 300, row  # prints sharp
    with pikepdf.open(folder / "handbok-skjerm.pdf") as pdf:
        alts, stack = [], [pdf.Root.StructTreeRoot]
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Dictionary):
                if node.get("/S") == "/Figure":
                    alts.append(str(node.get("/Alt", "")))
                kids = node.get("/K")
                stack.extend(kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else [])
        assert "Eksempelvik kommune (eksempel)" in alts


@pytest.mark.parametrize(("logo", "message"), [("mangler.png", "cannot read logo 'mangler.png'"),
                                               ("edition.yaml", "logo 'edition.yaml' is not a PNG file"),
                                               ("../../../etc/passwd", "is outside")])
def test_a_logo_that_is_not_there_or_not_a_png_is_located(edition, logo, message):
    f = edition / "edition.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("logo: logo.png", f"logo: {logo}"))
    result = validate(edition)
    assert result.exit_code == 1
    [err] = errors_at(result, "eksempelvik/edition.yaml")
    assert err["line"] == line_of(f, f"logo: {logo}") and message in err["msg"]
