"""Tests for dashboard.generate: the seeded synthetic NCT04562025 extract.

Expected column lists, labels and counts are written out literally; the generator's own
constants are not reused as expectations. Extracts are small (38 or 200 subjects) and shared
per module, so the whole file runs in a few seconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from dashboard.generate import GenerationReport, PlantedProblem, generate_extract
from dashboard.renal import egfr_ckd_epi_2021

DOMAIN_FILES = ("adsl", "adae", "adlb", "adex", "advs")
ARM_ACTIVE = "UC-MSC 1x10^6 cells/kg"
ARM_PLACEBO = "Placebo"

EXPECTED_COLUMNS = {
    "adsl": [
        "STUDYID", "USUBJID", "SUBJID", "SITEID", "SITENAME", "COUNTRY", "AGE", "AGEU", "AGEGR1", "SEX",
        "RACE", "ETHNIC", "SCRNDT", "RANDDT", "RANDNO", "ARM", "ARMCD", "ACTARM", "ACTARMCD", "TRT01P",
        "TRT01PN", "TRT01A", "TRT01AN", "TRTSDT", "TRTEDT", "TRTDURD", "RANDFL", "SAFFL", "ITTFL",
        "EOSSTT", "EOSDT", "DCSREAS", "DTHFL", "DTHDT", "LSTALVDT", "HEIGHTBL", "WEIGHTBL", "BMIBL",
        "DIABDURY", "HBA1CBL", "CREATBL", "EGFRBL", "UACRBL", "SYSBPBL", "DIABPBL",
    ],
    "adae": [
        "STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "ASTDT", "AENDT", "ASTDY", "AENDY",
        "AESEV", "AETOXGR", "AESER", "AESHOSP", "AESDTH", "AEREL", "AEACN", "AEOUT", "TRTEMFL", "AESIFL",
        "TRTA",
    ],
    "adlb": [
        "STUDYID", "USUBJID", "LBSEQ", "PARAMCD", "PARAM", "PARCAT1", "AVAL", "AVALU", "ADT", "ADY",
        "AVISIT", "AVISITN", "ABLFL", "BASE", "CHG", "ANRLO", "ANRHI", "ANRIND", "BNRIND", "TRTA", "TRTP",
    ],
    "adex": [
        "STUDYID", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXOCCUR", "ASTDT", "AENDT",
        "ASTDY", "AVISIT", "AVISITN", "EXADJ", "TRTA",
    ],
    "advs": [
        "STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "ADT", "ADY", "AVISIT", "AVISITN",
        "ABLFL", "BASE", "CHG", "TRTA",
    ],
}
TREATMENT_COLUMNS = {
    "ARM", "ARMCD", "ACTARM", "ACTARMCD", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "TRTA", "TRTP", "RANDNO",
    "EXTRT", "EXDOSE", "EXDOSU",
}
VISITS = [
    # AVISIT, AVISITN, lowest and highest allowed ADY
    ("Baseline", 0, -7, 1),
    ("Week 1", 1, 5, 11),
    ("Week 2", 2, 12, 18),
    ("Week 3", 3, 19, 25),
    ("Week 4", 4, 26, 32),
    ("Week 8", 8, 50, 64),
    ("Week 12", 12, 78, 92),
    ("Week 24", 24, 162, 176),
    ("Week 36", 36, 246, 260),
    ("Week 48", 48, 330, 344),
]
LAB_PARAMETERS = {
    # PARAMCD: (AVALU, PARCAT1)
    "ALB": ("g/L", "CHEMISTRY"),
    "ALP": ("U/L", "LIVER"),
    "ALT": ("U/L", "LIVER"),
    "AST": ("U/L", "LIVER"),
    "BILI": ("umol/L", "LIVER"),
    "CREAT": ("umol/L", "RENAL"),
    "EGFR": ("mL/min/1.73m2", "RENAL"),
    "GLUC": ("mmol/L", "METABOLIC"),
    "HBA1C": ("%", "METABOLIC"),
    "HGB": ("g/L", "HEMATOLOGY"),
    "K": ("mmol/L", "CHEMISTRY"),
    "NEUT": ("10^9/L", "HEMATOLOGY"),
    "PLAT": ("10^9/L", "HEMATOLOGY"),
    "UACR": ("mg/g", "URINALYSIS"),
    "UPROT24": ("g/24h", "URINALYSIS"),
    "UREA": ("mmol/L", "RENAL"),
    "WBC": ("10^9/L", "HEMATOLOGY"),
}
QUARTERLY = {"HBA1C", "UPROT24"}
QUARTERLY_VISITS = {"Baseline", "Week 12", "Week 24", "Week 36", "Week 48"}
DATE_COLUMNS = {"SCRNDT", "RANDDT", "TRTSDT", "TRTEDT", "EOSDT", "DTHDT", "LSTALVDT", "ASTDT", "AENDT", "ADT"}


# ------------------------------------------------------------------------------------------
# Helpers and shared extracts
# ------------------------------------------------------------------------------------------
def read(folder: Path, name: str) -> pd.DataFrame:
    """A CSV domain as text (empty cells -> NaN), dates kept as ISO strings."""
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])


def num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def csv_rows(path: Path) -> list[dict[str, str]]:
    """Records of a CSV file exactly as written (row 1 = first record after the header)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def default_extract(tmp_path_factory) -> tuple[Path, GenerationReport]:
    out = tmp_path_factory.mktemp("default")
    return out, generate_extract(out, seed=20200925)


