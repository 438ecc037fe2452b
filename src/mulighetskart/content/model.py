"""The guide's content model: one frozen dataclass per kind of item.

Each field is declared once here, with its type and markers (fields.py); the loader, the
validator and the JSON Schema all follow these declarations. Optional fields have defaults.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

from .fields import ID_PATTERN, LANG_TAG, Doc, Loc, Markdown, MaxLen, MinLen, Ref, Url, located

Id = Annotated[str, ID_PATTERN]
Text = Annotated[str, MinLen(1)]
Md = Annotated[str, Markdown()]
MdText = Annotated[str, Markdown(), MinLen(1)]  # Markdown that must not be empty
Cefr = Literal["A1", "A2", "B1", "B2", "C1", "C2"]

ActorKind = Literal["stat", "fylkeskommune", "kommune", "frivillig", "arbeidsgiver", "privat"]
Zone = Literal["start", "lane", "programme", "livelihood"]
Rights = Literal["rett-og-plikt", "rett", "etter-vurdering", "apent"]
OfferKind = Literal["offer", "programme"]
MAP_TEXT_DOC = "complete short text on the map, measured to fit its box; empty: the summary (it must fit then)"


@dataclass(frozen=True)
class Link:
    title: Text
    url: Annotated[str, Url()]
    owner: Annotated[str, Ref("actor"), Doc("id of the actor that owns the page")] | None = None
    loc: Loc = located()


@dataclass(frozen=True)
class SourceRef:
    ref: Annotated[str, Ref("source")]
    section: Annotated[str, Doc("section of the source, e.g. '3.2' or '3.1.1'")] = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Goal:
    id: Id
    title: Text
    summary: Annotated[Text, MaxLen(200)] = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Legend:
    """The map legend's line for each zone, in the guide's own words; a zone the guide says
    nothing about gets the theme's plain name for it."""

    start: str = ""
    lanes: str = ""
    livelihood: str = ""
    goal: str = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Defaults:
    """What an item that is silent on a point is taken to say; nothing is printed when empty."""

    language_requirement: Annotated[str, Doc("shown for an offer without a language requirement, e.g. 'Ingen formelle krav'")] = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Guide:
    """content/guide.yaml: the front matter of the whole guide."""

    title: Text
    subtitle: Text
    edition: Text
    updated: dt.date
    publisher: Text
    url: Annotated[str, Url(), Doc("the guide's own web address; it names the guide, so its CMS fragments get uuids no other guide has")]
    intro: Md
    disclaimer: Md
    language: Annotated[Literal["nb", "nn", "en"], Doc("the language of the content; the outputs' fixed wording follows it")] = "nb"
    goals: tuple[Goal, ...] = ()
    offer_url: Annotated[str, Doc("where the CMS shows an offer, e.g. '/tilbud/{id}/'; the map links each offer box there (none when empty)")] = ""
    legend: Legend = Legend()
    defaults: Defaults = Defaults()
    logo: Annotated[str, Doc("a PNG file beside this file (guide.yaml, or edition.yaml for an edition), shown on the handbook's cover")] = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Group:
    id: Id
    title: Text
    level: Annotated[int, Doc("education level for ordering: 1 grunnskole, 2 videregående, 3 fagskole/høyere")] | None = None
    loc: Loc = located()


@dataclass(frozen=True)
class Category:
    id: Id
    title: Text
    summary: Annotated[Text, MaxLen(200)]
    zone: Annotated[Zone, Doc("where the map places it: start, a parallel lane, programme frames, livelihood band")]
    order: int
    colour: Annotated[str, ID_PATTERN, Doc("colour token defined in layouts/theme.yaml")]
    body: Md = ""
    groups: tuple[Group, ...] = ()
    map_text: Annotated[str, MaxLen(160), Doc(MAP_TEXT_DOC)] = ""
    loc: Loc = located()

    @property
    def map_summary(self) -> str:
        return self.map_text or self.summary


@dataclass(frozen=True)
class Actor:
    id: Id
    name: Text
    short: Annotated[Text, MaxLen(24)]
    kind: ActorKind
    url: Annotated[str, Url()]
    summary: Annotated[str, MaxLen(300)] = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Financing:
    """A way to cover livelihood (livsopphold) while taking part in offers."""

    id: Id
    title: Text
    summary: Annotated[Text, MaxLen(200)]
    actor: Annotated[str, Ref("actor")]
    body: Md
    pitfalls: tuple[Text, ...] = ()
    links: tuple[Link, ...] = ()
    sources: tuple[SourceRef, ...] = ()
    loc: Loc = located()


