"""The helper commands designers and editors use: `new` and `links`."""

from __future__ import annotations

import http.server
import re
import shutil
import threading
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from mulighetskart.cli import main

from .conftest import FIXTURE_CONTENT, LAYOUTS


@pytest.fixture
def content(tmp_path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, root)
    return root


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_new_offer_validates_once_filled(content):
    result = run("new", "offer", "jobbklubb", "--category", "arbeid", "--content", content, "--layouts", LAYOUTS)
    assert result.exit_code == 0, result.output
    path = content / "offers" / "jobbklubb.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=") and "group: opplaering  # one of: opplaering, praksis, tilskudd" in text
    unfilled = run("validate", "--content", content)
    assert unfilled.exit_code == 1 and "jobbklubb.yaml:5:8: error: text must not be empty" in unfilled.output
    filled = {
        'title: ""': "title: Jobbklubb", 'summary: ""': "summary: Gruppe som søker jobb sammen.",
        "actors: []": "actors: [nav]", 'target_group: ""': "target_group: Arbeidssøkere",
        'duration: ""': "duration: Noen uker", '  - title: ""': "  - title: NAV", 'url: ""': "url: https://www.nav.no/",
        'owner: ""': "owner: nav", 'section: ""': 'section: "3.2"', 'body: ""': "body: Deltakerne søker jobb sammen.",
    }
    for old, new in filled.items():
        text = text.replace(old, new, 1)
    path.write_text(text)
    assert run("validate", "--content", content).exit_code == 0


def test_new_persona_and_refusals(content):
    assert run("new", "persona", "sara", "--content", content, "--layouts", LAYOUTS).exit_code == 0
    assert (content / "personas" / "sara.yaml").is_file()
    again = run("new", "persona", "sara", "--content", content, "--layouts", LAYOUTS)
    assert again.exit_code == 1 and "already exists" in again.output
    typo = run("new", "offer", "x", "--category", "arbied", "--content", content, "--layouts", LAYOUTS)
    assert typo.exit_code == 1 and "did you mean 'arbeid'" in typo.output
    assert run("new", "offer", "Bad Id", "--category", "arbeid", "--content", content).exit_code == 1
    assert run("new", "offer", "x", "--content", content).exit_code == 2  # no --category


class Handler(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def _answer(self, body: bool):
        Handler.hits.append(f"{self.command} {self.path}")
        code = {"/ok": 200, "/gone": 404, "/nohead": 405 if self.command == "HEAD" else 200}.get(self.path, 500)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self._answer(False)

    def do_GET(self):
        self._answer(True)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.hits = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def point_links_at(content: Path, base: str) -> None:
    for f, path in (("amo", "/gone"), ("tolk", "/nohead")):
        p = content / "offers" / f"{f}.yaml"
        p.write_text(p.read_text().replace("url: https://www.nav.no/", f"url: {base}{path}"))
    for p in (content / "offers").glob("*.yaml"):
        p.write_text(p.read_text().replace("url: https://www.nav.no/", f"url: {base}/ok"))
    for name in ("actors.yaml", "financing.yaml", "languages.yaml"):
        p = content / name
        p.write_text(re.sub(r'url: "?https://[^"\s}]*"?', f'url: "{base}/ok"', p.read_text()))


def test_links_reports_broken_ones_with_their_place_and_caches(content, server, tmp_path):
    point_links_at(content, server)
    cache = tmp_path / "links.json"
    result = run("links", "--content", content, "--cache", cache, "--timeout", "5")
    assert result.exit_code == 1
    broken = [ln for ln in result.output.splitlines() if ": error: broken link" in ln]
    assert len(broken) == 1 and re.match(r".*offers/amo\.yaml:\d+:\d+: error: broken link '.*/gone' \(HTTP 404\)", broken[0])
    assert "GET /nohead" in Handler.hits  # a server refusing HEAD is asked with GET
    Handler.hits.clear()
    again = run("links", "--content", content, "--cache", cache)
    assert again.exit_code == 1 and Handler.hits == []  # answered from the cache


def test_links_offline_asks_no_server_and_flags_duplicates(content, server, tmp_path):
    point_links_at(content, server)
    p = content / "offers" / "tolk.yaml"
    p.write_text(p.read_text().replace("links:\n", f"links:\n  - title: Igjen\n    url: {server}/nohead\n    owner: nav\n"))
    result = run("links", "--offline", "--content", content, "--cache", tmp_path / "c.json")
    assert result.exit_code == 0 and Handler.hits == []
    assert re.search(r"tolk\.yaml:\d+:\d+: warning: link '.*/nohead' is listed twice in offer tolk", result.output)
