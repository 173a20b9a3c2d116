"""Seeded generator of a SYNTHETIC CDISC ADaM extract modelled on trial NCT04562025.

NCT04562025 randomised adults (30-75 years) with type 2 diabetes and diabetic nephropathy 1:1 to
three weekly intravenous infusions (Days 1, 8, 15) of human umbilical-cord mesenchymal stem cells
(UC-MSC, 1x10^6 cells/kg) or placebo (saline with 1% human albumin), followed for 48 weeks from
the first infusion. Nothing written here describes a real person: there are no names and no birth
dates, the manifest title says SYNTHETIC, and the only identifiers are USUBJID-style codes.

Entry point: :func:`generate_extract`. The same arguments give byte-identical files: one
``numpy.random.default_rng`` stream per component (spawned from ``seed``), stable sorts, values
rounded to fixed decimals, and no time of generation anywhere.

Modelling choices (documented here so the loader and tests can rely on them)
----------------------------------------------------------------------------
* Randomisation and the first infusion are on the same day (Day 1): TRTSDT = RANDDT for every
  dosed subject. The first subject is randomised on 2020-09-25; enrolment spreads over ~12 months
  for 38 subjects (up to 3 years at scale), weekends rolled to the next Monday.
* Screen failures (~18% extra) get demographics, SCRNDT and EOSDT (the screen-failure decision),
  no baseline labs or vitals, and no records in any other domain.
* A randomised subject who is never dosed has ACTARM "Not Treated" (ACTARMCD "NOTTRT"), empty
  TRT01A/TRT01AN/TRTSDT, SAFFL=N, ITTFL=Y, and no ADLB/ADVS/ADEX records (withdrew before Day 1);
  ADSL lab and blood-pressure baselines are then empty.
* Visits (ADLB and ADVS share one date per visit): Baseline (AVISITN 0, Day -7..1, on or before
  the first infusion), Week 1, 2, 3, 4, 8, 12, 24, 36, 48 (AVISITN = week) with target day
  7*week+1, jitter within +/-3 days up to Week 4 and +/-7 days later. Week 1 and Week 2 samples are
  drawn before that day's infusion (infusions 2 and 3): on the infusion date when the infusion is
  given within the visit window, otherwise at the visit. HbA1c and UPROT24 are measured at
  Baseline and Weeks 12, 24, 36, 48 only.
* ADY and ASTDY: date - TRTSDT + 1 on or after TRTSDT, date - TRTSDT before (no Day 0). eGFR uses
  the ADSL AGE (age at randomisation) for every record. CHG is empty on baseline records.
* ADEX has one row per planned infusion; a missed infusion has EXOCCUR=N, empty dates and EXDOSE,
  and its reason in EXADJ. A delayed infusion (> 3 days late) also explains itself in EXADJ; when
  infusion 2 is delayed, infusion 3 moves with it ("Rescheduled after delayed infusion 2").
* Data cut: a subject is in the extract once randomised (or once the screen failure is decided);
  subjects still in screening at the cut are absent. Only records dated on or before the cut are
  kept (a missed infusion counts at its planned date); AEs still open at the cut lose AENDT and
  become NOT RECOVERED/NOT RESOLVED; subjects still in follow-up become ONGOING with empty EOSDT,
  DCSREAS and (if the death is after the cut) DTHFL/DTHDT.
* Blinded extracts are the unblinded extract minus :data:`BLINDED_COLUMNS` and the manifest's
  ``arm_order``; every other value is identical.
* Rare events on chosen completers: an AKI-like creatinine bump (x1.6-2.2 at one visit, with a
  serious "Acute kidney injury" AE), a transient ALT/AST rise (with "Alanine aminotransferase
  increased"), and from 2500 subjects up a Hy's-law-like case (ALT >= 3x ULN with bilirubin
  > 2x ULN, ALP < 2x ULN; "Drug-induced liver injury"). Deaths (~1.3%, none in 38) end with a
  fatal AE on DTHDT = EOSDT.

Planted problems (``with_problems=True``; one each, on distinct subjects, rows counted after
all planting; see :func:`_plant_problems`): ``missing_visit`` (all Week 12 ADLB records of a
subject with later visits removed, row None), ``out_of_window`` (one Week 8 ADLB record dated
Day 85), ``implausible_value`` (a post-baseline creatinine in mg/dL under AVALU umol/L),
``duplicate_record`` (an ADLB record repeated on the next row; the second copy is reported),
``unknown_subject`` (an ADLB record for NCT04562025-01-999, placed in USUBJID order),
``end_before_start`` (an ADAE AENDT before ASTDT) and ``out_of_range`` (an ADSL AGE such as 577,
on a screen failure when there is one).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from scipy.special import ndtr, ndtri

from dashboard.renal import CREATININE_UMOL_PER_MG_DL, creatinine_umol_to_mg_dl, egfr_ckd_epi_2021

__all__ = [
    "BLINDED_COLUMNS",
    "DOMAIN_COLUMNS",
    "GenerationReport",
    "PROBLEM_CHECKS",
    "PlantedProblem",
    "generate_extract",
]

# ---------------------------------------------------------------------------------------------
# Study constants
# ---------------------------------------------------------------------------------------------
STUDYID = "NCT04562025"
TITLE = "SYNTHETIC data modelled on NCT04562025: UC-MSC vs placebo in diabetic nephropathy"
ARM_ACTIVE, ARMCD_ACTIVE = "UC-MSC 1x10^6 cells/kg", "UCMSC"
ARM_PLACEBO, ARMCD_PLACEBO = "Placebo", "PBO"
ARM_SCREEN_FAILURE, ARMCD_SCREEN_FAILURE = "Screen Failure", "SCRNFAIL"
ARM_NOT_TREATED, ARMCD_NOT_TREATED = "Not Treated", "NOTTRT"
ARM_ORDER = (ARM_PLACEBO, ARM_ACTIVE)
FIRST_RANDOMISATION = datetime.date(2020, 9, 25)
SITE_01_NAME = "Renmin Hospital of Wuhan University"
SUBJECTS_PER_SITE = 50
SINGLE_SITE_MAX_SUBJECTS = 100
MIN_SUBJECTS, MAX_SUBJECTS = 2, 50_000
FILE_FORMATS = ("csv", "parquet")
MANIFEST_NAME = "extract.toml"
PROBLEMS_NAME = "problems.json"
UNKNOWN_USUBJID = f"{STUDYID}-01-999"

#: The checks a planted problem can exercise (the loader reports findings with the same keys).
PROBLEM_CHECKS = (
    "duplicate_record",
    "implausible_value",
    "end_before_start",
    "unknown_subject",
    "out_of_range",
    "missing_visit",
    "out_of_window",
)

#: Columns that name or reveal the randomised arm; none of them is written in a blinded extract.
BLINDED_COLUMNS = frozenset({
    "ARM", "ARMCD", "ACTARM", "ACTARMCD", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "TRTA", "TRTP",
    "RANDNO", "EXTRT", "EXDOSE", "EXDOSU",
})

#: Column order of each domain as written (blinded extracts drop BLINDED_COLUMNS).
DOMAIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "ADSL": (
        "STUDYID", "USUBJID", "SUBJID", "SITEID", "SITENAME", "COUNTRY", "AGE", "AGEU", "AGEGR1", "SEX",
        "RACE", "ETHNIC", "SCRNDT", "RANDDT", "RANDNO", "ARM", "ARMCD", "ACTARM", "ACTARMCD", "TRT01P",
        "TRT01PN", "TRT01A", "TRT01AN", "TRTSDT", "TRTEDT", "TRTDURD", "RANDFL", "SAFFL", "ITTFL",
        "EOSSTT", "EOSDT", "DCSREAS", "DTHFL", "DTHDT", "LSTALVDT", "HEIGHTBL", "WEIGHTBL", "BMIBL",
        "DIABDURY", "HBA1CBL", "CREATBL", "EGFRBL", "UACRBL", "SYSBPBL", "DIABPBL",
    ),
    "ADAE": (
        "STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "ASTDT", "AENDT", "ASTDY", "AENDY",
        "AESEV", "AETOXGR", "AESER", "AESHOSP", "AESDTH", "AEREL", "AEACN", "AEOUT", "TRTEMFL", "AESIFL",
        "TRTA",
    ),
    "ADLB": (
        "STUDYID", "USUBJID", "LBSEQ", "PARAMCD", "PARAM", "PARCAT1", "AVAL", "AVALU", "ADT", "ADY",
        "AVISIT", "AVISITN", "ABLFL", "BASE", "CHG", "ANRLO", "ANRHI", "ANRIND", "BNRIND", "TRTA", "TRTP",
    ),
    "ADEX": (
        "STUDYID", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXOCCUR", "ASTDT", "AENDT",
        "ASTDY", "AVISIT", "AVISITN", "EXADJ", "TRTA",
    ),
    "ADVS": (
        "STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "ADT", "ADY", "AVISIT", "AVISITN",
        "ABLFL", "BASE", "CHG", "TRTA",
    ),
}

#: Integer-valued columns (written as int64; missing stays empty). Dates are datetime64[D]
#: internally, floats float64, everything else text.
_INT_COLUMNS = frozenset({
    "AGE", "TRT01PN", "TRT01AN", "TRTDURD", "AESEQ", "ASTDY", "AENDY", "LBSEQ", "ADY", "AVISITN", "EXSEQ",
})

# Visits (AVISITN = week, target day 7*week+1) and the jitter around the target: +/-3 days up to
# Week 4, +/-7 days later (values, probabilities).
_VISIT_NAMES = ("Baseline", "Week 1", "Week 2", "Week 3", "Week 4", "Week 8", "Week 12", "Week 24",
                "Week 36", "Week 48")
_VISIT_WEEKS = np.array([0, 1, 2, 3, 4, 8, 12, 24, 36, 48])
_QUARTERLY_WEEKS = (0, 12, 24, 36, 48)
_JITTER_EARLY = (np.arange(-3, 4), np.array([0.04, 0.08, 0.18, 0.40, 0.18, 0.08, 0.04]))
_JITTER_LATE = (np.arange(-7, 8), np.array([1, 2, 3, 4, 6, 8, 10, 32, 10, 8, 6, 4, 3, 2, 1]) / 100)


@dataclasses.dataclass(frozen=True)
class _LabParam:
    paramcd: str
    param: str
    parcat1: str
    unit: str
    decimals: int
    range_m: tuple[float, float | None]
    range_f: tuple[float, float | None]
    quarterly: bool = False


# Alphabetical by PARAMCD: ADLB is sorted by USUBJID, PARAMCD, AVISITN. SI units, sex-specific ranges.
_LAB_PARAMS = (
    _LabParam("ALB", "Albumin (g/L)", "CHEMISTRY", "g/L", 1, (35, 50), (35, 50)),
    _LabParam("ALP", "Alkaline Phosphatase (U/L)", "LIVER", "U/L", 0, (45, 125), (50, 135)),
    _LabParam("ALT", "Alanine Aminotransferase (U/L)", "LIVER", "U/L", 0, (9, 50), (7, 40)),
    _LabParam("AST", "Aspartate Aminotransferase (U/L)", "LIVER", "U/L", 0, (15, 40), (13, 35)),
    _LabParam("BILI", "Bilirubin (umol/L)", "LIVER", "umol/L", 1, (3.4, 20.5), (3.4, 20.5)),
    _LabParam("CREAT", "Creatinine (umol/L)", "RENAL", "umol/L", 0, (59, 104), (45, 84)),
    _LabParam("EGFR", "eGFR CKD-EPI 2021 (mL/min/1.73m2)", "RENAL", "mL/min/1.73m2", 1, (60, None), (60, None)),
    _LabParam("GLUC", "Glucose, Fasting (mmol/L)", "METABOLIC", "mmol/L", 1, (3.9, 6.1), (3.9, 6.1)),
    _LabParam("HBA1C", "Hemoglobin A1C (%)", "METABOLIC", "%", 1, (4.0, 6.0), (4.0, 6.0), quarterly=True),
    _LabParam("HGB", "Hemoglobin (g/L)", "HEMATOLOGY", "g/L", 0, (130, 175), (115, 150)),
    _LabParam("K", "Potassium (mmol/L)", "CHEMISTRY", "mmol/L", 1, (3.5, 5.3), (3.5, 5.3)),
    _LabParam("NEUT", "Neutrophils (10^9/L)", "HEMATOLOGY", "10^9/L", 2, (1.8, 6.3), (1.8, 6.3)),
    _LabParam("PLAT", "Platelets (10^9/L)", "HEMATOLOGY", "10^9/L", 0, (125, 350), (125, 350)),
    _LabParam("UACR", "Albumin/Creatinine Ratio, Urine (mg/g)", "URINALYSIS", "mg/g", 1, (0, 30), (0, 30)),
    _LabParam("UPROT24", "Protein, 24-Hour Urine (g/24h)", "URINALYSIS", "g/24h", 2, (0, 0.15), (0, 0.15),
              quarterly=True),
    _LabParam("UREA", "Urea (mmol/L)", "RENAL", "mmol/L", 1, (2.5, 7.8), (2.5, 7.8)),
    _LabParam("WBC", "Leukocytes (10^9/L)", "HEMATOLOGY", "10^9/L", 2, (3.5, 9.5), (3.5, 9.5)),
)

# Vital signs: PARAMCD, PARAM, unit, decimals (alphabetical by PARAMCD).
_VITAL_PARAMS = (
    ("DIABP", "Diastolic Blood Pressure (mmHg)", "mmHg", 0),
    ("PULSE", "Pulse Rate (beats/min)", "beats/min", 0),
    ("SYSBP", "Systolic Blood Pressure (mmHg)", "mmHg", 0),
    ("TEMP", "Temperature (C)", "C", 1),
    ("WEIGHT", "Weight (kg)", "kg", 1),
)

_SEVERITIES = np.array(["MILD", "MODERATE", "SEVERE"], dtype=object)
_RELATEDNESS = np.array(["NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "RELATED"],
                        dtype=object)
_REL_BACKGROUND = (0.55, 0.30, 0.13, 0.02, 0.0)
_REL_INFUSION = (0.0, 0.0, 0.15, 0.45, 0.40)
_REL_PYREXIA = (0.0, 0.10, 0.50, 0.30, 0.10)
_REL_UNLIKELY = (0.50, 0.40, 0.10, 0.0, 0.0)
_REL_POSSIBLE = (0.0, 0.20, 0.60, 0.20, 0.0)
_SEV_BACKGROUND = (0.68, 0.27, 0.05)


@dataclasses.dataclass(frozen=True)
class _AeTerm:
    decod: str
    soc: str
    term: str
    days: tuple[int, int]  # duration range (AENDT - ASTDT), inclusive
    p_ongoing: float = 0.0  # chronic terms may still be open at the end of the study
    severity: tuple[float, float, float] = _SEV_BACKGROUND
    related: tuple[float, ...] = _REL_BACKGROUND
    incidence: float = 0.0  # subjects with >= 1 background event over 48 weeks, both arms
    always_serious: bool = False


_GEN = "General disorders and administration site conditions"
_INF = "Infections and infestations"
_MET = "Metabolism and nutrition disorders"
_NERV = "Nervous system disorders"
_GI = "Gastrointestinal disorders"
_INJ = "Injury, poisoning and procedural complications"
_AE_TERMS = (
    _AeTerm("Infusion related reaction", _INJ, "INFUSION REACTION", (0, 1), severity=(0.60, 0.35, 0.05),
            related=_REL_INFUSION),
    _AeTerm("Pyrexia", _GEN, "FEVER", (1, 3), related=_REL_PYREXIA, incidence=0.02),
    _AeTerm("Urinary tract infection", _INF, "URINARY TRACT INFECTION", (5, 14), incidence=0.10),
    _AeTerm("Upper respiratory tract infection", _INF, "COMMON COLD", (5, 10), incidence=0.12),
    _AeTerm("Hypoglycaemia", _MET, "LOW BLOOD SUGAR", (0, 1), incidence=0.07),
    _AeTerm("Hyperkalaemia", _MET, "HIGH POTASSIUM", (3, 14), incidence=0.04),
    _AeTerm("Acute kidney injury", "Renal and urinary disorders", "ACUTE KIDNEY INJURY", (7, 21),
            severity=(0.0, 0.5, 0.5), related=_REL_UNLIKELY, always_serious=True),
    _AeTerm("Headache", _NERV, "HEADACHE", (0, 2), incidence=0.06),
    _AeTerm("Nausea", _GI, "NAUSEA", (1, 4), incidence=0.04),
    _AeTerm("Diarrhoea", _GI, "DIARRHOEA", (1, 4), incidence=0.04),
    _AeTerm("Dizziness", _NERV, "DIZZINESS", (0, 3), incidence=0.04),
    _AeTerm("Hypertension", "Vascular disorders", "HIGH BLOOD PRESSURE", (14, 90), p_ongoing=0.3, incidence=0.05),
    _AeTerm("Peripheral oedema", _GEN, "ANKLE SWELLING", (14, 120), p_ongoing=0.3, incidence=0.04),
    _AeTerm("Fatigue", _GEN, "TIREDNESS", (3, 30), incidence=0.04),
    _AeTerm("Back pain", "Musculoskeletal and connective tissue disorders", "BACK PAIN", (3, 30), p_ongoing=0.15,
            incidence=0.04),
    _AeTerm("Rash", "Skin and subcutaneous tissue disorders", "SKIN RASH", (3, 14), incidence=0.03),
    _AeTerm("Cough", "Respiratory, thoracic and mediastinal disorders", "COUGH", (5, 21), incidence=0.04),
    _AeTerm("Fall", _INJ, "FALL AT HOME", (0, 0), incidence=0.02),
    _AeTerm("Alanine aminotransferase increased", "Investigations", "ALT INCREASED", (14, 42),
            severity=(0.3, 0.6, 0.1), related=_REL_POSSIBLE),
    _AeTerm("Drug-induced liver injury", "Hepatobiliary disorders", "DRUG-INDUCED LIVER INJURY", (30, 60),
            severity=(0.0, 0.0, 1.0), related=_REL_POSSIBLE, always_serious=True),
    _AeTerm("Myocardial infarction", "Cardiac disorders", "MYOCARDIAL INFARCTION", (0, 0)),
    _AeTerm("Cerebrovascular accident", _NERV, "STROKE", (0, 0)),
    _AeTerm("Sepsis", _INF, "SEPSIS", (0, 0)),
)
_AE = {t.decod: i for i, t in enumerate(_AE_TERMS)}
_FATAL_TERMS = ("Myocardial infarction", "Cerebrovascular accident", "Sepsis")
_PRETREATMENT_TERMS = ("Upper respiratory tract infection", "Headache", "Back pain", "Diarrhoea", "Cough")
_AE_DISCONTINUATION_TERMS = ("Rash", "Dizziness", "Peripheral oedema", "Hypertension")

# Per-infusion probability of an infusion-related reaction / post-infusion fever. The arms differ
# modestly, as the blinding tests require (no single non-treatment variable predicts the arm).
_P_IRR = {False: 0.030, True: 0.060}
_P_FEVER = {False: 0.025, True: 0.045}

# Special subjects: (rate per randomised subject, guaranteed minimum once subjects >= 20).
_RATES = {
    "never_dosed": (0.02, 1),
    "ae_discontinued": (0.015, 1),
    "other_discontinued": (0.03, 1),
    "death": (0.013, 0),
    "missed_infusion": (0.01, 1),
    "delayed_infusion": (0.03, 1),
    "aki": (0.01, 1),
    "alt_elevation": (0.015, 1),
    "hys_law": (0.0004, 0),
    "pretreatment_ae": (0.05, 2),
}
_OTHER_DISCONTINUATION_REASONS = (
    ("WITHDRAWAL BY SUBJECT", "LOST TO FOLLOW-UP", "PHYSICIAN DECISION"), (0.45, 0.35, 0.20))


# ---------------------------------------------------------------------------------------------
# Public dataclasses
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PlantedProblem:
    """One deliberately planted data problem, located as the loader reports findings.

    ``row`` is the 1-based record number in ``file`` (header not counted), counted after all
    planting; None for a problem that is an absence (``missing_visit``). ``value`` is the
    offending value as text, as it appears in the file (None for a whole-row duplicate).
    """

    domain: str
    file: str
    row: int | None
    usubjid: str
    column: str | None
    check: str
    value: str | None
    description: str


@dataclasses.dataclass(frozen=True)
class GenerationReport:
    """What :func:`generate_extract` wrote: the files, rows per domain and any planted problems."""

    out_dir: Path
    files: list[Path]
    rows: dict[str, int]
    problems: list[PlantedProblem]
    data_cut: datetime.date


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------
def generate_extract(out_dir: Path, seed: int, subjects: int = 38, blinded: bool = False,
                     data_cut: datetime.date | None = None, with_problems: bool = False,
                     file_format: str = "csv") -> GenerationReport:
    """Write a seeded synthetic ADaM extract (ADSL, ADAE, ADLB, ADEX, ADVS + extract.toml) to ``out_dir``.

    Arguments, checked before any data is generated:

    * ``seed``: a non-negative integer; the same arguments give byte-identical files.
    * ``subjects``: randomised subjects, 2..50000, split between the arms as evenly as possible
      (screen failures come on top, ~18%).
    * ``blinded``: drop every column in :data:`BLINDED_COLUMNS` and the manifest's ``arm_order``.
    * ``data_cut``: keep only what was known on that date (on or after 2020-09-25, the first
      randomisation); None = the full 48-week follow-up of every subject.
    * ``with_problems``: plant one of each :data:`PROBLEM_CHECKS` and write ``problems.json``.
    * ``file_format``: "csv" (ISO dates, empty = missing) or "parquet" (date32 dates).

    Files of the other format and a stale ``problems.json`` in ``out_dir`` are removed, so the
    directory holds exactly one extract. Returns a :class:`GenerationReport`. With
    ``with_problems`` and a data cut too early to plant every problem (before any subject has a
    visit after Week 12), ValueError is raised before anything is written.
    """
    _check_arguments(seed, subjects, blinded, data_cut, with_problems, file_format)
    out_dir = Path(out_dir)
    tables = _simulate_trial(seed, subjects)
    if data_cut is not None:
        tables = _apply_data_cut(tables, np.datetime64(data_cut, "D"))
        cut = data_cut
    else:
        cut = _latest_date(tables)
    problems: list[PlantedProblem] = []
    if with_problems:
        tables, problems = _plant_problems(tables, _streams(seed)["problems"], file_format)
    return _write_extract(out_dir, tables, problems, seed=seed, subjects=subjects, blinded=blinded,
                          data_cut=cut, file_format=file_format)


@dataclasses.dataclass(frozen=True)
class PlantedChange:
    """One difference planted between the previous and the current cut of the same trial.

    ``change`` is what the record comparison must report (``dashboard.analyses.changes.
    record_changes``): ``late entry`` (the record, dated before the previous cut, is left out of
    the previous extract), ``changed value`` (the previous extract held another value) or ``no
    longer present`` (the record is deleted from the current extract). ``record`` is the record
    key beyond USUBJID as the comparison prints it; ``detail`` the planted edit.
    """

    domain: str
    change: str
    usubjid: str
    record: str
    detail: str


CHANGES_NAME = "planted_changes.json"


def generate_two_cuts(out_dir: Path, seed: int, previous_cut: datetime.date, subjects: int = 38,
                      blinded: bool = False, data_cut: datetime.date | None = None,
                      file_format: str = "csv") -> tuple[GenerationReport, GenerationReport, list[PlantedChange]]:
    """Write two cuts of the same seeded trial: ``out_dir/previous`` (cut at ``previous_cut``) and
    ``out_dir/current`` (cut at ``data_cut``, default the full follow-up), whose extract.toml names
    ``../previous``. Between them, planted (seeded) and listed in ``current/planted_changes.json``:
    two late entries (an ADAE and an ADLB record dated before the previous cut, missing from the
    previous extract), two edits of closed records (an AE's severity, a lab value: the previous
    extract held the other value) and one deletion (an AE of the previous extract deleted from the
    current). Everything else differs only as a trial moves on (new subjects and records,
    disposition, AEs open at the previous cut). Returns (previous report, current report, changes).
    """
    _check_arguments(seed, subjects, blinded, previous_cut, False, file_format)
    if data_cut is not None:
        _check_arguments(seed, subjects, blinded, data_cut, False, file_format)
        if data_cut <= previous_cut:
            raise ValueError(f"previous_cut {previous_cut.isoformat()} must be before data_cut {data_cut.isoformat()}.")
    out_dir = Path(out_dir)
    full = _simulate_trial(seed, subjects)
    current = _apply_data_cut(full, np.datetime64(data_cut, "D")) if data_cut is not None else full
    previous = _apply_data_cut(full, np.datetime64(previous_cut, "D"))
    previous, current, changes = _plant_changes(previous, current, np.datetime64(previous_cut, "D"),
                                                np.random.default_rng(np.random.SeedSequence([int(seed), 14])))
    prev_report = _write_extract(out_dir / "previous", previous, [], seed=seed, subjects=subjects, blinded=blinded,
                                 data_cut=previous_cut, file_format=file_format)
    cur_report = _write_extract(out_dir / "current", current, [], seed=seed, subjects=subjects, blinded=blinded,
                                data_cut=data_cut or _latest_date(full), file_format=file_format)
    with open(out_dir / "current" / MANIFEST_NAME, "a", encoding="utf-8") as fh:
        fh.write('\n[extract]\nprevious = "../previous"\n')
    (out_dir / "current" / CHANGES_NAME).write_text(
        json.dumps([dataclasses.asdict(c) for c in changes], indent=2) + "\n", encoding="utf-8")
    return prev_report, cur_report, changes


def _drop_row(table: dict, index: int) -> dict:
    keep = np.ones(len(table["USUBJID"]), dtype=bool)
    keep[index] = False
    return _take(table, keep)


def _plant_changes(previous: dict, current: dict, cut: np.datetime64, rng) -> tuple[dict, dict, list[PlantedChange]]:
    """Plant the differences :func:`generate_two_cuts` lists, on distinct subjects."""
    prev_ae, cur_ae = previous["ADAE"], current["ADAE"]
    used: set[str] = set()

    def pick(table: dict, mask: np.ndarray, what: str) -> int:
        free = np.array([u not in used for u in table["USUBJID"]], dtype=bool)
        candidates = np.flatnonzero(mask & free)
        if not len(candidates):
            raise ValueError(f"previous_cut: cannot plant {what}; give a later previous cut or more subjects.")
        index = int(candidates[rng.integers(len(candidates))])
        used.add(str(table["USUBJID"][index]))
        return index

    def ae_index(table: dict, usubjid, aeseq) -> int:
        return int(np.flatnonzero((table["USUBJID"] == usubjid) & (table["AESEQ"] == aeseq))[0])

    changes = []
    closed = (~np.isnat(prev_ae["AENDT"])) & (prev_ae["AENDT"] <= cut)
    # late AE: in the current extract, left out of the previous one
    i = pick(prev_ae, closed, "a late AE entry")
    u, seq = prev_ae["USUBJID"][i], prev_ae["AESEQ"][i]
    previous["ADAE"] = prev_ae = _drop_row(prev_ae, i)
    closed = np.delete(closed, i)
    changes.append(PlantedChange("ADAE", "late entry", str(u), f"AESEQ={_text(seq)}", "left out of the previous extract"))
    # edited AE severity: the previous extract said SEVERE, the current says what was generated
    mask = closed & (prev_ae["AESEV"] != "SEVERE")
    i = pick(prev_ae, mask, "an AE severity edit")
    u, seq, sev = prev_ae["USUBJID"][i], prev_ae["AESEQ"][i], prev_ae["AESEV"][i]
    prev_ae["AESEV"] = prev_ae["AESEV"].copy()
    prev_ae["AESEV"][i] = "SEVERE"
    changes.append(PlantedChange("ADAE", "changed value", str(u), f"AESEQ={_text(seq)}", f"AESEV: SEVERE -> {sev}"))
    # deleted AE: in the previous extract, deleted from the current one
    i = pick(prev_ae, closed, "an AE deletion")
    u, seq = prev_ae["USUBJID"][i], prev_ae["AESEQ"][i]
    current["ADAE"] = _drop_row(cur_ae, ae_index(cur_ae, u, seq))
    changes.append(PlantedChange("ADAE", "no longer present", str(u), f"AESEQ={_text(seq)}", "deleted from the current extract"))
    # late lab value and edited lab value: post-baseline potassium records before the cut
    prev_lb = previous["ADLB"]
    post = (prev_lb["PARAMCD"] == "K") & (prev_lb["AVISITN"] > 0) & (prev_lb["ADT"] <= cut)
    i = pick(prev_lb, post, "a late lab entry")
    record = f"PARAMCD=K, ADT={_text(prev_lb['ADT'][i])}, AVISIT={prev_lb['AVISIT'][i]}"
    changes.append(PlantedChange("ADLB", "late entry", str(prev_lb["USUBJID"][i]), record, "left out of the previous extract"))
    previous["ADLB"] = prev_lb = _drop_row(prev_lb, i)
    post = np.delete(post, i)
    i = pick(prev_lb, post, "a lab value edit")
    old = prev_lb["AVAL"][i]
    prev_lb["AVAL"] = prev_lb["AVAL"].copy()
    prev_lb["AVAL"][i] = _round(old + 1.0, 1)
    record = f"PARAMCD=K, ADT={_text(prev_lb['ADT'][i])}, AVISIT={prev_lb['AVISIT'][i]}"
    changes.append(PlantedChange("ADLB", "changed value", str(prev_lb["USUBJID"][i]), record,
                                 f"AVAL: {_text(prev_lb['AVAL'][i])} -> {_text(old)}"))
    return previous, current, changes


def _check_arguments(seed, subjects, blinded, data_cut, with_problems, file_format) -> None:
    """Raise ValueError (one line, naming the argument and the fix) for any bad argument."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}.")
    if isinstance(subjects, bool) or not isinstance(subjects, (int, np.integer)):
        raise ValueError(f"subjects must be an integer from {MIN_SUBJECTS} to {MAX_SUBJECTS}, not {subjects!r}.")
    if not MIN_SUBJECTS <= subjects <= MAX_SUBJECTS:
        raise ValueError(f"subjects must be from {MIN_SUBJECTS} to {MAX_SUBJECTS} (one per arm at least), "
                         f"not {subjects}.")
    for name, value in (("blinded", blinded), ("with_problems", with_problems)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, not {value!r}.")
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}, not {file_format!r}.")
    if data_cut is not None:
        if isinstance(data_cut, datetime.datetime) or not isinstance(data_cut, datetime.date):
            raise ValueError(f"data_cut must be a datetime.date (YYYY-MM-DD), not {data_cut!r}.")
        if data_cut < FIRST_RANDOMISATION:
            raise ValueError(f"data_cut {data_cut.isoformat()} is before the first randomisation "
                             f"({FIRST_RANDOMISATION.isoformat()}); give a later date or none.")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams per component, so a change in one does not reshuffle another."""
    names = ("subjects", "disposition", "infusions", "visits", "labs", "vitals", "adverse_events", "problems")
    children = np.random.SeedSequence(int(seed)).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children)}


def _special_count(name: str, n: int) -> int:
    rate, minimum = _RATES[name]
    count = int(math.floor(rate * n + 0.5))
    return max(minimum, count) if n >= 20 else count


# ---------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------
def _simulate_trial(seed: int, n_rand: int) -> dict[str, dict[str, np.ndarray]]:
    """Simulate the whole trial to the end of follow-up; returns the five unblinded domain tables.

    Each table is a dict of equal-length numpy arrays (text as object arrays with None for
    missing, dates as datetime64[D], numbers as float64 with NaN) plus a private ``_SID``
    column: the subject's row in ADSL.
    """
    rng = _streams(seed)
    subj = _simulate_subjects(rng["subjects"], n_rand)
    _simulate_disposition(rng["disposition"], subj)
    _simulate_infusions(rng["infusions"], subj)
    _simulate_visits(rng["visits"], subj)
    labs = _simulate_labs(rng["labs"], subj)
    vitals = _simulate_vitals(rng["vitals"], subj)
    adae = _simulate_adverse_events(rng["adverse_events"], subj)
    adlb = _bds_table(subj, labs, [p.paramcd for p in _LAB_PARAMS], _lab_schedule())
    advs = _bds_table(subj, vitals, [v[0] for v in _VITAL_PARAMS], np.ones((len(_VITAL_PARAMS), 10), bool))
    tables = {
        "ADSL": _adsl_table(subj, labs, vitals),
        "ADAE": adae,
        "ADLB": _lab_columns(subj, adlb),
        "ADEX": _adex_table(subj),
        "ADVS": _bds_common(subj, advs, *zip(*_VITAL_PARAMS)),
    }
    tables["ADSL"]["LSTALVDT"] = _last_known_alive(tables)
    return tables


def _truncated_normal(rng, mean, sd, lo, hi, size):
    """Normal(mean, sd) restricted to [lo, hi] by inverse-CDF sampling (no pile-up at the bounds)."""
    a, b = ndtr((lo - mean) / sd), ndtr((hi - mean) / sd)
    return mean + sd * ndtri(a + (b - a) * rng.random(size))


def _enrolment_days(n_rand: int) -> int:
    """Days over which randomisation spreads: ~12 months for 38 subjects, 3 months to 3 years."""
    years = min(3.0, max(0.25, 1.0 + math.log10(n_rand / 38)))
    return int(round(365 * years))


def _blocked_allocation(rng, n: int) -> np.ndarray:
    """True = UC-MSC, in randomisation order: permuted blocks of 4, the remainder split as evenly as possible."""
    full = n // 4
    blocks = np.tile(np.array([True, True, False, False]), (full, 1))
    blocks = rng.permuted(blocks, axis=1).ravel()
    rest = n - 4 * full
    tail = np.array([True, False] * (rest // 2) + ([bool(rng.integers(0, 2))] if rest % 2 else []), dtype=bool)
    return np.concatenate([blocks, rng.permutation(tail)])


def _simulate_subjects(rng, n_rand: int) -> dict:
    """Screened subjects (randomised + screen failures) with IDs, sites, dates, arms and demographics.

    Subjects are returned in USUBJID order; that index is the ``_SID`` used everywhere else.
    """
    n_sf = int(math.floor(0.18 * n_rand + 0.5))
    n = n_rand + n_sf
    period = _enrolment_days(n_rand)
    n_sites = 1 if n_rand <= SINGLE_SITE_MAX_SUBJECTS else math.ceil(n_rand / SUBJECTS_PER_SITE)
    first = np.datetime64(FIRST_RANDOMISATION, "D")

    offsets = np.sort(np.floor(rng.uniform(0, period, n_rand - 1)).astype(np.int64))
    randdt = np.busday_offset(first + np.concatenate([[0], offsets]), 0, roll="forward")
    active = _blocked_allocation(rng, n_rand)
    site_rand = rng.permutation(np.resize(np.arange(n_sites), n_rand))
    scr_rand = randdt - rng.integers(3, 29, n_rand)
    scr_sf = np.busday_offset(first + np.floor(rng.uniform(-20, period, n_sf)).astype(np.int64), 0, roll="forward")
    fail_sf = scr_sf + rng.integers(3, 22, n_sf)
    site_sf = rng.integers(0, n_sites, n_sf)

    # Stack randomised then screen failures, number subjects within site in screening order.
    site = np.concatenate([site_rand, site_sf])
    scrndt = np.concatenate([scr_rand, scr_sf])
    order = np.lexsort((np.arange(n), scrndt, site))
    site_sorted = site[order]
    starts = np.searchsorted(site_sorted, site_sorted, side="left")
    number = np.empty(n, np.int64)
    number[order] = np.arange(n) - starts + 1
    siteid = np.array([f"{s + 1:02d}" for s in range(n_sites)], dtype=object)[site]
    usubjid = np.array([f"{STUDYID}-{s}-{k:03d}" for s, k in zip(siteid, number)], dtype=object)
    final = np.argsort(usubjid, kind="stable")

    randomised = np.arange(n) < n_rand
    rand_order = np.where(randomised, np.arange(n), -1)
    nat = np.datetime64("NaT", "D")
    subj = {
        "n": n,
        "usubjid": usubjid,
        "siteid": siteid,
        "site": site,
        "scrndt": scrndt,
        "randomised": randomised,
        "rand_order": rand_order,
        "randdt": np.concatenate([randdt, np.full(n_sf, nat)]),
        "active": np.concatenate([active, np.zeros(n_sf, bool)]),
        "sf_eosdt": np.concatenate([np.full(n_rand, nat), fail_sf]),
    }
    subj = {k: (v[final] if isinstance(v, np.ndarray) else v) for k, v in subj.items()}
    subj["n_sites"] = n_sites

    # Demographics and history (drawn in USUBJID order).
    subj["age"] = 30 + np.floor(46 * rng.beta(2.8, 2.0, n)).astype(np.int64)
    female = rng.random(n) < 0.38
    subj["female"] = female
    height = np.where(female, rng.normal(158.0, 5.5, n), rng.normal(169.5, 6.0, n))
    subj["height"] = np.round(height, 1)
    bmi = _truncated_normal(rng, 25.8, 3.3, 18.5, 40.0, n)
    subj["weight"] = np.round(bmi * (subj["height"] / 100) ** 2, 1)
    diab = np.exp(rng.normal(np.log(10.0), 0.5, n))
    subj["diabdur"] = np.round(np.clip(diab, 1.0, subj["age"] - 20.0), 1)
    return subj


def _simulate_disposition(rng, subj: dict) -> None:
    """Choose never-dosed, discontinued and dying subjects, and other special cases, by randomised order."""
    n, n_rand = subj["n"], int(subj["randomised"].sum())
    sid_by_order = np.empty(n_rand, np.int64)
    sid_by_order[subj["rand_order"][subj["randomised"]]] = np.flatnonzero(subj["randomised"])
    # The first randomised subject is always a regular completer: a data cut on the first
    # randomisation date then always has one dosed subject.
    pool = list(rng.permutation(sid_by_order[1:]))
    groups = {}
    for name in ("never_dosed", "ae_discontinued", "other_discontinued", "death", "missed_infusion",
                 "delayed_infusion"):
        k = min(_special_count(name, n_rand), len(pool))
        groups[name], pool = np.array(pool[:k], dtype=np.int64), pool[k:]
    regular = np.sort(np.concatenate([[sid_by_order[0]], np.array(pool, dtype=np.int64)]))
    completers = np.sort(np.concatenate([regular, groups["missed_infusion"], groups["delayed_infusion"]]))
    lab_pool = rng.permutation(completers)
    for name in ("aki", "alt_elevation", "hys_law"):
        k = min(_special_count(name, n_rand), len(lab_pool))
        groups[name], lab_pool = np.sort(lab_pool[:k]), lab_pool[k:]
    subj["groups"] = groups

    dosed = subj["randomised"].copy()
    dosed[groups["never_dosed"]] = False
    subj["dosed"] = dosed
    subj["trtsdt"] = np.where(dosed, subj["randdt"], np.datetime64("NaT", "D"))

    # End of study, as an offset from TRTSDT (NaN: completes at Week 48, set once visits exist).
    eos_off = np.full(n, np.nan)
    reason = np.full(n, None, dtype=object)
    g = groups["other_discontinued"]
    eos_off[g] = rng.integers(28, 321, len(g))
    names, probs = _OTHER_DISCONTINUATION_REASONS
    reason[g] = np.array(names, dtype=object)[rng.choice(len(names), len(g), p=probs)]
    g = groups["death"]
    eos_off[g] = rng.integers(30, 321, len(g))
    reason[g] = "DEATH"
    g = groups["ae_discontinued"]
    ae_onset = rng.integers(1, 14, len(g))  # Day 2..14: before the third infusion
    eos_off[g] = ae_onset + rng.integers(14, 43, len(g))
    reason[g] = "ADVERSE EVENT"
    subj["ae_disc_onset"] = ae_onset
    subj["eos_off"] = eos_off
    subj["dcsreas"] = reason
    g = groups["never_dosed"]
    subj["never_dosed_eosdt"] = subj["randdt"][g] + rng.integers(0, 4, len(g))


def _simulate_infusions(rng, subj: dict) -> None:
    """Infusion day offsets (Days 1, 8, 15 with +/-1 day jitter), occurrences, delays and missed doses."""
    n, groups = subj["n"], subj["groups"]
    jitter = rng.choice(np.array([-1, 0, 1]), size=(n, 2), p=[0.1, 0.8, 0.1])
    off = np.zeros((n, 3), np.int64)
    off[:, 1] = 7 + jitter[:, 0]
    off[:, 2] = 14 + jitter[:, 1]
    occurred = np.repeat(subj["dosed"][:, None], 3, axis=1)
    adj = np.full((n, 3), None, dtype=object)
    illness = np.zeros((n, 3), bool)  # infusion delayed/missed because of an intercurrent illness (an AE)

    g = groups["delayed_infusion"]
    which = rng.integers(1, 3, len(g))
    delay = rng.integers(4, 11, len(g))
    ill = rng.random(len(g)) < 0.5
    planned = off.copy()  # the illness behind a delay starts before the planned date
    off[g, 2] += delay
    off[g, 1] += np.where(which == 1, delay, 0)
    adj[g, which] = np.where(ill, "Delayed: intercurrent illness", "Delayed: scheduling conflict")
    illness[g, which] = ill
    adj[g[which == 1], 2] = "Rescheduled after delayed infusion 2"

    g = groups["missed_infusion"]
    which = rng.integers(1, 3, len(g))
    ill = rng.random(len(g)) < 0.5
    occurred[g, which] = False
    adj[g, which] = np.where(ill, "Missed: intercurrent illness", "Missed: subject unavailable")
    illness[g, which] = ill

    g = groups["ae_discontinued"]
    after_ae = off[g] > subj["ae_disc_onset"][:, None]
    occurred[g] &= ~after_ae
    adj[g] = np.where(after_ae, "Missed: adverse event (study treatment withdrawn)", adj[g])

    subj["inf_off"] = off
    subj["inf_occurred"] = occurred
    subj["inf_adj"] = adj
    subj["inf_illness"] = illness
    subj["inf_planned_off"] = planned
    last = np.where(occurred, off, -1).max(axis=1)
    subj["trtedt"] = np.where(subj["dosed"], subj["trtsdt"] + last, np.datetime64("NaT", "D"))


def _jitter(rng, spec, shape):
    values, probs = spec
    return rng.choice(values, size=shape, p=probs)


def _simulate_visits(rng, subj: dict) -> None:
    """Visit day offsets from TRTSDT (n x 10), which visits exist, and the end-of-study offset."""
    n = subj["n"]
    target = 7 * _VISIT_WEEKS
    off = np.empty((n, 10), np.int64)
    off[:, 0] = np.where(rng.random(n) < 0.4, 0, -rng.integers(1, 8, n))
    off[:, 1:5] = target[1:5] + _jitter(rng, _JITTER_EARLY, (n, 4))
    off[:, 5:] = target[5:] + _jitter(rng, _JITTER_LATE, (n, 5))
    # Weeks 1 and 2: sampled before infusions 2 and 3, on the infusion day when it is in the window.
    for visit, infusion in ((1, 1), (2, 2)):
        on_time = subj["inf_occurred"][:, infusion] & (np.abs(subj["inf_off"][:, infusion] - target[visit]) <= 3)
        off[:, visit] = np.where(on_time, subj["inf_off"][:, infusion], off[:, visit])
    eos_off = np.where(np.isnan(subj["eos_off"]), off[:, -1], subj["eos_off"])
    subj["visit_off"] = off
    subj["eos_off"] = eos_off
    subj["visit_present"] = subj["dosed"][:, None] & (off <= eos_off[:, None])


def _creatinine_for_egfr(egfr, age, female):
    """Serum creatinine (umol/L) that gives ``egfr`` by CKD-EPI 2021 (the inverse of clinical_reference §1)."""
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.241, -0.302)
    scale = 142.0 * 0.9938 ** np.asarray(age, float) * np.where(female, 1.012, 1.0)
    ratio = egfr / scale
    s = np.where(ratio <= 1.0, ratio ** (-1 / 1.2), ratio ** (1 / alpha))
    return s * kappa * CREATININE_UMOL_PER_MG_DL


def _round(x, decimals):
    """Round to ``decimals`` (scalar or array) as stored in the extract."""
    scale = 10.0 ** np.asarray(decimals, float)
    return np.rint(np.asarray(x, float) * scale) / scale


def _simulate_labs(rng, subj: dict) -> dict[str, np.ndarray]:
    """Lab values (n x 10 per PARAMCD, rounded as written): subject random effects + visit noise.

    eGFR declines ~4 (placebo) vs ~2 (UC-MSC) mL/min/1.73m2 per year; UACR is log-normal with a
    ~20% lower geometric mean on UC-MSC from Week 12; rare ALT elevations, Hy's-law-like cases and
    AKI-like creatinine bumps are put on the subjects chosen in :func:`_simulate_disposition`.
    """
    n, v = subj["n"], 10
    female, active = subj["female"], subj["active"]
    age = subj["age"].astype(float)[:, None]
    years = np.maximum(subj["visit_off"], 0) / 365.25
    weeks = _VISIT_WEEKS[None, :]

    def noise(sd, baseline_zero=True):
        e = rng.normal(0.0, sd, (n, v))
        if baseline_zero:
            e[:, 0] = 0.0
        return e

    def subject(sd):
        return rng.normal(0.0, sd, n)[:, None]

    # Kidney function. Baseline eGFR is the eligibility value (30-90); later visits carry noise.
    egfr0 = 31 + 58 * rng.beta(1.8, 2.0, n)
    slope = np.where(active, -2.0, -4.0) + rng.normal(0.0, 3.5, n)
    egfr_true = np.maximum(egfr0[:, None] + slope[:, None] * years, 8.0)
    creat = _creatinine_for_egfr(egfr_true, age, female[:, None]) * np.exp(noise(0.05))
    log_uacr0 = _truncated_normal(rng, np.log(250.0), 1.0, np.log(30.0), np.log(3000.0), n)
    effect = np.where(active[:, None], np.log(0.8) * np.clip((weeks - 4) / 8, 0.0, 1.0), 0.0)
    uacr = np.exp(log_uacr0[:, None] + 0.08 * years + effect + noise(0.45))
    uprot = (0.12 + 1.4 * uacr / 1000.0) * np.exp(noise(0.20, baseline_zero=False))
    urea = 6.5 * (60.0 / egfr_true) ** 0.75 * np.exp(subject(0.15) + noise(0.12, False))
    potassium = 4.5 + 0.018 * (60.0 - egfr_true) + subject(0.30) + noise(0.25, False)

    # Liver.
    alt_b, alt_e = subject(0.35), noise(0.18, False)
    alt = np.where(female, 19.0, 24.0)[:, None] * np.exp(alt_b + alt_e)
    ast = np.where(female, 19.0, 21.0)[:, None] * np.exp(0.6 * alt_b + subject(0.20) + 0.6 * alt_e + noise(0.10, False))
    bili = np.where(female, 9.0, 11.0)[:, None] * np.exp(subject(0.30) + noise(0.18, False))
    alp = np.where(female, 88.0, 80.0)[:, None] * np.exp(subject(0.22) + noise(0.08, False))
    alb = 42.5 - 1.8 * np.log(uacr / 100.0) + subject(2.2) + noise(1.2, False)

    # Haematology.
    hgb = np.where(female, 124.0, 138.0)[:, None] - 0.35 * (60.0 - egfr_true) + subject(9.0) + noise(4.0, False)
    plat = 225.0 * np.exp(subject(0.22) + noise(0.07, False))
    wbc = 6.6 * np.exp(subject(0.20) + noise(0.12, False))
    neut = wbc * 0.6 * np.exp(subject(0.08) + noise(0.06, False))

    # Glycaemia: HbA1c drifts a little; fasting glucose follows it (ADAG: eAG = 1.59 x A1C - 2.59).
    hba1c0 = _truncated_normal(rng, 7.9, 1.1, 6.2, 11.5, n)
    hba1c = hba1c0[:, None] - 0.3 * np.minimum(years / 0.25, 1.0) + 0.1 * years + noise(0.25)
    gluc = np.maximum(0.9 * (1.59 * hba1c - 2.59) + noise(1.0, False), 2.8)

    # Rare events on the chosen subjects, at a post-baseline visit with a following visit.
    uln = {p.paramcd: np.where(female, p.range_f[1], p.range_m[1]) for p in _LAB_PARAMS if p.range_m[1]}
    groups = subj["groups"]
    g = groups["aki"]
    at = rng.integers(4, 9, len(g))  # Week 4 .. Week 36
    subj["aki_visit"] = at
    creat[g, at] *= rng.uniform(1.6, 2.2, len(g))
    creat[g, at + 1] *= rng.uniform(1.05, 1.15, len(g))
    potassium[g, at] += 0.6
    urea[g, at] *= 1.5
    g = groups["alt_elevation"]
    at = rng.integers(2, 9, len(g))
    subj["alt_visit"] = at
    alt[g, at] = uln["ALT"][g] * rng.uniform(3.2, 7.0, len(g))
    ast[g, at] = uln["AST"][g] * rng.uniform(2.0, 5.0, len(g))
    alt[g, at + 1] = uln["ALT"][g] * rng.uniform(1.0, 2.0, len(g))
    ast[g, at + 1] = uln["AST"][g] * rng.uniform(0.8, 1.5, len(g))
    g = groups["hys_law"]
    at = rng.integers(3, 9, len(g))
    subj["hys_visit"] = at
    alt[g, at] = uln["ALT"][g] * rng.uniform(4.0, 12.0, len(g))
    ast[g, at] = uln["AST"][g] * rng.uniform(3.0, 8.0, len(g))
    bili[g, at] = uln["BILI"][g] * rng.uniform(2.3, 5.0, len(g))
    alp[g, at] = uln["ALP"][g] * rng.uniform(0.8, 1.6, len(g))
    alt[g, at + 1] = uln["ALT"][g] * rng.uniform(2.0, 4.0, len(g))
    bili[g, at + 1] = uln["BILI"][g] * rng.uniform(1.2, 2.0, len(g))

    values = {
        "ALB": alb, "ALP": alp, "ALT": np.maximum(alt, 5.0), "AST": np.maximum(ast, 5.0), "BILI": bili,
        "CREAT": creat, "GLUC": gluc, "HBA1C": hba1c, "HGB": hgb, "K": potassium, "NEUT": neut, "PLAT": plat,
        "UACR": uacr, "UPROT24": uprot, "UREA": urea, "WBC": wbc,
    }
    out = {p.paramcd: _round(values[p.paramcd], p.decimals) for p in _LAB_PARAMS if p.paramcd != "EGFR"}
    # egfr_ckd_epi_2021 takes 1-D inputs: flatten the subject x visit grid and restore it.
    sex = np.repeat(np.where(female, "F", "M"), v)
    egfr = egfr_ckd_epi_2021(creatinine_umol_to_mg_dl(out["CREAT"].ravel()), np.repeat(subj["age"], v), sex)
    out["EGFR"] = _round(np.asarray(egfr).reshape(n, v), 1)
    return out


def _simulate_vitals(rng, subj: dict) -> dict[str, np.ndarray]:
    """Vital signs (n x 10 per PARAMCD): subject levels + visit noise; baseline weight = WEIGHTBL."""
    n = subj["n"]
    years = np.maximum(subj["visit_off"], 0) / 365.25
    sys_b = rng.normal(136.0, 13.0, n)[:, None]
    sysbp = sys_b + rng.normal(0.0, 8.0, (n, 10))
    diabp = 79.0 + 0.35 * (sys_b - 136.0) + rng.normal(0.0, 7.0, (n, 1)) + rng.normal(0.0, 5.5, (n, 10))
    pulse = rng.normal(76.0, 9.0, (n, 1)) + rng.normal(0.0, 6.0, (n, 10))
    temp = 36.5 + rng.normal(0.0, 0.15, (n, 1)) + rng.normal(0.0, 0.18, (n, 10))
    weight_noise = rng.normal(0.0, 0.6, (n, 10))
    weight_noise[:, 0] = 0.0
    weight = subj["weight"][:, None] + rng.normal(0.0, 1.5, (n, 1)) * years + weight_noise
    values = {"DIABP": diabp, "PULSE": pulse, "SYSBP": sysbp, "TEMP": temp, "WEIGHT": weight}
    return {code: _round(values[code], dec) for code, _, _, dec in _VITAL_PARAMS}


# ---------------------------------------------------------------------------------------------
# Adverse events
# ---------------------------------------------------------------------------------------------
def _events(sid, term, start, **overrides) -> dict[str, np.ndarray]:
    """A batch of AEs: subject, term index, onset offset from TRTSDT, plus optional fixed attributes."""
    sid = np.asarray(sid, np.int64)
    k = len(sid)
    out = {
        "sid": sid,
        "term": np.broadcast_to(np.asarray(term, np.int64), (k,)).copy(),
        "start": np.broadcast_to(np.asarray(start, np.int64), (k,)).copy(),
        "days": np.full(k, -1, np.int64),  # -1: draw from the term's duration range
        "severity": np.full(k, -1, np.int64),  # -1: draw from the term's severity profile
        "acn": np.full(k, None, dtype=object),  # None: derive from timing
        "fatal": np.zeros(k, bool),
        "not_ongoing": np.zeros(k, bool),
    }
    for key, value in overrides.items():
        out[key] = np.broadcast_to(np.asarray(value, dtype=out[key].dtype), (k,)).copy()
    return out


def _pick_terms(rng, decods: tuple[str, ...], k: int) -> np.ndarray:
    """``k`` term indices drawn uniformly from the preferred terms ``decods``."""
    return np.array([_AE[t] for t in decods])[rng.integers(0, len(decods), k)]


def _draw_categorical(rng, prob_rows: np.ndarray) -> np.ndarray:
    """One category index per row of ``prob_rows`` (rows sum to 1)."""
    cum = np.cumsum(prob_rows, axis=1)
    u = rng.random(len(prob_rows))[:, None]
    return np.minimum((u >= cum).sum(axis=1), prob_rows.shape[1] - 1)


def _simulate_adverse_events(rng, subj: dict) -> dict[str, np.ndarray]:
    """ADAE: background events, infusion reactions/fever, pre-treatment events and the events
    that belong to the special subjects (AKI, ALT rise, Hy's law, AE discontinuation, deaths,
    illness behind a delayed or missed infusion)."""
    groups = subj["groups"]
    dosed_sid = np.flatnonzero(subj["dosed"])
    eos_off = subj["eos_off"]
    batches = []

    # Background: Poisson counts per subject x term scaled to time on study, at most 2 each.
    background = [i for i, t in enumerate(_AE_TERMS) if t.incidence > 0]
    obs_days = eos_off[dosed_sid] + 1
    lam = -np.log1p(-np.array([_AE_TERMS[i].incidence for i in background]))[None, :] * (obs_days[:, None] / 336.0)
    counts = np.minimum(rng.poisson(lam), 2)
    rows, cols = np.nonzero(counts)
    reps = counts[rows, cols]
    sid = np.repeat(dosed_sid[rows], reps)
    term = np.repeat(np.array(background)[cols], reps)
    start = np.floor(rng.random(len(sid)) * (eos_off[sid] + 1)).astype(np.int64)
    batches.append(_events(sid, term, start))

    # Infusion-related reactions (same or next day) and post-infusion fever (0-2 days later).
    inf_sid, inf_k = np.nonzero(subj["inf_occurred"])
    inf_off = subj["inf_off"][inf_sid, inf_k]
    act = subj["active"][inf_sid]
    irr = rng.random(len(inf_sid)) < np.where(act, _P_IRR[True], _P_IRR[False])
    fever = rng.random(len(inf_sid)) < np.where(act, _P_FEVER[True], _P_FEVER[False])
    lag = (rng.random(len(inf_sid)) < 0.15).astype(np.int64)
    batches.append(_events(inf_sid[irr], _AE["Infusion related reaction"], inf_off[irr] + lag[irr]))
    fever_lag = rng.choice(np.array([0, 1, 2]), size=len(inf_sid), p=[0.3, 0.5, 0.2])
    batches.append(_events(inf_sid[fever], _AE["Pyrexia"], inf_off[fever] + fever_lag[fever]))

    # Pre-treatment events (between screening and Day 1): TRTEMFL = N.
    k = min(_special_count("pretreatment_ae", int(subj["randomised"].sum())), len(dosed_sid))
    sid = np.sort(rng.choice(dosed_sid, k, replace=False))
    scr_off = (subj["scrndt"][sid] - subj["trtsdt"][sid]).astype(np.int64)
    start = scr_off + np.floor(rng.random(k) * (-scr_off)).astype(np.int64)
    batches.append(_events(sid, _pick_terms(rng, _PRETREATMENT_TERMS, k), start, acn="NOT APPLICABLE"))

    # An intercurrent illness behind a delayed or missed infusion.
    sid, k_inf = np.nonzero(subj["inf_illness"])
    start = subj["inf_planned_off"][sid, k_inf] - rng.integers(1, 3, len(sid))
    batches.append(_events(sid, _AE["Upper respiratory tract infection"], start, days=rng.integers(5, 10, len(sid)),
                           severity=rng.integers(0, 2, len(sid)), acn="DRUG INTERRUPTED", not_ongoing=True))

    # AKI (serious, hospitalised) a few days before the creatinine bump; ALT rises and Hy's law at the lab visit.
    visit_off = subj["visit_off"]
    g = groups["aki"]
    batches.append(_events(g, _AE["Acute kidney injury"], visit_off[g, subj["aki_visit"]] - rng.integers(2, 7, len(g)),
                           not_ongoing=True))
    g = groups["alt_elevation"]
    batches.append(_events(g, _AE["Alanine aminotransferase increased"], visit_off[g, subj["alt_visit"]],
                           not_ongoing=True))
    g = groups["hys_law"]
    batches.append(_events(g, _AE["Drug-induced liver injury"], visit_off[g, subj["hys_visit"]], not_ongoing=True))

    # The AE that led to withdrawal of study treatment and then discontinuation.
    g = groups["ae_discontinued"]
    term = _pick_terms(rng, _AE_DISCONTINUATION_TERMS, len(g))
    batches.append(_events(g, term, subj["ae_disc_onset"], days=rng.integers(7, 29, len(g)),
                           severity=rng.integers(1, 3, len(g)), acn="DRUG WITHDRAWN", not_ongoing=True))

    # Fatal events end on the death date (= EOSDT).
    g = groups["death"]
    death_off = eos_off[g].astype(np.int64)
    onset = death_off - rng.integers(0, 8, len(g))
    batches.append(_events(g, _pick_terms(rng, _FATAL_TERMS, len(g)), onset, days=death_off - onset, severity=2,
                           acn="NOT APPLICABLE", fatal=True))

    ev = {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}
    return _adae_columns(rng, subj, ev)


def _adae_columns(rng, subj: dict, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Derive every ADAE variable from the raw events; drop events after the end of study."""
    sid, term = ev["sid"], ev["term"]
    keep = ev["start"] <= subj["eos_off"][sid]
    ev = {k: v[keep] for k, v in ev.items()}
    sid, term, start = ev["sid"], ev["term"], ev["start"]
    k = len(sid)
    terms = _AE_TERMS
    eos_off = subj["eos_off"][sid].astype(np.int64)

    dur_lo = np.array([t.days[0] for t in terms])[term]
    dur_hi = np.array([t.days[1] for t in terms])[term]
    days = np.where(ev["days"] >= 0, ev["days"], rng.integers(dur_lo, dur_hi + 1))
    sev_draw = _draw_categorical(rng, np.array([t.severity for t in terms])[term])
    severity = np.where(ev["severity"] >= 0, ev["severity"], sev_draw)
    rel = _draw_categorical(rng, np.array([t.related for t in terms])[term])
    rel = np.where(ev["fatal"], _draw_categorical(rng, np.tile(_REL_UNLIKELY, (k, 1))), rel)
    ongoing = ~ev["not_ongoing"] & (rng.random(k) < np.array([t.p_ongoing for t in terms])[term])
    end = start + days
    open_at_end = (ongoing | (end > eos_off)) & ~ev["fatal"]
    # Serious (always a hospitalisation here): most severe events, a few moderate ones.
    p_serious = np.where(severity == 2, 0.7, np.where(severity == 1, 0.06, 0.0))
    serious = np.array([t.always_serious for t in terms])[term] | ev["fatal"] | (rng.random(k) < p_serious)
    grade = severity + 1 + ((severity == 2) & serious & (rng.random(k) < 0.2))
    grade = np.where(ev["fatal"], 5, grade)
    resolving = rng.random(k) < 0.4

    trtsdt = subj["trtsdt"][sid]
    astdt = trtsdt + start
    aendt = np.where(open_at_end, np.datetime64("NaT", "D"), trtsdt + end)
    # Action taken: DOSE NOT CHANGED while a given infusion is still to come (or is that day), else NOT APPLICABLE.
    last_given = np.where(subj["inf_occurred"], subj["inf_off"], -1).max(axis=1)[sid]
    acn = np.where((start >= 0) & (start <= last_given), "DOSE NOT CHANGED", "NOT APPLICABLE")
    acn = np.where(ev["acn"] != None, ev["acn"], acn).astype(object)  # noqa: E711 (elementwise)
    aeout = np.where(ev["fatal"], "FATAL", np.where(
        open_at_end, np.where(resolving, "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED"), "RECOVERED/RESOLVED"))

    decod_rank = np.argsort(np.argsort(np.array([t.decod for t in terms]), kind="stable"), kind="stable")
    order = np.lexsort((np.arange(k), decod_rank[term], astdt, sid))
    sid = sid[order]
    yn = np.array(["N", "Y"], dtype=object)
    return {
        "_SID": sid,
        "STUDYID": np.full(k, STUDYID, dtype=object),
        "USUBJID": subj["usubjid"][sid],
        "AESEQ": _sequence(sid),
        "AETERM": np.array([t.term for t in terms], dtype=object)[term[order]],
        "AEDECOD": np.array([t.decod for t in terms], dtype=object)[term[order]],
        "AEBODSYS": np.array([t.soc for t in terms], dtype=object)[term[order]],
        "ASTDT": astdt[order],
        "AENDT": aendt[order],
        "ASTDY": _study_day(astdt[order], trtsdt[order]),
        "AENDY": _study_day(aendt[order], trtsdt[order]),
        "AESEV": _SEVERITIES[severity[order]],
        "AETOXGR": grade[order].astype(str).astype(object),
        "AESER": yn[serious[order].astype(int)],
        "AESHOSP": yn[serious[order].astype(int)],
        "AESDTH": yn[ev["fatal"][order].astype(int)],
        "AEREL": _RELATEDNESS[rel[order]],
        "AEACN": acn[order],
        "AEOUT": aeout[order].astype(object),
        "TRTEMFL": yn[(start[order] >= 0).astype(int)],
        "AESIFL": yn[(term[order] == _AE["Infusion related reaction"]).astype(int)],
        "TRTA": _actual_arm(subj)[sid],
    }


