"""The handbook's plan: content → `Handbook`, a frozen page and chapter model in reading
order (pure: no I/O, no templates), and the theme section it is planned with.
render/handbook.py turns it into HTML and the two PDF editions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

from markupsafe import Markup

from ..colour import best_text
from ..content.fields import ID_PATTERN, Doc, Loc, MinLen, located
from ..content.model import Category, Content, Financing, Offer, Persona
from ..errors import BuildError
from ..markup import markdown_html
from ..theme import Theme
from .journey import journey_text, span_label

# --------------------------------------------------------------------------- theme section


@dataclass(frozen=True)
class Margins:
    top: Annotated[float, Doc("mm")]
    bottom: float
    inside: Annotated[float, Doc("mm; the binding side in print")]
    outside: float
    loc: Loc = located()


@dataclass(frozen=True)
class PageStyle:
    size: Annotated[str, MinLen(1), Doc("CSS page size, e.g. 'A4'")]
    margins: Margins
    safe_mm: Annotated[float, Doc("text keeps at least this far inside the trim")]
    loc: Loc = located()


@dataclass(frozen=True)
class EditionStyle:
    file: Annotated[str, ID_PATTERN, Doc("file name without extension")]
    pdf_variant: Literal["", "pdf/x-3", "pdf/x-4", "pdf/ua-1", "pdf/ua-2"]
    output_intent: Annotated[Literal["", "srgb", "cmyk"], Doc("cmyk: DeviceCMYK colour and the print_condition profile as the output intent")]
    bleed_mm: float
    crop_marks: bool
    map_page_size: Annotated[str, MinLen(1), Doc("CSS page size of the map page, e.g. 'A3 landscape'")]
    map_margin_mm: float
    loc: Loc = located()


@dataclass(frozen=True)
class PrintCondition:
    """The printing condition the print edition is made for: its PDF/X output intent."""

    profile: Annotated[str, MinLen(1), Doc("CMYK ICC profile of the condition, relative to layouts/")]
    identifier: Annotated[str, MinLen(1), Doc("OutputConditionIdentifier, e.g. FOGRA39")]
    info: Annotated[str, MinLen(1), Doc("the condition in words, for the print shop")]
    registry: Annotated[str, MinLen(1), Doc("the registry that names the condition")]
    loc: Loc = located()


@dataclass(frozen=True)
class Editions:
    print: EditionStyle
    screen: EditionStyle
    loc: Loc = located()


@dataclass(frozen=True)
class TypeSizes:
    body_pt: float
    small_pt: float
    h1_pt: float
    h2_pt: float
    h3_pt: float
    leading: float
    loc: Loc = located()


@dataclass(frozen=True)
class CopyFit:
    """When a part's last page is nearly empty, the part is laid out again tighter: the CSS
    says what each step (html[data-fit="1"], "2", …) tightens."""

    steps: Annotated[int, Doc("how many tighter steps the CSS defines (0: no copy-fitting)")]
    min_lines: Annotated[int, Doc("a last page with fewer lines of text than this is fitted")]
    min_fill: Annotated[float, Doc("a last page filled less than this share of its height is fitted")]
    loc: Loc = located()


@dataclass(frozen=True)
class HandbookStyle:
    """layouts/theme.yaml `targets.handbook`."""

    templates: Annotated[str, MinLen(1), Doc("folder under layouts/ with the templates and CSS")]
    cover_colour: Annotated[str, ID_PATTERN, Doc("colour token of the cover")]
    page: PageStyle
    editions: Editions
    print_condition: PrintCondition
    copy_fit: CopyFit
    type: TypeSizes
    month_names: Annotated[tuple[str, ...], MinLen(12)]
    labels: dict[str, str]
    date_format: Annotated[str, Doc("how a date is written, with {day}, {month} and {year}")] = "{day}. {month} {year}"
    loc: Loc = located()


# --------------------------------------------------------------------------- the page model


@dataclass(frozen=True)
class Ref:
    """A cross-reference: the templates print its page number next to it."""

    anchor: str
    text: str


@dataclass(frozen=True)
class Fact:
    """A row of a Nøkkelinformasjon box or a profile: plain text and/or cross-references."""

    label: str
    text: str = ""
    refs: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class OutLink:
    title: str
    url: str
    owner: str


@dataclass(frozen=True)
class Figure:
    src: str  # file under FIGURES/
    alt: str
    kind: Literal["map", "timeline", "route"]


@dataclass(frozen=True)
class OfferPage:
    anchor: str
    title: str
    summary: str
    facts: tuple[Fact, ...]
    body: Markup
    combines: tuple[Ref, ...]
    leads: tuple[Ref, ...]
    links: tuple[OutLink, ...]
    sources: tuple[Ref, ...]


@dataclass(frozen=True)
class FinancingPage:
    anchor: str
    title: str
    summary: str
    facts: tuple[Fact, ...]
    body: Markup
    pitfalls: tuple[str, ...]
    links: tuple[OutLink, ...]
    sources: tuple[Ref, ...]


@dataclass(frozen=True)
class Matrix:
    """Offers × livelihood: which ways of covering livelihood fit each offer."""

    columns: tuple[Ref, ...]
    rows: tuple[tuple[Ref, tuple[bool, ...]], ...]


@dataclass(frozen=True)
class Chapter:
    anchor: str
    id: str
    title: str
    kicker: str
    summary: str
    intro: Markup
    colour: str
    on_colour: str  # ink or paper, whichever reads better on `colour`
    offers: tuple[OfferPage, ...] = ()
    financing: tuple[FinancingPage, ...] = ()
    matrix: Matrix | None = None


@dataclass(frozen=True)
class PhasePage:
    heading: str
    text: str
    note: Markup
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class PersonaPage:
    anchor: str
    name: str
    summary: str
    profile: tuple[Fact, ...]
    body: Markup
    timeline: Figure
    route: Figure
    intro: str
    phases: tuple[PhasePage, ...]

    @property
    def route_anchor(self) -> str:  # the page of the route map
        return f"{self.anchor}-rute"


@dataclass(frozen=True)
class TocEntry:
    ref: Ref
    children: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class RequirementRow:
    """One row of the language-requirements overview: a rule (title and links) or an offer (ref)."""

    title: str
    level: str
    note: str
    ref: Ref | None = None
    links: tuple[OutLink, ...] = ()


@dataclass(frozen=True)
class Requirements:
    intro: Markup
    groups: tuple[tuple[str, tuple[RequirementRow, ...]], ...]  # heading, rows
    checked: str


@dataclass(frozen=True)
class Handout:
    """The CEFR levels on one printable page in one language."""

    anchor: str
    lang: str
    dir: str
    name_nb: str
    title: str
    intro: str
    levels: tuple[Fact, ...]
    review: str  # the review status as printed ("" for the Norwegian original)


@dataclass(frozen=True)
class Handbook:
    """Everything the templates print, in reading order."""

    title: str
    subtitle: str
    edition: str
    date_iso: str
    date_text: str
    publisher: str
    cover_colour: str
    cover_ink: str
    disclaimer: Markup
    intro: Markup
    goals: tuple[Fact, ...]
    map: Figure
    chapters: tuple[Chapter, ...]
    personas: tuple[PersonaPage, ...]
    cefr: tuple[Fact, ...]
    terms: tuple[Fact, ...]
    sources: tuple[tuple[str, str, str], ...]  # anchor, citation, url
    index: tuple[tuple[str, tuple[Ref, ...]], ...]  # first letter, offers
    toc: tuple[TocEntry, ...]
    language: str = "nb"  # the guide's: html lang, so PDF /Lang and hyphenation follow
    logo: str = ""  # file of the guide's logo beside the HTML, when it has one
    requirements: Requirements | None = None
    handouts: tuple[Handout, ...] = ()


PartKind = Literal["cover", "toc", "front", "map", "chapter", "offer", "financing", "matrix",
                   "journeys", "persona", "cefr", "requirements", "handout", "glossary", "sources", "index"]


@dataclass(frozen=True)
class Part:
    """A run of pages that begins on a page of its own. The book is laid out part by part,
    so an edit lays out again only the parts that print what changed."""

    kind: PartKind
    name: str  # unique in the book
    chapter: Chapter | None = None
    item: OfferPage | FinancingPage | PersonaPage | Handout | None = None


def book_parts(hb: Handbook) -> tuple[Part, ...]:
    """The handbook's parts in reading order."""
    parts = [Part("cover", "cover"), Part("toc", "toc"), Part("front", "front"), Part("map", "map")]
    for ch in hb.chapters:
        parts.append(Part("chapter", ch.anchor, ch))
        parts += [Part("offer", o.anchor, ch, o) for o in ch.offers]
        parts += [Part("financing", f.anchor, ch, f) for f in ch.financing]
        if ch.matrix:
            parts.append(Part("matrix", f"{ch.anchor}-matrise", ch))
    parts.append(Part("journeys", "journeys"))
    parts += [Part("persona", p.anchor, item=p) for p in hb.personas]
    parts += [Part("cefr", "cefr")] if hb.cefr else []
    parts += [Part("requirements", "requirements")] if hb.requirements else []
    parts += [Part("handout", h.anchor, item=h) for h in hb.handouts]
    parts += [Part("glossary", "glossary")] if hb.terms else []
    return (*parts, Part("sources", "sources"), Part("index", "index"))


