"""The map as a reader gets it: every text whole, none under the theme's minimum at its
printed size, and a sheet that keeps its paper or a build that says which paper it needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.scale import scale

from mulighetskart.build import BuildOptions, build
from mulighetskart.errors import ContentError
from mulighetskart.layout.map import PT

from .conftest import LAYOUTS, SHIPPED_CONTENT

FONT_SIZE = re.compile(r'font-size="([\d.]+)"')
ROOT_TAG = re.compile(r"<svg\b[^>]*>")


def font_sizes_pt(svg: str) -> set[float]:
    """Every font size drawn, in points at the sheet's own size (the map's user unit is the mm)."""
    return {float(v) / PT for v in FONT_SIZE.findall(svg)}


def sheet_mm(svg: str) -> tuple[float, float]:
    root = ROOT_TAG.search(svg).group(0)
    return tuple(float(re.search(rf'\b{name}="([\d.]+)mm"', root).group(1)) for name in ("width", "height"))


def with_theme(tmp_path: Path, **changes: str) -> Path:
    """A copy of the layouts with `key: value` lines of targets.map replaced."""
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    theme = layouts / "theme.yaml"
    text = theme.read_text(encoding="utf-8").replace("dir: ../fonts", f"dir: {LAYOUTS.parent / 'fonts'}")
    for key, value in changes.items():
        text, n = re.subn(rf"^(    {key}:) \S+", rf"\1 {value}", text, count=1, flags=re.M)
        assert n == 1, key
    theme.write_text(text, encoding="utf-8")
    return layouts


@pytest.fixture(scope="module")
def shipped_map(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("map") / "out"
    build(BuildOptions(SHIPPED_CONTENT, LAYOUTS, out, only=("map",), cache=out.parent / "cache"))
    return (out / "map" / "mulighetskart.svg").read_text(encoding="utf-8")


def test_shipped_map_shows_every_text_whole(shipped_map, shipped_content):
    assert "…" not in shipped_map
    for offer in shipped_content.offers:
        words = " ".join(re.findall(r">([^<>]+)</tspan>", shipped_map))
        assert offer.map_summary.split()[-1] in words, f"{offer.id}'s map text is not on the map"


def test_shipped_map_text_is_at_least_6_pt_on_its_a3_sheet(shipped_map):
    assert sheet_mm(shipped_map) == (420, 297)
    assert min(font_sizes_pt(shipped_map)) >= 6 - 0.01


def test_too_long_map_text_is_a_located_error_and_nothing_is_written(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(SHIPPED_CONTENT, content)
    amo = content / "offers" / "amo.yaml"
    text = amo.read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("map_text:"))
    long = "Kurs som NAV kjøper inn for å gi arbeidssøkere den kompetansen arbeidslivet etterspør, korte og praktiske"
    amo.write_text(re.sub(r"^map_text: .*$", f"map_text: {long}", text, flags=re.M), encoding="utf-8")
    out = tmp_path / "out"
    args = ["build", "--content", str(content), "--out", str(out), "--layouts", str(LAYOUTS), "--only", "map"]
    run = subprocess.run([sys.executable, "-m", "mulighetskart", *args], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    message = r"error: map text is (\d+) mm too long for its box \(about (\d+) characters fit\)"
    found = re.search(rf"content/offers/amo\.yaml:{line}:\d+: {message}", run.stderr)
    assert found, run.stderr
    assert int(found.group(1)) > 0 and 40 < int(found.group(2)) < len(long)
    assert not out.exists(), "a failed build writes nothing"


@pytest.fixture(scope="module")
def triple(tmp_path_factory) -> Path:
    return scale(SHIPPED_CONTENT, tmp_path_factory.mktemp("scaled") / "content", 3)


def test_three_times_the_content_on_a3_names_the_paper_it_needs(triple, tmp_path):
    with pytest.raises(ContentError) as caught:
        build(BuildOptions(triple, LAYOUTS, tmp_path / "out", only=("map",), cache=tmp_path / "cache"))
    (problem,) = caught.value.problems
    assert problem.pos.path.endswith("theme.yaml") and problem.pos.line > 1
    assert "does not fit A3" in problem.message and "it needs A2" in problem.message
    assert not (tmp_path / "out").exists()


def test_three_times_the_content_fits_the_paper_it_was_told_to_use(triple, tmp_path):
    out = tmp_path / "out"
    build(BuildOptions(triple, with_theme(tmp_path, paper="A2"), out, only=("map",), cache=tmp_path / "cache"))
    svg = (out / "map" / "mulighetskart.svg").read_text(encoding="utf-8")
    assert sheet_mm(svg) == (594, 420), "the sheet is exactly its paper, never taller"
    assert min(font_sizes_pt(svg)) >= 6 - 0.01
    assert "…" not in svg


def test_a_theme_below_6_pt_is_refused(tmp_path):
    with pytest.raises(ContentError) as caught:
        build(BuildOptions(SHIPPED_CONTENT, with_theme(tmp_path, min_text="5"), tmp_path / "out", only=("map",), cache=tmp_path / "cache"))
    assert any("min_text is 5 pt" in p.message for p in caught.value.problems)
