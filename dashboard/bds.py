"""BDS record rules, defined once: study day, baseline, post-baseline, visit windows, one value per
visit or per date, and unit spelling. Labs, renal, AE timing, the subject profile and the loader
all call these (docs/definitions.md, "BDS record rules"; CDISC ADaM IG v1.3 §3.3 for study day,
baseline and post-baseline).

The frame functions work on one row per BDS record with lower-case columns: ``usubjid``, the
parameter key (``paramcd`` or ``param``, passed as ``param``), ``aval``, ``adt`` (datetime64),
``trtsdt`` (first dose, datetime64), ``ablfl``, ``avisitn``, ``src_file``/``src_row`` (the
record's place in its file, the last tie-break) and, for the per-visit rules, ``study_day``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dashboard.units import normalize_unit  # noqa: F401 (the one unit-spelling rule, re-exported)

BASELINE, POST, PRE = "baseline", "post", "pre"


# -- study day ---------------------------------------------------------------------------------

def study_day(date: pd.Series, first_dose: pd.Series, ady: pd.Series | None = None) -> pd.Series:
    """Study day of each date: date − first dose + 1 on or after the first dose, date − first dose
    before it (there is no day 0). In order:

    1. date and first dose known -> the rule above;
    2. otherwise the extract's own study day ``ady`` (ADY/ASTDY) when given;
    3. otherwise missing.

    Returns float64 (missing is NaN), on ``date``'s index.
    """
    days = (pd.to_datetime(date) - pd.to_datetime(first_dose)).dt.days
    out = pd.Series(np.where(days >= 0, days + 1, days), index=date.index, dtype="float64")
    if ady is not None:
        out = out.fillna(pd.to_numeric(ady, errors="coerce"))
    return out


def study_day_sql(date: str, first_dose: str) -> str:
    """:func:`study_day` as a DuckDB expression of two DATE expressions (NULL when either is)."""
    return (f"CASE WHEN {date} IS NULL OR {first_dose} IS NULL THEN NULL "
            f"WHEN {date} >= {first_dose} THEN date_diff('day', {first_dose}, {date}) + 1 "
            f"ELSE date_diff('day', {first_dose}, {date}) END")


# -- baseline and post-baseline ------------------------------------------------------------------

def _flag_y(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().str.upper().eq("Y").fillna(False).astype(bool)


def baseline_records(frame: pd.DataFrame, param: str = "paramcd") -> tuple[pd.Index, dict[str, str]]:
    """The baseline record of each subject × parameter (index labels into ``frame``) and, per
    parameter, which rule chose it. For each parameter, the first rule that applies wins:

    1. the extract flags baselines for the parameter (any record with ABLFL = 'Y'): each subject's
       ABLFL = 'Y' record (a subject without one has no baseline; if the loader let two through,
       the later one by the tie-break below);
    2. otherwise the last record with a value dated on or before the first dose (ADT <= TRTSDT:
       a same-day value without a time counts as baseline).

    Tie-break among candidates: ADT, then AVISITN (missing first), then file and row; the last
    wins. Records without AVAL are never candidates.
    """
    parts, methods = [], {}
    usable = frame[frame["aval"].notna()]
    flagged = _flag_y(usable["ablfl"]) if "ablfl" in usable else pd.Series(False, index=usable.index)
    for key, sub in usable.groupby(param, sort=False):
        flag = flagged[sub.index]
        if flag.any():
            methods[key] = ABLFL_RULE
            cand = sub[flag]
        else:
            methods[key] = DERIVED_RULE
            cand = sub[sub["adt"].notna() & sub["trtsdt"].notna() & (sub["adt"] <= sub["trtsdt"])]
        if len(cand):
            order = cand.assign(_vn=pd.to_numeric(cand["avisitn"], errors="coerce") if "avisitn" in cand else np.nan)
            order = order.sort_values(["usubjid", "adt", "_vn", "src_file", "src_row"], na_position="first")
            parts.append(order.groupby("usubjid", sort=False).tail(1).index)
    index = parts[0].append(parts[1:]) if parts else frame.index[:0]
    return index, methods


ABLFL_RULE = "ABLFL='Y' record of the extract"
DERIVED_RULE = "derived: last non-missing value on or before the first dose (TRTSDT)"


def record_timing(frame: pd.DataFrame, is_baseline: pd.Series, base_adt: pd.Series,
                  day: pd.Series | None = None) -> pd.Series:
    """``baseline`` / ``post`` / ``pre`` for each record. The first rule that applies wins:

    1. the subject's baseline record (:func:`baseline_records`) -> baseline;
    2. ADT and first dose known -> post when ADT is after the first dose and after the baseline
       date (when there is one), else pre;
    3. ADT known, first dose missing, baseline date known -> post when ADT is after the baseline date;
    4. study day known (``day``, e.g. the extract's ADY) -> post when day >= 2 (day 1 is the first-dose day);
    5. otherwise pre (a record that cannot be placed after dosing is not post-baseline).
    """
    adt, trtsdt = frame["adt"], frame["trtsdt"]
    after_base = base_adt.isna() | (adt > base_adt)
    dated = adt.notna() & trtsdt.notna()
    by_base = adt.notna() & trtsdt.isna() & base_adt.notna()
    by_day = pd.Series(False, index=frame.index) if day is None else day.notna() & ~dated & ~by_base
    post = np.select([dated, by_base, by_day],
                     [(adt > trtsdt) & after_base, adt > base_adt,
                      (day if day is not None else pd.Series(np.nan, index=frame.index)) >= 2], default=False)
    return pd.Series(np.where(is_baseline, BASELINE, np.where(post.astype(bool), POST, PRE)), index=frame.index)


# -- visits ----------------------------------------------------------------------------------

_WEEK = re.compile(r"^\s*(WEEK|WK|DAY|MONTH)\s*(-?\d+)\s*$", re.IGNORECASE)


def visit_target_day(avisit: str | None) -> float | None:
    """Target study day of a named visit: Baseline -> 1, Week N -> 7N+1, Day N -> N, Month N -> 30.4N+1
    (rounded); None for any other label (unscheduled, screening, end of study)."""
    if avisit is None or pd.isna(avisit):
        return None
    name = str(avisit).strip()
    if name.upper() == "BASELINE":
        return 1.0
    m = _WEEK.match(name)
    if not m:
        return None
    unit, n = m.group(1).upper(), int(m.group(2))
    return {"WEEK": 7 * n + 1, "WK": 7 * n + 1, "DAY": n, "MONTH": round(30.4375 * n) + 1}[unit]


def one_per_visit(records: pd.DataFrame, param: str = "param") -> pd.DataFrame:
    """One value per subject × parameter × visit (AVISIT) among the scheduled records the caller
    passes: the value closest to the visit's target day (:func:`visit_target_day`), then the later
    date, then the later row. A record whose study day is missing cannot be the closest: it ranks
    after every record with a day. A label without a target day keeps the later date."""
    rec = records.copy()
    target = rec["avisit"].map(visit_target_day, na_action="ignore").astype("float64")
    rec["_dist"] = (rec["study_day"] - target).abs()
    rec["_nodist"] = rec["_dist"].isna() & target.notna()
    rec = rec.sort_values(["usubjid", param, "avisitn", "avisit", "_nodist", "_dist", "adt", "src_row"],
                          ascending=[True, True, True, True, True, True, False, False], na_position="last")
    return rec.drop_duplicates(["usubjid", param, "avisit"]).drop(columns=["_dist", "_nodist"])


def one_per_date(post: pd.DataFrame, param: str = "param") -> pd.DataFrame:
    """One value per subject × parameter × date: a scheduled record before an unscheduled one, then
    the lower AVISITN, then the later row."""
    post = post.assign(_unsched=post["avisitn"].isna())
    post = post.sort_values(["usubjid", param, "adt", "_unsched", "avisitn", "src_row"],
                            ascending=[True, True, True, True, True, False], na_position="last")
    return post.drop_duplicates(["usubjid", param, "adt"]).drop(columns="_unsched").reset_index(drop=True)


# -- the same rules in SQL (DuckDB), for records built once in the database ----------------------

def baseline_sql(source: str, param: str = "paramcd") -> str:
    """:func:`baseline_records` as a DuckDB query over the relation ``source``, which has one row per
    record with ``rid`` (unique), ``usubjid``, the parameter key ``param``, ``aval``, ``adt``,
    ``trtsdt``, ``ablfl``, ``avisitn``, ``src_file`` and ``src_row``. The rules, in order, and the
    tie-break are those of :func:`baseline_records`. Returns every row of ``source`` with
    ``is_baseline`` (BOOLEAN), ``base`` and ``base_adt`` (the baseline record's AVAL and ADT of the
    subject x parameter, NULL without one) and ``baseline_by_flag`` (whether the parameter's
    baselines are the extract's ABLFL='Y' records; NULL for a parameter without values)."""
    return f"""
    WITH _src AS (SELECT * FROM {source}),
    _rule AS (SELECT {param} AS _p, bool_or(coalesce(upper(trim(CAST(ablfl AS VARCHAR))) = 'Y', false)) AS _by_flag
              FROM _src WHERE aval IS NOT NULL GROUP BY {param}),
    _cand AS (
        SELECT s.rid, s.usubjid, s.{param} AS _p, s.aval AS _base, s.adt AS _base_adt,
               row_number() OVER (PARTITION BY s.usubjid, s.{param}
                                  ORDER BY s.adt DESC NULLS LAST, s.avisitn DESC NULLS LAST,
                                           s.src_file DESC NULLS LAST, s.src_row DESC NULLS LAST) AS _rn
        FROM _src s JOIN _rule r ON r._p = s.{param}
        WHERE s.aval IS NOT NULL AND CASE WHEN r._by_flag THEN coalesce(upper(trim(CAST(s.ablfl AS VARCHAR))) = 'Y', false)
                                          ELSE s.adt IS NOT NULL AND s.trtsdt IS NOT NULL AND s.adt <= s.trtsdt END),
    _base AS (SELECT * FROM _cand WHERE _rn = 1)
    SELECT s.*, (b1.rid IS NOT NULL) AS is_baseline, b2._base AS base, b2._base_adt AS base_adt,
           r._by_flag AS baseline_by_flag
    FROM _src s
    LEFT JOIN _base b1 ON b1.rid = s.rid
    LEFT JOIN _base b2 ON b2.usubjid = s.usubjid AND b2._p = s.{param}
    LEFT JOIN _rule r ON r._p = s.{param}"""


def record_timing_sql(day: str | None = None) -> str:
    """:func:`record_timing` as a DuckDB expression over ``is_baseline``, ``adt``, ``trtsdt`` and
    ``base_adt`` (and the study day expression ``day`` when given, rule 4); the rules in order."""
    by_day = f"WHEN {day} IS NOT NULL THEN CASE WHEN {day} >= 2 THEN '{POST}' ELSE '{PRE}' END " if day else ""
    return (f"CASE WHEN is_baseline THEN '{BASELINE}' "
            f"WHEN adt IS NOT NULL AND trtsdt IS NOT NULL THEN "
            f"CASE WHEN adt > trtsdt AND (base_adt IS NULL OR adt > base_adt) THEN '{POST}' ELSE '{PRE}' END "
            f"WHEN adt IS NOT NULL AND base_adt IS NOT NULL THEN CASE WHEN adt > base_adt THEN '{POST}' ELSE '{PRE}' END "
            f"{by_day}ELSE '{PRE}' END")
