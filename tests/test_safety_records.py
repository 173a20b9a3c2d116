"""Safety records are never dropped; exposure in either ADEX shape; not derivable is not zero.

Literal fixtures on the tiny extract of conftest.py (4 subjects: 01-001/01-004 placebo,
01-002/01-003 active), expected counts written out.
"""

from __future__ import annotations

import pandas as pd

from conftest import ACTIVE, ADAE, ADEX, ADSL, PLACEBO, STUDY
from dashboard import registry
from dashboard.filters import FilterSpec
from dashboard.load import load_extract

# A serious, life-threatening myocardial infarction whose severity is not in the AESEV codelist.
MI = {"STUDYID": STUDY, "USUBJID": "01-003", "AESEQ": "1", "AETERM": "MYOCARDIAL INFARCTION",
      "AEDECOD": "Myocardial infarction", "AEBODSYS": "Cardiac disorders", "AESEV": "LIFE-THREATENING",
      "AESER": "Y", "AEREL": "NONE", "ASTDT": "2023-02-10", "AENDT": "2023-02-20", "TRTEMFL": "Y", "TRTA": ACTIVE}


def totals(frame: pd.DataFrame, key: str) -> dict:
    total = frame[frame["arm"] == "Total"]
    return {k: (None if pd.isna(n) else int(n)) for k, n in zip(total[key], total["n"])}


# -- non-CT severity on a serious AE ---------------------------------------------------------------

def test_life_threatening_serious_ae_is_loaded_and_counted(tmp_path, make_extract):
    adae = pd.concat([ADAE, pd.DataFrame([MI])], ignore_index=True)
    con, report = load_extract(make_extract(tmp_path, adae=adae), "unblinded")
    assert report.rows_quarantined == 0 and report.exit_code == 0
    f = report.findings
    assert f[["domain", "row", "column", "check", "value", "action", "loaded_as"]].values.tolist() == [
        ["ADAE", 4, "AESEV", "not_in_value_set", "LIFE-THREATENING", "flagged", "SEVERE"]]
    assert f["message"].iloc[0] == (
        "adae.csv: column AESEV, row 4 (USUBJID=01-003): value \"LIFE-THREATENING\"; expected one of "
        "['MILD', 'MODERATE', 'SEVERE']. Loaded as \"SEVERE\".")
    spec = FilterSpec()
    overview = totals(registry.compute("ae_overview", con, spec, "unblinded"), "category")
    assert (overview["any_teae"], overview["serious_teae"], overview["severe_teae"]) == (3, 1, 1)
    sae = registry.compute("ae_serious_listing", con, spec, "unblinded")
    assert sae[["usubjid", "pt"]].values.tolist() == [["01-003", "Myocardial infarction"]]
    soc = registry.compute("ae_by_soc_pt", con, spec, "unblinded")
    mi = soc[(soc["pt"] == "Myocardial infarction")].set_index("arm")["n"].to_dict()
    assert mi == {PLACEBO: 0, ACTIVE: 1, "Total": 1}
    sev = registry.compute("ae_by_severity", con, spec, "unblinded")
    worst = sev[(sev["pt"] == "Myocardial infarction") & (sev["arm"] == "Total")].set_index("severity")["n"].to_dict()
    assert worst == {"MILD": 0, "MODERATE": 0, "SEVERE": 1}
    listing = registry.compute("ae_listing", con, spec, "unblinded")
    assert listing.loc[listing["usubjid"] == "01-003", ["pt", "severity", "serious", "SRC_ROW"]].values.tolist() == [
        ["Myocardial infarction", "SEVERE", "Y", 4]]


def test_life_threatening_sets_grade_4_when_the_row_has_none(tmp_path, make_extract):
    adae = pd.concat([ADAE, pd.DataFrame([MI])], ignore_index=True).assign(AETOXGR=["1", "2", "1", ""])
    con, report = load_extract(make_extract(tmp_path, adae=adae), "unblinded")
    assert con.execute("SELECT AESEV, AETOXGR FROM adae WHERE SRC_ROW = 4").fetchall() == [("SEVERE", "4")]


