"""Display wrappers of the lab tables: tidy frame -> the wide table a page shows and a download holds.

Rounding and labels happen only here (tern's formatting layer).
"""

from __future__ import annotations

import pandas as pd

from dashboard.analyses.labs.records import CATEGORIES
from dashboard.analyses.labs.tables import GRADES


def _pct_cell(n, pct) -> str:
    from dashboard.formatting import fmt_n_pct

    return fmt_n_pct(n, pct)


def _shift_display(frame: pd.DataFrame, level_col: str, levels: tuple, label: str, first_cols: list[tuple],
                   optional: tuple = ()) -> pd.DataFrame:
    """Rows: ``first_cols`` x arm (N) x baseline level; columns: post-baseline levels, n (%).

    ``optional`` levels (MISSING; grades above 0) appear as a row only when a subject has that
    baseline level in the frame, and MISSING as a column only when a subject has it: empty rows
    only lengthen the table on a projector.
    """
    from dashboard.formatting import arm_header

    if frame.empty:
        return pd.DataFrame(columns=[c for _, c in first_cols] + ["Arm", f"Baseline {label}", *levels])
    keys = [c for c, _ in first_cols]
    present_rows = set(frame.loc[frame["n"] > 0, "baseline"])
    present_cols = set(frame.loc[frame["n"] > 0, level_col])
    frame = frame[~frame["baseline"].isin(optional) | frame["baseline"].isin(present_rows)]
    levels = tuple(v for v in levels if v not in ("MISSING", "Missing") or v in present_cols)
    data = frame.assign(_cell=[_pct_cell(n, p) for n, p in zip(frame["n"], frame["pct"])],
                        _arm=[arm_header(a, n) for a, n in zip(frame["arm"], frame["N"])])
    wide = data.pivot_table(index=[*keys, "_arm", "baseline"], columns=level_col, values="_cell", aggfunc="first",
                            sort=False).reindex(columns=list(levels)).reset_index()
    wide.columns.name = None
    return wide.rename(columns={**dict(first_cols), "_arm": "Arm", "baseline": f"Baseline {label}"})


