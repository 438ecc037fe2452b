"""Benchmark the build at 1×, 3× and 10× the shipped content (`nox -s bench`).

For each size: a full build, a no-op rebuild (everything reused), a one-offer edit, the
per-target wall times from the build report, and the peak memory of the build's processes;
plus WeasyPrint alone rendering the kept handbook HTML, the floor the PDFs cannot beat.
Writes OUT/bench.json and prints a table; exits 1 if a target from issue 7 is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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


def measure(cmd: list[str]) -> dict:
    run = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def build_cmd(content: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mulighetskart", "build", "--content", str(content), "--out", str(out), "-q", *extra]


def edit_one_offer(content: Path) -> None:
    offer = sorted((content / "offers").glob("*.yaml"))[0]
    text = offer.read_text(encoding="utf-8")
    offer.write_text(re.sub(r"^title: (.+)$", r"title: \1 (endret)", text, count=1, flags=re.M), encoding="utf-8")


def bench_size(factor: int, work: Path) -> dict:
    content = scale(ROOT / "content", work / f"content-{factor}x", factor)
    out = work / f"out-{factor}x"
    full = measure(build_cmd(content, out, "--clean"))
    timings = json.loads((out / "build-report.json").read_text())["timings"]
    noop = measure(build_cmd(content, out))
    edit_one_offer(content)
    edit = measure(build_cmd(content, out))
    floor = float(subprocess.run([sys.executable, "-c", FLOOR, str(out / "handbook")], capture_output=True, text=True, check=True).stdout)
    return {
        "factor": factor,
        "offers": len(list((content / "offers").glob("*.yaml"))),
        "full_build_s": round(full["seconds"], 2),
        "noop_build_s": round(noop["seconds"], 2),
        "one_offer_edit_s": round(edit["seconds"], 2),
        "targets_s": timings,
        "weasyprint_alone_s": round(floor, 2),
        "peak_mib": round(max(full["peak_mib"], noop["peak_mib"], edit["peak_mib"]), 1),
    }


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "output")
    parser.add_argument("--sizes", default="1,3,10")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mulighetskart-bench-") as tmp:
        sizes = {}
        for f in (int(x) for x in args.sizes.split(",")):
            sizes[f] = bench_size(f, Path(tmp))
            print(json.dumps(sizes[f]), flush=True)
    result = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "measured_at": time.strftime("%Y-%m-%d"),
        "sizes": list(sizes.values()),
        "targets_met": verdict(sizes),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["targets_met"], indent=2))
    return 0 if all(result["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
