"""One cold pass over every lab and renal table, side by side on several extracts.

Usage: python benchmarks/bench_lab_records.py [EXTRACT ...] [--role unblinded] [--runs 3] [--baseline DIR]
Default extracts: the bundled sample, the CDISC pilot in ../shared and a generated 1,000-subject
trial (made in a temporary folder with ``python -m dashboard generate --seed 12 --subjects 1000``).
``--baseline DIR``: a checkout of the code before a change (e.g. ``git worktree add DIR main``,
with this script copied into its benchmarks/); each extract is then measured there and here, one
after the other in fresh processes, and the table shows both side by side.

A cold pass: a freshly loaded connection (``load_extract``, not timed), then every table of the
``labs`` and ``renal`` analyses computed once through the registry, in registry order, with the
default filter. The records the tables share are built by whichever table comes first, so the
pass total is what a page (or the packet) pays on an empty cache. Each figure is the median over
``--runs`` passes, each on its own fresh connection. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
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


def measure(extracts: list[Path], role: str, runs: int) -> tuple[dict, dict]:
    """(median seconds per extract and table, median pass total per extract)."""
    names = lab_renal_tables(role)
    medians: dict[str, dict[str, float]] = {}
    totals: dict[str, float] = {}
    for extract in extracts:
        passes = [cold_pass(extract, role, names) for _ in range(runs)]
        medians[extract.name] = {n: statistics.median(r[n] for r in passes) for n in names}
        totals[extract.name] = statistics.median(sum(r.values()) for r in passes)
    return medians, totals


def _in_process(code: Path, extract: Path, role: str, runs: int) -> tuple[dict, dict]:
    out = subprocess.run([sys.executable, str(code / "benchmarks" / "bench_lab_records.py"), str(extract),
                          "--role", role, "--runs", str(runs), "--json"], check=True, cwd=code,
                         capture_output=True, text=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["medians"], data["totals"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("extracts", nargs="*", type=Path)
    ap.add_argument("--role", default="unblinded", choices=["blinded", "unblinded"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", type=Path, help="checkout of the code before the change, measured side by side")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    extracts = [x.resolve() for x in args.extracts]
    if not extracts:
        extracts = [ROOT / "sample_data" / "nct04562025_unblinded"]
        pilot = ROOT.parent / "shared" / "cdiscpilot01"
        if pilot.exists():
            extracts.append(pilot)
        gen = Path(tempfile.mkdtemp(prefix="bench_lab_records_")) / "gen1000"
        subprocess.run([sys.executable, "-m", "dashboard", "generate", "--out", str(gen), "--seed", "12",
                        "--subjects", "1000"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        extracts.append(gen)
    if args.json:
        medians, totals = measure(extracts, args.role, args.runs)
        print(json.dumps({"medians": medians, "totals": totals}))
        return
    columns = []  # (label, medians of one extract, total)
    for extract in extracts:
        if args.baseline:
            m, t = _in_process(args.baseline.resolve(), extract, args.role, args.runs)
            columns.append((f"{extract.name[:14]} before", m[extract.name], t[extract.name]))
            m, t = _in_process(ROOT, extract, args.role, args.runs)
            columns.append((f"{extract.name[:14]} after", m[extract.name], t[extract.name]))
        else:
            m, t = measure([extract], args.role, args.runs)
            columns.append((extract.name[:21], m[extract.name], t[extract.name]))
    names = list(columns[-1][1])
    width = max(12, *(len(c[0]) for c in columns))
    print(f"cold pass over {len(names)} lab/renal tables ({args.role}), median of {args.runs} passes "
          f"(fresh connection each), seconds; slowest first by the last column")
    print(f"{'table':28}" + "".join(f" {c[0]:>{width}}" for c in columns))
    for n in sorted(names, key=lambda n: -columns[-1][1].get(n, 0.0)):
        print(f"{n:28}" + "".join(f" {c[1].get(n, float('nan')):>{width}.3f}" for c in columns))
    print(f"{'TOTAL (median pass)':28}" + "".join(f" {c[2]:>{width}.3f}" for c in columns))


if __name__ == "__main__":
    main()
