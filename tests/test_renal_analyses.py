"""Renal function (issue 6): by-visit summaries, GMRs, slopes, kidney endpoints, KDIGO shifts.

The tiny extract is in tests/fixtures_renal.py (safety population Placebo N=3, Drug X N=4; 5 subjects
with a baseline and a post-baseline value). Every expected number below is worked out by hand
from its rows (the comments give the arithmetic); the §3 slope and §4 GMR values are the
clinical_reference vectors. Also run: the synthetic 38-subject trial and the CDISC pilot.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard import registry
from dashboard.analyses import renal
from dashboard.charts import renal as charts
from dashboard.filters import FilterSpec
from dashboard.generate import generate_extract
from dashboard.load import load_extract
from tests.fixtures_renal import DRUG, PLACEBO, write_extract, without_ablfl, without_egfr_and_uacr

SPEC = FilterSpec()
POOLED = "All subjects"
RENAL_TABLES = ["renal_parameters", "renal_summary_by_visit", "egfr_slope", "egfr_slope_summary",
                "egfr_slope_difference", "kidney_events", "kidney_events_by_subject", "kdigo_shift",
                "kdigo_risk_shift", "kdigo_grid", "renal_change_to_last", "renal_values_by_subject"]


# -- fixtures -------------------------------------------------------------------------------------

def _load(folder: Path, role: str):
    con, _ = load_extract(folder, role)
    return con


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return write_extract(tmp_path_factory.mktemp("renal") / "tiny")


@pytest.fixture(scope="module")
def tiny(tiny_folder):
    con = _load(tiny_folder, "unblinded")
    yield con
    con.close()


@pytest.fixture(scope="module")
def tiny_blinded(tiny_folder):
    con = _load(tiny_folder, "blinded")
    yield con
    con.close()


@pytest.fixture(scope="module")
def creatinine_only(tmp_path_factory):
    con = _load(write_extract(tmp_path_factory.mktemp("renal") / "creat", adlb=without_egfr_and_uacr()), "unblinded")
    yield con
    con.close()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("renal") / "synthetic"
    generate_extract(folder, seed=20240601)
    cons = {role: _load(folder, role) for role in ("unblinded", "blinded")}
    yield cons
    for con in cons.values():
        con.close()


def _compute(name: str, con, role: str = "unblinded", spec: FilterSpec = SPEC) -> pd.DataFrame:
    return registry.compute(name, con, spec, role)


def _rows(frame: pd.DataFrame, columns: list[str], **where) -> pd.DataFrame:
    for col, value in where.items():
        frame = frame[frame[col] == value]
    return frame[columns].reset_index(drop=True)


# -- data sources and baseline ----------------------------------------------------------------------

def test_renal_parameters_supplied_egfr_and_ablfl_baseline(tiny):
    out = _compute("renal_parameters", tiny)
    expected = pd.DataFrame({
        "param": ["EGFR", "CREAT", "UACR", "UPROT24"],
        "unit": ["mL/min/1.73m2", "umol/L", "mg/g", ""],
        "status": ["present", "present", "present", "not in this extract"],
        "source": ["supplied by the extract"] * 3 + [""],
        "baseline_method": [renal.ABLFL_METHOD] * 3 + [""],
        # EGFR: 5 + 5 + 3 + 3 + 3 + 1 records of R-001..R-006 (R-007 none, R-008 not in SAFFL)
        "n_subjects": [6, 6, 5, 0], "n_records": [20, 19, 10, 0],
        # R-003's Week 4 visit (study day 10) is outside [15, 57): its EGFR and CREAT values
        "n_out_of_window": [1, 1, 0, 0]})
    assert_frame_equal(out[expected.columns.tolist()], expected)


def test_renal_parameters_status_is_the_extracts_not_the_filters(tiny):
    # no Drug X woman aged >= 65: nothing selected, yet the parameters are in the extract
    nobody = FilterSpec(sexes=("F",), age_groups=(">=65",), arms=(DRUG,))
    out = _compute("renal_parameters", tiny, spec=nobody)
    assert out["status"].tolist() == ["present", "present", "present", "not in this extract"]
    assert out["n_subjects"].tolist() == [0, 0, 0, 0]
    with pytest.raises(registry.NotInExtract, match="no eGFR values in the current selection"):
        _compute("egfr_slope", tiny, spec=nobody)


def test_renal_parameters_derived_egfr_and_absent_uacr(creatinine_only):
    out = _compute("renal_parameters", creatinine_only).set_index("param")
    assert out.loc["EGFR", "source"].startswith("derived by the dashboard from serum creatinine (CKD-EPI 2021")
    assert out.loc["CREAT", "source"] == "supplied by the extract"
    assert out.loc["UACR", "status"] == "not in this extract"
    assert out.loc["UPROT24", "status"] == "not in this extract"
    notes = renal.source_notes(out.reset_index())
    assert "- **Urine albumin/creatinine ratio (UACR)**: not in this extract." in notes


def test_renal_records_derived_baseline_without_ablfl(tmp_path):
    con = _load(write_extract(tmp_path / "noablfl", adlb=without_ablfl()), "unblinded")
    rec, _, methods = renal.renal_records(con, SPEC)
    assert methods == {"EGFR": renal.DERIVED_METHOD, "CREAT": renal.DERIVED_METHOD, "UACR": renal.DERIVED_METHOD}
    r001 = _rows(rec, ["adt", "aval", "phase", "base"], usubjid="R-001", param="EGFR")
    expected = pd.DataFrame({
        # screening (day -14) is before the last pre-dose value, so it is not the baseline
        "adt": pd.to_datetime(["2022-12-27", "2023-01-10", "2023-02-07", "2023-04-04", "2023-07-11", "2024-01-09"]),
        "aval": [52.0, 48.0, 44.5, 45.2, 43.1, 41.0],
        "phase": ["pre-treatment", "baseline"] + ["post-baseline"] * 4,
        "base": [48.0] * 6})
    assert_frame_equal(r001, expected, check_dtype=False)
    con.close()


# -- the SQL renal records (dashboard.analyses.renal.records), literal inputs and outputs -----------

_RENAL_KEYS = ["usubjid", "param", "avisit", "study_day", "aval", "is_baseline", "phase", "base", "chg", "pchg",
               "out_of_window"]


def _renal_rows(rec, usubjids):
    out = rec[rec["usubjid"].isin(usubjids)][_RENAL_KEYS].reset_index(drop=True)
    return out.assign(avisit=out["avisit"].astype(object).where(out["avisit"].notna(), None))


def test_renal_records_sql_literal(tmp_path):
    from tests.fixtures_renal import ADLB, lab

    adlb = pd.concat([ADLB, pd.DataFrame([
        lab("R-006", "EGFR", "Week 4", 26, 58.0), lab("R-006", "EGFR", "Week 4", 30, 57.0),  # two at one visit
        lab("R-007", "EGFR", "Week 4", 28, 55.0),                                             # no baseline
    ], columns=ADLB.columns)], ignore_index=True)
    con = _load(write_extract(tmp_path / "x", adlb=adlb), "unblinded")
    rec, dropped, methods = renal.renal_records(con, SPEC)
    assert methods == {"EGFR": renal.ABLFL_METHOD, "CREAT": renal.ABLFL_METHOD, "UACR": renal.ABLFL_METHOD}
    assert dropped.empty
    got = _renal_rows(rec[rec["param"].isin(["EGFR", "CREAT"])], ["R-003", "R-005", "R-006", "R-007"])
    pb, po = "baseline", "post-baseline"
    expected = pd.DataFrame(columns=_RENAL_KEYS, data=[
        # CREAT first (PARAMCD order); Week 4 drawn on day 9 is flagged out of window by the loader, kept
        ["R-003", "CREAT", "Baseline", 1.0, 88.42, True, pb, 88.42, np.nan, np.nan, False],
        ["R-003", "CREAT", "Week 4", 10.0, 176.84, False, po, 88.42, 88.42, 100.0, True],
        ["R-003", "CREAT", "Week 12", 85.0, 100.0, False, po, 88.42, 100 - 88.42, 100 * (100 - 88.42) / 88.42, False],
        ["R-003", "EGFR", "Baseline", 1.0, 70.0, True, pb, 70.0, np.nan, np.nan, False],
        ["R-003", "EGFR", "Week 4", 10.0, 68.0, False, po, 70.0, -2.0, 100 * -2 / 70, True],
        ["R-003", "EGFR", "Week 12", 85.0, 72.0, False, po, 70.0, 2.0, 100 * 2 / 70, False],
        # an unscheduled record (no AVISITN) the day after Week 4
        ["R-005", "CREAT", "Baseline", 1.0, 88.42, True, pb, 88.42, np.nan, np.nan, False],
        ["R-005", "CREAT", "Week 4", 29.0, 88.42, False, po, 88.42, 0.0, 0.0, False],
        ["R-005", "CREAT", "Unscheduled", 30.0, 114.946, False, po, 88.42, 114.946 - 88.42,
         100 * (114.946 - 88.42) / 88.42, False],
        ["R-005", "CREAT", "Week 12", 85.0, 90.0, False, po, 88.42, 90 - 88.42, 100 * (90 - 88.42) / 88.42, False],
        ["R-005", "EGFR", "Baseline", 1.0, 90.0, True, pb, 90.0, np.nan, np.nan, False],
        ["R-005", "EGFR", "Week 4", 29.0, 91.0, False, po, 90.0, 1.0, 100 / 90, False],
        ["R-005", "EGFR", "Week 12", 85.0, 95.0, False, po, 90.0, 5.0, 500 / 90, False],
        # baseline, then two records in one visit window: both are records
        ["R-006", "CREAT", "Baseline", 1.0, 90.0, True, pb, 90.0, np.nan, np.nan, False],
        ["R-006", "EGFR", "Baseline", 1.0, 60.0, True, pb, 60.0, np.nan, np.nan, False],
        ["R-006", "EGFR", "Week 4", 27.0, 58.0, False, po, 60.0, -2.0, 100 * -2 / 60, False],
        ["R-006", "EGFR", "Week 4", 31.0, 57.0, False, po, 60.0, -3.0, 100 * -3 / 60, False],
        # missing baseline (the parameter's baselines are ABLFL-flagged): post-baseline, no change
        ["R-007", "EGFR", "Week 4", 29.0, 55.0, False, po, np.nan, np.nan, np.nan, False],
    ])
    assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=1e-12)
    # the by-visit summary keeps one of R-006's two Week 4 values: the one closest to the target day 29
    summary = registry.compute("renal_summary_by_visit", con, SPEC, "unblinded")
    w4 = summary[(summary["param"] == "EGFR") & (summary["visit"] == "Week 4") & (summary["arm"] == PLACEBO)]
    assert w4[["n", "n_chg"]].values.tolist() == [[3, 3]]  # all with a baseline (R-007 is Drug X)
    assert w4["mean"].iloc[0] == pytest.approx((44.5 + 12.0 + 57.0) / 3)
    con.close()


def test_renal_records_sql_zero_subject_filter(tiny):
    rec, dropped, methods = renal.renal_records(tiny, FilterSpec(data_cut=dt.date(1900, 1, 1)))
    assert rec.empty and list(rec.columns) == renal.RECORD_COLUMNS and methods == {}
    with pytest.raises(registry.NotInExtract):
        registry.compute("kidney_events", tiny, FilterSpec(data_cut=dt.date(1900, 1, 1)), "unblinded")


def test_renal_records_sql_built_once_per_filter(tiny_folder):
    from dashboard import records as stored

    con = _load(tiny_folder, "unblinded")

    def tables(kind):
        return sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = $s",
                                                {"s": stored.SCHEMA}).fetchall() if r[0].startswith(kind + "_"))

    for name in ("renal_summary_by_visit", "kidney_events", "kidney_events_by_subject", "kdigo_shift", "egfr_slope"):
        registry.compute(name, con, SPEC, "unblinded")
    assert (len(tables("renal_records")), len(tables("kidney_events"))) == (1, 1)
    gap14 = registry.compute("kidney_events_by_subject", con, SPEC.with_options(renal_confirm_gap_days=14), "unblinded")
    # the confirmation gap is not a record rule; it is an event rule
    assert (len(tables("renal_records")), len(tables("kidney_events"))) == (1, 2)
    assert_frame_equal(gap14, registry.compute("kidney_events_by_subject", con,
                                               SPEC.with_options(renal_confirm_gap_days=14), "unblinded"))
    females = registry.compute("renal_values_by_subject", con, FilterSpec(sexes=("F",)), "unblinded")
    assert set(females["usubjid"]) == {"R-001", "R-003", "R-006"}
    assert len(tables("renal_records")) == 2
    con.close()


# -- by-visit summary -----------------------------------------------------------------------------

def test_renal_summary_by_visit_egfr_by_arm(tiny):
    out = _compute("renal_summary_by_visit", tiny)
    cols = ["visit", "arm", "N", "n", "mean", "sd", "median", "q1", "q3", "n_chg", "chg_mean", "chg_sd", "chg_lower",
            "chg_upper", "n_out_of_window"]
    got = _rows(out, cols, param="EGFR")
    got = got[got["visit"].isin(["Baseline", "Week 4"])].reset_index(drop=True)
    na = pd.NA
    expected = pd.DataFrame(columns=cols, data=[
        # Baseline: Placebo 48, 40, 60; Drug X 50, 70, 90; no change at the baseline visit
        ["Baseline", PLACEBO, 3, 3, 49.333333, 10.066446, 48.0, 44.0, 54.0, na, np.nan, np.nan, np.nan, np.nan, 0],
        ["Baseline", DRUG, 4, 3, 70.0, 20.0, 70.0, 60.0, 80.0, na, np.nan, np.nan, np.nan, np.nan, 0],
        # Total: 40 48 50 60 70 90 -> median 55, Q1 48 + 0.25*2 = 48.5, Q3 60 + 0.75*10 = 67.5
        ["Baseline", "Total", 7, 6, 59.666667, 18.129166, 55.0, 48.5, 67.5, na, np.nan, np.nan, np.nan, np.nan, 0],
        # Week 4 Placebo: 44.5, 12; change -3.5, -28: mean -15.75, SD 17.324116, t(.975,1) = 12.7062
        ["Week 4", PLACEBO, 3, 2, 28.25, 22.980970, 28.25, 20.125, 36.375, 2, -15.75, 17.324116, -171.401008,
         139.901008, 0],
        # Week 4 Drug X: 47, 68 (out of window, kept), 91; change -3, -2, +1: SD 2.081666, t(.975,2) = 4.302653
        ["Week 4", DRUG, 4, 3, 68.666667, 22.007574, 68.0, 57.5, 79.5, 3, -1.333333, 2.081666, -6.504457, 3.837790,
         1],
        ["Week 4", "Total", 7, 5, 52.5, 29.398129, 47.0, 44.5, 68.0, 5, -7.1, 11.813128, -21.767936, 7.567936, 1],
    ])
    expected["n_chg"] = expected["n_chg"].astype("Int64")
    assert_frame_equal(got, expected, check_dtype=False, atol=1e-5)


def test_renal_summary_by_visit_uacr_gmr_vector(tiny_blinded):
    # clinical_reference §4: baseline 420 880 150 1250 60, week 12 300 910 95 700 66 ->
    # GM 334.02 -> 260.44, GMR 0.7797 (0.5376-1.1308)
    out = _compute("renal_summary_by_visit", tiny_blinded, "blinded")
    uacr = out[out["param"] == "UACR"].set_index("visit")
    assert set(out["arm"]) == {POOLED}
    assert uacr.loc["Baseline", "gmean"] == pytest.approx(334.02, abs=0.005)
    assert pd.isna(uacr.loc["Baseline", "gmr"])
    wk12 = uacr.loc["Week 12"]
    assert wk12["n_chg"] == 5
    assert wk12["gmean"] == pytest.approx(260.44, abs=0.005)
    assert (wk12["gmr"], wk12["gmr_lower"], wk12["gmr_upper"]) == pytest.approx((0.7797, 0.5376, 1.1308), abs=5e-5)
    # geometric mean CI = exp(mean ln x +/- t(.975,4) s/sqrt(5)) of the week-12 values
    assert (wk12["gmean_lower"], wk12["gmean_upper"]) == pytest.approx((61.0164, 1111.642), abs=5e-4)
    # log-scale parameters carry no arithmetic change
    assert uacr["chg_mean"].isna().all()


def test_renal_summary_by_visit_unscheduled_value_not_in_visits(tiny):
    out = _compute("renal_summary_by_visit", tiny)
    # R-005's unscheduled creatinine (114.946, day 29) is not a visit; Week 4 Drug X = 82, 176.84, 88.42
    row = out[(out["param"] == "CREAT") & (out["visit"] == "Week 4") & (out["arm"] == DRUG)].iloc[0]
    assert row["n"] == 3
    assert row["mean"] == pytest.approx((82 + 176.84 + 88.42) / 3)
    assert set(out.loc[out["param"] == "CREAT", "visit"]) == {"Baseline", "Week 4", "Week 12", "Week 16", "Week 26"}
    assert out.loc[out["param"] == "CREAT", "unit"].unique().tolist() == ["umol/L"]


def test_renal_summary_by_visit_data_cut(tiny):
    out = _compute("renal_summary_by_visit", tiny, spec=FilterSpec(data_cut=dt.date(2023, 3, 1)))
    assert set(out["visit"]) == {"Baseline", "Week 4"}


# -- eGFR slope -------------------------------------------------------------------------------------

def test_egfr_slope_per_subject(tiny):
    out = _compute("egfr_slope", tiny)
    expected = pd.DataFrame({
        "usubjid": ["R-001", "R-004", "R-002", "R-003", "R-005"],
        "arm": [PLACEBO, PLACEBO, DRUG, DRUG, DRUG],
        "n_values": [5, 3, 5, 3, 3],
        # R-001 is the clinical_reference §3 vector (total slope -5.794); the others are OLS by hand
        # on (days/365.25, eGFR), e.g. R-004: (0, 40), (28, 12), (84, 38) -> 16.771684
        "slope_per_year": [-5.793564, 16.771684, -37.291746, 12.879055, 22.362245]})
    assert_frame_equal(out[expected.columns.tolist()], expected, check_dtype=False, atol=1e-6)
    assert out.loc[0, "slope_per_year"] == pytest.approx(-5.794, abs=5e-4)
    assert list(out.columns[:2]) == ["usubjid", "arm"] and "n_values" in out and "slope_per_year" in out


def test_egfr_slope_chronic_from_day_28(tiny):
    out = _compute("egfr_slope", tiny, spec=SPEC.with_options(egfr_slope_start_day=28))
    r001 = out[out["usubjid"] == "R-001"].iloc[0]
    # §3 vector: chronic slope from day 28 = -4.363
    assert r001["n_values"] == 4
    assert r001["slope_per_year"] == pytest.approx(-4.363, abs=5e-4)


def test_egfr_slope_summary_and_welch_difference(tiny):
    summary = _compute("egfr_slope_summary", tiny)
    expected = pd.DataFrame({
        "arm": [PLACEBO, DRUG, "Total"], "N": [3, 4, 7], "n": [2, 3, 5],
        "mean": [5.489060, -0.683482, 1.785535], "sd": [15.956040, 32.056302, 24.266893],
        "lower": [-137.870268, -80.315750, -28.345793], "upper": [148.848387, 78.948786, 31.916863]})
    assert_frame_equal(summary[expected.columns.tolist()], expected, check_dtype=False, atol=1e-5)
    diff = _compute("egfr_slope_difference", tiny)
    # Drug X - Placebo = -0.683482 - 5.489060; se = sqrt(32.056302^2/3 + 15.956040^2/2) = 21.675634,
    # Welch df = se^4 / ((s1^2/n1)^2/(n1-1) + (s2^2/n2)^2/(n2-1)) = 2.948354
    assert diff[["arm", "reference", "n", "n_reference"]].values.tolist() == [[DRUG, PLACEBO, 3, 2]]
    got = diff.iloc[0]
    assert (got["difference"], got["lower"], got["upper"], got["se"], got["df"]) == pytest.approx(
        (-6.172542, -75.842733, 63.497649, 21.675634, 2.948354), abs=1e-5)


def test_egfr_slope_difference_absent_in_blinded_role(tiny_blinded):
    with pytest.raises(PermissionError):
        registry.compute("egfr_slope_difference", tiny_blinded, SPEC, "blinded")
    assert "egfr_slope_difference" not in [t.name for t in registry.tables_for("renal", "blinded")]
    summary = _compute("egfr_slope_summary", tiny_blinded, "blinded")
    assert summary["arm"].tolist() == [POOLED] and summary["n"].tolist() == [5]


# -- kidney endpoints -------------------------------------------------------------------------------

# event: (Placebo n, Drug X n, Total n); N = Placebo 2, Drug X 3, Total 5 (baseline + follow-up)
EXPECTED_EVENTS = {
    "egfr_decline_30": (1, 1, 2),            # R-004 (12 vs 40), R-002 (29 vs 50)
    "egfr_decline_40": (1, 1, 2),
    "egfr_decline_57": (1, 0, 1),            # R-004 only (12 <= 0.43 x 40 = 17.2)
    "egfr_decline_30_confirmed": (0, 1, 1),  # day 84 = 29, day 112 = 31 <= 35 (28 days later)
    "egfr_decline_40_confirmed": (0, 0, 0),  # 31 > 30: not confirmed; R-004 recovers to 38
    "creatinine_doubling": (0, 1, 1),        # 88.42 -> 176.84 umol/L, exactly 2x
    "aki_stage_1": (0, 3, 3),                # R-002 x1.875, R-003 x2.0, R-005 +0.3 mg/dL in 24 h
    "aki_stage_2": (0, 1, 1),
    "aki_stage_3": (0, 0, 0),                # R-004 reaches 4.0 mg/dL without AKI: not stage 3
    "egfr_below_15": (1, 0, 1),
}


def test_kidney_events_counts_by_arm(tiny):
    out = _compute("kidney_events", tiny)
    rows = []
    for event, counts in EXPECTED_EVENTS.items():
        for arm, n, N in zip([PLACEBO, DRUG, "Total"], counts, [2, 3, 5]):
            rows.append([event, arm, n, N, 100.0 * n / N])
    expected = pd.DataFrame(rows, columns=["event", "arm", "n", "N", "pct"])
    assert_frame_equal(out[["event", "arm", "n", "N", "pct"]], expected, check_dtype=False)
    # population N from ADSL, not from the lab table
    assert out.groupby("arm")["N_population"].first().to_dict() == {PLACEBO: 3, DRUG: 4, "Total": 7}
    # median study day of first occurrence: R-004 day 29 and R-002 day 85 -> 57
    first = out[(out["event"] == "egfr_decline_30")].set_index("arm")["median_study_day"]
    assert first.to_dict() == {PLACEBO: 29.0, DRUG: 85.0, "Total": 57.0}
    # AKI stage >=1 in Drug X: days 85, 10, 30 -> 30
    assert out[(out["event"] == "aki_stage_1") & (out["arm"] == DRUG)]["median_study_day"].iloc[0] == 30.0


def test_kidney_events_blinded_pooled(tiny_blinded):
    out = _compute("kidney_events", tiny_blinded, "blinded")
    assert set(out["arm"]) == {POOLED}
    assert out["event"].tolist() == list(EXPECTED_EVENTS)
    assert out["n"].tolist() == [c[2] for c in EXPECTED_EVENTS.values()]
    assert out["N"].unique().tolist() == [5]


def test_kidney_events_by_subject_listing(tiny):
    out = _compute("kidney_events_by_subject", tiny)
    got = out[["usubjid", "event", "first_date", "study_day", "confirm_date", "out_of_window"]]
    d = dt.date
    expected = pd.DataFrame(columns=got.columns, data=[
        ["R-002", "egfr_decline_30", d(2023, 4, 4), 85.0, None, False],
        ["R-002", "egfr_decline_40", d(2023, 4, 4), 85.0, None, False],
        ["R-002", "egfr_decline_30_confirmed", d(2023, 4, 4), 85.0, d(2023, 5, 2), False],
        ["R-002", "aki_stage_1", d(2023, 4, 4), 85.0, None, False],
        # R-003's Week 4 value is from a visit flagged out of window: kept and marked
        ["R-003", "creatinine_doubling", d(2023, 1, 19), 10.0, None, True],
        ["R-003", "aki_stage_1", d(2023, 1, 19), 10.0, None, True],
        ["R-003", "aki_stage_2", d(2023, 1, 19), 10.0, None, True],
        ["R-004", "egfr_decline_30", d(2023, 2, 7), 29.0, None, False],
        ["R-004", "egfr_decline_40", d(2023, 2, 7), 29.0, None, False],
        ["R-004", "egfr_decline_57", d(2023, 2, 7), 29.0, None, False],
        ["R-004", "egfr_below_15", d(2023, 2, 7), 29.0, None, False],
        ["R-005", "aki_stage_1", d(2023, 2, 8), 30.0, None, False],
    ])
    assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    # every count of kidney_events is the number of listed subjects
    counts = _compute("kidney_events", tiny)
    total = counts[counts["arm"] == "Total"].set_index("event")["n"]
    assert (out.groupby("event")["usubjid"].nunique().reindex(total.index, fill_value=0) == total).all()


def test_kidney_events_data_cut_and_confirmation_gap(tiny):
    cut = _compute("kidney_events", tiny, spec=FilterSpec(data_cut=dt.date(2023, 3, 1)))
    total = cut[cut["arm"] == "Total"].set_index("event")
    # up to 2023-03-01 only Week 4 and R-005's unscheduled value remain: R-002 has no decline yet
    assert total.loc["egfr_decline_30", ["n", "N"]].tolist() == [1, 5]
    assert total.loc["aki_stage_1", "n"] == 2  # R-003 (day 10), R-005 (day 30)
    # with a 29-day gap R-002's day-112 value (28 days later) cannot confirm, but day 182 (34 <= 35,
    # 98 days later, nothing failing in between) does; with a 99-day gap nothing confirms
    listing = _compute("kidney_events_by_subject", tiny, spec=SPEC.with_options(renal_confirm_gap_days=29))
    confirmed = listing[listing["event"] == "egfr_decline_30_confirmed"]
    assert confirmed[["usubjid", "first_date", "confirm_date"]].values.tolist() == [
        ["R-002", dt.date(2023, 4, 4), dt.date(2023, 7, 11)]]
    gap = _compute("kidney_events", tiny, spec=SPEC.with_options(renal_confirm_gap_days=99))
    assert gap[(gap["event"] == "egfr_decline_30_confirmed") & (gap["arm"] == "Total")]["n"].iloc[0] == 0


def test_kidney_events_arm_filter(tiny):
    out = _compute("kidney_events", tiny, spec=FilterSpec(arms=(DRUG,)))
    assert set(out["arm"]) == {DRUG}
    assert out.set_index("event").loc["aki_stage_1", "n"] == 3


# -- KDIGO ----------------------------------------------------------------------------------------

def test_kdigo_shift_g_and_a(tiny_blinded):
    out = _compute("kdigo_shift", tiny_blinded, "blinded")
    assert list(out.columns) == ["axis", "comparison", "arm", "baseline", "post_baseline", "n", "N", "pct"]
    assert len(out) == 2 * 36 + 2 * 9  # every G x G and A x A cell, zeros included
    got = out[out["n"] > 0][["axis", "comparison", "baseline", "post_baseline", "n"]].reset_index(drop=True)
    expected = pd.DataFrame(columns=got.columns, data=[
        # baseline eGFR 90 G1, 70 G2, 48 and 50 G3a, 40 G3b
        ["G", "last", "G1", "G1", 1], ["G", "last", "G2", "G2", 1],
        ["G", "last", "G3a", "G3b", 2],          # R-001 last 41.0, R-002 last 34
        ["G", "last", "G3b", "G3b", 1],          # R-004 last 38
        ["G", "worst", "G1", "G1", 1], ["G", "worst", "G2", "G2", 1],
        ["G", "worst", "G3a", "G3b", 1],         # R-001 lowest 41.0
        ["G", "worst", "G3a", "G4", 1],          # R-002 lowest 29
        ["G", "worst", "G3b", "G5", 1],          # R-004 lowest 12
        # UACR: 420 -> 300 (300 is A2), 880 -> 910, 1250 -> 700 (A3), 150 -> 95 and 60 -> 66 (A2)
        ["A", "last", "A2", "A2", 2], ["A", "last", "A3", "A2", 1], ["A", "last", "A3", "A3", 2],
        ["A", "worst", "A2", "A2", 2], ["A", "worst", "A3", "A2", 1], ["A", "worst", "A3", "A3", 2],
    ])
    assert_frame_equal(got, expected, check_dtype=False)
    assert out["N"].unique().tolist() == [5]


def test_kdigo_risk_shift_and_grid(tiny_blinded):
    risk = _compute("kdigo_risk_shift", tiny_blinded, "blinded")
    got = risk[risk["n"] > 0][["comparison", "baseline", "post_baseline", "n"]].reset_index(drop=True)
    expected = pd.DataFrame(columns=got.columns, data=[
        # R-003 G2/A2, R-005 G1/A2: moderately increased at baseline and week 12
        ["last", "moderately increased", "moderately increased", 2],
        ["last", "very high", "high", 1],        # R-001 G3a/A3 -> week 12 G3a (45.2)/A2 (300)
        ["last", "very high", "very high", 2],   # R-002 -> G4/A3, R-004 -> G3b/A3
        ["worst", "moderately increased", "moderately increased", 2],
        ["worst", "very high", "high", 1], ["worst", "very high", "very high", 2],
    ])
    assert_frame_equal(got, expected, check_dtype=False)
    grid = _compute("kdigo_grid", tiny_blinded, "blinded")
    assert len(grid) == 2 * 18
    cells = grid[grid["n"] > 0][["timepoint", "g", "a", "risk", "n"]].reset_index(drop=True)
    expected = pd.DataFrame(columns=cells.columns, data=[
        ["Baseline", "G1", "A2", "moderately increased", 1], ["Baseline", "G2", "A2", "moderately increased", 1],
        ["Baseline", "G3a", "A3", "very high", 2], ["Baseline", "G3b", "A3", "very high", 1],
        ["Last on study", "G1", "A2", "moderately increased", 1],
        ["Last on study", "G2", "A2", "moderately increased", 1],
        ["Last on study", "G3a", "A2", "high", 1], ["Last on study", "G3b", "A3", "very high", 1],
        ["Last on study", "G4", "A3", "very high", 1],
    ])
    assert_frame_equal(cells, expected, check_dtype=False)


def test_kdigo_tables_without_uacr(creatinine_only):
    shift = _compute("kdigo_shift", creatinine_only)
    assert set(shift["axis"]) == {"G"}
    for name in ("kdigo_risk_shift", "kdigo_grid"):
        with pytest.raises(registry.NotInExtract, match="UACR is not in this extract"):
            _compute(name, creatinine_only)
    summary = _compute("renal_summary_by_visit", creatinine_only)
    assert set(summary["param"]) == {"EGFR", "CREAT"}
    # the UACR chart says so instead of failing
    chart = charts.mean_over_visits(summary, "UACR").to_dict()
    assert "not in this extract" in str(chart)


def test_mean_over_visits_visits_at_planned_day_and_n_row_aligned(tiny):
    summary = _compute("renal_summary_by_visit", tiny)
    # an End of Treatment row has no planned day: left out of the axis, named in the subtitle
    eot = summary[summary["visit"] == "Week 12"].assign(visit="End of Treatment", visitn=99.0)
    spec = charts.mean_over_visits(pd.concat([summary, eot], ignore_index=True), "EGFR").to_dict()
    layers = spec["layer"]
    x = [layer["encoding"]["x"] for layer in layers if layer.get("encoding", {}).get("x", {}).get("field") == "visit_x"]
    # Baseline day 1, Week 4 day 29, Week 12 day 85, Week 16 day 113, Week 26 day 183, Week 52 day 365
    assert x[0]["type"] == "quantitative" and x[0]["axis"]["values"] == [1.0, 29.0, 85.0, 113.0, 183.0, 365.0]
    assert "End of Treatment" in spec["title"]["subtitle"]
    # the n row under the chart sits at each visit's planned day
    rows = [pd.DataFrame(spec["datasets"][layer["data"]["name"]]) for layer in layers
            if layer.get("mark", {}).get("type") == "text" and "n_at_risk" in str(layer.get("encoding", {}))]
    assert len(rows) == 1 and (rows[0]["visit_x"] == rows[0]["visit_day"]).all()
    assert set(rows[0]["visit"]) == {"Baseline", "Week 4", "Week 12", "Week 16", "Week 26", "Week 52"}


# -- listings -------------------------------------------------------------------------------------

def test_renal_values_by_subject_marks_out_of_window(tiny):
    out = _compute("renal_values_by_subject", tiny)
    flagged = out[out["out_of_window"]][["usubjid", "param", "visit", "study_day"]].reset_index(drop=True)
    expected = pd.DataFrame({"usubjid": ["R-003", "R-003"], "param": ["EGFR", "CREAT"],
                             "visit": ["Week 4", "Week 4"], "study_day": [10.0, 10.0]})
    assert_frame_equal(flagged, expected)
    r006 = out[out["usubjid"] == "R-006"]
    assert r006["phase"].tolist() == ["baseline", "baseline"]
    # extreme eGFR changes -14.58, -42, -2.86, -70, +5.56: Q1 -42, Q3 -2.86, fences -100.7 and 55.8
    assert not out["outlier"].any()


def test_outliers_tukey_fences_on_extreme_change():
    # extreme % changes -10, -5, 0, +5, +80 (subject E's +80 at day 30, back to +10 by day 60):
    # Q1 -5, Q3 5, IQR 10, fences -20 and 20 -> only E, at its day-30 value
    days = {"A": [(30, 90)], "B": [(30, 95)], "C": [(30, 100)], "D": [(30, 105)], "E": [(30, 180), (60, 110)]}
    rows = [{"usubjid": u, "param": "EGFR", "phase": "post-baseline", "adt": pd.Timestamp("2023-01-01")
             + pd.Timedelta(days=d), "aval": float(v), "base": 100.0, "pchg": float(v) - 100.0}
            for u, values in days.items() for d, v in values]
    rec = pd.DataFrame(rows)
    points = renal._outliers(rec)
    assert rec.loc[points, ["usubjid", "aval"]].values.tolist() == [["E", 180.0]]


def test_renal_change_to_last_egfr(tiny):
    out = _compute("renal_change_to_last", tiny)
    got = _rows(out, ["usubjid", "baseline", "last_value", "last_visit", "pct_change"], param="EGFR")
    expected = pd.DataFrame(columns=got.columns, data=[
        ["R-001", 48.0, 41.0, "Week 52", -14.583333],   # 100 x (41 - 48) / 48
        ["R-004", 40.0, 38.0, "Week 12", -5.0],
        ["R-002", 50.0, 34.0, "Week 26", -32.0],
        ["R-003", 70.0, 72.0, "Week 12", 2.857143],
        ["R-005", 90.0, 95.0, "Week 12", 5.555556],
    ])
    assert_frame_equal(got, expected, check_dtype=False, atol=1e-6)


def test_display_wrappers_round_only_for_display(tiny):
    shown = registry.display("kidney_events", _compute("kidney_events", tiny))
    row = shown[shown["Kidney endpoint"] == renal.KIDNEY_EVENTS["aki_stage_1"][0]].iloc[0]
    assert row[f"{DRUG} (N=4)"] == "3/3 (100.0%); median day 30"
    assert row[f"{PLACEBO} (N=3)"] == "0/2"
    summary = registry.display("renal_summary_by_visit", _compute("renal_summary_by_visit", tiny))
    cell = summary[(summary["Visit"] == "Week 4") & (summary["Statistic"] == "Change from baseline, mean (95% CI)")
                   & (summary["Parameter"] == "eGFR (mL/min/1.73m2)")][f"{PLACEBO} (N=3)"].iloc[0]
    assert cell == "n=2: -15.8 (-171.4, 139.9)"


# -- the synthetic trial and the CDISC pilot --------------------------------------------------------

@pytest.mark.parametrize("role", ["unblinded", "blinded"])
def test_renal_tables_synthetic_trial(synthetic, role):
    con = synthetic[role]
    for entry in registry.tables_for("renal", role):
        frame = _compute(entry.name, con, role)
        assert len(frame), entry.name
        if role == "blinded" and "arm" in frame:
            assert set(frame["arm"]) == {POOLED}, entry.name
        registry.display(entry.name, frame)
        if role == "unblinded":  # the charts validate against the Vega-Lite schema (slow): once
            for chart in entry.charts:
                chart(frame).to_dict()
    events = _compute("kidney_events", con, role)
    n_arms = 1 if role == "blinded" else 3  # Placebo, UC-MSC, Total
    assert len(events) == 10 * n_arms and (events["n"] <= events["N"]).all()
    sources = _compute("renal_parameters", con, role)
    assert (sources["status"] == "present").all() and sources.loc[0, "source"] == "supplied by the extract"


@pytest.mark.needs_pilot
def test_renal_tables_cdisc_pilot(pilot_unblinded):
    con, _ = pilot_unblinded  # the session's shared pilot load (tests/conftest.py)
    sources = _compute("renal_parameters", con).set_index("param")
    assert sources.loc["EGFR", "source"].startswith("derived by the dashboard")
    assert sources.loc[["UACR", "UPROT24"], "status"].tolist() == ["not in this extract"] * 2
    summary = _compute("renal_summary_by_visit", con)
    assert set(summary["param"]) == {"EGFR", "CREAT"}
    assert summary.loc[summary["param"] == "CREAT", "unit"].unique().tolist() == ["umol/L"]
    assert summary["n_out_of_window"].sum() > 0  # the loader's out-of-window flags are carried
    events = _compute("kidney_events", con)
    assert len(events) == 10 * 4  # three arms and Total, zeros included
    assert (events["n"] <= events["N"]).all()
    for name in ("kdigo_risk_shift", "kdigo_grid"):
        with pytest.raises(registry.NotInExtract):
            _compute(name, con)
    assert set(_compute("kdigo_shift", con)["axis"]) == {"G"}
    slopes = _compute("egfr_slope_summary", con)
    assert slopes["arm"].tolist() == ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose", "Total"]
    assert slopes["n"].iloc[-1] > 200
    # the blinded role pools the same extract (registry check: no arm survives)
    with pytest.raises(PermissionError):
        registry.compute("egfr_slope_difference", con, SPEC, "blinded")