def test_uncoded_values_load_as_missing_and_flagged(tmp_path, make_extract):
    adae = ADAE.copy()
    adae.loc[0, "AESEV"] = "Grade 2 (moderate)"   # no rule maps it: not coded
    adae.loc[1, "AESER"] = "yes"                   # a Y/N flag spelled out
    adae.loc[2, "ASTDT"] = "sometime in Feb"       # not a date
    con, report = load_extract(make_extract(tmp_path, adae=adae), "unblinded")
    assert report.domains["ADAE"].rows_quarantined == 0
    assert report.findings.sort_values("row")[["row", "column", "action", "loaded_as"]].values.tolist() == [
        [1, "AESEV", "flagged", ""], [2, "AESER", "flagged", "Y"], [3, "ASTDT", "flagged", ""]]
    assert con.execute("SELECT SRC_ROW, AESEV, AESER, ASTDT FROM adae ORDER BY 1").fetchall() == [
        (1, None, "N", __import__("datetime").date(2023, 1, 10)),
        (2, "MODERATE", "Y", __import__("datetime").date(2023, 1, 11)),
        (3, "MILD", "N", None)]


def test_quarantined_safety_records_are_attention_items(tmp_path, make_extract):
    adae = pd.concat([ADAE, pd.DataFrame([{**MI, "USUBJID": "99-999"}]),   # row 4: no such subject
                      pd.DataFrame([{**MI, "USUBJID": ""}])], ignore_index=True)   # row 5: no subject at all
    con, report = load_extract(make_extract(tmp_path, adae=adae), "blinded")
    assert report.domains["ADAE"].rows_quarantined == 2 and report.exit_code == 1
    items = registry.compute("attention_items", con, FilterSpec(), "blinded")
    assert items.loc[items["item"].str.startswith("Quarantined"), "item"].tolist() == [
        "Quarantined adverse event: adae.csv row 4 (USUBJID 99-999): unknown_subject",
        "Quarantined adverse event: adae.csv row 5 (USUBJID missing): missing_value, not_in_value_set",
    ]


# -- exposure in either shape -------------------------------------------------------------------

# Parameter-form ADEX (BDS): per administration DOSE and DURD rows, plus subject-level totals.
ADEX_PARAMETER_FORM = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "EXSEQ", "PARAMCD", "ASTDT", "AENDT", "AVAL"],
    data=[
        # 01-001: two administrations
        [STUDY, "01-001", "1", "DOSE", "2023-01-02", "2023-01-02", "1"],
        [STUDY, "01-001", "1", "DURD", "2023-01-02", "2023-01-02", "1"],
        [STUDY, "01-001", "2", "DOSE", "2023-01-09", "2023-01-09", "1"],
        [STUDY, "01-001", "2", "DURD", "2023-01-09", "2023-01-09", "1"],
        [STUDY, "01-001", "", "TDOSE", "", "", "2"],
        # 01-002: one administration
        [STUDY, "01-002", "1", "DOSE", "2023-01-03", "2023-01-03", "1"],
        [STUDY, "01-002", "1", "DURD", "2023-01-03", "2023-01-03", "1"],
        [STUDY, "01-002", "", "TDOSE", "", "", "1"],
        # 01-003 and 01-004: none
    ],
)


def test_infusions_from_parameter_form_adex(tmp_path, make_extract):
    con, _ = load_extract(make_extract(tmp_path, adex=ADEX_PARAMETER_FORM), "unblinded")
    frame = registry.compute("infusions_per_subject", con, FilterSpec(), "unblinded")
    assert totals(frame, "infusions") == {"0": 2, "1": 1, "2": 1}
    assert frame["note"].iloc[0] == ("Exposure: parameter-form ADEX (PARAMCD DOSE, DURD, TDOSE, ...); "
                                     "administrations are the PARAMCD DOSE records.")
    assert con.execute("SELECT variable, rule, rows_affected FROM derivations WHERE domain = 'ADEX'").fetchall() == [
        ("administrations", "parameter_form_dose", 3)]
    # the page and the packet say which records were counted (a caption under the table)
    shown = registry.display("infusions_per_subject", frame)
    assert registry.notes(frame, shown) == [frame["note"].iloc[0]]


