"""Time every registered table on one extract: median of several runs per table, slowest first.

Usage: python benchmarks/bench_tables.py [EXTRACT] [--role unblinded] [--runs 3]
Default extract: the CDISC pilot in ../shared (else the bundled sample). These are the numbers a
page pays on a cold cache; the app caches each (table, filter) afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import registry  # noqa: E402
from dashboard.filters import FilterSpec  # noqa: E402
from dashboard.load import load_extract  # noqa: E402


def main() -> None:
    pilot = ROOT.parent / "shared" / "cdiscpilot01"
    ap = argparse.ArgumentParser()
    ap.add_argument("extract", nargs="?", type=Path,
                    default=pilot if pilot.exists() else ROOT / "sample_data" / "nct04562025_unblinded")
    ap.add_argument("--role", default="unblinded", choices=["blinded", "unblinded"])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    con, report = load_extract(args.extract, args.role)
    rows = []
    for entry in registry.tables_for(None, args.role):
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            try:
                frame = registry.compute(entry.name, con, FilterSpec(), args.role)
                n = len(frame)
            except registry.NotInExtract:
                n = None
            times.append(time.perf_counter() - t)
        rows.append((statistics.median(times), entry.name, n))
    total = sum(r[0] for r in rows)
    print(f"{args.extract} ({args.role}): {len(rows)} tables, median total {total:.2f} s per cold pass")
    print(f"{'table':32} {'median s':>9} {'rows':>7}")
    for t, name, n in sorted(rows, reverse=True):
        print(f"{name:32} {t:>9.3f} {('n/a' if n is None else n):>7}")


if __name__ == "__main__":
    main()