# Anchors: ids are [a-z0-9-], so these are safe in HTML and as PDF destination names.
def offer_anchor(offer_id: str) -> str:
    return f"tilbud-{offer_id}"


def financing_anchor(financing_id: str) -> str:
    return f"livsopphold-{financing_id}"


def category_anchor(category_id: str) -> str:
    return f"kategori-{category_id}"


def persona_anchor(persona_id: str) -> str:
    return f"person-{persona_id}"


def source_anchor(source_id: str) -> str:
    return f"kilde-{source_id}"


FRONT = ("innhold", "slik-bruker-du", "kartet")
JOURNEYS, CEFR, GLOSSARY, SOURCES, INDEX = "eksempelreiser", "sprakniva", "ordliste", "kilder", "register"
REQUIREMENTS = "sprakkrav"


def handout_anchor(lang: str) -> str:
    return f"{CEFR}-{lang.lower()}"


class Labels:
    """The handbook's wording: its own section first, then the shared labels."""

    def __init__(self, theme: Theme, style: HandbookStyle):
        self._own, self._shared = style.labels, theme.labels

    def __call__(self, key: str) -> str:
        if key in self._own:
            return self._own[key]
        if key in self._shared:
            return self._shared[key]
        raise BuildError(f"layouts/theme.yaml: targets.handbook.labels has no '{key}' (add it to the labels there)")