@pytest.fixture(scope="module")
def blinded_extract(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blinded")
    generate_extract(out, seed=20200925, blinded=True)
    return out


@pytest.fixture(scope="module")
def problem_extract(tmp_path_factory) -> tuple[Path, GenerationReport]:
    out = tmp_path_factory.mktemp("problems")
    return out, generate_extract(out, seed=7, with_problems=True)


# ------------------------------------------------------------------------------------------
# 1. Determinism
# ------------------------------------------------------------------------------------------
def test_generate_extract_same_seed_gives_identical_bytes(tmp_path, default_extract):
    folder, _ = default_extract
    again = generate_extract(tmp_path / "again", seed=20200925)
    assert digests(again.out_dir) == digests(folder)
    other = generate_extract(tmp_path / "other", seed=20200926)
    changed = {k for k, v in digests(other.out_dir).items() if digests(folder)[k] != v}
    assert changed == {"adsl.csv", "adae.csv", "adlb.csv", "adex.csv", "advs.csv", "extract.toml"}
    assert "seed=20200926" in (other.out_dir / "extract.toml").read_text()


def test_generate_extract_parquet_is_deterministic_and_matches_csv(tmp_path, default_extract):
    folder, _ = default_extract
    first = generate_extract(tmp_path / "p1", seed=20200925, file_format="parquet")
    second = generate_extract(tmp_path / "p2", seed=20200925, file_format="parquet")
    assert digests(first.out_dir) == digests(second.out_dir)
    for name in DOMAIN_FILES:
        table = pq.read_table(first.out_dir / f"{name}.parquet")
        assert table.column_names == EXPECTED_COLUMNS[name]
        for col in DATE_COLUMNS & set(table.column_names):
            assert str(table.schema.field(col).type) == "date32[day]", (name, col)
        # the same values: the Parquet table written as CSV is the CSV file, byte for byte
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer)
        assert buffer.getvalue() == (folder / f"{name}.csv").read_bytes(), name


# ------------------------------------------------------------------------------------------
# 2. Subjects, arms, disposition
# ------------------------------------------------------------------------------------------
def test_generate_extract_default_randomises_38_subjects_19_19_plus_screen_failures(default_extract):
    folder, report = default_extract
    adsl = read(folder, "adsl")
    randomised = adsl[adsl["RANDFL"] == "Y"]
    assert len(randomised) == 38
    assert randomised["ARM"].value_counts().to_dict() == {ARM_ACTIVE: 19, ARM_PLACEBO: 19}
    assert set(randomised["ARMCD"]) == {"UCMSC", "PBO"}
    assert (randomised["TRT01PN"] == randomised["ARM"].map({ARM_ACTIVE: "1", ARM_PLACEBO: "0"})).all()
    assert set(randomised["ITTFL"]) == {"Y"}
    # screen failures: ~15-20% extra, never treated
    failures = adsl[adsl["RANDFL"] == "N"]
    assert 5 <= len(failures) <= 8
    for col, value in [("ARM", "Screen Failure"), ("ARMCD", "SCRNFAIL"), ("ACTARM", "Screen Failure"),
                       ("TRT01P", "Screen Failure"), ("TRT01A", "Screen Failure"), ("SAFFL", "N"), ("ITTFL", "N"),
                       ("EOSSTT", "DISCONTINUED"), ("DCSREAS", "SCREEN FAILURE")]:
        assert set(failures[col]) == {value}, col
    assert failures[["RANDDT", "TRTSDT", "TRTEDT", "RANDNO"]].isna().all().all()
    # identifiers and fixed values
    assert adsl["USUBJID"].str.fullmatch(r"NCT04562025-01-\d{3}").all()
    assert adsl["USUBJID"].is_unique and adsl["USUBJID"].is_monotonic_increasing
    assert set(adsl["SITENAME"]) == {"Renmin Hospital of Wuhan University"}
    assert set(adsl["STUDYID"]) == {"NCT04562025"} and set(adsl["COUNTRY"]) == {"CHN"}
    assert num(adsl["AGE"]).between(30, 75).all()
    assert report.rows == {"ADSL": len(adsl), "ADAE": len(read(folder, "adae")), "ADLB": len(read(folder, "adlb")),
                           "ADEX": len(read(folder, "adex")), "ADVS": len(read(folder, "advs"))}


