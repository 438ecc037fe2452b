"""`mulighetskart new`: start a content file from a commented template in layouts/new/."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .content.convert import Collector, suggest
from .content.load import read_yaml
from .errors import ContentError, MulighetskartError

KINDS = {"offer": "offers", "persona": "personas"}


def new_file(kind: str, id: str, content: Path, layouts: Path, category: str | None = None) -> Path:
    if not re.match(r"^[a-z0-9][a-z0-9-]*$", id):
        raise MulighetskartError(f"'{id}' is not a valid id: use lower-case letters, digits and hyphens")
    target = Path(content) / KINDS[kind] / f"{id}.yaml"
    if target.exists():
        raise MulighetskartError(f"{target} already exists")
    values = {"id": id}
    if kind == "offer":
        values.update(category=category, groups=_groups(Path(content), category))
    env = Environment(loader=FileSystemLoader(Path(layouts) / "new"), undefined=StrictUndefined, keep_trailing_newline=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(env.get_template(f"{kind}.yaml.j2").render(values), encoding="utf-8")
    return target


def _groups(content: Path, category: str | None) -> list[str]:
    """The category's group ids; an unknown category is refused with a suggestion."""
    out = Collector()
    raw = read_yaml(content / "categories.yaml", content, out) if (content / "categories.yaml").is_file() else None
    if raw is None:
        raise ContentError(out.problems) if out.problems else MulighetskartError(f"no categories.yaml in {content}/ (pass --content DIR)")
    data = raw.node if isinstance(raw.node, dict) else {}
    cats = {c.get("id"): c for c in data.get("categories") or [] if isinstance(c, dict)}
    if category not in cats:
        hint = suggest(category, cats) or f"choose one of: {', '.join(sorted(map(str, cats)))}"
        raise MulighetskartError(f"unknown category '{category}' ({hint})")
    return [g["id"] for g in cats[category].get("groups") or []]
