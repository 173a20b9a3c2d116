"""The plain pandas + pandera baseline the loader is measured against (benchmarks/run.py).

Usage: python benchmarks/baseline_pandas_pandera.py EXTRACT_FOLDER

What a data scientist would write without the product: read every domain file whole with pandas
(CSV as text, Parquet as typed), parse the contract's number and date columns, validate each
domain with the same pandera models (``data_contracts``, lazy, failures counted), then build the
two tables a DSMB looks at first: treatment-emergent AEs by arm x SOC x PT (subjects, N from
ADSL's safety population) and creatinine by arm x visit (n, mean). No blinding, no findings
rows, no DuckDB. Prints one line of counts.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import pandera.pandas as pa  # noqa: E402

from data_contracts import CONTRACTS  # noqa: E402


def read_domain(folder: Path, stem: str) -> pd.DataFrame | None:
    for path in (folder / f"{stem}.parquet", folder / f"{stem}.csv"):
        if path.exists():
            if path.suffix == ".csv":
                return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            return pd.read_parquet(path)
    return None


def main(folder: Path) -> None:
    frames, failures = {}, 0
    for name, contract in CONTRACTS.items():
        frame = read_domain(folder, name.lower())
        if frame is None:
            continue
        frame.columns = [c.upper() for c in frame.columns]
        for col in contract.columns_of_kind("number"):
            if col in frame:
                frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        for col in contract.columns_of_kind("date"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col], errors="coerce").astype("datetime64[us]")
        try:
            contract.model.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            failures += len(err.failure_cases)
        frames[name] = frame
    adsl, adae, adlb = frames["ADSL"], frames["ADAE"], frames["ADLB"]
    arm = adsl.set_index("USUBJID")["TRT01A"]
    big_n = adsl[adsl["SAFFL"] == "Y"].groupby("TRT01A")["USUBJID"].nunique()
    teae = adae[adae["TRTEMFL"] == "Y"].assign(arm=lambda f: f["USUBJID"].map(arm))
    ae_table = (teae.groupby(["arm", "AEBODSYS", "AEDECOD"])["USUBJID"].nunique().rename("n").reset_index()
                .assign(N=lambda f: f["arm"].map(big_n), pct=lambda f: 100 * f["n"] / f["N"]))
    creat = adlb[adlb["PARAMCD"] == "CREAT"].assign(arm=lambda f: f["USUBJID"].map(arm))
    creat_table = creat.groupby(["arm", "AVISITN", "AVISIT"])["AVAL"].agg(["count", "mean"]).reset_index()
    rows = sum(len(f) for f in frames.values())
    print(f"rows {rows}; contract failures {failures}; AE table {len(ae_table)} rows; "
          f"creatinine table {len(creat_table)} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