# ---------------------------------------------------------------------------------------------
# Table assembly
# ---------------------------------------------------------------------------------------------
def _sequence(sid: np.ndarray) -> np.ndarray:
    """1, 2, ... within each subject (``sid`` sorted)."""
    return np.arange(len(sid)) - np.searchsorted(sid, sid, side="left") + 1


def _study_day(dates: np.ndarray, trtsdt: np.ndarray) -> np.ndarray:
    """Study day (clinical_reference §7): date - TRTSDT + 1 on/after TRTSDT, date - TRTSDT before.

    NaN when either date is missing.
    """
    diff = (dates - trtsdt).astype("timedelta64[D]").astype(float)
    diff[np.isnat(dates) | np.isnat(trtsdt)] = np.nan
    return np.where(diff >= 0, diff + 1, diff)


def _planned_arm(subj: dict) -> np.ndarray:
    """TRT01P/ARM: the randomised arm, or "Screen Failure"."""
    arm = np.where(subj["active"], ARM_ACTIVE, ARM_PLACEBO)
    return np.where(subj["randomised"], arm, ARM_SCREEN_FAILURE).astype(object)


def _actual_arm(subj: dict) -> np.ndarray:
    """TRT01A: the arm actually given; empty for randomised subjects never dosed."""
    arm = _planned_arm(subj)
    arm[subj["randomised"] & ~subj["dosed"]] = None
    return arm


