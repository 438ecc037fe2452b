"""`serve`: a designer edits a file and the open page reloads; a mistake shows as a banner
and the server stays up."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import FIXTURE_CONTENT, LAYOUTS


@pytest.fixture
def server(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mulighetskart", "serve", "--content", str(content), "--layouts", str(LAYOUTS),
           "--out", str(out), "--port", "0", "--only", "map"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if m := re.search(r"at (http://127\.0\.0\.1:\d+/)", line):
            url = m.group(1)
    assert url, "server did not start"
    yield url, content, out, proc
    proc.terminate()
    proc.wait(timeout=10)


def listen(url: str):
    """Open the page's event stream, as live.js does, before anything changes."""
    return urllib.request.urlopen(url + "__events", timeout=60)


def next_event(events, within: float = 120) -> tuple[str, str]:
    """The next real event on an open stream; keep-alive comments (": …") are not events.
    Fails instead of waiting forever when none comes or the server hangs up."""
    lines: list[str] = []
    deadline = time.monotonic() + within
    while True:
        assert time.monotonic() < deadline, f"no event within {within} s"
        raw = events.readline()
        assert raw, "the server closed the event stream"
        line = raw.decode().rstrip("\n")
        if line.startswith(":") or (line == "" and not lines):
            continue
        if line == "":
            break
        lines.append(line)
    fields = dict(ln.split(": ", 1) for ln in lines if ": " in ln)
    return fields["event"], fields["data"]


def test_edit_rebuilds_and_reloads_then_error_shows_and_server_stays(server):
    url, content, out, proc = server
    index = urllib.request.urlopen(url).read().decode()
    assert "map/mulighetskart.svg" in index and "/__live.js" in index
    assert urllib.request.urlopen(url + "map/mulighetskart.svg").status == 200

    amo = content / "offers" / "amo.yaml"
    events = listen(url)
    amo.write_text(amo.read_text().replace("title: Arbeidsmarkedskurs (AMO)", "title: Arbeidsmarkedskurs i endret form"))
    event, _ = next_event(events)
    assert event == "reload"
    assert "Arbeidsmarkedskurs i endret form" in (out / "map" / "mulighetskart.svg").read_text()

    amo.write_text(amo.read_text().replace("rights: etter-vurdering", "rights: kanskje"))
    event, data = next_event(events)
    assert event == "problem" and "amo.yaml" in data and "'kanskje' is not one of" in data
    assert proc.poll() is None  # still serving
    page = urllib.request.urlopen(url).read().decode()
    assert 'role="alert"' in page and "kanskje" in page and "hidden>" not in page.split('id="problem"')[1][:20]
    assert "Arbeidsmarkedskurs i endret form" in (out / "map" / "mulighetskart.svg").read_text()  # last good output kept
    events.close()
