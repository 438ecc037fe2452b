"""Every fragment survives a real strict CMS editor unchanged: Wagtail (from PyPI, on SQLite)
with its default rich-text features.

The test imports each package as IMPORT.md tells an importer to, into Wagtail's own models:
pass 1 creates a page per item under its parent (the item's uuid as the page's key) and
uploads the illustrations the fragments show; pass 2 writes each fragment into Wagtail's
stored format (links between fragments become page links, images become image embeds).
Then it does what the editor does when a page is opened and saved: stored HTML → Draftail
contentstate → stored HTML. Mapped back, the result must hold every element, every
meaningful attribute (href, src, alt) and every word of the fragment, in order; renaming
strong to b or em to i is no loss. A second import of the same package creates and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest

from .test_fragments import built

SAME = {"b": "strong", "i": "em", "embed": "img"}  # what Wagtail stores instead, with the same meaning
MEANINGFUL = {"a": ("href",), "img": ("src", "alt")}


@pytest.fixture(scope="module")
def wagtail():
    """Wagtail on a fresh in-memory SQLite database, every migration applied."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="only-for-this-test", USE_TZ=True, ROOT_URLCONF="wagtail.urls",
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions", "django.contrib.messages",
                            "django.contrib.staticfiles", "taggit", "modelcluster", "wagtail", "wagtail.admin", "wagtail.users",
                            "wagtail.sites", "wagtail.images", "wagtail.documents", "wagtail.embeds"],
            MEDIA_ROOT=tempfile.mkdtemp(prefix="mulighetskart-wagtail-"), MEDIA_URL="/media/", STATIC_URL="/static/",
            WAGTAIL_SITE_NAME="test", WAGTAILADMIN_BASE_URL="http://localhost",
            TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        )
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    from wagtail.admin.rich_text.converters.contentstate import ContentstateConverter
    from wagtail.rich_text import features

    return ContentstateConverter(features.get_default_features())


class Importer:
    """The two passes of IMPORT.md, into Wagtail pages and images."""

    def __init__(self, folder: Path, root_title: str):
        from wagtail.models import Page

        self.folder = folder
        self.manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        root = Page.get_first_root_node()
        self.home = root.add_child(instance=Page(title=root_title, slug=re.sub(r"[^a-z0-9-]", "-", root_title.lower())[:50]))
        self.pages: dict[str, int] = {}  # item file → page id
        self.images: dict[str, int] = {}  # asset file → image id
        self.created = self.updated = 0

    def first_pass(self) -> None:
        """Create or find a page per item (by uuid), under its parent, in order; upload the images."""
        from django.core.files.images import ImageFile
        from wagtail.images.models import Image
        from wagtail.models import Page

        by_id = {}
        for item in self.manifest["items"]:
            modified = dt.datetime.fromisoformat(item["date_modified"].replace("Z", "+00:00"))
            page = Page.objects.filter(translation_key=item["uuid"]).first()
            if page is None:
                parent = by_id[item["parent"]] if item["parent"] else self.home
                page = parent.add_child(instance=Page(title=item["title"], slug=f"{item['type']}-{item['slug']}", translation_key=item["uuid"],
                                                      search_description=item["summary"], last_published_at=modified))
                self.created += 1
            elif page.last_published_at != modified:
                page.title, page.search_description, page.last_published_at = item["title"], item["summary"], modified
                page.save()
                self.updated += 1
            by_id[item["id"]] = page
            self.pages[item["file"]] = page.id
            for asset in item["assets"]:
                if asset["embedded"] and asset["file"] not in self.images:
                    with (self.folder / asset["file"]).open("rb") as f:
                        image = Image(title=asset["alt"][:255], file=ImageFile(f, name=Path(asset["file"]).name))
                        image.save()
                    self.images[asset["file"]] = image.id

    def stored(self, html: str) -> str:
        """Pass 2: the fragment in Wagtail's stored format."""
        def link(m: re.Match) -> str:
            href = m[1]
            return f'<a linktype="page" id="{self.pages[href]}">' if href in self.pages else m[0]

        def image(m: re.Match) -> str:
            return f'<embed embedtype="image" id="{self.images[m[1]]}" format="fullwidth" alt="{m[2]}"/>'

        return re.sub(r'<img src="([^"]+)" alt="([^"]*)" />', image, re.sub(r'<a href="([^"]+)">', link, html))


