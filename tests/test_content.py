"""The shipped guide: complete enough to be useful, and written in our own words."""

from __future__ import annotations

import hashlib
import re

from .conftest import ROOT, SHIPPED_CONTENT

REPORT = ROOT.parent / "shared" / "seed" / "000_621298d49563d429.txt"
# The report's 12-word runs as sorted 6-byte BLAKE2b digests, so the check runs without the
# report itself; test_fingerprint_matches_the_report keeps it honest where the report is.
FINGERPRINT = ROOT / "tests" / "fixtures" / "report-shingles.bin"
RUN = 12  # consecutive words that may not match the report


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def shingles(ws: list[str], n: int = RUN) -> set[tuple[str, ...]]:
    return {tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)}


def digest(run: tuple[str, ...]) -> bytes:
    return hashlib.blake2b(" ".join(run).encode(), digest_size=6).digest()


def fingerprint(text: str) -> bytes:
    return b"".join(sorted({digest(r) for r in shingles(words(text))}))


def report_digests() -> set[bytes]:
    data = FINGERPRINT.read_bytes()
    return {data[i : i + 6] for i in range(0, len(data), 6)}


def test_no_run_of_twelve_words_copied_from_the_report():
    report = report_digests()
    copied = []
    for path in sorted(SHIPPED_CONTENT.rglob("*.yaml")):
        for run in sorted(shingles(words(path.read_text(encoding="utf-8")))):
            if digest(run) in report:
                copied.append(f"{path.relative_to(ROOT)}: {' '.join(run)}")
    assert not copied, "sentences copied from the report:\n" + "\n".join(copied)


def test_fingerprint_matches_the_report():
    if REPORT.exists():  # beside the project's checkout; the fingerprint stands in elsewhere
        assert FINGERPRINT.read_bytes() == fingerprint(REPORT.read_text(encoding="utf-8"))
    assert len(report_digests()) > 30000


def test_the_check_would_catch_a_copied_sentence():
    copied = "Vi skriver: Det er et politisk mål å øke sysselsettingen blant innvandrere i Norge. Selv om sysselsettingen"
    assert any(digest(r) in report_digests() for r in shingles(words(copied)))


def test_guide_is_complete(shipped_content):
    c = shipped_content
    assert len(c.offers) >= 35
    assert len(c.personas) >= 7
    for o in c.offers:
        assert any(link.url.startswith("https://") and link.owner for link in o.links), o.id
        assert o.sources and all(s.section for s in o.sources), o.id
        n = len(words(o.body))
        assert 80 <= n <= 300, f"{o.id}: body has {n} words"
    for p in c.personas:
        assert 3 <= len(p.journey) <= 8, p.id
        assert all(ph.transition for ph in p.journey[:-1]), p.id


def test_every_offer_is_visited_or_reachable(shipped_content):
    c = shipped_content
    seen = {o for p in c.personas for ph in p.journey for o in ph.offers}
    todo = list(seen)
    while todo:
        for nxt in c.offer(todo.pop()).leads_to:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert {o.id for o in c.offers} <= seen


def test_cefr_levels_a1_to_c1_are_explained(shipped_content):
    assert {"A1", "A2", "B1", "B2", "C1"} <= {lvl.level for lvl in shipped_content.cefr}


def test_cefr_levels_in_six_mother_tongues_each_with_its_review_status(shipped_content):
    translations = shipped_content.languages.translations
    assert len({t.lang for t in translations}) >= 6
    for t in translations:
        assert {lvl.level for lvl in t.levels} >= {"A1", "A2", "B1", "B2", "C1"}, t.lang
        assert t.review.status == "draft" or (t.review.reviewer and t.review.date), t.lang
    assert {t.lang: t.dir for t in translations if t.dir == "rtl"} == {"ar": "rtl", "fa": "rtl"}


def test_language_requirements_cover_education_residence_and_citizenship(shipped_content):
    rules = shipped_content.languages.requirements
    assert {r.kind for r in rules} == {"education", "residence"}
    assert {"hoyere-utdanning", "permanent-opphold", "statsborgerskap"} <= {r.id for r in rules}
    assert all(any(link.owner for link in r.links) for r in rules)
