"""Load/validate speed and memory, as medians of several runs (machines are shared and noisy).

Usage: python benchmarks/bench_load.py [--subjects 2000] [--runs 3] [--pilot ../shared/cdiscpilot01]
Prints, per extract and role: rows loaded, median wall seconds, rows per second, and the peak
resident memory of a child process (``resource.getrusage``), plus the blinded/unblinded ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from dashboard.load import load_extract
t = time.perf_counter()
con, rep = load_extract(sys.argv[1], sys.argv[2])
wall = time.perf_counter() - t
rows = sum(d.rows_read for d in rep.domains.values())
print(json.dumps({"wall": wall, "rows": rows, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(extract: Path, role: str, runs: int) -> dict:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CHILD, str(extract), role, str(ROOT)], capture_output=True,
                             text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    wall = statistics.median(r["wall"] for r in results)
    return {"rows": results[0]["rows"], "wall_median_s": wall, "rows_per_s": results[0]["rows"] / wall,
            "peak_mb_median": statistics.median(r["peak_mb"] for r in results)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pilot", type=Path, default=ROOT.parent / "shared" / "cdiscpilot01")
    args = ap.parse_args()
    extracts = {"sample (38 subjects)": ROOT / "sample_data" / "nct04562025_unblinded"}
    tmp = Path(tempfile.mkdtemp(prefix="dsmb-bench-"))
    subprocess.run([sys.executable, "-m", "dashboard", "generate", "--out", str(tmp / "big"), "--seed", "1",
                    "--subjects", str(args.subjects), "--format", "parquet"], cwd=ROOT, check=True,
                   capture_output=True)
    extracts[f"synthetic ({args.subjects} subjects, parquet)"] = tmp / "big"
    if args.pilot.exists():
        extracts["CDISC pilot (XPT)"] = args.pilot
    print(f"{'extract':40} {'role':10} {'rows':>9} {'median s':>9} {'rows/s':>10} {'peak MB':>8}")
    for name, path in extracts.items():
        figures = {}
        for role in ("unblinded", "blinded"):
            f = measure(path, role, args.runs)
            figures[role] = f
            print(f"{name:40} {role:10} {f['rows']:>9} {f['wall_median_s']:>9.2f} {f['rows_per_s']:>10.0f} "
                  f"{f['peak_mb_median']:>8.0f}")
        print(f"{'':40} blinded/unblinded time ratio: {figures['blinded']['wall_median_s'] / figures['unblinded']['wall_median_s']:.2f}")


if __name__ == "__main__":
    main()
