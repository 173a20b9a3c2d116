"""Tests for dashboard.units against clinical_reference §8 (and §1 for creatinine's 88.42).

Each factor is checked on one value with the expected SI result written out; results are
compared with an absolute tolerance of 1e-9 unless stated.
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.units import SI_CONVERSIONS, bun_to_urea_mg_dl, normalize_unit, to_si


@pytest.mark.parametrize(
    "analyte, value, unit, to_unit, expected, expected_unit",
    [
        # renal
        ("creatinine", 1.0, "mg/dL", None, 88.42, "umol/L"),
        ("creatinine", 2.0, "mg/dL", None, 176.84, "umol/L"),
        ("bun", 10.0, "mg/dL", None, 3.57, "mmol/L"),  # as urea
        ("urea", 10.0, "mg/dL", None, 1.665, "mmol/L"),
        ("uric acid", 6.0, "mg/dL", None, 356.88, "umol/L"),
        # metabolic
        ("glucose", 100.0, "mg/dL", None, 5.551, "mmol/L"),
        ("cholesterol", 200.0, "mg/dL", None, 5.172, "mmol/L"),
        ("triglycerides", 150.0, "mg/dL", None, 1.6935, "mmol/L"),
        ("hba1c", 7.0, "%", None, 52.99519020550940, "mmol/mol"),
        # proteins and liver
        ("albumin", 4.0, "g/dL", None, 40.0, "g/L"),
        ("bilirubin", 1.0, "mg/dL", None, 17.10, "umol/L"),
        # electrolytes and minerals
        ("potassium", 4.0, "mEq/L", None, 4.0, "mmol/L"),
        ("sodium", 140.0, "mEq/L", None, 140.0, "mmol/L"),
        ("calcium", 10.0, "mg/dL", None, 2.495, "mmol/L"),
        ("phosphate", 4.0, "mg/dL", None, 1.2916, "mmol/L"),
        # haematology
        ("hemoglobin", 13.0, "g/dL", None, 130.0, "g/L"),
        ("hemoglobin", 13.0, "g/dL", "mmol/L", 8.0678, "mmol/L"),
        ("cell count", 250000.0, "/uL", None, 250.0, "10^9/L"),
        ("cell count", 250000.0, "/mm3", None, 250.0, "10^9/L"),
        ("cell count", 250.0, "10^3/uL", None, 250.0, "10^9/L"),
    ],
)
def test_to_si_each_factor(analyte, value, unit, to_unit, expected, expected_unit):
    got, got_unit = to_si(analyte, value, unit, to_unit=to_unit)
    assert got == pytest.approx(expected, abs=1e-9)
    assert got_unit == expected_unit


def test_to_si_hba1c_known_pairs():
    # NGSP 6.5% = IFCC 48 mmol/mol, 7.0% = 53 mmol/mol (integers as reported).
    got, _ = to_si("HbA1c", np.array([6.5, 7.0]), "%")
    assert np.round(got).tolist() == [48.0, 53.0]


def test_to_si_glucose_factor_agrees_with_division_by_18_016():
    # 0.05551 (tabled) vs ÷ 18.016: same at 2 dp (100 mg/dL = 5.55 mmol/L).
    got, _ = to_si("glucose", 100.0, "mg/dL")
    assert round(got, 2) == 5.55


def test_bun_to_urea_mg_dl():
    assert bun_to_urea_mg_dl(10.0) == pytest.approx(21.44, abs=1e-9)


@pytest.mark.parametrize(
    "spelling",
    [
        # micro sign, Greek mu, "mc" and ASCII u
        "umol/L",
        "µmol/L",
        "μmol/L",
        "mcmol/L",
        "umol/l",
        " µmol / L ",
    ],
)
def test_to_si_already_si_unit_spellings(spelling):
    assert to_si("creatinine", 88.42, spelling) == (88.42, "umol/L")


@pytest.mark.parametrize("spelling", ["mg/dL", "mg/dl", "MG/DL", "mg / dL"])
def test_to_si_conventional_unit_spellings(spelling):
    got, unit = to_si("creatinine", 1.0, spelling)
    assert (got, unit) == (pytest.approx(88.42), "umol/L")


@pytest.mark.parametrize(
    "spelling, canonical",
    [
        ("µmol/L", "umol/L"),
        ("mEq/l", "mEq/L"),
        ("x10^9/L", "10^9/L"),
        ("10*9/L", "10^9/L"),
        ("cells/µL", "/uL"),
        ("cells/mcL", "/uL"),
        ("K/uL", "10^3/uL"),
        ("/mm³", "/mm3"),
        ("furlongs", "furlongs"),  # unknown: returned trimmed, for the error message
    ],
)
def test_normalize_unit(spelling, canonical):
    assert normalize_unit(spelling) == canonical


@pytest.mark.parametrize(
    "analyte, value, unit, expected",
    [
        ("CREAT", 1.0, "mg/dL", 88.42),  # ADaM PARAMCD
        ("Creatinine", 1.0, "mg/dL", 88.42),
        ("HGB", 13.0, "g/dL", 130.0),
        ("PLAT", 250000.0, "cells/µL", 250.0),
    ],
)
def test_to_si_analyte_aliases(analyte, value, unit, expected):
    assert to_si(analyte, value, unit)[0] == pytest.approx(expected, abs=1e-9)


def test_to_si_vectorized_keeps_missing():
    got, unit = to_si("bilirubin", [1.0, np.nan, 2.0], "mg/dL")
    assert got[0] == pytest.approx(17.1) and np.isnan(got[1]) and got[2] == pytest.approx(34.2)
    assert unit == "umol/L"


@pytest.mark.parametrize(
    "analyte, unit, message",
    [
        ("creatinine", "mg/mL", "no conversion for analyte 'creatinine' from unit 'mg/mL'"),
        ("glucose", "furlongs", "no conversion for analyte 'glucose' from unit 'furlongs'"),
        ("unobtainium", "mg/dL", "unknown analyte 'unobtainium'"),
    ],
)
def test_to_si_unknown_raises_value_error_naming_analyte_and_unit(analyte, unit, message):
    with pytest.raises(ValueError, match=message):
        to_si(analyte, 1.0, unit)


def test_to_si_unknown_target_unit():
    with pytest.raises(ValueError, match="has no SI unit 'umol/L'"):
        to_si("hemoglobin", 13.0, "g/dL", to_unit="umol/L")


def test_si_conversions_table_has_every_reference_analyte():
    assert set(SI_CONVERSIONS) == {
        "creatinine", "bun", "urea", "glucose", "albumin", "bilirubin", "cholesterol", "triglycerides",
        "potassium", "sodium", "hemoglobin", "uric acid", "calcium", "phosphate", "hba1c", "cell count",
    }  # fmt: skip