def _lab_shift_display(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.assign(direction=frame["direction"].map({"high": "Worst high", "low": "Worst low"}))
    return _shift_display(data, "post_baseline", CATEGORIES, "category",
                          [("param", "Parameter"), ("visit", "Post-baseline"), ("direction", "Direction")],
                          optional=("MISSING",))


def _ctcae_display(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.assign(post_baseline=frame["post_baseline"].map(lambda g: g if g == "Missing" else f"Grade {g}"),
                        baseline=frame["baseline"].map(lambda g: g if g == "Missing" else f"Grade {g}"))
    levels = tuple(g if g == "Missing" else f"Grade {g}" for g in GRADES)
    return _shift_display(data, "post_baseline", levels, "grade", [("param", "Parameter"), ("term", "CTCAE term")],
                          optional=levels[1:])


def _shift_summary_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_n_pct

    data = frame.assign(_cell=[f"{fmt_n_pct(n, p)} / {int(N)}" if N else "no data"
                               for n, p, N in zip(frame["n"], frame["pct"], frame["N"])])
    wide = data.pivot_table(index=["group", "param", "shift"], columns="arm", values="_cell", aggfunc="first",
                            sort=False).reset_index()
    wide.columns.name = None
    return wide.rename(columns={"group": "Group", "param": "Parameter", "shift": "Shift from baseline"})


def _summary_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    def f(x, dp):
        return fmt_num(x, int(dp))

    dp = frame["dp"].fillna(1).astype(int)
    dp1 = (dp + 1).clip(upper=3)
    return pd.DataFrame({
        "Parameter": frame["param"], "Visit": frame["visit"], "Arm": frame["arm"], "n": frame["n"],
        "Mean (SD)": [f"{f(m, d)} ({f(s, d)})" if n else "" for m, s, d, n in zip(frame["mean"], frame["sd"], dp1, frame["n"])],
        "Median": [f(m, d) for m, d in zip(frame["median"], dp1)],
        "Min, max": [f"{f(a, d)}, {f(b, d)}" if n else "" for a, b, d, n in zip(frame["min"], frame["max"], dp, frame["n"])],
        "Change n": frame["chg_n"],
        "Change mean (SD)": [f"{f(m, d)} ({f(s, d)})" if n else "" for m, s, d, n in
                             zip(frame["chg_mean"], frame["chg_sd"], dp1, frame["chg_n"])],
        "Change median": [f(m, d) for m, d in zip(frame["chg_median"], dp1)],
        "Change min, max": [f"{f(a, d)}, {f(b, d)}" if n else "" for a, b, d, n in
                            zip(frame["chg_min"], frame["chg_max"], dp, frame["chg_n"])],
    })


def _fmt_date(x) -> str:
    return "" if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d")


def _fmt_range(lo, hi) -> str:
    if pd.isna(lo) and pd.isna(hi):
        return ""
    return f"{'' if pd.isna(lo) else f'{lo:g}'} to {'' if pd.isna(hi) else f'{hi:g}'}"


def _listing_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    return pd.DataFrame({
        "Subject": frame["usubjid"], "Arm": frame["arm"], "Parameter": frame["param"], "Visit": frame["visit"],
        "Date": frame["adt"].map(_fmt_date), "Day": frame["day"].map(lambda d: "" if pd.isna(d) else str(int(d))),
        "Value": frame["aval"].map(lambda v: f"{v:g}"), "Unit": frame["unit"],
        "Range": [_fmt_range(a, b) for a, b in zip(frame["anrlo"], frame["anrhi"])],
        "Flag": frame["category"].map({"LOW": "L", "HIGH": "H"}).fillna(""),
        "x ULN": frame["x_uln"].map(lambda v: fmt_num(v, 2)),
        "CTCAE grade": frame["grade"].map(lambda g: "" if pd.isna(g) else str(int(g))),
        "CTCAE term": frame["term"].fillna(""),
        "Baseline": frame["baseline"].map(lambda v: "" if pd.isna(v) else f"{v:g}"),
        "Source": [f"{f} row {r}" for f, r in zip(frame["SRC_FILE"], frame["SRC_ROW"])],
    })


def _quadrant_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import wide_by_arm

    labels = {"possible Hy's law": "Possible Hy's law (ALT >= 3x, TBL > 2x ULN)",
              "Temple's corollary": "Temple's corollary (ALT >= 3x, TBL <= 2x ULN)",
              "hyperbilirubinemia": "Hyperbilirubinemia / cholestasis (TBL > 2x ULN only)",
              "normal": "Normal range quadrant"}
    data = frame.assign(quadrant=frame["quadrant"].map(labels))
    return wide_by_arm(data, ["quadrant"], lambda r: _pct_cell(r["n"], r["pct"])).rename(
        columns={"quadrant": "eDISH quadrant"})


def _hys_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    x = lambda v: fmt_num(v, 2)  # noqa: E731
    return pd.DataFrame({
        "Subject": frame["usubjid"], "Arm": frame["arm"], "Classification": frame["classification"],
        "ALT/AST test": frame["alt_ast_test"], "ALT/AST date": frame["alt_ast_date"].map(_fmt_date),
        "ALT/AST x ULN": frame["alt_ast_x_uln"].map(x), "Bilirubin date": frame["tbl_date"].map(_fmt_date),
        "Bilirubin x ULN": frame["tbl_x_uln"].map(x), "Days apart": frame["days_apart"],
        "ALP x ULN": frame["alp_x_uln"].map(x), "R ratio": frame["r_ratio"].map(x),
        "Peak ALT (x ULN, date)": [f"{'' if pd.isna(v) else f'{v:g}'} ({x(m)}x, {_fmt_date(d)})" if not pd.isna(v) else ""
                                   for v, m, d in zip(frame["peak_alt"], frame["peak_alt_x_uln"], frame["peak_alt_date"])],
        "Peak AST (x ULN, date)": [f"{v:g} ({x(m)}x, {_fmt_date(d)})" if not pd.isna(v) else ""
                                   for v, m, d in zip(frame["peak_ast"], frame["peak_ast_x_uln"], frame["peak_ast_date"])],
        "Peak bilirubin (x ULN, date)": [f"{v:g} ({x(m)}x, {_fmt_date(d)})" if not pd.isna(v) else ""
                                         for v, m, d in zip(frame["peak_tbl"], frame["peak_tbl_x_uln"],
                                                            frame["peak_tbl_date"])],
    })


def _edish_subjects_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    x = lambda v: fmt_num(v, 2)  # noqa: E731
    return pd.DataFrame({"Subject": frame["usubjid"], "Arm": frame["arm"], "x test": frame["x_test"],
                         "Peak x ULN": frame["x_uln"].map(x), "Date": frame["x_date"].map(_fmt_date),
                         "Peak bilirubin x ULN": frame["tbl_x_uln"].map(x), "Bilirubin date": frame["tbl_date"].map(_fmt_date),
                         "Peak ALP x ULN": frame["alp_x_uln"].map(x), "Quadrant": frame["quadrant"]})


def _parameters_display(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"group": "Group", "paramcd": "Code", "param": "Parameter", "unit": "Unit",
                                 "subjects": "Subjects", "records": "Records", "with_baseline": "With baseline",
                                 "range": "Categories from", "ctcae": "CTCAE v5.0 terms"})


def _shift_subjects_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    x = lambda v: fmt_num(v, 2)  # noqa: E731
    return pd.DataFrame({"Subject": frame["usubjid"], "Arm": frame["arm"], "Parameter": frame["param"],
                         "Baseline": frame["baseline"].map(lambda v: f"{v:g}"), "Baseline category": frame["baseline_category"],
                         "Highest post-baseline": frame["max_post"].map(lambda v: f"{v:g}"),
                         "x ULN": frame["max_post_x_uln"].map(x), "Worst high": frame["worst_high"],
                         "Lowest post-baseline": frame["min_post"].map(lambda v: f"{v:g}"),
                         "x LLN": frame["min_post_x_lln"].map(x), "Worst low": frame["worst_low"]})
