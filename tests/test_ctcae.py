"""Tests for dashboard.ctcae against clinical_reference §5 (CTCAE v5.0).

Reference limits as in §5: ULN Cr 1.2, ALT 40, TBL 1.2, ALP 120; LLN K 3.5, Hb 12.0,
platelets 150. §5 gives no potassium ULN, so 5.1 mmol/L is used; neutrophil LLN 2.0,
glucose LLN 3.9 mmol/L (70 mg/dL) and albumin LLN 35 g/L are likewise chosen here.
Boundary rows test each "x × ULN" edge on both sides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.ctcae import (
    CTCAE_LAB_TERMS,
    GRADE_MISSING,
    ctcae_grade,
    grade_alp_increased,
    grade_alt_ast_increased,
    grade_anemia,
    grade_bilirubin_increased,
    grade_creatinine_increased,
    grade_hyperkalemia,
    grade_hypoalbuminemia,
    grade_hypoglycemia,
    grade_hypokalemia,
    grade_neutrophils_decreased,
    grade_platelets_decreased,
)

CR_ULN, ALT_ULN, TBL_ULN, ALP_ULN = 1.2, 40.0, 1.2, 120.0
K_LLN, K_ULN, HB_LLN, PLT_LLN = 3.5, 5.1, 12.0, 150.0


# --------------------------------------------------------------------------------------------
# Creatinine increased
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "baseline, value, expected",
    [
        # §5 vectors
        (0.9, 1.1, 0),
        (0.9, 1.5, 2),  # 1.67 × BL
        (1.0, 1.3, 1),
        (1.0, 3.2, 3),  # > 3.0 × BL
        (2.5, 7.5, 4),  # 6.25 × ULN; exactly 3.0 × BL is only G2 by baseline
        # ULN boundaries, no baseline criterion reached (baseline 1.2)
        (1.2, 1.2, 0),  # = ULN
        (1.2, 1.21, 1),
        (1.2, 1.8, 1),  # = 1.5 × ULN (1.5 * 1.2 is 1.7999999999999998 in float)
        (1.2, 1.81, 2),
        (1.2, 3.6, 2),  # = 3.0 × ULN and = 3.0 × BL
        (1.2, 3.61, 3),
        (1.2, 7.2, 3),  # = 6.0 × ULN
        (1.2, 7.21, 4),
        # baseline criteria apply even when the value is <= ULN
        (0.7, 1.05, 0),  # = 1.5 × BL: not more than 1.5
        (0.7, 1.06, 2),  # > 1.5 × BL, below ULN
        # missing baseline: ULN criteria only
        (None, 1.5, 1),
        (np.nan, 7.3, 4),
    ],
)
def test_grade_creatinine_increased(baseline, value, expected):
    assert grade_creatinine_increased(value, CR_ULN, baseline) == expected


@pytest.mark.parametrize("value, uln", [(None, 1.2), (np.nan, 1.2), (1.5, np.nan)])
def test_grade_creatinine_increased_missing_gives_minus_one(value, uln):
    assert grade_creatinine_increased(value, uln, 0.9) == GRADE_MISSING


def test_grade_creatinine_increased_vectorized():
    got = grade_creatinine_increased(np.array([1.1, 1.5, 7.5]), CR_ULN, np.array([0.9, 0.9, 2.5]))
    assert got.tolist() == [0, 2, 4]


# --------------------------------------------------------------------------------------------
# ALT / AST increased
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "baseline, value, expected",
    [
        # §5 vectors, baseline normal (30)
        (30, 120, 1),  # = 3.0 × ULN
        (30, 130, 2),
        # baseline normal: ULN boundaries
        (30, 40, 0),
        (30, 41, 1),
        (30, 200, 2),  # = 5.0 × ULN
        (30, 201, 3),
        (30, 800, 3),  # = 20.0 × ULN
        (30, 801, 4),
        # baseline equal to ULN is still normal
        (40, 41, 1),
        # §5 vectors, baseline abnormal (60 > ULN 40): multiples of baseline
        (60, 80, 0),  # 1.33 × BL, although > ULN
        (60, 90, 1),  # = 1.5 × BL, included
        (60, 200, 2),  # 3.33 × BL
        (60, 1300, 4),  # 21.7 × BL
        # baseline abnormal: boundaries
        (60, 89.9, 0),
        (60, 180, 1),  # = 3.0 × BL
        (60, 300, 2),  # = 5.0 × BL
        (60, 301, 3),
        (60, 1200, 3),  # = 20.0 × BL
        # missing baseline: normal-baseline criteria
        (None, 130, 2),
    ],
)
def test_grade_alt_ast_increased(baseline, value, expected):
    assert grade_alt_ast_increased(value, ALT_ULN, baseline) == expected


# --------------------------------------------------------------------------------------------
# Blood bilirubin increased
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "baseline, value, expected",
    [
        # baseline normal: multiples of ULN 1.2
        (0.8, 1.2, 0),
        (0.8, 1.3, 1),
        (0.8, 1.8, 1),  # = 1.5 × ULN
        (0.8, 1.9, 2),
        (0.8, 3.6, 2),  # = 3.0 × ULN
        (0.8, 3.7, 3),
        (0.8, 12.0, 3),  # = 10.0 × ULN
        (0.8, 12.1, 4),
        # baseline abnormal (2.0 > ULN): multiples of baseline
        (2.0, 2.0, 0),  # = 1.0 × BL
        (2.0, 2.1, 1),
        (2.0, 3.0, 1),  # = 1.5 × BL
        (2.0, 3.1, 2),
        (2.0, 6.0, 2),  # = 3.0 × BL
        (2.0, 6.1, 3),
        (2.0, 20.0, 3),  # = 10.0 × BL
        (2.0, 20.1, 4),
    ],
)
def test_grade_bilirubin_increased(baseline, value, expected):
    assert grade_bilirubin_increased(value, TBL_ULN, baseline) == expected


# --------------------------------------------------------------------------------------------
# Alkaline phosphatase increased
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "baseline, value, expected",
    [
        # §5 vectors, baseline abnormal (150 > ULN 120)
        (150, 250, 0),  # 1.67 × BL
        (150, 300, 1),  # = 2.0 × BL, included
        # baseline abnormal: boundaries
        (150, 375, 1),  # = 2.5 × BL
        (150, 376, 2),
        (150, 750, 2),  # = 5.0 × BL
        (150, 751, 3),
        (150, 3000, 3),  # = 20.0 × BL
        (150, 3001, 4),
        # baseline normal: multiples of ULN 120
        (100, 120, 0),
        (100, 121, 1),
        (100, 300, 1),  # = 2.5 × ULN
        (100, 301, 2),
        (100, 600, 2),  # = 5.0 × ULN
        (100, 601, 3),
        (100, 2400, 3),  # = 20.0 × ULN
        (100, 2401, 4),
    ],
)
def test_grade_alp_increased(baseline, value, expected):
    assert grade_alp_increased(value, ALP_ULN, baseline) == expected


# --------------------------------------------------------------------------------------------
# Anemia
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "hb, lln, unit, expected",
    [
        # §5 vector
        (10.0, HB_LLN, "g/dL", 1),
        # g/dL boundaries
        (12.0, HB_LLN, "g/dL", 0),  # = LLN
        (11.9, HB_LLN, "g/dL", 1),
        (9.9, HB_LLN, "g/dL", 2),
        (8.0, HB_LLN, "g/dL", 2),
        (7.9, HB_LLN, "g/dL", 3),  # lab grades stop at 3
        # g/L
        (100.0, 120.0, "g/L", 1),
        (99.0, 120.0, "g/L", 2),
        (79.0, 120.0, "g/l", 3),
        # missing LLN: only values below the grade-2 cut-off can be graded
        (9.9, None, "g/dL", 2),
        (11.0, None, "g/dL", GRADE_MISSING),
        (None, HB_LLN, "g/dL", GRADE_MISSING),
    ],
)
def test_grade_anemia(hb, lln, unit, expected):
    assert grade_anemia(hb, lln, unit=unit) == expected


def test_grade_anemia_rejects_unknown_unit():
    with pytest.raises(ValueError, match="grade_anemia: unit 'mg/dL' is not supported"):
        grade_anemia(10.0, 12.0, unit="mg/dL")


# --------------------------------------------------------------------------------------------
# Platelet and neutrophil counts
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "count, lln, unit, expected",
    [
        # §5 vectors
        (75, PLT_LLN, "10^9/L", 1),
        (74, PLT_LLN, "10^9/L", 2),
        # boundaries
        (150, PLT_LLN, "10^9/L", 0),
        (149, PLT_LLN, "10^9/L", 1),
        (50, PLT_LLN, "10^9/L", 2),
        (49, PLT_LLN, "10^9/L", 3),
        (25, PLT_LLN, "10^9/L", 3),
        (24, PLT_LLN, "10^9/L", 4),
        # other units
        (74000, 150000, "/uL", 2),
        (74, 150, "x10^9/L", 2),
        (74, 150, "10^3/µL", 2),
    ],
)
def test_grade_platelets_decreased(count, lln, unit, expected):
    assert grade_platelets_decreased(count, lln, unit=unit) == expected


@pytest.mark.parametrize(
    "count, expected",
    [
        (2.0, 0),  # = LLN
        (1.9, 1),
        (1.5, 1),
        (1.4, 2),
        (1.0, 2),
        (0.9, 3),
        (0.5, 3),
        (0.4, 4),
    ],
)
def test_grade_neutrophils_decreased(count, expected):
    assert grade_neutrophils_decreased(count, 2.0) == expected


# --------------------------------------------------------------------------------------------
# Potassium
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        # §5 vectors
        (5.5, 1),
        (5.6, 2),
        # boundaries
        (5.1, 0),  # = ULN
        (6.0, 2),
        (6.1, 3),
        (7.0, 3),
        (7.1, 4),
    ],
)
def test_grade_hyperkalemia(value, expected):
    assert grade_hyperkalemia(value, K_ULN) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        # §5 vector
        (2.9, 3),
        # boundaries
        (3.5, 0),  # = LLN
        (3.4, 1),  # < LLN is grade 1 on lab data alone
        (3.0, 1),
        (2.5, 3),
        (2.4, 4),
    ],
)
def test_grade_hypokalemia(value, expected):
    assert grade_hypokalemia(value, K_LLN) == expected


def test_grade_hypokalemia_worst_case_convention():
    # admiral's worst case makes < LLN–3.0 grade 2.
    assert grade_hypokalemia([3.4, 2.9], K_LLN, worst_case=True).tolist() == [2, 3]


def test_grade_potassium_accepts_meq_per_l():
    assert grade_hyperkalemia(5.6, K_ULN, unit="mEq/L") == 2


# --------------------------------------------------------------------------------------------
# Hypoglycemia and hypoalbuminemia
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, lln, unit, expected",
    [
        # mmol/L
        (3.9, 3.9, "mmol/L", 0),
        (3.0, 3.9, "mmol/L", 1),
        (2.9, 3.9, "mmol/L", 2),
        (2.2, 3.9, "mmol/L", 2),
        (2.1, 3.9, "mmol/L", 3),
        (1.7, 3.9, "mmol/L", 3),
        (1.6, 3.9, "mmol/L", 4),
        # mg/dL uses CTCAE's own cut-offs 55 / 40 / 30
        (55, 70, "mg/dL", 1),
        (54, 70, "mg/dL", 2),
        (40, 70, "mg/dl", 2),
        (39, 70, "mg/dL", 3),
        (30, 70, "mg/dL", 3),
        (29, 70, "mg/dL", 4),
    ],
)
def test_grade_hypoglycemia(value, lln, unit, expected):
    assert grade_hypoglycemia(value, lln, unit=unit) == expected


@pytest.mark.parametrize(
    "value, unit, expected",
    [
        (35, "g/L", 0),  # = LLN
        (34, "g/L", 1),
        (30, "g/L", 1),
        (29, "g/L", 2),
        (20, "g/L", 2),
        (19, "g/L", 3),  # lab grades stop at 3
        # g/dL
        (3.0, "g/dL", 1),
        (2.9, "g/dL", 2),
    ],
)
def test_grade_hypoalbuminemia(value, unit, expected):
    lln = 35.0 if unit == "g/L" else 3.5
    assert grade_hypoalbuminemia(value, lln, unit=unit) == expected


# --------------------------------------------------------------------------------------------
# generic dispatch
# --------------------------------------------------------------------------------------------
def test_ctcae_lab_terms_cover_the_reference_parameters():
    assert sorted(CTCAE_LAB_TERMS) == sorted(["CREAT", "ALT", "AST", "BILI", "ALP", "HGB", "PLAT", "NEUT", "K", "GLUC", "ALB"])
    # Hyperglycemia has no lab cut-offs in v5.0.
    assert [t.term for t in CTCAE_LAB_TERMS["GLUC"]] == ["Hypoglycemia"]


def test_ctcae_grade_one_row_per_record_and_term():
    got = ctcae_grade(
        paramcd=["CREAT", "ALT", "K", "K", "HGB", "PLAT", "GLUC"],
        value=[1.5, 90, 5.6, 2.9, 95, 74, 2.0],
        lln=[None, None, K_LLN, K_LLN, 120, PLT_LLN, 3.9],
        uln=[CR_ULN, ALT_ULN, K_ULN, K_ULN, 160, 400, 5.5],
        baseline=[0.9, 60, 4.0, 4.0, 130, 200, 5.0],
        unit=[None, None, "mmol/L", "mmol/L", "g/L", None, "mmol/L"],
    )
    expected = pd.DataFrame(
        [
            # row, PARAMCD, term, direction, grade
            (0, "CREAT", "Creatinine increased", "high", 2),
            (1, "ALT", "Alanine aminotransferase increased", "high", 1),
            (2, "K", "Hyperkalemia", "high", 2),
            (2, "K", "Hypokalemia", "low", 0),
            (3, "K", "Hyperkalemia", "high", 0),
            (3, "K", "Hypokalemia", "low", 3),
            (4, "HGB", "Anemia", "low", 2),
            (5, "PLAT", "Platelet count decreased", "low", 2),
            (6, "GLUC", "Hypoglycemia", "low", 3),
        ],
        columns=["row", "PARAMCD", "term", "direction", "grade"],
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_ctcae_grade_scalar_paramcd_broadcasts():
    got = ctcae_grade("ALT", [120, 130, None], uln=ALT_ULN, baseline=30)
    assert got["grade"].tolist() == [1, 2, GRADE_MISSING]


def test_ctcae_grade_rejects_unknown_paramcd():
    with pytest.raises(ValueError, match="PARAMCD SODIUM has no CTCAE v5.0 lab grading"):
        ctcae_grade(["ALT", "SODIUM"], [50, 140], uln=[40, 145])
