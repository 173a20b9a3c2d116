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


def subject_summary(con, usubjid: str, blinded: bool) -> str:
    """One line for the top of the profile: age, sex, arm (unblinded role only), randomization,
    first and last dose, study status; an item the extract lacks says so."""
    frame = db.run(con, "SELECT * FROM subjects WHERE usubjid = $u", {"u": usubjid})
    if frame.empty:
        return f"{usubjid}: not in ADSL."
    s = frame.iloc[0]
    adsl = db.run(con, "SELECT * FROM adsl WHERE USUBJID = $u", {"u": usubjid}).iloc[0]

    def date(col):
        value = adsl.get(col)
        return "not in this extract" if col not in adsl.index else ("not recorded" if pd.isna(value) else str(value)[:10])

    parts = [f"{'unknown age' if pd.isna(s['age']) else f'{int(s.age)} years'}",
             "sex not recorded" if pd.isna(s["sex"]) else f"sex {s.sex}"]
    if not blinded:
        parts.append("arm not recorded" if pd.isna(s["arm"]) else f"arm {s.arm}")
    # A status the extract cannot give (no EOSSTT, DCSREAS or DISCONFL) is said, never "none".
    status = ("status not available in this extract" if pd.isna(s["eosstt"]) else f"status {str(s.eosstt).lower()}"
              + (f" ({s.dcsreas})" if pd.notna(s.dcsreas) and s.dcsreas else ""))
    parts += [f"randomized {date('RANDDT')}", f"first dose {date('TRTSDT')}", f"last dose {date('TRTEDT')}", status]
    return " · ".join(parts)


def subject_dosing_days(con, usubjid: str) -> pd.DataFrame:
    """Study days of the subject's study-drug administrations (``ADY``; day 1 = first dose), for the
    dosing markers on the lab chart. Empty when ADEX or its dates are absent."""
    if not (db.table_exists(con, "adex") and "ASTDT" in db.table_columns(con, "adex")
            and "TRTSDT" in db.table_columns(con, "adsl")):
        return pd.DataFrame({"ADY": []})
    return db.run(con, """SELECT DISTINCT date_diff('day', s.TRTSDT, x.ASTDT)
                                 + CASE WHEN x.ASTDT >= s.TRTSDT THEN 1 ELSE 0 END AS ADY
                          FROM adex x JOIN adsl s USING (USUBJID)
                          WHERE x.USUBJID = $u AND x.ASTDT IS NOT NULL AND s.TRTSDT IS NOT NULL ORDER BY 1""",
                  {"u": usubjid})


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
    """The subject's study-drug records (ADEX): number, treatment, dose, route, dates, study day,
    given or not; the columns the extract has, in that order."""
    if not db.table_exists(con, "adex"):
        return pd.DataFrame()
    cols = db.table_columns(con, "adex")
    want = [c for c in ("EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "ASTDT", "AENDT", "ASTDY", "EXOCCUR",
                        "EXREASND") if c in cols] or [c for c in cols if c not in _HIDDEN]
    order = "EXSEQ" if "EXSEQ" in cols else ("ASTDT" if "ASTDT" in cols else "1")
    return db.run(con, f"SELECT {', '.join(chr(34) + c + chr(34) for c in want)} FROM adex WHERE USUBJID = $u "
                       f"ORDER BY {order}", {"u": usubjid})


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
