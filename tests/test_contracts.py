"""Contract rules, one scenario per test, on the tiny hand-made extract (tests/conftest.py).

Each test changes one domain of the tiny extract, loads it, and compares the findings with a
literal table (rows grouped by scenario comments). Functions that work on a column alone
(``parse_dates``, ``canonical_columns``, ``unit_from_param``) are tested directly.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from conftest import ADAE, ADLB, ADSL
from dashboard.extract import parse_dates
from dashboard.load import DomainCount, load_extract
from data_contracts import CONTRACTS
from data_contracts.adlb import unit_from_param

KEYS = ["domain", "file", "row", "usubjid", "column", "check", "value"]
DATE_EXPECTED = "a date (YYYY-MM-DD, DDMONYYYY or a SAS date number)"
MISSING = " Loaded with the value missing."   # a flagged row: loaded, the bad value as missing


def findings_table(report, domain: str | None = None, with_message: bool = False) -> pd.DataFrame:
    """The report's findings as plain Python values, sorted by keys (optionally one domain)."""
    f = report.findings
    if domain:
        f = f[f["domain"] == domain]
    cols = KEYS + (["message"] if with_message else [])
    rows = [
        {c: (int(r[c]) if c == "row" and pd.notna(r[c]) else (None if pd.isna(r[c]) else str(r[c]))) for c in cols}
        for _, r in f.iterrows()
    ]
    return _sorted(pd.DataFrame(rows, columns=cols))


def expected_table(rows: list[tuple], with_message: bool = False) -> pd.DataFrame:
    cols = KEYS + (["message"] if with_message else [])
    return _sorted(pd.DataFrame(rows, columns=cols))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"row": "object"})
    return frame.sort_values(["domain", "file", "row", "check"], key=lambda s: s.astype(str).str.zfill(8)
                             ).reset_index(drop=True)


def load(folder, role="unblinded"):
    con, report = load_extract(folder, role)
    return con, report


def with_rows(frame: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """``frame`` plus literal rows (columns not given are empty)."""
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True).fillna("")


# -- ADSL ------------------------------------------------------------------------------------

def test_load_extract_adsl_duplicate_usubjid(tmp_path, make_extract):
    adsl = with_rows(ADSL, [
        # a second 01-002 record (row 5): quarantined; the first (row 2) is kept
        {**ADSL.iloc[1].to_dict(), "AGE": "30"},
    ])
    con, report = load(make_extract(tmp_path, adsl=adsl))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADSL", "adsl.csv", 5, "01-002", "USUBJID", "duplicate_record", "01-002",
         'adsl.csv: column USUBJID, row 5 (USUBJID=01-002): value "01-002"; expected one subject per USUBJID '
         "(duplicate of adsl.csv row 2)."),
    ], with_message=True))
    assert con.execute("SELECT SRC_ROW, AGE FROM adsl WHERE USUBJID = '01-002'").fetchall() == [(2, 67.0)]


def test_load_extract_adsl_value_checks(tmp_path, make_extract):
    adsl = ADSL.copy()
    adsl.loc[0, "ITTFL"] = "1"      # flag not Y/N
    adsl.loc[1, "AGE"] = "212"      # out of range 0-120
    adsl.loc[2, "SEX"] = "X"        # not in the value set
    adsl.loc[3, "SAFFL"] = "yes"    # flag not Y/N
    con, report = load(make_extract(tmp_path, adsl=adsl))
    # every subject stays loaded (flagged): a bad value is mapped (yes -> Y) or loaded as missing
    assert report.domains["ADSL"] == DomainCount(rows_read=4, rows_accepted=4, rows_quarantined=0)
    assert set(report.findings["action"]) == {"flagged"}
    assert con.execute("SELECT USUBJID, ITTFL, AGE, SEX, SAFFL FROM adsl ORDER BY 1").fetchall() == [
        ("01-001", None, 54.0, "F", "Y"), ("01-002", "Y", None, "M", "Y"), ("01-003", "Y", 45.0, None, "Y"),
        ("01-004", "Y", 71.0, "M", "Y")]
    assert_frame_equal(findings_table(report, "ADSL", with_message=True), expected_table([
        # flags
        ("ADSL", "adsl.csv", 1, "01-001", "ITTFL", "not_in_value_set", "1",
         "adsl.csv: column ITTFL, row 1 (USUBJID=01-001): value \"1\"; expected one of ['Y', 'N']. Loaded with the "
         "value missing."),
        ("ADSL", "adsl.csv", 4, "01-004", "SAFFL", "not_in_value_set", "yes",
         "adsl.csv: column SAFFL, row 4 (USUBJID=01-004): value \"yes\"; expected one of ['Y', 'N']. Loaded as \"Y\"."),
        # demographics
        ("ADSL", "adsl.csv", 2, "01-002", "AGE", "out_of_range", "212",
         'adsl.csv: column AGE, row 2 (USUBJID=01-002): value "212"; expected a value <= 120. Loaded with the '
         'value missing.'),
        ("ADSL", "adsl.csv", 3, "01-003", "SEX", "not_in_value_set", "X",
         "adsl.csv: column SEX, row 3 (USUBJID=01-003): value \"X\"; expected one of ['M', 'F', 'U', 'UNDIFFERENTIATED']. "
         "Loaded with the value missing."),
    ], with_message=True))


