"""Blinding: what the blinded role may never see, checked on names, on values and on statistics.

The arm-prediction checker here is written independently of ``dashboard.blinding`` (which has
its own scorer for rule B4): a leave-one-out majority vote over per-subject signatures, scored
with Cohen's kappa against the arm read straight from the unblinded source file.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ADAE, ADLB, ADSL, PILOT
from dashboard.blinding import column_blinding_rule
from dashboard.extract import ExtractError
from dashboard.load import load_extract

PILOT_ARMS = ("Placebo", "Xanomeline")
POOLED = "All subjects"
KAPPA_LIMIT = 0.5

#: Treatment variables by CDISC naming, written independently of dashboard.blinding.
TREATMENT_NAME = re.compile(
    r"^(TRT\d\d[AP](N|G\d+N?)?|TRT[AP](N|G\d+N?)?|TRTSEQ[AP]?N?|ARM(CD|N)?|ACTARM(CD|N|UD)?|RAND(NO|NUM|ID)|"
    r"EXDOSE?U?|EXTRT|CUMDOSE|AVGDD|DOSEON)$",
    re.IGNORECASE,
)


# -- column_blinding_rule ----------------------------------------------------------------------

RULES = pd.DataFrame(columns=["domain", "column", "rule"], data=[
    # B1: treatment and randomization variables
    ("ADSL", "TRT01P", "B1"),
    ("ADSL", "TRT01PN", "B1"),
    ("ADSL", "TRT01A", "B1"),
    ("ADAE", "TRTA", "B1"),
    ("ADLB", "TRTAN", "B1"),
    ("ADLB", "TRTP", "B1"),
    ("ADSL", "ARM", "B1"),
    ("ADSL", "ACTARM", "B1"),
    ("ADSL", "ARMCD", "B1"),
    ("ADSL", "ACTARMCD", "B1"),
    ("ADSL", "TRTSEQP", "B1"),
    ("ADSL", "RANDNO", "B1"),
    ("ADSL", "trt01a", "B1"),            # names are compared upper-cased
    # B2: dose and product
    ("ADEX", "EXDOSE", "B2"),
    ("ADEX", "EXDOSU", "B2"),
    ("ADSL", "CUMDOSE", "B2"),
    ("ADSL", "AVGDD", "B2"),
    ("ADEX", "DOSEON", "B2"),
    ("ADEX", "EXTRT", "B2"),
    ("ADEX", "AVAL", "B2"),              # an exposure amount is zero on placebo
    # kept: dates, flags and clinical results
    ("ADSL", "TRTSDT", None),
    ("ADSL", "TRTEDT", None),
    ("ADSL", "TRTDURD", None),
    ("ADAE", "TRTEMFL", None),
    ("ADSL", "RANDDT", None),
    ("ADSL", "RANDFL", None),
    ("ADSL", "SAFFL", None),
    ("ADLB", "AVAL", None),
])


def test_column_blinding_rule_names():
    got = RULES.assign(rule=[column_blinding_rule(d, c) for d, c in zip(RULES["domain"], RULES["column"])])
    pd.testing.assert_frame_equal(got, RULES)


def test_column_blinding_rule_manifest_columns():
    assert column_blinding_rule("ADSL", "STRATUM", ("STRATUM",)) == "B3"
    assert column_blinding_rule("ADSL", "STRATUM") is None


# -- rule B4: a column derived from the arm under an innocuous name ----------------------------

def _adsl_12() -> pd.DataFrame:
    """Twelve subjects, six per arm, with GRPFL = Y exactly on the active arm and BLOODGRP
    spread evenly over the arms (each value as often on placebo as on active)."""
    rows = [
        # USUBJID   AGE   SEX  arm       GRPFL BLOODGRP TRTSDT
        ("01-001", "54", "F", "Placebo", "N", "A", "2023-01-02"),
        ("01-002", "67", "M", "Drug 10 mg", "Y", "B", "2023-01-03"),
        ("01-003", "45", "F", "Drug 10 mg", "Y", "A", "2023-01-04"),
        ("01-004", "71", "M", "Placebo", "N", "B", "2023-01-05"),
        ("01-005", "38", "M", "Placebo", "N", "O", "2023-01-06"),
        ("01-006", "59", "F", "Drug 10 mg", "Y", "AB", "2023-01-09"),
        ("01-007", "62", "F", "Placebo", "N", "AB", "2023-01-10"),
        ("01-008", "49", "M", "Drug 10 mg", "Y", "O", "2023-01-11"),
        ("01-009", "33", "F", "Placebo", "N", "A", "2023-01-12"),
        ("01-010", "76", "M", "Drug 10 mg", "Y", "B", "2023-01-13"),
        ("01-011", "41", "M", "Drug 10 mg", "Y", "A", "2023-01-16"),
        ("01-012", "57", "F", "Placebo", "N", "B", "2023-01-17"),
    ]
    frame = pd.DataFrame(rows, columns=["USUBJID", "AGE", "SEX", "TRT01A", "GRPFL", "BLOODGRP", "TRTSDT"])
    return frame.assign(STUDYID="TINY01", SAFFL="Y", TRT01P=frame["TRT01A"])


def test_load_extract_blinded_loads_allow_listed_columns_only(tmp_path, make_extract):
    """GRPFL (the arm as a flag) and BLOODGRP (innocent) are on no allow-list: neither is read,
    and the log counts them with the treatment columns without naming any."""
    con, report = load_extract(make_extract(tmp_path, adsl=_adsl_12()), "blinded")
    columns = {r[0] for r in con.execute("DESCRIBE adsl").fetchall()}
    assert {"GRPFL", "BLOODGRP", "TRT01A", "TRT01P"} & columns == set()
    assert {"AGE", "SEX", "TRTSDT", "SAFFL"} <= columns
    assert [(b.domain, b.column, b.rule, b.detail) for b in report.blinding if b.domain == "ADSL"] == [
        ("ADSL", "(not named)", "R1", "4 columns not on the allow-list were not loaded")]
    assert con.execute("SELECT domain, \"column\", rule FROM blinding_log WHERE domain = 'ADSL'").fetchall() == [
        ("ADSL", "(not named)", "R1")]


def test_load_extract_blinded_allowed_column_is_scored(tmp_path, make_extract):
    """Allowing a column loads it; it is still scored (rule R4): GRPFL refuses the load, BLOODGRP loads."""
    folder = make_extract(tmp_path, adsl=_adsl_12(), manifest='[blinding]\nallow = ["GRPFL", "ADSL.BLOODGRP"]\n')
    with pytest.raises(ExtractError, match=r"columns predict the treatment arm .*: ADSL\.GRPFL\. ") as err:
        load_extract(folder, "blinded")
    assert "BLOODGRP" not in str(err.value)
    folder = make_extract(tmp_path / "b", adsl=_adsl_12(), manifest='[blinding]\nallow = ["BLOODGRP"]\n')
    con, _report = load_extract(folder, "blinded")
    assert "BLOODGRP" in {r[0] for r in con.execute("DESCRIBE adsl").fetchall()}


def test_load_extract_blinded_keeps_column_in_unblinded_role(tmp_path, make_extract):
    con, report = load_extract(make_extract(tmp_path, adsl=_adsl_12()), "unblinded")
    assert {"GRPFL", "BLOODGRP", "TRT01A"} <= {r[0] for r in con.execute("DESCRIBE adsl").fetchall()}
    assert report.blinding == []


def test_load_extract_b3_drops_manifest_columns(tmp_path, make_extract):
    """``[blinding] columns`` wins over ``allow``; the unblinded role loads the column."""
    adsl = ADSL.assign(STRATUM=["S1", "S2", "S1", "S2"])
    folder = make_extract(tmp_path, adsl=adsl, manifest='[blinding]\ncolumns = ["stratum"]\nallow = ["STRATUM"]\n')
    con, _report = load_extract(folder, "blinded")
    assert "STRATUM" not in {r[0] for r in con.execute("DESCRIBE adsl").fetchall()}
    con, _report = load_extract(folder, "unblinded")
    assert "STRATUM" in {r[0] for r in con.execute("DESCRIBE adsl").fetchall()}


# -- scanning a database ---------------------------------------------------------------------

def relations(con) -> list[str]:
    """Every table and view the connection can see: the loaded tables by name, anything in another
    schema or attached database (the analysis records built by tables computed earlier) qualified
    as ``catalog.schema.table``, so they are scanned too."""
    rows = con.execute("SELECT table_catalog, table_schema, table_name, current_database() FROM information_schema.tables "
                       "ORDER BY table_catalog, table_schema, table_name").fetchall()
    return [name if (catalog, schema) == (current, "main") else f'"{catalog}"."{schema}"."{name}"'
            for catalog, schema, name, current in rows]


def _quoted(table: str) -> str:
    return table if table.startswith('"') else f'"{table}"'


def columns_of(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {_quoted(table)}").fetchall()]


def cells_containing(con, words: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(table, column, value) of every distinct cell that contains one of ``words`` (any case)."""
    hits = []
    for table in relations(con):
        for col in columns_of(con, table):
            cond = " OR ".join(f"CAST(\"{col}\" AS VARCHAR) ILIKE '%{w}%'" for w in words)
            for (value,) in con.execute(f'SELECT DISTINCT CAST("{col}" AS VARCHAR) FROM {_quoted(table)} WHERE {cond}').fetchall():
                hits.append((table, col, value))
    return hits


