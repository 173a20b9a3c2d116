"""Hand-made renal extracts for tests/test_renal_analyses.py (literal tables).

The tiny trial: every dosed subject starts on 2023-01-10 (day 0 = study day 1). Safety population:
Placebo N=3 (R-001, R-004, R-006), Drug X N=4 (R-002, R-003, R-005, R-007); R-008 is randomized
but never dosed (SAFFL=N). ADSL is larger than ADLB's subject set: R-007 has no labs, R-006 has a
baseline only, so 5 subjects (Placebo 2, Drug X 3) have a baseline and a post-baseline value.

Each subject covers scenarios (comments on the rows); every expected number in the tests is
worked out by hand from these rows. eGFR is supplied by the extract (PARAMCD EGFR), so its values
are exactly the ones written here; ``without_egfr_and_uacr`` leaves it to the loader's derivation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

STUDY = "RENAL01"
PLACEBO, DRUG = "Placebo", "Drug X"
FIRST_DOSE = dt.date(2023, 1, 10)

ADSL = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "SITEID", "AGE", "SEX", "SAFFL", "ITTFL", "TRT01P", "TRT01PN", "TRT01A",
             "TRT01AN", "TRTSDT", "TRTEDT"],
    data=[
        [STUDY, "R-001", "01", "60", "F", "Y", "Y", PLACEBO, "0", PLACEBO, "0", "2023-01-10", "2023-01-24"],
        [STUDY, "R-002", "01", "55", "M", "Y", "Y", DRUG, "1", DRUG, "1", "2023-01-10", "2023-01-24"],
        [STUDY, "R-003", "01", "50", "F", "Y", "Y", DRUG, "1", DRUG, "1", "2023-01-10", "2023-01-24"],
        [STUDY, "R-004", "02", "65", "M", "Y", "Y", PLACEBO, "0", PLACEBO, "0", "2023-01-10", "2023-01-24"],
        [STUDY, "R-005", "02", "45", "M", "Y", "Y", DRUG, "1", DRUG, "1", "2023-01-10", "2023-01-24"],
        [STUDY, "R-006", "02", "70", "F", "Y", "Y", PLACEBO, "0", PLACEBO, "0", "2023-01-10", "2023-01-24"],
        [STUDY, "R-007", "03", "40", "M", "Y", "Y", DRUG, "1", DRUG, "1", "2023-01-10", "2023-01-24"],
        [STUDY, "R-008", "03", "52", "F", "N", "Y", PLACEBO, "0", "", "", "", ""],
    ],
)

UNITS = {"EGFR": ("eGFR (mL/min/1.73m2)", "mL/min/1.73m2"), "CREAT": ("Creatinine (umol/L)", "umol/L"),
         "UACR": ("Albumin/Creatinine Ratio (mg/g)", "mg/g")}
VISITS = {"Baseline": 0, "Week 4": 4, "Week 12": 12, "Week 16": 16, "Week 26": 26, "Week 52": 52,
          "Unscheduled": None}


def lab(usubjid: str, paramcd: str, visit: str, day: int, value: float, baseline: bool | None = None) -> list:
    """One ADLB row: ``day`` days after the first dose (study day = day + 1 from the dose on)."""
    param, unit = UNITS[paramcd]
    adt = FIRST_DOSE + dt.timedelta(days=day)
    ady = day + 1 if day >= 0 else day
    avisitn = VISITS[visit]
    ablfl = ("Y" if visit == "Baseline" else "") if baseline is None else ("Y" if baseline else "")
    return [STUDY, usubjid, paramcd, param, str(value), unit, adt.isoformat(), str(ady), visit,
            "" if avisitn is None else str(avisitn), ablfl]


ADLB_COLUMNS = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "ADT", "ADY", "AVISIT", "AVISITN", "ABLFL"]

ADLB = pd.DataFrame(columns=ADLB_COLUMNS, data=[
    # R-001 (Placebo): the clinical_reference §3 slope vector (days 0, 28, 84, 182, 364 -> -5.794/yr);
    # UACR 420 -> 300 (first pair of the §4 GMR vector; 300 mg/g is still A2).
    lab("R-001", "EGFR", "Baseline", 0, 48.0), lab("R-001", "EGFR", "Week 4", 28, 44.5),
    lab("R-001", "EGFR", "Week 12", 84, 45.2), lab("R-001", "EGFR", "Week 26", 182, 43.1),
    lab("R-001", "EGFR", "Week 52", 364, 41.0),
    lab("R-001", "CREAT", "Baseline", 0, 100), lab("R-001", "CREAT", "Week 4", 28, 105),
    lab("R-001", "CREAT", "Week 12", 84, 104),
    lab("R-001", "UACR", "Baseline", 0, 420), lab("R-001", "UACR", "Week 12", 84, 300),
    # R-002 (Drug X): the §3 sustained-decline vector on visit days: baseline 50, day 84 = 29 (-42%),
    # day 112 = 31 (-38%, exactly 28 days later) -> >=30% confirmed, >=40% not; creatinine x1.875 at
    # Week 12 -> AKI stage 1 (7-day reference falls back on baseline), no doubling.
    lab("R-002", "EGFR", "Baseline", 0, 50.0), lab("R-002", "EGFR", "Week 4", 28, 47.0),
    lab("R-002", "EGFR", "Week 12", 84, 29.0), lab("R-002", "EGFR", "Week 16", 112, 31.0),
    lab("R-002", "EGFR", "Week 26", 182, 34.0),
    lab("R-002", "CREAT", "Baseline", 0, 80), lab("R-002", "CREAT", "Week 4", 28, 82),
    lab("R-002", "CREAT", "Week 12", 84, 150), lab("R-002", "CREAT", "Week 16", 112, 140),
    lab("R-002", "CREAT", "Week 26", 182, 130),
    lab("R-002", "UACR", "Baseline", 0, 880), lab("R-002", "UACR", "Week 12", 84, 910),
    # R-003 (Drug X): Week 4 drawn on day 9 (study day 10: out of the Week 4 window [15, 57), flagged
    # by the loader, kept); creatinine 1.0 -> 2.0 mg/dL there = doubling and AKI stage 2.
    lab("R-003", "EGFR", "Baseline", 0, 70.0), lab("R-003", "EGFR", "Week 4", 9, 68.0),
    lab("R-003", "EGFR", "Week 12", 84, 72.0),
    lab("R-003", "CREAT", "Baseline", 0, 88.42), lab("R-003", "CREAT", "Week 4", 9, 176.84),
    lab("R-003", "CREAT", "Week 12", 84, 100),
    lab("R-003", "UACR", "Baseline", 0, 150), lab("R-003", "UACR", "Week 12", 84, 95),
    # R-004 (Placebo): eGFR 40 -> 12 at Week 4 (-70%: >=30/40/57% and <15), recovers to 38 at
    # Week 12, so no decline is confirmed; creatinine 3.0 -> 4.0 mg/dL is x1.33: no AKI (the
    # >=4.0 mg/dL rule needs AKI present).
    lab("R-004", "EGFR", "Baseline", 0, 40.0), lab("R-004", "EGFR", "Week 4", 28, 12.0),
    lab("R-004", "EGFR", "Week 12", 84, 38.0),
    lab("R-004", "CREAT", "Baseline", 0, 265.26), lab("R-004", "CREAT", "Week 4", 28, 353.68),
    lab("R-004", "CREAT", "Week 12", 84, 270),
    lab("R-004", "UACR", "Baseline", 0, 1250), lab("R-004", "UACR", "Week 12", 84, 700),
    # R-005 (Drug X): creatinine 1.0 mg/dL on day 28, 1.3 mg/dL on day 29 (unscheduled): a 0.3 mg/dL
    # rise within 48 h = AKI stage 1 (1.3 - 1.0 >= 0.3 is False in float without the tolerance).
    lab("R-005", "EGFR", "Baseline", 0, 90.0), lab("R-005", "EGFR", "Week 4", 28, 91.0),
    lab("R-005", "EGFR", "Week 12", 84, 95.0),
    lab("R-005", "CREAT", "Baseline", 0, 88.42), lab("R-005", "CREAT", "Week 4", 28, 88.42),
    lab("R-005", "CREAT", "Unscheduled", 29, 114.946), lab("R-005", "CREAT", "Week 12", 84, 90),
    lab("R-005", "UACR", "Baseline", 0, 60), lab("R-005", "UACR", "Week 12", 84, 66),
    # R-006 (Placebo): baseline only: counted at the baseline visit, not evaluable for endpoints.
    lab("R-006", "EGFR", "Baseline", 0, 60.0), lab("R-006", "CREAT", "Baseline", 0, 90),
])


# ADAE is a required file; one unrelated event keeps it valid.
ADAE = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AESER", "ASTDT", "TRTEMFL"],
    data=[[STUDY, "R-001", "1", "HEADACHE", "Headache", "Nervous system disorders", "MILD", "N", "2023-01-12", "Y"]])


def write_extract(folder: Path, adsl: pd.DataFrame = ADSL, adlb: pd.DataFrame = ADLB) -> Path:
    """Write adsl.csv, adae.csv and adlb.csv to ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    adsl.to_csv(folder / "adsl.csv", index=False)
    ADAE.to_csv(folder / "adae.csv", index=False)
    adlb.to_csv(folder / "adlb.csv", index=False)
    return folder


def without_ablfl() -> pd.DataFrame:
    """ADLB with no ABLFL column and a screening value for R-001 on day -14 (eGFR 52): the derived
    baseline must be the day-0 value (last on or before the first dose), 48.0."""
    screening = pd.DataFrame([lab("R-001", "EGFR", "Baseline", -14, 52.0, baseline=False)], columns=ADLB_COLUMNS)
    screening["AVISIT"] = "Screening"
    screening["AVISITN"] = "-1"
    return pd.concat([screening, ADLB], ignore_index=True).drop(columns=["ABLFL"])


def without_egfr_and_uacr() -> pd.DataFrame:
    """Creatinine only (as in the CDISC pilot): the loader derives eGFR; UACR is not in the extract."""
    return ADLB[ADLB["PARAMCD"] == "CREAT"].reset_index(drop=True)
