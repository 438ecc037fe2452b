"""A digest of the part of the content a target reads, for the build's cache key and the memo.

A target that never prints an offer's body need not be drawn again when only the body
changes: communications edit those texts most. What is left out still counts by its
characters, since the drawings embed font subsets made from all the guide's text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable
from types import NoneType

from .model import Content

SKIPPED = {"loc", "inputs_sha256"}  # where a field was written is not what it says


def reading_all_but(cls: type, names: Iterable[str]) -> Callable[[Content], str]:
    """The fingerprint of a target that reads all the content except the fields `names` of `cls`."""
    leave_out = frozenset(names)
    unknown = leave_out - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    return lambda content: fingerprint(content, cls, leave_out)


def fingerprint(value, cls: type = NoneType, leave_out: frozenset[str] = frozenset()) -> str:
    """A digest of what `value` (frozen dataclasses, all the way down) says, without the fields
    `leave_out` of `cls`, whose characters count instead."""
    chars: set[str] = set()
    kept = _plain(value, cls, leave_out, chars)
    text = json.dumps([kept, "".join(sorted(chars))], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value, cls: type, leave_out: frozenset[str], chars: set[str]):
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            if f.name in SKIPPED:
                continue
            if isinstance(value, cls) and f.name in leave_out:
                chars.update(json.dumps(_plain(getattr(value, f.name), cls, leave_out, chars), ensure_ascii=False, default=str))
            else:
                out[f.name] = _plain(getattr(value, f.name), cls, leave_out, chars)
        return out
    if isinstance(value, (tuple, list)):
        return [_plain(v, cls, leave_out, chars) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, cls, leave_out, chars) for k, v in value.items()}
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    return value