DOMAIN_TABLES = {"adsl", "adae", "adlb", "adex", "advs"}
#: The pooled analysis arm under another name (checked to be pooled on its own).
POOLED_ARM_COLUMNS = {("subjects", "arm")}


def treatment_columns(con) -> list[tuple[str, str]]:
    """(table, column) of every column named as a treatment, dose or randomization variable."""
    found = []
    for table in relations(con):
        for col in columns_of(con, table):
            by_rule = table in DOMAIN_TABLES and column_blinding_rule(table.upper(), col) in ("B1", "B2")
            if (TREATMENT_NAME.match(col) or by_rule) and (table, col) not in POOLED_ARM_COLUMNS:
                found.append((table, col))
    return found


# -- the CDISC pilot, blinded ----------------------------------------------------------------

@pytest.mark.needs_pilot
def test_load_extract_pilot_blinded_has_no_treatment_column(pilot_blinded):
    con = pilot_blinded
    assert {"adsl", "adae", "adlb", "findings", "provenance", "study", "blinding_log"} <= set(relations(con))
    assert treatment_columns(con) == []


@pytest.mark.needs_pilot
def test_load_extract_pilot_blinded_has_no_arm_label(pilot_blinded):
    con = pilot_blinded
    assert cells_containing(con, PILOT_ARMS) == []


