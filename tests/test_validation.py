"""Bad content: every fault is reported once, at its own line and column, in one pass, exit 1,
never a traceback. The faults are those hand-edited YAML really meets, and a few hostile ones."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mulighetskart.cli import main

from .conftest import FIXTURE_CONTENT

LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): (?P<msg>.*)$")


@pytest.fixture
def content(tmp_path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, root)
    return root


def validate(root: Path, *args: str):
    result = CliRunner().invoke(main, ["validate", "--content", str(root), *args])
    assert not isinstance(result.exception, (KeyError, TypeError, AttributeError, ValueError)), result.exception
    return result


def problems(result) -> list[dict]:
    found = [m.groupdict() for m in map(LINE.match, result.output.splitlines()) if m]
    return [dict(p, line=int(p["line"]), col=int(p["col"])) for p in found]


def errors_at(result, filename: str) -> list[dict]:
    return [p for p in problems(result) if p["path"].endswith(filename) and p["sev"] == "error"]


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def test_fixture_content_is_valid(content):
    result = validate(content, "--strict")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 11 offers, 2 personas")


def test_shipped_content_is_valid():
    result = validate(Path("content"))
    assert result.exit_code == 0, result.output


def test_tab_indentation_is_located(content):
    f = content / "offers" / "amo.yaml"
    f.write_text(f.read_text().replace("  - title:", "\t- title:"))
    result = validate(content)
    assert result.exit_code == 1
    [err] = errors_at(result, "amo.yaml")
    assert err["line"] == line_of(f, "\t- title")
    assert "tabs" in err["msg"]


def test_unclosed_quote_is_located(content):
    f = content / "offers" / "tolk.yaml"
    f.write_text(f.read_text().replace('short_title: "Tolk"', 'short_title: "Tolk'))
    result = validate(content)
    assert result.exit_code == 1
    [err] = errors_at(result, "tolk.yaml")
    assert (err["line"], err["col"]) == (line_of(f, 'short_title: "Tolk'), 14)
    assert err["msg"] == "YAML syntax: unclosed quote (add the closing quote at the end of the value)"


def test_alias_bomb_is_refused_quickly(content):
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        bomb.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    (content / "offers" / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    result = validate(content)
    assert result.exit_code == 1
    [err] = errors_at(result, "bomb.yaml")
    assert (err["line"], err["col"]) == (1, 4)
    assert "anchors" in err["msg"]


def test_oversized_file_is_refused(content):
    (content / "offers" / "huge.yaml").write_text("id: huge\nbody: |\n" + ("  x" * 10 + "\n") * 40000)
    result = validate(content)
    assert result.exit_code == 1
    [err] = errors_at(result, "huge.yaml")
    assert "limit is 1048576" in err["msg"]


def test_non_utf8_file_is_located(content):
    f = content / "offers" / "tolk.yaml"
    line = line_of(f, "title: Tolk i samtaler")
    f.write_bytes(f.read_bytes().replace(b"title: Tolk i samtaler", "title: Tolk i samtaler æ".encode("latin-1")))
    result = validate(content)
    assert result.exit_code == 1
    [err] = errors_at(result, "tolk.yaml")
    assert (err["line"], err["col"]) == (line, len("title: Tolk i samtaler ") + 1)
    assert err["msg"] == "file is not UTF-8 (byte 0xe6) (save the file as UTF-8 in your editor)"


def test_empty_file(content):
    (content / "offers" / "tolk.yaml").write_text("# nothing yet\n")
    result = validate(content)
    [err] = errors_at(result, "tolk.yaml")
    assert err["msg"].startswith("file is empty")


def test_list_where_mapping_belongs(content):
    f = content / "offers" / "tolk.yaml"
    f.write_text(f.read_text().replace("language:\n  note: Testnotat om språkkrav.", "language:\n  - A2"))
    result = validate(content)
    [err] = errors_at(result, "tolk.yaml")
    assert err["line"] == line_of(f, "- A2")
    assert "expected a mapping of fields, got a list" in err["msg"]


def test_duplicate_key(content):
    f = content / "offers" / "tolk.yaml"
    f.write_text(f.read_text() + "title: Tolk igjen\n")
    result = validate(content)
    [err] = errors_at(result, "tolk.yaml")
    assert err["line"] == line_of(f, "title: Tolk igjen")
    assert "duplicate key" in err["msg"]


def test_python_tag_is_never_constructed(content, tmp_path):
    marker = tmp_path / "pwned"
    f = content / "offers" / "tolk.yaml"
    f.write_text(f.read_text() + f"extra: !!python/object/apply:os.system ['touch {marker}']\n")
    result = validate(content)
    [err] = errors_at(result, "tolk.yaml")
    assert "tags" in err["msg"] and err["line"] == line_of(f, "extra:")
    assert not marker.exists()


def test_unknown_offer_in_journey_with_suggestion(content):
    f = content / "personas" / "bilal.yaml"
    f.write_text(f.read_text().replace("offers: [arbeidstrening, norskopplaering]", "offers: [arbeidstrenig, norskopplaering]"))
    result = validate(content)
    [err] = errors_at(result, "bilal.yaml")
    assert err["line"] == line_of(f, "arbeidstrenig")
    assert err["msg"] == "unknown offer 'arbeidstrenig' (did you mean 'arbeidstrening'?)"


def test_two_files_claiming_one_id(content):
    f = content / "offers" / "tolk2.yaml"
    f.write_text((content / "offers" / "tolk.yaml").read_text())
    result = validate(content)
    msgs = [e["msg"] for e in errors_at(result, "tolk2.yaml")]
    assert any("does not match the file name" in m for m in msgs)
    assert any(m.startswith("duplicate offer id 'tolk'") for m in msgs)


@pytest.mark.parametrize("new_id", ["alle-reiser", "amal-rute"])
def test_persona_id_that_is_a_generated_file_name_is_located(content, new_id):
    f = content / "personas" / f"{new_id}.yaml"
    f.write_text((content / "personas" / "bilal.yaml").read_text().replace("id: bilal", f"id: {new_id}"))
    result = validate(content)
    assert result.exit_code == 1
    [err] = errors_at(result, f"{new_id}.yaml")
    assert (err["line"], err["col"]) == (line_of(f, f"id: {new_id}"), 1)
    assert err["msg"].startswith(f"persona id '{new_id}' is the file name of ")
    assert "route map" in err["msg"] or "all journeys" in err["msg"]


def test_javascript_link_is_refused(content):
    f = content / "offers" / "tolk.yaml"
    f.write_text(f.read_text().replace("url: https://www.nav.no/", "url: javascript:alert(1)"))
    result = validate(content)
    [err] = errors_at(result, "tolk.yaml")
    assert err["line"] == line_of(f, "javascript:")
    assert "not an http(s) address" in err["msg"]


def test_symlink_out_of_content_is_refused(content, tmp_path):
    outside = tmp_path / "secret.yaml"
    outside.write_text((content / "offers" / "tolk.yaml").read_text().replace("id: tolk", "id: lekk"))
    os.symlink(outside, content / "offers" / "lekk.yaml")
    result = validate(content)
    [err] = errors_at(result, "lekk.yaml")
    assert "points outside" in err["msg"]


def test_semantic_errors_are_located(content):
    f = content / "offers" / "amo.yaml"
    text = f.read_text()
    text = text.replace("rights: etter-vurdering", "rights: etter-vurderng")
    text = text.replace("group: opplaering", "group: opplering")
    text = text.replace("level: A2", "level: D1")
    text = text.replace("summary: Kort omtale", "summary: " + "x" * 200 + " Kort omtale")
    text = text.replace("target_group:", "targt_group: x\ntarget_group:")
    f.write_text(text)
    p = content / "personas" / "amal.yaml"
    p.write_text(p.read_text().replace("start_month: 24", "start_month: 2"))
    result = validate(content)
    amo = {e["msg"] for e in errors_at(result, "amo.yaml")}
    assert "'etter-vurderng' is not one of: rett-og-plikt, rett, etter-vurdering, apent (did you mean 'etter-vurdering'?)" in amo
    assert "'D1' is not one of: A1, A2, B1, B2, C1, C2" in amo
    assert any(m.startswith("text is 2") and m.endswith("the limit is 200") for m in amo)
    assert "unknown key 'targt_group' (did you mean 'target_group'?)" in amo
    [phase] = errors_at(result, "amal.yaml")
    assert phase["line"] == line_of(p, "start_month: 2")
    assert phase["msg"] == "phase 3 starts (month 2) before phase 2 (month 3) (list phases in time order)"
    # A broken offer still counts as defined: no cascade of "unknown offer 'amo'" elsewhere.
    assert errors_at(result, "bilal.yaml") == []


def test_every_problem_in_one_pass_sorted_with_summary(content):
    (content / "offers" / "tolk.yaml").write_text("# nothing\n")
    a = content / "offers" / "amo.yaml"
    a.write_text(a.read_text().replace("url: https://www.nav.no/", "url: file:///etc/passwd"))
    result = validate(content)
    lines = result.output.strip().splitlines()
    assert lines[-1].endswith("errors in 3 files") or lines[-1].endswith("errors in 2 files")
    located = [ln for ln in lines[:-1] if LINE.match(ln)]
    assert located == sorted(located, key=lambda s: (s.split(":")[0], int(s.split(":")[1]), int(s.split(":")[2])))
    assert any("file:///etc/passwd" in ln for ln in located)


def test_warning_fails_only_under_strict(content):
    f = content / "offers" / "tolk.yaml"
    f.write_text(f.read_text().replace("    owner: nav\n", ""))
    assert validate(content).exit_code == 0
    strict = validate(content, "--strict")
    assert strict.exit_code == 1
    [w] = [p for p in problems(strict) if p["sev"] == "warning"]
    assert "has no owner" in w["msg"] and w["path"].endswith("tolk.yaml")


def test_cli_prints_no_traceback_and_exit_codes(content):
    (content / "offers" / "tolk.yaml").write_text("- a\n- b\n")
    run = subprocess.run([sys.executable, "-m", "mulighetskart", "validate", "--content", str(content)], capture_output=True, text=True)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    assert "tolk.yaml:1:1: error: expected a mapping of fields, got a list" in run.stderr
    usage = subprocess.run([sys.executable, "-m", "mulighetskart", "validate", "--bogus"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_cited_section_must_exist_in_its_source(content):
    s = content / "sources.yaml"
    s.write_text(s.read_text().replace("    year: 2021\n", '    year: 2021\n    sections: ["3.1", "3.2", "3.3"]\n', 1))
    f = content / "offers" / "amo.yaml"
    f.write_text(f.read_text().replace('section: "3.2"', 'section: "32"'))
    result = validate(content)
    assert result.exit_code == 1
    [err] = errors_at(result, "amo.yaml")
    line = line_of(f, '"32"')
    assert (err["line"], err["col"]) == (line, f.read_text().splitlines()[line - 1].index("section") + 1)
    assert err["msg"] == "unknown section '32' of source 'rapport-5-2021' (not listed in sources.yaml) (did you mean '3.2'?)"
    # The fixture's other offers cite 3.2, which the list holds.
    assert [p for p in problems(result) if p["sev"] == "error"] == [err]


def test_a_translation_is_reviewed_only_with_reviewer_and_date(content):
    f = content / "languages.yaml"
    f.write_text(f.read_text().replace("review: {status: reviewed, reviewer: Kari Nordmann, date: 2021-05-02}", "review: {status: reviewed}"))
    result = validate(content)
    msgs = {(e["line"], e["msg"]) for e in errors_at(result, "languages.yaml")}
    line = line_of(f, "review: {status: reviewed}")
    assert (line, "a reviewed translation needs the reviewer's name (add reviewer: <name>, or set status: draft)") in msgs
    assert (line, "a reviewed translation needs the date it was reviewed (add date: YYYY-MM-DD, or set status: draft)") in msgs


def test_arabic_marked_left_to_right_is_an_error(content):
    f = content / "languages.yaml"
    f.write_text(f.read_text().replace("    dir: rtl\n", ""))
    [err] = errors_at(validate(content), "languages.yaml")
    assert err["msg"] == "'ar' is written right to left but its dir is 'ltr' (set dir: rtl)"
    assert err["line"] == line_of(f, "lang: ar")
