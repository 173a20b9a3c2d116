"""The analysis population: one ``subjects`` view over ADSL and the ``population`` table macro.

Every analysis selects its subjects with ``FROM population($population, $sexes, $age_groups,
$egfr_categories, $arms, $data_cut)`` so a filter means the same thing on every page, in every
export and in every test. Built once per loaded extract (the loader calls
:func:`create_population_objects`). Subject-level derivations made here:

- ``saffl``, ``randfl``, ``ittfl``: the ADSL flags as resolved at load (SAFFL from TRTSDT or
  exposure, RANDFL from RANDDT, ITTFL, a randomized arm or SAFFL, ...; see
  ``data_contracts.resolution`` and the ``derivations`` table). A flag that could not be
  resolved selects every subject (its derivation row says so; counts that need it say
  "not available").
- ``age_group``: '<65' / '>=65' from AGE ('Missing' when AGE is missing).
- ``egfr_bl``: baseline eGFR = the ADLB EGFR record flagged ABLFL='Y' (ADSL EGFRBL if none);
  ``egfr_bl_cat`` its KDIGO G category (clinical_reference §2, half-open intervals).
- ``eosstt``: EOSSTT as resolved at load (from DCSREAS/DCDECOD or DISCONFL when absent); a
  subject without one is 'ONGOING'; NULL for everyone when disposition is not available.
  ``dcsreas`` the reason (not 'COMPLETED').
- ``entry_date``: RANDDT, else TRTSDT, else SCRNDT: a subject enters a data cut on that date.

**Data cut** (``data_cut``, the "Data up to" filter): the macro returns the subjects as an extract
cut on that date would hold them: only subjects entered by the cut; an end-of-study status
(COMPLETED / DISCONTINUED) whose EOSDT is after the cut is ONGOING (reason and EOSDT cleared); a
death after the cut is not a death (DTHDT cleared); a subject first dosed after the cut is not
yet treated (SAFFL 'N', TRTSDT cleared). A status without EOSDT is kept as recorded (its date is
unknown). Record-level tables apply the cut to their own dates (ASTDT, ADT).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboard import db
from dashboard.blinding import ANALYSIS_ARM, ANALYSIS_ARM_ORDER, NON_ARM_VALUES
from dashboard.filters import TOTAL_ARM, FilterSpec


def _col(cols: set[str], name: str, fallback: str = "NULL") -> str:
    return f's."{name}"' if name in cols else fallback


def create_population_objects(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``subjects`` view and the ``population`` macro (columns absent from the
    extract become NULL, so every query runs on every extract)."""
    from dashboard.resolution import unavailable

    cols = set(db.table_columns(con, "adsl"))

    def flag(name: str) -> str:
        return "'Y'" if name not in cols or unavailable(con, "ADSL", name) else f'coalesce(s."{name}", \'N\')'

    saffl, ittfl, randfl = flag("SAFFL"), flag("ITTFL"), flag("RANDFL")
    eosstt = ("NULL" if "EOSSTT" not in cols or unavailable(con, "ADSL", "EOSSTT") else
              "CASE WHEN upper(s.EOSSTT) IN ('COMPLETED', 'DISCONTINUED', 'ONGOING') THEN upper(s.EOSSTT) "
              "ELSE 'ONGOING' END")
    entry = "coalesce(" + ", ".join([f's."{c}"' for c in ("RANDDT", "TRTSDT", "SCRNDT") if c in cols] + ["NULL::DATE"]) + ")"
    egfr_lab = ""
    has_lab = db.table_exists(con, "adlb") and {"PARAMCD", "ABLFL"} <= set(db.table_columns(con, "adlb"))
    if has_lab:
        egfr_lab = "LEFT JOIN (SELECT USUBJID, min(AVAL) AS egfr_lab FROM adlb WHERE PARAMCD = 'EGFR' AND ABLFL = 'Y' GROUP BY USUBJID) e USING (USUBJID)"
    egfr_bl = "coalesce(" + ", ".join((["e.egfr_lab"] if has_lab else []) + [f'TRY_CAST(s."EGFRBL" AS DOUBLE)' if "EGFRBL" in cols else "NULL::DOUBLE"]) + ")"
    sql = f"""
    CREATE OR REPLACE VIEW subjects AS
    SELECT s.USUBJID AS usubjid,
           s."{ANALYSIS_ARM}" AS arm,
           coalesce(s."{ANALYSIS_ARM_ORDER}", 999) AS arm_order,
           upper(coalesce(s."{ANALYSIS_ARM}", '')) IN ({", ".join(f"'{v}'" for v in sorted(NON_ARM_VALUES))}) AS not_an_arm,
           {_col(cols, "SITEID")} AS siteid,
           {_col(cols, "SEX")} AS sex,
           {_col(cols, "AGE")} AS age,
           CASE WHEN {_col(cols, "AGE")} IS NULL THEN 'Missing' WHEN {_col(cols, "AGE")} < 65 THEN '<65' ELSE '>=65' END AS age_group,
           {saffl} AS saffl, {ittfl} AS ittfl, {randfl} AS randfl,
           {eosstt} AS eosstt,
           CASE WHEN upper(coalesce(s.DCSREAS, '')) <> 'COMPLETED' THEN s.DCSREAS END AS dcsreas,
           {_col(cols, "EOSDT", "NULL::DATE")} AS eosdt,
           {_col(cols, "DTHDT", "NULL::DATE")} AS dthdt,
           {_col(cols, "TRTSDT", "NULL::DATE")} AS trtsdt,
           {_col(cols, "TRTEDT", "NULL::DATE")} AS trtedt,
           {entry} AS entry_date,
           {egfr_bl} AS egfr_bl,
           CASE WHEN {egfr_bl} IS NULL THEN 'Missing'
                WHEN {egfr_bl} >= 90 THEN 'G1' WHEN {egfr_bl} >= 60 THEN 'G2' WHEN {egfr_bl} >= 45 THEN 'G3a'
                WHEN {egfr_bl} >= 30 THEN 'G3b' WHEN {egfr_bl} >= 15 THEN 'G4' ELSE 'G5' END AS egfr_bl_cat
    FROM adsl s {egfr_lab}
    """
    con.execute(sql)
    con.execute("""
    CREATE OR REPLACE MACRO population(population, sexes, age_groups, egfr_categories, arms, data_cut) AS TABLE
    SELECT * REPLACE (
        CASE WHEN data_cut IS NOT NULL AND eosstt <> 'ONGOING' AND eosdt > data_cut THEN 'ONGOING'
             ELSE eosstt END AS eosstt,
        CASE WHEN data_cut IS NOT NULL AND eosdt > data_cut THEN NULL ELSE dcsreas END AS dcsreas,
        CASE WHEN data_cut IS NOT NULL AND eosdt > data_cut THEN NULL ELSE eosdt END AS eosdt,
        CASE WHEN data_cut IS NOT NULL AND dthdt > data_cut THEN NULL ELSE dthdt END AS dthdt,
        CASE WHEN data_cut IS NOT NULL AND saffl = 'Y' AND trtsdt > data_cut THEN 'N' ELSE saffl END AS saffl,
        CASE WHEN data_cut IS NOT NULL AND trtsdt > data_cut THEN NULL ELSE trtsdt END AS trtsdt)
    FROM subjects
    WHERE CASE population WHEN 'SAFFL' THEN saffl = 'Y' AND (data_cut IS NULL OR trtsdt IS NULL OR trtsdt <= data_cut)
                          WHEN 'ITTFL' THEN ittfl = 'Y'
                          WHEN 'RANDFL' THEN randfl = 'Y' ELSE TRUE END
      AND (len(sexes) = 0 OR list_contains(sexes, sex))
      AND (len(age_groups) = 0 OR list_contains(age_groups, age_group))
      AND (len(egfr_categories) = 0 OR list_contains(egfr_categories, egfr_bl_cat))
      AND (len(arms) = 0 OR list_contains(arms, arm))
      AND (data_cut IS NULL OR entry_date IS NULL OR entry_date <= data_cut)
    """)