@dataclass(frozen=True)
class LanguageRequirement:
    level: Annotated[Cefr, Doc("lowest CEFR level asked for")] | None = None
    note: str = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Offer:
    """content/offers/<id>.yaml: one offer (tilbud, tiltak or programme)."""

    id: Id
    title: Text
    summary: Annotated[Text, MaxLen(200), Doc("shown on the map and in teasers")]
    category: Annotated[str, Ref("category")]
    actors: Annotated[tuple[Annotated[str, Ref("actor")], ...], MinLen(1), Doc("responsible actors")]
    target_group: Text
    rights: Rights
    duration: Text
    body: MdText
    links: Annotated[tuple[Link, ...], MinLen(1)]
    sources: Annotated[tuple[SourceRef, ...], MinLen(1)]
    short_title: Annotated[str, MaxLen(40), Doc("shorter title for the map")] = ""
    map_text: Annotated[str, MaxLen(160), Doc(MAP_TEXT_DOC)] = ""
    kind: OfferKind = "offer"
    group: Annotated[str, Doc("id of a group in the offer's category")] = ""
    order: Annotated[int, Doc("position inside its group on the map")] = 0
    holds: Annotated[tuple[Annotated[str, Ref("category")], ...], Doc("programmes: categories it can hold offers from")] = ()
    rights_note: str = ""
    language: LanguageRequirement = LanguageRequirement()
    legal_basis: str = ""
    livelihood: tuple[Annotated[str, Ref("financing")], ...] = ()
    combines_with: tuple[Annotated[str, Ref("offer")], ...] = ()
    leads_to: tuple[Annotated[str, Ref("offer")], ...] = ()
    loc: Loc = located()

    @property
    def map_title(self) -> str:
        return self.short_title or self.title

    @property
    def map_summary(self) -> str:
        return self.map_text or self.summary


# An offer's prose, which only the handbook and the CMS fragments print (not the drawings).
OFFER_PROSE = ("body", "links", "sources", "target_group", "rights", "rights_note", "duration", "legal_basis", "language")


@dataclass(frozen=True)
class Background:
    education: Text
    work: Text
    norwegian: Annotated[Cefr, Doc("Norwegian level now")] | None = None
    family: str = ""
    health: str = ""
    residence: Annotated[str, Doc("residence basis, e.g. flyktning, familiegjenforent, arbeidsinnvandrer")] = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Goals:
    short: Text
    long: Text
    loc: Loc = located()


@dataclass(frozen=True)
class Phase:
    title: Text
    start_month: Annotated[int, Doc("months since the journey began")]
    end_month: int
    offers: Annotated[tuple[Annotated[str, Ref("offer")], ...], MinLen(1), Doc("offers taken in parallel")]
    responsible: Annotated[tuple[Annotated[str, Ref("actor")], ...], MinLen(1)]
    livelihood: Annotated[tuple[Annotated[str, Ref("financing")], ...], MinLen(1)]
    transition: Annotated[str, Doc("what happens in the move to the next phase")] = ""
    note: Md = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Persona:
    """content/personas/<id>.yaml: a constructed person and their journey."""

    id: Id
    name: Text
    age: int
    origin: Text
    summary: Annotated[Text, MaxLen(200)]
    background: Background
    goals: Goals
    journey: Annotated[tuple[Phase, ...], MinLen(1)]
    body: Md = ""
    loc: Loc = located()


@dataclass(frozen=True)
class Term:
    id: Id
    term: Text
    definition: Text
    links: tuple[Link, ...] = ()
    loc: Loc = located()


@dataclass(frozen=True)
class CefrLevel:
    level: Cefr
    title: Text
    description: Text
    loc: Loc = located()


@dataclass(frozen=True)
class Source:
    id: Id
    title: Text
    author: Text
    year: int
    publisher: str = ""
    url: Annotated[str, Url()] | None = None
    sections: Annotated[tuple[Text, ...], Doc("the source's chapters and sections; when listed, every cited section must be one of them")] = ()
    loc: Loc = located()


@dataclass(frozen=True)
class LanguageRule:
    """The Norwegian level asked for at one step outside the offers: a level of education,
    permanent residence, citizenship. Public rules change: keep them general and link the owner."""

    id: Id
    title: Text
    kind: Annotated[Literal["education", "residence"], Doc("education: admission to a level of education; residence: permanent residence or citizenship")]
    note: Text
    links: Annotated[tuple[Link, ...], MinLen(1), Doc("the owner's pages where the rule is stated")]
    level: Annotated[Cefr, Doc("the level asked for, if there is one")] | None = None
    sources: tuple[SourceRef, ...] = ()
    loc: Loc = located()


ReviewStatus = Literal["draft", "reviewed"]


@dataclass(frozen=True)
class Review:
    """Whether a translator has checked a translation; shown with it until they have."""

    status: Annotated[ReviewStatus, Doc("draft until a translator has checked it")]
    reviewer: Annotated[str, Doc("who checked it (required when reviewed)")] = ""
    date: Annotated[dt.date, Doc("when it was checked (required when reviewed)")] | None = None
    loc: Loc = located()


