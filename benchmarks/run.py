"""One command for the performance figures: prints a table and writes benchmarks/results.json.

Usage: python benchmarks/run.py [--subjects 1000] [--big-subjects 13000] [--years 3] [--lab-params 40]
                                [--runs 3] [--big-runs 1] [--no-tables] [--out benchmarks/results.json]
                                [--repo DIR] [--workdir DIR]

Measured, each as a whole process (``python -m dashboard ...``) run ``--runs`` times, median wall
seconds, CPU seconds (user + system: steadier than wall time on a shared machine) and peak
resident memory of the process (``os.wait4``'s rusage):

* a generated trial of ``--subjects`` subjects (the sample generator: 10 visits, 17 labs), as
  CSV and as Parquet: ``validate --json`` (the blinded role, its default: the R4 gate runs) and
  ``load --db --role unblinded``; and ``benchmarks/baseline_pandas_pandera.py`` (read, validate
  with the same pandera models, build the AE and creatinine tables) on the same files, run in
  turn with ours, with the ratios ours / baseline of time and memory;
* the same for an outcome-trial-sized extract (``--big-subjects``, ``--years``, ``--lab-params``:
  FIDELITY is 13,026 patients; ``--big-subjects 0`` skips it), ``--big-runs`` times;
* ``outcome_generation_s``: the seconds the outcome-sized extract took to generate (when made);
* unless ``--no-tables``, every registered table (``dashboard.registry.TABLES``, unblinded) on
  the ``--subjects`` trial: cold (a fresh read-only connection to the loaded database, in a new
  process per pass) and warm (the same computation again on that connection).

``--repo`` measures another checkout's code on the same files (a before/after comparison).
The machine (cores, memory, load average before and after) is recorded with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TABLES_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from dashboard import db, registry
from dashboard.filters import FilterSpec
out = {}
for entry in registry.tables_for(None, "unblinded"):
    con = db.connect(sys.argv[2], read_only=True)
    times = []
    for _ in range(2):
        t = time.perf_counter()
        try:
            registry.compute(entry.name, con, FilterSpec(), "unblinded")
            status = "ok"
        except registry.NotInExtract:
            status = "not in this extract"
        times.append(time.perf_counter() - t)
    con.close()
    out[entry.name] = {"cold_s": times[0], "warm_s": times[1], "status": status}
print(json.dumps(out))
"""


def run_once(argv: list[str], cwd: Path) -> dict:
    """Wall seconds, peak RSS (MiB) and exit code of one whole process."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace")[-400:]
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024,
            "exit": proc.returncode, "stderr": err}


def summarise(runs: list[dict]) -> dict:
    return {"wall_s": statistics.median(r["wall_s"] for r in runs),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
            "wall_s_runs": [round(r["wall_s"], 3) for r in runs], "exit": runs[0]["exit"],
            **({"stderr": runs[0]["stderr"]} if runs[0]["exit"] not in (0, 1) else {})}


def measure_extract(folder: Path, repo: Path, runs: int, work: Path) -> dict:
    """validate, load and the baseline on one extract, in turn (A B C A B C ...), medians."""
    py = sys.executable
    db_file = work / "bench.duckdb"
    commands = {
        "validate": [py, "-m", "dashboard", "validate", str(folder), "--json"],
        "load": [py, "-m", "dashboard", "load", str(folder), "--db", str(db_file), "--role", "unblinded"],
        "baseline": [py, str(ROOT / "benchmarks" / "baseline_pandas_pandera.py"), str(folder)],
    }
    results: dict[str, list] = {k: [] for k in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            results[name].append(run_once(argv, repo))
    out = {name: summarise(r) for name, r in results.items()}
    base = out["baseline"]
    for name in ("validate", "load"):
        out[name]["time_ratio_to_baseline"] = out[name]["wall_s"] / base["wall_s"]
        out[name]["cpu_ratio_to_baseline"] = out[name]["cpu_s"] / base["cpu_s"]
        out[name]["memory_ratio_to_baseline"] = out[name]["peak_rss_mib"] / base["peak_rss_mib"]
    db_file.unlink(missing_ok=True)
    return out


COUNT_CHILD = r"""
import json, sys
from pathlib import Path
import pyarrow.parquet as pq
rows = {}
for f in sorted(Path(sys.argv[1]).iterdir()):
    if f.suffix == ".parquet":
        rows[f.stem.upper()] = pq.ParquetFile(f).metadata.num_rows
    elif f.suffix == ".csv":
        with open(f, "rb") as fh:
            rows[f.stem.upper()] = sum(1 for _ in fh) - 1
print(json.dumps(rows))
"""

GENERATE_CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from dashboard.generate import generate_extract, generate_outcome_extract
kind, out, subjects = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
t = time.perf_counter()
if kind in ("csv", "parquet"):
    generate_extract(out, seed=1, subjects=subjects, file_format=kind)
else:
    generate_outcome_extract(out, seed=1, subjects=subjects, years=int(sys.argv[5]), lab_params=int(sys.argv[6]),
                             formats=("parquet", "csv"))
print(time.perf_counter() - t)
"""