LOGO = "logo.png"  # the guide's logo, written beside the HTML


def plan_handbook(content: Content, theme: Theme, style: HandbookStyle, date: dt.date) -> Handbook:
    """The whole handbook as a page model, in reading order."""
    lb = Labels(theme, style)
    guide = content.guide
    chapters = tuple(plan_chapter(content, theme, lb, cat) for cat in content.categories)
    if content.financing and not any(c.zone == "livelihood" for c in content.categories):
        chapters += (livelihood_chapter(content, theme, lb, None),)
    personas = tuple(plan_persona(content, theme, lb, p) for p in content.personas)
    date_text = lambda d: f"{d.day}. {style.month_names[d.month - 1]} {d.year}"  # noqa: E731
    handouts = plan_handouts(content, lb, date_text)
    return Handbook(
        title=guide.title,
        subtitle=guide.subtitle,
        edition=guide.edition,
        date_iso=date.isoformat(),
        date_text=style.date_format.format(day=date.day, month=style.month_names[date.month - 1], year=date.year),
        publisher=guide.publisher,
        cover_colour=theme.colour(style.cover_colour),
        cover_ink=readable_on(theme.colour(style.cover_colour), theme),
        disclaimer=Markup(markdown_html(guide.disclaimer, 2)),
        intro=Markup(markdown_html(guide.intro, 1)),
        goals=tuple(Fact(g.title, g.summary) for g in guide.goals),
        map=Figure("mulighetskart.svg", map_alt(content, lb), "map"),
        chapters=chapters,
        personas=personas,
        cefr=tuple(Fact(c.level, f"{c.title}. {c.description}") for c in content.cefr),
        terms=tuple(Fact(t.term, t.definition) for t in sorted(content.terms, key=lambda t: nb_sort_key(t.term))),
        sources=tuple((source_anchor(s.id), citation(s), s.url or "") for s in content.sources),
        index=offer_index(content),
        toc=table_of_contents(lb, chapters, personas, content, handouts),
        language=guide.language,
        logo=LOGO if content.logo_png else "",
        requirements=plan_requirements(content, lb, date_text(content.languages.checked)) if content.languages.requirements else None,
        handouts=handouts,
    )


