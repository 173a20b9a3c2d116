"""A tiny hand-made lab extract for tests/test_labs.py (datasette style: literal tables + a factory).

Seven subjects, first dose 2023-01-10 for all: Placebo L-101..L-103, "Drug 10 mg" L-201..L-204.
L-204 has no lab records (ADSL is larger than ADLB, so denominators must come from the data).
Visits: Baseline 2023-01-09 (ABLFL), Week 2 2023-01-24, Week 4 2023-02-07, End of Treatment
(AVISITN 99) repeating a Week 4 value, unscheduled "." 2023-02-01, pre-dose unscheduled 2023-01-02.

Reference ranges: CREAT 60-110 umol/L; ALT 0.10-0.55 ukat/L (so 1.65/0.55 = 2.9999999999999996,
a 3 x ULN boundary in floating point); AST 10-40 U/L; BILI 3-20 umol/L (40 = exactly 2 x ULN);
ALP 40-120 U/L; HGB 7.5-10.0 mmol/L (graded after conversion to g/L); K without a range (the
categories fall back to ANRIND/BNRIND).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

STUDY = "LABS01"
PLACEBO, DRUG = "Placebo", "Drug 10 mg"
BL, W2, UNS, W4 = "2023-01-09", "2023-01-24", "2023-02-01", "2023-02-07"
PRE = "2023-01-02"

ADSL = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX", "RACE", "SAFFL", "ITTFL",
             "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "TRTSDT", "TRTEDT"],
    data=[[STUDY, f"L-{s}", str(s), "01", age, sex, "WHITE", "Y", "Y", arm, code, arm, code, "2023-01-10", "2023-03-01"]
          for s, age, sex, arm, code in [
              (101, "54", "F", PLACEBO, "0"), (102, "61", "M", PLACEBO, "0"), (103, "47", "F", PLACEBO, "0"),
              (201, "58", "M", DRUG, "10"), (202, "66", "F", DRUG, "10"), (203, "50", "M", DRUG, "10"),
              (204, "44", "F", DRUG, "10")]],
)

# ADAE is a required domain; one record is enough here.
ADAE = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AESER", "ASTDT", "TRTEMFL"],
    data=[[STUDY, "L-101", "1", "HEADACHE", "Headache", "Nervous system disorders", "MILD", "N", "2023-01-12", "Y"]],
)

_COLS = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "ADT", "ADY", "AVISIT", "AVISITN", "ABLFL",
         "ANRLO", "ANRHI", "ANRIND", "BNRIND", "DTYPE"]
_VISIT = {BL: ("-1", "Baseline", "0"), W2: ("15", "Week 2", "2"), W4: ("29", "Week 4", "4"),
          UNS: ("23", ".", ""), PRE: ("-8", ".", "")}
_PARAMS = {
    "CREAT": ("Creatinine (umol/L)", "umol/L", "60", "110"),
    "ALT": ("Alanine Aminotransferase (ukat/L)", "ukat/L", "0.10", "0.55"),
    "AST": ("Aspartate Aminotransferase (U/L)", "U/L", "10", "40"),
    "BILI": ("Bilirubin (umol/L)", "umol/L", "3", "20"),
    "ALP": ("Alkaline Phosphatase (U/L)", "U/L", "40", "120"),
    "HGB": ("Hemoglobin (mmol/L)", "mmol/L", "7.5", "10.0"),
    "K": ("Potassium (mmol/L)", "mmol/L", "", ""),
    "_CREAT": ("Creatinine (umol/L) change from previous visit, relative to normal range", "", "", ""),
}


def _rec(subj, code, value, date, visit=None, anrind="", bnrind="", dtype=""):
    """One ADLB row; the visit defaults from the date (End of Treatment must be named)."""
    label, unit, lo, hi = _PARAMS[code]
    ady, avisit, avisitn = _VISIT[date]
    if visit == "End of Treatment":
        avisit, avisitn = visit, "99"
    return [STUDY, f"L-{subj}", code, label, value, unit, date, ady, avisit, avisitn, "Y" if date == BL else "",
            lo, hi, anrind, bnrind, dtype]


ADLB = pd.DataFrame(columns=_COLS, data=[
    # -- creatinine: the shift table (range 60-110) ------------------------------------------
    _rec(101, "CREAT", "70", BL), _rec(101, "CREAT", "120", W2), _rec(101, "CREAT", "55", W4),  # N -> H and L
    _rec(102, "CREAT", "115", BL), _rec(102, "CREAT", "100", W2),                                # H -> N
    _rec(102, "CREAT", "300", W4, dtype="LOV"),                                                  # derived: ignored
    _rec(103, "CREAT", "50", BL), _rec(103, "CREAT", "65", W2), _rec(103, "CREAT", "130", UNS),  # L -> N, unscheduled H
    _rec(201, "CREAT", "140", PRE),                                                              # pre-dose: not post
    _rec(201, "CREAT", "80", BL), _rec(201, "CREAT", "110", W2),                                 # 110 = ULN: NORMAL
    _rec(201, "CREAT", "105", W4), _rec(201, "CREAT", "105", W4, visit="End of Treatment"),      # EoT duplicate
    _rec(202, "CREAT", "90", BL),                                                                # no post-baseline
    _rec(203, "CREAT", "130", W2),                                                               # no baseline
    _rec(101, "_CREAT", "", W2), _rec(101, "_CREAT", "1", W4),                                   # "_" parameter
    # -- potassium without a range: categories from ANRIND/BNRIND ---------------------------
    _rec(101, "K", "4.0", BL, anrind="N", bnrind="N"), _rec(101, "K", "5.8", W2, anrind="H", bnrind="N"),
    # -- liver: baselines normal for everyone ------------------------------------------------
    *[_rec(s, c, v, BL) for s in (101, 102, 103, 201, 202, 203)
      for c, v in (("ALT", "0.30"), ("AST", "20"), ("BILI", "10"), ("ALP", "80"))],
    # ALT exactly 3 x ULN in floating point, bilirubin exactly 2 x ULN: Temple's corollary
    _rec(101, "ALT", "1.65", W2), _rec(101, "BILI", "40", W2), _rec(101, "ALP", "100", W2),
    # ALT 3 x ULN, bilirubin 2.05 x ULN, ALP 1.25 x ULN on one draw: potential Hy's law (>= 3 rule only)
    _rec(102, "ALT", "1.65", W2), _rec(102, "BILI", "41", W2), _rec(102, "ALP", "150", W2),
    # ALT 2.9 x ULN, bilirubin 3 x ULN: hyperbilirubinemia
    _rec(103, "ALT", "1.60", W2), _rec(103, "BILI", "60", W2),
    # ALT 5 x ULN with ALP 2.5 x ULN; bilirubin 2.5 x ULN 14 days later: upper right, not potential Hy's law
    _rec(201, "ALT", "2.75", W2), _rec(201, "ALP", "300", W2), _rec(201, "BILI", "10", W2), _rec(201, "BILI", "50", W4),
    # everything at or below the ULN
    _rec(202, "ALT", "0.55", W2), _rec(202, "BILI", "10", W2),
    # AST 3.75 x ULN, ALT 1.45 x ULN, bilirubin 2.25 x ULN, ALP 0.83 x ULN: Hy's law through AST
    _rec(203, "AST", "150", W2), _rec(203, "ALT", "0.80", W2), _rec(203, "BILI", "45", W2), _rec(203, "ALP", "100", W2),
    # -- haemoglobin in mmol/L: CTCAE anemia after conversion (6.206 mmol/L = 10 g/dL) ---------
    _rec(101, "HGB", "8.5", BL), _rec(101, "HGB", "6.0", W2),   # 9.67 g/dL: grade 2
    _rec(102, "HGB", "8.0", BL), _rec(102, "HGB", "4.9", W2),   # 7.90 g/dL: grade 3
    _rec(201, "HGB", "8.2", BL), _rec(201, "HGB", "7.0", W2),   # 11.28 g/dL, below the LLN: grade 1
])


def write_lab_extract(folder: Path, adsl: pd.DataFrame = ADSL, adlb: pd.DataFrame = ADLB) -> Path:
    """Write the extract (adsl.csv, adae.csv, adlb.csv) to ``folder`` and return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    adsl.to_csv(folder / "adsl.csv", index=False)
    ADAE.to_csv(folder / "adae.csv", index=False)
    adlb.to_csv(folder / "adlb.csv", index=False)
    return folder


def with_anl01fl(flagged: list[tuple[str, str, str]], extra: list[list] | None = None) -> pd.DataFrame:
    """ADLB plus an ANL01FL column set to 'Y' on the (USUBJID, PARAMCD, ADT) records listed, and
    ``extra`` rows (made with :func:`record`) appended."""
    adlb = ADLB.copy()
    if extra:
        adlb = pd.concat([adlb, pd.DataFrame(extra, columns=_COLS)], ignore_index=True)
    keys = set(flagged)
    adlb["ANL01FL"] = ["Y" if (u, p, d) in keys else "" for u, p, d in zip(adlb["USUBJID"], adlb["PARAMCD"], adlb["ADT"])]
    return adlb


def record(subj, code, value, date, ady, visit, visitn) -> list:
    """An extra ADLB row on any date (e.g. a retest within a visit)."""
    row = _rec(subj, code, value, BL)
    row[6:10] = [date, ady, visit, visitn]
    row[10] = ""
    return row
