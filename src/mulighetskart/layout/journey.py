"""Journeys as text: the phase-by-phase narrative every target reuses as the text
alternative for journey diagrams (SVG <desc>, handbook alt text, CMS fragments)."""

from __future__ import annotations

from ..content.model import Content, Persona, Phase
from ..theme import Theme


def span_label(phase: Phase, theme: Theme) -> str:
    """'0–12 mnd': the phase's time span as shown on the time axis."""
    return f"{phase.start_month}–{phase.end_month} {theme.label('months')}"


def phase_text(content: Content, theme: Theme, index: int, phase: Phase) -> str:
    """One sentence group per phase: when, what in parallel, who, how livelihood, what next."""
    lb = theme.label
    offers = ", ".join(content.offer(o).title for o in phase.offers)
    actors = ", ".join(content.actor(a).short for a in phase.responsible)
    money = ", ".join(content.financing_item(f).title for f in phase.livelihood)
    parts = [
        f"{lb('phase')} {index} ({span_label(phase, theme)}): {phase.title}.",
        f"{offers}.",
        f"{lb('responsible')}: {actors}.",
        f"{lb('livelihood')}: {money}.",
    ]
    if phase.transition:
        parts.append(f"{lb('transition')}: {phase.transition.strip()}")
    return " ".join(parts)


def journey_text(content: Content, theme: Theme, persona: Persona) -> tuple[str, ...]:
    """The whole journey as plain-text paragraphs, first the person, then each phase."""
    intro = f"{persona.name}, {persona.age} år, fra {persona.origin}. {persona.summary}"
    return (intro, *(phase_text(content, theme, i, ph) for i, ph in enumerate(persona.journey, 1)))