@pytest.mark.needs_pilot
def test_load_extract_pilot_blinded_analysis_arm_is_pooled(pilot_blinded):
    con = pilot_blinded
    assert con.execute("SELECT ANLARM, ANLARMN, count(*) FROM adsl GROUP BY ALL").fetchall() == [(POOLED, 1, 254)]
    assert con.execute("SELECT DISTINCT arm FROM subjects").fetchall() == [(POOLED,)]
    assert con.execute("SELECT arm_order, role FROM study").fetchall() == [(f'["{POOLED}"]', "blinded")]


@pytest.mark.needs_pilot
def test_load_extract_pilot_unblinded_is_a_positive_control(pilot_unblinded):
    """The same scans find the arm in the unblinded load (so they can find it at all)."""
    con, _ = pilot_unblinded
    con = con.cursor()
    assert ("adsl", "TRT01A") in treatment_columns(con)
    assert {(t, c) for t, c, _v in cells_containing(con, PILOT_ARMS)} >= {("adsl", "ANLARM"), ("adae", "TRTA")}


@pytest.mark.needs_pilot
def test_main_load_db_file_has_no_arm_label_bytes(pilot_blinded_db):
    data = pilot_blinded_db.read_bytes()
    for label in (b"Xanomeline", b"XANOMELINE", b"xanomeline", b"Placebo", b"PLACEBO"):
        assert label not in data, label


def test_main_load_db_file_bytes_positive_control(tmp_path, make_extract, run_cli):
    """The byte scan finds the arm label in an unblinded file and not in the blinded one."""
    folder = make_extract(tmp_path)
    for role in ("unblinded", "blinded"):
        code, _out, err = run_cli("load", folder, "--db", tmp_path / f"{role}.duckdb", "--role", role)
        assert (code, err) == (0, "")
    assert b"Drug 10 mg" in (tmp_path / "unblinded.duckdb").read_bytes()
    assert b"Drug 10 mg" not in (tmp_path / "blinded.duckdb").read_bytes()


# -- property: no column of a blinded load predicts the arm -----------------------------------

