"""Check every external link in the content: the report found dead links on regional sites.

Offline: syntax and duplicates only. Online: a HEAD (then GET) per distinct URL, a few at a
time, with a timeout, and a cache so a re-run within `max_age` asks nobody again.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .content.convert import is_web_url
from .content.model import Content
from .errors import Pos, Problem

USER_AGENT = "mulighetskart-linkcheck/1 (+https://www.imdi.no/)"


@dataclass(frozen=True)
class LinkUse:
    url: str
    pos: Pos
    what: str  # e.g. "offer amo"


@dataclass(frozen=True)
class Result:
    url: str
    ok: bool
    detail: str  # "200", "404", "timeout", …
    checked_at: float


def link_uses(c: Content) -> list[LinkUse]:
    """Every URL in the content with the place it is written."""
    uses = []
    for kind, items in (("offer", c.offers), ("financing", c.financing), ("term", c.terms), ("language requirement", c.languages.requirements)):
        for item in items:
            uses += [LinkUse(link.url, link.loc.of("url"), f"{kind} {item.id}") for link in item.links]
    uses += [LinkUse(a.url, a.loc.of("url"), f"actor {a.id}") for a in c.actors]
    uses += [LinkUse(s.url, s.loc.of("url"), f"source {s.id}") for s in c.sources if s.url]
    return sorted(uses, key=lambda u: (u.pos, u.url))


def offline_problems(uses: list[LinkUse]) -> list[Problem]:
    problems = []
    by_item = defaultdict(list)
    for use in uses:
        if not is_web_url(use.url):
            problems.append(Problem(use.pos, f"link '{use.url}' is not an http(s) address"))
        by_item[(use.what, use.url)].append(use)
    for (what, url), same in sorted(by_item.items()):
        for dup in same[1:]:
            problems.append(Problem(dup.pos, f"link '{url}' is listed twice in {what} (first at {same[0].pos})", severity="warning"))
    return problems


def check_online(uses: list[LinkUse], cache_file: Path, max_age: float, timeout: float = 10.0, workers: int = 6) -> list[Problem]:
    cache = _read_cache(cache_file)
    now = time.time()
    urls = sorted({u.url for u in uses if is_web_url(u.url)})
    fresh = {url: cache[url] for url in urls if url in cache and now - cache[url].checked_at < max_age}
    todo = [url for url in urls if url not in fresh]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(todo, pool.map(lambda url: probe(url, timeout), todo), strict=True))
    _write_cache(cache_file, {**cache, **results})
    results.update(fresh)
    return [Problem(u.pos, f"broken link '{u.url}' ({results[u.url].detail})") for u in uses if u.url in results and not results[u.url].ok]


def probe(url: str, timeout: float) -> Result:
    """HEAD first; some servers refuse HEAD, so a 4xx/5xx is retried as GET."""
    detail = "?"
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Result(url, True, str(response.status), time.time())
        except urllib.error.HTTPError as exc:
            detail = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            detail = "timeout" if "timed out" in str(reason) else f"unreachable: {reason}"
            break  # a network failure will not change with GET
    return Result(url, False, detail, time.time())


def _read_cache(path: Path) -> dict[str, Result]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {url: Result(url, r["ok"], r["detail"], r["checked_at"]) for url, r in data.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_cache(path: Path, results: dict[str, Result]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {url: {"ok": r.ok, "detail": r.detail, "checked_at": r.checked_at} for url, r in sorted(results.items())}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
