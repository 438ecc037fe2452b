"""Shared fixtures: the small stable fixture guide, the shipped guide, the theme, goldens.

Golden files are regenerated only on purpose: `pytest --update-goldens` (or
`nox -s goldens`), then review the diff before committing.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI runs each property 200 times; `nox -s fuzz` (HYPOTHESIS_PROFILE=fuzz) 5,000 times.
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI's own run of the whole-build property (.ci/run): the same 200 guides each time.
settings.register_profile("builds", max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CONTENT = ROOT / "tests" / "fixtures" / "content"
SHIPPED_CONTENT = ROOT / "content"
LAYOUTS = ROOT / "layouts"
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="session")
def shipped_handbook(tmp_path_factory) -> Path:
    """The shipped guide's handbook folder, built once for the session (its preflight and the
    handbook tests share it)."""
    from mulighetskart.build import BuildOptions, build

    out = tmp_path_factory.mktemp("shipped-handbook")
    build(BuildOptions(SHIPPED_CONTENT, LAYOUTS, out, only=("handbook",)))
    return out / "handbook"


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden files from current output")


@pytest.fixture(scope="session")
def fixture_content():
    from mulighetskart.content import load_content

    return load_content(FIXTURE_CONTENT).content


@pytest.fixture(scope="session")
def shipped_content():
    from mulighetskart.content import load_content

    return load_content(SHIPPED_CONTENT).content


@pytest.fixture(scope="session")
def theme():
    """The shipped theme with every target's section converted."""
    from mulighetskart.target import NAMES, load_target
    from mulighetskart.theme import load_theme

    styles = {}
    for name in NAMES:
        target = load_target(name)
        if target.style:
            styles[name] = target.style
    return load_theme(LAYOUTS, styles)


@pytest.fixture
def golden(request):
    """golden(name, text): compare text with tests/golden/<name>, or rewrite it with --update-goldens."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"golden file {path} missing: run pytest --update-goldens and review it"
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(list(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "current"))[:80])
            pytest.fail(f"output differs from golden {path}; if intended, run pytest --update-goldens\n{diff}")

    return check