def test_load_extract_adsl_missing_values_are_not_findings(tmp_path, make_extract):
    adsl = ADSL.copy()
    adsl.loc[0, ["AGE", "SEX", "SAFFL", "TRTEDT"]] = ""   # empty cells are missing, not errors
    _con, report = load(make_extract(tmp_path, adsl=adsl))
    assert report.findings.empty


def test_load_extract_na_text_kept_as_text(tmp_path, make_extract):
    adsl = ADSL.copy()
    adsl.loc[0, "RACE"] = "NA"     # "NA" is text (North America in some ADSLs), not missing
    con, report = load(make_extract(tmp_path, adsl=adsl))
    assert report.findings.empty
    assert con.execute("SELECT USUBJID, RACE FROM adsl ORDER BY USUBJID").fetchall() == [
        ("01-001", "NA"), ("01-002", "ASIAN"), ("01-003", "WHITE"), ("01-004", "BLACK")]


def test_load_extract_treatment_end_before_start(tmp_path, make_extract):
    adsl = ADSL.copy()
    adsl.loc[3, "TRTEDT"] = "2023-01-01"   # before TRTSDT 2023-01-05
    _con, report = load(make_extract(tmp_path, adsl=adsl))
    assert_frame_equal(findings_table(report, "ADSL"), expected_table([
        ("ADSL", "adsl.csv", 4, "01-004", "TRTEDT", "end_before_start", "2023-01-01"),
    ]))


# -- dates -----------------------------------------------------------------------------------

def test_parse_dates_formats():
    cases = pd.DataFrame(columns=["text", "date", "bad"], data=[
        # ISO 8601
        ("2023-01-02", dt.date(2023, 1, 2), False),
        ("2023-01-02T08:30:00", dt.date(2023, 1, 2), False),
        (" 2023-01-02 ", dt.date(2023, 1, 2), False),
        # DATE9
        ("02JAN2023", dt.date(2023, 1, 2), False),
        ("02jan2023", dt.date(2023, 1, 2), False),
        # SAS day numbers (days since 1960-01-01)
        ("0", dt.date(1960, 1, 1), False),
        ("22647", dt.date(2022, 1, 2), False),
        ("-1", dt.date(1959, 12, 31), False),
        # missing
        ("", None, False),
        (None, None, False),
        # not a date
        ("2023-02-30", None, True),
        ("yesterday", None, True),
        ("02/01/2023", None, True),
        ("20230102", None, True),          # YYYYMMDD is not SAS day 20,230,102
        ("99999999999", None, True),       # would overflow
        ("22647.5", None, True),
    ])
    parsed, bad = parse_dates(pd.Series(cases["text"].tolist(), dtype=object))
    got = pd.DataFrame({
        "text": cases["text"],
        "date": [None if pd.isna(v) else v.date() for v in parsed],
        "bad": [bool(b) for b in bad],
    })
    assert_frame_equal(got, cases.astype({"bad": bool}))


def test_parse_dates_sas_numbers_from_a_numeric_column():
    parsed, bad = parse_dates(pd.Series([22647.0, float("nan"), 1e12, 0.0]))
    assert [None if pd.isna(v) else v.date() for v in parsed] == [dt.date(2022, 1, 2), None, None, dt.date(1960, 1, 1)]
    assert bad.tolist() == [False, False, True, False]


