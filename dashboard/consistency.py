"""Cross-domain consistency checks: records that contradict each other across ADSL, ADAE and ADLB.

Every check *flags* (the records stay loaded and counted; a safety event is never dropped because
another domain disagrees with it) and names the file, row, subject, column and value. Checks, in
the order they are reported (definitions: docs/definitions.md, "Cross-domain consistency"):

1. ``fatal_ae_subject_alive``: a fatal AE (:func:`~dashboard.ae_terms.is_fatal`:
   AEOUT FATAL, AESDTH = 'Y' or AETOXGR 5) for a subject ADSL does not record as dead
   (DTHFL not 'Y' and no DTHDT);
2. ``ae_after_death``: an AE onset (ASTDT) after the subject's ADSL death date (DTHDT);
3. ``lab_after_death``: a lab record (ADT) after DTHDT (derived eGFR rows are not re-reported:
   their creatinine record is);
4. ``ae_after_study_exit``: an AE onset after the subject's end of study (ADSL EOSDT);
5. ``trtemfl_contradicts_dates``: TRTEMFL = 'Y' with onset before the first dose (ASTDT < TRTSDT),
   or TRTEMFL not 'Y' with onset after the first dose and on or before the last (TRTSDT < ASTDT <=
   TRTEDT; the first-dose day itself is left alone, since an AE that day may precede the dose);
6. ``fatal_ae_not_serious``: a fatal AE with AESER = 'N' (death is a seriousness criterion, ICH E2A);
7. ``more_fatal_than_serious``: more subjects with a fatal TEAE than with a serious TEAE (one
   pooled finding for the extract; no arm is named).

A check whose inputs are absent or empty does not run (it cannot contradict anything).
"""

from __future__ import annotations

import pandas as pd

from dashboard import db
from data_contracts.findings import FLAGGED, Finding, finding_message, format_value

#: The check keys this module writes to ``findings`` (in report order).
CHECKS = ("fatal_ae_subject_alive", "ae_after_death", "lab_after_death", "ae_after_study_exit",
          "trtemfl_contradicts_dates", "fatal_ae_not_serious", "more_fatal_than_serious")


def _frame(con, table: str, wanted: list[str]) -> pd.DataFrame | None:
    """The table's wanted columns (absent ones as all-missing), or None when the table is absent."""
    if not db.table_exists(con, table):
        return None
    cols = set(db.table_columns(con, table))
    select = ", ".join(f'"{c}"' if c in cols else f'NULL AS "{c}"' for c in wanted)
    return db.run(con, f'SELECT {select} FROM "{table}" ORDER BY SRC_FILE, SRC_ROW')


