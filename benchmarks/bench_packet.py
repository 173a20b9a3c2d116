"""Time the meeting packet: load, compute + charts (HTML), typesetting (PDF); medians of several runs.

Usage: python benchmarks/bench_packet.py [EXTRACT] [--role unblinded] [--runs 3]
Default extract: the bundled sample (closed report). Prints wall and CPU seconds per phase, so a
run on a machine shared with other work can still be read (CPU time is what the packet costs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import packet  # noqa: E402
from dashboard.load import load_extract  # noqa: E402


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("extract", nargs="?", type=Path, default=ROOT / "sample_data" / "nct04562025_unblinded")
    ap.add_argument("--role", default="unblinded", choices=["blinded", "unblinded"])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    phases: dict[str, list[tuple[float, float]]] = {"load": [], "html": [], "pdf": [], "total": []}
    pages = 0
    for _ in range(args.runs):
        (con, report), lw, lc = _timed(lambda: load_extract(args.extract, args.role))
        html, hw, hc = _timed(lambda: packet.build_packet_html(con, report, args.role))
        pdf, pw, pc = _timed(lambda: packet.render(html, ".pdf"))
        con.close()
        pages = pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page")
        for name, w, c in (("load", lw, lc), ("html", hw, hc), ("pdf", pw, pc), ("total", lw + hw + pw, lc + hc + pc)):
            phases[name].append((w, c))
    print(f"{args.extract} ({args.role}), {args.runs} runs, ~{pages} pages")
    print(f"{'phase':8} {'median wall s':>14} {'median CPU s':>13}")
    for name, runs in phases.items():
        print(f"{name:8} {statistics.median(w for w, _ in runs):>14.1f} {statistics.median(c for _, c in runs):>13.1f}")


if __name__ == "__main__":
    main()
