"""The "Data up to" filter is a true data cut: what an extract cut on that date would show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import registry
from dashboard.filters import FilterSpec
from dashboard.load import load_extract
from tests.conftest import ACTIVE, ADSL, PLACEBO

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
CURRENT = ROOT / "sample_data" / "nct04562025_unblinded"
PREVIOUS = ROOT / "sample_data" / "previous" / "nct04562025_unblinded"
PREVIOUS_CUT = dt.date(2021, 9, 30)
CUT = dt.date(2023, 2, 15)

# The tiny trial with dates, viewed up to 2023-02-15:
#   01-001 completed on 2023-03-01 (after the cut)            -> ongoing at the cut
#   01-002 discontinued (adverse event) and died on 2023-02-01 -> discontinued and dead at the cut
#   01-003 discontinued (death) and died on 2023-03-03          -> ongoing and alive at the cut
#   01-004 randomized and first dosed on 2023-02-20            -> not in the cut
DISPOSITION = pd.DataFrame(
    columns=["USUBJID", "RANDDT", "TRTSDT", "TRTEDT", "EOSSTT", "EOSDT", "DCSREAS", "DTHFL", "DTHDT"],
    data=[
        ["01-001", "2023-01-02", "2023-01-02", "2023-03-01", "COMPLETED", "2023-03-01", "", "", ""],
        ["01-002", "2023-01-03", "2023-01-03", "2023-01-30", "DISCONTINUED", "2023-02-01", "ADVERSE EVENT", "Y", "2023-02-01"],
        ["01-003", "2023-01-04", "2023-01-04", "2023-03-03", "DISCONTINUED", "2023-03-03", "DEATH", "Y", "2023-03-03"],
        ["01-004", "2023-02-20", "2023-02-20", "2023-03-04", "COMPLETED", "2023-03-04", "", "", ""],
    ],
)


@pytest.fixture
def dated_extract(make_extract, tmp_path):
    adsl = ADSL.drop(columns=["TRTSDT", "TRTEDT"]).merge(DISPOSITION, on="USUBJID")
    return make_extract(tmp_path, adsl=adsl)


def _counts(con, name: str, spec: FilterSpec, key: str) -> dict:
    frame = registry.compute(name, con, spec, "unblinded")
    if "reason" in frame:  # status rows only (reason rows repeat the Discontinued status)
        frame = frame[frame["reason"].fillna("") == ""]
    return {(row[key], row["arm"]): int(row["n"]) for _, row in frame.iterrows()}


def test_disposition_at_a_cut_is_as_of_that_date(dated_extract):
    con, _ = load_extract(dated_extract, "unblinded")
    try:
        at_cut = _counts(con, "disposition", FilterSpec(population="RANDFL", data_cut=CUT), "status")
        final = _counts(con, "disposition", FilterSpec(population="RANDFL"), "status")
    finally:
        con.close()
    assert {k: v for k, v in at_cut.items() if k[1] == "Total"} == {
        ("Completed", "Total"): 0, ("Ongoing", "Total"): 2, ("Discontinued", "Total"): 1}
    assert at_cut[("Ongoing", PLACEBO)] == 1 and at_cut[("Discontinued", ACTIVE)] == 1
    assert {k: v for k, v in final.items() if k[1] == "Total"} == {
        ("Completed", "Total"): 2, ("Ongoing", "Total"): 0, ("Discontinued", "Total"): 2}


def test_deaths_and_flow_at_a_cut(dated_extract):
    con, _ = load_extract(dated_extract, "unblinded")
    try:
        overview = registry.compute("ae_overview", con, FilterSpec(data_cut=CUT), "unblinded")
        flow = _counts(con, "subject_flow", FilterSpec(data_cut=CUT), "stage")
    finally:
        con.close()
    deaths = overview[(overview["category"] == "deaths") & (overview["arm"] == "Total")]
    assert deaths["n"].tolist() == [1]
    assert flow[("randomized", "Total")] == 3 and flow[("treated", "Total")] == 3
    assert flow[("completed", "Total")] == 0 and flow[("ongoing", "Total")] == 2
    assert flow[("discontinued", "Total")] == 1


@pytest.mark.parametrize("role", ["unblinded", "blinded"])
def test_current_extract_up_to_the_previous_cut_equals_the_previous_extract(role):
    """Enrollment, disposition, deaths and SAEs agree; SAEs the previous extract lacked must be
    late entries, which the record comparison lists."""
    current = CURRENT.parent / f"nct04562025_{role}"
    previous = PREVIOUS.parent / f"nct04562025_{role}"
    con_cur, _ = load_extract(current, role)
    con_prev, _ = load_extract(previous, role)
    try:
        cut, full = FilterSpec(data_cut=PREVIOUS_CUT), FilterSpec()
        for name in ("subject_flow", "disposition", "enrollment_by_month"):
            got = registry.display(name, registry.compute(name, con_cur, cut, role))
            want = registry.display(name, registry.compute(name, con_prev, full, role))
            pd.testing.assert_frame_equal(got, want, obj=name)
        ov_cur = registry.compute("ae_overview", con_cur, cut, role)
        ov_prev = registry.compute("ae_overview", con_prev, full, role)
        for category in ("deaths", "serious_teae"):
            assert (ov_cur.loc[ov_cur["category"] == category, "n"].tolist()
                    == ov_prev.loc[ov_prev["category"] == category, "n"].tolist()), category
        sae_cur = registry.compute("ae_serious_listing", con_cur, cut, role)
        sae_prev = registry.compute("ae_serious_listing", con_prev, full, role)
        late = registry.compute("record_changes", con_cur, full, role)
        late_keys = set(late.loc[(late["domain"] == "ADAE") & (late["change"] == "late entry"), "usubjid"])
        assert set(sae_cur["usubjid"]) - set(sae_prev["usubjid"]) <= late_keys
        assert len(sae_prev) == 1 and set(sae_prev["usubjid"]) <= set(sae_cur["usubjid"])
    finally:
        con_cur.close()
        con_prev.close()


def test_header_and_overview_show_the_cut_in_use(monkeypatch):
    monkeypatch.setenv("DSMB_EXTRACT", str(CURRENT))
    monkeypatch.setenv("DSMB_ROLE", "unblinded")
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["flt_cut"] = dt.date(2021, 6, 30)
    at.run()
    assert not at.exception and at.session_state["dsmb_spec"].data_cut == dt.date(2021, 6, 30)
    header = " ".join(m.value for m in at.markdown)
    assert "data cut <b>2021-06-30</b>" in header and "interim view" in header
    assert at.metric[0].value == "2021-06-30"
    # Key numbers is a short table, shown whole (a static table, not a scrolling grid).
    total = {row[0]: row[-1] for row in at.table[0].value.itertuples(index=False)}
    # 27 randomized by 2021-06-30; none had finished the 48 weeks, 2 had discontinued.
    assert total["Randomized"] == "27 (100.0%)" and total["Completed study"] == "0"
    assert total["Ongoing"] == "25 (92.6%)" and total["Discontinued study"] == "2 (7.4%)"