def child(code: str, *args) -> str:
    """Work that needs pandas/pyarrow runs in a child process: a child forked from a big parent
    starts with the parent's resident memory in its peak (Linux ru_maxrss), so the parent stays small."""
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def count_rows(folder: Path) -> dict:
    return json.loads(child(COUNT_CHILD, folder))


def measure_tables(folder: Path, repo: Path, work: Path) -> dict:
    db_file = work / "tables.duckdb"
    subprocess.run([sys.executable, "-m", "dashboard", "load", str(folder), "--db", str(db_file), "--role",
                    "unblinded"], cwd=repo, check=False, capture_output=True)
    done = subprocess.run([sys.executable, "-c", TABLES_CHILD, str(repo), str(db_file)], cwd=repo,
                          capture_output=True, text=True)
    db_file.unlink(missing_ok=True)
    if done.returncode != 0:
        return {"error": done.stderr[-400:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict:
    mem = ""
    try:
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "memory": mem.split(":")[-1].strip(), "python": platform.python_version(),
            "platform": platform.platform(), "load_average_before": os.getloadavg()}


def git_commit(repo: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--big-subjects", type=int, default=13000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--lab-params", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-runs", type=int, default=1)
    ap.add_argument("--no-tables", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    ap.add_argument("--repo", type=Path, default=ROOT, help="checkout whose code is measured")
    ap.add_argument("--workdir", type=Path, default=None, help="where generated extracts go (kept)")
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="dsmb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {"date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
               "code": str(args.repo), "commit": git_commit(args.repo), "machine": machine(),
               "runs": args.runs, "extracts": {}}
    trials = {}
    for fmt in ("csv", "parquet"):
        folder = work / f"trial{args.subjects}_{fmt}"
        if not (folder / f"adlb.{fmt}").exists():
            child(GENERATE_CHILD, ROOT, fmt, folder, args.subjects)
        trials[f"{args.subjects} subjects ({fmt})"] = (folder, args.runs)
    if args.big_subjects:
        big = work / f"outcome{args.big_subjects}_{args.years}y_{args.lab_params}p"
        if not (big / "csv" / "adlb.csv").exists():
            results["outcome_generation_s"] = float(child(GENERATE_CHILD, ROOT, "outcome", big, args.big_subjects,
                                                          args.years, args.lab_params))
        for fmt in ("parquet", "csv"):
            trials[f"{args.big_subjects} subjects, {args.years} years, {args.lab_params} labs ({fmt})"] = (
                big / fmt, args.big_runs)
    for name, (folder, runs) in trials.items():
        figures = measure_extract(folder, args.repo, runs, work)
        figures["rows"] = count_rows(folder)
        results["extracts"][name] = figures
        print_extract(name, figures)
    if not args.no_tables:
        tables = measure_tables(trials[f"{args.subjects} subjects (parquet)"][0], args.repo, work)
        results["tables"] = tables
        print_tables(tables)
    results["machine"]["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"load average before {results['machine']['load_average_before']}, after "
          f"{results['machine']['load_average_after']}; wrote {args.out}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_extract(name: str, f: dict) -> None:
    print(f"\n{name}: {sum(f['rows'].values()):,} rows ({', '.join(f'{k} {v:,}' for k, v in f['rows'].items())})")
    print(f"  {'command':10} {'median s':>9} {'cpu s':>7} {'peak MiB':>9} {'time x base':>12} {'cpu x base':>11} "
          f"{'mem x base':>11}  runs")
    for cmd in ("validate", "load", "baseline"):
        r = f[cmd]
        ratios = (f"{r['time_ratio_to_baseline']:>12.2f} {r['cpu_ratio_to_baseline']:>11.2f} "
                  f"{r['memory_ratio_to_baseline']:>11.2f}" if cmd != "baseline" else f"{'':>12} {'':>11} {'':>11}")
        print(f"  {cmd:10} {r['wall_s']:>9.2f} {r['cpu_s']:>7.2f} {r['peak_rss_mib']:>9.0f} {ratios}  {r['wall_s_runs']} "
              f"exit {r['exit']}")


def print_tables(tables: dict) -> None:
    if "error" in tables:
        print(f"\nregistered tables: not measured ({tables['error']})")
        return
    print(f"\nregistered tables ({len(tables)}), cold / warm seconds, slowest cold first:")
    for name, t in sorted(tables.items(), key=lambda kv: -kv[1]["cold_s"]):
        print(f"  {name:34} {t['cold_s']:>7.3f} {t['warm_s']:>7.3f}  {t['status']}")


if __name__ == "__main__":
    sys.exit(main())
