"""Time one cold pass over every adverse-event table: fresh connection per pass, median of several.

Usage: python benchmarks/bench_ae_records.py [EXTRACT ...] [--role unblinded] [--runs 3]
Default extracts: the bundled sample and the CDISC pilot in ../shared. Each extract is loaded
once into a DuckDB file; every pass then opens a fresh connection to that file (so nothing built
by an earlier pass, such as the AE record table, survives) and computes every registered table of
the Adverse events page plus the Overview tables that count AEs, in display order. Prints one
table per extract (median of the passes per table and for the whole pass). Not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import db, registry  # noqa: E402
from dashboard.filters import FilterSpec  # noqa: E402
from dashboard.load import load_extract  # noqa: E402

#: Overview tables built from the AE records (besides the Adverse events page).
OVERVIEW_AE_TABLES = ("key_numbers", "attention_items")


def ae_tables(role: str) -> list[str]:
    names = [t.name for t in registry.tables_for("adverse_events", role)]
    return names + [n for n in OVERVIEW_AE_TABLES if n in registry.TABLES and registry.TABLES[n].allowed(role)]


def one_pass(path: Path, names: list[str], role: str) -> dict[str, float]:
    """Seconds per table on a fresh connection to the loaded database file."""
    con = db.connect(path)
    times = {}
    try:
        for name in names:
            t = time.perf_counter()
            try:
                registry.compute(name, con, FilterSpec(), role)
            except registry.NotInExtract:
                pass
            times[name] = time.perf_counter() - t
    finally:
        con.close()
    return times


def bench(extract: Path, role: str, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        t = time.perf_counter()
        con, _ = load_extract(extract, role, db_path=path)
        con.close()
        load_s = time.perf_counter() - t
        names = ae_tables(role)
        passes = [one_pass(path, names, role) for _ in range(runs)]
    totals = [sum(p.values()) for p in passes]
    print(f"\n{extract} ({role}): load {load_s:.1f} s; {len(names)} tables; "
          f"cold pass median {statistics.median(totals):.3f} s (passes: {', '.join(f'{x:.3f}' for x in totals)})")
    medians = {name: statistics.median(p[name] for p in passes) for name in names}
    page = [n for n in names if n not in OVERVIEW_AE_TABLES]
    print(f"Adverse events page tables: {sum(medians[n] for n in page):.3f} s (sum of medians); "
          f"Overview tables: {sum(medians[n] for n in names if n not in page):.3f} s")
    print(f"{'table':32} {'median s':>9}")
    for name in names:
        print(f"{name:32} {medians[name]:>9.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("extracts", nargs="*", type=Path)
    ap.add_argument("--role", default="unblinded", choices=["blinded", "unblinded"])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    extracts = args.extracts or [ROOT / "sample_data" / "nct04562025_unblinded", ROOT.parent / "shared" / "cdiscpilot01"]
    for extract in extracts:
        bench(extract, args.role, args.runs)


if __name__ == "__main__":
    main()
