"""The subjects behind each "What needs attention" row (issue 15 item 9): for every row, the listed
subjects equal the row's count where it counts subjects, the listed records equal it where it counts
records; the blinded lists carry no arm column. On the "with problems" generated extract, both roles."""

from __future__ import annotations

import pytest

from dashboard import registry
from dashboard.analyses.overview import RECORDS, SUBJECTS, attention_rows
from dashboard.filters import FilterSpec


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    from dashboard.generate import generate_extract

    out = tmp_path_factory.mktemp("attention") / "extract"
    generate_extract(out, seed=7, with_problems=True)
    return out


@pytest.mark.parametrize("role", ["unblinded", "blinded"])
def test_attention_subjects_equal_counts_with_problems(problems, role):
    from dashboard.load import load_extract

    con, _ = load_extract(problems, role)
    rows = attention_rows(con, FilterSpec().for_role(role))
    assert {r.counts for r in rows} >= {SUBJECTS, RECORDS}
    for r in rows:
        row = {"item": r.item}
        if r.counts is None:
            with pytest.raises(registry.NotInExtract):
                registry.subjects_behind(con, FilterSpec(), "attention_items", row, role)
            continue
        got = registry.subjects_behind(con, FilterSpec(), "attention_items", row, role)
        assert got["usubjid"].tolist() == sorted(got["usubjid"]), r.item
        assert list(got.columns) == (["usubjid"] if role == "blinded" else ["usubjid", "arm"]), r.item
        if r.counts == SUBJECTS:
            assert len(got) == r.count, r.item
            assert registry.records_behind(con, FilterSpec(), "attention_items", row, role) is None
        if r.counts == RECORDS:
            records = registry.records_behind(con, FilterSpec(), "attention_items", row, role)
            assert len(records) == r.count, r.item
            assert ("arm" in records.columns) == (role == "unblinded"), r.item
    # the planted unknown subject (adlb.csv row 5771) has no profile, and says so
    item = next(r.item for r in rows if r.item.startswith("Quarantined lab record: adlb.csv row 5771"))
    got = registry.subjects_behind(con, FilterSpec(), "attention_items", {"item": item}, role)
    assert got.empty
    assert got.attrs["note"] == "No subject profile for 1 subject not in ADSL (NCT04562025-01-999)."
    con.close()
