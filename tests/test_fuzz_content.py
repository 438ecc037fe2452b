"""Property tests for the content layer: no input crashes validation, and every single
mutation of real content is caught with a located error (issue: hardening)."""

from __future__ import annotations

import re
import shutil
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mulighetskart.content import load_content
from mulighetskart.content.convert import Collector, Converter, model_fields, node_pos
from mulighetskart.content.load import read_yaml
from mulighetskart.content.model import Offer, Persona
from mulighetskart.errors import ContentError

from .conftest import SHIPPED_CONTENT

pytestmark = pytest.mark.fuzz

LOCATED = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error: .+$", re.M)
YAMLISH = st.text(alphabet=string.printable + "æøåÆØÅ–«»\u200b\ufeff", max_size=400)


def fresh_copy() -> Path:
    root = Path(tempfile.mkdtemp(prefix="mk-fuzz-")) / "content"
    shutil.copytree(SHIPPED_CONTENT, root)
    return root


@given(text=YAMLISH, model=st.sampled_from([Offer, Persona]))
def test_any_text_gives_problems_not_exceptions(text, model, tmp_path_factory):
    root = tmp_path_factory.mktemp("any")
    path = root / "x.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = Collector()
    raw = read_yaml(path, root, out)
    if raw is not None:
        Converter(raw.path, out).model(raw.node, model, node_pos(raw.node, raw.path))
    for p in out.problems:
        assert p.pos.line >= 0 and p.message


def required_keys(name: str) -> list[str]:
    model = {"offers": Offer, "personas": Persona}.get(name.split("/")[0])
    if model is None:  # a collection file: its one list, and every item's id
        return ["categories", "actors", "financing", "terms", "sources", "title", "intro", "updated"]
    return [field for field, _, required in model_fields(model) if required]


def mutations(name: str, text: str):
    """Single edits that always break a content file."""
    lines = text.splitlines(keepends=True)
    keys = "|".join(required_keys(name))
    required = [i for i, ln in enumerate(lines) if re.match(rf"^({keys}):", ln)]
    refs = [i for i, ln in enumerate(lines) if re.match(r"^\s*(offers|leads_to|combines_with|livelihood|responsible|actors): \[\w", ln)]
    return st.one_of(
        st.sampled_from(required).map(lambda i: ("delete-key", i)),
        st.sampled_from(required).map(lambda i: ("wrong-type", i)),
        (st.sampled_from(refs).map(lambda i: ("break-ref", i)) if refs else st.nothing()),
        # an item file cut anywhere before its last required key, so that key is lost
        st.integers(min_value=len(lines[0]) + 1, max_value=len("".join(lines[: required[-1]])) - 1).map(lambda n: ("cut", n))
        if "/" in name else st.nothing(),
        st.just(("duplicate-id", 0)),
    )


def apply(path: Path, mutation) -> Path:
    kind, where = mutation
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if kind == "delete-key":
        end = where + 1
        while end < len(lines) and lines[end].startswith((" ", "-")):
            end += 1  # the key's block goes with it
        lines[where:end] = []
    elif kind == "wrong-type":
        key = lines[where].split(":")[0]
        end = where + 1
        while end < len(lines) and lines[end].startswith((" ", "-")):
            end += 1
        lines[where:end] = [f"{key}: {{nested: [1, 2]}}\n" if key != "journey" else f"{key}: 7\n"]
    elif kind == "break-ref":
        lines[where] = re.sub(r"\[(\w)", r"[zz\1", lines[where], count=1)
    elif kind == "cut":
        path.write_text(text[:where], encoding="utf-8")
        return path
    elif kind == "duplicate-id":
        twin = path.with_name("tvilling-" + path.name)
        twin.write_text(text, encoding="utf-8")
        return twin
    path.write_text("".join(lines), encoding="utf-8")
    return path


FILES = sorted(p.relative_to(SHIPPED_CONTENT).as_posix() for p in SHIPPED_CONTENT.rglob("*.yaml"))


@given(data=st.data())
def test_every_mutation_is_caught_with_a_located_error(data):
    name = data.draw(st.sampled_from(FILES))
    root = fresh_copy()
    path = root / name
    mutation = data.draw(mutations(name, path.read_text(encoding="utf-8")))
    broken = apply(path, mutation)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    located = [m.groupdict() for m in LOCATED.finditer(caught.value.message)]
    assert located, caught.value.message
    assert any(Path(m["path"]).name == broken.name for m in located), (mutation, caught.value.message)
    shutil.rmtree(root.parent)
