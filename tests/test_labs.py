"""Lab shifts, CTCAE shifts, by-visit summaries, abnormal listing, eDISH and Hy's law (issue 7).

Expected tables are hand computations on the literal extract in ``tests/fixtures_labs.py`` (its
docstring and row comments give the values). The CDISC pilot check recomputes the creatinine and
ALT shift tables independently, in plain pandas, from the raw XPT files.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard import registry
from dashboard.analyses import labs
from dashboard.charts import labs as charts
from dashboard.filters import FilterSpec
from dashboard.load import load_extract
from tests.fixtures_labs import ADLB, record, with_anl01fl, write_lab_extract

PBO, DRUG, TOTAL, POOLED = "Placebo", "Drug 10 mg", "Total", "All subjects"
SPEC = FilterSpec()


@pytest.fixture(scope="module")
def lab_extract(tmp_path_factory):
    return write_lab_extract(tmp_path_factory.mktemp("labs") / "extract")


@pytest.fixture(scope="module")
def unblinded(lab_extract):
    con, _ = load_extract(lab_extract, "unblinded")
    yield con
    con.close()


@pytest.fixture(scope="module")
def blinded(lab_extract):
    con, _ = load_extract(lab_extract, "blinded")
    yield con
    con.close()


def _compute(con, name, spec=SPEC, role="unblinded"):
    return registry.compute(name, con, spec, role)


def _nonzero(frame, keys, paramcd=None):
    """The rows with n > 0 (of one parameter), as a plain frame sorted by ``keys``."""
    rows = frame if paramcd is None else frame[frame["paramcd"] == paramcd]
    rows = rows[rows["n"] > 0][keys + ["n", "N"]]
    return rows.sort_values(keys).reset_index(drop=True).astype({"n": "int64", "N": "int64"})


def _expected(keys, rows):
    return pd.DataFrame(rows, columns=keys + ["n", "N"]).sort_values(keys).reset_index(drop=True).astype(
        {"n": "int64", "N": "int64"})


SHIFT_KEYS = ["direction", "baseline", "post_baseline", "arm"]


# -- lab_shift ------------------------------------------------------------------------------

def test_lab_shift_baseline_to_worst_counts_each_direction(unblinded):
    shift = _compute(unblinded, "lab_shift")
    expected = _expected(SHIFT_KEYS, [
        # worst high: L-101 N->H (120), L-102 H->N, L-103 L->H (unscheduled 130), L-201 N->N (110 = ULN)
        ["high", "NORMAL", "HIGH", PBO, 1, 3], ["high", "HIGH", "NORMAL", PBO, 1, 3],
        ["high", "LOW", "HIGH", PBO, 1, 3], ["high", "NORMAL", "NORMAL", DRUG, 1, 1],
        ["high", "NORMAL", "HIGH", TOTAL, 1, 4], ["high", "HIGH", "NORMAL", TOTAL, 1, 4],
        ["high", "LOW", "HIGH", TOTAL, 1, 4], ["high", "NORMAL", "NORMAL", TOTAL, 1, 4],
        # worst low: L-101 N->L (55) also counts here; L-102 H->N; L-103 L->N; L-201 N->N
        ["low", "NORMAL", "LOW", PBO, 1, 3], ["low", "HIGH", "NORMAL", PBO, 1, 3],
        ["low", "LOW", "NORMAL", PBO, 1, 3], ["low", "NORMAL", "NORMAL", DRUG, 1, 1],
        ["low", "NORMAL", "LOW", TOTAL, 1, 4], ["low", "HIGH", "NORMAL", TOTAL, 1, 4],
        ["low", "LOW", "NORMAL", TOTAL, 1, 4], ["low", "NORMAL", "NORMAL", TOTAL, 1, 4],
    ])
    assert_frame_equal(_nonzero(shift, SHIFT_KEYS, "CREAT"), expected)


def test_lab_shift_baseline_to_worst_grid_is_zero_filled_and_adds_up(unblinded):
    creat = _compute(unblinded, "lab_shift").query("paramcd == 'CREAT'")
    # 2 directions x 4 baseline x 4 post-baseline categories x (2 arms + Total)
    assert len(creat) == 2 * 4 * 4 * 3
    assert list(creat.columns[:13]) == ["group", "paramcd", "param", "unit", "direction", "visit", "visitnum",
                                        "baseline", "post_baseline", "arm", "n", "N", "pct"]
    sums = creat.groupby(["direction", "arm"]).agg(n=("n", "sum"), N=("N", "first"))
    assert (sums["n"] == sums["N"]).all()
    assert creat["param"].iloc[0] == "Creatinine (umol/L)" and creat["unit"].iloc[0] == "umol/L"
    assert creat.loc[creat["n"] == 0, "pct"].eq(0).all()


def test_lab_shift_baseline_to_worst_blinded_is_pooled(blinded):
    shift = _compute(blinded, "lab_shift", role="blinded")
    assert set(shift["arm"]) == {POOLED}
    expected = _expected(SHIFT_KEYS, [
        ["high", "NORMAL", "HIGH", POOLED, 1, 4], ["high", "HIGH", "NORMAL", POOLED, 1, 4],
        ["high", "LOW", "HIGH", POOLED, 1, 4], ["high", "NORMAL", "NORMAL", POOLED, 1, 4],
        ["low", "NORMAL", "LOW", POOLED, 1, 4], ["low", "HIGH", "NORMAL", POOLED, 1, 4],
        ["low", "LOW", "NORMAL", POOLED, 1, 4], ["low", "NORMAL", "NORMAL", POOLED, 1, 4],
    ])
    assert_frame_equal(_nonzero(shift, SHIFT_KEYS, "CREAT"), expected)


def test_lab_shift_baseline_to_worst_data_cut_drops_later_records(unblinded):
    # Cut 2023-02-01: Week 4 (2023-02-07) goes; the unscheduled 2023-02-01 value stays.
    shift = _compute(unblinded, "lab_shift", FilterSpec(data_cut=dt.date(2023, 2, 1)))
    rows = _nonzero(shift[shift["arm"] == PBO], SHIFT_KEYS, "CREAT")
    expected = _expected(SHIFT_KEYS, [
        # L-101 has only 120 (HIGH) left: its lowest post-baseline category is HIGH too
        ["high", "NORMAL", "HIGH", PBO, 1, 3], ["high", "HIGH", "NORMAL", PBO, 1, 3],
        ["high", "LOW", "HIGH", PBO, 1, 3],
        ["low", "NORMAL", "HIGH", PBO, 1, 3], ["low", "HIGH", "NORMAL", PBO, 1, 3],
        ["low", "LOW", "NORMAL", PBO, 1, 3],
    ])
    assert_frame_equal(rows, expected)


def test_lab_shift_baseline_to_worst_by_visit(unblinded):
    shift = _compute(unblinded, "lab_shift", SPEC.with_options(lab_params=("CREAT",), lab_shift_by_visit=True))
    assert set(shift["visit"]) == {"Week 2", "Week 4", "End of Treatment"}  # unscheduled is not a visit
    week2 = shift[(shift["visit"] == "Week 2") & (shift["direction"] == "high")]
    expected = _expected(["baseline", "post_baseline", "arm"], [
        ["NORMAL", "HIGH", PBO, 1, 3], ["HIGH", "NORMAL", PBO, 1, 3], ["LOW", "NORMAL", PBO, 1, 3],
        ["NORMAL", "NORMAL", DRUG, 1, 1],
        ["NORMAL", "HIGH", TOTAL, 1, 4], ["HIGH", "NORMAL", TOTAL, 1, 4], ["LOW", "NORMAL", TOTAL, 1, 4],
        ["NORMAL", "NORMAL", TOTAL, 1, 4],
    ])
    assert_frame_equal(_nonzero(week2, ["baseline", "post_baseline", "arm"]), expected)


def test_lab_shift_baseline_to_worst_indicator_fallback_without_range(unblinded):
    # Potassium has no ANRLO/ANRHI: baseline from BNRIND (N), post-baseline from ANRIND (H).
    k = _nonzero(_compute(unblinded, "lab_shift"), SHIFT_KEYS, "K")
    assert_frame_equal(k, _expected(SHIFT_KEYS, [
        ["high", "NORMAL", "HIGH", PBO, 1, 1], ["high", "NORMAL", "HIGH", TOTAL, 1, 1],
        ["low", "NORMAL", "HIGH", PBO, 1, 1], ["low", "NORMAL", "HIGH", TOTAL, 1, 1]]))


def test_lab_shift_summary_to_high_and_to_low(unblinded):
    summary = _compute(unblinded, "lab_shift_summary").query("paramcd == 'CREAT'")
    got = summary[["shift", "arm", "n", "N"]].reset_index(drop=True).astype({"n": "int64", "N": "int64"})
    expected = pd.DataFrame([["to HIGH", PBO, 2, 3], ["to HIGH", DRUG, 0, 1], ["to HIGH", TOTAL, 2, 4],
                             ["to LOW", PBO, 1, 3], ["to LOW", DRUG, 0, 1], ["to LOW", TOTAL, 1, 4]],
                            columns=["shift", "arm", "n", "N"])
    assert_frame_equal(got, expected)


# -- the record rules -------------------------------------------------------------------------

def test_lab_analysis_records_applies_the_record_rules(unblinded):
    recs = labs.lab_analysis_records(unblinded, SPEC)
    assert "_CREAT" not in set(recs["paramcd"])                                   # "_" parameters
    creat = recs[recs["paramcd"] == "CREAT"]
    assert 300.0 not in set(creat["aval"])                                        # DTYPE = LOV
    timing = creat.set_index(["usubjid", "aval"])["timing"]
    assert timing[("L-201", 140.0)] == "pre"                                      # before the first dose
    assert timing[("L-201", 80.0)] == "baseline"
    assert timing[("L-103", 130.0)] == "post"                                     # unscheduled counts
    eot = creat[(creat["usubjid"] == "L-201") & (creat["aval"] == 105.0)]
    assert eot.set_index("visit")["duplicate"].to_dict() == {"Week 4": False, "End of Treatment": True}
    assert creat.set_index(["usubjid", "aval"]).loc[("L-201", 110.0), "category"] == "NORMAL"  # = ULN
    alt = recs[(recs["paramcd"] == "ALT") & (recs["aval"] == 1.65)]
    assert (alt["x_uln"] == 1.65 / 0.55).all()


def _anl_extract(tmp_path, flagged, extra=None):
    folder = write_lab_extract(tmp_path / "anl", adlb=with_anl01fl(flagged, extra))
    con, _ = load_extract(folder, "unblinded")
    return con


def test_lab_analysis_records_anl01fl_honoured_when_it_selects_within_visits(tmp_path):
    # A retest 150 on 2023-01-26 (Week 2) for L-102, not flagged; every other scheduled
    # post-baseline creatinine record flagged: ANL01FL selects within visits and is used.
    retest = record(102, "CREAT", "150", "2023-01-26", "17", "Week 2", "2")
    flagged = [("L-101", "CREAT", "2023-01-24"), ("L-101", "CREAT", "2023-02-07"), ("L-102", "CREAT", "2023-01-24"),
               ("L-103", "CREAT", "2023-01-24"), ("L-201", "CREAT", "2023-01-24"), ("L-201", "CREAT", "2023-02-07"),
               ("L-203", "CREAT", "2023-01-24")]
    con = _anl_extract(tmp_path, flagged, [retest])
    try:
        auto = _compute(con, "lab_shift", SPEC.with_options(lab_params=("CREAT",)))
        ignored = _compute(con, "lab_shift", SPEC.with_options(lab_params=("CREAT",), lab_anl01fl="ignore"))
    finally:
        con.close()
    pick = "direction == 'high' and arm == 'Placebo' and baseline == 'HIGH' and n > 0"
    assert auto.query(pick)["post_baseline"].tolist() == ["NORMAL"]      # retest 150 dropped
    assert ignored.query(pick)["post_baseline"].tolist() == ["HIGH"]     # retest 150 counted


def test_lab_analysis_records_anl01fl_ignored_when_it_flags_one_record(tmp_path, unblinded):
    # As in the CDISC pilot: one flagged record per subject, so the flag is not a visit selector.
    con = _anl_extract(tmp_path, [("L-101", "CREAT", "2023-02-07"), ("L-102", "CREAT", "2023-01-24")])
    try:
        got = _compute(con, "lab_shift")
    finally:
        con.close()
    assert_frame_equal(got, _compute(unblinded, "lab_shift"))


# -- CTCAE ----------------------------------------------------------------------------------

CTCAE_KEYS = ["paramcd", "term", "baseline", "post_baseline", "arm"]


def test_lab_ctcae_shift_grades_by_term(unblinded):
    got = _nonzero(_compute(unblinded, "lab_ctcae_shift").query("paramcd in ['CREAT', 'ALT', 'HGB', 'K']"),
                   CTCAE_KEYS)
    expected = _expected(CTCAE_KEYS, [
        # creatinine: L-101 120 = 1.71 x baseline 70 -> 2; L-103 130 = 2.6 x baseline -> 2;
        # L-102 baseline 115 > ULN 110 -> 1, then 100 -> 0; L-201 110 (= ULN, 1.4 x baseline) -> 0
        ["CREAT", "Creatinine increased", "0", "2", PBO, 2, 3], ["CREAT", "Creatinine increased", "1", "0", PBO, 1, 3],
        ["CREAT", "Creatinine increased", "0", "0", DRUG, 1, 1],
        ["CREAT", "Creatinine increased", "0", "2", TOTAL, 2, 4], ["CREAT", "Creatinine increased", "1", "0", TOTAL, 1, 4],
        ["CREAT", "Creatinine increased", "0", "0", TOTAL, 1, 4],
        # ALT (ULN 0.55): 1.65 = 3.0 x -> 1 (grade 2 needs > 3); 1.60 -> 1; 2.75 = 5.0 x -> 2; 0.55 -> 0; 0.80 -> 1
        ["ALT", "Alanine aminotransferase increased", "0", "1", PBO, 3, 3],
        ["ALT", "Alanine aminotransferase increased", "0", "0", DRUG, 1, 3],
        ["ALT", "Alanine aminotransferase increased", "0", "1", DRUG, 1, 3],
        ["ALT", "Alanine aminotransferase increased", "0", "2", DRUG, 1, 3],
        ["ALT", "Alanine aminotransferase increased", "0", "0", TOTAL, 1, 6],
        ["ALT", "Alanine aminotransferase increased", "0", "1", TOTAL, 4, 6],
        ["ALT", "Alanine aminotransferase increased", "0", "2", TOTAL, 1, 6],
        # haemoglobin in mmol/L: 6.0 = 9.67 g/dL -> 2; 4.9 = 7.90 g/dL -> 3; 7.0 < LLN 7.5 -> 1
        ["HGB", "Anemia", "0", "2", PBO, 1, 2], ["HGB", "Anemia", "0", "3", PBO, 1, 2], ["HGB", "Anemia", "0", "1", DRUG, 1, 1],
        ["HGB", "Anemia", "0", "1", TOTAL, 1, 3], ["HGB", "Anemia", "0", "2", TOTAL, 1, 3], ["HGB", "Anemia", "0", "3", TOTAL, 1, 3],
        # potassium without a range: 4.0 cannot be graded; 5.8 > 5.5 is grade 2 on the absolute cut-off
        ["K", "Hyperkalemia", "Missing", "2", PBO, 1, 1], ["K", "Hyperkalemia", "Missing", "2", TOTAL, 1, 1],
        ["K", "Hypokalemia", "Missing", "Missing", PBO, 1, 1], ["K", "Hypokalemia", "Missing", "Missing", TOTAL, 1, 1],
    ])
    assert_frame_equal(got, expected)


def test_grade_records_haemoglobin_units_agree():
    # 9.5 g/dL = 95 g/L = 5.8957 mmol/L: grade 2 whatever the unit; LLN 12 g/dL in each unit.
    frame = pd.DataFrame({"code": ["HGB", "HGB", "HGB"], "aval": [9.5, 95.0, 9.5 * 0.6206],
                          "anrlo": [12.0, 120.0, 12.0 * 0.6206], "anrhi": [16.0, 160.0, 16.0 * 0.6206],
                          "unit": ["g/dL", "g/L", "mmol/L"]})
    assert labs.grade_records(frame)["grade"].tolist() == [2, 2, 2]


def test_grade_records_absolute_term_without_unit_is_not_graded():
    frame = pd.DataFrame({"code": ["PLAT"], "aval": [40.0], "anrlo": [150.0], "anrhi": [400.0], "unit": [None]})
    assert labs.grade_records(frame)["grade"].tolist() == [-1]


# -- by visit -------------------------------------------------------------------------------

def test_lab_summary_by_visit_creatinine(unblinded):
    s = _compute(unblinded, "lab_summary_by_visit", SPEC.with_options(lab_params=("CREAT",)))
    assert s["visit"].drop_duplicates().tolist() == ["Baseline", "Week 2", "Week 4", "End of Treatment"]
    row = s.set_index(["visit", "arm"])
    # Placebo Week 2: 120, 100, 65; changes 50, -15, 15
    wk2 = row.loc[("Week 2", PBO)]
    assert (wk2["n"], wk2["mean"], wk2["median"], wk2["min"], wk2["max"]) == (3, 95.0, 100.0, 65.0, 120.0)
    assert wk2["sd"] == pytest.approx(np.sqrt(775.0))
    assert (wk2["chg_n"], wk2["chg_median"], wk2["chg_min"], wk2["chg_max"]) == (3, 15.0, -15.0, 50.0)
    assert wk2["chg_mean"] == pytest.approx(50 / 3)
    # Drug Week 2: 110 (L-201) and 130 (L-203, no baseline): 2 values, 1 change
    assert (row.loc[("Week 2", DRUG), "n"], row.loc[("Week 2", DRUG), "chg_n"]) == (2, 1)
    # Baseline: no change; End of Treatment has its own row, Placebo empty
    assert row.loc[("Baseline", PBO), "chg_n"] == 0 and np.isnan(row.loc[("Baseline", PBO), "chg_mean"])
    assert row.loc[("End of Treatment", PBO), "n"] == 0 and row.loc[("End of Treatment", DRUG), "mean"] == 105.0


# -- listing --------------------------------------------------------------------------------

def test_lab_abnormal_listing_rows_and_traceability(unblinded):
    listing = _compute(unblinded, "lab_abnormal_listing")
    got = sorted(zip(listing["usubjid"], listing["paramcd"], listing["aval"]))
    expected = sorted([
        ("L-101", "CREAT", 120.0), ("L-101", "CREAT", 55.0), ("L-103", "CREAT", 130.0), ("L-203", "CREAT", 130.0),
        ("L-101", "K", 5.8),
        ("L-101", "ALT", 1.65), ("L-102", "ALT", 1.65), ("L-103", "ALT", 1.60), ("L-201", "ALT", 2.75),
        ("L-203", "ALT", 0.80), ("L-203", "AST", 150.0),
        ("L-101", "BILI", 40.0), ("L-102", "BILI", 41.0), ("L-103", "BILI", 60.0), ("L-201", "BILI", 50.0),
        ("L-203", "BILI", 45.0), ("L-102", "ALP", 150.0), ("L-201", "ALP", 300.0),
        ("L-101", "HGB", 6.0), ("L-102", "HGB", 4.9), ("L-201", "HGB", 7.0),
    ])
    assert got == expected
    hgb = listing.set_index(["usubjid", "paramcd"]).loc[("L-102", "HGB")]
    assert (hgb["grade"], hgb["term"], hgb["category"]) == (3.0, "Anemia", "LOW")
    for r in listing.itertuples():
        source = ADLB.iloc[r.SRC_ROW - 1]
        assert r.SRC_FILE == "adlb.csv" and source["USUBJID"] == r.usubjid and float(source["AVAL"]) == r.aval


# -- eDISH and Hy's law ---------------------------------------------------------------------

QUAD_KEYS = ["quadrant", "arm"]


def test_edish_quadrants_boundaries_default_rule(unblinded):
    got = _nonzero(_compute(unblinded, "edish_quadrants"), QUAD_KEYS)
    expected = _expected(QUAD_KEYS, [
        # L-101: ALT 2.9999999999999996 x ULN counts as 3 (>= 3); bilirubin exactly 2 x is not > 2
        ["Temple's corollary", PBO, 1, 3],
        # L-102: ALT 3 x, bilirubin 2.05 x; L-201: 5 x and 2.5 x (peaks on different days)
        ["possible Hy's law", PBO, 1, 3], ["possible Hy's law", DRUG, 1, 3],
        # L-103: ALT 2.9 x, bilirubin 3 x; L-203: ALT 1.45 x (its AST is not on the default x axis)
        ["hyperbilirubinemia", PBO, 1, 3], ["hyperbilirubinemia", DRUG, 1, 3],
        ["normal", DRUG, 1, 3],
        ["Temple's corollary", TOTAL, 1, 6], ["possible Hy's law", TOTAL, 2, 6],
        ["hyperbilirubinemia", TOTAL, 2, 6], ["normal", TOTAL, 1, 6],
    ])
    assert_frame_equal(got, expected)


def test_edish_quadrants_strict_rule_moves_the_3x_points(unblinded):
    got = _compute(unblinded, "edish_quadrants", SPEC.with_options(lab_hy_alt_rule="gt"))
    placebo = got[got["arm"] == PBO].set_index("quadrant")["n"].to_dict()
    # > 3 x ULN: L-101 drops to normal, L-102 to hyperbilirubinemia
    assert placebo == {"possible Hy's law": 0, "Temple's corollary": 0, "hyperbilirubinemia": 2, "normal": 1}


def test_edish_subjects_higher_of_alt_and_ast(unblinded):
    subj = _compute(unblinded, "edish_subjects", SPEC.with_options(lab_edish_x="ALT_OR_AST")).set_index("usubjid")
    assert (subj.loc["L-203", "x_test"], subj.loc["L-203", "x_uln"]) == ("AST", 3.75)
    assert subj.loc["L-203", "quadrant"] == "possible Hy's law"


def test_hys_law_candidates_default(unblinded):
    hy = _compute(unblinded, "hys_law_candidates")
    got = hy[["usubjid", "potential_hys_law", "alt_ast_test", "days_apart"]].astype({"days_apart": "int64"})
    expected = pd.DataFrame([["L-102", True, "ALT", 0], ["L-201", False, "ALT", 14], ["L-203", True, "AST", 0]],
                            columns=["usubjid", "potential_hys_law", "alt_ast_test", "days_apart"])
    assert_frame_equal(got, expected)
    row = hy.set_index("usubjid")
    assert row.loc["L-201", "classification"] == "ALT/AST and bilirubin elevated; ALP >= 2 x ULN (cholestatic)"
    assert row.loc["L-102", "r_ratio"] == pytest.approx(3.0 / 1.25)
    assert (row.loc["L-203", "peak_ast"], row.loc["L-203", "peak_tbl"]) == (150.0, 45.0)
    assert row.loc["L-201", "peak_tbl_date"] == pd.Timestamp("2023-02-07")


def test_hys_law_candidates_window_and_rule_options(unblinded):
    short = _compute(unblinded, "hys_law_candidates", SPEC.with_options(lab_hy_window_days=10))
    assert short["usubjid"].tolist() == ["L-102", "L-203"]       # L-201's bilirubin came 14 days later
    strict = _compute(unblinded, "hys_law_candidates", SPEC.with_options(lab_hy_alt_rule="gt"))
    assert strict["usubjid"].tolist() == ["L-201", "L-203"]      # L-102's ALT is exactly 3 x ULN


def test_hys_law_candidates_blinded_is_pooled(blinded):
    hy = _compute(blinded, "hys_law_candidates", role="blinded")
    assert hy["usubjid"].tolist() == ["L-102", "L-201", "L-203"] and set(hy["arm"]) == {POOLED}


# -- catalogue, roles, charts ---------------------------------------------------------------

def test_lab_parameters_every_parameter_with_unit_and_group(unblinded):
    cat = _compute(unblinded, "lab_parameters")
    got = cat[["group", "paramcd", "unit"]].reset_index(drop=True)
    expected = pd.DataFrame([
        ["Renal", "CREAT", "umol/L"], ["Renal", "EGFR", "mL/min/1.73m2"], ["Liver", "ALT", "ukat/L"],
        ["Liver", "AST", "U/L"], ["Liver", "BILI", "umol/L"], ["Liver", "ALP", "U/L"],
        ["Haematology", "HGB", "mmol/L"], ["Electrolytes", "K", "mmol/L"]], columns=["group", "paramcd", "unit"])
    assert_frame_equal(got, expected)
    assert cat.set_index("paramcd").loc["K", "range"] == "indicator"


def test_lab_group_falls_back_to_parcat1_then_other():
    assert labs.lab_group("CREAT", "CHEM") == "Renal"
    assert labs.lab_group("CK", "CHEM") == "Chemistry"
    assert labs.lab_group("XYZ", None) == "Other"


def test_labs_tables_blinded_hold_only_the_pooled_arm(blinded):
    names = [t.name for t in registry.tables_for("labs", "blinded")]
    assert set(names) == {t.name for t in registry.tables_for("labs", "unblinded")}  # nothing unblinded-only
    for name in names:
        frame = _compute(blinded, name, role="blinded")
        if "arm" in frame:
            assert set(frame["arm"]) <= {POOLED}, name
        shown = registry.display(name, frame)
        assert len(shown.columns) and not shown.columns.duplicated().any(), name


def test_lab_shift_display_rows_per_arm_and_baseline(unblinded):
    shown = registry.display("lab_shift", _compute(unblinded, "lab_shift", SPEC.with_options(lab_params=("CREAT",))))
    # MISSING never occurs for creatinine, so neither its row nor its column is shown
    assert list(shown.columns) == ["Parameter", "Post-baseline", "Direction", "Arm", "Baseline category",
                                   "LOW", "NORMAL", "HIGH"]
    assert len(shown) == 2 * 3 * 3  # directions x arms x baseline categories
    row = shown[(shown["Direction"] == "Worst high") & (shown["Arm"] == "Placebo (N=3)")
                & (shown["Baseline category"] == "NORMAL")].iloc[0]
    assert (row["LOW"], row["NORMAL"], row["HIGH"]) == ("0", "0", "1 (33.3%)")


def test_lab_charts_render_and_carry_the_subject_selection(unblinded):
    one = SPEC.with_options(lab_params=("ALT",))
    for name, spec in (("lab_shift", one), ("lab_shift_subjects", one), ("lab_values_by_visit", one),
                       ("edish_subjects", SPEC)):
        frame = _compute(unblinded, name, spec)
        for chart in registry.TABLES[name].charts:
            spec_json = chart(frame).to_json()
            if name != "lab_shift":
                assert charts.SUBJECT_SELECTION in spec_json, name
    assert "Pick one parameter" in charts.lab_box_chart(_compute(unblinded, "lab_values_by_visit")).to_json()
    assert charts.edish_chart(pd.DataFrame()).to_json()


def test_subject_from_selection_reads_clicks_and_rows():
    assert labs.subject_from_selection({"selection": {"lab_subject": [{"usubjid": "L-101"}]}}) == "L-101"
    assert labs.subject_from_selection({"selection": {"lab_subject": {}}}) is None
    assert labs.subject_from_selection(pd.DataFrame({"Subject": ["L-203"]}), "Subject") == "L-203"
    assert labs.subject_from_selection(pd.DataFrame({"Subject": []}), "Subject") is None


# -- the CDISC pilot: an independent computation --------------------------------------------

@pytest.mark.needs_pilot
@pytest.mark.parametrize("paramcd", ["CREAT", "ALT"])
def test_lab_shift_matches_independent_pilot_computation(pilot, pilot_unblinded, paramcd):
    """Plain pandas on the raw adlbc.xpt/adsl.xpt: AVAL vs A1LO/A1HI, baseline ABLFL='Y',
    post-baseline ADT > TRTSDT, highest and lowest category per subject, by TRT01A."""
    import pyreadstat

    lb, _ = pyreadstat.read_xport(str(pilot / "adlbc.xpt"),
                                  usecols=["USUBJID", "PARAMCD", "AVAL", "ADT", "ABLFL", "A1LO", "A1HI"])
    sl, _ = pyreadstat.read_xport(str(pilot / "adsl.xpt"), usecols=["USUBJID", "TRT01A", "TRTSDT", "SAFFL"])
    lb = lb[(lb["PARAMCD"] == paramcd) & lb["AVAL"].notna()].merge(sl[sl["SAFFL"] == "Y"], on="USUBJID")
    assert lb["A1LO"].notna().all() and lb["A1HI"].notna().all()
    lb["rank"] = np.where(lb["AVAL"] < lb["A1LO"], 0, np.where(lb["AVAL"] > lb["A1HI"], 2, 1))
    base = lb[lb["ABLFL"] == "Y"].set_index("USUBJID")["rank"]
    post = lb[(lb["ABLFL"] != "Y") & (pd.to_datetime(lb["ADT"]) > pd.to_datetime(lb["TRTSDT"]))]
    post = post[post["USUBJID"].isin(base.index)]
    worst = post.groupby(["USUBJID", "TRT01A"])["rank"].agg(["max", "min"]).reset_index()
    names = {0: "LOW", 1: "NORMAL", 2: "HIGH"}
    rows = []
    for direction, col in (("high", "max"), ("low", "min")):
        table = worst.assign(baseline=worst["USUBJID"].map(base).map(names), post_baseline=worst[col].map(names))
        for arm, sub in [*table.groupby("TRT01A"), ("Total", table)]:
            counts = sub.groupby(["baseline", "post_baseline"]).size()
            rows += [[direction, b, p, arm, int(n), len(sub)] for (b, p), n in counts.items()]
    expected = _expected(SHIFT_KEYS, rows)

    con, _ = pilot_unblinded
    shift = registry.compute("lab_shift", con, SPEC.with_options(lab_params=(paramcd,)), "unblinded")
    assert_frame_equal(_nonzero(shift, SHIFT_KEYS, paramcd), expected)


# -- the SQL lab records (dashboard.analyses.labs.records), literal inputs and outputs ----------------

_REC_KEYS = ["usubjid", "visit", "adt", "aval", "scheduled", "timing", "duplicate", "category"]


def _creat_records(con, spec=SPEC):
    recs = labs.lab_analysis_records(con, spec)
    out = recs[recs["paramcd"] == "CREAT"][_REC_KEYS].reset_index(drop=True)
    return out.assign(adt=out["adt"].dt.strftime("%Y-%m-%d"), visit=out["visit"].astype(str))


def test_lab_analysis_records_sql_creatinine_literal(unblinded):
    expected = pd.DataFrame(columns=_REC_KEYS, data=[
        # baseline NORMAL, then HIGH and LOW after baseline
        ["L-101", "Baseline", "2023-01-09", 70.0, True, "baseline", False, "NORMAL"],
        ["L-101", "Week 2", "2023-01-24", 120.0, True, "post", False, "HIGH"],
        ["L-101", "Week 4", "2023-02-07", 55.0, True, "post", False, "LOW"],
        # the DTYPE=LOV record is not a record at all
        ["L-102", "Baseline", "2023-01-09", 115.0, True, "baseline", False, "HIGH"],
        ["L-102", "Week 2", "2023-01-24", 100.0, True, "post", False, "NORMAL"],
        # unscheduled (".") post-baseline record: kept, not scheduled
        ["L-103", "Baseline", "2023-01-09", 50.0, True, "baseline", False, "LOW"],
        ["L-103", "Week 2", "2023-01-24", 65.0, True, "post", False, "NORMAL"],
        ["L-103", ".", "2023-02-01", 130.0, False, "post", False, "HIGH"],
        # pre-dose unscheduled record: neither baseline nor post; End of Treatment repeats Week 4: duplicate
        ["L-201", ".", "2023-01-02", 140.0, False, "pre", False, "HIGH"],
        ["L-201", "Baseline", "2023-01-09", 80.0, True, "baseline", False, "NORMAL"],
        ["L-201", "Week 2", "2023-01-24", 110.0, True, "post", False, "NORMAL"],
        ["L-201", "Week 4", "2023-02-07", 105.0, True, "post", False, "NORMAL"],
        ["L-201", "End of Treatment", "2023-02-07", 105.0, True, "post", True, "NORMAL"],
        # baseline only
        ["L-202", "Baseline", "2023-01-09", 90.0, True, "baseline", False, "NORMAL"],
        # missing baseline (CREAT baselines are ABLFL-flagged; L-203 has none): post, with no baseline
        ["L-203", "Week 2", "2023-01-24", 130.0, True, "post", False, "HIGH"],
    ])
    assert_frame_equal(_creat_records(unblinded), expected, check_dtype=False)


def test_lab_analysis_records_sql_two_records_at_one_visit(tmp_path):
    # a Week 2 retest two days later: both are records (one per visit is the by-visit tables' rule)
    adlb = pd.concat([ADLB, pd.DataFrame([record(202, "CREAT", "95", "2023-01-24", "15", "Week 2", "2"),
                                          record(202, "CREAT", "97", "2023-01-26", "17", "Week 2", "2")],
                                         columns=ADLB.columns)], ignore_index=True)
    con, _ = load_extract(write_lab_extract(tmp_path / "x", adlb=adlb), "unblinded")
    got = _creat_records(con)
    assert_frame_equal(got[got["usubjid"] == "L-202"].reset_index(drop=True), pd.DataFrame(columns=_REC_KEYS, data=[
        ["L-202", "Baseline", "2023-01-09", 90.0, True, "baseline", False, "NORMAL"],
        ["L-202", "Week 2", "2023-01-24", 95.0, True, "post", False, "NORMAL"],
        ["L-202", "Week 2", "2023-01-26", 97.0, True, "post", False, "NORMAL"],
    ]), check_dtype=False)
    summary = _compute(con, "lab_summary_by_visit")
    w2 = summary[(summary["paramcd"] == "CREAT") & (summary["visit"] == "Week 2") & (summary["arm"] == DRUG)]
    # L-201 110, L-202 once (95: study day 15 is the Week 2 target, 97 is day 17), L-203 130 (no baseline)
    assert w2[["n", "chg_n"]].values.tolist() == [[3, 2]]
    assert w2["mean"].iloc[0] == pytest.approx((110 + 95 + 130) / 3)
    con.close()


def test_lab_analysis_records_sql_zero_subject_filter(unblinded):
    recs = labs.lab_analysis_records(unblinded, FilterSpec(data_cut=dt.date(1900, 1, 1)))
    assert recs.empty and list(recs.columns) == labs.RECORD_COLUMNS
    with pytest.raises(registry.NotInExtract):
        _compute(unblinded, "lab_shift", FilterSpec(data_cut=dt.date(1900, 1, 1)))


def test_lab_analysis_records_sql_built_once_per_filter(lab_extract):
    from dashboard import records as stored

    con, _ = load_extract(lab_extract, "unblinded")

    def tables():
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = $s",
                                          {"s": stored.SCHEMA}).fetchall()}

    assert tables() == set()
    _compute(con, "lab_shift")
    first = tables()
    assert len(first) == 1
    for name in ("lab_shift_summary", "lab_summary_by_visit", "lab_abnormal_listing"):  # same filter: reused
        _compute(con, name)
    _compute(con, "hys_law_candidates", SPEC.with_options(lab_hy_alt_rule="gt"))  # an option records do not read
    assert tables() == first
    female = FilterSpec(sexes=("F",))
    assert set(_compute(con, "lab_shift_subjects", female)["usubjid"]) == {"L-101", "L-103", "L-202"}
    assert len(tables()) == 2  # another filter, another table: no collision
    assert set(_creat_records(con)["usubjid"]) == {"L-101", "L-102", "L-103", "L-201", "L-202", "L-203"}
    con.close()


def test_lab_analysis_records_sql_concurrent_sessions(lab_extract):
    from concurrent.futures import ThreadPoolExecutor

    con, _ = load_extract(lab_extract, "unblinded")
    expected = {n: _compute(con, n) for n in ("lab_shift", "lab_ctcae_shift", "edish_subjects")}
    fresh, _ = load_extract(lab_extract, "unblinded")
    with ThreadPoolExecutor(4) as pool:  # a cursor per call, as each Streamlit session takes one
        futures = [(n, pool.submit(lambda n=n: registry.compute(n, fresh.cursor(), SPEC, "unblinded")))
                   for n in list(expected) * 3]
        for name, future in futures:
            assert_frame_equal(future.result(), expected[name])
    con.close()
    fresh.close()


def test_lab_shift_heatmap_wraps_arm_panels_to_fit_1200_px(unblinded):
    # three arms (Placebo, Drug 10 mg, Total) x two directions: panels wrap two to a row
    frame = _compute(unblinded, "lab_shift", SPEC.with_options(lab_params=("CREAT",)))
    chart = charts.lab_shift_heatmap(frame)
    spec = chart.to_dict()
    assert spec["columns"] == 2
    assert spec["facet"]["sort"] == [f"{a}: {d}" for a in (PBO, DRUG, TOTAL) for d in ("Worst high", "Worst low")]
    vlc = pytest.importorskip("vl_convert")
    import re

    width = float(re.search(r'width="([\d.]+)"', vlc.vegalite_to_svg(spec)).group(1))
    assert width <= 1200


def test_lab_box_chart_visits_at_planned_day(unblinded):
    # CREAT visits: Baseline (day 1), Week 2 (day 15), Week 4 (day 29) and End of Treatment (no planned day)
    frame = _compute(unblinded, "lab_values_by_visit", SPEC.with_options(lab_params=("CREAT",)))
    spec = charts.lab_box_chart(frame).to_dict()
    axes = [layer["encoding"]["x"] for layer in spec["layer"] if "x" in layer.get("encoding", {})]
    assert {a["field"] for a in axes} == {"visit_x"} and all(a["type"] == "quantitative" for a in axes)
    assert axes[0]["axis"]["values"] == [1.0, 15.0, 29.0]
    assert '"Week 2"' in axes[0]["axis"]["labelExpr"]
    assert any("End of Treatment" in line for line in spec["title"]["subtitle"])


def test_lab_analysis_records_sql_on_a_read_only_database(lab_extract, tmp_path):
    from dashboard import db

    path = tmp_path / "labs.duckdb"
    con, _ = load_extract(lab_extract, "unblinded", db_path=path)
    expected = _compute(con, "lab_shift")
    con.close()
    ro = db.connect(path, read_only=True)  # records cannot be stored: built per call on the cursor
    assert_frame_equal(_compute(ro, "lab_shift"), expected)
    assert_frame_equal(_compute(ro, "lab_shift", FilterSpec(sexes=("F",))),
                       _compute(ro, "lab_shift", FilterSpec(sexes=("F",))))
    ro.close()
