"""End to end: the whole build from content to every output, reproducible and safe."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from mulighetskart.build import BuildOptions, build
from mulighetskart.errors import ContentError

from .conftest import FIXTURE_CONTENT, LAYOUTS
from .test_publish import snapshot


@pytest.fixture(scope="session")
def two_builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("builds")
    for name in ("a", "b"):
        build(BuildOptions(FIXTURE_CONTENT, LAYOUTS, root / name))
    return root / "a", root / "b"


def without_timings(report: bytes) -> dict:
    data = json.loads(report)
    data.pop("timings")
    return data


def test_every_target_writes_its_outputs(two_builds):
    out, _ = two_builds
    assert (out / "map" / "mulighetskart.svg").is_file()
    assert (out / "journeys" / "amal.svg").is_file() and (out / "journeys" / "amal.dot").is_file()
    assert (out / "handbook" / "handbok-trykk.pdf").is_file() and (out / "handbook" / "handbok-skjerm.pdf").is_file()
    assert (out / "fragments" / "manifest.json").is_file()


def test_two_builds_are_byte_identical(two_builds):
    a, b = (snapshot(p) for p in two_builds)
    assert sorted(a) == sorted(b)
    differing = [name for name in a if a[name] != b[name] and name != "build-report.json"]
    assert differing == []
    assert without_timings(a["build-report.json"]) == without_timings(b["build-report.json"])


def test_build_report_describes_the_tree(two_builds):
    out, _ = two_builds
    report = json.loads((out / "build-report.json").read_text())
    assert report["counts"]["offers"] == 11 and report["counts"]["personas"] == 2
    assert set(report["timings"]) == {"map", "journeys", "handbook", "fragments"}
    assert len(report["inputs_sha256"]) == 64
    routes = report["routes"]  # what a reader would notice on the route maps, counted
    assert set(routes) == {"alle-reiser.svg", "amal-rute.svg", "bilal-rute.svg"}
    assert all(r["through_boxes"] == 0 and r["over_text"] == 0 and r["crossings"] >= 0 for r in routes.values())
    files = snapshot(out)
    assert set(report["files"]) == set(files) - {"build-report.json"}
    import hashlib

    assert all(hashlib.sha256(files[name]).hexdigest() == sha for name, sha in report["files"].items())


def test_only_one_target_keeps_the_others(two_builds, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(two_builds[0], out)
    before = snapshot(out)
    build(BuildOptions(FIXTURE_CONTENT, LAYOUTS, out, only=("map",)))
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k != "build-report.json"} == {k: v for k, v in before.items() if k != "build-report.json"}


def test_content_error_builds_nothing_and_keeps_output(two_builds, tmp_path):
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    (content / "offers" / "amo.yaml").write_text("id: amo\n")
    out = tmp_path / "out"
    shutil.copytree(two_builds[0], out)
    before = snapshot(out)
    with pytest.raises(ContentError):
        build(BuildOptions(content, LAYOUTS, out))
    assert snapshot(out) == before
    run = subprocess.run([sys.executable, "-m", "mulighetskart", "build", "--content", str(content), "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "amo.yaml:1:1: error: missing required field 'title'" in run.stderr
    assert snapshot(out) == before


def test_a_character_no_font_can_draw_is_located_and_fails_strict(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    amo = content / "offers" / "amo.yaml"
    lines = amo.read_text(encoding="utf-8").splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("title: "))
    lines[row] = lines[row].rstrip("\n") + " 🎓\n"
    amo.write_text("".join(lines), encoding="utf-8")
    col = lines[row].index("🎓") + 1
    expected = f"amo.yaml:{row + 1}:{col}: warning: no shipped font can draw '🎓' (U+1F393 graduation cap)"

    result = build(BuildOptions(content, LAYOUTS, tmp_path / "out", only=("map",), cache=tmp_path / "cache"))
    [warning] = [str(w) for w in result.warnings if "no shipped font" in w.message]
    assert expected in warning and "empty box" in warning

    with pytest.raises(ContentError) as failed:
        build(BuildOptions(content, LAYOUTS, tmp_path / "strict", only=("map",), strict=True, cache=tmp_path / "cache"))
    assert expected in str(failed.value.message)
    assert not (tmp_path / "strict").exists()
    # Arabic and Tigrinya are drawn by the shipped script fonts: no warning for them.
    amo.write_text(amo.read_text(encoding="utf-8").replace(" 🎓", " العربية ትግርኛ"), encoding="utf-8")
    assert not [w for w in build(BuildOptions(content, LAYOUTS, tmp_path / "out", only=("map",), cache=tmp_path / "cache")).warnings
                if "no shipped font" in w.message]


@pytest.mark.parametrize("map_mistake", [
    ("    paper: A3 ", "    paper: A5 ", r"theme\.yaml:\d+:\d+: error: .*A5"),  # the loader refuses it
    ("      category_summary: 7\n", "      category_summary: 5\n", r"theme\.yaml:\d+:\d+: error: category_summary is 5 pt"),  # the map's check
])
def test_theme_mistakes_in_two_targets_are_reported_in_one_run(tmp_path, map_mistake):
    """A mistake in targets.map and one in targets.fragments: both located, exit 1, no
    traceback, nothing written (the checks of every target run before any target renders)."""
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    shutil.copytree(LAYOUTS.parent / "fonts", tmp_path / "fonts")
    theme = layouts / "theme.yaml"
    old, new, expected = map_mistake
    text = theme.read_text(encoding="utf-8")
    assert old in text and "    hash_length: 12" in text
    theme.write_text(text.replace(old, new, 1).replace("    hash_length: 12", "    hash_length: 3", 1), encoding="utf-8")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "mulighetskart", "build", "--content", str(FIXTURE_CONTENT), "--layouts", str(layouts),
                          "--out", str(out), "--cache", str(tmp_path / "cache")], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert re.search(expected, run.stderr), run.stderr
    assert re.search(r"theme\.yaml:\d+:\d+: error: hash_length must be between 8 and 64", run.stderr), run.stderr
    assert "2 errors in 1 file" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()


def test_a_label_template_that_fills_in_an_unknown_field_is_located(tmp_path):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    shutil.copytree(LAYOUTS.parent / "fonts", tmp_path / "fonts")
    theme = layouts / "theme.yaml"
    text = theme.read_text(encoding="utf-8")
    assert '  phase_span: "Fase {number} · {span}"' in text
    theme.write_text(text.replace('  phase_span: "Fase {number} · {span}"', '  phase_span: "Fase {nummer} · {span}"', 1), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "mulighetskart", "build", "--content", str(FIXTURE_CONTENT), "--layouts", str(layouts),
                          "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--only", "journeys"], capture_output=True, text=True)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    expected = r"theme\.yaml:\d+:\d+: error: labels\.phase_span fills in nummer, which it does not know \(use \{number\}, \{span\}\)"
    assert re.search(expected, run.stderr), run.stderr


def test_layouts_copied_without_their_fonts_name_every_missing_file(tmp_path):
    """A municipality copies layouts/ elsewhere and forgets fonts/ (theme.yaml's `dir: ../fonts`):
    each missing file is located in theme.yaml, exit 1, no traceback from a target measuring
    text with a font that is not there."""
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    run = subprocess.run([sys.executable, "-m", "mulighetskart", "build", "--content", str(FIXTURE_CONTENT), "--layouts", str(layouts),
                          "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert re.search(r"theme\.yaml:\d+:\d+: error: font file not found: .*NotoSans-Regular\.ttf", run.stderr), run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edit_of_an_offers_prose_keeps_the_drawings_but_a_new_map_text_draws_them_again(tmp_path):
    """Communications edit offers' texts most: the drawings never print them, so they are
    kept, and what is kept equals a clean build. The map text is drawn: drawn again."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    amo = content / "offers" / "amo.yaml"
    options = {"only": ("map", "journeys"), "cache": tmp_path / "cache"}
    build(BuildOptions(content, LAYOUTS, tmp_path / "out", **options))

    edit(amo, "en **testtekst** for", "en ny **tekst** for")  # letters the guide has: the font subsets stay
    kept = build(BuildOptions(content, LAYOUTS, tmp_path / "out", **options))
    assert "journeys" in kept.reused
    clean = build(BuildOptions(content, LAYOUTS, tmp_path / "clean", clean=True, **options))
    assert snapshot(tmp_path / "out" / "journeys") == snapshot(tmp_path / "clean" / "journeys")

    edit(amo, "map_text: Kartets korte tekst", "map_text: Kartets nye tekst")
    assert "journeys" not in build(BuildOptions(content, LAYOUTS, tmp_path / "out", **options)).reused
    assert clean.reused == ()


def test_a_target_warning_is_printed_and_fails_only_a_strict_build(tmp_path, monkeypatch):
    """Targets can warn from their check (before anything renders): the build reports the
    warning and carries on; --strict makes it an error and writes nothing."""
    import dataclasses

    from mulighetskart import target
    from mulighetskart.errors import Pos, Problem

    warning = Problem(Pos("layouts/theme.yaml", 3, 4), "the map is taller than its paper", severity="warning")
    real = target.load_target

    def warned(name):
        t = real(name)
        return dataclasses.replace(t, check=lambda content, theme: [*t.check(content, theme), warning]) if name == "map" else t

    monkeypatch.setattr(target, "load_target", warned)
    monkeypatch.setattr("mulighetskart.build.load_target", warned)
    result = build(BuildOptions(FIXTURE_CONTENT, LAYOUTS, tmp_path / "out", only=("map",), cache=tmp_path / "cache"))
    assert warning in result.warnings
    assert "warning: the map is taller than its paper" in (tmp_path / "out" / "build-report.json").read_text(encoding="utf-8")
    with pytest.raises(ContentError, match="warning: the map is taller than its paper"):
        build(BuildOptions(FIXTURE_CONTENT, LAYOUTS, tmp_path / "strict", only=("map",), strict=True, cache=tmp_path / "cache"))
    assert not (tmp_path / "strict").exists()
