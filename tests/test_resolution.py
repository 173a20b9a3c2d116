"""Variable resolution at load (data_contracts/resolution.py): each variant as a literal fixture.

The tiny extract of conftest.py (4 subjects, 2 per arm) with one standard ADaM variant each:
no RANDFL, an empty RANDFL, datetime-only variables, R-written NA. Expected counts are literal.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import ACTIVE, ADAE, ADLB, ADSL, PLACEBO
from dashboard import registry
from dashboard.filters import FilterSpec
from dashboard.load import load_extract

PHARMAVERSE = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "pharmaverseadam"
needs_pharmaverse = pytest.mark.skipif(not (PHARMAVERSE / "adsl.parquet").exists(),
                                       reason=f"pharmaverseadam not found at {PHARMAVERSE}")


def flow(con, role="unblinded") -> dict:
    frame = registry.compute("subject_flow", con, FilterSpec(), role)
    return {(r.stage, r.arm): r.n for r in frame.itertuples()}


def derivations(con, status="derived") -> list[tuple]:
    return [tuple(r) for r in con.execute(
        "SELECT domain, variable, rule, rows_affected, status FROM derivations WHERE status = $s "
        "ORDER BY domain, variable, rule", {"s": status}).fetchall()]


def messages(con, status="derived") -> list[str]:
    return [r[0] for r in con.execute("SELECT message FROM derivations WHERE status = $s ORDER BY domain, variable, rule",
                                      {"s": status}).fetchall()]


# -- RANDFL ------------------------------------------------------------------------------------

def test_resolve_randfl_absent_derived_from_ittfl(tmp_path, make_extract):
    con, _ = load_extract(make_extract(tmp_path), "unblinded")   # tiny ADSL: ITTFL, no RANDFL, no RANDDT
    assert flow(con)[("randomized", "Total")] == 4
    assert flow(con)[("screen_failure", "Total")] == 0
    assert derivations(con) == [("ADSL", "RANDFL", "randfl_from_ittfl", 4, "derived")]
    # the tiny ADSL has no death or disposition variables at all: those say so
    assert [d[1] for d in derivations(con, "not available")] == ["DTHFL", "EOSSTT"]
    assert messages(con) == ["Randomized (RANDFL): derived from ITTFL: ITTFL (the ITT set is the randomized "
                             "subjects) (ADSL has no RANDFL)."]


def test_resolve_randfl_empty_column_derived_from_randdt(tmp_path, make_extract):
    adsl = ADSL.assign(RANDFL="", RANDDT=["2023-01-01", "2023-01-02", "2023-01-03", ""])
    con, _ = load_extract(make_extract(tmp_path, adsl=adsl), "unblinded")
    got = flow(con)
    # 01-004 (placebo) has no RANDDT: not randomized, a screen failure in the flow
    assert (got[("randomized", PLACEBO)], got[("randomized", ACTIVE)], got[("randomized", "Total")]) == (1, 2, 3)
    assert got[("screen_failure", "Total")] == 1
    assert derivations(con) == [("ADSL", "RANDFL", "randfl_from_randdt", 4, "derived")]
    assert "(ADSL's RANDFL is empty)" in messages(con)[0]
    assert con.execute("SELECT USUBJID, RANDFL FROM adsl ORDER BY 1").fetchall() == [
        ("01-001", "Y"), ("01-002", "Y"), ("01-003", "Y"), ("01-004", "N")]


def test_resolve_randfl_from_randomized_arm(tmp_path, make_extract):
    adsl = ADSL.drop(columns=["ITTFL"]).copy()
    adsl.loc[3, ["TRT01P", "TRT01A", "TRTSDT", "TRTEDT", "SAFFL"]] = ["Screen Failure", "Screen Failure", "", "", "N"]
    con, _ = load_extract(make_extract(tmp_path, adsl=adsl), "blinded")
    got = flow(con, "blinded")
    assert (got[("randomized", "All subjects")], got[("screen_failure", "All subjects")]) == (3, 1)
    assert ("ADSL", "RANDFL", "randfl_from_arm", 4, "derived") in derivations(con)
    # derived from the arm, but the arm itself never reaches the blinded database
    assert "TRT01P" not in [r[0] for r in con.execute("DESCRIBE adsl").fetchall()]


def test_resolve_flags_not_available(tmp_path, make_extract):
    adsl = ADSL.drop(columns=["SAFFL", "ITTFL", "TRTSDT", "TRTEDT", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN"])
    con, _ = load_extract(make_extract(tmp_path, adsl=adsl), "blinded")
    assert derivations(con, "not available") == [
        ("ADSL", "DTHFL", "", 0, "not available"),
        ("ADSL", "EOSSTT", "", 0, "not available"),
        ("ADSL", "ITTFL", "", 0, "not available"),
        ("ADSL", "RANDFL", "", 0, "not available"),
        ("ADSL", "SAFFL", "", 0, "not available"),
    ]
    assert "Death (DTHFL): not available in this extract: needs DTHFL or DTHDT or ADAE.AEOUT, ADAE.AESDTH, " \
           "ADAE.AETOXGR (ADSL has no DTHFL)." in messages(con, "not available")


def test_resolve_dthfl_from_fatal_ae(tmp_path, make_extract):
    adae = ADAE.assign(AEOUT=["RECOVERED/RESOLVED", "FATAL", "NOT RECOVERED/NOT RESOLVED"])
    con, _ = load_extract(make_extract(tmp_path, adae=adae), "unblinded")
    assert ("ADSL", "DTHFL", "dthfl_from_fatal_ae", 1, "derived") in derivations(con)
    assert con.execute("SELECT USUBJID FROM adsl WHERE DTHFL = 'Y'").fetchall() == [("01-002",)]


def test_resolve_eosstt_from_disconfl(tmp_path, make_extract):
    adsl = ADSL.assign(DISCONFL=["Y", "", "", ""], EOSDT=["2023-02-01", "2023-03-10", "", ""])
    con, _ = load_extract(make_extract(tmp_path, adsl=adsl), "unblinded")
    assert con.execute("SELECT USUBJID, EOSSTT FROM adsl ORDER BY 1").fetchall() == [
        ("01-001", "DISCONTINUED"), ("01-002", "COMPLETED"), ("01-003", "ONGOING"), ("01-004", "ONGOING")]
    got = flow(con)
    assert (got[("completed", "Total")], got[("ongoing", "Total")], got[("discontinued", "Total")]) == (1, 2, 1)


# -- datetime-only variables -----------------------------------------------------------------------

def test_resolve_datetime_only_variables(tmp_path, make_extract):
    adsl = ADSL.rename(columns={"TRTSDT": "TRTSDTM", "TRTEDT": "TRTEDTM"})
    adsl["TRTSDTM"] = adsl["TRTSDTM"] + "T08:30:00"
    adsl["TRTEDTM"] = adsl["TRTEDTM"] + "T17:00:00"
    adae = ADAE.rename(columns={"ASTDT": "ASTDTM", "AENDT": "AENDTM"})
    adae["ASTDTM"] = adae["ASTDTM"] + "T10:00"
    adlb = ADLB.rename(columns={"ADT": "ADTM"})
    adlb["ADTM"] = adlb["ADTM"] + "T07:45:00"
    con, report = load_extract(make_extract(tmp_path, adsl=adsl, adae=adae, adlb=adlb), "unblinded")
    assert report.findings.empty
    assert derivations(con) == [
        ("ADAE", "AENDT", "date_part", 2, "derived"),   # row 3 has no end (ongoing)
        ("ADAE", "ASTDT", "date_part", 3, "derived"),
        ("ADLB", "ADT", "date_part", 12, "derived"),
        ("ADSL", "RANDFL", "randfl_from_ittfl", 4, "derived"),
        ("ADSL", "TRTEDT", "date_part", 4, "derived"),
        ("ADSL", "TRTSDT", "date_part", 4, "derived"),
    ]
    assert con.execute("SELECT USUBJID, TRTSDT, TRTEDT FROM adsl ORDER BY 1").fetchall()[0] == (
        "01-001", dt.date(2023, 1, 2), dt.date(2023, 3, 1))
    assert con.execute("SELECT typeof(ASTDT), min(ASTDT) FROM adae GROUP BY 1").fetchall() == [
        ("DATE", dt.date(2023, 1, 10))]
    # time on treatment: TRTEDT - TRTSDT + 1 = 59 days for every subject
    tos = registry.compute("time_on_study", con, FilterSpec(), "unblinded")
    row = tos[(tos["measure"] == "Days on treatment") & (tos["arm"] == "Total")].iloc[0]
    assert (row["n"], row["median"]) == (4, 59.0)
    # exposure-adjusted rates have person-time (not 0 PY): Nausea, all 4 subjects
    eair = registry.compute("ae_exposure_adjusted", con, FilterSpec(), "unblinded")
    nausea = eair[(eair["pt"] == "Nausea") & (eair["arm"] == "Total")].iloc[0]
    assert (nausea["n"], round(nausea["py"], 4)) == (1, 0.5092)
    # the AE timeline places each AE at its study day
    timeline = registry.compute("ae_timeline", con, FilterSpec(), "unblinded")
    assert timeline.sort_values(["usubjid", "start_day"])[["usubjid", "pt", "start_day"]].values.tolist() == [
        ["01-001", "Headache", 8.0], ["01-002", "Nausea", 8.0], ["01-002", "Rash", 29.0]]


def test_resolve_datetime_twin_fills_only_missing_dates(tmp_path, make_extract):
    adsl = ADSL.assign(TRTSDTM=["2023-01-02T08:00", "2023-01-03T08:00", "2023-01-09T08:00", "2023-01-05T08:00"])
    adsl.loc[2, "TRTSDT"] = ""   # only 01-003 lacks the date: it takes the date part of its datetime
    con, _ = load_extract(make_extract(tmp_path, adsl=adsl), "unblinded")
    assert con.execute("SELECT USUBJID, TRTSDT FROM adsl ORDER BY 1").fetchall() == [
        ("01-001", dt.date(2023, 1, 2)), ("01-002", dt.date(2023, 1, 3)), ("01-003", dt.date(2023, 1, 9)),
        ("01-004", dt.date(2023, 1, 5))]
    assert ("ADSL", "TRTSDT", "date_part", 1, "derived") in derivations(con)


# -- R-written CSV -------------------------------------------------------------------------------

def test_load_extract_r_style_na_is_missing(tmp_path, make_extract):
    adsl = ADSL.copy()
    adsl.loc[0, "AGE"] = "NA"       # number
    adsl.loc[1, "TRTEDT"] = "NA"    # date
    adsl.loc[2, "SEX"] = "NA"       # coded (value set)
    adsl.loc[3, "RACE"] = "NA"      # free text: stays "NA"
    adlb = ADLB.copy()
    adlb.loc[1, "AVAL"] = "NA"
    adae = ADAE.copy()
    adae.loc[0, "AENDT"] = "NA"
    adae.loc[1, "AESER"] = "NA"
    con, report = load_extract(make_extract(tmp_path, adsl=adsl, adae=adae, adlb=adlb), "unblinded")
    assert report.findings.empty
    assert report.rows_quarantined == 0
    assert con.execute("SELECT USUBJID, AGE, TRTEDT, SEX, RACE FROM adsl ORDER BY 1").fetchall() == [
        ("01-001", None, dt.date(2023, 3, 1), "F", "WHITE"),
        ("01-002", 67.0, None, "M", "ASIAN"),
        ("01-003", 45.0, dt.date(2023, 3, 3), None, "WHITE"),
        ("01-004", 71.0, dt.date(2023, 3, 4), "M", "NA"),
    ]
    assert con.execute("SELECT AVAL FROM adlb WHERE SRC_ROW = 2").fetchall() == [(None,)]
    assert con.execute("SELECT SRC_ROW, AENDT, AESER FROM adae ORDER BY 1").fetchall()[:2] == [
        (1, None, "N"), (2, dt.date(2023, 1, 15), None)]


# -- public extracts ---------------------------------------------------------------------------

@pytest.mark.needs_pilot
def test_pilot_randomized_and_disposition(pilot_unblinded):
    con, _ = pilot_unblinded
    cur = con.cursor()
    got = flow(cur)
    arms = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose", "Total")
    assert [got[("randomized", a)] for a in arms] == [86, 84, 84, 254]
    assert got[("screen_failure", "Total")] == 0
    assert [got[("completed", a)] for a in arms] == [58, 25, 27, 110]
    assert [got[("discontinued", a)] for a in arms] == [28, 59, 57, 144]
    disp = registry.compute("disposition", cur, FilterSpec(), "unblinded")
    total = disp[disp["arm"] == "Total"].set_index(["status", "reason"])["n"].to_dict()
    assert total == {
        ("Completed", ""): 110, ("Ongoing", ""): 0, ("Discontinued", ""): 144,
        ("Discontinued", "ADVERSE EVENT"): 92, ("Discontinued", "DEATH"): 3, ("Discontinued", "LACK OF EFFICACY"): 4,
        ("Discontinued", "LOST TO FOLLOW-UP"): 2, ("Discontinued", "PHYSICIAN DECISION"): 3,
        ("Discontinued", "PROTOCOL VIOLATION"): 6, ("Discontinued", "STUDY TERMINATED BY SPONSOR"): 7,
        ("Discontinued", "WITHDRAWAL BY SUBJECT"): 27,
    }
    rows = cur.execute("SELECT variable, rule, rows_affected FROM derivations WHERE domain = 'ADSL' "
                       "AND status = 'derived' ORDER BY 1, 2").fetchall()
    assert rows == [("DCSREAS", "alias", 254), ("EOSSTT", "eosstt_from_dcsreas", 254),
                    ("RANDFL", "randfl_from_ittfl", 254)]


@needs_pharmaverse
def test_pharmaverse_randomized_from_randdt():
    con, _ = load_extract(PHARMAVERSE, "blinded")
    got = flow(con, "blinded")
    assert (got[("screened", "All subjects")], got[("randomized", "All subjects")],
            got[("screen_failure", "All subjects")]) == (306, 254, 52)
    assert con.execute("SELECT rule, rows_affected FROM derivations WHERE variable = 'RANDFL'").fetchall() == [
        ("randfl_from_randdt", 306)]
