"""The preview as the recommended CMS set-up: a small site on disk with a navigation tree of every
manifest item (whole on the front page, the page's branch on an item page), one wireframe page template per item type, links and illustrations that work,
the shipped fonts, and nothing of it in the fragments. In headless Chromium no page scrolls
sideways at phone (390 px) or desktop (1280 px) width."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .chromium import CHROMIUMS, Chromium, need
from .test_fragments import Elements, built, items, load

WIDTHS = (390, 1280)


class Nav(HTMLParser):
    """The links of the page's <nav>, in order, and the one marked as the current page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.depth, self.links, self.current = 0, [], None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav":
            self.depth += 1
        elif tag == "a" and self.depth:
            self.links.append(a["href"])
            if a.get("aria-current") == "page":
                self.current = a["href"]

    def handle_endtag(self, tag):
        if tag == "nav":
            self.depth -= 1


def preorder(records: list[dict], parent=None) -> list[str]:
    kids = sorted((r for r in records if r["parent"] == parent), key=lambda r: r["order"])
    return [x for r in kids for x in (r["file"], *preorder(records, r["id"]))]


def preview_pages(folder: Path) -> list[Path]:
    return sorted((folder / "preview").rglob("*.html"))


def resolve(page: Path, href: str) -> Path:
    return (page.parent / href.split("#")[0]).resolve()


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    return built(tmp_path_factory, "fixture")


def branch_of(records: list[dict], item_id: str) -> list[str]:
    """What an item page's navigation shows: the top level, each level on the way down with its
    siblings, the item's children; in tree order."""
    by_id = {r["id"]: r for r in records}
    path, at = set(), item_id
    while at:
        path.add(at)
        at = by_id[at]["parent"]

    def walk(parent) -> list[str]:
        kids = sorted((r for r in records if r["parent"] == parent), key=lambda r: r["order"])
        return [x for r in kids for x in (r["file"], *(walk(r["id"]) if r["id"] in path else ()))]

    return walk(None)


def test_the_front_page_lists_every_item_in_tree_order_and_every_page_has_one(package):
    manifest = load(package, "manifest.json")["items"]
    pages = preview_pages(package)
    assert {p.relative_to(package / "preview").as_posix() for p in pages} == {i["file"] for i in manifest} | {"index.html"}
    order = preorder(manifest)
    assert sorted(order) == sorted(i["file"] for i in manifest), "every item is in the tree once"
    index = package / "preview" / "index.html"
    nav = Nav(index.read_text(encoding="utf-8"))
    assert [resolve(index, h) for h in nav.links] == [index.resolve(), *((package / "preview" / f).resolve() for f in order)]
    assert resolve(index, nav.current) == index.resolve()


def test_an_item_page_shows_its_branch_of_the_tree(package):
    manifest = load(package, "manifest.json")["items"]
    index = (package / "preview" / "index.html").resolve()
    for item in manifest:
        page = package / "preview" / item["file"]
        nav = Nav(page.read_text(encoding="utf-8"))
        targets = [resolve(page, h) for h in nav.links]
        assert targets == [index, *((package / "preview" / f).resolve() for f in branch_of(manifest, item["id"]))], item["id"]
        assert nav.current is not None and resolve(page, nav.current) == page.resolve(), f"{item['id']} marks itself as current"
    page = package / "preview" / "offer" / "amo.html"
    shown = {resolve(page, h).relative_to((package / "preview").resolve()).as_posix() for h in Nav(page.read_text(encoding="utf-8")).links}
    assert "offer/arbeidstrening.html" in shown and "offer/norskopplaering.html" not in shown, "siblings open, other branches closed"


def test_links_and_images_resolve_inside_the_package(package):
    for page in preview_pages(package):
        for tag, attrs in Elements(page.read_text(encoding="utf-8")).tags:
            ref = attrs.get("href") if tag in ("a", "link") else attrs.get("src") if tag == "img" else None
            if ref is None or re.match(r"(https?|mailto):", ref) or ref.startswith("#"):
                continue
            assert resolve(page, ref).is_file(), f"{page.relative_to(package)}: {ref}"
            if tag == "a":
                assert resolve(page, ref).is_relative_to((package / "preview").resolve()), "links between fragments stay in the preview"