def plan_requirements(content: Content, lb: Labels, checked: str) -> Requirements:
    """The level asked for at each level of education and for residence, then in each offer
    in map order."""
    def level(lvl) -> str:
        return lvl or lb("level_none")

    groups = []
    for kind in ("education", "residence"):
        rules = [r for r in content.languages.requirements if r.kind == kind]
        if rules:
            rows = tuple(RequirementRow(r.title, level(r.level), r.note, links=out_links(content, r.links)) for r in rules)
            groups.append((lb(f"requirements.{kind}"), rows))
    offers = [o for cat in sorted(content.categories, key=lambda c: (c.order, c.id)) for o in content.offers_in(cat.id)]
    rows = tuple(RequirementRow(o.title, o.language.level, o.language.note, Ref(offer_anchor(o.id), o.title))
                 for o in offers)
    if rows:
        groups.append((lb("requirements_offers"), rows))
    return Requirements(Markup(markdown_html(content.languages.intro, 1)), tuple(groups), lb("requirements_checked").format(date=checked))


def plan_handouts(content: Content, lb: Labels, date_text) -> tuple[Handout, ...]:
    """The Norwegian original (glossary.yaml), then each translation: one printable page each."""
    langs = content.languages
    if not langs.translations:
        return ()
    shown = {lvl.level for t in langs.translations for lvl in t.levels}
    original = Handout(handout_anchor("nb"), "nb", "ltr", lb("original_nb"), langs.cefr_title, langs.cefr_intro,
                       tuple(Fact(f"{c.level} – {c.title}", c.description) for c in content.cefr if c.level in shown), "")
    return (original, *(
        Handout(handout_anchor(t.lang), t.lang, t.dir, t.name_nb, t.title, t.intro,
                tuple(Fact(f"{lvl.level} – {lvl.title}", lvl.description) for lvl in t.levels), review_text(t.review, lb, date_text))
        for t in langs.translations))


def review_text(review, lb: Labels, date_text) -> str:
    if review.status == "reviewed":
        return lb("review.reviewed").format(reviewer=review.reviewer, date=date_text(review.date))
    return lb("review.draft")


def plan_chapter(content: Content, theme: Theme, lb: Labels, cat: Category) -> Chapter:
    if cat.zone == "livelihood":
        return livelihood_chapter(content, theme, lb, cat)
    colour = theme.colour(cat.colour)
    return Chapter(
        anchor=category_anchor(cat.id), id=cat.id, title=cat.title, kicker=lb(f"zone.{cat.zone}"), summary=cat.summary,
        intro=Markup(markdown_html(cat.body, 2)), colour=colour, on_colour=readable_on(colour, theme),
        offers=tuple(plan_offer(content, lb, o) for o in content.offers_in(cat.id)),
    )


def plan_offer(content: Content, lb: Labels, offer: Offer) -> OfferPage:
    return OfferPage(
        anchor=offer_anchor(offer.id),
        title=offer.title,
        summary=offer.summary,
        facts=offer_facts(content, lb, offer),
        body=Markup(markdown_html(offer.body, 2)),
        combines=tuple(Ref(offer_anchor(o), content.offer(o).title) for o in offer.combines_with),
        leads=tuple(Ref(offer_anchor(o), content.offer(o).title) for o in offer.leads_to),
        links=out_links(content, offer.links),
        sources=source_refs(content, lb, offer.sources),
    )


