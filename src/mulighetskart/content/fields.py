"""Field markers for the declarative content model.

A model field is a plain type hint, optionally wrapped in ``Annotated`` with one of these
markers. The converter (convert.py) and the JSON Schema writer (schema.py) both read them,
so a rule is stated once and enforced in the loader and in the editor alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import NOWHERE, Pos


@dataclass(frozen=True)
class MaxLen:
    limit: int


@dataclass(frozen=True)
class MinLen:
    limit: int


@dataclass(frozen=True)
class Pattern:
    regex: str
    describe: str


@dataclass(frozen=True)
class Ref:
    """The value is the id of another item of this kind (checked after loading)."""

    kind: str


@dataclass(frozen=True)
class Url:
    """An absolute http(s) link; anything else (javascript:, data:, file:) is refused."""


@dataclass(frozen=True)
class Markdown:
    """Markdown text, rendered and sanitised by each target."""


@dataclass(frozen=True)
class Doc:
    text: str


ID_PATTERN = Pattern(r"^[a-z0-9][a-z0-9-]*$", "a valid id: use lower-case letters, digits and hyphens (like 'amo-kurs')")
LANG_TAG = Pattern(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", "a language tag: write it like 'ar', 'ti' or 'fa-AF'")
COLOUR = Pattern(r"^#[0-9a-fA-F]{6}$", "a colour: write it as #rrggbb (like #1f6f8b)")


@dataclass(frozen=True)
class Loc:
    """Where an item and each of its fields stand in the content (for later messages)."""

    at: Pos = NOWHERE
    fields: tuple[tuple[str, Pos], ...] = ()

    def of(self, name: str) -> Pos:
        return dict(self.fields).get(name, self.at)


def located():
    """The hidden ``loc`` field every model item carries; never compared or hashed."""
    return field(default=Loc(), compare=False, repr=False, kw_only=True)