def _lab_schedule() -> np.ndarray:
    """(parameters x visits) True where the parameter is measured at the visit."""
    quarterly = np.isin(_VISIT_WEEKS, _QUARTERLY_WEEKS)
    return np.array([quarterly if p.quarterly else np.ones(10, bool) for p in _LAB_PARAMS])


def _bds_table(subj: dict, values: dict[str, np.ndarray], paramcds: list[str], schedule: np.ndarray) -> dict:
    """Long BDS skeleton, one row per subject x parameter x visit, sorted by subject, PARAMCD, AVISITN."""
    stacked = np.stack([values[c] for c in paramcds], axis=1)  # n x P x V
    present = subj["visit_present"][:, None, :] & schedule[None, :, :]
    sid, p, v = np.nonzero(present)
    aval = stacked[sid, p, v]
    base = stacked[sid, p, 0]
    trtsdt = subj["trtsdt"][sid]
    adt = trtsdt + subj["visit_off"][sid, v]
    avisit = np.array(_VISIT_NAMES, dtype=object)[v]
    return {"_SID": sid, "_P": p, "_V": v, "AVAL": aval, "BASE": base, "ADT": adt, "AVISIT": avisit}


def _bds_common(subj: dict, skel: dict, params_codes, params_names, units, decimals) -> dict:
    """The BDS variables ADLB and ADVS share, from a :func:`_bds_table` skeleton and parameter metadata."""
    sid, p, v = skel["_SID"], skel["_P"], skel["_V"]
    k = len(sid)
    chg = np.where(v > 0, _round(skel["AVAL"] - skel["BASE"], np.asarray(decimals)[p]), np.nan)
    return {
        "_SID": sid,
        "STUDYID": np.full(k, STUDYID, dtype=object),
        "USUBJID": subj["usubjid"][sid],
        "PARAMCD": np.array(params_codes, dtype=object)[p],
        "PARAM": np.array(params_names, dtype=object)[p],
        "AVAL": skel["AVAL"],
        "AVALU": np.array(units, dtype=object)[p],
        "ADT": skel["ADT"],
        "ADY": _study_day(skel["ADT"], subj["trtsdt"][sid]),
        "AVISIT": skel["AVISIT"],
        "AVISITN": _VISIT_WEEKS[v].astype(float),
        "ABLFL": np.where(v == 0, "Y", None).astype(object),
        "BASE": skel["BASE"],
        "CHG": chg,
        "TRTA": _actual_arm(subj)[sid],
        "TRTP": _planned_arm(subj)[sid],
    }


