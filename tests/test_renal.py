"""Tests for dashboard.renal against clinical_reference §1–§3.

Expected values are hard-coded from the reference. Numbers are compared at display precision
(round half away from zero, via ``_display``) unless a test states another tolerance.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from dashboard.renal import (
    AkiResult,
    aki_stage_by_measurement,
    aki_stage_kdigo,
    creatinine_umol_to_mg_dl,
    egfr_ckd_epi_2009,
    egfr_ckd_epi_2021,
    egfr_ckd_epi_2021_cr_cys,
    egfr_slope_per_year,
    first_decline,
    first_sustained_decline,
    kdigo_a_category,
    kdigo_g_category,
    kdigo_risk_category,
    meets_decline,
    percent_decline,
    uacr_mg_g_to_mg_mmol,
    uacr_mg_mmol_to_mg_g,
)


def _display(x, dp: int = 1) -> str:
    """Round for display: half away from zero (Decimal ROUND_HALF_UP), as a string."""
    return str(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------------------------
# §1 eGFR: reference table (2009 column non-Black; G stage from the 2021 value)
# --------------------------------------------------------------------------------------------
EGFR_TABLE = [
    # sex, age, Scr mg/dL, Scr umol/L, eGFR 2021, eGFR 2009, G
    # women
    ("F", 25, 0.5, 44.21, "133.4", "134.5", "G1"),
    ("F", 40, 0.7, 61.894, "112.1", "108.4", "G1"),
    ("F", 55, 0.9, 79.578, "75.5", "72.0", "G2"),
    ("F", 62, 1.05, 92.841, "60.1", "56.9", "G2"),
    ("F", 72, 1.4, 123.788, "40.0", "37.4", "G3b"),
    ("F", 85, 2.8, 247.576, "16.0", "14.8", "G4"),
    ("F", 33, 4.5, 397.89, "12.5", "12.0", "G5"),
    # men
    ("M", 20, 0.6, 53.052, "141.7", "144.7", "G1"),
    ("M", 38, 0.75, 66.315, "118.5", "116.4", "G1"),
    ("M", 45, 0.9, 79.578, "107.3", "102.8", "G1"),
    ("M", 60, 1.3, 114.946, "62.9", "59.3", "G2"),
    ("M", 68, 2.0, 176.84, "35.7", "33.3", "G3b"),
    ("M", 80, 3.5, 309.47, "16.9", "15.6", "G4"),
    ("M", 50, 6.0, 530.52, "10.7", "10.0", "G5"),
]
_IDS = [f"{r[0]}{r[1]}-scr{r[2]}" for r in EGFR_TABLE]


@pytest.mark.parametrize("sex, age, scr, scr_umol, egfr_2021, egfr_2009, g", EGFR_TABLE, ids=_IDS)
def test_egfr_ckd_epi_2021_reference_table(sex, age, scr, scr_umol, egfr_2021, egfr_2009, g):
    assert _display(egfr_ckd_epi_2021(scr, age, sex)) == egfr_2021


@pytest.mark.parametrize("sex, age, scr, scr_umol, egfr_2021, egfr_2009, g", EGFR_TABLE, ids=_IDS)
def test_egfr_ckd_epi_2021_from_umol_l_reference_table(sex, age, scr, scr_umol, egfr_2021, egfr_2009, g):
    # The umol/L column goes through the project's 88.42 factor (§1 "Units").
    assert _display(egfr_ckd_epi_2021(creatinine_umol_to_mg_dl(scr_umol), age, sex)) == egfr_2021


@pytest.mark.parametrize("sex, age, scr, scr_umol, egfr_2021, egfr_2009, g", EGFR_TABLE, ids=_IDS)
def test_egfr_ckd_epi_2009_reference_table_non_black(sex, age, scr, scr_umol, egfr_2021, egfr_2009, g):
    assert _display(egfr_ckd_epi_2009(scr, age, sex, black=False)) == egfr_2009


@pytest.mark.parametrize("sex, age, scr, scr_umol, egfr_2021, egfr_2009, g", EGFR_TABLE, ids=_IDS)
def test_kdigo_g_category_reference_table(sex, age, scr, scr_umol, egfr_2021, egfr_2009, g):
    assert kdigo_g_category(egfr_ckd_epi_2021(scr, age, sex)) == g


def test_egfr_ckd_epi_2021_vectorized_over_table():
    sex = [r[0] for r in EGFR_TABLE]
    age = np.array([r[1] for r in EGFR_TABLE])
    scr = pd.Series([r[2] for r in EGFR_TABLE])
    got = egfr_ckd_epi_2021(scr, age, sex)
    assert [_display(v) for v in got] == [r[4] for r in EGFR_TABLE]
    assert list(kdigo_g_category(got)) == [r[6] for r in EGFR_TABLE]


def test_egfr_ckd_epi_2009_vectorized_over_table():
    got = egfr_ckd_epi_2009([r[2] for r in EGFR_TABLE], [r[1] for r in EGFR_TABLE], [r[0] for r in EGFR_TABLE])
    assert [_display(v) for v in got] == [r[5] for r in EGFR_TABLE]


# External anchors (§1): the NKF 2021 calculator reports integers.
@pytest.mark.parametrize(
    "sex, age, scr_mg_dl, expected_integer",
    [
        ("M", 55, 1.09, "80"),
        ("F", 65, 85 / 88.42, "66"),  # entered as 85 umol/L
        ("M", 55, 1.2, "71"),
        ("M", 50, 1.1, "82"),
    ],
)
def test_egfr_ckd_epi_2021_nkf_calculator_anchors(sex, age, scr_mg_dl, expected_integer):
    assert _display(egfr_ckd_epi_2021(scr_mg_dl, age, sex), 0) == expected_integer


def test_egfr_ckd_epi_2021_nkf_anchor_85_umol_l_unrounded():
    assert _display(egfr_ckd_epi_2021(creatinine_umol_to_mg_dl(85), 65, "F"), 2) == "65.55"


@pytest.mark.parametrize(
    "sex, age, scr, scys, expected",
    [
        ("M", 24, 1.0, 0.4, "145.193"),
        ("F", 24, 1.0, 0.8, "97.491"),
        ("M", 23, 2.0, 1.0, "67.182"),
        ("F", 24, 1.0, 2.0, "47.793"),
    ],
)
def test_egfr_ckd_epi_2021_cr_cys_anchors(sex, age, scr, scys, expected):
    assert _display(egfr_ckd_epi_2021_cr_cys(scr, scys, age, sex), 3) == expected


@pytest.mark.parametrize(
    "sex, age, scr, black, expected",
    [
        ("M", 24, 1.0, False, "104.877"),
        ("F", 24, 1.0, False, "78.790"),
        ("M", 23, 2.0, True, "52.950"),
    ],
)
def test_egfr_ckd_epi_2009_anchors(sex, age, scr, black, expected):
    assert _display(egfr_ckd_epi_2009(scr, age, sex, black=black), 3) == expected


@pytest.mark.parametrize(
    "function, args",
    [
        # sex not M/F
        (egfr_ckd_epi_2021, (1.0, 50, "U")),
        (egfr_ckd_epi_2021, (1.0, 50, None)),
        # creatinine missing or non-positive
        (egfr_ckd_epi_2021, (np.nan, 50, "M")),
        (egfr_ckd_epi_2021, (0.0, 50, "M")),
        # age missing
        (egfr_ckd_epi_2021, (1.0, np.nan, "F")),
        (egfr_ckd_epi_2009, (1.0, 50, "X")),
        (egfr_ckd_epi_2009, (-1.0, 50, "M")),
        (egfr_ckd_epi_2021_cr_cys, (1.0, np.nan, 50, "M")),
        (egfr_ckd_epi_2021_cr_cys, (1.0, 0.0, 50, "M")),
    ],
)
def test_egfr_missing_or_invalid_inputs_give_nan(function, args):
    assert np.isnan(function(*args))


def test_egfr_ckd_epi_2009_missing_race_gives_nan():
    got = egfr_ckd_epi_2009(1.0, 24, "M", black=[False, None, pd.NA])
    assert _display(got[0], 3) == "104.877"
    assert np.isnan(got[1]) and np.isnan(got[2])


def test_egfr_ckd_epi_2021_sex_spelling_is_case_insensitive():
    assert _display(egfr_ckd_epi_2021(0.7, 40, "f")) == "112.1"


# --------------------------------------------------------------------------------------------
# §2 KDIGO categories
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "egfr, expected",
    [
        # G1 / G2 boundary at 90 (90 is G1)
        (120.0, "G1"),
        (90.0, "G1"),
        (89.999, "G2"),
        # G2 / G3a at 60; full precision decides (59.96 displays 60.0 but is G3a)
        (60.0, "G2"),
        (59.96, "G3a"),
        # G3a / G3b at 45
        (45.0, "G3a"),
        (44.999, "G3b"),
        # G3b / G4 at 30
        (30.0, "G3b"),
        (29.999, "G4"),
        # G4 / G5 at 15
        (15.0, "G4"),
        (14.999, "G5"),
        (0.0, "G5"),
        # missing
        (np.nan, None),
        (None, None),
    ],
)
def test_kdigo_g_category_boundaries(egfr, expected):
    assert kdigo_g_category(egfr) == expected


def test_kdigo_g_category_array_keeps_shape_and_missing():
    got = kdigo_g_category(pd.Series([95.0, None, 14.0]))
    assert list(got) == ["G1", None, "G5"]


@pytest.mark.parametrize(
    "uacr_mg_g, expected",
    [
        # A1 / A2 at 30 (30 is A2)
        (0.0, "A1"),
        (29.99, "A1"),
        (30.0, "A2"),
        # A2 / A3 above 300 (300 is A2)
        (300.0, "A2"),
        (300.1, "A3"),
        # missing
        (np.nan, None),
    ],
)
def test_kdigo_a_category_boundaries(uacr_mg_g, expected):
    assert kdigo_a_category(uacr_mg_g) == expected


@pytest.mark.parametrize(
    "uacr_mg_mmol, expected_mg_g, expected_a",
    [
        (3.0, "26.52", "A1"),  # A2 on the native mg/mmol cut-off: the flagged case in §2
        (3.2, "28.29", "A1"),
    ],
)
def test_uacr_mg_mmol_to_mg_g_reference_vectors(uacr_mg_mmol, expected_mg_g, expected_a):
    mg_g = uacr_mg_mmol_to_mg_g(uacr_mg_mmol)
    assert _display(mg_g, 2) == expected_mg_g
    assert kdigo_a_category(mg_g) == expected_a


def test_uacr_mg_g_to_mg_mmol_reference_vector():
    assert _display(uacr_mg_g_to_mg_mmol(25.0), 2) == "2.83"
    assert kdigo_a_category(25.0) == "A1"


KDIGO_HEAT_MAP = [
    # G1 and G2
    ("G1", "A1", "low"), ("G1", "A2", "moderately increased"), ("G1", "A3", "high"),
    ("G2", "A1", "low"), ("G2", "A2", "moderately increased"), ("G2", "A3", "high"),
    # G3a
    ("G3a", "A1", "moderately increased"), ("G3a", "A2", "high"), ("G3a", "A3", "very high"),
    # G3b
    ("G3b", "A1", "high"), ("G3b", "A2", "very high"), ("G3b", "A3", "very high"),
    # G4 and G5
    ("G4", "A1", "very high"), ("G4", "A2", "very high"), ("G4", "A3", "very high"),
    ("G5", "A1", "very high"), ("G5", "A2", "very high"), ("G5", "A3", "very high"),
    # missing or unknown
    (None, "A1", None), ("G2", None, None), ("G9", "A1", None),
]  # fmt: skip


@pytest.mark.parametrize("g, a, expected", KDIGO_HEAT_MAP)
def test_kdigo_risk_category_heat_map(g, a, expected):
    assert kdigo_risk_category(g, a) == expected


def test_kdigo_risk_category_vectorized():
    got = kdigo_risk_category(np.array(["G1", "G3b", None], dtype=object), ["A2", "A1", "A1"])
    assert list(got) == ["moderately increased", "high", None]


# --------------------------------------------------------------------------------------------
# §3 kidney endpoints: % decline
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "baseline, value, expected",
    [
        (50.0, 29.0, "42.0"),
        (50.0, 31.0, "38.0"),
        (50.0, 35.0, "30.0"),
        (50.0, 55.0, "-10.0"),  # a rise is a negative decline
    ],
)
def test_percent_decline_reference_vectors(baseline, value, expected):
    assert _display(percent_decline(baseline, value)) == expected


@pytest.mark.parametrize("baseline, value", [(0.0, 10.0), (np.nan, 10.0), (50.0, np.nan)])
def test_percent_decline_missing_or_zero_baseline_gives_nan(baseline, value):
    assert np.isnan(percent_decline(baseline, value))


@pytest.mark.parametrize(
    "baseline, value, pct, expected",
    [
        # exactly on the threshold counts
        (50.0, 35.0, 30, True),
        (50.0, 30.0, 40, True),
        (50.0, 21.5, 57, True),
        # float traps: (1 - 0.30) * 22 is 15.399999999999999 in floating point
        (22.0, 15.4, 30, True),
        (23.0, 13.8, 40, True),
        # just short of the threshold
        (50.0, 35.000001, 30, False),
        (50.0, 30.1, 40, False),
        # missing
        (np.nan, 10.0, 30, False),
        (50.0, np.nan, 30, False),
    ],
)
def test_meets_decline_thresholds(baseline, value, pct, expected):
    assert bool(meets_decline(baseline, value, pct)) is expected


# --------------------------------------------------------------------------------------------
# §3 sustained decline
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pct, expected",
    [
        (30, (90, 120)),  # day 90 = 29 (-42%), day 120 = 31 (-38%): both meet 30%
        (40, (None, None)),  # day 120 fails 40%, so the day-90 value is unconfirmed
    ],
)
def test_first_sustained_decline_reference_vector(pct, expected):
    assert first_sustained_decline([90, 120], [29.0, 31.0], 50.0, pct) == expected


@pytest.mark.parametrize(
    "days, values, expected",
    [
        # confirmation exactly 28 days later counts
        ([28, 56], [30.0, 30.0], (28, 56)),
        # 27 days is too soon; the next meeting value confirms
        ([28, 55, 84], [30.0, 30.0, 30.0], (28, 84)),
        # a value in between that fails breaks the run; the later run is confirmed
        ([28, 42, 56, 84, 112], [30.0, 40.0, 30.0, 30.0, 30.0], (56, 84)),
        # only the last value meets: unconfirmed, not an event
        ([28, 56, 84], [45.0, 44.0, 30.0], (None, None)),
        # a run that ends unconfirmed at the last visit
        ([28, 84, 100], [45.0, 30.0, 30.0], (None, None)),
        # missing values are not measurements (they neither meet nor fail)
        ([28, 42, 56], [30.0, np.nan, 30.0], (28, 56)),
        # input order does not matter
        ([56, 28], [30.0, 30.0], (28, 56)),
        # never met
        ([28, 56], [49.0, 48.0], (None, None)),
        ([], [], (None, None)),
    ],
)
def test_first_sustained_decline_scenarios(days, values, expected):
    assert first_sustained_decline(days, values, 50.0, 30) == expected


def test_first_sustained_decline_unconfirmed_last_when_sap_counts_it():
    assert first_sustained_decline([28, 84, 100], [45.0, 30.0, 30.0], 50.0, 30, count_unconfirmed_last=True) == (84, None)


def test_first_sustained_decline_custom_gap():
    # CREDENCE confirmed doubling of Scr >= 30 days later.
    assert first_sustained_decline([10, 39, 40], [30.0, 30.0, 30.0], 50.0, 30, min_gap_days=30) == (10, 40)


def test_first_sustained_decline_with_dates():
    days = [dt.date(2024, 3, 1), dt.date(2024, 3, 29)]
    assert first_sustained_decline(days, [30.0, 30.0], 50.0, 30) == (pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-29"))


@pytest.mark.parametrize(
    "pct, expected",
    [
        (30, 90),
        (40, 90),  # unconfirmed variant: day 90 alone is enough
        (57, None),
    ],
)
def test_first_decline_reference_vector(pct, expected):
    assert first_decline([90, 120], [29.0, 31.0], 50.0, pct) == expected


# --------------------------------------------------------------------------------------------
# §3 KDIGO AKI
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values, expected_stage",
    [
        ([1.0, 1.3], 1),  # 0.3 rise within 48 h
        ([1.0, 1.29], 0),
        ([0.9, 1.2], 1),  # 1.2 - 0.9 >= 0.3 is False in float; must still be stage 1
        ([1.0, 2.0], 2),
        ([1.0, 3.0], 3),
        ([3.0, 4.0], 3),  # >= 4.0 mg/dL with AKI present (1.0 rise)
    ],
)
def test_aki_stage_kdigo_reference_vectors(values, expected_stage):
    # Day 0 is the baseline draw, day 2 is 48 h later.
    result = aki_stage_kdigo([0, 2], values)
    assert result == AkiResult(expected_stage, 2 if expected_stage else None)


@pytest.mark.parametrize(
    "times, values, baseline, expected",
    [
        # day resolution: calendar dates 2 days apart are within 48 h, 3 days apart are not
        ([dt.date(2024, 1, 1), dt.date(2024, 1, 3)], [1.0, 1.3], None, AkiResult(1, pd.Timestamp("2024-01-03"))),
        ([dt.date(2024, 1, 1), dt.date(2024, 1, 4)], [1.0, 1.3], None, AkiResult(0, None)),
        # exact times: 48 h counts, 49 h does not
        (pd.to_datetime(["2024-01-01 08:00", "2024-01-03 08:00"]), [1.0, 1.3], None, AkiResult(1, pd.Timestamp("2024-01-03 08:00"))),
        (pd.to_datetime(["2024-01-01 08:00", "2024-01-03 09:00"]), [1.0, 1.3], None, AkiResult(0, None)),
        # study baseline given apart from the series: no value in the prior 7 days, so the
        # ratio uses the baseline (sparse trial visits)
        ([30], [1.6], 1.0, AkiResult(1, 30)),
        ([30], [2.0], 1.0, AkiResult(2, 30)),
        # with a value in the prior 7 days, the lowest such value is the reference
        ([0, 10, 14], [1.0, 1.4, 1.6], None, AkiResult(0, None)),
        ([0, 5, 9], [1.0, 0.8, 1.25], None, AkiResult(1, 9)),  # 1.25 / 0.8 = 1.56
        # >= 4.0 mg/dL without AKI (slow rise, ratio 1.17) is not stage 3
        ([0, 30], [3.5, 4.1], None, AkiResult(0, None)),
        # worst stage, first reached: stage 2 on day 4 and again on day 6
        ([0, 2, 4, 6], [1.0, 1.6, 2.1, 2.2], None, AkiResult(2, 4)),
        # missing values are skipped
        ([0, 1, 2], [1.0, np.nan, 1.3], None, AkiResult(1, 2)),
    ],
)
def test_aki_stage_kdigo_scenarios(times, values, baseline, expected):
    assert aki_stage_kdigo(times, values, baseline) == expected


def test_aki_stage_by_measurement_in_input_order():
    stages = aki_stage_by_measurement([4, 0, 2], [2.1, 1.0, 1.6])
    assert stages.tolist() == [2, 0, 1]


def test_aki_stage_kdigo_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        aki_stage_kdigo([0, 1], [1.0])


# --------------------------------------------------------------------------------------------
# §3 eGFR slope
# --------------------------------------------------------------------------------------------
SLOPE_DAYS = [0, 28, 84, 182, 364]
SLOPE_EGFR = [48.0, 44.5, 45.2, 43.1, 41.0]


def test_egfr_slope_per_year_total_reference_vector():
    assert _display(egfr_slope_per_year(SLOPE_DAYS, SLOPE_EGFR), 3) == "-5.794"


def test_egfr_slope_per_year_chronic_reference_vector():
    assert _display(egfr_slope_per_year(SLOPE_DAYS, SLOPE_EGFR, start_day=28), 3) == "-4.363"
    assert _display(egfr_slope_per_year(SLOPE_DAYS[1:], SLOPE_EGFR[1:]), 3) == "-4.363"


@pytest.mark.parametrize(
    "days, egfr",
    [
        ([0, 0], [48.0, 47.0]),  # one distinct time
        ([0, 28], [48.0, np.nan]),  # one complete pair
        ([], []),
    ],
)
def test_egfr_slope_per_year_too_few_times_gives_nan(days, egfr):
    assert np.isnan(egfr_slope_per_year(days, egfr))
