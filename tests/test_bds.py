"""The BDS record rules (dashboard.bds): study day, baseline, post-baseline, one value per visit / date,
unit spelling. Vectors from clinical_reference §7 ("study day = date − first-dose date + 1 on/after
dosing (no day 0)"; "baseline is the last non-missing value on or before the first dose, same-day
values count"; "within a window take the value closest to target (tie: the later)").
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_series_equal

from dashboard import bds, db
from dashboard.load import load_extract
from tests.conftest import ADLB

T = pd.Timestamp
FIRST_DOSE = T("2023-01-02")

# date, first dose, ADY, expected study day
STUDY_DAY_VECTORS = [
    # on and after the first dose: date - first dose + 1
    (T("2023-01-02"), FIRST_DOSE, None, 1.0),
    (T("2023-01-03"), FIRST_DOSE, None, 2.0),
    (T("2023-01-16"), FIRST_DOSE, None, 15.0),
    # before the first dose: date - first dose (no day 0)
    (T("2023-01-01"), FIRST_DOSE, None, -1.0),
    (T("2022-12-26"), FIRST_DOSE, None, -7.0),
    # the extract's ADY is used only when the date or first dose is missing
    (T("2023-01-16"), FIRST_DOSE, 99.0, 15.0),
    (pd.NaT, FIRST_DOSE, 5.0, 5.0),
    (T("2023-01-16"), pd.NaT, 8.0, 8.0),
    # nothing known
    (pd.NaT, FIRST_DOSE, None, np.nan),
    (T("2023-01-16"), pd.NaT, None, np.nan),
]


def test_study_day_vectors():
    dates = pd.Series([v[0] for v in STUDY_DAY_VECTORS], dtype="datetime64[ns]")
    first = pd.Series([v[1] for v in STUDY_DAY_VECTORS], dtype="datetime64[ns]")
    ady = pd.Series([v[2] for v in STUDY_DAY_VECTORS], dtype="float64")
    expected = pd.Series([v[3] for v in STUDY_DAY_VECTORS], dtype="float64")
    assert_series_equal(bds.study_day(dates, first, ady), expected)


def test_study_day_sql_vectors():
    con = duckdb.connect()
    rows = [(d, f) for d, f, ady, _ in STUDY_DAY_VECTORS if ady is None]
    frame = pd.DataFrame({"d": [r[0] for r in rows], "f": [r[1] for r in rows]})
    with db.frame_as(con, "v", frame) as cur:
        got = cur.execute(f"SELECT {bds.study_day_sql('CAST(d AS DATE)', 'CAST(f AS DATE)')} FROM v").fetchall()
    assert [g[0] for g in got] == [1, 2, 15, -1, -7, None, None]


def _records(rows: list[list]) -> pd.DataFrame:
    """usubjid, paramcd, aval, adt, trtsdt, ablfl, avisitn, src_file, src_row."""
    f = pd.DataFrame(rows, columns=["usubjid", "paramcd", "aval", "adt", "trtsdt", "ablfl", "avisitn", "src_row"])
    f["adt"] = pd.to_datetime(f["adt"])
    f["trtsdt"] = pd.to_datetime(f["trtsdt"])
    f["src_file"] = "adlb.csv"
    return f


def test_baseline_records_last_non_missing_on_or_before_first_dose():
    rec = _records([
        # subject A, no ABLFL anywhere: screening, then a same-day value (baseline), then post
        ["A", "CREAT", 80.0, "2022-12-20", "2023-01-02", None, -1.0, 1],
        ["A", "CREAT", 82.0, "2023-01-02", "2023-01-02", None, 0.0, 2],
        ["A", "CREAT", 90.0, "2023-01-16", "2023-01-02", None, 2.0, 3],
        # subject B: the last pre-dose record has no value, so the earlier one is the baseline
        ["B", "CREAT", 70.0, "2022-12-28", "2023-01-03", None, -1.0, 4],
        ["B", "CREAT", None, "2023-01-01", "2023-01-03", None, 0.0, 5],
        # subject C: two records on the same pre-dose day: the later visit wins, then the later row
        ["C", "CREAT", 60.0, "2023-01-04", "2023-01-04", None, 1.0, 6],
        ["C", "CREAT", 61.0, "2023-01-04", "2023-01-04", None, 0.0, 7],
        # subject D: never dosed (no TRTSDT): no baseline can be derived
        ["D", "CREAT", 75.0, "2023-01-05", None, None, 0.0, 8],
    ])
    index, methods = bds.baseline_records(rec)
    assert sorted(rec.loc[index, "src_row"]) == [2, 4, 6]
    assert methods == {"CREAT": bds.DERIVED_RULE}


def test_baseline_records_ablfl_wins_per_parameter():
    rec = _records([
        # CREAT has ABLFL: the flagged record is the baseline even though a later pre-dose value exists
        ["A", "CREAT", 80.0, "2022-12-20", "2023-01-02", "Y", -1.0, 1],
        ["A", "CREAT", 82.0, "2023-01-02", "2023-01-02", None, 0.0, 2],
        # B has no flagged CREAT record: no baseline (the rule is per parameter, not per subject)
        ["B", "CREAT", 70.0, "2022-12-28", "2023-01-03", None, 0.0, 3],
        # K has no ABLFL at all: derived
        ["A", "K", 4.1, "2023-01-02", "2023-01-02", None, 0.0, 4],
    ])
    index, methods = bds.baseline_records(rec)
    assert sorted(rec.loc[index, "src_row"]) == [1, 4]
    assert methods == {"CREAT": bds.ABLFL_RULE, "K": bds.DERIVED_RULE}


def test_record_timing_vectors():
    rec = _records([
        ["A", "CREAT", 82.0, "2023-01-02", "2023-01-02", None, 0.0, 1],   # the baseline record
        ["A", "CREAT", 80.0, "2022-12-20", "2023-01-02", None, -1.0, 2],  # screening: pre
        ["A", "CREAT", 81.0, "2023-01-02", "2023-01-02", None, None, 3],  # first-dose day, not baseline: pre
        ["A", "CREAT", 90.0, "2023-01-16", "2023-01-02", None, 2.0, 4],   # after dosing: post
        ["B", "CREAT", 70.0, "2023-01-10", "2023-01-03", "Y", 0.0, 5],    # flagged baseline after dosing
        ["B", "CREAT", 71.0, "2023-01-05", "2023-01-03", None, 1.0, 6],   # after dose, before baseline: pre
        ["B", "CREAT", 72.0, "2023-01-20", "2023-01-03", None, 2.0, 7],   # after both: post
        ["C", "CREAT", 60.0, "2023-01-20", None, "Y", 0.0, 8],            # no first dose: baseline by flag
        ["C", "CREAT", 61.0, "2023-02-20", None, None, 1.0, 9],           # after the baseline date: post
        ["D", "CREAT", 50.0, None, "2023-01-05", None, 1.0, 10],          # no date, ADY 8: post
        ["D", "CREAT", 51.0, None, "2023-01-05", None, 1.0, 11],          # no date, ADY 1: pre
        ["D", "CREAT", 52.0, None, "2023-01-05", None, 1.0, 12],          # no date, no ADY: pre
    ])
    is_base = rec["src_row"].isin([1, 5, 8])
    base_adt = rec["usubjid"].map({"A": T("2023-01-02"), "B": T("2023-01-10"), "C": T("2023-01-20")})
    day = pd.Series([np.nan] * 9 + [8.0, 1.0, np.nan])
    got = bds.record_timing(rec, is_base, base_adt, day)
    assert got.tolist() == ["baseline", "pre", "pre", "post", "baseline", "pre", "post", "baseline", "post",
                            "post", "pre", "pre"]


def test_one_per_visit_closest_to_target_tie_later():
    post = pd.DataFrame({
        "usubjid": ["A"] * 5, "param": ["CREAT"] * 5, "avisit": ["Week 2"] * 4 + ["Week 4"],
        "avisitn": [2.0] * 4 + [4.0],
        # Week 2 targets day 15: day 14 and 16 tie (the later, day 16, wins); day 20 is further;
        # a record without a study day cannot be the closest
        "study_day": [14.0, 16.0, 20.0, np.nan, 29.0],
        "adt": pd.to_datetime(["2023-01-15", "2023-01-17", "2023-01-21", None, "2023-01-30"]),
        "aval": [1.0, 2.0, 3.0, 4.0, 5.0], "src_row": [1, 2, 3, 4, 5]})
    got = bds.one_per_visit(post)
    assert got[["avisit", "aval"]].values.tolist() == [["Week 2", 2.0], ["Week 4", 5.0]]


def test_one_per_date_scheduled_before_unscheduled():
    post = pd.DataFrame({
        "usubjid": ["A"] * 3, "param": ["CREAT"] * 3, "avisit": ["UNSCHEDULED", "Week 2", "Week 2"],
        "avisitn": [np.nan, 2.0, 2.0], "adt": pd.to_datetime(["2023-01-16"] * 3),
        "aval": [1.0, 2.0, 3.0], "src_row": [1, 2, 3]})
    assert bds.one_per_date(post)["aval"].tolist() == [3.0]


@pytest.mark.parametrize("spelling,canonical", [
    ("µmol/L", "umol/L"), ("mcmol/l", "umol/L"), ("MEQ/L", "mEq/L"), ("K/uL", "10^3/uL"),
    ("ml/min/1.73 m2", "mL/min/1.73m2"), ("mL/min/1.73m^2", "mL/min/1.73m2"), ("g/24h", "g/24h"),
    (" x10^9/l ", "10^9/L"), ("", None), (None, None), ("furlongs", "furlongs"),
])
def test_normalize_unit_is_one_rule(spelling, canonical):
    from data_contracts.adlb import normalize_unit as contract_rule
    from dashboard.units import normalize_unit as units_rule

    assert contract_rule is units_rule is bds.normalize_unit
    assert bds.normalize_unit(spelling) == canonical


def test_load_same_unit_in_two_spellings_is_not_multiple_units(tmp_path, make_extract):
    # Potassium as "mmol/L" for 01-001 and "MMOL/L" / "mEq/L" spelled "meq/l" for 01-002 would be two
    # units; the same unit in two spellings is one (before the single rule, "MEQ/L" and "meq/l" were two).
    adlb = ADLB.copy()
    adlb.loc[adlb["PARAMCD"] == "K", "AVALU"] = ["MEQ/L", "mEq/L", "meq/l", "mEq/L"]
    con, report = load_extract(make_extract(tmp_path, adlb=adlb), "blinded")
    found = db.run(con, "SELECT count(*) AS n FROM findings WHERE \"check\" = 'multiple_units'")["n"].iloc[0]
    units = db.run(con, "SELECT DISTINCT AVALU FROM adlb WHERE PARAMCD = 'K'")["AVALU"].tolist()
    assert (found, units) == (0, ["mEq/L"])