def test_infusions_from_occurrence_form_adex(tmp_path, make_extract):
    con, _ = load_extract(make_extract(tmp_path, adex=ADEX), "unblinded")   # one row per administration
    frame = registry.compute("infusions_per_subject", con, FilterSpec(), "unblinded")
    assert totals(frame, "infusions") == {"0": 0, "1": 4}
    assert frame["note"].iloc[0] == "Exposure: occurrence-form ADEX, one record per administration."


def test_infusions_from_a_dose_count_parameter(tmp_path, make_extract):
    adex = pd.DataFrame(columns=["STUDYID", "USUBJID", "PARAMCD", "AVAL"], data=[
        [STUDY, "01-001", "NDOSE", "3"], [STUDY, "01-001", "TDOSE", "30"],
        [STUDY, "01-002", "NDOSE", "2"], [STUDY, "01-002", "TDOSE", "20"]])
    con, _ = load_extract(make_extract(tmp_path, adex=adex), "unblinded")
    frame = registry.compute("infusions_per_subject", con, FilterSpec(), "unblinded")
    assert {k: v for k, v in totals(frame, "infusions").items() if v} == {"0": 2, "2": 1, "3": 1}


# -- not derivable is not zero ------------------------------------------------------------------

def test_ae_overview_categories_without_inputs_are_not_available(tmp_path, make_extract):
    # the tiny ADAE has no AEACN, AEOUT, AESDTH or AETOXGR; the tiny ADSL no DTHFL or DTHDT
    con, _ = load_extract(make_extract(tmp_path), "unblinded")
    frame = registry.compute("ae_overview", con, FilterSpec(), "unblinded")
    assert totals(frame, "category") == {
        "any_teae": 2, "related_teae": 1, "severe_teae": 0, "serious_teae": 0,
        "teae_leading_to_discontinuation": None, "aesi": 0, "fatal_teae": None, "deaths": None}
    notes = frame[frame["arm"] == "Total"].set_index("category")["note"]
    assert notes["teae_leading_to_discontinuation"] == (
        "Not available in this extract: needs AEACN (action taken with study treatment).")
    shown = registry.display("ae_overview", frame).set_index("Subjects with, n (%) [events]")
    assert shown.loc["TEAE leading to discontinuation or interruption of study drug"].iloc[0] == "not available"
    # the export writes an empty value, not 0
    csv = frame.to_csv(index=False).splitlines()
    assert any(line.startswith("teae_leading_to_discontinuation,Total,,4,,,") for line in csv)


def test_disposition_and_flow_without_disposition_variables(tmp_path, make_extract):
    con, _ = load_extract(make_extract(tmp_path), "unblinded")   # no EOSSTT, DCSREAS or DISCONFL
    flow = registry.compute("subject_flow", con, FilterSpec(), "unblinded")
    assert totals(flow, "stage") == {"screened": 4, "screen_failure": 0, "randomized": 4, "treated": 4, "completed": None, "ongoing": None,
                                     "discontinued": None}
    try:
        registry.compute("disposition", con, FilterSpec(), "unblinded")
    except registry.NotInExtract as exc:
        assert str(exc).startswith("End-of-study status (EOSSTT): not available in this extract: needs EOSSTT")
    else:
        raise AssertionError("disposition computed without any disposition variable")


def test_time_on_study_without_first_dose_is_not_available(tmp_path, make_extract):
    con, _ = load_extract(make_extract(tmp_path, adsl=ADSL.drop(columns=["TRTSDT", "TRTEDT"])), "unblinded")
    try:
        registry.compute("time_on_study", con, FilterSpec(), "unblinded")
    except registry.NotInExtract as exc:
        assert "needs TRTSDT" in str(exc)
    else:
        raise AssertionError("time on study computed without TRTSDT")