def cohen_kappa(truth: list[str], predicted: list[str]) -> float:
    """Cohen's kappa of two labelings (0 = chance agreement, 1 = identical)."""
    n = len(truth)
    observed = sum(t == p for t, p in zip(truth, predicted)) / n
    t_counts, p_counts = Counter(truth), Counter(predicted)
    expected = sum(t_counts[k] * p_counts[k] for k in set(truth) | set(predicted)) / (n * n)
    return 0.0 if expected >= 1 else (observed - expected) / (1 - expected)


def loo_signature_kappa(signature: dict[str, object], arm: dict[str, str]) -> float:
    """Kappa of predicting each subject's arm as the most common arm among the *other* subjects
    with the same signature (the other subjects' most common arm when none share it).
    Subjects absent from ``signature`` have the empty signature (no records)."""
    subjects = sorted(arm)
    by_signature: dict[object, Counter] = {}
    for s in subjects:
        by_signature.setdefault(signature.get(s, ()), Counter())[arm[s]] += 1
    everyone = Counter(arm[s] for s in subjects)
    predicted = []
    for s in subjects:
        votes = by_signature[signature.get(s, ())].copy()
        votes[arm[s]] -= 1
        votes = +votes
        if not votes:
            votes = everyone.copy()
            votes[arm[s]] -= 1
        best = max(votes.values())
        predicted.append(min(k for k, v in votes.items() if v == best))
    return cohen_kappa([arm[s] for s in subjects], predicted)


def arm_prediction_scores(con, arm: dict[str, str]) -> dict[tuple[str, str], float]:
    """Kappa for every column of every table (and view) that has a subject column. A subject's
    signature is the sorted tuple of its values in that column (hashed in DuckDB)."""
    scores = {}
    for table in relations(con):
        cols = columns_of(con, table)
        subject = next((c for c in cols if c.upper() == "USUBJID"), None)
        if subject is None:
            continue
        others = [c for c in cols if c != subject]
        select = ", ".join(
            f"hash(list_sort(list(coalesce(CAST(\"{c}\" AS VARCHAR), '<missing>')))) AS \"{c}\"" for c in others)
        sig = con.sql(f'SELECT "{subject}" AS _subject, {select} FROM {_quoted(table)} GROUP BY 1').to_arrow_table().to_pandas()
        for c in others:
            scores[(table, c)] = loo_signature_kappa(dict(zip(sig["_subject"], sig[c])), arm)
    return scores


def test_loo_signature_kappa_examples():
    arm = {"1": "P", "2": "P", "3": "P", "4": "A", "5": "A", "6": "A"}
    # the arm itself, or a relabelling of it: perfect
    assert loo_signature_kappa({"1": "x", "2": "x", "3": "x", "4": "y", "5": "y", "6": "y"}, arm) == 1.0
    # one value for everyone, or a unique value each: no better than chance (with equal arms,
    # leaving a subject out tips the vote to the other arm, so it is worse than chance)
    assert loo_signature_kappa({s: "same" for s in arm}, arm) == -1.0
    assert loo_signature_kappa({s: s for s in arm}, arm) == -1.0
    unequal = {**arm, "7": "P", "8": "P"}
    assert loo_signature_kappa({s: "same" for s in unequal}, unequal) == 0.0
    assert loo_signature_kappa({s: s for s in unequal}, unequal) == 0.0
    # records only for the active arm (the rest have none): perfect
    assert loo_signature_kappa({"4": ("r",), "5": ("r",), "6": ("r",)}, arm) == 1.0


def _non_arm(value: str) -> bool:
    return value.strip().upper() in {"", "SCREEN FAILURE", "NOT ASSIGNED", "NOT TREATED", "NOT RANDOMIZED"}


@pytest.mark.needs_pilot
def test_load_extract_pilot_blinded_no_column_predicts_arm(pilot_blinded, pilot_source_arms):
    con = pilot_blinded
    scores = arm_prediction_scores(con, pilot_source_arms)
    assert len(scores) > 100
    assert {k: round(v, 2) for k, v in scores.items() if v >= KAPPA_LIMIT} == {}


@pytest.mark.needs_pilot
def test_load_extract_pilot_unblinded_arm_is_predicted(pilot_unblinded, pilot_source_arms):
    """Positive control: in the unblinded load the checker finds the treatment columns."""
    con, _ = pilot_unblinded
    scores = arm_prediction_scores(con.cursor(), pilot_source_arms)
    assert scores[("adsl", "TRT01P")] == 1.0
    assert scores[("adsl", "ANLARM")] > 0.9


