"""The house's layers, read from the AST of src/: renderers never reach back into the build,
and no two rooms import each other, directly or round a loop."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

SRC = ROOT / "src"
PACKAGE = "mulighetskart"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """Every mulighetskart module `name` imports, at any depth of its code (TYPE_CHECKING too)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            if target.split(".")[0] == PACKAGE:
                out.add(target)
                out |= {f"{target}.{a.name}" for a in node.names}  # `from . import journeys` names a module
    return out


def room(module: str, rooms: set[str]) -> str:
    """A subpackage is one room; a module at the top is a room of its own."""
    return max((r for r in rooms if module == r or module.startswith(r + ".")), key=len, default=module)


def test_no_renderer_or_layout_imports_the_build():
    mods = modules()
    offenders = {name for name, path in mods.items()
                 if name.startswith((f"{PACKAGE}.render", f"{PACKAGE}.layout")) and any(i == f"{PACKAGE}.build" for i in imports(name, path))}
    assert offenders == set()
    assert "import_module" not in "".join(p.read_text(encoding="utf-8") for n, p in mods.items() if n.startswith((f"{PACKAGE}.render", f"{PACKAGE}.layout")))


def test_no_import_cycle_between_rooms():
    mods = modules()
    rooms = {n for n, p in mods.items() if p.name == "__init__.py" and n != PACKAGE}
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        src = room(name, rooms)
        for imported in imports(name, path):
            if imported in mods and (dst := room(imported, rooms)) != src and dst != PACKAGE:
                graph.setdefault(src, set()).add(dst)
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in trail:
                cycles.append([*trail[trail.index(nxt):], nxt])
            elif len(trail) < len(graph) + 1:
                visit(nxt, [*trail, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert cycles == []
