"""Display wrappers of the adverse-event tables (what the page shows and the downloads hold) and
the page helpers that read a selected row (no SQL or pandas in pages)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analyses.adverse_events.tables import OVERVIEW_CATEGORIES


def _int_text(values: pd.Series) -> pd.Series:
    """Whole numbers as text (truncated), "" for missing."""
    v = pd.to_numeric(values, errors="coerce")
    return np.trunc(v).astype("Int64").astype(str).where(v.notna(), "")


def _date_text(values: pd.Series, missing: str = "") -> pd.Series:
    """Dates as YYYY-MM-DD text, ``missing`` for a missing date."""
    return values.astype(str).where(values.notna(), missing)


def selected_term(selected: pd.DataFrame | None) -> tuple[str, str] | None:
    """(SOC, PT) of the row selected in a displayed SOC/PT table; PT '' for a SOC row."""
    if selected is None or len(selected) == 0:
        return None
    row = selected.iloc[0]
    soc = row.get("System organ class", "")
    pt = row.get("Preferred term", "")
    return (str(soc), "" if pd.isna(pt) else str(pt))


def overview_category(selected: pd.DataFrame | None) -> str | None:
    """The category key of the row selected in the displayed AE overview."""
    if selected is None or len(selected) == 0:
        return None
    by_label = {label: key for key, label in OVERVIEW_CATEGORIES}
    return by_label.get(str(selected.iloc[0].get("Subjects with, n (%) [events]", "")))


def listing_subjects(frame: pd.DataFrame | None) -> list[str]:
    """Distinct subjects of a listing frame, in listing order."""
    if frame is None or frame.empty:
        return []
    return list(dict.fromkeys(frame["usubjid"].astype(str)))


# --------------------------------------------------------------------------------------------
# display wrappers
# --------------------------------------------------------------------------------------------
def _cell(r) -> str:
    from dashboard.formatting import fmt_n_pct

    if pd.isna(r["n"]):
        return "not available"
    text = fmt_n_pct(r["n"], r["pct"])
    if "events" in r and int(r["n"]) > 0:
        text += f" [{int(r['events'])}]"
    return text


def _overview_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import wide_by_arm

    labels = dict(OVERVIEW_CATEGORIES)
    data = frame.assign(label=frame["category"].map(labels))
    wide = wide_by_arm(data, ["label"], _cell)
    notes = data.drop_duplicates("category").set_index("label")["note"]
    wide["Note"] = wide["label"].map(notes).fillna("")
    return wide.rename(columns={"label": "Subjects with, n (%) [events]"})


def _soc_pt_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import wide_by_arm

    if frame.empty:
        return pd.DataFrame(columns=["System organ class", "Preferred term"])
    wide = wide_by_arm(frame, ["soc", "pt"], _cell)
    return wide.rename(columns={"soc": "System organ class", "pt": "Preferred term"})


def _severity_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_n_pct, wide_by_arm

    if frame.empty:
        return pd.DataFrame(columns=["System organ class", "Preferred term", "Worst severity"])
    wide = wide_by_arm(frame, ["soc", "pt", "severity"], lambda r: fmt_n_pct(r["n"], r["pct"]))
    return wide.rename(columns={"soc": "System organ class", "pt": "Preferred term", "severity": "Worst severity"})


_LISTING_HEADERS = {
    "usubjid": "Subject", "arm": "Arm", "aeseq": "AE seq", "soc": "System organ class", "pt": "Preferred term",
    "aeterm": "Reported term", "astdt": "Start", "aendt": "End", "astdy": "Study day",
    "days_since_last_infusion": "Days since last infusion", "severity": "Severity", "aetoxgr": "Grade",
    "serious": "Serious", "aerel": "Relationship (AEREL)", "related": "Related", "aeacn": "Action taken",
    "aeout": "Outcome", "teae": "Treatment-emergent",
}


def _listing_display(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=["SRC_FILE", "SRC_ROW"], errors="ignore").copy()
    for c in ("aeseq", "astdy", "days_since_last_infusion"):
        out[c] = _int_text(out[c])
    out["aendt"] = _date_text(out["aendt"], "ongoing")
    out["astdt"] = _date_text(out["astdt"])
    return out.rename(columns=_LISTING_HEADERS).fillna("")


def _ci(est, lo, hi, dp=1) -> str:
    from dashboard.formatting import fmt_num

    if pd.isna(est):
        return "NE"
    return f"{fmt_num(est, dp)} ({fmt_num(lo, dp)}, {fmt_num(hi, dp)})"


def _rd_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    if frame.empty:
        return pd.DataFrame(columns=["System organ class", "Preferred term", "Arm"])

    def frac(n, N, pct):
        return f"{int(n)}/{int(N)} ({fmt_num(pct)}%)"

    return pd.DataFrame({
        "System organ class": frame["soc"], "Preferred term": frame["pt"], "Arm": frame["arm"],
        "Arm n/N (%)": [frac(*v) for v in zip(frame["n"], frame["N"], frame["pct"])],
        "Control": frame["control_arm"],
        "Control n/N (%)": [frac(*v) for v in zip(frame["n_control"], frame["N_control"], frame["pct_control"])],
        "Risk difference, % points (95% CI)": [_ci(*v) for v in zip(frame["rd"], frame["rd_lower"], frame["rd_upper"])],
        "Relative risk (95% CI)": [_ci(*v, dp=2) + (" *" if c else "") for *v, c in
                                   zip(frame["rr"], frame["rr_lower"], frame["rr_upper"], frame["rr_corrected"])],
        "Method": frame["method"],
    }).pipe(lambda shown: shown.drop(columns="Method") if shown["Method"].nunique() <= 1 else shown)


def _eair_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num, wide_by_arm

    if frame.empty:
        return pd.DataFrame(columns=["System organ class", "Preferred term"])
    wide = wide_by_arm(frame, ["soc", "pt"], lambda r: f"{int(r['n'])} / {fmt_num(r['py'])} PY: "
                       + _ci(r["eair"], r["eair_lower"], r["eair_upper"]))
    return wide.rename(columns={"soc": "System organ class", "pt": "Preferred term"})


def _cuminc_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    if frame.empty:
        return pd.DataFrame(columns=["Endpoint", "Arm"])
    last = frame.groupby(["endpoint", "arm"], sort=False).tail(1)
    return pd.DataFrame({
        "Endpoint": last["label"], "Arm": last["arm"], "Subjects with event": last["n"], "Subjects followed": last["N"],
        "Last day": last["day"].astype(int), "Cumulative incidence at last day, %": last["cum_inc"].map(fmt_num),
    }).reset_index(drop=True)


def _timeline_display(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    out = frame[frame["kind"] == "AE"].drop(columns=["arm_order", "kind"])
    for c in ("start_day", "end_day"):
        out[c] = _int_text(out[c])
    out["aendt"] = np.where(out["ongoing"], "ongoing", out["aendt"].astype(str))
    out["astdt"] = _date_text(out["astdt"])
    return out.drop(columns=["ongoing"]).rename(columns={
        "usubjid": "Subject", "arm": "Arm", "soc": "System organ class", "pt": "Preferred term",
        "severity": "Severity", "serious": "Serious", "aesi": "AESI", "teae": "Treatment-emergent",
        "start_day": "Start (days since first dose)", "end_day": "End (days since first dose)",
        "astdt": "Start", "aendt": "End"}).fillna("")


