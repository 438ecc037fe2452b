"""Accessibility of every CMS fragment as a page would show it (<html lang="nb">…<main><h1>):
the Nu Html Checker finds no errors and axe-core finds no WCAG 2.1 A/AA violations.

Checked: every fragment of the fixture guide, every fragment the hostile guide changes, and
every page of every preview (fixture, hostile and shipped guide: the shipped preview shows every
shipped fragment in its page template). With MULIGHETSKART_A11Y_ALL=1 (`nox -s a11y` sets it)
every shipped fragment also gets a plain page of its own.

The checkers come from npm (vnu-jar, axe-core), installed once into a cache folder
($MULIGHETSKART_CACHE or ~/.cache/mulighetskart). Java and Chromium must be installed;
when they are not, the tests fail and say how to install them: nothing is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mulighetskart.render.fragments import standalone_page

from .chromium import CHROMIUMS, Chromium, need
from .conftest import LAYOUTS
from .test_fragments import built

PACKAGES = {"vnu-jar": "26.9.27", "axe-core": "4.14.1"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BAD_PAGE = ('<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>Feil</title></head><body><main><h1>Feil</h1>'
            '<ul><p>ikke et listepunkt</p></ul><img src="x.png"><p style="color:#bbb">for svak kontrast</p></main></body></html>')


def cache_folder() -> Path:
    base = os.environ.get("MULIGHETSKART_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mulighetskart"
    return Path(base) / "npm"


def installed(folder: Path, package: str) -> str | None:
    try:
        return json.loads((folder / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def checkers() -> dict[str, Path]:
    """vnu.jar and axe.min.js at the pinned versions, installed from npm on first use."""
    folder = cache_folder()
    if any(installed(folder, p) != v for p, v in PACKAGES.items()):
        folder.mkdir(parents=True, exist_ok=True)
        specs = [f"{p}@{v}" for p, v in PACKAGES.items()]
        done = subprocess.run([need("npm"), "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--no-save", "--ignore-scripts", *specs],
                              capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            pytest.fail(f"npm install {' '.join(specs)} failed (network to the npm registry?):\n{done.stderr[-3000:]}")
    return {"vnu": folder / "node_modules/vnu-jar/build/dist/vnu.jar", "axe": folder / "node_modules/axe-core/axe.min.js"}


def wrap_package(folder: Path, skip: set[str] | None = None) -> list[Path]:
    """Each fragment (but those whose sha256 is in `skip`; None skips all) in its own page at
    the package root, where its package paths resolve, plus every page of the preview."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    pages = []
    for item in manifest["items"]:
        if skip is None or item["sha256"] in skip:
            continue
        page = folder / item["file"].replace("/", "--").replace(".html", ".page.html")
        html = (folder / item["file"]).read_text(encoding="utf-8")
        page.write_text(standalone_page(LAYOUTS, item["title"], html, item["language"], item["summary"], item["dir"]), encoding="utf-8")
        pages.append(page)
    return [*pages, *sorted((folder / "preview").rglob("*.html"))]


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[Path]:
    """The pages named in the module docstring."""
    root = tmp_path_factory.mktemp("a11y")
    every_shipped = os.environ.get("MULIGHETSKART_A11Y_ALL") == "1"
    fixture = shutil.copytree(built(tmp_path_factory, "fixture"), root / "fixture")
    seen = {i["sha256"] for i in json.loads((fixture / "manifest.json").read_text())["items"]}
    return [
        *wrap_package(fixture, skip=set()),
        *wrap_package(shutil.copytree(built(tmp_path_factory, "hostile"), root / "hostile"), skip=seen),
        *wrap_package(shutil.copytree(built(tmp_path_factory, "shipped"), root / "shipped"), skip=set() if every_shipped else None),
    ]


@pytest.fixture(scope="module")
def bad_page(tmp_path_factory) -> Path:
    page = tmp_path_factory.mktemp("bad") / "bad.html"
    page.write_text(BAD_PAGE, encoding="utf-8")
    return page


# ---- Nu Html Checker ----

@pytest.fixture(scope="module")
def vnu_errors(checkers, pages, bad_page) -> dict[str, list[str]]:
    """Errors by page, from one run of the checker over every page and the broken one."""
    java = need("java")
    done = subprocess.run([java, "-jar", str(checkers["vnu"]), "--errors-only", "--format", "json", "--stdout", str(bad_page), *map(str, pages)],
                          capture_output=True, text=True, timeout=600, check=False)
    try:
        messages = json.loads(done.stdout)["messages"]
    except (ValueError, KeyError):
        pytest.fail(f"the Nu Html Checker did not run:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    errors: dict[str, list[str]] = {}
    for m in messages:
        if m.get("type") in ("error", "non-document-error"):
            page = "/".join(m.get("url", "?").rsplit("/", 3)[-3:])
            errors.setdefault(page, []).append(f"line {m.get('lastLine', '?')}: {m.get('message')}")
    return errors


def test_nu_html_checker_catches_a_bad_page(vnu_errors, bad_page):
    assert any(page.endswith(f"/{bad_page.parent.name}/{bad_page.name}") for page in vnu_errors), \
        "vnu found nothing wrong with a broken page: the check is not working"


def test_every_fragment_passes_the_nu_html_checker(vnu_errors, bad_page):
    assert {page: e for page, e in vnu_errors.items() if not page.endswith(f"/{bad_page.parent.name}/{bad_page.name}")} == {}


# ---- axe-core in headless Chromium ----

@pytest.fixture(scope="module")
def browsers(checkers):
    """Two browsers with axe-core injected into every page they open (two cores, two pages at a time)."""
    binary, axe = need("chromium", CHROMIUMS), checkers["axe"].read_text(encoding="utf-8")
    started: list[Chromium] = []
    try:
        for _ in range(2):
            started.append(Chromium(binary))
            started[-1].call("Page.enable", page=True)
            started[-1].call("Page.addScriptToEvaluateOnNewDocument", {"source": axe}, page=True)
        yield started
    finally:
        for chromium in started:
            chromium.close()


AXE_RUN = (
    "axe.run(document, {runOnly: {type: 'tag', values: " + json.dumps(AXE_TAGS) + "}, resultTypes: ['violations']})"
    ".then(r => r.violations.map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`))"
)


def axe_violations(browser: Chromium, page: Path) -> list[str]:
    browser.open(page.as_uri())
    return browser.evaluate(AXE_RUN)


def test_axe_catches_a_bad_page(browsers, bad_page):
    found = " ".join(axe_violations(browsers[0], bad_page))
    assert "image-alt" in found and "color-contrast" in found, "axe found nothing wrong with a broken page: the check is not working"


def test_every_fragment_passes_axe_wcag21_aa(browsers, pages):
    def check(share: tuple[Chromium, list[Path]]) -> dict[str, list[str]]:
        chromium, mine = share
        return {f"{p.parent.parent.name}/{p.parent.name}/{p.name}": v for p in mine if (v := axe_violations(chromium, p))}

    shares = [(b, pages[i :: len(browsers)]) for i, b in enumerate(browsers)]
    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        problems = {k: v for found in pool.map(check, shares) for k, v in found.items()}
    assert problems == {}