def offer_facts(content: Content, lb: Labels, offer: Offer) -> tuple[Fact, ...]:
    """The Nøkkelinformasjon box, in the order IMDi's offer pages use."""
    rights = lb(f"rights.{offer.rights}") + (f". {offer.rights_note}" if offer.rights_note else "")
    lang = offer.language
    language = ". ".join(x for x in (lang.level or "", lang.note) if x)  # left out when the content is silent
    facts = [
        Fact(lb("responsible"), ", ".join(content.actor(a).name for a in offer.actors)),
        Fact(lb("target_group"), offer.target_group),
        Fact(lb("rights"), rights),
        *([Fact(lb("language"), language)] if language else []),
        Fact(lb("duration"), offer.duration),
    ]
    if offer.holds:
        facts.append(Fact(lb("holds"), refs=tuple(Ref(category_anchor(c), content.category(c).title) for c in offer.holds)))
    if offer.livelihood:
        facts.append(Fact(lb("livelihood"), refs=tuple(Ref(financing_anchor(f), content.financing_item(f).title) for f in offer.livelihood)))
    if offer.legal_basis:
        facts.append(Fact(lb("legal_basis"), offer.legal_basis))
    return tuple(facts)


def livelihood_chapter(content: Content, theme: Theme, lb: Labels, cat: Category | None) -> Chapter:
    colour = theme.colour(cat.colour) if cat else theme.colour("paper")
    return Chapter(
        anchor=category_anchor(cat.id if cat else "livsopphold"),
        id=cat.id if cat else "livsopphold",
        title=cat.title if cat else lb("livelihood"),
        kicker=lb("zone.livelihood"),
        summary=cat.summary if cat else "",
        intro=Markup(markdown_html(cat.body, 2)) if cat else Markup(""),
        colour=colour,
        on_colour=readable_on(colour, theme),
        financing=tuple(plan_financing(content, lb, f) for f in content.financing),
        matrix=livelihood_matrix(content),
    )


def plan_financing(content: Content, lb: Labels, item: Financing) -> FinancingPage:
    users = tuple(Ref(offer_anchor(o.id), o.title) for o in content.offers if item.id in o.livelihood)
    facts = (Fact(lb("financing_actor"), content.actor(item.actor).name),) + ((Fact(lb("offers_using"), refs=users),) if users else ())
    return FinancingPage(
        anchor=financing_anchor(item.id), title=item.title, summary=item.summary, facts=facts,
        body=Markup(markdown_html(item.body, 2)), pitfalls=item.pitfalls, links=out_links(content, item.links),
        sources=source_refs(content, lb, item.sources),
    )


def livelihood_matrix(content: Content) -> Matrix:
    """Rows in map order (category order, then offers_in); a column per financing item."""
    columns = tuple(Ref(financing_anchor(f.id), f.title) for f in content.financing)
    rows = tuple(
        (Ref(offer_anchor(o.id), o.title), tuple(f.id in o.livelihood for f in content.financing))
        for cat in content.categories
        for o in content.offers_in(cat.id)
    )
    return Matrix(columns, rows)


def plan_persona(content: Content, theme: Theme, lb: Labels, persona: Persona) -> PersonaPage:
    bg, goals = persona.background, persona.goals
    rows = [
        (lb("age"), f"{persona.age} {lb('years')}"), (lb("origin"), persona.origin), (lb("education"), bg.education),
        (lb("work"), bg.work), (lb("norwegian"), bg.norwegian or ""), (lb("family"), bg.family), (lb("health"), bg.health),
        (lb("residence"), bg.residence), (lb("goal_short"), goals.short), (lb("goal_long"), goals.long),
    ]
    intro, *phase_texts = journey_text(content, theme, persona)
    phases = tuple(
        PhasePage(
            heading=theme.label("phase_heading").format(number=i, span=span_label(ph, theme), title=ph.title),
            text=text,
            note=Markup(markdown_html(ph.note, 3)),
            refs=tuple(Ref(offer_anchor(o), content.offer(o).title) for o in ph.offers),
        )
        for i, (ph, text) in enumerate(zip(persona.journey, phase_texts, strict=True), 1)
    )
    months = max(ph.end_month for ph in persona.journey)
    route_offers = ", ".join(dict.fromkeys(content.offer(o).title for ph in persona.journey for o in ph.offers))
    return PersonaPage(
        anchor=persona_anchor(persona.id), name=persona.name, summary=persona.summary,
        profile=tuple(Fact(label, value) for label, value in rows if value),
        body=Markup(markdown_html(persona.body, 2)),
        timeline=Figure(f"tidslinje-{persona.id}.svg",
                        lb("timeline_alt").format(name=persona.name, phases=len(persona.journey), months=months), "timeline"),
        route=Figure(f"rute-{persona.id}.svg", lb("route_alt").format(name=persona.name, offers=route_offers), "route"),
        intro=intro,
        phases=phases,
    )


