"""The subjects behind a count (issue 15 item 9): for every row of Key numbers and of the AE
overview, the subjects ``registry.subjects_behind`` lists are exactly as many as the count shown,
arm by arm (unblinded) and in the pooled column (blinded); the blinded list carries no arm and is
in subject-id order. On the bundled sample and the CDISC pilot, in both roles."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dashboard import registry
from dashboard.filters import TOTAL_ARM, FilterSpec
from tests.page_checks import displayed_tables

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "nct04562025_unblinded"
DRILL = (("key_numbers", "metric"), ("ae_overview", "category"))


@pytest.fixture(scope="module")
def sample_unblinded():
    from dashboard.load import load_extract

    con, _ = load_extract(SAMPLE, "unblinded")
    yield con
    con.close()


@pytest.fixture(scope="module")
def sample_blinded():
    from dashboard.load import load_extract

    con, _ = load_extract(SAMPLE, "blinded")
    yield con
    con.close()


def _check_every_row(con, role: str) -> int:
    """Assert, for every row of each drill-down table, that the listed subjects match the counts;
    returns how many (row, arm) cells were compared."""
    compared = 0
    for table, key in DRILL:
        frame = registry.compute(table, con, FilterSpec(), role)
        for value, rows in frame.groupby(key, sort=False):
            if rows["n"].isna().all():        # "not available": the drill-down says why, never 0
                with pytest.raises(registry.NotInExtract):
                    registry.subjects_behind(con, FilterSpec(), table, {key: value}, role)
                continue
            got = registry.subjects_behind(con, FilterSpec(), table, {key: value}, role)
            assert got["usubjid"].is_unique
            assert got["usubjid"].tolist() == sorted(got["usubjid"]), (table, value)
            if role == "blinded":
                assert list(got.columns) == ["usubjid"], (table, value)
                assert len(rows) == 1, (table, value)           # one pooled column
                assert len(got) == int(rows["n"].iloc[0]), (table, value)
                compared += 1
                continue
            assert list(got.columns) == ["usubjid", "arm"]
            for arm, n in zip(rows["arm"], rows["n"]):
                listed = len(got) if arm == TOTAL_ARM else int((got["arm"] == arm).sum())
                assert listed == int(n), (table, value, arm)
                compared += 1
    return compared


def test_subjects_behind_equal_counts_sample_unblinded(sample_unblinded):
    # 12 key numbers (randomized ... AKI) + 8 AE overview categories, each in 2 arms + Total
    assert _check_every_row(sample_unblinded, "unblinded") == (12 + 8) * 3


def test_subjects_behind_equal_counts_sample_blinded(sample_blinded):
    assert _check_every_row(sample_blinded, "blinded") == 12 + 8


@pytest.mark.needs_pilot
@pytest.mark.slow
def test_subjects_behind_equal_counts_pilot_unblinded(pilot_unblinded):
    con, _ = pilot_unblinded
    assert _check_every_row(con, "unblinded") > 0


@pytest.mark.needs_pilot
@pytest.mark.slow
def test_subjects_behind_equal_counts_pilot_blinded(pilot_blinded):
    assert _check_every_row(pilot_blinded, "blinded") > 0


def test_subjects_behind_soc_pt_rows_equal_counts(sample_unblinded):
    frame = registry.compute("ae_by_soc_pt", sample_unblinded, FilterSpec(), "unblinded")
    for (soc, pt), rows in frame.groupby(["soc", "pt"], sort=False):
        got = registry.subjects_behind(sample_unblinded, FilterSpec(), "ae_by_soc_pt", {"soc": soc, "pt": pt},
                                       "unblinded")
        total = rows.loc[rows["arm"] == TOTAL_ARM, "n"].iloc[0]
        assert len(got) == total, (soc, pt)


def test_subjects_behind_blinded_is_the_default_role(sample_blinded):
    got = registry.subjects_behind(sample_blinded, FilterSpec(), "ae_overview", {"category": "any_teae"})
    assert list(got.columns) == ["usubjid"]
    assert not got.empty


def test_subjects_behind_rejects_a_table_without_drill_down(sample_unblinded):
    with pytest.raises(ValueError, match="has no subject drill-down"):
        registry.subjects_behind(sample_unblinded, FilterSpec(), "ae_timeline", {}, "unblinded")


def test_subjects_behind_sample_serious_teae_literal(sample_unblinded):
    got = registry.subjects_behind(sample_unblinded, FilterSpec(), "key_numbers", {"metric": "serious_teae"},
                                   "unblinded")
    expected = pd.DataFrame({"usubjid": ["NCT04562025-01-023", "NCT04562025-01-027"],
                             "arm": ["Placebo", "UC-MSC 1x10^6 cells/kg"]})
    pd.testing.assert_frame_equal(got, expected)


# -- the pages: choosing a count lists its subjects, each opening the profile ----------------------
APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def _overview(monkeypatch, role: str):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DSMB_EXTRACT", str(SAMPLE))
    monkeypatch.setenv("DSMB_ROLE", role)
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    box = at.selectbox(key="tbl_key_numbers_row")
    box.set_value(next(i for i, label in enumerate(box.options) if label.startswith("Serious TEAE"))).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
def test_overview_key_number_lists_its_subjects_unblinded(monkeypatch):
    at = _overview(monkeypatch, "unblinded")
    assert any(m.value.startswith("**Subjects behind “Serious TEAE”**: 2 subjects") for m in at.markdown)
    buttons = [b.key for b in at.button if b.key and b.key.startswith("overview_subjects_open_")]
    assert buttons == ["overview_subjects_open_NCT04562025-01-023", "overview_subjects_open_NCT04562025-01-027"]
    listed = [t for t in displayed_tables(at) if list(t.columns) == ["Subject", "Arm"]]
    assert listed and listed[0]["Subject"].tolist() == ["NCT04562025-01-023", "NCT04562025-01-027"]
    at.button(key="overview_subjects_open_NCT04562025-01-027").click().run()
    assert at.session_state["profile_usubjid"] == "NCT04562025-01-027"


@pytest.mark.slow
def test_overview_key_number_lists_its_subjects_blinded_without_arm(monkeypatch):
    at = _overview(monkeypatch, "blinded")
    assert any(m.value.startswith("**Subjects behind “Serious TEAE”**: 2 subjects") for m in at.markdown)
    listed = [t for t in displayed_tables(at) if list(t.columns) == ["Subject"]]
    assert listed and listed[0]["Subject"].tolist() == ["NCT04562025-01-023", "NCT04562025-01-027"]
    text = "".join(t.to_csv() for t in displayed_tables(at))
    assert "Placebo" not in text and "UC-MSC" not in text


# -- the subject profile's summary line never says "None" ----------------------------------------
def test_subject_summary_says_status_not_available_instead_of_none(clean_extract):
    from dashboard.load import load_extract

    con, _ = load_extract(clean_extract, "unblinded")       # the tiny ADSL has no EOSSTT, DCSREAS, DISCONFL
    got = registry.subject_view("summary", con, "01-001", "unblinded")
    assert got == ("54 years · sex F · arm Placebo · randomized not recorded · first dose 2023-01-02 · "
                   "last dose 2023-03-01 · status not available in this extract")
    assert "arm" not in registry.subject_view("summary", con, "01-001", "blinded")
    con.close()
