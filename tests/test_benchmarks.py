"""Smoke test of benchmarks/run.py (not timed): a small run writes every field with sane values."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run_module():
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_run_small_writes_every_field(tmp_path):
    out = tmp_path / "results.json"
    code = _run_module().main(["--subjects", "30", "--big-subjects", "30", "--years", "2", "--lab-params", "18",
                               "--runs", "1", "--out", str(out), "--workdir", str(tmp_path / "work")])
    assert code == 0
    results = json.loads(out.read_text())
    assert {"date", "code", "commit", "machine", "runs", "extracts", "tables", "outcome_generation_s"} <= set(results)
    assert results["machine"]["cpus"] >= 1 and len(results["machine"]["load_average_after"]) == 3
    assert list(results["extracts"]) == ["30 subjects (csv)", "30 subjects (parquet)",
                                         "30 subjects, 2 years, 18 labs (parquet)", "30 subjects, 2 years, 18 labs (csv)"]
    for name, figures in results["extracts"].items():
        assert set(figures["rows"]) == {"ADSL", "ADAE", "ADLB", "ADEX", "ADVS"}, name
        assert figures["rows"]["ADSL"] >= 30
        for command in ("validate", "load", "baseline"):
            r = figures[command]
            assert r["exit"] in (0, 1), (name, command, r.get("stderr"))   # 1: rows quarantined
            assert 0 < r["wall_s"] < 600 and 0 < r["cpu_s"] < 600 and 50 < r["peak_rss_mib"] < 4096, (name, command)
            assert len(r["wall_s_runs"]) == 1
        for command in ("validate", "load"):
            assert figures[command]["time_ratio_to_baseline"] > 0
            assert figures[command]["memory_ratio_to_baseline"] > 0 and figures[command]["cpu_ratio_to_baseline"] > 0
    big = results["extracts"]["30 subjects, 2 years, 18 labs (csv)"]["rows"]
    assert big == results["extracts"]["30 subjects, 2 years, 18 labs (parquet)"]["rows"]
    tables = results["tables"]
    assert len(tables) > 20 and "error" not in tables
    assert all(t["cold_s"] >= 0 and t["warm_s"] >= 0 and t["status"] in ("ok", "not in this extract")
               for t in tables.values())
