"""Shared test data: a tiny hand-made ADaM extract and the CDISC pilot (datasette style).

``make_extract(tmp_path, **overrides)`` writes the tiny extract from the literal frames below:
each override replaces one file (a DataFrame, raw ``bytes``/``str`` written as-is, or ``None``
to leave the file out). Named variants are fixtures (``clean_extract``, ``extract_without_adae``,
...). The CDISC pilot lives outside the repository (``../shared/cdiscpilot01``); tests that need
it use the ``pilot`` fixture (or the ``needs_pilot`` marker), which skips with a printed reason
when it is absent. Loading the pilot takes seconds, so it is loaded once per role per session
(``pilot_unblinded``; ``pilot_blinded`` reads the file the blinded CLI load wrote).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
PILOT = Path(__file__).resolve().parents[2] / "shared" / "cdiscpilot01"
PILOT_MISSING = f"CDISC pilot data not found at {PILOT} (expected ../shared/cdiscpilot01 beside the repository)"

needs_pilot = pytest.mark.skipif(not (PILOT / "adsl.xpt").exists(), reason=PILOT_MISSING)

STUDY = "TINY01"
PLACEBO, ACTIVE = "Placebo", "Drug 10 mg"

# -- the tiny extract, as literal tables --------------------------------------------------------
# Four subjects, two per arm; dates are ISO text as most sponsors' CSVs carry them.
ADSL = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX", "RACE", "SAFFL", "ITTFL",
             "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "TRTSDT", "TRTEDT"],
    data=[
        [STUDY, "01-001", "001", "01", "54", "F", "WHITE", "Y", "Y", PLACEBO, "0", PLACEBO, "0", "2023-01-02", "2023-03-01"],
        [STUDY, "01-002", "002", "01", "67", "M", "ASIAN", "Y", "Y", ACTIVE, "10", ACTIVE, "10", "2023-01-03", "2023-03-02"],
        [STUDY, "01-003", "003", "02", "45", "F", "WHITE", "Y", "Y", ACTIVE, "10", ACTIVE, "10", "2023-01-04", "2023-03-03"],
        [STUDY, "01-004", "004", "02", "71", "M", "BLACK", "Y", "Y", PLACEBO, "0", PLACEBO, "0", "2023-01-05", "2023-03-04"],
    ],
)

ADAE = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AESER", "AEREL",
             "ASTDT", "AENDT", "TRTEMFL", "TRTA"],
    data=[
        [STUDY, "01-001", "1", "HEADACHE", "Headache", "Nervous system disorders", "MILD", "N", "NONE",
         "2023-01-10", "2023-01-12", "Y", PLACEBO],
        [STUDY, "01-002", "1", "NAUSEA", "Nausea", "Gastrointestinal disorders", "MODERATE", "N", "POSSIBLE",
         "2023-01-11", "2023-01-15", "Y", ACTIVE],
        [STUDY, "01-002", "2", "RASH", "Rash", "Skin and subcutaneous tissue disorders", "MILD", "N", "PROBABLE",
         "2023-02-01", "", "Y", ACTIVE],
    ],
)

# Creatinine (umol/L) and potassium at Baseline (day 1) and Week 2 (day 15) for every subject.
ADLB = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "ADT", "ADY", "AVISIT", "AVISITN",
             "ABLFL", "ANRLO", "ANRHI", "TRTA"],
    data=[
        [STUDY, "01-001", "CREAT", "Creatinine (umol/L)", "70", "umol/L", "2023-01-02", "1", "Baseline", "0", "Y", "44", "97", PLACEBO],
        [STUDY, "01-001", "CREAT", "Creatinine (umol/L)", "72", "umol/L", "2023-01-16", "15", "Week 2", "2", "", "44", "97", PLACEBO],
        [STUDY, "01-001", "K", "Potassium (mmol/L)", "4.1", "mmol/L", "2023-01-02", "1", "Baseline", "0", "Y", "3.5", "5.1", PLACEBO],
        [STUDY, "01-001", "K", "Potassium (mmol/L)", "4.3", "mmol/L", "2023-01-16", "15", "Week 2", "2", "", "3.5", "5.1", PLACEBO],
        [STUDY, "01-002", "CREAT", "Creatinine (umol/L)", "88", "umol/L", "2023-01-03", "1", "Baseline", "0", "Y", "62", "106", ACTIVE],
        [STUDY, "01-002", "CREAT", "Creatinine (umol/L)", "95", "umol/L", "2023-01-17", "15", "Week 2", "2", "", "62", "106", ACTIVE],
        [STUDY, "01-002", "K", "Potassium (mmol/L)", "4.6", "mmol/L", "2023-01-03", "1", "Baseline", "0", "Y", "3.5", "5.1", ACTIVE],
        [STUDY, "01-002", "K", "Potassium (mmol/L)", "4.9", "mmol/L", "2023-01-17", "15", "Week 2", "2", "", "3.5", "5.1", ACTIVE],
        [STUDY, "01-003", "CREAT", "Creatinine (umol/L)", "61", "umol/L", "2023-01-04", "1", "Baseline", "0", "Y", "44", "97", ACTIVE],
        [STUDY, "01-003", "CREAT", "Creatinine (umol/L)", "66", "umol/L", "2023-01-18", "15", "Week 2", "2", "", "44", "97", ACTIVE],
        [STUDY, "01-004", "CREAT", "Creatinine (umol/L)", "101", "umol/L", "2023-01-05", "1", "Baseline", "0", "Y", "62", "106", PLACEBO],
        [STUDY, "01-004", "CREAT", "Creatinine (umol/L)", "99", "umol/L", "2023-01-19", "15", "Week 2", "2", "", "62", "106", PLACEBO],
    ],
)

ADEX = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "EXSEQ", "PARAMCD", "ASTDT", "AENDT", "EXOCCUR", "EXTRT", "EXDOSE", "AVAL"],
    data=[
        [STUDY, "01-001", "1", "DOSE", "2023-01-02", "2023-01-02", "Y", "PLACEBO", "0", "0"],
        [STUDY, "01-002", "1", "DOSE", "2023-01-03", "2023-01-03", "Y", "DRUG", "10", "10"],
        [STUDY, "01-003", "1", "DOSE", "2023-01-04", "2023-01-04", "Y", "DRUG", "10", "10"],
        [STUDY, "01-004", "1", "DOSE", "2023-01-05", "2023-01-05", "Y", "PLACEBO", "0", "0"],
    ],
)

ADVS = pd.DataFrame(
    columns=["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "ADT", "AVISIT", "ABLFL"],
    data=[
        [STUDY, "01-001", "SYSBP", "Systolic Blood Pressure (mmHg)", "128", "mmHg", "2023-01-02", "Baseline", "Y"],
        [STUDY, "01-002", "SYSBP", "Systolic Blood Pressure (mmHg)", "135", "mmHg", "2023-01-03", "Baseline", "Y"],
    ],
)

DEFAULT_FILES = {"adsl.csv": ADSL, "adae.csv": ADAE, "adlb.csv": ADLB}


def write_file(path: Path, content) -> None:
    """Write one extract file: a frame as CSV/Parquet (by suffix), text or bytes as-is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, pd.DataFrame):
        if path.suffix == ".parquet":
            content.to_parquet(path, index=False)
        else:
            content.to_csv(path, index=False)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(str(content), encoding="utf-8")