def test_load_extract_dates_iso_sas_and_date9(tmp_path, make_extract):
    adsl = ADSL.copy()
    adsl["TRTSDT"] = ["2023-01-02", "22648", "04JAN2023", "2023-01-05T08:30"]
    con, report = load(make_extract(tmp_path, adsl=adsl))
    assert report.findings.empty
    assert con.execute("SELECT USUBJID, TRTSDT, typeof(TRTSDT) FROM adsl ORDER BY USUBJID").fetchall() == [
        ("01-001", dt.date(2023, 1, 2), "DATE"),
        ("01-002", dt.date(2022, 1, 3), "DATE"),
        ("01-003", dt.date(2023, 1, 4), "DATE"),
        ("01-004", dt.date(2023, 1, 5), "DATE"),
    ]


def test_load_extract_bad_date_text(tmp_path, make_extract):
    adae = ADAE.copy()
    adae.loc[0, "ASTDT"] = "2023-02-30"   # no such day
    adae.loc[1, "AENDT"] = "20230115"     # YYYYMMDD: not an accepted form
    _con, report = load(make_extract(tmp_path, adae=adae))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADAE", "adae.csv", 1, "01-001", "ASTDT", "not_a_date", "2023-02-30",
         f'adae.csv: column ASTDT, row 1 (USUBJID=01-001): value "2023-02-30"; expected {DATE_EXPECTED}.{MISSING}'),
        ("ADAE", "adae.csv", 2, "01-002", "AENDT", "not_a_date", "20230115",
         f'adae.csv: column AENDT, row 2 (USUBJID=01-002): value "20230115"; expected {DATE_EXPECTED}.{MISSING}'),
    ], with_message=True))
    assert report.domains["ADAE"].rows_quarantined == 0   # flagged: the AEs are loaded without those dates


# -- numbers ---------------------------------------------------------------------------------

def test_load_extract_non_numeric_aval(tmp_path, make_extract):
    adlb = ADLB.copy()
    adlb.loc[2, "AVAL"] = "abc"
    _con, report = load(make_extract(tmp_path, adlb=adlb))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADLB", "adlb.csv", 3, "01-001", "AVAL", "not_a_number", "abc",
         'adlb.csv: column AVAL, row 3 (USUBJID=01-001): value "abc"; expected a number.' + MISSING),
    ], with_message=True))


def test_load_extract_non_numeric_age(tmp_path, make_extract):
    adsl = ADSL.copy()
    adsl.loc[0, "AGE"] = "fifty"
    _con, report = load(make_extract(tmp_path, adsl=adsl))
    assert findings_table(report, "ADSL").to_dict("records") == [
        {"domain": "ADSL", "file": "adsl.csv", "row": 1, "usubjid": "01-001", "column": "AGE",
         "check": "not_a_number", "value": "fifty"}]


# -- ADAE ------------------------------------------------------------------------------------

def test_load_extract_ae_end_before_start(tmp_path, make_extract):
    adae = ADAE.copy()
    adae.loc[1, "AENDT"] = "2023-01-01"   # ASTDT 2023-01-11
    con, report = load(make_extract(tmp_path, adae=adae))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADAE", "adae.csv", 2, "01-002", "AENDT", "end_before_start", "2023-01-01",
         'adae.csv: column AENDT, row 2 (USUBJID=01-002): value "2023-01-01"; expected an end date on or after '
         "the start date ASTDT."),
    ], with_message=True))
    assert con.execute("SELECT SRC_ROW FROM adae ORDER BY SRC_ROW").fetchall() == [(1,), (2,), (3,)]   # flagged, kept


def test_load_extract_ae_value_sets(tmp_path, make_extract):
    adae = ADAE.copy()
    adae.loc[0, "AESEV"] = "mild"     # value sets are case-sensitive
    adae.loc[2, "AESER"] = "YES"
    _con, report = load(make_extract(tmp_path, adae=adae))
    assert_frame_equal(findings_table(report), expected_table([
        ("ADAE", "adae.csv", 1, "01-001", "AESEV", "not_in_value_set", "mild"),
        ("ADAE", "adae.csv", 3, "01-002", "AESER", "not_in_value_set", "YES"),
    ]))


# -- ADLB ------------------------------------------------------------------------------------

