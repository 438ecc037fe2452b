"""Target `handbook`: a print edition for the print shop and a tagged screen edition, one source.

Three steps, kept apart so the first two can be tested without WeasyPrint:
  plan   content → `Handbook`, a frozen page/chapter model (layout/handbook.py, pure);
  html   the model → HTML and CSS through the Jinja templates (html.py);
  render HTML → PDF with WeasyPrint, part by part (parts.py), page numbers written into the
         laid-out book (page_numbers.py), the figures swapped in (figures.py), the parts
         joined into each edition (join.py, pdf.py).
The map and the journeys come from their own targets through the shared contracts
(map_svg, journeys.Drawings) and are embedded as <img> with alt text, so they stay
vector and the alt text lands on the /Figure in the screen edition's structure tree.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from ...content.model import Content
from ...errors import Problem
from ...layout.handbook import HandbookStyle, plan_handbook
from ...memo import NO_MEMO, Memo
from ...publish import Writer
from ...target import Job, Target
from ...theme import Theme
from .figures import draw_figures, figure_pdfs, handbook_fetcher, placeholders
from .html import Sources, editions, handbook_sources, map_page_problems, sliced_timelines, spoken_page_ref, style_problems
from .parts import PartWriter, numbered_book, part_setup
from .pdf import joined_books, joined_pdf, pdf_identifier
from .print_ready import PrintColour, condition_problems, print_colour
from .reading import Reading, source_languages, source_words
from .weasy import check_font_subsetter


def render_editions(sources: Sources, layers: dict[str, tuple[str, ...]], style: HandbookStyle, folder: Path, font_dir: Path,
                    colour: PrintColour, memo: Memo = NO_MEMO) -> dict[str, str | bytes]:
    """Both editions' PDFs and HTML by file name; `folder` holds the other sources (CSS, fonts,
    figures), `layers` the SVGs librsvg draws each figure as, `colour` the CMYK of an edition
    whose output intent is cmyk."""
    print_ed, screen_ed = editions(style)
    eds = (print_ed, screen_ed)
    holders = placeholders(sources.figures)
    fetcher = handbook_fetcher(folder, holders)
    setups = {ed.name: part_setup(ed, sources.files, holders, fetcher) for ed in eds}
    with ThreadPoolExecutor(max_workers=1) as background:  # librsvg on the other core while WeasyPrint lays out
        drawn = background.submit(figure_pdfs, layers, font_dir, memo)
        writer = PartWriter(partial(sources.part_html, print_ed), setups, eds, memo)
        book, page_no = numbered_book(sources.parts, writer.html_for, sources.digits, setups["print"], memo, writer, style.copy_fit)
        parts = writer.in_order(len(book.parts))
        html = {f"{ed.style.file}.html": sources.html(ed, page_no) for ed in (print_ed, screen_ed)}
        ident = pdf_identifier(*(v if isinstance(v, str) else hashlib.sha256(v).hexdigest() for _, v in sorted({**sources.files, **html}.items())))
        screen_html = html[f"{screen_ed.style.file}.html"]
        reading = Reading(spoken_page_ref(style), source_words(screen_html), source_languages(screen_html))
        finish = partial(joined_pdf, identifier=ident, holders=holders, drawn=drawn.result(), reading=reading)
    pdfs = joined_books({ed.name: (parts[ed.name], ed, colour if ed.style.output_intent == "cmyk" else None) for ed in eds}, finish)
    return html | {f"{ed.style.file}.pdf": pdfs[ed.name] for ed in (print_ed, screen_ed)}


def run(job: Job, out: Writer) -> None:
    style: HandbookStyle = job.theme.section("handbook")
    check_font_subsetter()
    hb = plan_handbook(job.content, job.theme, style, job.date)
    sliced, figures, layers = sliced_timelines(hb, style, *draw_figures(job.content, job.theme, hb, job.memo))
    sources = handbook_sources(job.content, job.theme, style, hb, figures, sliced)
    for rel, data in sources.files.items():
        out.write(rel, data)
    colour = print_colour(job.theme, style)
    for rel, data in render_editions(sources, layers, style, out.folder, job.theme.font_path().parent, colour, job.memo).items():
        out.write(rel, data)


def check(content: Content, theme: Theme) -> list[Problem]:
    style = theme.section("handbook")
    return style_problems(style) + map_page_problems(theme, style) + condition_problems(theme, style)


TARGET = Target(name="handbook", style=HandbookStyle, run=run, uses=("map", "journeys"), check=check)
