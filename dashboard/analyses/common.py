"""Counting helpers shared by the analyses (tern's ``count_patients_with_event`` layer).

Denominators always come from ADSL via :func:`dashboard.population.arm_denominators`, passed
in separately, so an arm with no events still shows n = 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.filters import TOTAL_ARM


def count_subjects(rows: pd.DataFrame, denominators: pd.DataFrame, keys: list[str],
                   levels: pd.DataFrame | None = None, events: bool = False) -> pd.DataFrame:
    """Subjects (n), and optionally records (``events``), per key x arm, zeros included.

    ``rows``: one row per record with ``usubjid``, ``arm`` and the ``keys`` columns.
    ``denominators``: ``arm``, ``arm_order``, ``N`` (``Total`` row included if wanted).
    ``levels``: every key combination to show (default: those present in ``rows``).
    Returns ``*keys, arm, n, N, pct`` (+ ``events``), one row per key combination x arm;
    ``Total`` counts each subject once across arms.
    """
    if levels is None:
        levels = rows[keys].drop_duplicates() if len(rows) else pd.DataFrame(columns=keys)
    levels = levels.reset_index(drop=True)
    arms = denominators[["arm", "arm_order", "N"]]
    grid = levels.merge(arms, how="cross")
    parts = []
    has_total = (arms["arm"] == TOTAL_ARM).any()
    data = rows
    if has_total and len(rows):
        data = pd.concat([rows, rows.assign(arm=TOTAL_ARM)], ignore_index=True)
    if len(data):
        agg = data.groupby([*keys, "arm"], dropna=False).agg(n=("usubjid", "nunique"), events=("usubjid", "size"))
        agg = agg.reset_index()
        parts.append(agg)
    counted = parts[0] if parts else pd.DataFrame(columns=[*keys, "arm", "n", "events"])
    out = grid.merge(counted, on=[*keys, "arm"], how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    out["events"] = out["events"].fillna(0).astype("int64")
    out["pct"] = np.where(out["N"] > 0, 100.0 * out["n"] / out["N"].where(out["N"] > 0, 1), np.nan)
    cols = [*keys, "arm", "n", "N", "pct"] + (["events"] if events else [])
    return out[cols].reset_index(drop=True)


NOT_AVAILABLE = "not available"


def not_available_text(needs: str) -> str:
    """The note a count carries when its inputs are absent: never a 0 (docs/definitions.md)."""
    return f"Not available in this extract: needs {needs}."


def mark_not_available(frame: pd.DataFrame, mask: pd.Series, note: str, note_col: str = "note") -> pd.DataFrame:
    """Blank the counts (``n``, ``pct``, ``events`` when present) of the rows in ``mask`` and set
    their note: an absent input is "not available", exported as an empty value, never 0."""
    out = frame.copy()
    for col in ("n", "events"):
        if col in out:
            out[col] = out[col].astype("Int64")
            out.loc[mask, col] = pd.NA
    if "pct" in out:
        out.loc[mask, "pct"] = np.nan
    if note_col not in out:
        out[note_col] = ""
    out.loc[mask, note_col] = note
    return out


def describe_continuous(values: pd.Series) -> dict:
    """n, mean, SD (n-1), median, Q1, Q3 (type 7 quantiles), min, max of the non-missing values."""
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if v.empty:
        return {"n": 0, "missing": int(values.isna().sum()), "mean": np.nan, "sd": np.nan, "median": np.nan,
                "q1": np.nan, "q3": np.nan, "min": np.nan, "max": np.nan}
    return {"n": int(v.size), "missing": int(values.isna().sum()), "mean": float(v.mean()),
            "sd": float(v.std(ddof=1)) if v.size > 1 else np.nan, "median": float(v.median()),
            "q1": float(v.quantile(0.25)), "q3": float(v.quantile(0.75)), "min": float(v.min()), "max": float(v.max())}


def with_total_rows(subject_rows: pd.DataFrame, denominators: pd.DataFrame) -> pd.DataFrame:
    """Subject rows duplicated under ``Total`` when the denominators have a Total arm."""
    if (denominators["arm"] == TOTAL_ARM).any():
        return pd.concat([subject_rows, subject_rows.assign(arm=TOTAL_ARM)], ignore_index=True)
    return subject_rows