def _make_extract(tmp_path: Path, name: str = "extract", manifest: str | None = None, **files) -> Path:
    """Write the tiny extract to ``tmp_path / name`` and return the folder.

    ``files`` maps a file name to its content; a bare domain name means its CSV
    (``adae=None`` leaves adae.csv out, ``adex=ADEX`` adds adex.csv, ``rand_csv=...`` writes rand.csv).
    ``manifest`` is the text of extract.toml (none by default).
    """
    folder = Path(tmp_path) / name
    folder.mkdir(parents=True, exist_ok=True)
    wanted = dict(DEFAULT_FILES)
    for key, content in files.items():
        fname = key if "." in key else (key[:-4] + ".csv" if key.endswith("_csv") else f"{key}.csv")
        wanted[fname] = content
    for fname, content in wanted.items():
        if content is not None:
            write_file(folder / fname, content)
    if manifest is not None:
        write_file(folder / "extract.toml", manifest)
    return folder


@pytest.fixture
def make_extract():
    """The factory ``make_extract(tmp_path, name="extract", manifest=None, **files) -> folder``."""
    return _make_extract


@pytest.fixture
def clean_extract(tmp_path) -> Path:
    return _make_extract(tmp_path)


@pytest.fixture
def extract_with_manifest(tmp_path) -> Path:
    return _make_extract(tmp_path, manifest=f'[study]\nid = "{STUDY}"\ndata_cut = "2023-06-30"\n')


