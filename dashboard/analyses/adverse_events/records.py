"""The AE record set every adverse-event table counts, built once per (connection, filter) in DuckDB.

:func:`ae_records_table` creates, by SQL, one table per (population filter, data cut, AESI terms,
source data) in the attached in-memory database ``ae_cache`` (attached databases are shared by
every cursor of a connection, temp tables are not): one row per ADAE record of the population with
the analysis flags. The flags are the one definition of each term in :mod:`dashboard.ae_terms`,
evaluated once per distinct value (a small mapping table joined in SQL), never per row. A
connection shared by Streamlit sessions builds each table once, under a lock.

Shared definitions (the argument glossary is in ``dashboard/filters.py``):

- **Treatment-emergent** (clinical_reference §7): TRTEMFL='Y' when the extract carries TRTEMFL
  (any non-missing value); otherwise derived by :func:`derive_trtemfl` (ASTDT >= TRTSDT; a
  missing onset date counts as treatment-emergent). :func:`teae_rule` says which applies.
- **Data cut**: records with ASTDT after ``spec.data_cut`` are dropped (missing ASTDT kept);
  an AE ending after the cut is ongoing at the cut.
- **AE filters** (spec options, applied to every AE table): ``ae_serious`` ('Y'/'N'),
  ``ae_severities`` (tuple of MILD/MODERATE/SEVERE/Missing), ``ae_related`` ('related'/'not
  related'), ``ae_socs`` (tuple of SOC names), ``ae_infusion_window`` (days: onset minus the
  most recent infusion on or before onset <= the window; needs ADEX).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading

import duckdb
import pandas as pd

from dashboard import bds, db
from dashboard.ae_terms import (  # noqa: F401 (the AE vocabulary, re-exported for the tables)
    DEFAULT_AESI_TERMS, DISCONTINUATION_ACTIONS, MISSING, SEVERITY_LEVELS, derive_related, derive_severity, derive_trtemfl,
    is_aesi, is_discontinuation_action, is_fatal, is_serious, norm_series,
)
from dashboard.filters import FilterSpec
from dashboard.population import population_sql
from dashboard.tables import NotInExtract

#: The attached in-memory database that holds the record tables (shared by a connection's cursors).
CACHE_DB = "ae_cache"
#: Record tables kept per connection (the oldest is dropped beyond this).
MAX_TABLES = 16

_LOCK = threading.Lock()

#: Columns of :func:`ae_records`, in order.
RECORD_COLUMNS = ["usubjid", "arm", "arm_order", "trtsdt", "aeseq", "soc", "pt", "aeterm", "astdt", "aendt",
                  "ongoing", "astdy", "day_from_first_dose", "days_since_last_infusion", "aetoxgr", "aerel",
                  "aeacn", "aeout", "SRC_FILE", "SRC_ROW", "severity", "severe", "serious", "related",
                  "discontinuation", "fatal", "aesi", "teae"]


# --------------------------------------------------------------------------------------------
# what the extract has
# --------------------------------------------------------------------------------------------
def _require_adae(con) -> set[str]:
    if not db.table_exists(con, "adae"):
        raise NotInExtract("ADAE (adverse events) is not in this extract.")
    return set(db.table_columns(con, "adae"))


def _has_values(con, column: str) -> bool:
    """True when ADAE has ``column`` with at least one non-missing value."""
    if column not in _require_adae(con):
        return False
    return bool(db.run(con, f'SELECT count(nullif(trim(CAST("{column}" AS VARCHAR)), \'\')) AS n FROM adae')["n"].iloc[0])


def has_trtemfl(con) -> bool:
    """True when ADAE carries TRTEMFL with at least one value (then it defines TEAEs)."""
    return _has_values(con, "TRTEMFL")


def teae_rule(con) -> str:
    """Which treatment-emergent rule applies to this extract (shown under the AE tables)."""
    if has_trtemfl(con):
        return "Treatment-emergent: TRTEMFL='Y' as supplied in ADAE."
    return ("Treatment-emergent: DERIVED as ASTDT >= TRTSDT (ADAE has no TRTEMFL); an AE with a missing "
            "onset date counts as treatment-emergent.")


def has_infusions(con) -> bool:
    """True when ADEX with administration dates is loaded (infusion-relative views possible)."""
    return db.table_exists(con, "adex") and "ASTDT" in db.table_columns(con, "adex")


def _infusions_sql(con) -> str:
    """Given administrations (EXOCCUR not 'N', ASTDT present) up to the data cut: USUBJID, d."""
    from dashboard.resolution import exposure_form

    cols = set(db.table_columns(con, "adex"))
    given = "coalesce(EXOCCUR, 'Y') <> 'N' AND " if "EXOCCUR" in cols else ""
    form = exposure_form(con)   # parameter-form ADEX: only the administration parameter's records
    given += f"({form.where}) AND " if form is not None else ""
    return (f"SELECT DISTINCT USUBJID, ASTDT AS d FROM adex WHERE {given} ASTDT IS NOT NULL "
            "AND ($data_cut IS NULL OR ASTDT <= $data_cut)")


def _study_cut(con, spec: FilterSpec) -> dt.date | None:
    """The data cut in force: the spec's, else the study's (manifest or latest date)."""
    if spec.data_cut:
        return spec.data_cut
    value = db.run(con, "SELECT data_cut FROM study")["data_cut"].iloc[0] if db.table_exists(con, "study") else ""
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def aesi_rule(spec: FilterSpec) -> str:
    """The AESI definition in use, as text for captions."""
    terms = spec.option("aesi_terms")
    if terms:
        return "AESI: PT in " + ", ".join(terms)
    return "AESI: AESIFL='Y' or PT in " + ", ".join(DEFAULT_AESI_TERMS)


def control_arm(arms: list[str], requested: str | None = None) -> str:
    """The comparator: ``requested`` when it is one of ``arms``; else the first arm whose label
    contains "placebo" (any case); else the first arm."""
    if requested and requested in arms:
        return requested
    for arm in arms:
        if "placebo" in str(arm).lower():
            return arm
    return arms[0]


# --------------------------------------------------------------------------------------------
# the record table
# --------------------------------------------------------------------------------------------
def _col(cols: set[str], name: str, alias: str, cast: str = "VARCHAR") -> str:
    return f'a."{name}" AS {alias}' if name in cols else f"NULL::{cast} AS {alias}"


def _base_sql(con, cols: set[str]) -> str:
    """The population's ADAE records with the columns the flags are derived from (``_ord`` keeps
    the listing order: arm, subject, onset, source row)."""
    last_inf = (f"(SELECT max(i.d) FROM ({_infusions_sql(con)}) i WHERE i.USUBJID = a.USUBJID AND i.d <= a.ASTDT)"
                if has_infusions(con) and "ASTDT" in cols else "NULL::DATE")
    astdt = 'a."ASTDT"' if "ASTDT" in cols else "NULL::DATE"
    aendt = 'a."AENDT"' if "AENDT" in cols else "NULL::DATE"
    aeterm = "nullif(trim(a.\"AETERM\"), '')" if "AETERM" in cols else "NULL"
    return population_sql(f"""
        SELECT row_number() OVER (ORDER BY p.arm_order, p.usubjid, {astdt} NULLS LAST, a.SRC_ROW) AS _ord,
               p.usubjid, p.arm, p.arm_order, p.trtsdt,
               {_col(cols, "AESEQ", "aeseq", "DOUBLE")},
               coalesce(nullif(trim(a."AEBODSYS"), ''), 'Uncoded') AS soc,
               coalesce(nullif(trim(a."AEDECOD"), ''), {aeterm}, 'Uncoded') AS pt,
               {_col(cols, "AETERM", "aeterm")},
               {astdt} AS astdt,
               CASE WHEN CAST($cut AS DATE) IS NOT NULL AND {aendt} > CAST($cut AS DATE) THEN NULL ELSE {aendt} END AS aendt,
               {aendt} IS NULL OR (CAST($cut AS DATE) IS NOT NULL AND {aendt} > CAST($cut AS DATE)) AS ongoing,
               {bds.study_day_sql(astdt, "p.trtsdt")} AS astdy,
               CASE WHEN {astdt} IS NULL THEN 1 ELSE date_diff('day', p.trtsdt, {astdt}) + 1 END AS day_from_first_dose,
               date_diff('day', {last_inf}, {astdt}) AS days_since_last_infusion,
               {_col(cols, "AESEV", "aesev")}, {_col(cols, "AETOXGR", "aetoxgr")},
               {_col(cols, "AESER", "aeser")}, {_col(cols, "AEREL", "aerel")},
               {_col(cols, "AEACN", "aeacn")}, {_col(cols, "AEOUT", "aeout")},
               {_col(cols, "AESDTH", "aesdth")}, {_col(cols, "AESIFL", "aesifl")},
               {_col(cols, "TRTEMFL", "trtemfl")},
               a.SRC_FILE, a.SRC_ROW
        FROM {{population}} p JOIN adae a ON a.USUBJID = p.usubjid
        WHERE $data_cut IS NULL OR {astdt} IS NULL OR {astdt} <= $data_cut""")


def _source_fingerprint(con) -> str:
    """A digest of the rows the records are built from (ADAE, ADSL, ADEX, the study row), so a
    table changed in place (a test emptying a column) never serves stale records. One query."""
    present = [t for t in ("adae", "adsl", "adex", "study") if db.table_exists(con, t)]
    parts = [f"(SELECT count(*) || ':' || coalesce(sum(hash(t)), 0) FROM (SELECT * FROM {t}) t) AS {t}" for t in present]
    row = db.run(con, "SELECT " + ", ".join(parts)).iloc[0]
    return "|".join(f"{t}:{row[t]}" for t in present)


def _records_key(con, spec: FilterSpec) -> str:
    """What the records depend on: the population filter, the data cut in force, the AESI terms
    and the source rows (never the AE filters or table options, applied after)."""
    cut = _study_cut(con, spec)
    params = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in spec.params().items()}
    text = json.dumps([params, str(cut), list(spec.option("aesi_terms") or ()), _source_fingerprint(con)],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _flag_maps(cur, base: str, spec: FilterSpec, trtemfl: bool) -> dict[str, pd.DataFrame]:
    """One small frame per flag over the distinct values it depends on (ae_terms rules)."""
    def distinct(columns: str) -> pd.DataFrame:
        return cur.sql(f"SELECT DISTINCT {columns} FROM {base}").to_arrow_table().to_pandas()

    sev = distinct("aesev, aetoxgr")
    sev["severity"] = derive_severity(sev["aesev"], sev["aetoxgr"])
    sev["severe"] = (sev["severity"] == "SEVERE") | (pd.to_numeric(sev["aetoxgr"], errors="coerce") >= 3)
    ser = distinct("aeser")
    ser["serious"] = is_serious(ser["aeser"])
    rel = distinct("aerel")
    rel["related"] = derive_related(rel["aerel"])
    acn = distinct("aeacn")
    acn["discontinuation"] = is_discontinuation_action(acn["aeacn"])
    fat = distinct("aeout, aesdth, aetoxgr")
    fat["fatal"] = is_fatal(fat["aeout"], fat["aesdth"], fat["aetoxgr"])
    esi = distinct("pt, aesifl")
    esi["aesi"] = is_aesi(esi["pt"], esi["aesifl"], spec.option("aesi_terms"))
    if trtemfl:
        te = distinct("trtemfl")
        te["teae"] = norm_series(te["trtemfl"]) == "Y"
    else:
        te = distinct("astdt, trtsdt")
        te["teae"] = derive_trtemfl(te["astdt"], te["trtsdt"]) == "Y"
    return {"m_sev": sev, "m_ser": ser, "m_rel": rel, "m_acn": acn, "m_fat": fat, "m_esi": esi, "m_te": te}


def _same(a: str, b: str, columns: list[str]) -> str:
    # Compared as text: a registered pandas column of missing values has no type of its own.
    return " AND ".join(f"CAST({a}.{c} AS VARCHAR) IS NOT DISTINCT FROM CAST({b}.{c} AS VARCHAR)" for c in columns)


def _build(cur, name: str, con, spec: FilterSpec, cols: set[str]) -> None:
    base = f"{CACHE_DB}.{name}_base"
    cut = _study_cut(con, spec)
    cur.execute(f"CREATE OR REPLACE TABLE {base} AS {_base_sql(con, cols)}", {**spec.params(), "cut": cut})
    try:
        maps = _flag_maps(cur, base, spec, has_trtemfl(con))
        for view, frame in maps.items():
            cur.register(view, frame)
        te_keys = ["trtemfl"] if "trtemfl" in maps["m_te"] else ["astdt", "trtsdt"]
        cur.execute(f"""
            CREATE TABLE {CACHE_DB}.{name} AS
            SELECT b._ord, {", ".join("b." + c for c in RECORD_COLUMNS[:20])},
                   m_sev.severity, coalesce(m_sev.severe, false) AS severe,
                   coalesce(m_ser.serious, false) AS serious, coalesce(m_rel.related, true) AS related,
                   coalesce(m_acn.discontinuation, false) AS discontinuation,
                   coalesce(m_fat.fatal, false) AS fatal, coalesce(m_esi.aesi, false) AS aesi,
                   coalesce(m_te.teae, false) AS teae
            FROM {base} b
            LEFT JOIN m_sev ON {_same("b", "m_sev", ["aesev", "aetoxgr"])}
            LEFT JOIN m_ser ON {_same("b", "m_ser", ["aeser"])}
            LEFT JOIN m_rel ON {_same("b", "m_rel", ["aerel"])}
            LEFT JOIN m_acn ON {_same("b", "m_acn", ["aeacn"])}
            LEFT JOIN m_fat ON {_same("b", "m_fat", ["aeout", "aesdth", "aetoxgr"])}
            LEFT JOIN m_esi ON {_same("b", "m_esi", ["pt", "aesifl"])}
            LEFT JOIN m_te ON {_same("b", "m_te", te_keys)}
            ORDER BY b._ord""")
    finally:
        for view in ("m_sev", "m_ser", "m_rel", "m_acn", "m_fat", "m_esi", "m_te"):
            cur.unregister(view)
        cur.execute(f"DROP TABLE IF EXISTS {base}")


def _exists(cur, name: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = $d AND table_name = $t",
                            {"d": CACHE_DB, "t": name}).fetchone()[0])


def ae_records_table(con, spec: FilterSpec) -> str:
    """The qualified name of the DuckDB table holding :func:`ae_records` for ``spec``, created
    (by SQL, once per connection and key) if absent. Safe for a connection shared by threads:
    a cursor per call and one lock around creation."""
    cols = _require_adae(con)
    name = "ae_records_" + _records_key(con, spec)
    cur = con.cursor()
    try:
        with _LOCK:
            # READ_WRITE: a read-only connection (a loaded database file) may still hold the cache.
            cur.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {CACHE_DB} (READ_WRITE)")
            if not _exists(cur, name):
                _build(cur, name, con, spec, cols)
                _remember(cur, name)
    finally:
        cur.close()
    return f"{CACHE_DB}.{name}"


def _remember(cur, name: str) -> None:
    """Keep at most :data:`MAX_TABLES` record tables in the connection's cache (the oldest go).
    The index lives in the cache database itself, so every cursor of a connection shares it."""
    cur.execute(f"CREATE TABLE IF NOT EXISTS {CACHE_DB}._built (name VARCHAR)")
    cur.execute(f"INSERT INTO {CACHE_DB}._built (name) VALUES ($n)", {"n": name})
    old = cur.execute(f"SELECT name FROM {CACHE_DB}._built ORDER BY rowid DESC OFFSET {MAX_TABLES}").fetchall()
    for (stale,) in old:
        cur.execute(f"DROP TABLE IF EXISTS {CACHE_DB}.{stale}")
        cur.execute(f"DELETE FROM {CACHE_DB}._built WHERE name = $n", {"n": stale})


def ae_records(con, spec: FilterSpec) -> pd.DataFrame:
    """Every AE record of the population's subjects with the analysis flags (no AE filter applied).

    Definition: the module docstring and :mod:`dashboard.ae_terms` (TEAE, severity, relatedness,
    AESI, discontinuation, fatal). Population: ``spec.population``. Records with ASTDT after the
    data cut are dropped.

    Returns one row per ADAE record: ``usubjid``, ``arm``, ``arm_order``, ``trtsdt``, ``aeseq``,
    ``soc`` (AEBODSYS; "Uncoded" when missing), ``pt`` (AEDECOD; AETERM, then "Uncoded", when
    missing), ``aeterm``, ``astdt``, ``aendt`` (empty when ongoing at the cut), ``ongoing``,
    ``astdy`` (study day, no day 0), ``day_from_first_dose`` (ASTDT − TRTSDT + 1, 1 when ASTDT
    missing; for exposure), ``days_since_last_infusion`` (ASTDT minus the latest infusion on or
    before it; empty without ADEX), ``aetoxgr``, ``aerel``, ``aeacn``, ``aeout``, ``SRC_FILE``,
    ``SRC_ROW``, ``severity``, ``severe``, ``serious``, ``related``, ``discontinuation``,
    ``fatal``, ``aesi``, ``teae``.
    """
    for attempt in (1, 2):
        table = ae_records_table(con, spec)
        try:
            frame = db.run(con, f"SELECT * EXCLUDE (_ord) FROM {table} ORDER BY _ord")
            break
        except duckdb.CatalogException:
            if attempt == 2:   # dropped by another session between creation and reading, twice
                raise
    frame["day_from_first_dose"] = pd.to_numeric(frame["day_from_first_dose"], errors="coerce")
    return frame[RECORD_COLUMNS]


def apply_ae_filters(records: pd.DataFrame, spec: FilterSpec) -> pd.DataFrame:
    """The records that pass the AE filters in ``spec`` options (see module docstring).

    ``ae_infusion_window`` keeps AEs whose onset is 0..window days after the most recent
    infusion (so 1 = same or next calendar day, "within 24 h" at date precision).
    """
    keep = pd.Series(True, index=records.index)
    serious = spec.option("ae_serious")
    if serious in ("Y", "N"):
        keep &= records["serious"] == (serious == "Y")
    severities = spec.option("ae_severities")
    if severities:
        keep &= records["severity"].isin(severities)
    related = spec.option("ae_related")
    if related in ("related", "not related"):
        keep &= records["related"] == (related == "related")
    socs = spec.option("ae_socs")
    if socs:
        keep &= records["soc"].isin(socs)
    window = spec.option("ae_infusion_window")
    if window is not None:
        days = pd.to_numeric(records["days_since_last_infusion"], errors="coerce")
        keep &= days.notna() & (days >= 0) & (days <= float(window))
    return records[keep].reset_index(drop=True)


def _check_window(con, spec: FilterSpec) -> None:
    if spec.option("ae_infusion_window") is not None and not has_infusions(con):
        raise NotInExtract("the time-window filter needs infusion dates (ADEX), which this extract lacks.")


def teae_records(con, spec: FilterSpec) -> pd.DataFrame:
    """Treatment-emergent records of the population after the AE filters (see :func:`ae_records`)."""
    _check_window(con, spec)
    recs = ae_records(con, spec)
    return apply_ae_filters(recs[recs["teae"]], spec)


def describe_ae_filters(spec: FilterSpec) -> list[str]:
    """Human-readable list of the AE filters in use (for captions)."""
    out = []
    if spec.option("ae_serious") in ("Y", "N"):
        out.append("Serious only" if spec.option("ae_serious") == "Y" else "Non-serious only")
    if spec.option("ae_severities"):
        out.append("Severity: " + ", ".join(spec.option("ae_severities")))
    if spec.option("ae_related") in ("related", "not related"):
        out.append("Related only" if spec.option("ae_related") == "related" else "Not related only")
    if spec.option("ae_socs"):
        out.append("SOC: " + "; ".join(spec.option("ae_socs")))
    if spec.option("ae_infusion_window") is not None:
        w = int(spec.option("ae_infusion_window"))
        out.append(f"Onset within {w} day{'s' if w != 1 else ''} after an infusion")
    return out


def ae_filter_choices(con, spec: FilterSpec) -> dict:
    """Values the page's AE filters can take: ``socs`` (sorted), ``severities``, ``has_infusions``."""
    recs = ae_records(con, spec)
    sev = list(SEVERITY_LEVELS) + ([MISSING] if (recs["severity"] == MISSING).any() else [])
    return {"socs": sorted(recs.loc[recs["teae"], "soc"].unique().tolist()), "severities": sev,
            "has_infusions": has_infusions(con)}
