"""Exposure: infusions received, missed or delayed infusions, dose, time on study."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard import db
from dashboard.analyses.common import count_subjects, describe_continuous, with_total_rows
from dashboard.filters import FilterSpec
from dashboard.population import arm_denominators, run
from dashboard.resolution import ExposureForm, exposure_form
from dashboard.tables import UNBLINDED_ONLY, NotInExtract

#: An infusion more than this many days after its planned day is "delayed".
DELAY_TOLERANCE_DAYS = 3


def _require_adex(con) -> tuple[list[str], ExposureForm]:
    form = exposure_form(con)
    if form is None:
        raise NotInExtract("ADEX (study-drug administrations) is not in this extract.")
    return db.table_columns(con, "adex"), form


def _administrations_sql(cols: list[str], form: ExposureForm) -> str:
    """One row per administration (occurrence form: every row; parameter form: the rows of the
    administration parameter, see ``dashboard.resolution.exposure_form``)."""
    return f"(SELECT * FROM adex WHERE {form.where})"


def _given_sql(cols: list[str], alias: str = "") -> str:
    """An administration counts as given unless EXOCCUR='N' or it has no start date."""
    cond = [f"{alias}ASTDT IS NOT NULL"] if "ASTDT" in cols else []
    if "EXOCCUR" in cols:
        cond.append(f"coalesce({alias}EXOCCUR, 'Y') <> 'N'")
    return " AND ".join(cond) or "TRUE"


def infusions_per_subject(con, spec: FilterSpec) -> pd.DataFrame:
    """Number of infusions received per subject (0 up to the most any subject received), by arm.

    Population: the selected population (safety by default). Occurrence-form ADEX: a record counts
    as an infusion received unless EXOCCUR='N' or ASTDT is missing; parameter-form ADEX: the same
    over the administration parameter's records, or the dose-count parameter's AVAL (see
    ``dashboard.resolution.exposure_form``); records after the data cut do not count.
    Returns ``infusions`` (text "0".."k"), ``arm``, ``n``, ``N``, ``pct``, ``note`` (which ADEX
    form and records were counted).
    """
    cols, form = _require_adex(con)
    if form.count_param:
        if "AVAL" not in cols:
            raise NotInExtract(f"infusions per subject need the AVAL of ADEX PARAMCD {form.count_param} "
                               "(removed in the blinded role) or one ADEX record per administration.")
        count = "CAST(coalesce(max(x.AVAL), 0) AS INTEGER)"
        given = "TRUE"
    else:
        count, given = "count(x.USUBJID)", _given_sql(cols)
    rows = run(con, f"""
        SELECT p.usubjid, p.arm, CAST({count} AS VARCHAR) AS infusions
        FROM {{population}} p LEFT JOIN (SELECT * FROM {_administrations_sql(cols, form)} a WHERE {given}
                                         AND ($data_cut IS NULL OR ASTDT IS NULL OR ASTDT <= $data_cut)) x
             ON x.USUBJID = p.usubjid
        GROUP BY p.usubjid, p.arm""", spec)
    den = arm_denominators(con, spec)
    top = int(rows["infusions"].astype(int).max()) if len(rows) else 0
    levels = pd.DataFrame({"infusions": [str(i) for i in range(max(top, 0) + 1)]})
    return count_subjects(rows, den, ["infusions"], levels=levels).assign(note=form.message)


def infusion_deviations(con, spec: FilterSpec) -> pd.DataFrame:
    """Listing of missed and delayed infusions.

    Planned day of infusion k = 7(k-1)+1 (weekly schedule from the first infusion; AVISITN
    gives k). Missed = EXOCCUR='N' or no ASTDT; delayed = actual study day more than
    :data:`DELAY_TOLERANCE_DAYS` after the planned day. Returns one row per deviation:
    ``usubjid``, ``arm``, ``infusion``, ``planned_day``, ``actual_day``, ``delay_days``,
    ``status`` (missed / delayed), ``reason`` (EXADJ), ``SRC_FILE``, ``SRC_ROW``.
    """
    cols, form = _require_adex(con)
    if form.count_param:
        raise NotInExtract(f"missed and delayed infusions need one ADEX record per administration "
                           f"(this ADEX is parameter-form with only a dose count, PARAMCD {form.count_param}).")
    occur = "coalesce(x.EXOCCUR, 'Y') = 'N' OR " if "EXOCCUR" in cols else ""
    reason = "x.EXADJ" if "EXADJ" in cols else "NULL"
    visit = "x.AVISIT" if "AVISIT" in cols else "'Infusion ' || CAST(x.AVISITN AS INTEGER)"
    if "AVISITN" not in cols:
        raise NotInExtract("ADEX has no AVISITN (infusion number), so planned infusion days are unknown.")
    frame = run(con, f"""
        SELECT p.usubjid, p.arm, {visit} AS infusion, 7 * (CAST(x.AVISITN AS INTEGER) - 1) + 1 AS planned_day,
               CASE WHEN x.ASTDT IS NULL THEN NULL ELSE date_diff('day', p.trtsdt, x.ASTDT) + 1 END AS actual_day,
               CASE WHEN {occur} x.ASTDT IS NULL THEN 'missed' ELSE 'given' END AS status,
               {reason} AS reason, x.SRC_FILE, x.SRC_ROW
        FROM {{population}} p JOIN {_administrations_sql(cols, form)} x ON x.USUBJID = p.usubjid
        WHERE $data_cut IS NULL OR x.ASTDT IS NULL OR x.ASTDT <= $data_cut
        ORDER BY p.usubjid, x.AVISITN""", spec)
    frame["delay_days"] = frame["actual_day"] - frame["planned_day"]
    frame.loc[(frame["status"] == "given") & (frame["delay_days"] > DELAY_TOLERANCE_DAYS), "status"] = "delayed"
    out = frame[frame["status"] != "given"]
    return out[["usubjid", "arm", "infusion", "planned_day", "actual_day", "delay_days", "status", "reason",
                "SRC_FILE", "SRC_ROW"]].reset_index(drop=True)


def dose_received(con, spec: FilterSpec) -> pd.DataFrame:
    """Dose per infusion and cumulative dose per subject, by arm (unblinded only: dose reveals the arm).

    Returns ``arm``, ``unit``, ``infusions`` (given), ``subjects``, ``dose_mean``, ``dose_min``,
    ``dose_max`` (per infusion), ``cumulative_mean`` (per subject).
    """
    cols, form = _require_adex(con)
    if "EXDOSE" not in cols:
        raise NotInExtract("ADEX has no EXDOSE (dose); a blinded extract carries none.")
    unit = "x.EXDOSU" if "EXDOSU" in cols else "NULL"
    frame = run(con, f"""
        SELECT p.usubjid, p.arm, x.EXDOSE AS dose, {unit} AS unit
        FROM {{population}} p JOIN {_administrations_sql(cols, form)} x ON x.USUBJID = p.usubjid
        WHERE {_given_sql(cols, "x.")}
          AND ($data_cut IS NULL OR x.ASTDT <= $data_cut)""", spec)
    den = arm_denominators(con, spec, with_total=False)
    rows = []
    for arm in den["arm"]:
        sub = frame[frame["arm"] == arm]
        cum = sub.groupby("usubjid")["dose"].sum()
        rows.append({"arm": arm, "unit": sub["unit"].dropna().iloc[0] if sub["unit"].notna().any() else "",
                     "infusions": len(sub), "subjects": int(sub["usubjid"].nunique()),
                     "dose_mean": sub["dose"].mean() if len(sub) else np.nan,
                     "dose_min": sub["dose"].min() if len(sub) else np.nan,
                     "dose_max": sub["dose"].max() if len(sub) else np.nan,
                     "cumulative_mean": cum.mean() if len(cum) else np.nan})
    return pd.DataFrame(rows)


def time_on_study(con, spec: FilterSpec) -> pd.DataFrame:
    """Days on study (first dose to end of study, last known alive date or data cut) and days
    on treatment (TRTSDT to TRTEDT), summarized by arm.

    Returns ``measure``, ``arm``, ``n``, ``mean``, ``sd``, ``median``, ``q1``, ``q3``, ``min``, ``max``.
    """
    cols = set(db.table_columns(con, "adsl"))
    if not db.run(con, "SELECT count(TRTSDT) AS n FROM adsl")["n"].iloc[0]:
        raise NotInExtract("time on study needs TRTSDT (first dose date) or its datetime TRTSDTM; ADSL has neither.")
    end = [f"s.{c}" for c in ("EOSDT", "LSTALVDT", "DTHDT") if c in cols]
    cut = db.run(con, "SELECT data_cut FROM study")["data_cut"].iloc[0]
    end_sql = f"least(coalesce({', '.join(end + ['NULL::DATE'])}, CAST($study_cut AS DATE)), CAST($study_cut AS DATE))"
    frame = run(con, f"""
        SELECT p.usubjid, p.arm,
               date_diff('day', p.trtsdt, {end_sql}) + 1 AS days_on_study,
               date_diff('day', p.trtsdt, p.trtedt) + 1 AS days_on_treatment
        FROM {{population}} p JOIN adsl s ON s.USUBJID = p.usubjid WHERE p.trtsdt IS NOT NULL""",
                spec, study_cut=str(spec.data_cut or cut or "9999-12-31"))
    den = arm_denominators(con, spec)
    data = with_total_rows(frame, den)
    rows = []
    for measure, label in (("days_on_study", "Days on study"), ("days_on_treatment", "Days on treatment")):
        for arm in den["arm"]:
            stats = describe_continuous(data.loc[data["arm"] == arm, measure])
            stats.pop("missing")
            rows.append({"measure": label, "arm": arm, **stats})
    return pd.DataFrame(rows)


def _continuous_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num, wide_by_arm

    def cell(r):
        if not r["n"]:
            return "n=0"
        return (f"n={int(r['n'])}; {fmt_num(r['mean'])} ({fmt_num(r['sd'])}); "
                f"{fmt_num(r['median'])} [{fmt_num(r['q1'])}, {fmt_num(r['q3'])}]")

    wide = wide_by_arm(frame, ["measure"], cell, n_col=None)
    return wide.rename(columns={"measure": "Measure: n; mean (SD); median [Q1, Q3]"})


def _dose_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    return pd.DataFrame({"Arm": frame["arm"], "Unit": frame["unit"], "Infusions given": frame["infusions"],
                         "Subjects": frame["subjects"], "Dose per infusion, mean": frame["dose_mean"].map(fmt_num),
                         "Range": [f"{fmt_num(a)} to {fmt_num(b)}" for a, b in zip(frame["dose_min"], frame["dose_max"])],
                         "Cumulative per subject, mean": frame["cumulative_mean"].map(fmt_num)})


def register(add) -> None:
    from dashboard.charts.exposure import infusions_chart
    from dashboard.formatting import n_pct_table
    from dashboard.tables import TableSpec

    add(TableSpec("infusions_per_subject", "Infusions received per subject", "exposure", infusions_per_subject,
                  display=n_pct_table("infusions", "Infusions received"), charts=(infusions_chart,), order=10,
                  definition="ADEX records given (EXOCCUR not 'N', ASTDT present) per subject; subjects with none count as 0."))
    add(TableSpec("infusion_deviations", "Missed and delayed infusions", "exposure", infusion_deviations, order=20,
                  definition=f"Planned day of infusion k = 7(k-1)+1; delayed = more than {DELAY_TOLERANCE_DAYS} days "
                  "after the planned day; missed = EXOCCUR='N' or no administration date."))
    add(TableSpec("dose_received", "Dose received", "exposure", dose_received, display=_dose_display,
                  roles=UNBLINDED_ONLY, order=30, definition="EXDOSE of infusions given, in EXDOSU (e.g. 10^6 cells/kg)."))
    add(TableSpec("time_on_study", "Time on study and on treatment", "exposure", time_on_study,
                  display=_continuous_display, order=40,
                  definition="Days from first dose to end of study (EOSDT), last known alive date or data cut; "
                  "days on treatment = TRTEDT - TRTSDT + 1."))
