"""Hand-made adverse-event extracts for tests/test_adverse_events.py (literal tables).

The tiny trial: Placebo N=2 (01-001, 01-004), Drug 10 mg N=3 (01-002, 01-003, 01-005) in the
safety population, plus 01-006 (randomized, never dosed, SAFFL=N) whose AE must not count.
ADSL is larger than ADAE's subject set (01-005 has no AE). Every expected number in the tests is
worked out by hand from these rows; the comments say which scenario each row covers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

STUDY = "AE01"
PLACEBO, DRUG = "Placebo", "Drug 10 mg"
CUT = "2023-06-30"

ADSL = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "SITEID", "AGE", "SEX", "SAFFL", "ITTFL", "TRT01P", "TRT01A", "TRTSDT", "TRTEDT",
             "EOSSTT", "EOSDT", "LSTALVDT", "DTHFL", "DTHDT"],
    data=[
        # obs end = EOSDT 2023-06-15 -> 165 days from 2023-01-02
        [STUDY, "01-001", "01", "54", "F", "Y", "Y", PLACEBO, PLACEBO, "2023-01-02", "2023-01-16", "COMPLETED",
         "2023-06-15", "2023-06-15", "", ""],
        # obs end = LSTALVDT (ongoing, no EOSDT) 2023-05-31
        [STUDY, "01-002", "01", "67", "M", "Y", "Y", DRUG, DRUG, "2023-01-03", "2023-01-17", "ONGOING", "",
         "2023-05-31", "", ""],
        # no EOSDT, no LSTALVDT: obs end = last date in the data (ADLB 2023-02-15) -> 43 days
        [STUDY, "01-003", "02", "45", "F", "Y", "Y", DRUG, DRUG, "2023-01-04", "2023-01-18", "", "", "", "", ""],
        # died 2023-03-05 (fatal sepsis): obs end 60 days from 2023-01-05
        [STUDY, "01-004", "02", "71", "M", "Y", "Y", PLACEBO, PLACEBO, "2023-01-05", "2023-01-19", "DISCONTINUED",
         "2023-03-05", "2023-03-05", "Y", "2023-03-05"],
        # no AE at all: obs end LSTALVDT 2023-05-31 -> 146 days from 2023-01-06
        [STUDY, "01-005", "01", "60", "M", "Y", "Y", DRUG, DRUG, "2023-01-06", "2023-01-06", "ONGOING", "",
         "2023-05-31", "", ""],
        # never dosed: not in the safety population
        [STUDY, "01-006", "02", "50", "F", "N", "Y", PLACEBO, "", "", "", "DISCONTINUED", "2023-01-08", "2023-01-08",
         "", ""],
    ],
)

_AE_COLUMNS = ["STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AETOXGR", "AESER", "AEREL",
               "AEACN", "AEOUT", "AESDTH", "ASTDT", "AENDT", "TRTEMFL", "AESIFL", "TRTA"]
GI = "Gastrointestinal disorders"
NERV = "Nervous system disorders"
INJ = "Injury, poisoning and procedural complications"
SKIN = "Skin and subcutaneous tissue disorders"
INF = "Infections and infestations"
REC = "RECOVERED/RESOLVED"

ADAE = pd.DataFrame(columns=_AE_COLUMNS, data=[
    # 01-001 (Placebo): headache twice (worst MODERATE, 2 events), both not related
    [STUDY, "01-001", "1", "HEADACHE", "Headache", NERV, "MILD", "1", "N", "NONE", "DOSE NOT CHANGED", REC, "N",
     "2023-01-10", "2023-01-12", "Y", "N", PLACEBO],
    [STUDY, "01-001", "2", "HEADACHE", "Headache", NERV, "MODERATE", "2", "N", "NOT RELATED", "NOT APPLICABLE", REC,
     "N", "2023-02-10", "2023-02-11", "Y", "N", PLACEBO],
    # 01-001: serious severe nausea 1 day after the first infusion; AEREL missing (-> related); drug interrupted
    [STUDY, "01-001", "3", "NAUSEA", "Nausea", GI, "SEVERE", "3", "Y", "", "DRUG INTERRUPTED", REC, "N",
     "2023-01-03", "2023-01-05", "Y", "N", PLACEBO],
    # 01-002 (Drug): nausea 1 day after infusion 1 (possible)
    [STUDY, "01-002", "1", "NAUSEA", "Nausea", GI, "MILD", "1", "N", "POSSIBLE", "DOSE NOT CHANGED", REC, "N",
     "2023-01-04", "2023-01-04", "Y", "N", DRUG],
    # 01-002: infusion reaction on the infusion day, AESIFL=Y, drug withdrawn
    [STUDY, "01-002", "2", "INFUSION REACTION", "Infusion related reaction", INJ, "MODERATE", "2", "N", "PROBABLE",
     "DRUG WITHDRAWN", REC, "N", "2023-01-03", "2023-01-03", "Y", "Y", DRUG],
    # 01-002: vomiting still ongoing (no AENDT), unlikely related
    [STUDY, "01-002", "3", "VOMITING", "Vomiting", GI, "MILD", "1", "N", "UNLIKELY RELATED", "NOT APPLICABLE",
     "NOT RECOVERED/NOT RESOLVED", "N", "2023-03-01", "", "Y", "N", DRUG],
    # 01-002: after the data cut 2023-06-30 (counts only without a cut)
    [STUDY, "01-002", "4", "HEADACHE", "Headache", NERV, "MILD", "1", "N", "NONE", "NOT APPLICABLE", REC, "N",
     "2023-07-15", "2023-07-16", "Y", "N", DRUG],
    # 01-003 (Drug): pre-treatment headache (not treatment-emergent)
    [STUDY, "01-003", "1", "HEADACHE", "Headache", NERV, "MILD", "1", "N", "REMOTE", "NOT APPLICABLE", REC, "N",
     "2022-12-30", "2022-12-31", "N", "N", DRUG],
    # 01-003: rash with a missing onset date (treatment-emergent), unlikely related
    [STUDY, "01-003", "2", "RASH", "Rash", SKIN, "MILD", "1", "N", "UNLIKELY RELATED", "NOT APPLICABLE",
     "NOT RECOVERED/NOT RESOLVED", "N", "", "", "Y", "N", DRUG],
    # 01-003: diarrhoea with no AESEV, grade 2 (-> MODERATE), related (Y), 2 days after infusion 3
    [STUDY, "01-003", "3", "DIARRHOEA", "Diarrhoea", GI, "", "2", "N", "Y", "DOSE NOT CHANGED", REC, "N",
     "2023-01-20", "2023-01-22", "Y", "N", DRUG],
    # 01-004 (Placebo): fatal serious sepsis
    [STUDY, "01-004", "1", "SEPSIS", "Sepsis", INF, "SEVERE", "5", "Y", "NONE", "NOT APPLICABLE", "FATAL", "Y",
     "2023-03-01", "2023-03-05", "Y", "N", PLACEBO],
    # 01-006: not in the safety population
    [STUDY, "01-006", "1", "HEADACHE", "Headache", NERV, "MILD", "1", "N", "NONE", "NOT APPLICABLE", REC, "N",
     "2023-01-07", "2023-01-07", "Y", "N", ""],
])

ADEX = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXOCCUR", "ASTDT", "AENDT", "AVISITN"],
    data=[
        [STUDY, "01-001", "1", "PLACEBO", "0", "Y", "2023-01-02", "2023-01-02", "1"],
        [STUDY, "01-001", "2", "PLACEBO", "0", "Y", "2023-01-09", "2023-01-09", "2"],
        [STUDY, "01-001", "3", "PLACEBO", "0", "Y", "2023-01-16", "2023-01-16", "3"],
        [STUDY, "01-002", "1", "DRUG", "10", "Y", "2023-01-03", "2023-01-03", "1"],
        [STUDY, "01-002", "2", "DRUG", "10", "Y", "2023-01-10", "2023-01-10", "2"],
        [STUDY, "01-002", "3", "DRUG", "10", "Y", "2023-01-17", "2023-01-17", "3"],
        [STUDY, "01-003", "1", "DRUG", "10", "Y", "2023-01-04", "2023-01-04", "1"],
        [STUDY, "01-003", "2", "DRUG", "10", "Y", "2023-01-18", "2023-01-18", "2"],
        # a planned infusion NOT given (EXOCCUR=N) the day before the diarrhoea: must be ignored
        [STUDY, "01-003", "3", "DRUG", "", "N", "2023-01-19", "2023-01-19", "3"],
        [STUDY, "01-004", "1", "PLACEBO", "0", "Y", "2023-01-05", "2023-01-05", "1"],
        [STUDY, "01-004", "2", "PLACEBO", "0", "Y", "2023-01-12", "2023-01-12", "2"],
        [STUDY, "01-004", "3", "PLACEBO", "0", "Y", "2023-01-19", "2023-01-19", "3"],
        [STUDY, "01-005", "1", "DRUG", "10", "Y", "2023-01-06", "2023-01-06", "1"],
    ],
)

ADLB = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "ADT", "AVISIT", "AVISITN", "ABLFL"],
    data=[
        [STUDY, u, "K", "Potassium (mmol/L)", "4.2", "mmol/L", d, v, n, b]
        for u, d, v, n, b in [
            ("01-001", "2023-01-02", "Baseline", "0", "Y"), ("01-002", "2023-01-03", "Baseline", "0", "Y"),
            ("01-003", "2023-01-04", "Baseline", "0", "Y"), ("01-003", "2023-02-15", "Week 6", "6", ""),
            ("01-004", "2023-01-05", "Baseline", "0", "Y"), ("01-005", "2023-01-06", "Baseline", "0", "Y"),
        ]
    ],
)


def write_ae_extract(folder: Path, **overrides) -> Path:
    """Write the tiny AE extract (adsl/adae/adex/adlb CSV) to ``folder``; an override replaces a
    domain's frame (``adex=None`` leaves ADEX out)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = {"adsl": ADSL, "adae": ADAE, "adex": ADEX, "adlb": ADLB, **overrides}
    for name, frame in frames.items():
        if frame is not None:
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def two_arm_extract(folder: Path, n_per_arm: int, events: dict[str, tuple[int, int]]) -> Path:
    """A trial of ``n_per_arm`` subjects per arm (Placebo, Drug 10 mg) in which, for each PT in
    ``events``, the first k subjects of each arm (k_drug, k_placebo) have one treatment-emergent AE."""
    rows, aes = [], []
    for arm, prefix in ((DRUG, "D"), (PLACEBO, "P")):
        for i in range(n_per_arm):
            rows.append([STUDY, f"{prefix}-{i:03d}", "01", "50", "F", "Y", "Y", arm, arm, "2023-01-02", "2023-01-02",
                         "COMPLETED", "2023-04-01", "2023-04-01", "", ""])
    for pt, (k_drug, k_placebo) in events.items():
        for prefix, k, arm in (("D", k_drug, DRUG), ("P", k_placebo, PLACEBO)):
            for i in range(k):
                aes.append([STUDY, f"{prefix}-{i:03d}", str(len(aes) + 1), pt.upper(), pt, GI, "MILD", "1", "N",
                            "NONE", "NOT APPLICABLE", REC, "N", "2023-01-10", "2023-01-11", "Y", "N", arm])
    adsl = pd.DataFrame(rows, columns=ADSL.columns)
    adae = pd.DataFrame(aes, columns=_AE_COLUMNS)
    adlb = pd.DataFrame([[STUDY, r[1], "K", "Potassium (mmol/L)", "4.2", "mmol/L", "2023-01-02", "Baseline", "0", "Y"]
                         for r in rows], columns=ADLB.columns)
    return write_ae_extract(folder, adsl=adsl, adae=adae, adex=None, adlb=adlb)
