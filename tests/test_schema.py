"""The JSON Schemas editors use: up to date with the model, and they accept the shipped content."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from mulighetskart.cli import main
from mulighetskart.content.schema import schema_files

from .conftest import FIXTURE_CONTENT, ROOT, SHIPPED_CONTENT

SCHEMA_FOR = {
    "guide.yaml": "guide.schema.json", "categories.yaml": "categories.schema.json", "actors.yaml": "actors.schema.json",
    "financing.yaml": "financing.schema.json", "glossary.yaml": "glossary.schema.json", "sources.yaml": "sources.schema.json",
    "languages.yaml": "languages.schema.json",
}


def plain(value):
    """YAML data as JSON sees it (dates become ISO strings, as in an editor)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def content_files(root: Path):
    for name, schema in SCHEMA_FOR.items():
        yield root / name, schema
    for folder, schema in (("offers", "offer.schema.json"), ("personas", "persona.schema.json")):
        for f in sorted((root / folder).glob("*.yaml")):
            yield f, schema


def test_committed_schemas_match_the_model(tmp_path):
    result = CliRunner().invoke(main, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in schema_files():
        assert (tmp_path / name).read_text() == (ROOT / "schema" / name).read_text(), f"schema/{name} is stale: run mulighetskart schema"


@pytest.mark.parametrize("root", [SHIPPED_CONTENT, FIXTURE_CONTENT], ids=["shipped", "fixture"])
def test_schemas_accept_the_content(root):
    schemas = {name: json.loads((ROOT / "schema" / name).read_text()) for name in schema_files()}
    yaml = YAML(typ="safe")
    checked = 0
    for path, schema in content_files(root):
        jsonschema.validate(plain(yaml.load(path)), schemas[schema], format_checker=jsonschema.FormatChecker())
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=") and first.endswith(schema), path
        checked += 1
    assert checked >= 8


def test_schema_rejects_what_the_validator_rejects():
    schema = json.loads((ROOT / "schema" / "offer.schema.json").read_text())
    offer = plain(YAML(typ="safe").load(FIXTURE_CONTENT / "offers" / "amo.yaml"))
    for bad in ({"rights": "kanskje"}, {"summary": "x" * 201}, {"titel": "typo"}, {"links": [{"title": "x", "url": "javascript:alert(1)"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**offer, **bad}, schema)
