"""Enrollment and disposition: accrual over time and by site, subject flow, end-of-study status."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from dashboard import db
from dashboard.analyses.common import count_subjects, mark_not_available
from dashboard.filters import FilterSpec
from dashboard.population import arm_denominators, run
from dashboard.resolution import unavailable
from dashboard.tables import NotInExtract


def _randomized(spec: FilterSpec) -> FilterSpec:
    """Enrollment counts randomized subjects, whatever analysis population is selected."""
    return dataclasses.replace(spec, population="RANDFL")


def enrollment_by_month(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects randomized per calendar month and cumulatively, by arm, against target.

    Population: randomized (RANDFL='Y'; derived from RANDDT when absent). Date: RANDDT, else
    TRTSDT. Returns one row per month x arm (every month from the first to the last
    randomization, zeros included): ``month`` (YYYY-MM), ``arm``, ``n`` (randomized that
    month), ``cumulative``, ``N`` (randomized in the arm), ``pct`` (cumulative as % of N),
    ``target`` (study target enrollment, on Total/pooled rows; empty when not given).
    """
    spec = _randomized(spec)
    rows = run(con, """
        SELECT usubjid, arm, strftime(entry_date, '%Y-%m') AS month FROM {population}
        WHERE entry_date IS NOT NULL AND NOT not_an_arm""", spec)
    den = arm_denominators(con, spec)
    if rows.empty:
        return pd.DataFrame(columns=["month", "arm", "n", "cumulative", "N", "pct", "target"])
    months = pd.period_range(rows["month"].min(), rows["month"].max(), freq="M").strftime("%Y-%m")
    out = count_subjects(rows, den, ["month"], levels=pd.DataFrame({"month": months}))
    out = out.sort_values(["arm", "month"], kind="stable")
    out["cumulative"] = out.groupby("arm")["n"].cumsum()
    out["pct"] = np.where(out["N"] > 0, 100.0 * out["cumulative"] / out["N"].where(out["N"] > 0, 1), np.nan)
    target = _target(con)
    total_label = "Total" if (den["arm"] == "Total").any() else den["arm"].iloc[0]
    out["target"] = np.where(out["arm"] == total_label, target, np.nan) if target else np.nan
    order = dict(zip(den["arm"], den["arm_order"]))
    out = out.assign(_o=out["arm"].map(order)).sort_values(["month", "_o"]).drop(columns="_o")
    return out[["month", "arm", "n", "cumulative", "N", "pct", "target"]].reset_index(drop=True)