#: The FROM clause every analysis uses (parameters come from ``FilterSpec.params()``).
POPULATION_FROM = ("population($population, CAST($sexes AS VARCHAR[]), CAST($age_groups AS VARCHAR[]), "
                   "CAST($egfr_categories AS VARCHAR[]), CAST($arms AS VARCHAR[]), CAST($data_cut AS DATE))")


def population_sql(sql: str) -> str:
    """Substitute ``{population}`` in a SQL text with the parameterized macro call."""
    return sql.replace("{population}", POPULATION_FROM)


def run(con: duckdb.DuckDBPyConnection, sql: str, spec: FilterSpec, **extra) -> pd.DataFrame:
    """Run an analysis query (written in code) over the filtered population."""
    return db.run(con, population_sql(sql), {**spec.params(), **extra})


def arm_denominators(con: duckdb.DuckDBPyConnection, spec: FilterSpec, with_total: bool | None = None) -> pd.DataFrame:
    """Subjects per arm in the population: columns ``arm``, ``arm_order``, ``N``.

    Arms come from ADSL (never from an event table), so an arm with no events still has its
    row. ``Total`` is appended when there is more than one arm (``with_total`` overrides).
    Rows outside any randomized arm (e.g. screen failures when population is ALL) are kept
    under their own label.
    """
    frame = run(con, "SELECT arm, min(arm_order) AS arm_order, count(*) AS N FROM {population} GROUP BY arm",
                spec)
    frame = _all_arms(con, spec).merge(frame, on="arm", how="outer", suffixes=("", "_pop"))
    frame["arm_order"] = frame["arm_order"].fillna(frame.get("arm_order_pop"))
    frame = frame.drop(columns=[c for c in frame.columns if c.endswith("_pop")])
    frame["N"] = frame["N"].fillna(0).astype("int64")
    frame = frame.sort_values("arm_order").reset_index(drop=True)
    arms = frame[~frame["arm"].str.upper().isin(NON_ARM_VALUES)]
    if with_total is None:
        with_total = len(arms) > 1
    if with_total:
        total = pd.DataFrame({"arm": [TOTAL_ARM], "arm_order": [10_000], "N": [int(arms["N"].sum())]})
        frame = pd.concat([frame, total], ignore_index=True)
    return frame[["arm", "arm_order", "N"]]