@pytest.fixture
def extract_with_optional_domains(tmp_path) -> Path:
    return _make_extract(tmp_path, adex=ADEX, advs=ADVS)


@pytest.fixture
def extract_without_adae(tmp_path) -> Path:
    return _make_extract(tmp_path, adae=None)


@pytest.fixture
def blinded_extract(tmp_path) -> Path:
    """An extract as a blinded sponsor sends it: no treatment columns anywhere."""
    return _make_extract(tmp_path, adsl=ADSL.drop(columns=["TRT01P", "TRT01PN", "TRT01A", "TRT01AN"]),
                         adae=ADAE.drop(columns=["TRTA"]), adlb=ADLB.drop(columns=["TRTA"]))


@pytest.fixture
def extract_with_problems(tmp_path) -> Path:
    """One bad value in each required domain: AGE 212, AVAL "abc", AENDT before ASTDT (flagged: the
    rows are loaded), and a lab record (row 13) of subject 99-999, who is not in ADSL (quarantined)."""
    adsl = ADSL.copy()
    adsl.loc[1, "AGE"] = "212"
    adlb = pd.concat([ADLB, ADLB.iloc[[0]].assign(USUBJID="99-999")], ignore_index=True)
    adlb.loc[2, "AVAL"] = "abc"
    adae = ADAE.copy()
    adae.loc[0, "AENDT"] = "2023-01-01"
    return _make_extract(tmp_path, adsl=adsl, adae=adae, adlb=adlb)


# -- the CDISC pilot ---------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "needs_pilot: needs the CDISC pilot extract in ../shared/cdiscpilot01")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_report_header(config):
    if not (PILOT / "adsl.xpt").exists():
        return f"SKIPPING pilot tests: {PILOT_MISSING}"
    return f"CDISC pilot: {PILOT}"


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.needs_pilot`` skips (with the reason) when the pilot is absent."""
    if (PILOT / "adsl.xpt").exists():
        return
    skip = pytest.mark.skip(reason=PILOT_MISSING)
    for item in items:
        if "needs_pilot" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pilot() -> Path:
    """The pilot extract folder; skips the test with the reason when it is absent."""
    if not (PILOT / "adsl.xpt").exists():
        print(PILOT_MISSING)
        pytest.skip(PILOT_MISSING)
    return PILOT


@pytest.fixture(scope="session")
def pilot_unblinded(pilot):
    """``(con, report)`` of the pilot loaded in the unblinded role, once per session (read only)."""
    from dashboard.load import load_extract

    con, report = load_extract(pilot, "unblinded")
    yield con, report
    con.close()


@pytest.fixture(scope="session")
def pilot_blinded_db(pilot, tmp_path_factory) -> Path:
    """The DuckDB file that ``python -m dashboard load PILOT --db FILE --role blinded`` writes
    (run in-process, once per session)."""
    from dashboard.cli import main

    path = tmp_path_factory.mktemp("pilot") / "pilot_blinded.duckdb"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["load", str(pilot), "--db", str(path), "--role", "blinded"])
    assert code == 0, err.getvalue()
    return path


@pytest.fixture(scope="session")
def pilot_blinded(pilot_blinded_db):
    """A read-only connection to the blinded pilot database (``pilot_blinded_db``)."""
    import duckdb

    con = duckdb.connect(str(pilot_blinded_db), read_only=True)
    yield con
    con.close()


# -- the command line ------------------------------------------------------------------------

@pytest.fixture
def run_cli(capsys):
    """``run_cli(*args) -> (exit code, stdout, stderr)`` of ``python -m dashboard`` run in-process."""
    from dashboard.cli import main

    def run(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse exits on bad arguments
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
