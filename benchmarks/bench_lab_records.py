"""One cold pass over every lab and renal table, side by side on several extracts.

Usage: python benchmarks/bench_lab_records.py [EXTRACT ...] [--role unblinded] [--runs 3]
Default extracts: the bundled sample, the CDISC pilot in ../shared and a generated 1,000-subject
trial (made in a temporary folder with ``python -m dashboard generate --seed 12 --subjects 1000``).

A cold pass: a freshly loaded connection (``load_extract``, not timed), then every table of the
``labs`` and ``renal`` analyses computed once through the registry, in registry order, with the
default filter. The records the tables share are built by whichever table comes first, so the
pass total is what a page (or the packet) pays on an empty cache. Each figure is the median over
``--runs`` passes, each on its own fresh connection. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import registry  # noqa: E402
from dashboard.filters import FilterSpec  # noqa: E402
from dashboard.load import load_extract  # noqa: E402

MODULES = ("dashboard.analyses.labs", "dashboard.analyses.renal")


def lab_renal_tables(role: str) -> list[str]:
    """Registered tables whose compute lives in the lab or renal analyses, in registry order."""
    return [t.name for t in registry.tables_for(None, role)
            if any(t.compute.__module__ == m or t.compute.__module__.startswith(m + ".") for m in MODULES)]


def cold_pass(extract: Path, role: str, names: list[str]) -> dict[str, float]:
    con, _ = load_extract(extract, role)
    times = {}
    for name in names:
        t = time.perf_counter()
        try:
            registry.compute(name, con, FilterSpec(), role)
        except registry.NotInExtract:
            pass
        times[name] = time.perf_counter() - t
    con.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("extracts", nargs="*", type=Path)
    ap.add_argument("--role", default="unblinded", choices=["blinded", "unblinded"])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    extracts = list(args.extracts)
    if not extracts:
        extracts = [ROOT / "sample_data" / "nct04562025_unblinded"]
        pilot = ROOT.parent / "shared" / "cdiscpilot01"
        if pilot.exists():
            extracts.append(pilot)
        gen = Path(tempfile.mkdtemp(prefix="bench_lab_records_")) / "gen1000"
        subprocess.run([sys.executable, "-m", "dashboard", "generate", "--out", str(gen), "--seed", "12",
                        "--subjects", "1000"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        extracts.append(gen)
    names = lab_renal_tables(args.role)
    medians: dict[str, dict[str, float]] = {}
    totals: dict[str, float] = {}
    for extract in extracts:
        runs = [cold_pass(extract, args.role, names) for _ in range(args.runs)]
        label = extract.name
        medians[label] = {n: statistics.median(r[n] for r in runs) for n in names}
        totals[label] = statistics.median(sum(r.values()) for r in runs)
    labels = list(medians)
    width = max(12, *(len(x) for x in labels))
    print(f"cold pass over {len(names)} lab/renal tables ({args.role}), median of {args.runs}, seconds")
    print(f"{'table':34}" + "".join(f" {x:>{width}}" for x in labels))
    slowest = sorted(names, key=lambda n: -medians[labels[-1]][n])
    for n in slowest:
        print(f"{n:34}" + "".join(f" {medians[x][n]:>{width}.3f}" for x in labels))
    print(f"{'TOTAL (median of pass totals)':34}" + "".join(f" {totals[x]:>{width}.3f}" for x in labels))


if __name__ == "__main__":
    main()
