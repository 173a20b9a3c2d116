"""Display wrappers of the renal tables (rounding happens only here): tidy frame -> the wide table
a page shows and a download holds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analyses.renal.records import RENAL_PARAMS
from dashboard.analyses.renal.tables import A_LEVELS, BASELINE_VISIT, G_LEVELS, RISK_LEVELS


def _fmt_ci(est, lo, hi, dp: int) -> str:
    from dashboard.formatting import fmt_num

    if pd.isna(est):
        return ""
    if pd.isna(lo) or pd.isna(hi):
        return fmt_num(est, dp)
    return f"{fmt_num(est, dp)} ({fmt_num(lo, dp)}, {fmt_num(hi, dp)})"


def _summary_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num, wide_by_arm

    rows = []
    order = {k: i for i, k in enumerate(RENAL_PARAMS)}
    for r in frame.itertuples(index=False):
        meta = RENAL_PARAMS[r.param]
        dp = meta.decimals
        param = f"{r.label} ({r.unit})" if r.unit else r.label
        base = {"Parameter": param, "Visit": r.visit, "_p": order[r.param], "_v": r.visitn, "arm": r.arm, "N": r.N}
        mean_sd = f"{fmt_num(r.mean, dp)} ({fmt_num(r.sd, dp)})" if r.n > 1 else fmt_num(r.mean, dp) if r.n else ""
        stats = [("n", str(int(r.n))),
                 ("Mean (SD)", mean_sd),
                 ("Median [Q1, Q3]",
                  f"{fmt_num(r.median, dp)} [{fmt_num(r.q1, dp)}, {fmt_num(r.q3, dp)}]" if r.n else "")]
        if meta.log_scale:
            stats.append(("Geometric mean (95% CI)", _fmt_ci(r.gmean, r.gmean_lower, r.gmean_upper, dp)))
            if r.visit != BASELINE_VISIT:
                stats.append(("GMR to baseline (95% CI)", _fmt_ci(r.gmr, r.gmr_lower, r.gmr_upper, 2)))
        elif r.visit != BASELINE_VISIT:
            n_chg = "" if pd.isna(r.n_chg) else f"n={int(r.n_chg)}: "
            stats.append(("Change from baseline, mean (95% CI)",
                          n_chg + _fmt_ci(r.chg_mean, r.chg_lower, r.chg_upper, dp) if not pd.isna(r.chg_mean) else ""))
        for i, (name, cell) in enumerate(stats):
            rows.append({**base, "Statistic": name, "_s": i, "cell": cell})
    long = pd.DataFrame(rows)
    if long.empty:
        return pd.DataFrame(columns=["Parameter", "Visit", "Statistic"])
    long = long.sort_values(["_p", "_v", "_s"], kind="stable")
    wide = wide_by_arm(long, ["Parameter", "Visit", "Statistic"], lambda r: r["cell"])
    return wide


def _slope_listing_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    return pd.DataFrame({"Subject": frame["usubjid"], "Arm": frame["arm"], "Values in fit": frame["n_values"],
                         "Days since first dose (first-last)": [f"{fmt_num(a, 0)} to {fmt_num(b, 0)}"
                                                                for a, b in zip(frame["first_day"], frame["last_day"])],
                         "Baseline eGFR": [fmt_num(v) for v in frame["baseline"]],
                         "Slope (mL/min/1.73 m2/yr)": [fmt_num(v, 2) for v in frame["slope_per_year"]]})


def _slope_summary_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num, wide_by_arm

    rows = []
    for r in frame.itertuples(index=False):
        for i, (name, cell) in enumerate([
                ("n", str(int(r.n))),
                ("Mean (SD)", f"{fmt_num(r.mean, 2)} ({fmt_num(r.sd, 2)})" if r.n > 1 else fmt_num(r.mean, 2)),
                ("95% CI of the mean", f"{fmt_num(r.lower, 2)}, {fmt_num(r.upper, 2)}" if r.n > 1 else ""),
                ("Median [Q1, Q3]",
                 f"{fmt_num(r.median, 2)} [{fmt_num(r.q1, 2)}, {fmt_num(r.q3, 2)}]" if r.n else "")]):
            rows.append({"Statistic": name, "_s": i, "arm": r.arm, "N": r.N, "cell": cell})
    long = pd.DataFrame(rows)
    if long.empty:
        return pd.DataFrame(columns=["Statistic"])
    return wide_by_arm(long, ["Statistic"], lambda r: r["cell"])


def _slope_difference_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    return pd.DataFrame({
        "Comparison": [f"{a} minus {b}" for a, b in zip(frame["arm"], frame["reference"])],
        "n": [f"{int(a)} vs {int(b)}" for a, b in zip(frame["n"], frame["n_reference"])],
        "Difference in mean slope (95% CI), mL/min/1.73 m2/yr": [
            _fmt_ci(d, lo, hi, 2) for d, lo, hi in zip(frame["difference"], frame["lower"], frame["upper"])],
        "Welch df": [fmt_num(v, 1) for v in frame["df"]]})


def _events_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num, wide_by_arm

    def cell(r):
        if pd.isna(r["n"]):
            return "not available"
        n, evaluable = int(r["n"]), int(r["N_evaluable"])
        if n == 0:
            return f"0/{evaluable}"
        text = f"{n}/{evaluable} ({fmt_num(r['pct'])}%)"
        if not pd.isna(r["median_study_day"]):
            text += f"; median day {fmt_num(r['median_study_day'], 0)}"
        return text

    # headers carry the population N; cells the evaluable N (baseline and follow-up)
    data = frame.assign(N_evaluable=frame["N"], N=frame["N_population"])
    wide = wide_by_arm(data, ["label"], cell)
    return wide.rename(columns={"label": "Kidney endpoint"})


def _events_listing_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    return pd.DataFrame({
        "Subject": frame["usubjid"], "Arm": frame["arm"], "Endpoint": frame["label"],
        "First met": frame["first_date"].astype("string"), "Study day": [fmt_num(v, 0) for v in frame["study_day"]],
        "Value": [f"{fmt_num(v)} {u or ''}".strip() for v, u in zip(frame["value"], frame["unit"])],
        "Baseline": [fmt_num(v) for v in frame["baseline"]],
        "Confirmed on": frame["confirm_date"].astype("string").fillna(""),
        "Out of window": np.where(frame["out_of_window"].astype(bool), "yes", ""),
        "Source": [f"{f} row {int(r)}" for f, r in zip(frame["src_file"], frame["src_row"])]})


def _shift_display(frame: pd.DataFrame, keys: list[str], levels: tuple[str, ...]) -> pd.DataFrame:
    from dashboard.formatting import fmt_n_pct

    data = frame.assign(cell=[fmt_n_pct(n, p) for n, p in zip(frame["n"], frame["pct"])])
    wide = data.pivot_table(index=[*keys, "arm", "N", "baseline"], columns="post_baseline", values="cell",
                            aggfunc="first", sort=False)
    wide = wide.reindex(columns=[lv for lv in levels if lv in wide.columns])
    wide.columns.name = None
    return wide.reset_index()


def _kdigo_shift_display(frame: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for axis, levels in (("G", G_LEVELS), ("A", A_LEVELS)):
        sub = frame[frame["axis"] == axis]
        if len(sub):
            wide = _shift_display(sub, ["axis", "comparison"], levels)
            parts.append(wide)
    # G rows have no A columns and vice versa: blank, not NaN
    out = pd.concat(parts, ignore_index=True).fillna("") if parts else pd.DataFrame()
    return out.rename(columns={"axis": "Axis", "comparison": "Baseline vs", "arm": "Arm", "N": "N evaluable",
                               "baseline": "Baseline category"})


def _risk_shift_display(frame: pd.DataFrame) -> pd.DataFrame:
    return _shift_display(frame, ["comparison"], RISK_LEVELS).rename(
        columns={"comparison": "Baseline vs", "arm": "Arm", "N": "N evaluable", "baseline": "Baseline risk"})


def _grid_display(frame: pd.DataFrame) -> pd.DataFrame:
    wide = frame.pivot_table(index=["timepoint", "arm", "N", "g"], columns="a", values="n", aggfunc="first",
                             sort=False).reindex(columns=list(A_LEVELS))
    wide.columns.name = None
    return wide.reset_index().rename(columns={"timepoint": "Timepoint", "arm": "Arm", "N": "N with eGFR and UACR",
                                              "g": "G category"})


def _values_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    return pd.DataFrame({
        "Subject": frame["usubjid"], "Arm": frame["arm"], "Parameter": frame["param"], "Visit": frame["visit"],
        "Date": frame["adt"].astype("string"), "Study day": [fmt_num(v, 0) for v in frame["study_day"]],
        "Value": [fmt_num(v, RENAL_PARAMS[p].decimals) for v, p in zip(frame["aval"], frame["param"])],
        "Unit": frame["unit"],
        "Change": [fmt_num(v, RENAL_PARAMS[p].decimals) for v, p in zip(frame["chg"], frame["param"])],
        "% change": [fmt_num(v) for v in frame["pchg"]], "Phase": frame["phase"],
        "Out of window": np.where(frame["out_of_window"].astype(bool), "yes", ""),
        "Outlier": np.where(frame["outlier"].astype(bool), "yes", "")})


def _change_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    return pd.DataFrame({
        "Subject": frame["usubjid"], "Arm": frame["arm"], "Parameter": frame["param"], "Unit": frame["unit"],
        "Baseline": [fmt_num(v, RENAL_PARAMS[p].decimals) for v, p in zip(frame["baseline"], frame["param"])],
        "Last value": [fmt_num(v, RENAL_PARAMS[p].decimals) for v, p in zip(frame["last_value"], frame["param"])],
        "Last visit": frame["last_visit"], "Last date": frame["last_date"].astype("string"),
        "% change": [fmt_num(v) for v in frame["pct_change"]],
        "Out of window": np.where(frame["out_of_window"].astype(bool), "yes", "")})


def _parameters_display(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"label": "Parameter", "unit": "Unit", "status": "Status", "source": "Source",
                                 "paramcd": "PARAMCD", "baseline_method": "Baseline", "n_subjects": "Subjects",
                                 "n_records": "Records", "n_excluded": "Excluded (no AVAL or ADT)",
                                 "n_out_of_window": "Out-of-window values"}).drop(columns=["param"])