def _lab_columns(subj: dict, skel: dict) -> dict:
    """ADLB columns: BDS variables plus sequence, category and sex-specific reference ranges."""
    P = _LAB_PARAMS
    t = _bds_common(subj, skel, [p.paramcd for p in P], [p.param for p in P], [p.unit for p in P],
                    [p.decimals for p in P])
    sid, p = skel["_SID"], skel["_P"]
    female = subj["female"][sid].astype(int)
    lo = np.array([[q.range_m[0], q.range_f[0]] for q in P], float)[p, female]
    hi = np.array([[np.nan if q.range_m[1] is None else q.range_m[1],
                    np.nan if q.range_f[1] is None else q.range_f[1]] for q in P], float)[p, female]
    t["LBSEQ"] = _sequence(sid)
    t["PARCAT1"] = np.array([q.parcat1 for q in P], dtype=object)[p]
    t["ANRLO"], t["ANRHI"] = lo, hi
    t["ANRIND"] = _range_indicator(t["AVAL"], lo, hi)
    t["BNRIND"] = _range_indicator(t["BASE"], lo, hi)
    return t


def _range_indicator(x, lo, hi) -> np.ndarray:
    """LOW below ANRLO, HIGH above ANRHI (never when ANRHI is missing), else NORMAL."""
    with np.errstate(invalid="ignore"):
        return np.where(x < lo, "LOW", np.where(x > hi, "HIGH", "NORMAL")).astype(object)