def test_generate_extract_default_disposition_and_treatment_dates(default_extract):
    folder, _ = default_extract
    adsl = read(folder, "adsl")
    randomised = adsl[adsl["RANDFL"] == "Y"]
    assert randomised["RANDDT"].min() == "2020-09-25"
    dosed = randomised[randomised["SAFFL"] == "Y"]
    assert (dosed["TRTSDT"] == dosed["RANDDT"]).all()  # randomised and first infusion on Day 1
    never = randomised[randomised["SAFFL"] == "N"]
    assert len(never) == 1
    assert never[["ACTARM", "ACTARMCD"]].iloc[0].tolist() == ["Not Treated", "NOTTRT"]
    assert never[["TRTSDT", "TRT01A"]].isna().all().all()
    discontinued = randomised[randomised["EOSSTT"] == "DISCONTINUED"]
    assert 2 <= len(discontinued) <= 4
    assert "ADVERSE EVENT" in set(discontinued["DCSREAS"])
    assert set(randomised["EOSSTT"]) == {"COMPLETED", "DISCONTINUED"}
    assert randomised["EOSDT"].notna().all()
    days = (pd.to_datetime(dosed["TRTEDT"]) - pd.to_datetime(dosed["TRTSDT"])).dt.days
    assert (num(dosed["TRTDURD"]) == days + 1).all()
    assert (dosed["LSTALVDT"] >= dosed["EOSDT"].where(dosed["DCSREAS"] != "LOST TO FOLLOW-UP", "")).all()


def test_generate_extract_odd_subjects_split_as_evenly_as_possible(tmp_path):
    report = generate_extract(tmp_path, seed=3, subjects=7)
    adsl = read(tmp_path, "adsl")
    counts = adsl.loc[adsl["RANDFL"] == "Y", "ARM"].value_counts()
    assert sorted(counts.tolist()) == [3, 4]
    assert report.rows["ADSL"] == 7 + 1  # one screen failure (18% of 7, rounded)


def test_generate_extract_200_subjects_adds_sites(tmp_path):
    generate_extract(tmp_path, seed=11, subjects=200)
    adsl = read(tmp_path, "adsl")
    randomised = adsl[adsl["RANDFL"] == "Y"]
    assert randomised["ARM"].value_counts().to_dict() == {ARM_ACTIVE: 100, ARM_PLACEBO: 100}
    sites = adsl.drop_duplicates("SITEID").set_index("SITEID")["SITENAME"].to_dict()
    assert sites == {"01": "Renmin Hospital of Wuhan University", "02": "Synthetic site 02",
                     "03": "Synthetic site 03", "04": "Synthetic site 04"}
    assert (adsl["USUBJID"] == "NCT04562025-" + adsl["SUBJID"]).all()
    assert adsl["USUBJID"].is_monotonic_increasing


# ------------------------------------------------------------------------------------------
# 3. Columns, visits, parameters
# ------------------------------------------------------------------------------------------
def test_generate_extract_writes_expected_columns_and_manifest(default_extract):
    folder, report = default_extract
    assert sorted(p.name for p in report.files) == sorted(
        ["adsl.csv", "adae.csv", "adlb.csv", "adex.csv", "advs.csv", "extract.toml"])
    for name, columns in EXPECTED_COLUMNS.items():
        assert csv_rows(folder / f"{name}.csv")[0].keys() == dict.fromkeys(columns).keys(), name
    manifest = tomllib.loads((folder / "extract.toml").read_text())
    assert manifest == {"study": {
        "id": "NCT04562025",
        "title": "SYNTHETIC data modelled on NCT04562025: UC-MSC vs placebo in diabetic nephropathy",
        "sponsor": "Synthetic",
        "data_cut": report.data_cut.isoformat(),
        "target_enrollment": 38,
        "arm_order": ["Placebo", "UC-MSC 1x10^6 cells/kg"],
        "synthetic": True,
        "generator": "dashboard.generate seed=20200925 subjects=38",
    }}
    latest = max(d for n in DOMAIN_FILES for c in DATE_COLUMNS if c in EXPECTED_COLUMNS[n]
                 for d in read(folder, n)[c].dropna())
    assert manifest["study"]["data_cut"] == latest