def test_an_offer_page_shows_its_regions_with_key_facts_and_date(package):
    html = (package / "preview" / "offer" / "amo.html").read_text(encoding="utf-8")
    for name in ("title", "ingress", "key_facts", "body", "related", "updated"):
        assert f'<div class="region region-{name}">' in html, name
    labels = re.findall(r'<p class="region-label">([^<]+)</p>', html)
    assert {"Tittel", "Ingress", "Nøkkelinformasjon", "Brødtekst", "Relaterte lenker", "Sist oppdatert"} <= set(labels)
    facts = html[html.index('region-key_facts">') : html.index('<div class="column-main">')]
    assert "<strong>Målgruppe</strong>" in facts and "<strong>Varighet</strong>" in facts
    date = items(package)["offer:amo"]["date_modified"]
    assert f'<time datetime="{date}">26.11.2026</time>' in html


def test_illustrations_sit_in_their_region_with_alt_and_caption(package):
    amal = (package / "preview" / "persona" / "amal.html").read_text(encoding="utf-8")
    assets = [a for a in items(package)["persona:amal"]["assets"] if a["embedded"]]
    assert {a["role"] for a in assets} == {"timeline", "route"}
    for a in assets:
        assert f'<figure><img src="../../{a["file"]}" alt="{a["alt"]}" /><figcaption>{a["caption"]}</figcaption></figure>' in amal
    assert amal.count('<div class="region region-illustration">') == 2


def test_a_translation_shows_in_its_language_and_direction_in_a_norwegian_frame(package):
    arabic = items(package)["page:sprakniva-ar"]
    html = (package / "preview" / arabic["file"]).read_text(encoding="utf-8")
    assert html.startswith('<!DOCTYPE html>\n<html lang="nb">'), "the site around the page stays Norwegian"
    assert f'<h1 lang="ar" dir="rtl">{arabic["title"]}</h1>' in html
    body = html[html.index('region-body">') :]
    assert body.index('<div lang="ar" dir="rtl">') < body.index("مبتدئ"), "the fragment's text is marked as Arabic, right to left"
    assert '<p class="region-label">Brødtekst</p>' in body, "the wireframe's labels stay Norwegian"
    cefr = (package / "preview" / "page" / "sprakniva.html").read_text(encoding="utf-8")
    assert re.search(r'<a href="[^"]*sprakniva-ar\.html" lang="ar" dir="rtl">', cefr), "the navigation marks the link to it too"
    english = (package / "preview" / items(package)["page:sprakniva-en"]["file"]).read_text(encoding="utf-8")
    assert '<h1 lang="en" dir="ltr">' in english


def test_shipped_fonts_and_theme_colours_only_in_the_preview(package, theme):
    css = (package / "preview" / "preview.css").read_text(encoding="utf-8")
    fonts = re.findall(r'url\("([^"]+)"\)', css)
    assert len(fonts) == 3 and all((package / "preview" / f).read_bytes()[:4] == b"wOF2" for f in fonts)
    assert theme.colour("programme") in css and theme.colour("ink") in css
    for item in load(package, "manifest.json")["items"]:
        html = (package / item["file"]).read_text(encoding="utf-8")
        assert "class=" not in html and "style" not in html and "region" not in html, item["id"]


# ---- in a browser ----

@pytest.fixture(scope="module")
def browser():
    chromium = Chromium(need("chromium", CHROMIUMS))
    chromium.call("Page.enable", page=True)
    try:
        yield chromium
    finally:
        chromium.close()


WIDER = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def wider_pages(browser: Chromium, pages: list[Path], width: int) -> dict[str, list[int]]:
    browser.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}, page=True)
    out = {}
    for page in pages:
        browser.open(page.as_uri())
        scroll, client = browser.evaluate(WIDER)
        if scroll > client:
            out[page.name] = [scroll, client]
    return out


@pytest.mark.parametrize("guide", ["fixture", "shipped"])
def test_no_page_scrolls_sideways_on_a_phone_or_a_desktop(browser, tmp_path_factory, guide):
    pages = preview_pages(built(tmp_path_factory, guide))
    for width in WIDTHS:
        assert wider_pages(browser, pages, width) == {}, f"pages wider than {width} px"


def test_the_width_check_notices_a_wide_page(browser, tmp_path):
    page = tmp_path / "wide.html"
    page.write_text('<!DOCTYPE html><html lang="nb"><head><meta name="viewport" content="width=device-width"><title>x</title></head>'
                    '<body><p style="width:900px">bred</p></body></html>', encoding="utf-8")
    assert wider_pages(browser, [page], 390) != {}


def test_screenshots_in_the_docs_are_of_the_preview():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name in ("preview-phone.png", "preview-desktop.png"):
        assert (root / "docs" / "img" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"docs/img/{name}" in readme
