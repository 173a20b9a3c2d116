"""File-level problems: the extract cannot be used at all.

``load_extract`` raises ``ExtractError`` with one line that names the file, the column where there
is one, and what was expected; the command line prints that line and exits 2, never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ADAE, ADLB, ADSL, REPO, STUDY
from dashboard.extract import ExtractError, open_extract
from dashboard.load import load_extract

ARM_COLUMNS = ["TRT01P", "TRT01PN", "TRT01A", "TRT01AN"]


def _garbage(n: int = 40) -> bytes:
    return b"\x00\xffgarbage\x01" * n


def _latin1_adsl() -> bytes:
    text = ADSL.assign(RACE=ADSL["RACE"].where(ADSL["USUBJID"] != "01-002", "MÉTIS")).to_csv(index=False)
    return text.encode("latin-1")


def _no_arm(**more):
    return {"adsl": ADSL.drop(columns=ARM_COLUMNS), **more}


#: (scenario, files written over the tiny extract, the one-line message; "{folder}" is the extract folder)
CASES = [
    # missing things
    ("missing_required_file", {"adae": None},
     "{folder}: required file for ADAE is missing; expected adae.csv/.parquet/.xpt/.sas7bdat."),
    ("missing_required_column", {"adlb": ADLB.drop(columns=["AVAL"])},
     "adlb.csv: required column AVAL is missing; expected it in ADLB (columns found: STUDYID, USUBJID, PARAMCD, "
     "PARAM, AVALU, ADT, ADY, AVISIT, AVISITN, ABLFL, ANRLO, ANRHI, ...)."),
    # empty files
    ("empty_file_0_bytes", {"adae": b""},
     "adae.csv: the file is empty; expected a header and at least one ADAE row."),
    ("empty_file_header_only", {"adae": ",".join(ADAE.columns) + "\n"},
     "adae.csv: the file has no records; expected at least one ADAE row."),
    # unreadable files
    ("unreadable_parquet", {"adae": None, "adae.parquet": _garbage()},
     "adae.parquet: cannot be read as PARQUET (ArrowInvalid: Parquet magic bytes not found in footer. Either the "
     "file is corrupted or this is not a parquet file.)."),
    ("unreadable_xpt", {"adsl": None, "adsl.xpt": _garbage()},
     "adsl.xpt: cannot be read as XPT (ReadstatError: Invalid file, or file has unsupported features)."),
    ("wrong_encoding", {"adsl": _latin1_adsl()},
     "adsl.csv: cannot be read as utf-8 (byte b'\\xc9' on line 3); expected utf-8 text, or set [extract] "
     "encoding in extract.toml."),
    # column names
    ("column_twice_in_header", {"adsl": ADSL.to_csv(index=False).replace("TRTEDT\n", "TRT01A\n")},
     "adsl.csv: column TRT01A appears 2 times in the header; expected each column once."),
    ("two_columns_map_to_one_name", {"adsl": ADSL.assign(arm=ADSL["TRT01A"], ARM=ADSL["TRT01A"])},
     "adsl.csv: columns arm, ARM all map to ARM; expected one."),
    # the wrong study
    ("unknown_study", {"manifest": '[study]\nid = "OTHER01"\n'},
     f'adsl.csv: column STUDYID, value "{STUDY}"; expected "OTHER01" (extract.toml study.id): the file belongs '
     "to another study."),
    ("two_studies_no_manifest", {"adae": ADAE.assign(STUDYID="TINY02")},
     "column STUDYID: the extract mixes studies (TINY01 in adsl.csv, adlb.csv; TINY02 in adae.csv); expected one study."),
    # the unblinded role without the treatment assignment
    ("unblinded_without_arm", _no_arm(),
     "adsl.csv: the unblinded role needs the treatment assignment, but ADSL has none of TRT01A, ACTARM, TRT01P, ARM "
     "and extract.toml names no [blinding] randomization_file; load it in the blinded role or supply the assignment."),
]


@pytest.mark.parametrize("scenario,files,message", CASES, ids=[c[0] for c in CASES])
def test_load_extract_file_level_problem(tmp_path, make_extract, scenario, files, message):
    folder = make_extract(tmp_path, **files)
    with pytest.raises(ExtractError) as info:
        load_extract(folder, "unblinded")
    assert str(info.value) == message.format(folder=folder)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("scenario,files,message", CASES, ids=[c[0] for c in CASES])
def test_main_load_file_level_problem_exits_2(tmp_path, make_extract, run_cli, scenario, files, message):
    folder = make_extract(tmp_path, **files)
    db = tmp_path / "out.duckdb"
    code, out, err = run_cli("load", folder, "--db", db, "--role", "unblinded")
    assert (code, out, err) == (2, "", f"error: {message.format(folder=folder)}\n")
    assert not db.exists()   # a failed load leaves no half-written database


@pytest.mark.parametrize("scenario,files,message", CASES[:-1], ids=[c[0] for c in CASES[:-1]])
def test_main_validate_json_file_level_problem(tmp_path, make_extract, run_cli, scenario, files, message):
    import json

    folder = make_extract(tmp_path, **files)
    code, out, err = run_cli("validate", folder, "--json")
    assert code == 2 and err == ""
    assert json.loads(out) == {"status": "unusable", "error": message.format(folder=folder), "domains": {},
                               "findings": []}


# -- what makes these extracts usable ----------------------------------------------------------

def test_load_extract_wrong_encoding_declared_in_manifest(tmp_path, make_extract):
    folder = make_extract(tmp_path, adsl=_latin1_adsl(), manifest='[extract]\nencoding = "latin-1"\n')
    con, report = load_extract(folder, "unblinded")
    assert report.findings.empty
    assert con.execute("SELECT RACE FROM adsl WHERE USUBJID = '01-002'").fetchone() == ("MÉTIS",)


def test_load_extract_unblinded_with_randomization_file(tmp_path, make_extract):
    rand = ADSL[["USUBJID", "TRT01A"]]
    folder = make_extract(tmp_path, **_no_arm(rand_csv=rand),
                          manifest='[blinding]\nrandomization_file = "rand.csv"\n')
    con, report = load_extract(folder, "unblinded")
    assert report.findings.empty
    assert con.execute("SELECT USUBJID, ANLARM, ANLARMN FROM adsl ORDER BY USUBJID").fetchall() == [
        ("01-001", "Placebo", 1), ("01-002", "Drug 10 mg", 2), ("01-003", "Drug 10 mg", 2), ("01-004", "Placebo", 1)]


def test_load_extract_blinded_without_arm_loads(tmp_path, make_extract):
    con, report = load_extract(make_extract(tmp_path, **_no_arm()), "blinded")
    assert report.findings.empty
    assert con.execute("SELECT DISTINCT ANLARM FROM adsl").fetchall() == [("All subjects",)]


def test_load_extract_missing_randomization_file(tmp_path, make_extract):
    folder = make_extract(tmp_path, **_no_arm(), manifest='[blinding]\nrandomization_file = "rand.csv"\n')
    with pytest.raises(ExtractError, match=r"^rand\.csv: the randomization file named in extract\.toml does not exist\.$"):
        load_extract(folder, "unblinded")


# -- zip extracts ------------------------------------------------------------------------------

def _zip_folder(folder: Path, target: Path) -> Path:
    """Zip ``folder`` as a folder (members ``<name>/adsl.csv``), as a file manager does."""
    with zipfile.ZipFile(target, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, f"{folder.name}/{p.name}")
    return target


def test_load_extract_zip_of_a_folder(tmp_path, make_extract):
    folder = make_extract(tmp_path)
    zipped = _zip_folder(folder, tmp_path / "extract.zip")
    con, report = load_extract(zipped, "unblinded")
    assert {d: (c.rows_read, c.rows_accepted) for d, c in report.domains.items()} == {
        "ADSL": (4, 4), "ADAE": (3, 3), "ADLB": (12, 12)}
    assert con.execute("SELECT count(*) FROM adsl").fetchone() == (4,)


def test_main_load_zip_extract(tmp_path, make_extract, run_cli):
    zipped = _zip_folder(make_extract(tmp_path), tmp_path / "extract.zip")
    code, out, err = run_cli("load", zipped, "--db", tmp_path / "z.duckdb", "--role", "blinded")
    assert (code, err) == (0, "")
    assert out.startswith(f"loaded {zipped} into {tmp_path / 'z.duckdb'} (role blinded): ADSL 4/4, ADAE 3/3, ADLB 12/12")


def test_open_extract_not_a_zip(tmp_path):
    bad = tmp_path / "extract.zip"
    bad.write_bytes(_garbage())
    with pytest.raises(ExtractError, match=r"extract\.zip: not a readable zip file"):
        open_extract(bad)


def test_open_extract_zip_member_outside_the_folder(tmp_path):
    """A member ``../w2/evil.csv`` resolves beside the work folder ``w`` (and shares its name as a
    string prefix): the extract is refused, and nothing is written outside ``w``."""
    zipped = tmp_path / "evil.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("adsl.csv", "USUBJID\n1\n")
        zf.writestr("../w2/evil.csv", "x\n")
    with pytest.raises(ExtractError, match="would unpack outside the extract folder"):
        open_extract(zipped, workdir=tmp_path / "w")
    assert not (tmp_path / "w2" / "evil.csv").exists()


# -- bad arguments -----------------------------------------------------------------------------

BAD_ARGS = [
    # (scenario, arguments, the one line on stderr, or its start)
    ("subjects_not_a_number", ["generate", "--out", "{tmp}/g", "--seed", "1", "--subjects", "x"],
     "python -m dashboard generate: error: argument --subjects: 'x' is not a whole number"),
    ("subjects_too_few", ["generate", "--out", "{tmp}/g", "--seed", "1", "--subjects", "1"],
     "python -m dashboard generate: error: argument --subjects: 1 subjects is too few; expected at least 2"),
    ("data_cut_not_a_date", ["generate", "--out", "{tmp}/g", "--seed", "1", "--data-cut", "31/12/2023"],
     "python -m dashboard generate: error: argument --data-cut: '31/12/2023' is not a date; expected YYYY-MM-DD"),
    ("missing_db", ["load", "{tmp}", "--role", "blinded"],
     "python -m dashboard load: error: the following arguments are required: --db"),
    ("unknown_role", ["validate", "{tmp}", "--role", "admin"],
     # (the quoting of the choices that follow differs between Python versions)
     "python -m dashboard validate: error: argument --role: invalid choice: 'admin' (choose from "),
    ("no_command", [], "python -m dashboard: error: the following arguments are required: command"),
]


@pytest.mark.parametrize("scenario,args,message", BAD_ARGS, ids=[c[0] for c in BAD_ARGS])
def test_main_bad_arguments(tmp_path, run_cli, scenario, args, message):
    code, out, err = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.endswith("\n") and err.count("\n") == 1, err
    if not message.endswith(" "):  # a start only
        assert err == message + "\n"


def test_main_db_in_missing_folder(clean_extract, tmp_path, run_cli):
    code, out, err = run_cli("load", clean_extract, "--db", tmp_path / "no" / "such" / "x.duckdb", "--role", "blinded")
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and err.count("\n") == 1 and "x.duckdb" in err


def test_main_missing_extract(tmp_path, run_cli):
    code, out, err = run_cli("validate", tmp_path / "nope")
    assert (code, out, err) == (
        2, "", f"error: {tmp_path / 'nope'}: no such file or folder; expected an extract folder or a .zip of one.\n")


# -- the real process: exit status and stderr, no traceback --------------------------------------

@pytest.mark.parametrize("args", [
    ["load", "{folder}", "--db", "{tmp}/x.duckdb", "--role", "unblinded"],   # missing required file
    ["generate", "--out", "{tmp}/g", "--seed", "1", "--subjects", "x"],     # bad argument
], ids=["missing_file", "bad_argument"])
def test_python_m_dashboard_exit_2_one_line(tmp_path, make_extract, args):
    folder = make_extract(tmp_path, adae=None)
    proc = subprocess.run([sys.executable, "-m", "dashboard", *[a.format(folder=folder, tmp=tmp_path) for a in args]],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "error: " in proc.stderr