def test_adlb_visits_windows_and_parameters(default_extract):
    folder, _ = default_extract
    adlb = read(folder, "adlb")
    assert set(adlb["PARAMCD"]) == set(LAB_PARAMETERS)
    units = adlb.drop_duplicates("PARAMCD").set_index("PARAMCD")[["AVALU", "PARCAT1"]]
    assert {k: tuple(v) for k, v in units.iterrows()} == LAB_PARAMETERS
    assert adlb.loc[adlb["PARAMCD"] == "CREAT", "PARAM"].iloc[0] == "Creatinine (umol/L)"
    for avisit, avisitn, lo, hi in VISITS:
        rows = adlb[adlb["AVISIT"] == avisit]
        assert set(rows["AVISITN"]) == {str(avisitn)}, avisit
        assert num(rows["ADY"]).between(lo, hi).all(), avisit
    assert set(adlb.loc[adlb["PARAMCD"].isin(QUARTERLY), "AVISIT"]) == QUARTERLY_VISITS
    assert "0" not in set(adlb["ADY"])  # no Day 0
    # one record per subject x parameter x visit, one baseline each, on or before the first infusion
    assert not adlb.duplicated(["USUBJID", "PARAMCD", "AVISIT"]).any()
    base = adlb[adlb["ABLFL"] == "Y"]
    assert (base["AVISIT"] == "Baseline").all() and not base.duplicated(["USUBJID", "PARAMCD"]).any()
    assert (num(base["ADY"]) <= 1).all()
    # BASE/CHG and range indicators
    post = adlb[adlb["ABLFL"] != "Y"]
    assert np.allclose(num(post["CHG"]), num(post["AVAL"]) - num(post["BASE"]), atol=1e-9)
    assert base["CHG"].isna().all()
    assert set(adlb["ANRIND"]) <= {"LOW", "NORMAL", "HIGH"}
    low = num(adlb["AVAL"]) < num(adlb["ANRLO"])
    high = num(adlb["AVAL"]) > num(adlb["ANRHI"])
    assert ((adlb["ANRIND"] == "LOW") == low).all() and ((adlb["ANRIND"] == "HIGH") == high).all()
    # LBSEQ runs 1..n within each subject
    seq = num(adlb["LBSEQ"])
    assert (seq == adlb.groupby("USUBJID").cumcount() + 1).all()


def test_adlb_sex_specific_reference_ranges(default_extract):
    folder, _ = default_extract
    adlb = read(folder, "adlb").merge(read(folder, "adsl")[["USUBJID", "SEX"]], on="USUBJID")
    ranges = adlb[adlb["PARAMCD"].isin(["CREAT", "HGB"])].drop_duplicates(["PARAMCD", "SEX"])
    got = {(r.PARAMCD, r.SEX): (r.ANRLO, r.ANRHI) for r in ranges.itertuples()}
    assert got == {("CREAT", "M"): ("59", "104"), ("CREAT", "F"): ("45", "84"),
                   ("HGB", "M"): ("130", "175"), ("HGB", "F"): ("115", "150")}


def test_adlb_egfr_equals_ckd_epi_2021_of_same_record_creatinine(default_extract):
    folder, _ = default_extract
    adlb = read(folder, "adlb")
    adsl = read(folder, "adsl")[["USUBJID", "AGE", "SEX"]]
    creat = adlb[adlb["PARAMCD"] == "CREAT"][["USUBJID", "AVISIT", "ADT", "AVAL"]]
    egfr = adlb[adlb["PARAMCD"] == "EGFR"][["USUBJID", "AVISIT", "ADT", "AVAL"]]
    both = creat.merge(egfr, on=["USUBJID", "AVISIT", "ADT"], suffixes=("_CREAT", "_EGFR")).merge(adsl, on="USUBJID")
    assert len(both) == len(creat) == len(egfr)
    expected = egfr_ckd_epi_2021(num(both["AVAL_CREAT"]).to_numpy() / 88.42, num(both["AGE"]).to_numpy(),
                                 both["SEX"].to_numpy())
    assert np.allclose(num(both["AVAL_EGFR"]), np.round(expected, 1), atol=0.05 + 1e-9)


def test_adsl_baselines_equal_adlb_and_advs_baseline_records(default_extract):
    folder, _ = default_extract
    adsl = read(folder, "adsl").set_index("USUBJID")
    dosed = adsl[adsl["SAFFL"] == "Y"]
    for domain, paramcd, column in [("adlb", "CREAT", "CREATBL"), ("adlb", "EGFR", "EGFRBL"),
                                    ("adlb", "UACR", "UACRBL"), ("adlb", "HBA1C", "HBA1CBL"),
                                    ("advs", "SYSBP", "SYSBPBL"), ("advs", "DIABP", "DIABPBL"),
                                    ("advs", "WEIGHT", "WEIGHTBL")]:
        bds = read(folder, domain)
        base = bds[(bds["PARAMCD"] == paramcd) & (bds["ABLFL"] == "Y")].set_index("USUBJID")["AVAL"]
        assert num(base.reindex(dosed.index)).tolist() == num(dosed[column]).tolist(), column
    egfr = num(dosed["EGFRBL"])
    uacr = num(dosed["UACRBL"])
    assert egfr.between(28, 92).all() and uacr.between(30, 3000).all()


