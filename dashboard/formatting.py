"""Formatting wrappers: tidy result frames -> the wide tables a board reads on screen.

Numbers are computed at full precision in the analyses and rounded only here, for display
(1 dp, half away from zero; clinical_reference preamble).
"""

from __future__ import annotations

import math

import pandas as pd

from dashboard.filters import TOTAL_ARM


def round_half_away(x: float | None, dp: int = 1) -> float | None:
    """Round half away from zero (2.25 -> 2.3, -2.25 -> -2.3); None/NaN stay missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return None
    factor = 10**dp
    return math.copysign(math.floor(abs(float(x)) * factor + 0.5) / factor, float(x))


def fmt_num(x, dp: int = 1) -> str:
    r = round_half_away(x, dp)
    return "" if r is None else f"{r:.{dp}f}"


def fmt_n_pct(n, pct) -> str:
    """``12 (31.6%)``; ``0`` when n is zero; empty when missing."""
    if n is None or pd.isna(n):
        return ""
    if int(n) == 0:
        return "0"
    return f"{int(n)} ({fmt_num(pct)}%)"


def arm_header(arm: str, N) -> str:
    """Column header ``Placebo (N=19)``."""
    return f"{arm} (N={int(N)})" if N is not None and not pd.isna(N) else str(arm)


def wide_by_arm(frame: pd.DataFrame, row_keys: list[str], cell, arm_col: str = "arm",
                n_col: str | None = "N") -> pd.DataFrame:
    """Pivot a tidy frame to one column per arm (in the frame's arm order, Total last) using ``cell(row)``.

    Headers carry the denominator (``Placebo (N=19)``) when ``n_col`` is present.
    """
    if frame.empty:
        return pd.DataFrame(columns=row_keys)
    order = list(dict.fromkeys(frame[arm_col]))
    order = [a for a in order if a != TOTAL_ARM] + [a for a in order if a == TOTAL_ARM]  # Total always last
    headers = {}
    for arm in order:
        sub = frame[frame[arm_col] == arm]
        headers[arm] = arm_header(arm, sub[n_col].iloc[0]) if n_col and n_col in frame else str(arm)
    data = frame.assign(_cell=frame.apply(cell, axis=1))
    wide = data.pivot_table(index=row_keys, columns=arm_col, values="_cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=order).rename(columns=headers)
    wide.columns.name = None
    return wide.reset_index()


def n_pct_table(key: str, label: str):
    """Display wrapper for a tidy count table: one row per ``key`` level, one column per arm,
    cells ``n (pct%)``. An arm's header carries its largest N; a row whose denominator differs
    from the header's (e.g. safety-population AE rows under a randomized header) shows it in the
    cell, ``13/18 (72.2%)``, so a percentage never reads as if of the header's N. Rows with no
    percentage (no denominator, e.g. subjects screened) show n alone."""

    def display(frame: pd.DataFrame) -> pd.DataFrame:
        data = frame.assign(row_N=frame["N"], N=frame.groupby("arm")["N"].transform("max"))

        def cell(r) -> str:
            if pd.isna(r["n"]):
                return "not available"
            if pd.isna(r["pct"]):
                return str(int(r["n"]))
            if pd.notna(r["row_N"]) and pd.notna(r["N"]) and int(r["row_N"]) != int(r["N"]):
                return f"{int(r['n'])}/{int(r['row_N'])} ({fmt_num(r['pct'])}%)"
            return fmt_n_pct(r["n"], r["pct"])

        wide = wide_by_arm(data, [key], cell)
        return wide.rename(columns={key: label}).fillna("")

    return display


def blank_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """A display copy in which a missing cell is empty text, never the word "None" or "nan".

    Only columns that hold a missing value change (to text); the others keep their type, so
    they still sort as numbers on screen.
    """
    out = frame
    for col in frame.columns:
        values = frame[col]
        if not values.isna().any():
            continue
        if out is frame:
            out = frame.copy()
        out[col] = values.map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else _cell_text(v))
    return out


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fmt_float_cell(value) -> str:
    """A float as a table cell: whole numbers without decimals, others with at most 4 (trailing
    zeros dropped), missing as empty."""
    if value is None or pd.isna(value):
        return ""
    value = float(value)
    if value.is_integer():
        return f"{value:.0f}"
    return f"{value:.4f}".rstrip("0").rstrip(".")


def number_style(frame: pd.DataFrame):
    """A pandas Styler that shows float columns with :func:`fmt_float_cell` (the data is unchanged,
    so a static table reads ``1``, not ``1.0000``)."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return frame.style.format(fmt_float_cell, subset=floats) if floats else frame