def map_alt(content: Content, lb: Labels) -> str:
    def titles(zone: str) -> str:
        return ", ".join(c.title for c in content.categories if c.zone == zone) or "–"

    programmes = ", ".join(o.title for o in content.offers if o.kind == "programme") or "–"
    return lb("map_alt").format(start=titles("start"), lanes=titles("lane"), programmes=programmes, livelihood=titles("livelihood"))


def out_links(content: Content, links) -> tuple[OutLink, ...]:
    return tuple(OutLink(link.title, link.url, content.actor(link.owner).short if link.owner else "") for link in links)


def source_refs(content: Content, lb: Labels, refs) -> tuple[Ref, ...]:
    def text(r) -> str:
        s = content.source(r.ref)
        return f"{s.author} ({s.year})" + (f", {lb('source_section')} {r.section}" if r.section else "")

    return tuple(Ref(source_anchor(r.ref), text(r)) for r in refs)


def citation(s) -> str:
    parts = [x for x in (f"{s.author} ({s.year})", s.title, s.publisher) if x]
    # a title that ends with its own mark ("Hva virker – for hvem?") takes no full stop after it
    return "".join(p + ("" if p[-1] in ".?!" else ".") + " " for p in parts).rstrip()


def offer_index(content: Content) -> tuple[tuple[str, tuple[Ref, ...]], ...]:
    """Offers A–Å by title (and by short title where it differs), grouped by first letter."""
    entries = {(o.title, o.id) for o in content.offers} | {(o.short_title, o.id) for o in content.offers if o.short_title}
    groups: dict[str, list[Ref]] = {}
    for title, oid in sorted(entries, key=lambda e: (nb_sort_key(e[0]), e[1])):
        groups.setdefault(title[:1].upper(), []).append(Ref(offer_anchor(oid), title))
    return tuple((letter, tuple(refs)) for letter, refs in groups.items())


def table_of_contents(lb: Labels, chapters, personas, content: Content, handouts=()) -> tuple[TocEntry, ...]:
    head = (TocEntry(Ref("slik-bruker-du", lb("how_to_use"))), TocEntry(Ref("kartet", lb("map_title"))))
    body = tuple(
        TocEntry(Ref(c.anchor, c.title), tuple(Ref(o.anchor, o.title) for o in c.offers) + tuple(Ref(f.anchor, f.title) for f in c.financing))
        for c in chapters
    )
    tail = (
        TocEntry(Ref(JOURNEYS, lb("journeys_title")), tuple(Ref(p.anchor, p.name) for p in personas)),
        *([TocEntry(Ref(CEFR, lb("cefr")))] if content.cefr else []),
        *([TocEntry(Ref(REQUIREMENTS, lb("requirements_title")))] if content.languages.requirements else []),
        *([TocEntry(Ref(handouts[0].anchor, lb("translations_title")), tuple(Ref(h.anchor, h.name_nb) for h in handouts))] if handouts else []),
        *([TocEntry(Ref(GLOSSARY, lb("glossary")))] if content.terms else []),
        TocEntry(Ref(SOURCES, lb("sources"))),
        TocEntry(Ref(INDEX, lb("index"))),
    )
    return head + body + tail


# Norwegian alphabetical order: æ, ø, å come after z (plain code-point order puts å first).
_NB_ORDER = str.maketrans({"æ": "{", "ø": "|", "å": "}", "é": "e", "ü": "u", "ö": "|", "ä": "{"})


def nb_sort_key(text: str) -> str:
    return text.casefold().translate(_NB_ORDER)


def readable_on(background: str, theme: Theme) -> str:
    """Ink or paper: whichever has the higher contrast on `background`."""
    return best_text(background, theme.colour("ink"), theme.colour("paper"))
