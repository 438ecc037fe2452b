"""The validated guide kept between builds: a no-op build skips parsing YAML, but an edit,
an error or a damaged cache entry is never hidden by it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mulighetskart.content import cached, load_content
from mulighetskart.content.cached import KEEP, load_content_cached
from mulighetskart.errors import ContentError

from .conftest import FIXTURE_CONTENT


@pytest.fixture
def content(tmp_path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, root)
    return root


def retitle(root: Path, title: str) -> Path:
    offer = sorted((root / "offers").glob("*.yaml"))[0]
    text = offer.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("title:"))
    offer.write_text(text.replace(line, f"title: {title}"), encoding="utf-8")
    return offer


def test_the_second_load_comes_from_the_cache_and_equals_a_fresh_one(content, tmp_path):
    cache = tmp_path / "cache"
    first = load_content_cached(content, cache)
    assert len(list(cache.glob("*.pickle"))) == 1
    again = load_content_cached(content, cache)
    assert again == first == load_content(content)


def test_an_edit_is_seen_at_once(content, tmp_path):
    cache = tmp_path / "cache"
    load_content_cached(content, cache)
    offer = retitle(content, "Et helt nytt navn")
    loaded = load_content_cached(content, cache)
    assert "Et helt nytt navn" in {o.title for o in loaded.content.offers}
    assert loaded.content.inputs_sha256 == load_content(content).content.inputs_sha256
    assert offer.stem in {o.id for o in loaded.content.offers}


def test_errors_are_reported_every_time_and_never_kept(content, tmp_path):
    cache = tmp_path / "cache"
    retitle(content, "[unclosed")
    for _ in range(2):
        with pytest.raises(ContentError) as caught:
            load_content_cached(content, cache)
        assert any(p.severity == "error" for p in caught.value.problems)
    assert not list(cache.glob("*.pickle"))


def test_strict_mode_is_not_answered_from_a_lenient_entry(content, tmp_path):
    cache = tmp_path / "cache"
    offer = content / "offers" / "amo.yaml"
    offer.write_text(offer.read_text(encoding="utf-8").replace("    owner: nav\n", ""), encoding="utf-8")
    lenient = load_content_cached(content, cache)
    assert any("has no owner" in str(w) for w in lenient.warnings)
    with pytest.raises(ContentError):
        load_content_cached(content, cache, strict=True)


def test_a_damaged_entry_is_validated_again_and_replaced(content, tmp_path):
    cache = tmp_path / "cache"
    first = load_content_cached(content, cache)
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    assert load_content_cached(content, cache) == first
    assert entry.read_bytes() != b"not a pickle"


def test_old_entries_are_dropped(content, tmp_path):
    cache = tmp_path / "cache"
    for i in range(KEEP + 3):
        retitle(content, f"Tittel nummer {i}")
        load_content_cached(content, cache)
    assert len(list(cache.glob("*.pickle"))) == KEEP


def test_fresh_validates_again_and_keeps_the_result(content, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    load_content_cached(content, cache)
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(b"stale")
    calls = []
    monkeypatch.setattr(cached, "load_content", lambda *a, **k: calls.append(a) or load_content(*a, **k))
    load_content_cached(content, cache, fresh=True)
    assert calls and entry.read_bytes() != b"stale"
