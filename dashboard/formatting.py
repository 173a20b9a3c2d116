"""Formatting wrappers: tidy result frames -> the wide tables a board reads on screen.

Numbers are computed at full precision in the analyses and rounded only here, for display
(1 dp, half away from zero; clinical_reference preamble).
"""

from __future__ import annotations

import math

import pandas as pd


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
    """Pivot a tidy frame to one column per arm (in the frame's arm order) using ``cell(row)``.

    Headers carry the denominator (``Placebo (N=19)``) when ``n_col`` is present.
    """
    if frame.empty:
        return pd.DataFrame(columns=row_keys)
    order = list(dict.fromkeys(frame[arm_col]))
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
    cells ``n (pct%)``. Rows with no percentage (no denominator, e.g. subjects screened) show n
    alone; an arm's header carries its largest N."""

    def display(frame: pd.DataFrame) -> pd.DataFrame:
        data = frame.assign(N=frame.groupby("arm")["N"].transform("max"))
        wide = wide_by_arm(data, [key], lambda r: "not available" if pd.isna(r["n"]) else
                           fmt_n_pct(r["n"], r["pct"]) if pd.notna(r["pct"]) else str(int(r["n"])))
        return wide.rename(columns={key: label}).fillna("")

    return display