class Shape(HTMLParser):
    """Elements (tag and meaningful attributes, in order) and the words of a fragment; Wagtail's
    page links and image embeds are mapped back to the fragment's paths."""

    def __init__(self, html: str, pages: dict[int, str] | None = None, images: dict[int, str] | None = None):
        super().__init__(convert_charrefs=True)
        self.pages, self.images = pages or {}, images or {}
        self.elements: list[tuple] = []
        self.words: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        tag = SAME.get(tag, tag)
        if a.get("linktype") == "page":
            a["href"] = self.pages.get(int(a["id"]), f"page {a['id']}")
        if a.get("embedtype") == "image":
            a["src"] = self.images.get(int(a["id"]), f"image {a['id']}")
        self.elements.append((tag, *((k, a.get(k)) for k in MEANINGFUL.get(tag, ()))))

    def handle_data(self, data):
        self.words += data.split()


def lost_in(before: Shape, after: Shape) -> bool:
    """Something of `before` is missing from `after`: an element (in order; an empty paragraph
    the editor adds before an image is no loss) or a word."""
    rest = iter(after.elements)
    return not all(e in rest for e in before.elements) or before.words != after.words


def roundtrip(converter, importer: Importer, html: str) -> tuple[Shape, Shape]:
    stored = importer.stored(html)
    saved = converter.to_database_format(converter.from_database_format(stored))
    pages = {v: k for k, v in importer.pages.items()}
    images = {v: k for k, v in importer.images.items()}
    return Shape(html), Shape(saved, pages, images)


@pytest.mark.parametrize("guide", ["shipped", "fixture", "hostile"])
def test_every_fragment_survives_the_wagtail_editor(wagtail, tmp_path_factory, guide):
    folder = built(tmp_path_factory, guide)
    importer = Importer(folder, f"veileder {guide}")
    importer.first_pass()
    lost = {}
    for item in importer.manifest["items"]:
        html = (folder / item["file"]).read_text(encoding="utf-8")
        before, after = roundtrip(wagtail, importer, html)
        if lost_in(before, after):
            lost[item["id"]] = {"elements": [e for e in before.elements if e not in after.elements] or "order changed",
                                "words": before.words != after.words}
    assert lost == {}, f"{len(lost)} fragments changed in the editor"
    checked = sum(len(Shape((folder / i["file"]).read_text(encoding="utf-8")).elements) for i in importer.manifest["items"])
    assert checked > 100 and importer.images, "the comparison saw the fragments, their links and their images"


def test_reimporting_an_unchanged_package_creates_and_updates_nothing(wagtail, tmp_path_factory):
    folder = built(tmp_path_factory, "fixture")
    importer = Importer(folder, "veileder gjentatt")
    importer.first_pass()  # creates the pages, or finds those an earlier test imported
    assert len(importer.pages) == len(importer.manifest["items"])
    again = Importer.__new__(Importer)
    again.__dict__.update(importer.__dict__, created=0, updated=0)
    again.first_pass()
    assert (again.created, again.updated) == (0, 0)
    assert again.pages == importer.pages


def test_the_comparison_notices_a_loss(wagtail, tmp_path_factory):
    """What the old fragments held (a definition list, a table, an unclosed img) is reported as lost."""
    importer = Importer(built(tmp_path_factory, "fixture"), "veileder tap")
    for html in ("<dl><dt>Målgruppe</dt><dd>Voksne</dd></dl>", "<table><tr><th>A1</th><td>Nybegynner</td></tr></table>",
                 '<p>Kart:</p><img src="assets/kart.png" alt="Kartet"><p>Tekst</p>'):
        try:
            before, after = roundtrip(wagtail, importer, html)
        except Exception:  # the editor failing on it is noticing it too
            continue
        assert lost_in(before, after), html