def test_load_extract_adlb_duplicate_record(tmp_path, make_extract):
    adlb = with_rows(ADLB, [ADLB.iloc[0].to_dict()])   # row 13 repeats row 1
    con, report = load(make_extract(tmp_path, adlb=adlb))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADLB", "adlb.csv", 13, "01-001", "PARAMCD+ADT+AVISIT", "duplicate_record", "CREAT / 2023-01-02 / Baseline",
         'adlb.csv: column PARAMCD+ADT+AVISIT, row 13 (USUBJID=01-001): value "CREAT / 2023-01-02 / Baseline"; '
         "expected one lab record per USUBJID, PARAMCD, ADT, AVISIT (duplicate of adlb.csv row 1)."),
    ], with_message=True))
    assert con.execute("SELECT count(*) FROM adlb WHERE SRC_ROW = 13").fetchone() == (0,)


def test_load_extract_unknown_subject(tmp_path, make_extract):
    adae = with_rows(ADAE, [{**ADAE.iloc[0].to_dict(), "USUBJID": "99-999"}])
    _con, report = load(make_extract(tmp_path, adae=adae))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADAE", "adae.csv", 4, "99-999", "USUBJID", "unknown_subject", "99-999",
         'adae.csv: column USUBJID, row 4 (USUBJID=99-999): value "99-999"; expected a subject in ADSL (not in ADSL).'),
    ], with_message=True))


def test_load_extract_bad_adsl_value_keeps_the_subjects_records(tmp_path, make_extract):
    adsl = ADSL.copy()
    adsl.loc[1, "AGE"] = "212"   # 01-002 is flagged, not quarantined: its AEs and labs stay loaded
    con, report = load(make_extract(tmp_path, adsl=adsl))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADSL", "adsl.csv", 2, "01-002", "AGE", "out_of_range", "212",
         'adsl.csv: column AGE, row 2 (USUBJID=01-002): value "212"; expected a value <= 120.' + MISSING),
    ], with_message=True))
    assert report.rows_quarantined == 0
    assert con.execute("SELECT count(*) FROM adae WHERE USUBJID = '01-002'").fetchone() == (2,)


def test_load_extract_more_than_one_unit_per_paramcd(tmp_path, make_extract):
    adlb = ADLB.copy()
    adlb.loc[[4, 5], "AVALU"] = "mg/dL"   # 01-002 creatinine in mg/dL; the other 6 in umol/L
    adlb.loc[[4, 5], "AVAL"] = ["1.0", "1.1"]
    _con, report = load(make_extract(tmp_path, adlb=adlb))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADLB", "adlb.csv", r, "01-002", "AVALU", "multiple_units", "mg/dL",
         f'adlb.csv: column AVALU, row {r} (USUBJID=01-002): value "mg/dL"; expected umol/L (the unit of 6 other '
         "CREAT records). Loaded with AVAL missing.") for r in (5, 6)
    ], with_message=True))


def test_load_extract_more_than_one_baseline(tmp_path, make_extract):
    adlb = ADLB.copy()
    adlb.loc[3, "ABLFL"] = "Y"   # 01-001 potassium: Week 2 flagged as a second baseline
    _con, report = load(make_extract(tmp_path, adlb=adlb))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADLB", "adlb.csv", 4, "01-001", "ABLFL", "multiple_baselines", "Y",
         'adlb.csv: column ABLFL, row 4 (USUBJID=01-001): value "Y"; expected at most one baseline record per '
         "subject and parameter (adlb.csv row 3 is already the baseline of K). Loaded with ABLFL missing."),
    ], with_message=True))


def test_load_extract_reference_range_inverted(tmp_path, make_extract):
    adlb = ADLB.copy()
    adlb.loc[4, "ANRLO"] = "200"   # ANRHI 106
    _con, report = load(make_extract(tmp_path, adlb=adlb))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADLB", "adlb.csv", 5, "01-002", "ANRLO", "range_inverted", "200",
         'adlb.csv: column ANRLO, row 5 (USUBJID=01-002): value "200"; expected a lower reference limit not above ANRHI. '
         'Loaded with ANRLO and ANRHI missing.'),
    ], with_message=True))


