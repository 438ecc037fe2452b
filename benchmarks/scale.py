"""Make an N× copy of a content folder: every offer and persona repeated N times with
suffixed ids, references rewired inside each copy, so the guide stays valid and its shape
(categories, groups, journeys) stays realistic."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

REF_KEYS = ("combines_with", "leads_to", "offers")


def scale(src: Path, dst: Path, factor: int) -> Path:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    offers = sorted(p.stem for p in (src / "offers").glob("*.yaml"))
    for folder in ("offers", "personas"):
        for path in sorted((src / folder).glob("*.yaml")):
            for copy in range(2, factor + 1):
                text = _rewire(path.read_text(encoding="utf-8"), offers, copy)
                (dst / folder / f"{path.stem}-x{copy}.yaml").write_text(text, encoding="utf-8")
    return dst


def _rewire(text: str, offers: list[str], copy: int) -> str:
    """Suffix the item's own id, its title, and every offer id it references."""
    text = re.sub(r"^id: (\S+)$", lambda m: f"id: {m.group(1)}-x{copy}", text, count=1, flags=re.M)
    text = re.sub(r"^(title|name): (.+)$", lambda m: f"{m.group(1)}: {_append(m.group(2).strip(), f' {copy}')}", text, count=1, flags=re.M)
    ids = "|".join(re.escape(o) for o in sorted(offers, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])({ids})(?![\w-])")

    def fix_refs(line: re.Match) -> str:
        return pattern.sub(lambda m: f"{m.group(1)}-x{copy}", line.group(0))

    return re.sub(rf"^\s*({'|'.join(REF_KEYS)}): \[.*\]$", fix_refs, text, flags=re.M)


def _append(value: str, suffix: str) -> str:
    """Append inside the quotes of a quoted YAML scalar."""
    if value[:1] in "\"'" and value.endswith(value[0]):
        return value[:-1] + suffix + value[0]
    return value + suffix


if __name__ == "__main__":
    src, dst, factor = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    print(scale(src, dst, factor))
