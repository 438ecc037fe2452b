"""The file names the journeys target makes from persona ids.

One place for them, so `validate` can refuse a persona id that would overwrite another
output (a persona 'alle-reiser', or 'ayaan-rute' beside 'ayaan') before a build starts.
"""

from __future__ import annotations

ALL_ROUTES = "alle-reiser"  # every route on one map


def route_stem(persona_id: str) -> str:
    """The persona's route on the possibility map."""
    return f"{persona_id}-rute"


def persona_stems(persona_id: str) -> dict[str, str]:
    """File stem -> what it holds, for each file made for one persona."""
    return {persona_id: "timeline", route_stem(persona_id): "route map"}


def shared_stems() -> dict[str, str]:
    """File stems made once for the whole guide."""
    return {ALL_ROUTES: "map of all journeys"}