def test_load_extract_negative_value_known_analyte_vs_derived_param(tmp_path, make_extract):
    adlb = ADLB.copy()
    adlb.loc[0, "AVAL"] = "-5"   # creatinine: a measured analyte cannot be negative
    adlb = with_rows(adlb, [
        # the pilot's change-from-previous parameters (_CREAT) may be negative
        {**ADLB.iloc[1].to_dict(), "PARAMCD": "_CREAT", "PARAM": "Creatinine change (umol/L)", "AVAL": "-3",
         "AVISIT": "Week 2 change"},
        # so may any parameter the contract does not know
        {**ADLB.iloc[1].to_dict(), "PARAMCD": "XDELTA", "PARAM": "Some delta (units)", "AVALU": "units", "AVAL": "-1.5",
         "AVISIT": "Week 2 delta"},
    ])
    con, report = load(make_extract(tmp_path, adlb=adlb))
    assert_frame_equal(findings_table(report), expected_table([
        ("ADLB", "adlb.csv", 1, "01-001", "AVAL", "negative_value", "-5"),
        ("ADLB", "adlb.csv", 1, "01-001", "AVAL", "implausible_value", "-5"),
    ]))
    assert con.execute("SELECT PARAMCD, AVAL FROM adlb WHERE SRC_ROW > 12 ORDER BY SRC_ROW").fetchall() == [
        ("_CREAT", -3.0), ("XDELTA", -1.5)]


def test_load_extract_implausible_creatinine_umol(tmp_path, make_extract):
    adlb = ADLB.copy()
    adlb.loc[8, "AVAL"] = "1.1"   # 1.1 umol/L: a mg/dL value entered under umol/L
    _con, report = load(make_extract(tmp_path, adlb=adlb))
    assert_frame_equal(findings_table(report, with_message=True), expected_table([
        ("ADLB", "adlb.csv", 9, "01-003", "AVAL", "implausible_value", "1.1",
         'adlb.csv: column AVAL, row 9 (USUBJID=01-003): value "1.1"; expected a CREAT result in umol/L between 10 '
         "and 3000 (as mg/dL it would be 97 umol/L: entered in the wrong unit?)." + MISSING),
    ], with_message=True))


# -- column names and units ------------------------------------------------------------------

def test_canonical_columns_aliases():
    cases = [
        # (domain, source columns, expected canonical names)
        ("ADLB", ["usubjid", "A1LO", "A1HI", "LBSTRESU"], ["USUBJID", "ANRLO", "ANRHI", "AVALU"]),
        ("ADLB", ["ANRLO", "A1LO"], ["ANRLO", "A1LO"]),              # the canonical name wins
        ("ADAE", ["USUBJID", "AREL"], ["USUBJID", "AEREL"]),
        ("ADAE", ["AEREL", "AREL"], ["AEREL", "AREL"]),
        ("ADAE", ["AESOC"], ["AEBODSYS"]),
        ("ADSL", ["DCDECOD", " dcsreas "], ["DCDECOD", "DCSREAS"]),  # DCSREAS present: DCDECOD keeps its name
    ]
    for domain, source, expected in cases:
        assert list(CONTRACTS[domain].canonical_columns(source).values()) == expected, (domain, source)


def test_load_extract_alias_columns(tmp_path, make_extract):
    adlb = ADLB.rename(columns={"ANRLO": "A1LO", "ANRHI": "A1HI", "AVALU": "LBSTRESU"})
    adae = ADAE.rename(columns={"AEREL": "AREL"})
    con, report = load(make_extract(tmp_path, adlb=adlb, adae=adae))
    assert report.findings.empty
    assert con.execute("SELECT ANRLO, ANRHI, AVALU FROM adlb WHERE SRC_ROW = 1 AND PARAMCD = 'CREAT'").fetchall() == [(44.0, 97.0, "umol/L")]
    assert con.execute("SELECT AEREL FROM adae ORDER BY SRC_ROW").fetchall() == [("NONE",), ("POSSIBLE",), ("PROBABLE",)]
    columns = {r[0] for r in con.execute("DESCRIBE adlb").fetchall()}
    assert not {"A1LO", "A1HI", "LBSTRESU"} & columns


def test_load_extract_alias_inverted_range_is_still_checked(tmp_path, make_extract):
    adlb = ADLB.rename(columns={"ANRLO": "A1LO", "ANRHI": "A1HI"})
    adlb.loc[0, "A1LO"] = "150"
    _con, report = load(make_extract(tmp_path, adlb=adlb))
    assert findings_table(report)[["row", "column", "check"]].to_dict("records") == [
        {"row": 1, "column": "ANRLO", "check": "range_inverted"}]


