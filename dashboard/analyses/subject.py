"""One subject's record, for the subject profile (drill-down target of every table and chart).

These are not registered tables (they take a subject, not a filter), but they follow the same
rule: pure functions of the connection.
"""

from __future__ import annotations

import pandas as pd

from dashboard import bds, db

_HIDDEN = {"SRC_FILE", "SRC_ROW"}


def subject_ids(con) -> list[str]:
    return db.run(con, "SELECT USUBJID FROM adsl ORDER BY USUBJID")["USUBJID"].tolist()


def subject_demographics(con, usubjid: str) -> pd.DataFrame:
    """The subject's ADSL record as ``variable``, ``value`` rows (analysis arm included as loaded:
    pooled in the blinded role)."""
    frame = db.run(con, "SELECT * FROM adsl WHERE USUBJID = $u", {"u": usubjid})
    if frame.empty:
        return pd.DataFrame(columns=["variable", "value"])
    row = frame.iloc[0]
    return pd.DataFrame({"variable": [c for c in frame.columns if c not in _HIDDEN],
                         "value": [("" if pd.isna(row[c]) else str(row[c])) for c in frame.columns if c not in _HIDDEN]})


def subject_adverse_events(con, usubjid: str) -> pd.DataFrame:
    """The subject's adverse events with start/end study day relative to first dose."""
    if not db.table_exists(con, "adae"):
        return pd.DataFrame()
    cols = set(db.table_columns(con, "adae"))
    want = [c for c in ("AESEQ", "AEBODSYS", "AEDECOD", "AETERM", "ASTDT", "AENDT", "AESEV", "AETOXGR", "AESER",
                        "AEREL", "AEACN", "AEOUT", "TRTEMFL", "SRC_FILE", "SRC_ROW") if c in cols]
    sel = ", ".join(f'a."{c}"' for c in want)
    day = bds.study_day_sql("a.ASTDT", "s.TRTSDT") \
        if "ASTDT" in cols and "TRTSDT" in db.table_columns(con, "adsl") else "NULL"
    return db.run(con, f"""SELECT {sel}, {day} AS start_study_day FROM adae a JOIN adsl s USING (USUBJID)
                           WHERE a.USUBJID = $u ORDER BY {'a.ASTDT' if 'ASTDT' in cols else 1}""", {"u": usubjid})


def subject_exposure(con, usubjid: str) -> pd.DataFrame:
    if not db.table_exists(con, "adex"):
        return pd.DataFrame()
    return db.run(con, "SELECT * EXCLUDE (SRC_FILE, SRC_ROW) FROM adex WHERE USUBJID = $u ORDER BY ALL",
                  {"u": usubjid})


def subject_labs(con, usubjid: str) -> pd.DataFrame:
    """The subject's lab values: ``PARAMCD``, ``PARAM``, ``AVISIT``, ``ADT``, ``ADY``, ``AVAL``,
    ``AVALU``, ``ANRLO``, ``ANRHI``, ``ABLFL`` (missing columns as empty)."""
    if not db.table_exists(con, "adlb"):
        return pd.DataFrame()
    cols = set(db.table_columns(con, "adlb"))
    want = ["PARAMCD", "PARAM", "AVISIT", "ADT", "ADY", "AVAL", "AVALU", "ANRLO", "ANRHI", "ABLFL", "SRC_FILE", "SRC_ROW"]
    sel = ", ".join(f'"{c}"' if c in cols else f'NULL AS "{c}"' for c in want)
    return db.run(con, f"SELECT {sel} FROM adlb WHERE USUBJID = $u AND AVAL IS NOT NULL ORDER BY PARAMCD, ADT",
                  {"u": usubjid})


def subject_findings(con, usubjid: str) -> pd.DataFrame:
    return db.run(con, "SELECT * FROM findings WHERE usubjid = $u", {"u": usubjid})