@pytest.fixture(scope="session")
def pilot_source_arms(pilot) -> dict[str, str]:
    """Planned arm per subject, read from the unblinded source file itself."""
    import pyreadstat

    frame, _meta = pyreadstat.read_xport(str(pilot / "adsl.xpt"), usecols=["USUBJID", "TRT01P"])
    return {s: a for s, a in zip(frame["USUBJID"], frame["TRT01P"]) if not _non_arm(a)}


def test_load_extract_generated_trial_blinded_no_column_predicts_arm(tmp_path):
    generate = pytest.importorskip("dashboard.generate", reason="dashboard.generate is not there yet")
    folder = tmp_path / "generated"
    generate.generate_extract(folder, seed=20240607, subjects=38)
    source = pd.read_csv(folder / "adsl.csv", dtype=str, keep_default_na=False)
    arm_col = "TRT01P" if "TRT01P" in source else "ARM"
    arm = {s: a for s, a in zip(source["USUBJID"], source[arm_col]) if not _non_arm(a)}
    assert len(set(arm.values())) == 2 and len(arm) >= 38
    con, _report = load_extract(folder, "blinded")
    assert treatment_columns(con) == []
    # the manifest's title names the comparator ("UC-MSC vs placebo"): trial design, public,
    # and about nobody's arm
    assert [hit for hit in cells_containing(con, tuple(set(arm.values()))) if hit[:2] != ("study", "title")] == []
    scores = arm_prediction_scores(con, arm)
    assert {k: round(v, 2) for k, v in scores.items() if v >= KAPPA_LIMIT} == {}


# -- hypothesis: random small ADSLs ------------------------------------------------------------

ARM_POOL = ["Placebo", "Active 5 mg", "Active 10 mg"]
TREATMENT_SPELLINGS = ["TRT01P", "TRT01A", "ARM", "ACTARM", "trt01p", " Arm ", "TRTSEQP", "TRT02A"]
CODE_SPELLINGS = ["TRT01PN", "TRT01AN", "ARMCD", "ACTARMCD", "RANDNO"]


@st.composite
def small_adsl(draw) -> tuple[pd.DataFrame, list[str]]:
    n = draw(st.integers(min_value=2, max_value=9))
    arms = draw(st.lists(st.sampled_from(ARM_POOL), min_size=n, max_size=n))
    frame = pd.DataFrame({
        "STUDYID": "TINY01",
        "USUBJID": [f"01-{i + 1:03d}" for i in range(n)],
        "AGE": [str(a) for a in draw(st.lists(st.integers(18, 90), min_size=n, max_size=n))],
        "SEX": draw(st.lists(st.sampled_from(["M", "F"]), min_size=n, max_size=n)),
    })
    for name in draw(st.lists(st.sampled_from(TREATMENT_SPELLINGS), min_size=1, max_size=3,
                                    unique_by=lambda c: c.strip().upper())):
        frame[name] = arms
    for name in draw(st.lists(st.sampled_from(CODE_SPELLINGS), max_size=2, unique=True)):
        frame[name] = [str(ARM_POOL.index(a)) for a in arms]
    # innocuous columns: noise, or a copy of the arm as a coded flag (rule B4's business)
    for k in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["noise", "noise", "arm_flag"]))
        if kind == "noise":
            frame[f"ZNOISE{k}"] = draw(st.lists(st.sampled_from(["p", "q", "r", ""]), min_size=n, max_size=n))
        else:
            frame[f"ZFLAG{k}"] = ["Y" if a != "Placebo" else "N" for a in arms]
    return frame, arms


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=small_adsl())
def test_load_extract_blinded_random_adsl_has_no_treatment_column(make_extract, case):
    adsl, arms = case
    subjects = adsl["USUBJID"].tolist()
    adae = ADAE.iloc[[0]].assign(USUBJID=subjects[0], TRTA=arms[0])
    adlb = ADLB.iloc[[0, 1]].assign(USUBJID=subjects[-1], TRTA=arms[-1])
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_extract(Path(tmp), adsl=adsl, adae=adae, adlb=adlb)
        con, _report = load_extract(folder, "blinded")
        try:
            assert treatment_columns(con) == []
            assert con.execute("SELECT DISTINCT ANLARM FROM adsl").fetchall() == [(POOLED,)]
            assert cells_containing(con, tuple(set(arms))) == []
        finally:
            con.close()
