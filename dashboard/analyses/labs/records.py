"""The lab analysis records, built once per (connection, filter) in DuckDB by SQL.

The record rules are documented once, in the package docstring (:mod:`dashboard.analyses.labs`);
this module states them in SQL. Per-parameter labels, canonical codes and groups, the scheduled
flag of each visit name and the category of each range indicator are worked out over the unique
values and joined as small mapping tables: nothing runs per record in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dashboard import bds, db
from dashboard import records as stored
from dashboard.filters import FilterSpec
from dashboard.population import population_sql
from data_contracts.adlb import canonical_lab_code

#: Group of each canonical lab code (what a board reads together).
LAB_GROUPS: dict[str, str] = {
    **dict.fromkeys(("CREAT", "EGFR", "UREA", "BUN", "UACR", "UPROT24", "UPCR", "CYSC"), "Renal"),
    **dict.fromkeys(("ALT", "AST", "BILI", "DBILI", "ALP", "GGT", "ALB", "PROT", "LDH"), "Liver"),
    **dict.fromkeys(("HGB", "HCT", "RBC", "WBC", "NEUT", "LYM", "MONO", "EOS", "BASO", "PLAT", "MCV", "MCH",
                     "MCHC", "RDW", "RETI", "ANISO", "MACROCY", "MICROCY", "POIKILO", "POLYCHR"), "Haematology"),
    **dict.fromkeys(("K", "SODIUM", "CL", "CA", "PHOS", "MG", "BICARB", "CO2"), "Electrolytes"),
    **dict.fromkeys(("GLUC", "HBA1C", "CHOL", "TRIG", "HDL", "LDL", "URATE"), "Metabolic"),
}
GROUP_ORDER = ("Renal", "Liver", "Haematology", "Electrolytes", "Metabolic")
_PARCAT_GROUPS = {"CHEM": "Chemistry", "CHEMISTRY": "Chemistry", "HEM": "Haematology", "HEMATOLOGY": "Haematology",
                  "HAEMATOLOGY": "Haematology", "URIN": "Urinalysis", "URINALYSIS": "Urinalysis"}

CATEGORIES = ("LOW", "NORMAL", "HIGH", "MISSING")
_INDICATOR = {"L": "LOW", "LOW": "LOW", "LOW LOW": "LOW", "LL": "LOW",
              "H": "HIGH", "HIGH": "HIGH", "HIGH HIGH": "HIGH", "HH": "HIGH",
              "N": "NORMAL", "NORMAL": "NORMAL"}
_UNSCHEDULED = re.compile(r"^\s*(\.|UNSCH.*|UNSCHEDULED.*)?\s*$", re.IGNORECASE)

_OPTIONAL_COLUMNS = {
    "PARAM": "VARCHAR", "PARCAT1": "VARCHAR", "AVALU": "VARCHAR", "ADT": "DATE", "ADY": "DOUBLE",
    "AVISIT": "VARCHAR", "AVISITN": "DOUBLE", "ABLFL": "VARCHAR", "ANRLO": "DOUBLE", "ANRHI": "DOUBLE",
    "ANRIND": "VARCHAR", "BNRIND": "VARCHAR", "ANL01FL": "VARCHAR",
}

RECORD_COLUMNS = ["usubjid", "arm", "arm_order", "group", "paramcd", "code", "param", "unit", "visit", "visitnum",
                  "scheduled", "adt", "day", "aval", "anrlo", "anrhi", "category", "range_source", "x_uln",
                  "timing", "duplicate", "SRC_FILE", "SRC_ROW"]

#: Bump when the SQL below changes: the table names carry it, so old records are never read.
VERSION = 1


def _not_in_extract(message: str) -> Exception:
    """A ``dashboard.tables.NotInExtract`` with ``message``."""
    from dashboard.tables import NotInExtract

    return NotInExtract(message)


def lab_group(code: str | None, parcat1: str | None = None) -> str:
    """Display group of a lab parameter: :data:`LAB_GROUPS`, else PARCAT1, else "Other"."""
    if code and str(code).upper() in LAB_GROUPS:
        return LAB_GROUPS[str(code).upper()]
    if parcat1 is not None and not pd.isna(parcat1) and str(parcat1).strip():
        text = str(parcat1).strip()
        return _PARCAT_GROUPS.get(text.upper(), text.title())
    return "Other"


def is_scheduled_visit(avisit) -> bool:
    """False for a missing visit, "." and UNSCHEDULED... (any case, surrounding spaces); else True."""
    return not (avisit is None or pd.isna(avisit) or bool(_UNSCHEDULED.match(str(avisit))))


def indicator_category(value) -> str | None:
    """LOW / NORMAL / HIGH of a range indicator (ANRIND/BNRIND: L, LOW, LOW LOW, LL, H, ...); None otherwise."""
    return None if value is None or pd.isna(value) else _INDICATOR.get(str(value).strip().upper())


def _require_adlb(con) -> list[str]:
    if not db.table_exists(con, "adlb"):
        raise _not_in_extract("ADLB (laboratory results) is not in this extract.")
    return db.table_columns(con, "adlb")


def _raw_sql(cols: set[str]) -> str:
    """The population's kept ADLB records (rules 1-3 of the package docstring), numbered in the
    order every table reads them (subject, PARAMCD, ADT, file, row)."""
    select = ", ".join(f'l."{c}" AS "{c}"' if c in cols else f'CAST(NULL AS {t}) AS "{c}"'
                       for c, t in _OPTIONAL_COLUMNS.items())
    where = ["l.AVAL IS NOT NULL", "NOT starts_with(l.PARAMCD, '_')",
             "(len($lab_params) = 0 OR list_contains($lab_params, l.PARAMCD))"]
    if "DTYPE" in cols:
        where.append("l.DTYPE IS NULL")
    if "ADT" in cols:
        where.append("($data_cut IS NULL OR l.ADT <= CAST($data_cut AS DATE))")
    order = "l.ADT NULLS LAST, " if "ADT" in cols else ""
    return population_sql(f"""
        SELECT row_number() OVER (ORDER BY p.usubjid, l.PARAMCD, {order}l.SRC_FILE, l.SRC_ROW) AS rid,
               p.usubjid, p.arm, p.arm_order, p.trtsdt, l.PARAMCD, CAST(l.AVAL AS DOUBLE) AS AVAL,
               l.SRC_FILE, l.SRC_ROW, {select}
        FROM {{population}} p JOIN adlb l ON l.USUBJID = p.usubjid
        WHERE {' AND '.join(where)}""")


def _parameter_meta(cur) -> pd.DataFrame:
    """One label, unit, canonical code and group per PARAMCD of the raw records: PARAM (most
    frequent, the first in sort order on a tie) with the unit (most frequent AVALU) appended when
    the label carries none; the group from the code, else the first PARCAT1 in record order."""
    meta = cur.sql("""
        WITH labels AS (SELECT PARAMCD, PARAM, count(*) AS n FROM _lab_raw WHERE PARAM IS NOT NULL GROUP BY ALL),
             units AS (SELECT PARAMCD, AVALU, count(*) AS n FROM _lab_raw WHERE AVALU IS NOT NULL GROUP BY ALL),
             parcat AS (SELECT PARAMCD, arg_min(PARCAT1, rid) AS parcat1 FROM _lab_raw
                        WHERE PARCAT1 IS NOT NULL GROUP BY PARAMCD)
        SELECT c.PARAMCD AS paramcd, l.label, u.unit, p.parcat1
        FROM (SELECT DISTINCT PARAMCD FROM _lab_raw) c
        LEFT JOIN (SELECT PARAMCD, first(PARAM ORDER BY n DESC, PARAM) AS label FROM labels GROUP BY PARAMCD) l USING (PARAMCD)
        LEFT JOIN (SELECT PARAMCD, first(AVALU ORDER BY n DESC, AVALU) AS unit FROM units GROUP BY PARAMCD) u USING (PARAMCD)
        LEFT JOIN parcat p USING (PARAMCD)""").to_arrow_table().to_pandas()
    rows = []
    for paramcd, label, unit, parcat1 in meta.itertuples(index=False):  # one per parameter, not per record
        code = canonical_lab_code(paramcd) or paramcd.upper()
        label = paramcd if pd.isna(label) else str(label)
        unit = "" if pd.isna(unit) else str(unit)
        if unit and not re.search(r"\([^()]*\)\s*$", label):
            label = f"{label} ({unit})"
        rows.append((paramcd, code, label, unit, lab_group(code, None if pd.isna(parcat1) else parcat1)))
    return pd.DataFrame(rows, columns=["paramcd", "code", "param", "unit", "group"])


def _build(spec: FilterSpec, cols: set[str], anl01fl: str, params: list[str]):

    def build(cur, create: str) -> None:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _lab_raw AS {_raw_sql(cols)}",
                    {**spec.params(), "lab_params": params})
        cur.register("_lab_params", _parameter_meta(cur))
        visits = [r[0] for r in cur.execute("SELECT DISTINCT AVISIT FROM _lab_raw WHERE AVISIT IS NOT NULL").fetchall()]
        cur.register("_lab_visits", pd.DataFrame({"visit": pd.Series(visits, dtype=object),
                                                  "scheduled": pd.Series([is_scheduled_visit(v) for v in visits], dtype=bool)}))
        flags = cur.sql("SELECT DISTINCT v FROM (SELECT ANRIND AS v FROM _lab_raw UNION ALL "
                        "SELECT BNRIND FROM _lab_raw) WHERE v IS NOT NULL").fetchall()
        flags = [r[0] for r in flags]
        cur.register("_lab_flags", pd.DataFrame({"flag": pd.Series(flags, dtype=object),
                                                 "flag_category": pd.Series([indicator_category(v) for v in flags], dtype=object)}))
        day = f"coalesce({bds.study_day_sql('adt', 'trtsdt')}, ady)"
        cur.execute(f"""
        {create} AS
        WITH src AS MATERIALIZED (
            SELECT r.rid, r.usubjid, coalesce(CAST(r.arm AS VARCHAR), 'None') AS arm, r.arm_order, r.trtsdt,
                   r.PARAMCD AS paramcd, r.AVAL AS aval, CAST(r.ADT AS DATE) AS adt, r.ADY AS ady,
                   r.AVISIT AS visit, r.AVISITN AS avisitn, r.ABLFL AS ablfl, r.ANRLO AS anrlo, r.ANRHI AS anrhi,
                   r.ANRIND AS anrind, r.BNRIND AS bnrind, r.ANL01FL AS anl01fl,
                   r.SRC_FILE AS src_file, r.SRC_ROW AS src_row,
                   m."group", m.code, m.param, m.unit, coalesce(CAST(v.scheduled AS BOOLEAN), false) AS scheduled
            FROM _lab_raw r JOIN _lab_params m ON m.paramcd = r.PARAMCD
            LEFT JOIN _lab_visits v ON CAST(v.visit AS VARCHAR) = r.AVISIT),
        timed AS MATERIALIZED (
            SELECT b.*, {day} AS day FROM ({bds.baseline_sql('src', 'paramcd')}) b),
        timed2 AS MATERIALIZED (SELECT *, {bds.record_timing_sql('day')} AS timing FROM timed),
        -- ANL01FL (package docstring, rule 4): which parameters it selects records of.
        per_visit AS MATERIALIZED (SELECT paramcd, usubjid, visit, bool_or(coalesce(anl01fl = 'Y', false)) AS y
                      FROM timed2 WHERE timing = 'post' AND scheduled GROUP BY ALL),
        honoured AS MATERIALIZED (SELECT paramcd FROM timed2 WHERE $anl01fl = 'use' GROUP BY paramcd
                     UNION SELECT paramcd FROM per_visit WHERE $anl01fl = 'auto' GROUP BY paramcd HAVING bool_and(y)),
        kept AS MATERIALIZED (
            SELECT t.* FROM timed2 t
            WHERE NOT ($anl01fl <> 'ignore' AND EXISTS (SELECT 1 FROM timed2 WHERE anl01fl = 'Y')
                       AND t.timing = 'post' AND t.paramcd IN (SELECT paramcd FROM honoured)
                       AND t.anl01fl IS DISTINCT FROM 'Y')),
        flagged AS MATERIALIZED (
            SELECT k.*,
                   (k.adt IS NOT NULL AND row_number() OVER (
                        PARTITION BY k.usubjid, k.paramcd, k.adt, k.aval
                        ORDER BY coalesce(k.avisitn, 'inf'::DOUBLE), k.src_file, k.src_row) > 1) AS duplicate,
                   (k.anrlo IS NOT NULL OR k.anrhi IS NOT NULL) AS has_range,
                   CAST(f.flag_category AS VARCHAR) AS flag_category
            FROM kept k LEFT JOIN _lab_flags f
              ON CAST(f.flag AS VARCHAR) = CASE WHEN k.timing = 'baseline' THEN coalesce(k.bnrind, k.anrind) ELSE k.anrind END)
        SELECT rid, usubjid, arm, arm_order, "group", paramcd, code, param, unit, visit, avisitn AS visitnum,
               scheduled, adt, CAST(day AS DOUBLE) AS day, aval, anrlo, anrhi,
               CASE WHEN has_range THEN CASE WHEN aval < anrlo THEN 'LOW' WHEN aval > anrhi THEN 'HIGH'
                                             ELSE 'NORMAL' END
                    ELSE coalesce(flag_category, 'MISSING') END AS category,
               CASE WHEN has_range THEN 'range' WHEN flag_category IS NOT NULL THEN 'indicator' ELSE '' END
                   AS range_source,
               CASE WHEN anrhi > 0 THEN aval / anrhi END AS x_uln,
               timing, duplicate, src_file AS "SRC_FILE", src_row AS "SRC_ROW"
        FROM flagged""", {"anl01fl": anl01fl})
        cur.execute("DROP TABLE IF EXISTS _lab_raw")

    return build


def lab_analysis_records(con, spec: FilterSpec) -> pd.DataFrame:
    """The analysis lab records of the population, one row per ADLB record kept.

    Definition: the record rules of the package docstring (in order). Population: the
    selected population (SAFFL='Y' by default). Returns one row per record with
    :data:`RECORD_COLUMNS`, in subject, PARAMCD, ADT, file and row order: ``timing`` is
    ``baseline``, ``post`` or ``pre``; ``category`` is LOW / NORMAL / HIGH / MISSING;
    ``range_source`` says where it came from (``range``, ``indicator`` or empty); ``day`` is the
    study day (derived from ADT and TRTSDT, else ADY). Built once per connection and filter
    (:mod:`dashboard.records`).
    """
    anl01fl = spec.option("lab_anl01fl", "auto")
    if anl01fl not in ("auto", "use", "ignore"):
        raise ValueError(f"option lab_anl01fl must be 'auto', 'use' or 'ignore'; got {anl01fl!r}.")
    cols = set(_require_adlb(con))
    params = [str(p) for p in (spec.option("lab_params") or ())]
    name = stored.spec_key("lab_records", VERSION, spec, {"lab_params": tuple(params), "lab_anl01fl": anl01fl})
    frame = stored.records_table(con, name, _build(spec, cols, anl01fl, params))
    if frame.empty:
        return pd.DataFrame(columns=RECORD_COLUMNS)
    frame["adt"] = pd.to_datetime(frame["adt"])
    frame["visit"] = frame["visit"].astype(object)
    frame["SRC_ROW"] = frame["SRC_ROW"].astype("int64")
    return frame[RECORD_COLUMNS]