def _target(con) -> float | None:
    value = db.run(con, "SELECT target_enrollment FROM study")["target_enrollment"].iloc[0]
    try:
        return float(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


def enrollment_by_site(con, spec: FilterSpec) -> pd.DataFrame:
    """Randomized subjects per site and arm.

    Population: randomized. Returns one row per site x arm: ``site``, ``arm``, ``n``, ``N``
    (randomized in the arm), ``pct`` (share of the arm's subjects at that site).
    """
    spec = _randomized(spec)
    rows = run(con, """SELECT usubjid, arm, coalesce(CAST(siteid AS VARCHAR), 'Not recorded') AS site
                       FROM {population} WHERE NOT not_an_arm""", spec)
    den = arm_denominators(con, spec)
    levels = pd.DataFrame({"site": sorted(rows["site"].unique())}) if len(rows) else None
    return count_subjects(rows, den, ["site"], levels=levels)


FLOW_STAGES = [
    ("screened", "Screened"),
    ("screen_failure", "Screen failure"),
    ("randomized", "Randomized"),
    ("treated", "Received study treatment"),
    ("completed", "Completed study"),
    ("ongoing", "Ongoing"),
    ("discontinued", "Discontinued study"),
]


def subject_flow(con, spec: FilterSpec) -> pd.DataFrame:
    """CONSORT-style subject flow: screened -> randomized -> treated -> completed/ongoing/discontinued.

    Population: every ADSL subject (screened). Screened and screen-failure counts are not by
    arm (there is no arm before randomization): they appear on the Total (or pooled) row only.
    Randomized = RANDFL='Y'; treated = SAFFL='Y'; end-of-study status from the ``subjects`` view's
    eosstt (EOSSTT, else derived from DCSREAS/DCDECOD; see dashboard.population).
    Returns one row per stage x arm: ``stage`` (stable key), ``label``, ``arm``, ``n``, ``N``
    (randomized in the arm), ``pct``.
    """
    subj, rows = _flow_rows(con, spec)
    den = arm_denominators(con, _randomized(spec))
    total_arm = "Total" if (den["arm"] == "Total").any() else den["arm"].iloc[0] if len(den) else "Total"
    counts = count_subjects(rows, den, ["stage"], levels=pd.DataFrame({"stage": list(FLOW_SUBJECT_STAGES)}))
    screened = pd.DataFrame([
        {"stage": "screened", "arm": total_arm, "n": len(subj), "N": np.nan, "pct": np.nan},
        {"stage": "screen_failure", "arm": total_arm, "n": int((subj["randfl"] != "Y").sum()), "N": np.nan, "pct": np.nan},
    ])
    out = pd.concat([screened, counts], ignore_index=True)
    out["label"] = out["stage"].map(dict(FLOW_STAGES))
    out["note"] = ""
    for stages_needing, var in _FLOW_NEEDS:
        message = unavailable(con, "ADSL", var)
        if message:
            out = mark_not_available(out, out["stage"].isin(stages_needing), message)
    return out[["stage", "label", "arm", "n", "N", "pct", "note"]]


#: The by-arm stages of :func:`subject_flow`, in order.
FLOW_SUBJECT_STAGES = ("randomized", "treated", "completed", "ongoing", "discontinued")
#: Which ADSL variable each group of stages needs (not available without it, never 0).
_FLOW_NEEDS = ((("screen_failure", "randomized", "treated", "completed", "ongoing", "discontinued"), "RANDFL"),
               (("treated",), "SAFFL"), (("completed", "ongoing", "discontinued"), "EOSSTT"))


def _flow_rows(con, spec: FilterSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every ADSL subject (``usubjid``, ``arm``, flags) and one row per randomized subject x stage
    reached (``usubjid``, ``arm``, ``stage``): the one statement of each stage."""
    all_spec = dataclasses.replace(spec, population="ALL")
    subj = run(con, """
        SELECT p.usubjid, p.arm, p.not_an_arm, p.randfl, p.saffl, p.eosstt FROM {population} p""", all_spec)
    rand = subj[subj["randfl"] == "Y"]
    stages = {
        "randomized": rand,
        "treated": rand[rand["saffl"] == "Y"],
        "completed": rand[rand["eosstt"] == "COMPLETED"],
        "ongoing": rand[rand["eosstt"].isna() | (rand["eosstt"] == "ONGOING")],
        "discontinued": rand[rand["eosstt"] == "DISCONTINUED"],
    }
    rows = pd.concat([stages[k].assign(stage=k)[["usubjid", "arm", "stage"]] for k in FLOW_SUBJECT_STAGES],
                     ignore_index=True)
    return subj, rows


def subject_flow_subjects(con, spec: FilterSpec, stage: str) -> pd.DataFrame:
    """The subjects counted in one by-arm stage of :func:`subject_flow` (``usubjid``, ``arm``).
    Raises NotInExtract when the stage is not available in this extract."""
    if stage not in FLOW_SUBJECT_STAGES:
        raise ValueError(f"stage must be one of {', '.join(FLOW_SUBJECT_STAGES)}; got {stage!r}.")
    for stages_needing, var in _FLOW_NEEDS:
        message = unavailable(con, "ADSL", var)
        if message and stage in stages_needing:
            raise NotInExtract(message)
    _, rows = _flow_rows(con, spec)
    return rows.loc[rows["stage"] == stage, ["usubjid", "arm"]].reset_index(drop=True)


def disposition(con, spec: FilterSpec) -> pd.DataFrame:
    """End-of-study status with the reason for discontinuation, by arm.

    Population: randomized. Status from the ``subjects`` view's eosstt (EOSSTT, else derived
    from DCSREAS/DCDECOD); reason DCSREAS for discontinued subjects ("Not recorded" when missing).
    Returns one row per status/reason x arm: ``status``, ``reason`` (empty on the status row),
    ``arm``, ``n``, ``N``, ``pct``; every status is present, zeros included.
    """
    message = unavailable(con, "ADSL", "EOSSTT")
    if message:
        raise NotInExtract(message)
    spec = _randomized(spec)
    rows = run(con, """
        SELECT p.usubjid, p.arm,
               CASE p.eosstt WHEN 'COMPLETED' THEN 'Completed' WHEN 'DISCONTINUED' THEN 'Discontinued'
                    ELSE 'Ongoing' END AS status,
               CASE WHEN p.eosstt = 'DISCONTINUED' THEN coalesce(p.dcsreas, 'Not recorded') END AS reason
        FROM {population} p WHERE NOT p.not_an_arm""", spec)
    den = arm_denominators(con, spec)
    status_levels = pd.DataFrame({"status": ["Completed", "Ongoing", "Discontinued"], "reason": ""})
    status = count_subjects(rows.assign(reason=""), den, ["status", "reason"], levels=status_levels)
    disc = rows[rows["status"] == "Discontinued"]
    reason_levels = pd.DataFrame({"status": "Discontinued", "reason": sorted(disc["reason"].dropna().unique())})
    reasons = count_subjects(disc, den, ["status", "reason"], levels=reason_levels) if len(disc) else status.iloc[0:0]
    out = pd.concat([status[status["status"] != "Discontinued"], status[status["status"] == "Discontinued"], reasons],
                    ignore_index=True)
    return out[["status", "reason", "arm", "n", "N", "pct"]]


# -- display wrappers and registration ------------------------------------------------------

def _disposition_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_n_pct, wide_by_arm

    data = frame.assign(row=np.where(frame["reason"] == "", frame["status"], "   " + frame["reason"].astype(str)))
    wide = wide_by_arm(data, ["row"], lambda r: fmt_n_pct(r["n"], r["pct"]))
    return wide.rename(columns={"row": "Status / reason"})


def _month_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import wide_by_arm

    return wide_by_arm(frame, ["month"], lambda r: f"{int(r['n'])} (cum. {int(r['cumulative'])})").rename(
        columns={"month": "Month"})


def register(add) -> None:
    from dashboard.charts.enrollment import cumulative_enrollment_chart, disposition_chart
    from dashboard.formatting import n_pct_table
    from dashboard.tables import TableSpec

    add(TableSpec("enrollment_by_month", "Enrollment by month (randomized)", "enrollment", enrollment_by_month,
                  display=_month_display, charts=(cumulative_enrollment_chart,), order=10,
                  definition="Randomized subjects (RANDFL='Y') by month of randomization (RANDDT, else TRTSDT)."))
    add(TableSpec("enrollment_by_site", "Enrollment by site", "enrollment", enrollment_by_site,
                  display=n_pct_table("site", "Site"), order=50, definition="Randomized subjects per SITEID."))
    add(TableSpec("subject_flow", "Subject flow (CONSORT)", "enrollment", subject_flow, display=n_pct_table("label", "Stage"),
                  order=30, definition="Screened (all ADSL rows) -> randomized (RANDFL) -> treated (SAFFL) -> "
                  "end-of-study status (EOSSTT). Percentages of randomized subjects per arm."))
    add(TableSpec("disposition", "Disposition", "enrollment", disposition, display=_disposition_display,
                  charts=(disposition_chart,), order=40,
                  definition="End-of-study status (EOSSTT; missing = ongoing) and reason (DCSREAS), randomized subjects."))