def test_advs_parameters_and_visits(default_extract):
    folder, _ = default_extract
    advs = read(folder, "advs")
    params = advs.drop_duplicates("PARAMCD").set_index("PARAMCD")["AVALU"].to_dict()
    assert params == {"DIABP": "mmHg", "PULSE": "beats/min", "SYSBP": "mmHg", "TEMP": "C", "WEIGHT": "kg"}
    assert set(advs["AVISIT"]) == {v[0] for v in VISITS}
    # ADVS and ADLB share one date per subject and visit
    adlb = read(folder, "adlb")[["USUBJID", "AVISIT", "ADT"]].drop_duplicates()
    merged = advs[["USUBJID", "AVISIT", "ADT"]].drop_duplicates().merge(adlb, on=["USUBJID", "AVISIT"])
    assert (merged["ADT_x"] == merged["ADT_y"]).all() and len(merged) == len(adlb)


# ------------------------------------------------------------------------------------------
# 4. Exposure and adverse events
# ------------------------------------------------------------------------------------------
def test_adex_has_three_planned_infusions_with_a_missed_and_a_delayed_one(default_extract):
    folder, _ = default_extract
    adex = read(folder, "adex")
    adsl = read(folder, "adsl")
    dosed = adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"]
    assert sorted(adex["USUBJID"].unique()) == sorted(dosed)
    assert adex.groupby("USUBJID")["EXSEQ"].apply(lambda s: s.tolist() == ["1", "2", "3"]).all()
    assert set(adex["AVISIT"]) == {"Infusion 1", "Infusion 2", "Infusion 3"}
    missed = adex[adex["EXOCCUR"] == "N"]
    assert len(missed) >= 1 and missed[["ASTDT", "AENDT", "EXDOSE"]].isna().all().all()
    assert missed["EXADJ"].notna().all()
    given = adex[adex["EXOCCUR"] == "Y"]
    planned_day = given["AVISITN"].map({"1": 1, "2": 8, "3": 15})
    late = num(given["ASTDY"]) - planned_day > 3
    assert late.any() and given.loc[late, "EXADJ"].notna().all()
    assert (given["EXDOSE"] == given["EXTRT"].map({"UC-MSC": "1", "PLACEBO": "0"})).all()
    assert set(adex["EXDOSU"]) == {"10^6 cells/kg"} and set(adex["EXROUTE"]) == {"INTRAVENOUS"}


def test_adae_flags_and_infusion_reactions(default_extract):
    folder, _ = default_extract
    adae = read(folder, "adae").merge(read(folder, "adsl")[["USUBJID", "TRTSDT", "SAFFL"]], on="USUBJID")
    assert (adae["SAFFL"] == "Y").all()
    assert ((adae["ASTDT"] >= adae["TRTSDT"]) == (adae["TRTEMFL"] == "Y")).all()
    assert (adae["TRTEMFL"] == "N").sum() == 2  # pre-treatment events
    assert ((adae["AESIFL"] == "Y") == (adae["AEDECOD"] == "Infusion related reaction")).all()
    assert (adae["AENDT"].isna() | (adae["AENDT"] >= adae["ASTDT"])).all()
    assert (adae["AENDT"].isna() == adae["AEOUT"].isin(["NOT RECOVERED/NOT RESOLVED", "RECOVERING/RESOLVING"])).all()
    assert set(adae["AETOXGR"]) <= {"1", "2", "3", "4", "5"}
    assert ((adae["AESER"] == "Y") == (adae["AESHOSP"] == "Y")).all()
    assert "Acute kidney injury" in set(adae.loc[adae["AESER"] == "Y", "AEDECOD"])
    assert (adae["AEACN"] == "DRUG WITHDRAWN").sum() == 1
    assert (adae.groupby("USUBJID")["AESEQ"].apply(lambda s: num(s).tolist() == list(range(1, len(s) + 1)))).all()
    # infusion reactions start on the day of an infusion or the day after
    infusions = read(folder, "adex").dropna(subset=["ASTDT"])[["USUBJID", "ASTDT"]]
    irr = adae[adae["AEDECOD"] == "Infusion related reaction"][["USUBJID", "ASTDT"]]
    lag = irr.merge(infusions, on="USUBJID", suffixes=("", "_INF"))
    lag["days"] = (pd.to_datetime(lag["ASTDT"]) - pd.to_datetime(lag["ASTDT_INF"])).dt.days
    assert lag.groupby(["USUBJID", "ASTDT"])["days"].apply(lambda d: d.isin([0, 1]).any()).all()
    # 60-75% of the safety population has at least one AE (a little slack for 37 subjects)
    share = adae["USUBJID"].nunique() / 37
    assert 0.5 <= share <= 0.85


