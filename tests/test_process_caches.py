"""The few things kept for the life of a process, pinned: each is a pure function of what it
is keyed by (or of a program that does not change while the build runs), and the one
monkeypatch is undone when the write it serves is done."""

from __future__ import annotations

import os
import shutil

import pydyf
import pytest

from mulighetskart.fontconfig import file_key
from mulighetskart.render.handbook import weasy
from mulighetskart.render.rasterise import tool_version

from .conftest import ROOT


def test_a_changed_file_gets_a_new_key(tmp_path):
    font = tmp_path / "NotoSans-Regular.ttf"
    shutil.copy(ROOT / "fonts" / "NotoSans-Regular.ttf", font)
    before = file_key(font)
    assert file_key(font) == before
    font.write_bytes(font.read_bytes() + b"\0")
    os.utime(font, ns=(1, 1))
    assert file_key(font) != before


def test_a_tool_is_asked_its_version_once_per_process(monkeypatch):
    exe = shutil.which("rsvg-convert")
    first = tool_version(exe, "--version")
    assert "rsvg-convert" in first
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail("asked again"))
    assert tool_version(exe, "--version") == first


def test_page_references_are_kept_only_while_writing():
    """Inside, the list is made once until a page is added; outside, pydyf is as shipped."""
    original = pydyf.PDF.page_references
    pdf = pydyf.PDF()
    with weasy.keep_page_references():
        pdf.add_page(pydyf.Dictionary({"Type": "/Page"}))
        first = pdf.page_references
        assert pdf.page_references is first
        pdf.add_page(pydyf.Dictionary({"Type": "/Page"}))
        assert pdf.page_references is not first and len(pdf.page_references) == 2
    assert pydyf.PDF.page_references is original
    assert pdf.page_references is not pdf.page_references  # made anew at each ask again


def test_weasyprint_is_a_release_the_internals_were_checked_against():
    import weasyprint

    assert weasyprint.__version__ in weasy.CHECKED