def _adsl_table(subj: dict, labs: dict[str, np.ndarray], vitals: dict[str, np.ndarray]) -> dict:
    """ADSL, one row per screened subject; baselines equal the ADLB/ADVS baseline records."""
    n, groups = subj["n"], subj["groups"]
    rand, dosed, active = subj["randomised"], subj["dosed"], subj["active"]
    nat = np.datetime64("NaT", "D")
    yn = np.array(["N", "Y"], dtype=object)
    arm = _planned_arm(subj)
    armcd = np.where(rand, np.where(active, ARMCD_ACTIVE, ARMCD_PLACEBO), ARMCD_SCREEN_FAILURE).astype(object)
    not_treated = rand & ~dosed
    actarm = np.where(not_treated, ARM_NOT_TREATED, arm).astype(object)
    actarmcd = np.where(not_treated, ARMCD_NOT_TREATED, armcd).astype(object)

    eosdt = np.where(dosed, subj["trtsdt"] + np.nan_to_num(subj["eos_off"]).astype(np.int64), subj["sf_eosdt"])
    eosdt[groups["never_dosed"]] = subj["never_dosed_eosdt"]
    dcsreas = subj["dcsreas"].copy()
    dcsreas[~rand] = "SCREEN FAILURE"
    dcsreas[groups["never_dosed"]] = "WITHDRAWAL BY SUBJECT"
    eosstt = np.where(dcsreas == None, "COMPLETED", "DISCONTINUED").astype(object)  # noqa: E711 (elementwise)
    dead = np.zeros(n, bool)
    dead[groups["death"]] = True
    rand_no = np.array([None] + [f"R{k + 1:03d}" for k in range(int(rand.sum()))], dtype=object)[subj["rand_order"] + 1]

    def baseline(values):
        return np.where(dosed, values[:, 0], np.nan)

    weight = np.where(dosed, vitals["WEIGHT"][:, 0], subj["weight"])
    number = np.array([u.rsplit("-", 1)[1] for u in subj["usubjid"]], dtype=object)
    return {
        "_SID": np.arange(n),
        "STUDYID": np.full(n, STUDYID, dtype=object),
        "USUBJID": subj["usubjid"],
        "SUBJID": (subj["siteid"] + "-" + number).astype(object),
        "SITEID": subj["siteid"],
        "SITENAME": np.array([SITE_01_NAME] + [f"Synthetic site {s + 1:02d}" for s in range(1, subj["n_sites"])],
                             dtype=object)[subj["site"]],
        "COUNTRY": np.full(n, "CHN", dtype=object),
        "AGE": subj["age"],
        "AGEU": np.full(n, "YEARS", dtype=object),
        "AGEGR1": np.where(subj["age"] >= 65, ">=65", "<65").astype(object),
        "SEX": np.where(subj["female"], "F", "M").astype(object),
        "RACE": np.full(n, "ASIAN", dtype=object),
        "ETHNIC": np.full(n, "NOT HISPANIC OR LATINO", dtype=object),
        "SCRNDT": subj["scrndt"],
        "RANDDT": subj["randdt"],
        "RANDNO": rand_no,
        "ARM": arm,
        "ARMCD": armcd,
        "ACTARM": actarm,
        "ACTARMCD": actarmcd,
        "TRT01P": arm,
        "TRT01PN": np.where(rand, active.astype(float), np.nan),
        "TRT01A": _actual_arm(subj),
        "TRT01AN": np.where(dosed, active.astype(float), np.nan),
        "TRTSDT": subj["trtsdt"],
        "TRTEDT": subj["trtedt"],
        "TRTDURD": _duration_days(subj["trtsdt"], subj["trtedt"]),
        "RANDFL": yn[rand.astype(int)],
        "SAFFL": yn[dosed.astype(int)],
        "ITTFL": yn[rand.astype(int)],
        "EOSSTT": eosstt,
        "EOSDT": eosdt,
        "DCSREAS": dcsreas,
        "DTHFL": np.where(dead, "Y", None).astype(object),
        "DTHDT": np.where(dead, eosdt, nat),
        "LSTALVDT": np.full(n, nat),  # filled from all domains by _last_known_alive
        "HEIGHTBL": subj["height"],
        "WEIGHTBL": weight,
        "BMIBL": _round(weight / (subj["height"] / 100) ** 2, 1),
        "DIABDURY": subj["diabdur"],
        "HBA1CBL": baseline(labs["HBA1C"]),
        "CREATBL": baseline(labs["CREAT"]),
        "EGFRBL": baseline(labs["EGFR"]),
        "UACRBL": baseline(labs["UACR"]),
        "SYSBPBL": baseline(vitals["SYSBP"]),
        "DIABPBL": baseline(vitals["DIABP"]),
    }