def test_unit_from_param():
    cases = [
        ("Creatinine (umol/L)", "umol/L"),
        ("Creatinine (µmol/L)", "umol/L"),
        ("Creatinine (mg/dL)", "mg/dL"),
        ("Sodium (mmol/L)", "mmol/L"),
        ("Platelets (10^9/L)", "10^9/L"),
        ("Cholesterol (mmol/L) (fasting) (mg/dL)", "mg/dL"),   # the last parentheses
        ("Creatinine", None),
        ("", None),
        (None, None),
    ]
    assert [unit_from_param(p) for p, _ in cases] == [u for _, u in cases]


def test_load_extract_unit_parsed_from_param(tmp_path, make_extract):
    adlb = ADLB.drop(columns=["AVALU"])
    adlb.loc[8, "AVAL"] = "1.1"   # still implausible: the unit came from PARAM
    con, report = load(make_extract(tmp_path, adlb=adlb))
    assert con.execute("SELECT PARAMCD, AVALU, count(*) FROM adlb WHERE PARAMTYP IS NULL GROUP BY ALL ORDER BY ALL"
                       ).fetchall() == [("CREAT", "umol/L", 8), ("K", "mmol/L", 4)]   # row 9 flagged, loaded
    assert findings_table(report)[["row", "check"]].to_dict("records") == [{"row": 9, "check": "implausible_value"}]


# -- every row accounted for -----------------------------------------------------------------

def _table_rows(con, domain: str) -> int:
    table = domain.lower()
    cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
    where = " WHERE PARAMTYP IS DISTINCT FROM 'DERIVED'" if "PARAMTYP" in cols else ""
    return con.execute(f'SELECT count(*) FROM "{table}"{where}').fetchone()[0]


def assert_every_row_accounted(con, report) -> None:
    for domain, c in report.domains.items():
        assert c.rows_read == c.rows_accepted + c.rows_quarantined, domain
        assert c.rows_accepted == _table_rows(con, domain), domain
        quarantined_rows = report.findings[(report.findings["domain"] == domain)
                                           & (report.findings["action"] == "quarantined")]
        assert c.rows_quarantined == len(quarantined_rows[["file", "row"]].drop_duplicates()), domain
    prov = con.execute("SELECT domain, sum(rows_read), sum(rows_accepted), sum(rows_quarantined) "
                       "FROM provenance GROUP BY domain").fetchall()
    assert {d: (r, a, q) for d, r, a, q in prov} == {
        d: (c.rows_read, c.rows_accepted, c.rows_quarantined) for d, c in report.domains.items()}


def test_load_extract_every_row_accounted_clean(clean_extract):
    con, report = load(clean_extract)
    assert {d: (c.rows_read, c.rows_accepted, c.rows_quarantined) for d, c in report.domains.items()} == {
        "ADSL": (4, 4, 0), "ADAE": (3, 3, 0), "ADLB": (12, 12, 0)}
    assert_every_row_accounted(con, report)


def test_load_extract_every_row_accounted_with_problems(extract_with_problems):
    con, report = load(extract_with_problems)
    # 01-002 (AGE 212), AE row 1 (ends before it starts) and lab row 3 (AVAL "abc") are flagged and
    # loaded; lab row 13 (subject 99-999, not in ADSL) is quarantined.
    assert {d: (c.rows_read, c.rows_accepted, c.rows_quarantined) for d, c in report.domains.items()} == {
        "ADSL": (4, 4, 0), "ADAE": (3, 3, 0), "ADLB": (13, 12, 1)}
    assert_every_row_accounted(con, report)


def test_load_extract_every_row_accounted_in_small_chunks(extract_with_problems):
    con, report = load_extract(extract_with_problems, "unblinded", chunk_rows=2)
    assert {d: (c.rows_read, c.rows_accepted, c.rows_quarantined) for d, c in report.domains.items()} == {
        "ADSL": (4, 4, 0), "ADAE": (3, 3, 0), "ADLB": (13, 12, 1)}
    assert_every_row_accounted(con, report)


def test_load_extract_every_row_accounted_optional_domains(extract_with_optional_domains):
    con, report = load(extract_with_optional_domains)
    assert set(report.domains) == {"ADSL", "ADAE", "ADLB", "ADEX", "ADVS"}
    assert_every_row_accounted(con, report)


@pytest.mark.needs_pilot
def test_load_extract_every_row_accounted_pilot(pilot_unblinded):
    con, report = pilot_unblinded
    assert_every_row_accounted(con.cursor(), report)
