"""Tests for dashboard.liver against clinical_reference §6 (Hy's law, eDISH, R ratio).

ULNs as in §6: ALT 40, TBL 1.2, ALP 120. Inputs are written as value/ULN.
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.liver import hys_law_quadrant, is_potential_hys_law, liver_injury_pattern, r_ratio

ALT_ULN, TBL_ULN, ALP_ULN = 40.0, 1.2, 120.0


# --------------------------------------------------------------------------------------------
# §6 vectors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "alt, tbl, alp, alt_rule, quadrant, hys_law",
    [
        # ALT 150, TBL 3.0, ALP 150: Hy's law
        (150, 3.0, 150, "ge", "possible Hy's law", True),
        # same with ALP 300 (2.5 × ULN): upper right but not Hy's law
        (150, 3.0, 300, "ge", "possible Hy's law", False),
        # ALT 150, TBL 1.0: Temple's corollary
        (150, 1.0, 100, "ge", "Temple's corollary", False),
        # ALT 60, TBL 3.0: upper left
        (60, 3.0, 100, "ge", "hyperbilirubinemia", False),
        # ALT 120 (= 3 × ULN), TBL 2.5: Hy's law under >=3, not under >3
        (120, 2.5, 100, "ge", "possible Hy's law", True),
        (120, 2.5, 100, "gt", "hyperbilirubinemia", False),
    ],
)
def test_hys_law_reference_vectors(alt, tbl, alp, alt_rule, quadrant, hys_law):
    assert hys_law_quadrant(alt / ALT_ULN, tbl / TBL_ULN, alt_rule=alt_rule) == quadrant
    assert is_potential_hys_law(alt / ALT_ULN, tbl / TBL_ULN, alp / ALP_ULN, alt_rule=alt_rule) is hys_law


# --------------------------------------------------------------------------------------------
# boundaries (each line exactly)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "alt_x_uln, tbl_x_uln, alt_rule, expected",
    [
        # TBL exactly 2 × ULN is not above the line
        (4.0, 2.0, "ge", "Temple's corollary"),
        (4.0, 2.4 / 1.2, "ge", "Temple's corollary"),
        (4.0, 2.01, "ge", "possible Hy's law"),
        # ALT exactly 3 × ULN, including a float ratio that lands 1 ulp above 3
        (3.0, 1.0, "ge", "Temple's corollary"),
        (3.6 / 1.2, 1.0, "gt", "normal"),
        (2.99, 1.0, "ge", "normal"),
        (3.01, 1.0, "gt", "Temple's corollary"),
        # missing
        (np.nan, 1.0, "ge", None),
        (4.0, None, "ge", None),
    ],
)
def test_hys_law_quadrant_boundaries(alt_x_uln, tbl_x_uln, alt_rule, expected):
    assert hys_law_quadrant(alt_x_uln, tbl_x_uln, alt_rule=alt_rule) == expected


@pytest.mark.parametrize(
    "alp_x_uln, expected",
    [
        (1.99, True),
        (2.0, False),  # ALP must be below 2 × ULN
        (np.nan, False),  # missing ALP cannot rule out cholestasis
    ],
)
def test_is_potential_hys_law_alp_boundary(alp_x_uln, expected):
    assert is_potential_hys_law(4.0, 3.0, alp_x_uln) is expected


def test_hys_law_vectorized():
    got = hys_law_quadrant(np.array([150, 150, 60]) / ALT_ULN, np.array([3.0, 1.0, 3.0]) / TBL_ULN)
    assert list(got) == ["possible Hy's law", "Temple's corollary", "hyperbilirubinemia"]
    flags = is_potential_hys_law(np.array([150, 150]) / ALT_ULN, 3.0 / TBL_ULN, np.array([150, 300]) / ALP_ULN)
    assert flags.tolist() == [True, False]


def test_hys_law_quadrant_rejects_unknown_rule():
    with pytest.raises(ValueError, match="alt_rule must be 'ge'"):
        hys_law_quadrant(4.0, 3.0, alt_rule=">=")


# --------------------------------------------------------------------------------------------
# R ratio and pattern
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "alt, alp, r, pattern",
    [
        # §6 Hy's law vector: (150/40)/(150/120) = 3.0, mixed
        (150, 150, 3.0, "mixed"),
        # boundaries: R = 5 hepatocellular, R = 2 cholestatic
        (200, 120, 5.0, "hepatocellular"),
        (80, 120, 2.0, "cholestatic"),
        (400, 120, 10.0, "hepatocellular"),
        (40, 240, 0.5, "cholestatic"),
    ],
)
def test_r_ratio_and_liver_injury_pattern(alt, alp, r, pattern):
    got = r_ratio(alt / ALT_ULN, alp / ALP_ULN)
    assert got == pytest.approx(r, abs=1e-12)
    assert liver_injury_pattern(got) == pattern


@pytest.mark.parametrize("alt_x_uln, alp_x_uln", [(3.0, 0.0), (np.nan, 1.0), (3.0, None)])
def test_r_ratio_missing_or_zero_alp_gives_nan(alt_x_uln, alp_x_uln):
    assert np.isnan(r_ratio(alt_x_uln, alp_x_uln))


def test_liver_injury_pattern_missing_and_vector():
    assert list(liver_injury_pattern([4.99, 2.01, np.nan])) == ["mixed", "mixed", None]
