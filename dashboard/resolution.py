"""Variable resolution at load: apply ``data_contracts.resolution.RESOLUTION`` and record it.

The loader calls :func:`fill_date_parts` on every chunk (row level: a missing date takes the
date part of its datetime twin) and :func:`resolve_subject_variables` once every domain is
loaded (whole-column derivations of ADSL flags). Every derivation, and every variable that
could not be resolved, becomes a row of the ``derivations`` table (:data:`DERIVATION_COLUMNS`);
analyses ask :func:`unavailable` before they count, so an absent input reads "not available
in this extract: needs X", never 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb
import pandas as pd

from dashboard import db
from dashboard.blinding import NON_ARM_VALUES
from data_contracts.resolution import COMPLETED_REASONS, LABELS, RESOLUTION, Source, date_twins

DERIVED, NOT_AVAILABLE = "derived", "not available"
DERIVATION_COLUMNS = ["domain", "variable", "rule", "source", "rows_affected", "status", "message"]


@dataclass(frozen=True)
class Derivation:
    """How one variable of one domain was obtained when the extract did not carry it as is."""

    domain: str
    variable: str
    rule: str
    source: str
    rows_affected: int
    status: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def _label(var: str) -> str:
    return f"{LABELS[var]} ({var})" if var in LABELS else var


# -- row level, per chunk -------------------------------------------------------------------

def fill_date_parts(domain: str, frame: pd.DataFrame, parse) -> dict[str, int]:
    """Fill each missing date of ``frame`` from the date part of its datetime twin, in place.

    ``parse`` is the loader's date parser (``extract.parse_dates``). A date column the file lacks
    is created from its twin. Returns ``{date variable: rows filled}``; unparseable datetimes
    fill nothing (the date stays missing).
    """
    filled: dict[str, int] = {}
    for var, twin in date_twins(domain).items():
        if twin not in frame.columns:
            continue
        twin_dates, _bad = parse(frame[twin])
        twin_dates = twin_dates.dt.floor("D")
        todo = (frame[var].isna() if var in frame.columns else pd.Series(True, index=frame.index)) & twin_dates.notna()
        if todo.any():
            if var not in frame.columns:
                frame[var] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
            frame.loc[todo, var] = twin_dates[todo]
            filled[var] = int(todo.sum())
    return filled


def date_part_derivations(domain: str, counts: dict[str, int], had_column: set[str]) -> list[Derivation]:
    """Derivation rows for the dates filled from their datetime twins."""
    out = []
    twins = date_twins(domain)
    for var, n in counts.items():
        if not n:
            continue
        why = f"{domain} has no {var}" if var not in had_column else f"{var} missing on those rows"
        out.append(Derivation(domain, var, "date_part", twins[var], n, DERIVED,
                              f"{_label(var)}: date part of {twins[var]} for {n} rows ({why})."))
    return out


# -- whole column, after every domain is loaded --------------------------------------------

def _has_values(con, table: str, col: str) -> bool:
    if not db.table_exists(con, table) or col not in db.table_columns(con, table):
        return False
    return bool(con.execute(f'SELECT count("{col}") > 0 FROM "{table}"').fetchone()[0])


def _fatal_ae_subjects(con) -> pd.DataFrame | None:
    """Subjects with a fatal AE, by the one definition (``dashboard.ae_terms.is_fatal``); None when
    ADAE carries none of AEOUT, AESDTH, AETOXGR."""
    from dashboard.ae_terms import is_fatal

    present = [c for c in ("AEOUT", "AESDTH", "AETOXGR") if _has_values(con, "adae", c)]
    if not present:
        return None
    ae = db.run(con, "SELECT USUBJID, " + ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in present) + " FROM adae")
    empty = pd.Series(None, index=ae.index, dtype="object")
    fatal = is_fatal(ae.get("AEOUT", empty), ae.get("AESDTH", empty), ae.get("AETOXGR", empty))
    return pd.DataFrame({"USUBJID": ae.loc[fatal.to_numpy(), "USUBJID"].drop_duplicates().astype(str)})


def _given_exposure_sql(con) -> str | None:
    form = exposure_form(con)
    if form is None:
        return None
    cond = [form.where]
    if _has_values(con, "adex", "EXOCCUR"):
        cond.append("coalesce(EXOCCUR, 'Y') <> 'N'")
    return f"SELECT DISTINCT USUBJID FROM adex WHERE {' AND '.join(cond)}"


# -- exposure: occurrence form or parameter form --------------------------------------------

#: Parameter-form ADEX: PARAMCDs that hold one record per administration, in order of preference.
ADMINISTRATION_PARAMS = ("DOSE", "ADOSE", "DOSA", "EXDOSE")
#: Parameter-form ADEX: PARAMCDs whose AVAL is the number of doses per subject.
DOSE_COUNT_PARAMS = ("NDOSE", "NUMDOSE", "TNDOSE", "NINF")


@dataclass(frozen=True)
class ExposureForm:
    """How ADEX holds administrations: ``where`` selects one row per administration."""

    form: str            # "occurrence" or "parameter"
    where: str           # SQL condition on adex (literal SQL, no user text)
    rule: str
    message: str
    count_param: str | None = None   # parameter form with only a dose-count parameter


def exposure_form(con) -> ExposureForm | None:
    """Recognise occurrence-form ADEX (one row per administration) or parameter-form (BDS).

    The first that applies wins: no PARAMCD values, or a single PARAMCD -> occurrence form,
    every row is an administration; a per-administration parameter (:data:`ADMINISTRATION_PARAMS`)
    -> its rows; a dose-count parameter (:data:`DOSE_COUNT_PARAMS`) -> its AVAL per subject;
    otherwise the parameter with the most dated rows (subject-level totals have fewer).
    None when ADEX is absent or empty.
    """
    if not db.table_exists(con, "adex") or not con.execute("SELECT count(*) > 0 FROM adex").fetchone()[0]:
        return None
    codes = []
    if _has_values(con, "adex", "PARAMCD"):
        codes = db.run(con, """SELECT PARAMCD, count(*) AS n, count(ASTDT) AS dated FROM adex
                               WHERE PARAMCD IS NOT NULL GROUP BY PARAMCD ORDER BY dated DESC, n DESC, PARAMCD""")
    if len(codes) <= 1:
        return ExposureForm("occurrence", "TRUE", "occurrence_form",
                            "Exposure: occurrence-form ADEX, one record per administration.")
    present = {str(c).upper(): str(c) for c in codes["PARAMCD"]}
    listed = ", ".join(codes["PARAMCD"].astype(str).head(8))
    for code in ADMINISTRATION_PARAMS:
        if code in present:
            return ExposureForm("parameter", f"upper(PARAMCD) = '{code}'", f"parameter_form_{code.lower()}",
                                f"Exposure: parameter-form ADEX (PARAMCD {listed}, ...); administrations are the "
                                f"PARAMCD {present[code]} records.")
    cols = db.table_columns(con, "adex")
    for code in DOSE_COUNT_PARAMS:
        if code in present and "AVAL" in cols:
            return ExposureForm("parameter", f"upper(PARAMCD) = '{code}'", f"parameter_form_{code.lower()}",
                                f"Exposure: parameter-form ADEX (PARAMCD {listed}, ...); doses per subject are the "
                                f"AVAL of PARAMCD {present[code]}.", count_param=code)
    top = str(codes["PARAMCD"].iloc[0])
    return ExposureForm("parameter", f"PARAMCD = '{top.replace(chr(39), chr(39) * 2)}'", "parameter_form_most_dated",
                        f"Exposure: parameter-form ADEX (PARAMCD {listed}, ...) with no dose or dose-count parameter; "
                        f"administrations are the PARAMCD {top} records (the parameter with the most dated records).")


def exposure_derivation(con) -> list[Derivation]:
    """The derivation row saying which ADEX form was recognised (none when ADEX is absent)."""
    form = exposure_form(con)
    if form is None:
        return []
    rows = int(con.execute(f"SELECT count(*) FROM adex WHERE {form.where}").fetchone()[0])
    return [Derivation("ADEX", "administrations", form.rule, "PARAMCD" if form.form == "parameter" else "",
                       rows, DERIVED, form.message)]


def _update(con, var: str, expr: str, source_sql: str | None = None) -> int:
    """Set ``adsl.var`` to ``expr`` for every subject; returns the subjects given a value."""
    if var not in db.table_columns(con, "adsl"):
        con.execute(f'ALTER TABLE adsl ADD COLUMN "{var}" VARCHAR')
    src = f"LEFT JOIN ({source_sql}) x ON x.USUBJID = adsl.USUBJID" if source_sql else ""
    if source_sql:
        con.execute(f'''UPDATE adsl SET "{var}" = v.val FROM (SELECT adsl.USUBJID AS u, {expr} AS val FROM adsl {src}) v
                        WHERE adsl.USUBJID = v.u''')
    else:
        con.execute(f'UPDATE adsl SET "{var}" = {expr}')
    return int(con.execute(f'SELECT count("{var}") FROM adsl').fetchone()[0])


def resolve_subject_variables(con: duckdb.DuckDBPyConnection, arm_by_subject: pd.Series | None,
                              absent_columns: set[str]) -> list[Derivation]:
    """Derive the ADSL flags the extract lacks (or carries empty), in RESOLUTION order.

    ``arm_by_subject`` is the in-memory treatment assignment (never written in the blinded
    role; only "has a randomized arm" is used). ``absent_columns`` are the ADSL columns the
    loader added empty (not in any file). Order matters: SAFFL before RANDFL (its last
    fallback), RANDFL before ITTFL.
    """
    out: list[Derivation] = []
    for var in ("SAFFL", "RANDFL", "ITTFL", "DTHFL", "EOSSTT"):
        if _has_values(con, "adsl", var):
            continue
        why = f"ADSL has no {var}" if var in absent_columns else f"ADSL's {var} is empty"
        done = False
        for source in RESOLUTION["ADSL"][var][1:]:
            rows = _apply(con, var, source, arm_by_subject)
            if rows is None:
                continue
            out.append(Derivation("ADSL", var, source.rule, ", ".join(source.reads), rows, DERIVED,
                                  f"{_label(var)}: derived from {', '.join(source.reads)}: {source.describe()} ({why})."))
            done = True
            break
        if not done:
            needs = " or ".join([var] + [", ".join(s.reads) for s in RESOLUTION["ADSL"][var][1:]])
            out.append(Derivation("ADSL", var, "", "", 0, NOT_AVAILABLE,
                                  f"{_label(var)}: not available in this extract: needs {needs} ({why})."))
    return out


def _apply(con, var: str, source: Source, arms: pd.Series | None) -> int | None:
    """Apply one derivation rule if its inputs are present; None when they are not."""
    rule = source.rule
    if rule == "saffl_from_trtsdt" and _has_values(con, "adsl", "TRTSDT"):
        return _update(con, var, "CASE WHEN TRTSDT IS NOT NULL THEN 'Y' ELSE 'N' END")
    if rule == "saffl_from_exposure" and (sql := _given_exposure_sql(con)):
        return _update(con, var, "CASE WHEN x.USUBJID IS NOT NULL THEN 'Y' ELSE 'N' END", sql)
    if rule == "randfl_from_randdt" and _has_values(con, "adsl", "RANDDT"):
        return _update(con, var, "CASE WHEN RANDDT IS NOT NULL THEN 'Y' ELSE 'N' END")
    if rule in ("randfl_from_ittfl", "randfl_from_saffl", "ittfl_from_randfl"):
        col = {"randfl_from_ittfl": "ITTFL", "randfl_from_saffl": "SAFFL", "ittfl_from_randfl": "RANDFL"}[rule]
        if _has_values(con, "adsl", col):
            return _update(con, var, f"coalesce(\"{col}\", 'N')")
        return None
    if rule == "randfl_from_arm" and arms is not None and arms.notna().any():
        rand = arms.astype("string").str.strip()
        flag = (rand.notna() & ~rand.str.upper().isin(NON_ARM_VALUES)).map({True: "Y", False: "N"})
        frame = pd.DataFrame({"USUBJID": flag.index.astype(str), "val": flag.astype(str).to_numpy()})
        with db.frame_as(con, "_randomized", frame) as cur:
            return _update(cur, var, "coalesce(x.val, 'N')", "SELECT USUBJID, val FROM _randomized")
    if rule == "dthfl_from_dthdt" and _has_values(con, "adsl", "DTHDT"):
        return _update(con, var, "CASE WHEN DTHDT IS NOT NULL THEN 'Y' END")
    if rule == "dthfl_from_fatal_ae" and (fatal := _fatal_ae_subjects(con)) is not None:
        with db.frame_as(con, "_fatal", fatal) as cur:
            return _update(cur, var, "CASE WHEN x.USUBJID IS NOT NULL THEN 'Y' END", "SELECT USUBJID FROM _fatal")
    if rule == "eosstt_from_dcsreas" and _has_values(con, "adsl", "DCSREAS"):
        done = ", ".join(f"'{r}'" for r in COMPLETED_REASONS)
        return _update(con, var, f"""CASE WHEN upper(trim(DCSREAS)) IN ({done}) THEN 'COMPLETED'
                                          WHEN DCSREAS IS NOT NULL THEN 'DISCONTINUED' ELSE 'ONGOING' END""")
    if rule == "eosstt_from_disconfl" and _has_values(con, "adsl", "DISCONFL"):
        eosdt = "EOSDT IS NOT NULL" if "EOSDT" in db.table_columns(con, "adsl") else "FALSE"
        return _update(con, var, f"""CASE WHEN DISCONFL = 'Y' THEN 'DISCONTINUED'
                                          WHEN {eosdt} THEN 'COMPLETED' ELSE 'ONGOING' END""")
    return None


# -- reading it back ------------------------------------------------------------------------

def write_derivations(con, rows: list[Derivation]) -> None:
    frame = pd.DataFrame([r.as_dict() for r in rows], columns=DERIVATION_COLUMNS)
    frame = frame.astype({c: "str" for c in DERIVATION_COLUMNS if c != "rows_affected"})
    frame["rows_affected"] = frame["rows_affected"].astype("int64")
    with db.frame_as(con, "_derivations", frame) as cur:
        cur.execute("CREATE OR REPLACE TABLE derivations AS SELECT * FROM _derivations")


def unavailable(con, domain: str, variable: str) -> str | None:
    """The "not available in this extract: needs X" message when ``variable`` could not be
    resolved at load, else None."""
    if not db.table_exists(con, "derivations"):
        return None
    hit = db.run(con, "SELECT message FROM derivations WHERE domain = $d AND variable = $v AND status = $s",
                 {"d": domain, "v": variable, "s": NOT_AVAILABLE})
    return str(hit["message"].iloc[0]) if len(hit) else None
