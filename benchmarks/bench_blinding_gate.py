"""Blinding gate (rule R4): the highest arm-prediction scores any kept column reaches, and its cost.

Usage: python benchmarks/bench_blinding_gate.py [EXTRACT ...] [--runs 3]
Default extracts: the bundled sample (unblinded source), the CDISC pilot and pharmaverseadam in
../shared when present. For each: whether the blinded load passes, the top leave-one-out accuracy
and value-group/cut-off purity (with the column and parameter), the top per-parameter tail purity
(reported, not refused on), their margins to the limits, and the median seconds of the gate and
of the whole blinded load. For the unblinded statistician and the developers only: a blinded user
never sees a score.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from dashboard import blinding, load  # noqa: E402
from data_contracts import CONTRACTS  # noqa: E402

DEFAULTS = [ROOT / "sample_data" / "nct04562025_unblinded", ROOT.parent / "shared" / "cdiscpilot01",
            ROOT.parent / "shared" / "pharmaverseadam"]


def measure(extract: Path) -> dict:
    """One blinded load with the gate's scores captured."""
    box: dict = {}
    gate = load._refuse_arm_predicting_columns

    def spy(ctx):
        if ctx.inherit is None and ctx.arm_by_subject is not None:
            arms = ctx.arm_by_subject
            if ctx.prev_arms is not None:
                arms = pd.concat([arms, ctx.prev_arms[~ctx.prev_arms.index.isin(arms.index)]])
            t = time.perf_counter()
            box["scores"] = blinding.arm_scores(ctx.con, {n: [n.lower(), f"prev_{n.lower()}"] for n in CONTRACTS},
                                                arms, ctx.manifest.blind_reviewed)
            box["gate"] = time.perf_counter() - t
        return gate(ctx)

    load._refuse_arm_predicting_columns = spy
    t = time.perf_counter()
    try:
        con, _report = load.load_extract(extract, "blinded")
        con.close()
        box["status"] = "loads"
    except load.ExtractError as exc:
        box["status"] = f"refused: {exc}"
    finally:
        load._refuse_arm_predicting_columns = gate
    box["load"] = time.perf_counter() - t
    return box


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("extracts", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for extract in args.extracts or [p for p in DEFAULTS if p.exists()]:
        runs = [measure(extract) for _ in range(args.runs)]
        scores = runs[0].get("scores", [])
        print(f"{extract.name}: {runs[0]['status'][:160]}; {len(scores)} summaries scored; "
              f"gate median {statistics.median(r.get('gate', 0) for r in runs):.1f}s, "
              f"blinded load median {statistics.median(r['load'] for r in runs):.1f}s")
        for key, limit in (("accuracy", blinding.ACCURACY_LIMIT), ("purity", blinding.GROUP_PURITY),
                           ("tail", blinding.GROUP_PURITY)):
            if not scores:
                continue
            top = max(scores, key=lambda s: getattr(s, key))
            print(f"  top {key}: {getattr(top, key):.3f} (limit {limit}, margin {limit - getattr(top, key):+.3f}) "
                  f"{top.domain}.{top.column} parameter {top.parameter}")


if __name__ == "__main__":
    main()