def _norm(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().str.upper().fillna("")


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce")


def _row_findings(domain: str, rows: pd.DataFrame, column: str, check: str, expected) -> list[Finding]:
    out = []
    for r in rows.to_dict("records"):
        value, subj, row = format_value(r[column]), format_value(r["USUBJID"]), int(r["SRC_ROW"])
        text = expected(r) if callable(expected) else expected
        out.append(Finding(domain, r["SRC_FILE"], row, subj, column, check, value,
                           finding_message(r["SRC_FILE"], column, row, subj, value, text), FLAGGED))
    return out


def _day(value) -> str:
    return format_value(pd.Timestamp(value)) if pd.notna(value) else "missing"


def consistency_findings(con) -> list[Finding]:
    """Flagged findings for records that contradict another domain (see the module docstring)."""
    from dashboard.ae_terms import derive_trtemfl, is_fatal

    adsl = _frame(con, "adsl", ["USUBJID", "DTHFL", "DTHDT", "EOSDT", "TRTSDT", "TRTEDT"])
    adae = _frame(con, "adae", ["USUBJID", "ASTDT", "AEOUT", "AESDTH", "AETOXGR", "AESER", "TRTEMFL",
                                "SRC_FILE", "SRC_ROW"])
    if adsl is None:
        return []
    subj = adsl.drop_duplicates("USUBJID").set_index("USUBJID")
    out: list[Finding] = []
    death = _dates(subj["DTHDT"])
    if adae is not None and len(adae):
        ae = adae.copy()
        for c in ("DTHFL", "DTHDT", "EOSDT", "TRTSDT", "TRTEDT"):
            ae[c] = ae["USUBJID"].map(subj[c])
        ae["fatal"] = is_fatal(ae["AEOUT"], ae["AESDTH"], ae["AETOXGR"]).fillna(False).astype(bool)
        start, dthdt = _dates(ae["ASTDT"]), _dates(ae["DTHDT"])
        trtsdt, trtedt, eosdt = _dates(ae["TRTSDT"]), _dates(ae["TRTEDT"]), _dates(ae["EOSDT"])
        ae["signal"] = ["AEOUT" if str(o).strip().upper() == "FATAL" else "AESDTH" if str(d).strip().upper() == "Y"
                        else "AETOXGR" for o, d in zip(ae["AEOUT"], ae["AESDTH"])]
        recorded_dead = (_norm(ae["DTHFL"]) == "Y") | dthdt.notna()
        alive = ae[ae["fatal"] & ~recorded_dead]
        for signal, rows in alive.groupby("signal", sort=False):
            out += _row_findings("ADAE", rows, signal, "fatal_ae_subject_alive",
                                 lambda r: "a subject recorded as dead in ADSL for a fatal AE (ADSL DTHFL is "
                                 f"{format_value(r['DTHFL']) or 'missing'}, DTHDT missing)")
        out += _row_findings("ADAE", ae[start > dthdt], "ASTDT", "ae_after_death",
                             lambda r: f"an onset on or before the ADSL death date DTHDT {_day(r['DTHDT'])}")
        out += _row_findings("ADAE", ae[start > eosdt], "ASTDT", "ae_after_study_exit",
                             lambda r: f"an onset on or before the end of study EOSDT {_day(r['EOSDT'])}")
        if (_norm(ae["TRTEMFL"]) != "").any():
            flag = _norm(ae["TRTEMFL"]) == "Y"
            early = flag & (start < trtsdt)
            late = ~flag & (start > trtsdt) & (trtedt.isna() | (start <= trtedt))
            out += _row_findings("ADAE", ae[early], "TRTEMFL", "trtemfl_contradicts_dates",
                                 lambda r: f"TRTEMFL not 'Y' for an onset ({_day(r['ASTDT'])}) before the first "
                                 f"dose TRTSDT {_day(r['TRTSDT'])}")
            out += _row_findings("ADAE", ae[late], "TRTEMFL", "trtemfl_contradicts_dates",
                                 lambda r: f"TRTEMFL 'Y' for an onset ({_day(r['ASTDT'])}) after the first dose "
                                 f"TRTSDT {_day(r['TRTSDT'])} and on or before the last TRTEDT {_day(r['TRTEDT'])}")
            teae = flag
        else:
            teae = derive_trtemfl(ae["ASTDT"], ae["TRTSDT"]) == "Y"
        serious = _norm(ae["AESER"]) == "Y"
        out += _row_findings("ADAE", ae[ae["fatal"] & (_norm(ae["AESER"]) == "N")], "AESER", "fatal_ae_not_serious",
                             "'Y' for a fatal AE (death is a seriousness criterion, ICH E2A)")
        n_fatal = ae.loc[ae["fatal"] & teae, "USUBJID"].nunique()
        n_serious = ae.loc[serious & teae, "USUBJID"].nunique()
        if n_fatal > n_serious:
            file = str(ae["SRC_FILE"].iloc[0])
            out.append(Finding("ADAE", file, None, None, "AESER", "more_fatal_than_serious", str(n_serious),
                               f"{file}: {n_fatal} subjects have a fatal TEAE but only {n_serious} a serious "
                               "TEAE; expected every fatal TEAE to be serious (ICH E2A).", FLAGGED))
    if db.table_exists(con, "adlb") and death.notna().any():
        # In SQL: ADLB is the one domain of millions of rows, and only the rows after a death are wanted.
        cols = set(db.table_columns(con, "adlb"))
        derived = ("coalesce(upper(trim(CAST(l.PARAMTYP AS VARCHAR), ' \t\n\r')), '') <> 'DERIVED'"
                   if "PARAMTYP" in cols else "TRUE")
        adt = "l.ADT" if "ADT" in cols else "NULL"
        lb = db.run(con, f"""
            WITH d AS (SELECT USUBJID, first(DTHDT ORDER BY SRC_FILE, SRC_ROW) AS DTHDT FROM adsl GROUP BY USUBJID)
            SELECT l.USUBJID, {adt} AS ADT, l.SRC_FILE, l.SRC_ROW, d.DTHDT
            FROM adlb l JOIN d USING (USUBJID)
            WHERE {derived} AND {adt} > d.DTHDT ORDER BY l.SRC_FILE, l.SRC_ROW""")
        out += _row_findings("ADLB", lb, "ADT", "lab_after_death",
                             lambda r: f"a date on or before the ADSL death date DTHDT {_day(r['DTHDT'])}")
    return out
