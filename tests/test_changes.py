"""Changes since the previous extract: counts checked against the two extracts' CSV files."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import db, registry
from dashboard.filters import FilterSpec
from dashboard.generate import generate_extract
from dashboard.load import load_extract
from dashboard.tables import NotInExtract


@pytest.fixture(scope="module")
def two_cuts(tmp_path_factory):
    root = tmp_path_factory.mktemp("cuts")
    generate_extract(root / "prev", seed=11, data_cut=dt.date(2021, 9, 30))
    generate_extract(root / "cur", seed=11)
    with open(root / "cur" / "extract.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[extract]\nprevious = "../prev"\n')
    return root


def _measure(frame: pd.DataFrame, domain: str, measure: str) -> tuple:
    row = frame[(frame["domain"] == domain) & (frame["measure"] == measure)].iloc[0]
    return (None if pd.isna(row["previous"]) else int(row["previous"]), int(row["current"]))


@pytest.mark.parametrize("role", ["unblinded", "blinded"])
def test_changes_since_previous_counts_match_the_files(two_cuts, role):
    prev = pd.read_csv(two_cuts / "prev" / "adae.csv", dtype=str, keep_default_na=False)
    cur = pd.read_csv(two_cuts / "cur" / "adae.csv", dtype=str, keep_default_na=False)
    prev_keys = set(zip(prev["USUBJID"], prev["AESEQ"]))
    added = sum((u, s) not in prev_keys for u, s in zip(cur["USUBJID"], cur["AESEQ"]))
    con, _ = load_extract(two_cuts / "cur", role)
    try:
        frame = registry.compute("changes_since_previous", con, FilterSpec(), role)
        new_sae = registry.compute("new_serious_adverse_events", con, FilterSpec(), role)
        prev_tables_have_arm = any(c in db.table_columns(con, "prev_adsl") for c in ("TRT01A", "ARM", "TRT01P"))
    finally:
        con.close()
    assert _measure(frame, "ADAE", "records") == (len(prev), len(cur))
    assert _measure(frame, "ADAE", "records added") == (None, added)
    assert _measure(frame, "ADAE", "records no longer present") == (None, 0)
    assert _measure(frame, "ADAE", "serious adverse events") == ((prev["AESER"] == "Y").sum(), (cur["AESER"] == "Y").sum())
    cur_sae = {(u, s) for u, s, f in zip(cur["USUBJID"], cur["AESEQ"], cur["AESER"]) if f == "Y"}
    assert set(new_sae["usubjid"]) == {u for u, s in cur_sae - prev_keys}
    assert "arm" not in frame.columns and "arm" not in new_sae.columns
    assert prev_tables_have_arm is (role == "unblinded")


def test_changes_without_previous_is_not_in_extract(tmp_path):
    generate_extract(tmp_path / "x", seed=3)
    con, _ = load_extract(tmp_path / "x", "blinded")
    try:
        with pytest.raises(NotInExtract, match="no previous extract"):
            registry.compute("changes_since_previous", con, FilterSpec(), "blinded")
    finally:
        con.close()


def test_missing_previous_extract_is_a_note_not_an_error(tmp_path):
    generate_extract(tmp_path / "x", seed=3)
    with open(tmp_path / "x" / "extract.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[extract]\nprevious = "../gone"\n')
    con, report = load_extract(tmp_path / "x", "blinded")
    con.close()
    assert any("was not found: no comparison" in n for n in report.notes)


# -- two cuts of one trial with planted differences ----------------------------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """``python -m dashboard generate --previous-cut``: two cuts of seed 11 and what was planted."""
    import contextlib
    import io
    import json

    from dashboard.cli import main

    root = tmp_path_factory.mktemp("planted")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["generate", "--out", str(root), "--seed", "11", "--previous-cut", "2021-09-30"]) == 0
    return root, json.loads((root / "current" / "planted_changes.json").read_text())


def test_record_changes_find_each_planted_difference_and_nothing_else(planted):
    root, changes = planted
    assert {c["change"] for c in changes} == {"late entry", "changed value", "no longer present"}
    con, _ = load_extract(root / "current", "blinded")
    try:
        found = registry.compute("record_changes", con, FilterSpec(), "blinded")
    finally:
        con.close()
    got = sorted(zip(found["domain"], found["change"], found["usubjid"], found["record"]))
    assert got == sorted((c["domain"], c["change"], c["usubjid"], c["record"]) for c in changes)
    edits = found[found["change"] == "changed value"]
    assert sorted(edits["detail"]) == sorted(c["detail"] for c in changes if c["change"] == "changed value")


def test_new_adverse_events_are_the_new_record_keys(planted):
    root, _ = planted
    prev = pd.read_csv(root / "previous" / "adae.csv", dtype=str, keep_default_na=False)
    cur = pd.read_csv(root / "current" / "adae.csv", dtype=str, keep_default_na=False)
    prev_keys = set(zip(prev["USUBJID"], prev["AESEQ"]))
    new = cur[[k not in prev_keys for k in zip(cur["USUBJID"], cur["AESEQ"])]]
    con, _ = load_extract(root / "current", "blinded")
    try:
        frame = registry.compute("changes_since_previous_cut", con, FilterSpec(), "blinded")
    finally:
        con.close()
    aes = frame[frame["category"].isin(["new adverse event", "new serious adverse event"])]
    assert sorted(zip(aes["usubjid"], aes["item"])) == sorted(zip(new["USUBJID"], new["AEDECOD"]))
    assert set(frame.loc[frame["category"] == "new serious adverse event", "usubjid"]) == set(
        new.loc[new["AESER"] == "Y", "USUBJID"])
    assert "arm" not in frame.columns


def test_generate_previous_cut_refuses_problems(run_cli, tmp_path):
    code, _, err = run_cli("generate", "--out", tmp_path, "--seed", "1", "--previous-cut", "2021-09-30",
                           "--with-problems")
    assert code == 2 and "cannot be combined" in err


# -- worsened AEs and changed disposition, on the tiny extract ------------------------------------
# Previous cut 2023-02-10: 01-002's rash (AESEQ 2) was open and MILD, 01-001 was ongoing.
# Current: the rash is MODERATE and serious; 01-001 completed; 01-003 has a new headache.

def test_worsened_ae_and_changed_disposition(make_extract, tmp_path):
    from tests.conftest import ADAE, ADSL

    adsl_prev = ADSL.assign(EOSSTT="ONGOING")
    adsl_cur = ADSL.assign(EOSSTT=["COMPLETED", "ONGOING", "ONGOING", "ONGOING"])
    adae_cur = ADAE.copy()
    adae_cur.loc[2, ["AESEV", "AESER"]] = ["MODERATE", "Y"]
    extra = adae_cur.iloc[[0]].assign(USUBJID="01-003", AESEQ="1", ASTDT="2023-02-20", AENDT="2023-02-21")
    adae_cur = pd.concat([adae_cur, extra], ignore_index=True)
    make_extract(tmp_path, name="prev", manifest='[study]\nid = "TINY01"\ndata_cut = "2023-02-10"\n',
                 adsl=adsl_prev)
    cur = make_extract(tmp_path, name="cur", adsl=adsl_cur, adae=adae_cur,
                       manifest='[study]\nid = "TINY01"\ndata_cut = "2023-03-31"\n[extract]\nprevious = "../prev"\n')
    con, _ = load_extract(cur, "blinded")
    try:
        frame = registry.compute("changes_since_previous_cut", con, FilterSpec(), "blinded")
        records = registry.compute("record_changes", con, FilterSpec(), "blinded")
    finally:
        con.close()
    rows = {(r.category, r.usubjid, r.item): r.detail for r in frame.itertuples()
            if r.category in ("worsened adverse event", "changed disposition", "new adverse event")}
    assert rows == {
        ("worsened adverse event", "01-002", "Rash"): "severity MILD -> MODERATE; became serious",
        ("changed disposition", "01-001", "end of study / death"): "EOSSTT: ONGOING -> COMPLETED",
        ("new adverse event", "01-003", "Headache"): "MILD",
    }
    assert records.empty  # an open AE worsening and a completion are progress, not edits
