"""JSON Schemas for the content files, derived from the same model the loader follows,
so editors (yaml-language-server) flag mistakes while typing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal, get_args, get_origin

from .convert import model_fields, optional_of, unwrap
from .fields import Doc, MaxLen, MinLen, Pattern, Ref, Url
from .model import COLLECTION_FILES, ITEM_DIRS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE = "https://imdi.no/mulighetskart/schema/"


def schema_files() -> dict[str, dict]:
    """File name -> schema, for every kind of content file."""
    out = {}
    for name, cls in COLLECTION_FILES.items():
        file = name.replace(".yaml", ".schema.json")
        out[file] = document(cls, name, file)
    for folder, cls in ITEM_DIRS.items():
        file = f"{folder.removesuffix('s')}.schema.json"
        out[file] = document(cls, f"{folder}/<id>.yaml", file)
    return out


def document(cls, describes: str, file: str) -> dict:
    defs: dict[str, Any] = {}
    root = _model(cls, defs)
    return {
        "$schema": DIALECT,
        "$id": BASE + file,
        "title": f"mulighetskart content: {describes}",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def _model(cls, defs: dict) -> dict:
    props, required = {}, []
    for name, tp, req in model_fields(cls):
        props[name] = _type(tp, defs)
        if req:
            required.append(name)
    schema = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        schema["description"] = " ".join(cls.__doc__.split())
    return schema


def _type(tp, defs: dict) -> dict:
    base, markers = unwrap(tp)
    inner = optional_of(base)
    if inner is not None:
        return {"anyOf": [_type(inner, defs) | _markers(markers), {"type": "null"}]}
    if get_origin(base) is Literal:
        schema = {"enum": list(get_args(base))}
    elif get_origin(base) is tuple:
        schema = {"type": "array", "items": _type(get_args(base)[0], defs)}
    elif get_origin(base) is dict:
        schema = {"type": "object", "additionalProperties": _type(get_args(base)[1], defs)}
    elif dataclasses.is_dataclass(base):
        defs.setdefault(base.__name__, None)
        if defs[base.__name__] is None:
            defs[base.__name__] = _model(base, defs)
        schema = {"$ref": f"#/$defs/{base.__name__}"}
    elif base is str:
        schema = {"type": "string"}
    elif base is bool:
        schema = {"type": "boolean"}
    elif base is int:
        schema = {"type": "integer"}
    elif base is float:
        schema = {"type": "number"}
    elif base is dt.date:
        schema = {"type": "string", "format": "date"}
    else:
        schema = {}
    return schema | _markers(markers, array=schema.get("type") == "array")


def _markers(markers, array: bool = False) -> dict:
    out: dict[str, Any] = {}
    for m in markers:
        if isinstance(m, MaxLen):
            out["maxLength"] = m.limit
        elif isinstance(m, MinLen):
            out["minItems" if array else "minLength"] = m.limit
        elif isinstance(m, Pattern):
            out["pattern"] = m.regex
        elif isinstance(m, Url):
            out["pattern"] = "^https?://"
            out["format"] = "uri"
        elif isinstance(m, Ref):
            out["description"] = f"id of a {m.kind}"
        elif isinstance(m, Doc):
            out["description"] = m.text
    return out