# ------------------------------------------------------------------------------------------
# 5. Blinding
# ------------------------------------------------------------------------------------------
def test_generate_extract_blinded_has_no_treatment_columns_and_same_values(default_extract, blinded_extract):
    folder, _ = default_extract
    manifest = tomllib.loads((blinded_extract / "extract.toml").read_text())["study"]
    assert "arm_order" not in manifest
    # no seed: with it the unblinded extract could be regenerated (blinding rule R6)
    assert manifest["generator"] == "dashboard.generate --blinded (seed withheld) subjects=38"
    assert "20200925" not in (blinded_extract / "extract.toml").read_text()
    for name in DOMAIN_FILES:
        blinded = read(blinded_extract, name)
        assert not TREATMENT_COLUMNS & set(blinded.columns), name
        assert list(blinded.columns) == [c for c in EXPECTED_COLUMNS[name] if c not in TREATMENT_COLUMNS]
        pd.testing.assert_frame_equal(blinded, read(folder, name)[list(blinded.columns)])
        text = (blinded_extract / f"{name}.csv").read_text()
        for label in ("UC-MSC", "Placebo", "PLACEBO", "UCMSC", "PBO"):
            assert label not in text, (name, label)


def test_generate_extract_no_single_non_treatment_variable_predicts_arm(tmp_path):
    """Per-subject variables (ADSL numbers, AE terms, Week 48 lab changes) separate the arms only modestly."""
    generate_extract(tmp_path, seed=5, subjects=1000)
    adsl = read(tmp_path, "adsl")
    adsl = adsl[adsl["SAFFL"] == "Y"].set_index("USUBJID")
    arm = adsl["TRT01A"] == ARM_ACTIVE
    features = {c: num(adsl[c]) for c in ["AGE", "HEIGHTBL", "WEIGHTBL", "BMIBL", "DIABDURY", "HBA1CBL", "CREATBL",
                                          "EGFRBL", "UACRBL", "SYSBPBL", "DIABPBL", "TRTDURD"]}
    adae = read(tmp_path, "adae")
    for term, rows in adae.groupby("AEDECOD"):
        features[f"AE {term}"] = adsl.index.isin(rows["USUBJID"]).astype(float)
    adlb = read(tmp_path, "adlb")
    week48 = adlb[adlb["AVISIT"] == "Week 48"]
    for paramcd, rows in week48.groupby("PARAMCD"):
        features[f"CHG {paramcd}"] = num(rows.set_index("USUBJID")["CHG"]).reindex(adsl.index)
    for name, values in features.items():
        values = pd.Series(np.asarray(values, float), index=adsl.index)
        ok = values.notna()
        ranks = values[ok].rank()
        n1, n0 = arm[ok].sum(), (~arm[ok]).sum()
        auc = (ranks[arm[ok]].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
        assert 0.28 < auc < 0.72, (name, auc)


# ------------------------------------------------------------------------------------------
# 6. Data cut
# ------------------------------------------------------------------------------------------
def test_generate_extract_data_cut_drops_later_records_and_sets_ongoing(tmp_path, default_extract):
    folder, _ = default_extract
    cut = dt.date(2021, 4, 30)
    report = generate_extract(tmp_path, seed=20200925, data_cut=cut)
    assert report.data_cut == cut
    assert tomllib.loads((tmp_path / "extract.toml").read_text())["study"]["data_cut"] == "2021-04-30"
    for name in DOMAIN_FILES:
        frame = read(tmp_path, name)
        for col in DATE_COLUMNS & set(frame.columns):
            assert (frame[col].dropna() <= "2021-04-30").all(), (name, col)
    adsl = read(tmp_path, "adsl")
    full = read(folder, "adsl").set_index("USUBJID")
    randomised_by_cut = full[(full["RANDFL"] == "Y") & (full["RANDDT"] <= "2021-04-30")]
    assert set(randomised_by_cut.index) <= set(adsl["USUBJID"])
    ongoing = adsl[adsl["EOSSTT"] == "ONGOING"]
    assert len(ongoing) > 0
    assert ongoing[["EOSDT", "DCSREAS"]].isna().all().all()
    assert (full.loc[ongoing["USUBJID"], "EOSDT"] > "2021-04-30").all()
    # records on or before the cut are the uncut records, value for value
    cut_lb = read(tmp_path, "adlb")
    full_lb = read(folder, "adlb")
    kept = full_lb[(full_lb["ADT"] <= "2021-04-30") & full_lb["USUBJID"].isin(adsl["USUBJID"])]
    pd.testing.assert_frame_equal(cut_lb.reset_index(drop=True), kept.reset_index(drop=True))
    # AEs still open at the cut have no end date
    adae = read(tmp_path, "adae")
    full_ae = read(folder, "adae")
    open_then = full_ae[(full_ae["ASTDT"] <= "2021-04-30") & (full_ae["AENDT"] > "2021-04-30")]
    merged = adae.merge(open_then[["USUBJID", "AESEQ"]], on=["USUBJID", "AESEQ"])
    assert merged["AENDT"].isna().all() and (merged["AEOUT"] == "NOT RECOVERED/NOT RESOLVED").all()


def test_generate_extract_data_cut_on_first_randomisation_keeps_first_subject(tmp_path):
    generate_extract(tmp_path, seed=1, data_cut=dt.date(2020, 9, 25))
    adsl = read(tmp_path, "adsl")
    randomised = adsl[adsl["RANDFL"] == "Y"]
    assert len(randomised) == 1 and randomised["EOSSTT"].iloc[0] == "ONGOING"
    assert randomised["TRTSDT"].iloc[0] == "2020-09-25"


# ------------------------------------------------------------------------------------------
# 7. Planted problems
# ------------------------------------------------------------------------------------------
def test_generate_extract_with_problems_writes_problems_json(problem_extract):
    folder, report = problem_extract
    listed = json.loads((folder / "problems.json").read_text())
    assert listed == [
        {"domain": p.domain, "file": p.file, "row": p.row, "usubjid": p.usubjid, "column": p.column,
         "check": p.check, "value": p.value, "description": p.description} for p in report.problems]
    assert [p["check"] for p in listed] == ["duplicate_record", "implausible_value", "end_before_start",
                                            "unknown_subject", "out_of_range", "missing_visit", "out_of_window"]
    assert all(isinstance(p, PlantedProblem) for p in report.problems)
    assert folder / "problems.json" in report.files


def test_generate_extract_with_problems_each_problem_is_at_its_row(problem_extract):
    folder, report = problem_extract
    problems = {p.check: p for p in report.problems}
    adlb = csv_rows(folder / "adlb.csv")
    adae = csv_rows(folder / "adae.csv")
    adsl = csv_rows(folder / "adsl.csv")
    assert report.rows == {"ADSL": len(adsl), "ADAE": len(adae), "ADLB": len(adlb),
                           "ADEX": len(csv_rows(folder / "adex.csv")), "ADVS": len(csv_rows(folder / "advs.csv"))}

    p = problems["duplicate_record"]
    assert p.file == "adlb.csv" and adlb[p.row - 1] == adlb[p.row - 2] and adlb[p.row - 1]["USUBJID"] == p.usubjid
    keys = [(r["USUBJID"], r["PARAMCD"], r["AVISIT"]) for r in adlb]
    assert len(keys) - len(set(keys)) == 1  # the only duplicate

    p = problems["implausible_value"]
    row = adlb[p.row - 1]
    assert (row["PARAMCD"], row["AVALU"], row["AVAL"], row["USUBJID"]) == ("CREAT", "umol/L", p.value, p.usubjid)
    assert float(p.value) < 10
    assert [i + 1 for i, r in enumerate(adlb) if r["PARAMCD"] == "CREAT" and float(r["AVAL"]) < 10] == [p.row]

    p = problems["end_before_start"]
    row = adae[p.row - 1]
    assert p.file == "adae.csv" and row["USUBJID"] == p.usubjid and row["AENDT"] == p.value < row["ASTDT"]
    assert [i + 1 for i, r in enumerate(adae) if r["AENDT"] and r["AENDT"] < r["ASTDT"]] == [p.row]

    p = problems["unknown_subject"]
    subjects = {r["USUBJID"] for r in adsl}
    assert adlb[p.row - 1]["USUBJID"] == p.value == p.usubjid == "NCT04562025-01-999"
    assert [i + 1 for i, r in enumerate(adlb) if r["USUBJID"] not in subjects] == [p.row]

    p = problems["out_of_range"]
    assert p.file == "adsl.csv" and adsl[p.row - 1]["AGE"] == p.value and adsl[p.row - 1]["USUBJID"] == p.usubjid
    assert [i + 1 for i, r in enumerate(adsl) if int(r["AGE"]) > 120] == [p.row]

    p = problems["missing_visit"]
    assert (p.row, p.column, p.value) == (None, "AVISIT", "Week 12")
    visits = {r["AVISIT"] for r in adlb if r["USUBJID"] == p.usubjid}
    assert "Week 12" not in visits and "Week 8" in visits and "Week 24" in visits
    no_week12 = subjects - {r["USUBJID"] for r in adlb if r["AVISIT"] == "Week 12"}
    with_later = {r["USUBJID"] for r in adlb if r["AVISIT"] in ("Week 24", "Week 36", "Week 48")}
    assert no_week12 & with_later == {p.usubjid}  # the only gap

    p = problems["out_of_window"]
    row = adlb[p.row - 1]
    assert (row["AVISIT"], row["ADY"], row["USUBJID"], p.column, p.value) == ("Week 8", "85", p.usubjid, "ADY", "85")
    week8_days = [int(r["ADY"]) for r in adlb if r["AVISIT"] == "Week 8"]
    assert sum(not 50 <= d <= 64 for d in week8_days) == 1


def test_generate_extract_with_problems_uses_distinct_subjects(problem_extract):
    _, report = problem_extract
    subjects = [p.usubjid for p in report.problems]
    assert len(set(subjects)) == len(subjects)


def test_generate_extract_with_problems_parquet_rows_match(tmp_path, problem_extract):
    folder, report = problem_extract
    parquet = generate_extract(tmp_path, seed=7, with_problems=True, file_format="parquet")
    assert [(p.check, p.row, p.usubjid, p.value) for p in parquet.problems] == [
        (p.check, p.row, p.usubjid, p.value) for p in report.problems]
    adlb = pq.read_table(tmp_path / "adlb.parquet").to_pandas()
    row = next(p for p in parquet.problems if p.check == "implausible_value").row
    assert adlb.loc[row - 1, "PARAMCD"] == "CREAT" and adlb.loc[row - 1, "AVAL"] < 10


def test_generate_extract_removes_stale_files_of_other_runs(tmp_path):
    generate_extract(tmp_path, seed=1, with_problems=True)
    generate_extract(tmp_path, seed=1, file_format="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "adae.parquet", "adex.parquet", "adlb.parquet", "adsl.parquet", "advs.parquet", "extract.toml"]


# ------------------------------------------------------------------------------------------
# 8. Arguments
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"subjects": 1}, "subjects must be from 2 to 50000"),
    ({"subjects": 2.5}, "subjects must be an integer"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"file_format": "xlsx"}, "file_format must be one of csv, parquet"),
    ({"data_cut": dt.date(2020, 9, 24)}, "data_cut 2020-09-24 is before the first randomisation (2020-09-25)"),
    ({"data_cut": "2021-01-01"}, "data_cut must be a datetime.date"),
    ({"blinded": "yes"}, "blinded must be True or False"),
])
def test_generate_extract_rejects_bad_arguments(tmp_path, kwargs, message):
    args = {"seed": 1, **kwargs}
    with pytest.raises(ValueError) as err:
        generate_extract(tmp_path / "out", **args)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing written


