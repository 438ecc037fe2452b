"""Benchmark the build at 1×, 3× and 10× the shipped content (`nox -s bench`).

For each size: a full build (the fastest of `--runs` clean builds: this machine varies by
10–25 % from one run to the next), a no-op rebuild (everything reused), a one-offer edit (its
text, which the target is held to, then its title, which the map and every route map also
print), the per-target wall times from the build report, and the peak memory of the build's processes;
plus WeasyPrint alone rendering the kept handbook HTML, the floor the PDFs cannot beat.
Then each target alone on the shipped content (`--only T --clean`), and the map's layout and
render in one cold process at 1× and 10×: the figures the map, journeys and handbook are held to.
Writes OUT/bench.json and prints it; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import scale

ROOT = Path(__file__).resolve().parent.parent

# Measure one command in a wrapper process so peak memory covers the build and its workers.
MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - t
if rc.returncode:
    sys.stderr.write(rc.stderr)
    sys.exit(rc.returncode)
print(json.dumps({"seconds": wall, "peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

FLOOR = """
import sys, time
from pathlib import Path
from weasyprint import HTML
t = time.perf_counter()
for html in sorted(Path(sys.argv[1]).glob("*.html")):
    HTML(filename=str(html)).write_pdf()
print(time.perf_counter() - t)
"""


# Layout and render of the map alone, in a fresh process (cold caches), as the map is held to it.
MAP_ALONE = """
import json, sys, time
from pathlib import Path
from mulighetskart.content import load_content
from mulighetskart.render.map_svg import map_svg
from mulighetskart.theme import load_theme
from mulighetskart.target import load_target
content = load_content(Path(sys.argv[1])).content
theme = load_theme(Path(sys.argv[2]), {"map": load_target("map").style}, colour_tokens={c.colour for c in content.categories})
t = time.perf_counter()
map_svg(content, theme)
print(json.dumps({"offers": len(content.offers), "seconds": round(time.perf_counter() - t, 3)}))
"""
TARGETS = ("map", "journeys", "handbook", "fragments")
# The map keeps its paper (it never grows past it), so larger content is drawn on a larger
# sheet, as an editor would set it: 3× fits A2 and 10× fits A0 with text at 6 pt or more,
# and the handbook's map pages take the same size (the handbook checks the text still reads).
PAPERS = ((1, "A3"), (3, "A2"), (6, "A1"))
MAP_LIMIT_S = {1: 1, 10: 10}  # layout + render of the map by content size


def paper_for(factor: int) -> str:
    return next((paper for most, paper in PAPERS if factor <= most), "A0")


def bench_layouts(work: Path, factor: int) -> Path:
    """The shipped layouts (and the fonts beside them) with the map, and the handbook's map
    pages, on the paper `factor`× content needs."""
    if factor == 1:
        return ROOT / "layouts"
    layouts = work / f"layouts-{factor}x" / "layouts"
    shutil.copytree(ROOT / "layouts", layouts, dirs_exist_ok=True)
    shutil.copytree(ROOT / "fonts", layouts.parent / "fonts", dirs_exist_ok=True)
    theme = layouts / "theme.yaml"
    text, papers = re.subn(r"^(    paper: )A3\b", rf"\g<1>{paper_for(factor)}", theme.read_text(encoding="utf-8"), count=1, flags=re.M)
    text, pages = re.subn(r"^(\s+map_page_size: )A3 landscape\b", rf"\g<1>{paper_for(factor)} landscape", text, flags=re.M)
    if (papers, pages) != (1, 2):
        raise SystemExit(f"bench: expected the map's `paper: A3` and two `map_page_size: A3 landscape` in {theme}")
    theme.write_text(text, encoding="utf-8")
    return layouts


def measure(cmd: list[str]) -> dict:
    run = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=False)
    if run.returncode:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{run.stderr}")
    return json.loads(run.stdout)


def build_cmd(content: Path, out: Path, *extra: str, layouts: Path = ROOT / "layouts") -> list[str]:
    """A build with its own cache beside its output: what earlier runs kept cannot help it."""
    cache = out.parent / f"{out.name}-cache"
    return [sys.executable, "-m", "mulighetskart", "build", "--content", str(content), "--layouts", str(layouts), "--out", str(out),
            "--cache", str(cache), "-q", *extra]


# One offer edited two ways: its text (what communications do most), which the target is
# held to; and its title, which every route map, the contents and the index also print.
EDITS = {
    "text": (r"^body: \|\n", "body: |\n  Endret i benchmarken.\n"),
    "title": (r"^title: (.+)$", r"title: \1 (endret)"),
}


def edit_one_offer(content: Path, how: str) -> None:
    offer = sorted((content / "offers").glob("*.yaml"))[0]
    pattern, replacement = EDITS[how]
    text = offer.read_text(encoding="utf-8")
    edited = re.sub(pattern, replacement, text, count=1, flags=re.M)
    if edited == text:
        raise SystemExit(f"bench: could not edit the {how} of {offer}")
    offer.write_text(edited, encoding="utf-8")


def bench_size(factor: int, work: Path, runs: int) -> dict:
    content = scale(ROOT / "content", work / f"content-{factor}x", factor)
    layouts = bench_layouts(work, factor)
    out = work / f"out-{factor}x"
    fulls = [full_build(content, out, layouts) for _ in range(runs)]
    full, timings = min(fulls, key=lambda run: run[0]["seconds"])
    noop = measure(build_cmd(content, out, layouts=layouts))
    edit_one_offer(content, "text")
    edit = measure(build_cmd(content, out, layouts=layouts))
    edit_one_offer(content, "title")
    title_edit = measure(build_cmd(content, out, layouts=layouts))
    # the floor is what the 1× build is held to; at larger sizes it would only cost minutes
    floor = None
    if factor == 1:
        floor = float(subprocess.run([sys.executable, "-c", FLOOR, str(out / "handbook")], capture_output=True, text=True, check=True).stdout)
    return {
        "factor": factor,
        "offers": len(list((content / "offers").glob("*.yaml"))),
        "map_paper": paper_for(factor),
        "full_build_s": round(full["seconds"], 2),
        "full_build_runs_s": [round(run["seconds"], 2) for run, _ in fulls],
        "noop_build_s": round(noop["seconds"], 2),
        "one_offer_edit_s": round(edit["seconds"], 2),
        "one_offer_title_edit_s": round(title_edit["seconds"], 2),
        "targets_s": timings,
        "weasyprint_alone_s": round(floor, 2) if floor is not None else None,
        "peak_mib": round(max(run["peak_mib"] for run in (*(run for run, _ in fulls), noop, edit, title_edit)), 1),
    }


def full_build(content: Path, out: Path, layouts: Path) -> tuple[dict, dict]:
    """A clean build's measure and its per-target timings."""
    run = measure(build_cmd(content, out, "--clean", layouts=layouts))
    return run, json.loads((out / "build-report.json").read_text())["timings"]


