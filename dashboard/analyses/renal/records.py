"""The renal analysis records, built once per (connection, filter) in DuckDB by SQL.

The rules are the package docstring's (:mod:`dashboard.analyses.renal`): parameters, records
used, baseline, post-baseline, out of window. PARAMCDs are mapped to the canonical renal code
over the unique codes and joined as a small mapping table; nothing runs per record in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard import bds, db
from dashboard import records as stored
from dashboard.filters import FilterSpec
from dashboard.population import population_sql
from dashboard.tables import NotInExtract
from data_contracts.adlb import canonical_lab_code


@dataclass(frozen=True)
class RenalParam:
    code: str
    label: str
    log_scale: bool
    decimals: int


#: The renal parameters, in display order. Log-scale ones are summarized as geometric means (§4).
RENAL_PARAMS: dict[str, RenalParam] = {
    "EGFR": RenalParam("EGFR", "eGFR", False, 1),
    "CREAT": RenalParam("CREAT", "Serum creatinine", False, 1),
    "UACR": RenalParam("UACR", "Urine albumin/creatinine ratio (UACR)", True, 1),
    "UPROT24": RenalParam("UPROT24", "24-hour urine protein", True, 2),
}

ABLFL_METHOD, DERIVED_METHOD = bds.ABLFL_RULE, bds.DERIVED_RULE

#: Optional ADLB columns read (source -> name in the record frame, SQL type of the fallback).
_OPTIONAL = (("AVALU", "unit", "VARCHAR"), ("ADY", "ady", "DOUBLE"), ("AVISIT", "avisit", "VARCHAR"),
             ("AVISITN", "avisitn", "DOUBLE"), ("ABLFL", "ablfl", "VARCHAR"), ("PARAMTYP", "paramtyp", "VARCHAR"))

RECORD_COLUMNS = ["usubjid", "arm", "arm_order", "trtsdt", "param", "paramcd", "unit", "adt", "study_day", "avisit",
                  "avisitn", "aval", "is_baseline", "phase", "base", "base_adt", "chg", "pchg", "out_of_window",
                  "paramtyp", "src_file", "src_row"]
_RAW_COLUMNS = ["usubjid", "arm", "arm_order", "trtsdt", "param", "paramcd", "aval", "adt", "src_file", "src_row"] + [
    c for _, c, _ in _OPTIONAL]

#: Bump when the SQL below changes: the table names carry it, so old records are never read.
VERSION = 1
_PHASE = {bds.BASELINE: "baseline", bds.POST: "post-baseline", bds.PRE: "pre-treatment"}


def _paramcds(con) -> dict[str, str]:
    """ADLB PARAMCD -> canonical renal code, for the PARAMCDs present (worked out per unique code)."""
    if not db.table_exists(con, "adlb"):
        return {}
    codes = db.run(con, "SELECT DISTINCT PARAMCD FROM adlb WHERE PARAMCD IS NOT NULL")["PARAMCD"]
    return {c: canonical_lab_code(c) for c in codes if canonical_lab_code(c) in RENAL_PARAMS}


def _build(spec: FilterSpec, cols: set[str], mapping: dict[str, str]):
    optional = ", ".join(f'l."{src}" AS {dst}' if src in cols else f"NULL::{typ} AS {dst}"
                         for src, dst, typ in _OPTIONAL)
    oow = ("SELECT DISTINCT a.USUBJID AS usubjid, a.AVISIT AS avisit, a.ADT AS adt FROM findings f "
           "JOIN adlb a ON a.SRC_FILE = f.file AND a.SRC_ROW = f.\"row\" "
           "WHERE f.\"check\" = 'out_of_window' AND f.domain = 'ADLB'")
    day = f"coalesce({bds.study_day_sql('adt', 'trtsdt')}, ady)"

    def build(cur, create: str) -> None:
        has_oow = bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'findings'")
                       .fetchall()[0][0]) and {"AVISIT", "ADT"} <= cols
        keys = oow if has_oow else ("SELECT NULL::VARCHAR AS usubjid, NULL::VARCHAR AS avisit, NULL::DATE AS adt "
                                    "WHERE false")
        cur.register("_renal_codes", pd.DataFrame({"paramcd": pd.Series(list(mapping), dtype=object),
                                                   "param": pd.Series(list(mapping.values()), dtype=object)}))
        cur.execute(population_sql(f"""
        {create} AS
        WITH raw AS MATERIALIZED (
            SELECT row_number() OVER (ORDER BY p.usubjid, l.PARAMCD, l.ADT, l.SRC_FILE, l.SRC_ROW) AS rid,
                   p.usubjid, p.arm, p.arm_order, p.trtsdt, CAST(m.param AS VARCHAR) AS param,
                   l.PARAMCD AS paramcd, l.AVAL AS aval, l.ADT AS adt, {optional},
                   l.SRC_FILE AS src_file, l.SRC_ROW AS src_row,
                   (l.AVAL IS NOT NULL AND l.ADT IS NOT NULL) AS usable
            FROM {{population}} p JOIN adlb l ON l.USUBJID = p.usubjid
            JOIN _renal_codes m ON CAST(m.paramcd AS VARCHAR) = l.PARAMCD
            WHERE (CAST($data_cut AS DATE) IS NULL OR l.ADT IS NULL OR l.ADT <= CAST($data_cut AS DATE))),
        oow AS MATERIALIZED ({keys}),
        usable AS MATERIALIZED (SELECT * FROM raw WHERE usable),
        based AS MATERIALIZED ({bds.baseline_sql('usable', 'param')}),
        timed AS MATERIALIZED (SELECT *, {bds.record_timing_sql()} AS timing FROM based)
        SELECT t.rid, t.usable, t.usubjid, t.arm, t.arm_order, t.trtsdt, t.param, t.paramcd, t.unit, t.adt,
               CAST({day} AS DOUBLE) AS study_day, t.avisit, t.avisitn, t.aval, t.is_baseline,
               CASE t.timing WHEN '{bds.BASELINE}' THEN 'baseline' WHEN '{bds.POST}' THEN 'post-baseline'
                             ELSE 'pre-treatment' END AS phase,
               t.base, t.base_adt,
               CASE WHEN t.timing = '{bds.POST}' THEN t.aval - t.base END AS chg,
               CASE WHEN t.timing = '{bds.POST}' AND t.base > 0 THEN 100.0 * (t.aval - t.base) / t.base END AS pchg,
               EXISTS (SELECT 1 FROM oow o WHERE o.usubjid = t.usubjid AND o.avisit IS NOT DISTINCT FROM t.avisit
                       AND o.adt = t.adt) AS out_of_window,
               t.paramtyp, t.src_file, t.src_row, t.ablfl, t.ady, t.baseline_by_flag
        FROM timed t
        UNION ALL
        SELECT r.rid, false, r.usubjid, r.arm, r.arm_order, r.trtsdt, r.param, r.paramcd, r.unit, r.adt,
               NULL, r.avisit, r.avisitn, r.aval, NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.paramtyp, r.src_file,
               r.src_row, r.ablfl, r.ady, NULL
        FROM raw r WHERE NOT r.usable"""), spec.params())

    return build


def renal_records(con, spec: FilterSpec) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Every usable renal record of the population with its baseline, phase and change.

    Returns ``(records, dropped, baseline_methods)``: one row per ADLB record (columns
    :data:`RECORD_COLUMNS`, in subject, PARAMCD, ADT, file and row order; ``phase`` is baseline /
    post-baseline / pre-treatment), the records left out for a missing AVAL or ADT, and the
    baseline method per parameter. Built once per connection and filter (:mod:`dashboard.records`).
    """
    mapping = _paramcds(con)
    empty = pd.DataFrame(columns=_RAW_COLUMNS)
    if not mapping:
        return pd.DataFrame(columns=RECORD_COLUMNS), empty, {}
    cols = set(db.table_columns(con, "adlb"))
    if "ADT" not in cols:
        raise NotInExtract("ADLB has no analysis date (ADT), so renal values cannot be placed in time.")
    name = stored.spec_key("renal_records", VERSION, spec)
    frame = stored.records_table(con, name, _build(spec, cols, mapping))
    for c in ("adt", "trtsdt", "base_adt"):
        frame[c] = pd.to_datetime(frame[c])
    usable = frame["usable"].to_numpy(bool)
    rec, dropped = frame[usable].reset_index(drop=True), frame[~usable].reset_index(drop=True)
    methods = {p: (ABLFL_METHOD if flag else DERIVED_METHOD)
               for p, flag in rec.drop_duplicates("param")[["param", "baseline_by_flag"]].itertuples(index=False)}
    rec = rec.astype({"is_baseline": bool, "out_of_window": bool})
    return rec[RECORD_COLUMNS], dropped[_RAW_COLUMNS], methods