# -- outcome-trial scale (benchmarks) ----------------------------------------------------------

def test_generate_outcome_extract_scale_is_deterministic_and_loads_clean(tmp_path):
    from dashboard.generate import generate_outcome_extract
    from dashboard.load import load_extract

    kwargs = dict(seed=4, subjects=60, years=2, lab_params=20, formats=("parquet", "csv"), block_subjects=25)
    first = generate_outcome_extract(tmp_path / "a", **kwargs)
    again = generate_outcome_extract(tmp_path / "b", **kwargs)
    for fmt in ("parquet", "csv"):
        for path in first[fmt].files:
            assert path.read_bytes() == (tmp_path / "b" / fmt / path.name).read_bytes(), path.name
    assert first["parquet"].rows == first["csv"].rows
    adlb = pq.read_table(tmp_path / "a" / "parquet" / "adlb.parquet").to_pandas()
    adsl = pq.read_table(tmp_path / "a" / "parquet" / "adsl.parquet").to_pandas()
    assert adlb["PARAMCD"].nunique() == 20
    assert adlb["AVISITN"].max() == 100                        # Week 48 of the second year
    assert adsl["USUBJID"].is_unique and adsl["RANDFL"].eq("Y").sum() == 60   # blocks of 25, 25 and 10
    assert (adlb.groupby("USUBJID")["LBSEQ"].apply(lambda s: list(s) == list(range(1, len(s) + 1)))).all()
    con, report = load_extract(tmp_path / "a" / "csv", "unblinded")
    con.close()
    assert report.rows_quarantined == 0
    assert list(report.findings["check"].unique()) in ([], ["out_of_window"], ["missing_visit"],
                                                        ["out_of_window", "missing_visit"])


@pytest.mark.parametrize("kwargs,message", [
    ({"years": 0}, "years must be a whole number from 1 to 5, not 0."),
    ({"lab_params": 41}, "lab_params must be a whole number from 17 to 40, not 41."),
    ({"formats": ("xpt",)}, "formats must be some of csv, parquet, not ('xpt',)."),
])
def test_generate_outcome_extract_rejects_bad_arguments(tmp_path, kwargs, message):
    from dashboard.generate import generate_outcome_extract

    with pytest.raises(ValueError) as info:
        generate_outcome_extract(tmp_path, seed=1, subjects=10, **kwargs)
    assert str(info.value) == message
    assert not any(tmp_path.iterdir())