def _duration_days(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    days = (end - start).astype("timedelta64[D]").astype(float) + 1
    days[np.isnat(start) | np.isnat(end)] = np.nan
    return days


def _adex_table(subj: dict) -> dict:
    """ADEX, one row per planned infusion of each dosed subject (missed ones with EXOCCUR=N)."""
    dosed = np.flatnonzero(subj["dosed"])
    sid = np.repeat(dosed, 3)
    k = np.tile(np.arange(3), len(dosed))
    occurred = subj["inf_occurred"][sid, k]
    planned = subj["trtsdt"][sid] + subj["inf_off"][sid, k]
    astdt = np.where(occurred, planned, np.datetime64("NaT", "D"))
    active = subj["active"][sid]
    m = len(sid)
    return {
        "_SID": sid,
        "_PLANDT": planned,
        "STUDYID": np.full(m, STUDYID, dtype=object),
        "USUBJID": subj["usubjid"][sid],
        "EXSEQ": k + 1,
        "EXTRT": np.where(active, "UC-MSC", "PLACEBO").astype(object),
        "EXDOSE": np.where(occurred, active.astype(float), np.nan),
        "EXDOSU": np.full(m, "10^6 cells/kg", dtype=object),
        "EXROUTE": np.full(m, "INTRAVENOUS", dtype=object),
        "EXOCCUR": np.where(occurred, "Y", "N").astype(object),
        "ASTDT": astdt,
        "AENDT": astdt.copy(),
        "ASTDY": _study_day(astdt, subj["trtsdt"][sid]),
        "AVISIT": np.array(["Infusion 1", "Infusion 2", "Infusion 3"], dtype=object)[k],
        "AVISITN": (k + 1).astype(float),
        "EXADJ": subj["inf_adj"][sid, k],
        "TRTA": _actual_arm(subj)[sid],
    }


# Dates that show a subject was alive (LOST TO FOLLOW-UP's EOSDT is not a contact, see below).
_CONTACT_DATES = {"ADLB": ("ADT",), "ADVS": ("ADT",), "ADEX": ("ASTDT",), "ADAE": ("ASTDT", "AENDT")}


def _last_known_alive(tables: dict) -> np.ndarray:
    """LSTALVDT: the latest contact date per subject (ADSL dates, visits, infusions, AE dates)."""
    adsl = tables["ADSL"]
    n = len(adsl["USUBJID"])
    best = np.full(n, np.iinfo(np.int64).min)

    def update(sid, dates):
        ok = ~np.isnat(dates)
        np.maximum.at(best, sid[ok], dates[ok].astype(np.int64))

    sid = adsl["_SID"]
    for col in ("SCRNDT", "RANDDT", "DTHDT"):
        update(sid, adsl[col])
    contact_eos = adsl["EOSDT"].copy()
    contact_eos[adsl["DCSREAS"] == "LOST TO FOLLOW-UP"] = np.datetime64("NaT", "D")
    update(sid, contact_eos)
    for domain, cols in _CONTACT_DATES.items():
        for col in cols:
            update(tables[domain]["_SID"], tables[domain][col])
    return np.where(best == np.iinfo(np.int64).min, np.datetime64("NaT", "D"), best.astype("datetime64[D]"))


def _latest_date(tables: dict) -> datetime.date:
    """The latest date anywhere in the extract (the manifest's data cut when none was given)."""
    latest = max(
        col.max() for table in tables.values() for col in table.values()
        if isinstance(col, np.ndarray) and col.dtype.kind == "M" and (~np.isnat(col)).any()
    )
    return latest.astype(datetime.date)


def _take(table: dict, index) -> dict:
    return {k: v[index] for k, v in table.items()}


# ---------------------------------------------------------------------------------------------
# Data cut
# ---------------------------------------------------------------------------------------------
def _apply_data_cut(tables: dict, cut: np.datetime64) -> dict:
    """Keep what was known on ``cut``; see the module docstring for the rules."""
    adsl = tables["ADSL"]
    randomised = adsl["RANDFL"] == "Y"
    in_extract = np.where(randomised, adsl["RANDDT"] <= cut, adsl["EOSDT"] <= cut)
    new_sid = np.cumsum(in_extract) - 1
    adsl = _take(adsl, in_extract)
    adsl["_SID"] = new_sid[adsl["_SID"]]
    nat = np.datetime64("NaT", "D")
    ongoing = ~(adsl["EOSDT"] <= cut)
    adsl["EOSSTT"] = np.where(ongoing, "ONGOING", adsl["EOSSTT"]).astype(object)
    adsl["EOSDT"] = np.where(ongoing, nat, adsl["EOSDT"])
    adsl["DCSREAS"] = np.where(ongoing, None, adsl["DCSREAS"]).astype(object)
    died_later = adsl["DTHDT"] > cut
    adsl["DTHFL"] = np.where(died_later, None, adsl["DTHFL"]).astype(object)
    adsl["DTHDT"] = np.where(died_later, nat, adsl["DTHDT"])
    out = {"ADSL": adsl}

    date_column = {"ADLB": "ADT", "ADVS": "ADT", "ADEX": "_PLANDT", "ADAE": "ASTDT"}
    for domain, col in date_column.items():
        table = tables[domain]
        keep = in_extract[table["_SID"]] & (table[col] <= cut)
        table = _take(table, keep)
        table["_SID"] = new_sid[table["_SID"]]
        out[domain] = table

    adae = out["ADAE"]
    open_at_cut = adae["AENDT"] > cut
    fatal_later = open_at_cut & (adae["AESDTH"] == "Y")
    adae["AENDT"] = np.where(open_at_cut, nat, adae["AENDT"])
    adae["AENDY"] = np.where(open_at_cut, np.nan, adae["AENDY"])
    adae["AEOUT"] = np.where(open_at_cut, "NOT RECOVERED/NOT RESOLVED", adae["AEOUT"]).astype(object)
    adae["AESDTH"] = np.where(fatal_later, "N", adae["AESDTH"]).astype(object)
    adae["AETOXGR"] = np.where(fatal_later, "4", adae["AETOXGR"]).astype(object)

    adex = out["ADEX"]
    last = np.full(len(adsl["USUBJID"]), np.iinfo(np.int64).min)
    given = ~np.isnat(adex["ASTDT"])
    np.maximum.at(last, adex["_SID"][given], adex["ASTDT"][given].astype(np.int64))
    adsl["TRTEDT"] = np.where(last == np.iinfo(np.int64).min, nat, last.astype("datetime64[D]"))
    adsl["TRTDURD"] = _duration_days(adsl["TRTSDT"], adsl["TRTEDT"])
    adsl["LSTALVDT"] = _last_known_alive(out)
    return out


# ---------------------------------------------------------------------------------------------
# Planted problems
# ---------------------------------------------------------------------------------------------
def _text(value) -> str:
    """A value as the loader shows it: integers without ".0", dates ISO."""
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[D]"))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def _insert_copy(table: dict, source: int, position: int) -> dict:
    """A copy of row ``source`` inserted before row ``position``."""
    return {k: np.concatenate([v[:position], v[source:source + 1], v[position:]]) for k, v in table.items()}


def _plant_problems(tables: dict, rng, file_format: str) -> tuple[dict, list[PlantedProblem]]:
    """Plant one of each PROBLEM_CHECKS (distinct subjects for the ADLB ones); return the tables and where each is.

    Rows are located after all planting through a private ``_PLANT`` marker column.
    """
    tables = dict(tables)
    # ADSL and ADAE are edited in place, so copy them; ADLB is copied by the first _take below.
    adsl = {k: v.copy() for k, v in tables["ADSL"].items()}
    adae = {k: v.copy() for k, v in tables["ADAE"].items()}
    adlb = tables["ADLB"]
    n = len(adsl["USUBJID"])
    for t in (adsl, adae, adlb):
        t["_PLANT"] = np.full(len(t["USUBJID"]), None, dtype=object)
    file = {d: f"{d.lower()}.{file_format}" for d in DOMAIN_COLUMNS}
    used = np.zeros(n, bool)

    def per_subject(mask):
        flag = np.zeros(n, bool)
        flag[adlb["_SID"][mask]] = True
        return flag

    def choose(candidates: np.ndarray, check: str, why: str) -> int:
        """A candidate subject, one not used by another problem when there is one."""
        ok = np.flatnonzero(candidates & ~used)
        if len(ok) == 0:
            ok = np.flatnonzero(candidates)
        if len(ok) == 0:
            raise ValueError(f"with_problems: cannot plant {check}: {why}; give a later data_cut or more subjects.")
        s = int(rng.choice(ok))
        used[s] = True
        return s

    def free_rows(mask: np.ndarray) -> np.ndarray:
        """Rows of ``mask`` that carry no planted problem yet."""
        return np.flatnonzero(mask & (adlb["_PLANT"] == None))  # noqa: E711 (elementwise)

    notes: dict[str, tuple[str, str | None, str | None, str]] = {}

    # missing_visit: a subject with Week 12 and a later visit loses the whole Week 12 ADLB visit.
    week = adlb["AVISITN"]
    s = choose(per_subject(week == 12) & per_subject(week > 12), "missing_visit",
               "no subject has a visit after Week 12")
    drop = (adlb["_SID"] == s) & (week == 12)
    adlb = _take(adlb, ~drop)
    mine = adlb["_SID"] == s
    adlb["LBSEQ"][mine] = np.arange(1, mine.sum() + 1)
    missing = PlantedProblem("ADLB", file["ADLB"], None, adsl["USUBJID"][s], "AVISIT", "missing_visit", "Week 12",
                             f"all {int(drop.sum())} Week 12 ADLB records of this subject were removed; "
                             "earlier and later visits are present")

    # out_of_window: one Week 8 record dated on Day 85 (the Week 12 target day).
    week = adlb["AVISITN"]
    s = choose(per_subject(week == 8) & per_subject(adlb["ADY"] >= 85), "out_of_window", "no subject reached Day 85")
    i = int(rng.choice(free_rows((adlb["_SID"] == s) & (week == 8))))
    adlb["ADT"][i] = adsl["TRTSDT"][s] + 84
    adlb["ADY"][i] = 85.0
    adlb["_PLANT"][i] = "out_of_window"
    notes["out_of_window"] = ("ADLB", "ADY", "85",
                              f"{adlb['PARAMCD'][i]} Week 8 record dated {_text(adlb['ADT'][i])} (Day 85, the Week 12 "
                              "target) instead of within the Week 8 window")

    # implausible_value: a post-baseline creatinine entered in mg/dL while AVALU says umol/L.
    creat = (adlb["PARAMCD"] == "CREAT") & (adlb["AVISITN"] > 0)
    s = choose(per_subject(creat & (adlb["_PLANT"] == None)), "implausible_value",  # noqa: E711
               "no post-baseline creatinine")
    i = int(rng.choice(free_rows(creat & (adlb["_SID"] == s))))
    umol = adlb["AVAL"][i]
    adlb["AVAL"][i] = _round(umol / CREATININE_UMOL_PER_MG_DL, 2)
    adlb["CHG"][i] = _round(adlb["AVAL"][i] - adlb["BASE"][i], 2)
    adlb["ANRIND"][i] = "LOW"
    adlb["_PLANT"][i] = "implausible_value"
    notes["implausible_value"] = ("ADLB", "AVAL", _text(adlb["AVAL"][i]),
                                  f"{adlb['AVISIT'][i]} creatinine {_text(umol)} umol/L entered in mg/dL "
                                  f"({_text(adlb['AVAL'][i])}) with AVALU umol/L; CHG and ANRIND follow the wrong "
                                  "value, EGFR does not")

    # duplicate_record: a post-baseline ADLB record repeated right after itself.
    post = adlb["AVISITN"] > 0
    s = choose(per_subject(post & (adlb["_PLANT"] == None)), "duplicate_record",  # noqa: E711
               "no post-baseline lab record")
    i = int(rng.choice(free_rows(post & (adlb["_SID"] == s))))
    adlb = _insert_copy(adlb, i, i + 1)
    adlb["_PLANT"][i + 1] = "duplicate_record"
    notes["duplicate_record"] = ("ADLB", None, None,
                                 f"exact copy of the {adlb['PARAMCD'][i]} {adlb['AVISIT'][i]} record just above it")

    # unknown_subject: a lab record for a subject who is not in ADSL, in USUBJID order.
    untouched = free_rows((adlb["AVISITN"] > 0) & ~used[adlb["_SID"]])
    i = int(rng.choice(untouched if len(untouched) else free_rows(adlb["AVISITN"] > 0)))
    at = int(np.searchsorted(adlb["USUBJID"], UNKNOWN_USUBJID))
    adlb = _insert_copy(adlb, i, at)
    adlb["USUBJID"][at] = UNKNOWN_USUBJID
    adlb["_SID"][at] = -1
    adlb["LBSEQ"][at] = 1
    adlb["_PLANT"][at] = "unknown_subject"
    notes["unknown_subject"] = ("ADLB", "USUBJID", UNKNOWN_USUBJID,
                                f"{adlb['PARAMCD'][at]} {adlb['AVISIT'][at]} record for a subject not in ADSL")

    # end_before_start: an AE whose end date was keyed before its start date.
    if len(adae["USUBJID"]) == 0:
        raise ValueError("with_problems: cannot plant end_before_start: no adverse events yet; give a later data_cut.")
    closed = ~np.isnat(adae["AENDT"])
    fresh = (adae["_SID"] >= 0) & ~used[adae["_SID"]]
    for candidates in (closed & fresh, closed, np.ones(len(closed), bool)):
        if candidates.any():
            break
    i = int(rng.choice(np.flatnonzero(candidates)))
    used[adae["_SID"][i]] = True
    adae["AENDT"][i] = adae["ASTDT"][i] - rng.integers(1, 31)
    adae["AENDY"][i] = _study_day(adae["AENDT"][i:i + 1], adsl["TRTSDT"][adae["_SID"][i:i + 1]])[0]
    adae["AEOUT"][i] = "RECOVERED/RESOLVED"
    adae["_PLANT"][i] = "end_before_start"
    notes["end_before_start"] = ("ADAE", "AENDT", _text(adae["AENDT"][i]),
                                 f"{adae['AEDECOD'][i]}: AENDT {_text(adae['AENDT'][i])} is before ASTDT "
                                 f"{_text(adae['ASTDT'][i])}")

    # out_of_range: an impossible age (a repeated keystroke: 57 -> 577), on a screen failure when
    # there is one: a loader that rejects the ADSL row then rejects no other domain's records.
    failures = adsl["RANDFL"] == "N"
    i = choose(failures if failures.any() else np.ones(n, bool), "out_of_range", "no subject")
    age = int(adsl["AGE"][i])
    adsl["AGE"][i] = age * 10 + age % 10
    adsl["AGEGR1"][i] = ">=65"
    adsl["_PLANT"][i] = "out_of_range"
    notes["out_of_range"] = ("ADSL", "AGE", _text(adsl["AGE"][i]),
                             f"AGE {age} keyed as {adsl['AGE'][i]} (AGEGR1 derived from it)")

    tables.update(ADSL=adsl, ADAE=adae, ADLB=adlb)
    problems = []
    for check in PROBLEM_CHECKS:
        if check == "missing_visit":
            problems.append(missing)
            continue
        domain, column, value, description = notes[check]
        table = tables[domain]
        i = int(np.flatnonzero(table["_PLANT"] == check)[0])
        problems.append(PlantedProblem(domain, file[domain], i + 1, str(table["USUBJID"][i]), column, check, value,
                                       description))
    return tables, problems


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def _to_arrow(table: dict, columns) -> pa.Table:
    """The named columns as an Arrow table: text -> string, dates -> date32, integers -> int64."""
    arrays = []
    for col in columns:
        x = table[col]
        if x.dtype.kind == "M":
            arrays.append(pa.array(x.astype("datetime64[D]"), type=pa.date32()))
        elif col in _INT_COLUMNS:
            xf = x.astype(float)
            missing = np.isnan(xf)
            arrays.append(pa.array(np.where(missing, 0, xf).astype(np.int64), type=pa.int64(), mask=missing))
        elif x.dtype.kind in "fiub":
            xf = x.astype(float)
            arrays.append(pa.array(xf, type=pa.float64(), mask=np.isnan(xf)))
        else:
            arrays.append(pa.array(x, type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(arrays, names=list(columns))


def _manifest(seed: int, subjects: int, blinded: bool, data_cut: datetime.date) -> str:
    lines = [
        "[study]",
        f'id = "{STUDYID}"',
        f'title = "{TITLE}"',
        'sponsor = "Synthetic"',
        f'data_cut = "{data_cut.isoformat()}"',
        f"target_enrollment = {subjects}",
    ]
    if not blinded:
        lines.append("arm_order = [" + ", ".join(f'"{a}"' for a in ARM_ORDER) + "]")
    # A blinded extract carries no seed: with it anyone could regenerate the unblinded extract.
    made_by = "dashboard.generate --blinded (seed withheld)" if blinded else f"dashboard.generate seed={seed}"
    lines += ["synthetic = true", f'generator = "{made_by} subjects={subjects}"']
    return "\n".join(lines) + "\n"


def _write_extract(out_dir: Path, tables: dict, problems: list[PlantedProblem], *, seed: int, subjects: int,
                   blinded: bool, data_cut: datetime.date, file_format: str) -> GenerationReport:
    """Write the domain files, extract.toml and (if any) problems.json; remove stale generator files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stale = [out_dir / f"{d.lower()}.{f}" for d in DOMAIN_COLUMNS for f in FILE_FORMATS if f != file_format]
    if not problems:
        stale.append(out_dir / PROBLEMS_NAME)
    for path in stale:
        path.unlink(missing_ok=True)

    files, rows = [], {}
    for domain, columns in DOMAIN_COLUMNS.items():
        columns = [c for c in columns if not (blinded and c in BLINDED_COLUMNS)]
        table = _to_arrow(tables[domain], columns)
        path = out_dir / f"{domain.lower()}.{file_format}"
        if file_format == "csv":
            pa_csv.write_csv(table, path)
        else:
            pq.write_table(table, path, compression="zstd")
        files.append(path)
        rows[domain] = table.num_rows
    manifest = out_dir / MANIFEST_NAME
    manifest.write_text(_manifest(seed, subjects, blinded, data_cut), encoding="utf-8")
    files.append(manifest)
    if problems:
        path = out_dir / PROBLEMS_NAME
        path.write_text(json.dumps([dataclasses.asdict(p) for p in problems], indent=2) + "\n", encoding="utf-8")
        files.append(path)
    return GenerationReport(out_dir=out_dir, files=files, rows=rows, problems=problems, data_cut=data_cut)


# -- outcome-trial scale (benchmarks) ---------------------------------------------------------

#: Analytes added at outcome-trial scale beyond the sample's 17 (PARAMCD, PARAM, PARCAT1, unit,
#: decimals, reference range), each drawn from a template analyte's values (below) mapped
#: linearly onto its own reference range, so the range indicators stay the template's.
_EXTRA_LABS = (
    ("BICARB", "Bicarbonate (mmol/L)", "CHEMISTRY", "mmol/L", 0, 22.0, 29.0),
    ("CA", "Calcium (mmol/L)", "CHEMISTRY", "mmol/L", 2, 2.15, 2.55),
    ("CHOL", "Cholesterol (mmol/L)", "METABOLIC", "mmol/L", 2, 3.0, 5.2),
    ("CK", "Creatine Kinase (U/L)", "CHEMISTRY", "U/L", 0, 30.0, 200.0),
    ("CL", "Chloride (mmol/L)", "CHEMISTRY", "mmol/L", 0, 98.0, 107.0),
    ("CYSC", "Cystatin C (mg/L)", "RENAL", "mg/L", 2, 0.6, 1.0),
    ("EOS", "Eosinophils (10^9/L)", "HEMATOLOGY", "10^9/L", 2, 0.02, 0.5),
    ("GGT", "Gamma Glutamyl Transferase (U/L)", "LIVER", "U/L", 0, 10.0, 60.0),
    ("HCT", "Hematocrit (%)", "HEMATOLOGY", "%", 1, 36.0, 50.0),
    ("HDL", "HDL Cholesterol (mmol/L)", "METABOLIC", "mmol/L", 2, 1.0, 2.0),
    ("LDH", "Lactate Dehydrogenase (U/L)", "CHEMISTRY", "U/L", 0, 120.0, 250.0),
    ("LDL", "LDL Cholesterol (mmol/L)", "METABOLIC", "mmol/L", 2, 1.5, 3.4),
    ("LYM", "Lymphocytes (10^9/L)", "HEMATOLOGY", "10^9/L", 2, 1.1, 3.2),
    ("MCV", "Mean Corpuscular Volume (fL)", "HEMATOLOGY", "fL", 0, 82.0, 100.0),
    ("MG", "Magnesium (mmol/L)", "CHEMISTRY", "mmol/L", 2, 0.7, 1.0),
    ("MONO", "Monocytes (10^9/L)", "HEMATOLOGY", "10^9/L", 2, 0.1, 0.6),
    ("NTPROBNP", "NT-proBNP (ng/L)", "CARDIAC", "ng/L", 0, 10.0, 125.0),
    ("PHOS", "Phosphate (mmol/L)", "CHEMISTRY", "mmol/L", 2, 0.81, 1.45),
    ("PROT", "Protein (g/L)", "CHEMISTRY", "g/L", 0, 60.0, 80.0),
    ("RBC", "Erythrocytes (10^12/L)", "HEMATOLOGY", "10^12/L", 2, 4.3, 5.8),
    ("SODIUM", "Sodium (mmol/L)", "CHEMISTRY", "mmol/L", 0, 137.0, 147.0),
    ("TRIG", "Triglycerides (mmol/L)", "METABOLIC", "mmol/L", 2, 0.5, 1.7),
    ("URATE", "Urate (umol/L)", "CHEMISTRY", "umol/L", 0, 200.0, 430.0),
)
#: Template analytes (measured at every visit, both range limits, no planted events), in turn.
_EXTRA_LAB_TEMPLATES = ("ALB", "GLUC", "HGB", "K", "PLAT", "UREA", "WBC", "NEUT")
#: Quarterly visits (weeks) repeated each further year of follow-up, and the AE copies per year.
_YEARLY_WEEKS = (12, 24, 36, 48)
_AE_COPIES_PER_YEAR = 4
OUTCOME_BLOCK_SUBJECTS = 500
MIN_LAB_PARAMS, MAX_LAB_PARAMS = len(_LAB_PARAMS), len(_LAB_PARAMS) + len(_EXTRA_LABS)
MAX_YEARS = 5


def generate_outcome_extract(out_dir: Path, seed: int, subjects: int = 13_000, years: int = 3,
                             lab_params: int = 40, formats: tuple[str, ...] = ("parquet",),
                             block_subjects: int = OUTCOME_BLOCK_SUBJECTS) -> dict[str, GenerationReport]:
    """Write a seeded SYNTHETIC extract at outcome-trial scale (FIDELITY: 13,026 patients), for benchmarks.

    Arguments, checked before any data is generated:

    * ``subjects``: randomised subjects (2..50000); ``years``: follow-up of a completer, 1..5;
      ``lab_params``: ADLB parameters, 17..40 (the sample's 17 plus :data:`_EXTRA_LABS`).
    * ``formats``: one or more of "csv", "parquet"; with one, the files go to ``out_dir``, with
      more, to ``out_dir/<format>`` (the same rows in each).

    The trial is simulated in blocks of ``block_subjects`` randomised subjects (each the sample
    generator's 48-week trial with its own seed from ``seed`` and the block number; USUBJID and
    SITEID carry the block), extended as an outcome trial would be: a completer's follow-up runs
    ``years`` years (EOSDT and LSTALVDT later by 364 days per further year), with the quarterly
    lab and vital-sign visits (Weeks 12-48) repeated each further year (values x N(1, 0.04),
    range indicators recomputed) and each non-fatal treatment-emergent AE of a completer recurring
    :data:`_AE_COPIES_PER_YEAR` times a year (23 days apart; copies after EOSDT are dropped);
    the extra analytes are added last. Blocks are written as they are made (Parquet row groups,
    CSV appended), so memory stays that of one block. Same arguments, same files.

    Defaults give about 8.7 million ADLB rows and 160,000 AEs. Returns a :class:`GenerationReport`
    per format.
    """
    if not isinstance(years, int) or not 1 <= years <= MAX_YEARS:
        raise ValueError(f"years must be a whole number from 1 to {MAX_YEARS}, not {years!r}.")
    if not isinstance(lab_params, int) or not MIN_LAB_PARAMS <= lab_params <= MAX_LAB_PARAMS:
        raise ValueError(f"lab_params must be a whole number from {MIN_LAB_PARAMS} to {MAX_LAB_PARAMS}, "
                         f"not {lab_params!r}.")
    formats = tuple(dict.fromkeys(formats))
    if not formats or any(f not in FILE_FORMATS for f in formats):
        raise ValueError(f"formats must be some of {', '.join(FILE_FORMATS)}, not {formats!r}.")
    _check_arguments(seed, subjects, False, None, False, formats[0])
    out_dir = Path(out_dir)
    dirs = {f: (out_dir if len(formats) == 1 else out_dir / f) for f in formats}
    writers: dict[tuple[str, str], object] = {}
    schemas: dict[str, pa.Schema] = {}
    rows = {d: 0 for d in DOMAIN_COLUMNS}
    latest = None
    try:
        for block, start in enumerate(range(0, subjects, block_subjects)):
            n = min(block_subjects, subjects - start)
            block_seed = int(np.random.SeedSequence([seed, block]).generate_state(1)[0])
            tables = _scale_block(_simulate_trial(block_seed, max(n, MIN_SUBJECTS)), block, years, lab_params,
                                  np.random.default_rng([seed, block, 1]))
            day = _latest_date(tables)
            latest = day if latest is None or day > latest else latest
            for domain, columns in DOMAIN_COLUMNS.items():
                table = _to_arrow(tables[domain], columns)
                table = table.cast(schemas.setdefault(domain, table.schema))
                rows[domain] += table.num_rows
                for fmt, folder in dirs.items():
                    key = (domain, fmt)
                    if key not in writers:
                        folder.mkdir(parents=True, exist_ok=True)
                        path = folder / f"{domain.lower()}.{fmt}"
                        writers[key] = (pa_csv.CSVWriter(path, table.schema) if fmt == "csv"
                                        else pq.ParquetWriter(path, table.schema, compression="zstd"))
                    writers[key].write_table(table)
            del tables
    finally:
        for w in writers.values():
            w.close()
    reports = {}
    for fmt, folder in dirs.items():
        for stale_fmt in FILE_FORMATS:
            if stale_fmt != fmt:
                for d in DOMAIN_COLUMNS:
                    (folder / f"{d.lower()}.{stale_fmt}").unlink(missing_ok=True)
        (folder / PROBLEMS_NAME).unlink(missing_ok=True)
        manifest = folder / MANIFEST_NAME
        text = _manifest(seed, subjects, False, latest).replace(
            f'subjects={subjects}"', f'subjects={subjects} years={years} lab_params={lab_params}"')
        manifest.write_text(text, encoding="utf-8")
        files = [folder / f"{d.lower()}.{fmt}" for d in DOMAIN_COLUMNS] + [manifest]
        reports[fmt] = GenerationReport(out_dir=folder, files=files, rows=dict(rows), problems=[], data_cut=latest)
    return reports


def _stack(parts: list[dict]) -> dict:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _sorted_by(table: dict, *keys: str) -> dict:
    import pandas as pd

    order = pd.DataFrame({k: table[k] for k in keys}).sort_values(list(keys), kind="stable").index.to_numpy()
    return _take(table, order)


def _renumber(table: dict, seq: str) -> None:
    """``seq`` as 1, 2, ... within each subject (the table is in subject order)."""
    import pandas as pd

    table[seq] = pd.Series(table["USUBJID"]).groupby(table["USUBJID"], sort=False).cumcount().to_numpy(float) + 1


def _scale_block(tables: dict, block: int, years: int, lab_params: int, rng) -> dict:
    """One block of the 48-week trial made an outcome trial's (see :func:`generate_outcome_extract`)."""
    prefix = f"{block + 1:03d}"
    for t in tables.values():
        t["USUBJID"] = np.array([u.replace(f"{STUDYID}-", f"{STUDYID}-{prefix}-", 1) for u in t["USUBJID"]], object)
    adsl = tables["ADSL"]
    adsl["SUBJID"] = np.array([f"{prefix}-{s}" for s in adsl["SUBJID"]], object)
    adsl["SITEID"] = np.array([f"{prefix}{s}" for s in adsl["SITEID"]], object)
    completer = np.asarray(adsl["EOSSTT"] == "COMPLETED", bool)
    extra_days = 364 * (years - 1)
    for c in ("EOSDT", "LSTALVDT"):
        adsl[c] = np.where(completer, adsl[c] + np.timedelta64(extra_days, "D"), adsl[c])

    def later_years(t: dict, ranges: bool) -> dict:
        base = np.flatnonzero(completer[t["_SID"]] & np.isin(t["AVISITN"], _YEARLY_WEEKS))
        parts = [t]
        for y in range(1, years):
            c = {k: v.copy() for k, v in _take(t, base).items()}
            c["AVISITN"] = c["AVISITN"] + 52 * y
            c["AVISIT"] = np.array([f"Week {int(w)}" for w in c["AVISITN"]], object)
            c["ADT"] = c["ADT"] + np.timedelta64(364 * y, "D")
            c["ADY"] = c["ADY"] + 364 * y
            c["ABLFL"] = np.full(len(base), None, object)
            c["AVAL"] = np.round(c["AVAL"] * rng.normal(1.0, 0.04, len(base)), 2)
            c["CHG"] = np.round(c["AVAL"] - c["BASE"], 2)
            if ranges:
                c["ANRIND"] = _range_indicator(c["AVAL"], c["ANRLO"], c["ANRHI"])
            parts.append(c)
        return _stack(parts)

    adlb = later_years(tables["ADLB"], True)
    extra = []
    for j, (code, param, cat, unit, decimals, lo, hi) in enumerate(_EXTRA_LABS[:lab_params - MIN_LAB_PARAMS]):
        rows = np.flatnonzero(adlb["PARAMCD"] == _EXTRA_LAB_TEMPLATES[j % len(_EXTRA_LAB_TEMPLATES)])
        c = {k: v.copy() for k, v in _take(adlb, rows).items()}
        tlo, thi = c["ANRLO"], c["ANRHI"]
        for col in ("AVAL", "BASE"):
            c[col] = np.round(np.maximum(lo + (hi - lo) * (c[col] - tlo) / (thi - tlo), 0.0), decimals)
        c["CHG"] = np.where(np.isnan(c["CHG"]), np.nan, np.round(c["AVAL"] - c["BASE"], decimals))
        c["ANRLO"], c["ANRHI"] = np.full(len(rows), lo), np.full(len(rows), hi)
        for col, value in (("PARAMCD", code), ("PARAM", param), ("PARCAT1", cat), ("AVALU", unit)):
            c[col] = np.full(len(rows), value, object)
        extra.append(c)
    adlb = _sorted_by(_stack([adlb, *extra]), "USUBJID", "PARAMCD", "AVISITN")
    _renumber(adlb, "LBSEQ")
    tables["ADLB"] = adlb
    tables["ADVS"] = _sorted_by(later_years(tables["ADVS"], False), "USUBJID", "PARAMCD", "AVISITN")

    ae = tables["ADAE"]
    fatal = (ae["AEOUT"] == "FATAL") | (ae["AESDTH"] == "Y")
    emergent = ae["TRTEMFL"] == "Y"  # a pre-treatment AE moved after the first dose would contradict TRTEMFL
    base = np.flatnonzero(completer[ae["_SID"]] & ~np.asarray(fatal, bool) & np.asarray(emergent, bool))
    parts = [ae]
    for y in range(years):
        for r in range(_AE_COPIES_PER_YEAR):
            if y == 0 and r == 0:
                continue
            shift = 364 * y + 23 * r
            c = {k: v.copy() for k, v in _take(ae, base).items()}
            for col in ("ASTDT", "AENDT"):
                c[col] = c[col] + np.timedelta64(shift, "D")
            for col in ("ASTDY", "AENDY"):
                c[col] = c[col] + shift
            keep = c["ASTDT"] <= adsl["EOSDT"][c["_SID"]]
            parts.append(_take(c, np.flatnonzero(keep)))
    ae = _stack(parts)
    ae["_ORDER"] = np.arange(len(ae["USUBJID"]))
    ae = _sorted_by(ae, "USUBJID", "ASTDT", "_ORDER")
    del ae["_ORDER"]
    _renumber(ae, "AESEQ")
    tables["ADAE"] = ae
    return tables
