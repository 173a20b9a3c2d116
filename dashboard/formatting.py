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


#: A static table cell no longer than this stays on one line ("13 (72.2%) [24]", a date, a
#: number); longer text (notes, terms) wraps at spaces and takes the rest of the width.
NOWRAP_CHARS = 24
#: How wide the one-line columns of a static table may be together: what a 1280 px screen's
#: content column (beside the sidebar) holds with room left for a wrapping column. Past it, the
#: shortest columns stay on one line and the rest wrap between words.
NOWRAP_BUDGET_PX = 760
_CHAR_PX, _CELL_PAD_PX = 9.5, 28  # 18 px body font; a cell's left and right padding


def number_style(frame: pd.DataFrame):
    """A pandas Styler for a static table: float columns shown with :func:`fmt_float_cell` (the
    data is unchanged, so a static table reads ``1``, not ``1.0000``), and columns whose every
    cell is short kept on one line while they fit ``NOWRAP_BUDGET_PX`` together, so a count
    never breaks as "13 / (72.2%) / [24]" while a long note beside it wraps between words."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    widths = {c: frame[c].map(lambda v: len(fmt_float_cell(v) if isinstance(v, float) else str(v))).max()
              for c in frame.columns}
    min_width = _min_width_px(frame)
    short, used = [], 0.0
    for column, chars in sorted(((c, w) for c, w in widths.items() if w <= NOWRAP_CHARS), key=lambda cw: cw[1]):
        px = chars * _CHAR_PX + _CELL_PAD_PX
        if used + px > NOWRAP_BUDGET_PX or min_width > WIDE_TABLE_PX:  # a wide listing: let every column wrap
            break
        short.append(column)
        used += px
    styler = frame.style
    if floats:
        styler = styler.format(fmt_float_cell, subset=floats)
    if short:
        styler = styler.set_properties(subset=short, **{"white-space": "nowrap"})
    if min_width > WIDE_TABLE_PX:  # a listing of many columns: smaller type before it breaks words
        props = "font-size: 0.8em;"
        if min_width * SMALL_TYPE > WIDE_TABLE_PX:  # still too wide: words may break rather than run off screen
            props += " overflow-wrap: anywhere;"
        styler = styler.set_table_styles([{"selector": "td, th", "props": props}], overwrite=False)
    return styler


#: The content column of a 1280 px screen beside the sidebar: a static table whose longest words
#: need more than this together is set in smaller type (a listing of a dozen columns).
WIDE_TABLE_PX = 900
SMALL_TYPE = 0.8


def _min_width_px(frame: pd.DataFrame) -> float:
    """About the narrowest a static table can be without breaking a word: per column its longest
    word (cells and header), plus the cell padding."""
    def longest_word(values) -> int:
        return max((len(w) for v in values for w in str(v).split()), default=0)
    return sum(max(longest_word(frame[c].map(lambda v: fmt_float_cell(v) if isinstance(v, float) else v)),
                   longest_word([c])) * _CHAR_PX + _CELL_PAD_PX for c in frame.columns)
