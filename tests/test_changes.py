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