@dataclass(frozen=True)
class CefrText:
    level: Cefr
    title: Text
    description: Text
    loc: Loc = located()


@dataclass(frozen=True)
class CefrTranslation:
    """The CEFR levels in plain language in one mother tongue, for a handout and a fragment."""

    lang: Annotated[str, LANG_TAG, Doc("BCP 47 language tag, e.g. 'ar', 'ti', 'fa'")]
    name: Annotated[Text, Doc("the language's own name for itself, e.g. 'العربية'")]
    name_nb: Annotated[Text, Doc("the language's name in Norwegian, e.g. 'Arabisk'")]
    title: Text
    intro: Text
    levels: Annotated[tuple[CefrText, ...], MinLen(1)]
    review: Review
    dir: Annotated[Literal["ltr", "rtl"], Doc("writing direction: rtl for Arabic script")] = "ltr"
    loc: Loc = located()


@dataclass(frozen=True)
class LanguagesFile:
    """content/languages.yaml: the Norwegian level asked for outside the offers, and the CEFR
    levels in the mother tongues (report 7.3)."""

    checked: Annotated[dt.date, Doc("when the public rules were last checked against the owners' pages")]
    intro: Md
    requirements: tuple[LanguageRule, ...]
    cefr_title: Annotated[Text, Doc("heading of the Norwegian original of the CEFR descriptions (glossary.yaml)")]
    cefr_intro: Text
    translations: tuple[CefrTranslation, ...] = ()
    loc: Loc = located()


# The files of content/: collection files hold one list under one key.
@dataclass(frozen=True)
class CategoriesFile:
    categories: Annotated[tuple[Category, ...], MinLen(1)]
    loc: Loc = located()


@dataclass(frozen=True)
class ActorsFile:
    actors: Annotated[tuple[Actor, ...], MinLen(1)]
    loc: Loc = located()


@dataclass(frozen=True)
class FinancingFile:
    financing: tuple[Financing, ...]
    loc: Loc = located()


@dataclass(frozen=True)
class GlossaryFile:
    terms: tuple[Term, ...]
    cefr: tuple[CefrLevel, ...] = ()
    loc: Loc = located()


@dataclass(frozen=True)
class SourcesFile:
    sources: Annotated[tuple[Source, ...], MinLen(1)]
    loc: Loc = located()


@dataclass(frozen=True)
class Content:
    """The whole validated guide, passed unchanged from stage to stage."""

    guide: Guide
    categories: tuple[Category, ...]  # in reading order (order, id): sorted once, by the loader
    actors: tuple[Actor, ...]
    financing: tuple[Financing, ...]
    offers: tuple[Offer, ...]
    personas: tuple[Persona, ...]
    terms: tuple[Term, ...]
    cefr: tuple[CefrLevel, ...]
    sources: tuple[Source, ...]
    languages: LanguagesFile
    inputs_sha256: str = ""
    logo_png: bytes = b""  # the file guide.logo names, read and checked by the loader

    def offer(self, id: str) -> Offer:
        return _by_id(self.offers)[id]

    def category(self, id: str) -> Category:
        return _by_id(self.categories)[id]

    def actor(self, id: str) -> Actor:
        return _by_id(self.actors)[id]

    def financing_item(self, id: str) -> Financing:
        return _by_id(self.financing)[id]

    def source(self, id: str) -> Source:
        return _by_id(self.sources)[id]

    def offers_in(self, category_id: str) -> tuple[Offer, ...]:
        """Offers of a category in map order: group order, then `order`, then title."""
        cat = self.category(category_id)
        group_rank = {g.id: i for i, g in enumerate(cat.groups)}
        mine = [o for o in self.offers if o.category == category_id]
        return tuple(sorted(mine, key=lambda o: (group_rank.get(o.group, -1), o.order, o.title, o.id)))


def _by_id(items):
    return {i.id: i for i in items}


# One place says which file holds which model; load.py and schema.py both follow it.
COLLECTION_FILES = {
    "guide.yaml": Guide,
    "categories.yaml": CategoriesFile,
    "actors.yaml": ActorsFile,
    "financing.yaml": FinancingFile,
    "glossary.yaml": GlossaryFile,
    "sources.yaml": SourcesFile,
    "languages.yaml": LanguagesFile,
}
ITEM_DIRS = {"offers": Offer, "personas": Persona}

# Where the ids each reference kind (fields.Ref) points at are defined: a collection file and
# its list, or an item folder (one item per file).
ID_SOURCES = {
    "category": ("categories.yaml", "categories"),
    "actor": ("actors.yaml", "actors"),
    "financing": ("financing.yaml", "financing"),
    "source": ("sources.yaml", "sources"),
    "term": ("glossary.yaml", "terms"),
    "offer": ("offers", None),
    "persona": ("personas", None),
}