def _all_arms(con, spec: FilterSpec) -> pd.DataFrame:
    """The study's randomized arms (restricted to the selected arms), in display order."""
    arms = db.run(con, "SELECT arm, min(arm_order) AS arm_order FROM subjects WHERE NOT not_an_arm GROUP BY arm")
    if spec.arms:
        arms = arms[arms["arm"].isin(spec.arms)]
    return arms


def study_arms(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The randomized arms in display order (``['All subjects']`` in the blinded role)."""
    return db.run(con, "SELECT arm FROM subjects WHERE NOT not_an_arm GROUP BY arm ORDER BY min(arm_order)")["arm"].tolist()


def shown_vs_total(con: duckdb.DuckDBPyConnection, spec: FilterSpec) -> pd.DataFrame:
    """Subjects per arm under the active filter against the whole population (same population
    flag, no other restriction): ``arm``, ``shown``, ``total``. For the "n shown / N total" line
    every page shows while a filter is active."""
    shown = arm_denominators(con, spec, with_total=False)
    total = arm_denominators(con, FilterSpec(population=spec.population), with_total=False)
    out = total.merge(shown, on="arm", how="left", suffixes=("_total", ""))
    return pd.DataFrame({"arm": out["arm"], "shown": out["N"].fillna(0).astype("int64"),
                         "total": out["N_total"].astype("int64")})
