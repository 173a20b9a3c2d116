"""The command line (``python -m dashboard validate|load``) and the CDISC pilot loaded unmodified.

Exit codes are a public interface: 0 clean or flagged, 1 rows quarantined (the load still completed),
2 unusable input. Runs in-process through ``dashboard.cli.main`` (``run_cli`` fixture).
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from dashboard.renal import egfr_ckd_epi_2021

FINDING_KEYS = {"domain", "file", "row", "usubjid", "column", "check", "value", "message"}
COUNT_KEYS = {"rows_read", "rows_accepted", "rows_quarantined"}


# -- validate ----------------------------------------------------------------------------------

def test_main_validate_json_with_problems(extract_with_problems, run_cli):
    code, out, err = run_cli("validate", extract_with_problems, "--json")
    assert (code, err) == (1, "")
    result = json.loads(out)
    assert {"status", "domains", "findings"} <= set(result)
    assert result["status"] == "quarantined"
    assert {d: set(c) for d, c in result["domains"].items()} == {d: COUNT_KEYS for d in ("ADSL", "ADAE", "ADLB")}
    assert result["domains"] == {
        "ADSL": {"rows_read": 4, "rows_accepted": 4, "rows_quarantined": 0},
        "ADAE": {"rows_read": 3, "rows_accepted": 3, "rows_quarantined": 0},
        "ADLB": {"rows_read": 13, "rows_accepted": 12, "rows_quarantined": 1},
    }
    assert all(FINDING_KEYS <= set(f) for f in result["findings"])
    assert sorted((f["domain"], f["row"], f["usubjid"], f["column"], f["check"], f["value"], f["action"],
                   f["loaded_as"]) for f in result["findings"]) == [
        # bad values: the rows are loaded, flagged, with what was loaded instead
        ("ADAE", 1, "01-001", "AENDT", "end_before_start", "2023-01-01", "flagged", None),
        ("ADLB", 3, "01-001", "AVAL", "not_a_number", "abc", "flagged", ""),
        # a record that cannot be attributed to a subject in ADSL
        ("ADLB", 13, "99-999", "USUBJID", "unknown_subject", "99-999", "quarantined", None),
        ("ADSL", 2, "01-002", "AGE", "out_of_range", "212", "flagged", ""),
    ]
    assert all(isinstance(f["row"], int) for f in result["findings"])
    assert 'adlb.csv: column AVAL, row 3 (USUBJID=01-001): value "abc"; expected a number. Loaded with the value ' \
           'missing.' in [f["message"] for f in result["findings"]]
    # how each variable the extract lacks was resolved (the tiny ADSL has no RANDFL, DTHFL or EOSSTT)
    assert [(d["variable"], d["rule"], d["rows_affected"], d["status"]) for d in result["derivations"]] == [
        ("RANDFL", "randfl_from_ittfl", 4, "derived"), ("DTHFL", "", 0, "not available"),
        ("EOSSTT", "", 0, "not available")]


def test_main_validate_json_clean(clean_extract, run_cli):
    code, out, err = run_cli("validate", clean_extract, "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert (result["status"], result["findings"]) == ("clean", [])
    assert result["domains"] == {
        "ADSL": {"rows_read": 4, "rows_accepted": 4, "rows_quarantined": 0},
        "ADAE": {"rows_read": 3, "rows_accepted": 3, "rows_quarantined": 0},
        "ADLB": {"rows_read": 12, "rows_accepted": 12, "rows_quarantined": 0},
    }


def test_main_validate_text(extract_with_problems, run_cli):
    code, out, err = run_cli("validate", extract_with_problems)
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{extract_with_problems}: quarantined (role blinded, data cut ")
    assert lines[1].split() == ["domain", "read", "accepted", "quarantined"]
    assert lines[2].split() == ["ADSL", "4", "4", "0"]
    assert '[flagged] adlb.csv: column AVAL, row 3 (USUBJID=01-001): value "abc"; expected a number. Loaded with ' \
           'the value missing.' in lines
    assert '[quarantined] adlb.csv: column USUBJID, row 13 (USUBJID=99-999): value "99-999"; expected a subject ' \
           'in ADSL (not in ADSL).' in lines
    assert lines[-3:] == [
        "[derived] Randomized (RANDFL): derived from ITTFL: ITTFL (the ITT set is the randomized subjects) (ADSL has "
        "no RANDFL).",
        "[not available] Death (DTHFL): not available in this extract: needs DTHFL or DTHDT or ADAE.AEOUT, "
        "ADAE.AESDTH, ADAE.AETOXGR (ADSL has no DTHFL).",
        "[not available] End-of-study status (EOSSTT): not available in this extract: needs EOSSTT or DCSREAS or "
        "DISCONFL, EOSDT (ADSL has no EOSSTT)."]


def test_main_validate_blinded_does_not_echo_the_arm(extract_with_problems, run_cli):
    """validate runs in the blinded role by default: findings and counts show no arm label."""
    for args in (["--json"], []):
        code, out, _err = run_cli("validate", extract_with_problems, *args)
        assert code == 1
        assert "Drug 10 mg" not in out and "Placebo" not in out


# -- load --db -------------------------------------------------------------------------------

def test_main_load_db_tables_and_provenance(clean_extract, tmp_path, run_cli):
    db_file = tmp_path / "trial.duckdb"
    code, out, err = run_cli("load", clean_extract, "--db", db_file, "--role", "unblinded")
    assert (code, err) == (0, "")
    assert out == f"loaded {clean_extract} into {db_file} (role unblinded): ADSL 4/4, ADAE 3/3, ADLB 12/12\n"
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"adsl", "adae", "adlb", "findings", "quarantine", "provenance", "study"} <= tables
        prov = con.sql("SELECT * FROM provenance ORDER BY file").to_arrow_table().to_pandas()
        assert {"sha256", "rows_read", "rows_accepted", "rows_quarantined", "data_cut", "role", "load_time"} <= set(prov)
        assert prov[["domain", "file", "rows_read", "rows_accepted", "rows_quarantined", "role"]].values.tolist() == [
            ["ADAE", "adae.csv", 3, 3, 0, "unblinded"],
            ["ADLB", "adlb.csv", 12, 12, 0, "unblinded"],
            ["ADSL", "adsl.csv", 4, 4, 0, "unblinded"],
        ]
        for file, sha in zip(prov["file"], prov["sha256"]):
            assert sha == hashlib.sha256((clean_extract / file).read_bytes()).hexdigest()
        assert {str(d)[:10] for d in prov["data_cut"]} == {"2023-03-04"}   # latest date in the extract
        assert prov["load_time"].notna().all()
    finally:
        con.close()


def test_main_load_db_with_quarantined_rows_exits_1(extract_with_problems, tmp_path, run_cli):
    db_file = tmp_path / "trial.duckdb"
    code, out, err = run_cli("load", extract_with_problems, "--db", db_file, "--role", "blinded")
    assert (code, err) == (1, "")
    assert out.splitlines()[1] == "1 rows quarantined; see the quarantine table or run validate."
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT file || row) FROM quarantine").fetchone() == (1, 1)
        assert con.execute("SELECT sum(rows_quarantined) FROM provenance").fetchone() == (1,)
    finally:
        con.close()


def test_main_load_db_replaces_an_existing_file(clean_extract, tmp_path, run_cli):
    db_file = tmp_path / "trial.duckdb"
    for role in ("unblinded", "blinded"):
        code, _out, err = run_cli("load", clean_extract, "--db", db_file, "--role", role)
        assert (code, err) == (0, "")
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        assert con.execute("SELECT DISTINCT role FROM provenance").fetchall() == [("blinded",)]
        assert con.execute("SELECT DISTINCT ANLARM FROM adsl").fetchall() == [("All subjects",)]
    finally:
        con.close()


# -- the CDISC pilot, unmodified -------------------------------------------------------------

@pytest.mark.needs_pilot
def test_load_extract_pilot_counts(pilot_unblinded):
    con, report = pilot_unblinded
    assert {d: c.rows_read for d, c in report.domains.items()} == {"ADSL": 254, "ADAE": 1191, "ADLB": 124196}
    assert {d: c.rows_quarantined for d, c in report.domains.items()} == {"ADSL": 0, "ADAE": 0, "ADLB": 0}
    cur = con.cursor()
    assert cur.execute("SELECT file, rows_read FROM provenance ORDER BY file").fetchall() == [
        ("adae.xpt", 1191), ("adlbc.xpt", 74264), ("adlbh.xpt", 49932), ("adsl.xpt", 254)]
    assert cur.execute("SELECT count(*) FROM adlb WHERE PARAMTYP IS DISTINCT FROM 'DERIVED'").fetchone() == (124196,)
    assert cur.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


@pytest.mark.needs_pilot
def test_load_extract_pilot_provenance_hashes(pilot_unblinded):
    """The sha256 of each file as SOURCE.md lists it: the pilot is read unmodified."""
    con, _ = pilot_unblinded
    assert dict(con.cursor().execute("SELECT file, sha256 FROM provenance").fetchall()) == {
        "adsl.xpt": "c5139f873a93ef6add77bc4297beb6460a398bbdd036874382a9f39dfc92091d",
        "adae.xpt": "b8678e70946473a753bb01d002917f478bf51b59bdd0dc19587b97128059b6a0",
        "adlbc.xpt": "09ff0906240198b337afe694b917b5dc27d4e1234ca305b57454f460c68fa450",
        "adlbh.xpt": "5b4004c477e0dc36ae1d24b2edd4691108421cbfe67606b286e1c2e721b8bfb3",
    }


@pytest.mark.needs_pilot
def test_load_extract_pilot_arms(pilot_unblinded):
    con, _ = pilot_unblinded
    assert con.cursor().execute("SELECT ANLARM, ANLARMN, count(*) FROM adsl GROUP BY ALL ORDER BY ANLARMN").fetchall() == [
        ("Placebo", 1, 86), ("Xanomeline Low Dose", 2, 84), ("Xanomeline High Dose", 3, 84)]


SPOT_ROWS = [
    # (USUBJID, AVISIT, CREAT umol/L, AGE, SEX, eGFR by hand, 1 dp)
    ("01-701-1015", "Baseline", 79.56, 63, "F", 71.9),
    ("01-701-1015", "Week 2", 88.40, 63, "F", 63.3),
    ("01-701-1023", "Baseline", 123.76, 64, "M", 56.1),
]


@pytest.mark.needs_pilot
@pytest.mark.parametrize("usubjid,avisit,creat,age,sex,by_hand", SPOT_ROWS, ids=[f"{r[0]} {r[1]}" for r in SPOT_ROWS])
def test_load_extract_pilot_derived_egfr(pilot_unblinded, usubjid, avisit, creat, age, sex, by_hand):
    con, _ = pilot_unblinded
    rows = con.cursor().execute("""
        SELECT c.AVAL, s.AGE, s.SEX, e.AVAL, e.PARAMTYP, e.AVALU
        FROM adlb c JOIN adsl s USING (USUBJID)
        JOIN adlb e ON e.USUBJID = c.USUBJID AND e.SRC_FILE = c.SRC_FILE AND e.SRC_ROW = c.SRC_ROW
                   AND e.PARAMCD = 'EGFR'
        WHERE c.PARAMCD = 'CREAT' AND c.USUBJID = $u AND c.AVISIT = $v""", {"u": usubjid, "v": avisit}).fetchall()
    assert len(rows) == 1
    c_aval, a, s, egfr, paramtyp, unit = rows[0]
    assert c_aval == pytest.approx(creat, abs=1e-9)   # XPT holds 79.55999999999999 for 79.56
    assert (a, s, paramtyp, unit) == (age, sex, "DERIVED", "mL/min/1.73m2")
    assert egfr == pytest.approx(egfr_ckd_epi_2021(c_aval / 88.42, age, sex), rel=1e-12)
    assert round(egfr, 1) == by_hand


@pytest.mark.needs_pilot
def test_load_extract_pilot_egfr_for_every_creatinine(pilot_unblinded):
    con, _ = pilot_unblinded
    assert con.cursor().execute("""
        SELECT count(*) FILTER (WHERE PARAMCD = 'CREAT' AND AVAL IS NOT NULL),
               count(*) FILTER (WHERE PARAMCD = 'EGFR' AND PARAMTYP = 'DERIVED' AND AVAL IS NOT NULL)
        FROM adlb""").fetchone() == (2072, 2072)


# -- a generated extract with planted problems ---------------------------------------------------

@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_main_validate_json_finds_every_planted_problem(tmp_path, run_cli, file_format):
    """Each problem listed in problems.json is one finding (same domain, subject, check, value,
    and file/row when it is about a record), and nothing else is found."""
    generate = pytest.importorskip("dashboard.generate", reason="dashboard.generate is not there yet")
    folder = tmp_path / "generated"
    generate.generate_extract(folder, seed=3, subjects=38, with_problems=True, file_format=file_format)
    planted = json.loads((folder / "problems.json").read_text())
    code, out, err = run_cli("validate", folder, "--json")
    assert (code, err) == (1, "")
    findings = json.loads(out)["findings"]

    def matches(f, p) -> bool:
        same = all(f[k] == p[k] for k in ("domain", "usubjid", "check"))
        if p["value"] is not None:
            same &= f["value"] == p["value"]
        if p["row"] is not None:
            same &= (f["file"], f["row"]) == (p["file"], p["row"])
        return same

    unmatched = [p for p in planted if sum(matches(f, p) for f in findings) != 1]
    assert unmatched == []
    assert len(findings) == len(planted)