def targets_alone(work: Path) -> dict[str, dict]:
    """Each target built alone from the shipped content: wall time, its own render time, peak memory."""
    alone = {}
    for name in TARGETS:
        out = work / f"alone-{name}"
        run = measure(build_cmd(ROOT / "content", out, "--only", name, "--clean"))
        render = json.loads((out / "build-report.json").read_text())["timings"][name]
        alone[name] = {"wall_s": round(run["seconds"], 2), "render_s": render, "peak_mib": round(run["peak_mib"], 1)}
    return alone


def map_alone(work: Path, factor: int) -> dict:
    content = ROOT / "content" if factor == 1 else scale(ROOT / "content", work / f"map-content-{factor}x", factor)
    layouts = bench_layouts(work, factor)
    run = subprocess.run([sys.executable, "-c", MAP_ALONE, str(content), str(layouts)], capture_output=True, text=True, check=True)
    return {"factor": factor, "paper": paper_for(factor), **json.loads(run.stdout)}


def verdict(sizes: dict[int, dict]) -> dict[str, bool]:
    one = sizes[1]
    checks = {
        "noop_le_5pct_of_full": one["noop_build_s"] <= 0.05 * one["full_build_s"],
        "edit_le_30pct_of_full": one["one_offer_edit_s"] <= 0.30 * one["full_build_s"],
        "full_le_1.25x_weasyprint": one["full_build_s"] <= 1.25 * one["weasyprint_alone_s"],
        "peak_lt_1.5GiB": all(s["peak_mib"] < 1536 for s in sizes.values()),
    }
    if 10 in sizes:
        checks["10x_le_12x_of_1x"] = sizes[10]["full_build_s"] <= 12 * one["full_build_s"]
    return checks


def verdict_alone(alone: dict[str, dict], maps: list[dict]) -> dict[str, bool]:
    """What the map (issue 9), journeys (issue 4) and handbook (issue 5) are held to."""
    checks = {f"map_{m['factor']}x_lt_{MAP_LIMIT_S[m['factor']]}s": m["seconds"] < MAP_LIMIT_S[m["factor"]] for m in maps}
    checks["journeys_lt_5s"] = alone["journeys"]["render_s"] < 5
    checks["handbook_lt_30s"] = alone["handbook"]["wall_s"] < 30
    checks["handbook_peak_lt_1GiB"] = alone["handbook"]["peak_mib"] < 1024
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "output")
    parser.add_argument("--sizes", default="1,3,10")
    parser.add_argument("--runs", type=int, default=2, help="clean builds per size; the fastest counts")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="mulighetskart-bench-") as tmp:
        sizes = {}
        for f in (int(x) for x in args.sizes.split(",")):
            sizes[f] = bench_size(f, Path(tmp), args.runs)
            print(json.dumps(sizes[f]), flush=True)
        alone = targets_alone(Path(tmp))
        maps = [map_alone(Path(tmp), f) for f in MAP_LIMIT_S]
        print(json.dumps({"alone": alone, "map": maps}), flush=True)
    result = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "measured_at": time.strftime("%Y-%m-%d"),
        "sizes": list(sizes.values()),
        "targets_alone": alone,
        "map_layout_and_render": maps,
        "targets_met": verdict(sizes) | verdict_alone(alone, maps),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["targets_met"], indent=2))
    return 0 if all(result["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
