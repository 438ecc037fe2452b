"""Results of slow steps kept between builds (.cache/render): a rebuild that meets the same
input again takes the kept bytes instead of running librsvg or Graphviz, and gives the same
files; `--clean` makes everything anew; what no build used for a while goes away."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from mulighetskart.build import BuildOptions, build
from mulighetskart.memo import KEEP_DAYS, Memo
from mulighetskart.render.rasterise import svg_to_png

from .conftest import FIXTURE_CONTENT, LAYOUTS, ROOT

SMALL_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20">'
             '<text x="2" y="15" font-family="Noto Sans" font-size="12">Å ø</text></svg>')


# --- the store --------------------------------------------------------------------------------------


def maker(result: bytes, calls: list):
    return lambda: calls.append(1) or result


def test_kept_bytes_come_back_without_making_them_again(tmp_path):
    calls: list = []
    memo = Memo(tmp_path)
    assert memo.get("step", maker(b"first", calls), "input") == b"first"
    assert memo.get("step", maker(b"other", calls), "input") == b"first"
    assert len(calls) == 1
    assert memo.get("step", maker(b"new", calls), "changed input") == b"new"
    assert memo.get("other step", maker(b"new", calls), "input") == b"new"
    assert len(calls) == 3


def test_fresh_makes_again_and_keeps_the_new_bytes(tmp_path):
    calls: list = []
    Memo(tmp_path).get("step", maker(b"old", calls), "input")
    assert Memo(tmp_path, fresh=True).get("step", maker(b"new", calls), "input") == b"new"
    assert Memo(tmp_path).get("step", maker(b"never", calls), "input") == b"new"
    assert len(calls) == 2


def test_a_disabled_memo_always_makes(tmp_path):
    calls: list = []
    for _ in range(2):
        assert Memo().get("step", maker(b"bytes", calls), "input") == b"bytes"
    assert len(calls) == 2


def test_prune_removes_only_entries_unused_for_keep_days(tmp_path):
    memo = Memo(tmp_path)
    memo.get("step", lambda: b"old", "old")
    memo.get("step", lambda: b"recent", "recent")
    now = time.time()
    old = memo.entry("step", "old")
    os.utime(old, (now - (KEEP_DAYS + 1) * 86400,) * 2)
    memo.prune(now=now)
    assert not old.exists() and memo.entry("step", "recent").exists()


# --- builds -----------------------------------------------------------------------------------------


@pytest.fixture
def tool_runs(monkeypatch):
    """The drawing runs of rsvg-convert and dot (graphviz runs it through subprocess.run too),
    not the questions for their version."""
    runs: list[str] = []
    real = subprocess.run

    def run(cmd, *args, **kwargs):
        name = os.path.basename(str(cmd[0])) if isinstance(cmd, list | tuple) else ""
        if name in ("rsvg-convert", "dot") and not {"--version", "-V"} & set(cmd):
            runs.append(name)
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    return runs


def build_into(tmp_path, out: str, only: tuple[str, ...], clean: bool = False):
    opts = BuildOptions(FIXTURE_CONTENT, LAYOUTS, tmp_path / out, only=only, jobs=1, clean=clean, cache=tmp_path / "cache")
    build(opts)
    return {p.relative_to(opts.out).as_posix(): p.read_bytes() for p in sorted(opts.out.glob("*/**/*")) if p.is_file()}  # not the report: its timings vary


def test_second_map_build_takes_the_png_from_the_memo(tmp_path, tool_runs):
    first = build_into(tmp_path, "one", ("map",))
    assert "map/mulighetskart.png" in first and tool_runs == ["rsvg-convert"]
    assert build_into(tmp_path, "two", ("map",)) == first  # a new output folder: the map is drawn again
    assert tool_runs == ["rsvg-convert"]
    build_into(tmp_path, "three", ("map",), clean=True)
    assert tool_runs == ["rsvg-convert"] * 2


def test_a_changed_font_file_draws_the_png_again(tmp_path, tool_runs):
    fonts = shutil.copytree(ROOT / "fonts", tmp_path / "fonts")
    memo = Memo(tmp_path / "cache")
    regular = svg_to_png(SMALL_SVG, 80, font_dirs=[fonts], memo=memo)
    assert svg_to_png(SMALL_SVG, 80, font_dirs=[fonts], memo=memo) == regular
    assert len(tool_runs) == 1
    shutil.copy(fonts / "NotoSans-Bold.ttf", fonts / "NotoSans-Regular.ttf")  # a new release of a shipped font
    svg_to_png(SMALL_SVG, 80, font_dirs=[fonts], memo=memo)
    assert len(tool_runs) == 2  # drawn with the new font, not taken from the memo


def test_second_journeys_build_runs_neither_dot_nor_librsvg(tmp_path, tool_runs):
    first = build_into(tmp_path, "one", ("journeys",))
    assert any(name.endswith(".png") for name in first) and set(tool_runs) == {"dot", "rsvg-convert"}
    drawn = len(tool_runs)
    assert build_into(tmp_path, "two", ("journeys",)) == first
    assert len(tool_runs) == drawn
    build_into(tmp_path, "three", ("fragments",))  # the same timelines: laid out once for both targets
    assert "dot" not in tool_runs[drawn:]


def test_font_subsets_are_kept_between_builds(tmp_path, monkeypatch):
    from fontTools import subset

    made: list = []
    real = subset.Subsetter.subset
    monkeypatch.setattr(subset.Subsetter, "subset", lambda self, font: made.append(1) or real(self, font))
    first = build_into(tmp_path, "one", ("map",))
    subsets = len(made)
    assert subsets
    assert build_into(tmp_path, "two", ("map",)) == first
    assert len(made) == subsets


def test_an_edit_parses_only_the_file_it_changed_and_errors_keep_their_place(tmp_path, monkeypatch):
    """The YAML nodes of unchanged files come from the cache, with their lines and columns."""
    from mulighetskart.content import load
    from mulighetskart.content.cached import load_content_cached
    from mulighetskart.errors import ContentError

    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    load_content_cached(content, tmp_path / "cache")
    parsed: list[str] = []
    real = load._parse.__wrapped__  # past the in-process cache: what a new build process would do
    monkeypatch.setattr(load, "_parse", lambda text: parsed.append(text) or real(text))
    offer = content / "offers" / "kartlegging.yaml"
    offer.write_text(offer.read_text(encoding="utf-8").replace("- andre punkt", "- andre punkt, endret"), encoding="utf-8")
    loaded = load_content_cached(content, tmp_path / "cache")
    assert len(parsed) == 1 and "endret" in parsed[0]
    assert "endret" in next(o for o in loaded.content.offers if o.id == "kartlegging").body
    # a category renamed: offers/tolk.yaml, whose nodes come from the cache, is blamed at its own line
    categories = content / "categories.yaml"
    categories.write_text(categories.read_text(encoding="utf-8").replace("  - id: tolk\n", "  - id: tolking\n"), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content_cached(content, tmp_path / "cache")
    assert any(str(p).startswith(f"{content / 'offers' / 'tolk.yaml'}:6:") for p in err.value.problems), [str(p) for p in err.value.problems]
