"""The meeting-room checks that need a page driven past its first render (issue 15): the subject
profile of a chosen subject, the Adverse events tabs, downloads and the display cache."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cached, registry
from dashboard.downloads import csv_bytes, provenance_lines, xlsx_bytes
from tests.page_checks import developer_text, displayed_tables

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
SAMPLE = ROOT / "sample_data" / "nct04562025_unblinded"
SUBJECT = "NCT04562025-01-001"  # synthetic: 64-year-old woman, UC-MSC arm, three infusions, completed


def _app(monkeypatch, role: str) -> AppTest:
    monkeypatch.setenv("DSMB_EXTRACT", str(SAMPLE))
    monkeypatch.setenv("DSMB_ROLE", role)
    return AppTest.from_file(APP, default_timeout=120).run()


def _element_types(node, found=None) -> set[str]:
    found = set() if found is None else found
    found.add(getattr(node, "type", ""))
    for index in sorted(getattr(node, "children", {}) or {}):
        _element_types(node.children[index], found)
    return found


# -- subject profile ------------------------------------------------------------------------------
@pytest.mark.parametrize("role,summary", [
    ("unblinded", "64 years · sex F · arm UC-MSC 1x10^6 cells/kg · randomized 2020-09-29 · first dose 2020-09-29 · "
                  "last dose 2020-10-13 · status completed"),
    ("blinded", "64 years · sex F · randomized 2020-09-29 · first dose 2020-09-29 · last dose 2020-10-13 · "
                "status completed"),
])
def test_subject_profile_of_a_subject_is_readable(monkeypatch, role, summary):
    at = _app(monkeypatch, role)
    at.session_state["profile_usubjid"] = SUBJECT
    at.switch_page("pages/subject_profile.py").run()
    assert not at.exception, [e.value for e in at.exception]
    # Streamlit "magic" echoing an expression renders a help box (element type "doc_string").
    assert "doc_string" not in _element_types(at.main)
    assert f"**{summary}**" in [m.value for m in at.markdown]
    tables = displayed_tables(at)
    assert tables, "the profile shows its records"
    for frame in tables:
        assert not developer_text(frame), developer_text(frame)
    text = "\n".join(f.to_csv() for f in tables) + "\n".join(m.value for m in at.markdown)
    if role == "blinded":
        assert "UC-MSC" not in text and "Placebo" not in text


# -- Adverse events page: sections a board can jump between ---------------------------------------
@pytest.mark.parametrize("role,tabs", [
    ("unblinded", ["Overview", "SOC / PT", "Arm comparison", "Severity", "Serious AEs", "Timeline"]),
    ("blinded", ["Overview", "SOC / PT", "Severity", "Serious AEs", "Timeline"]),
])
def test_adverse_events_page_is_organised_in_tabs(monkeypatch, role, tabs):
    at = _app(monkeypatch, role)
    at.switch_page("pages/adverse_events.py").run()
    assert not at.exception
    assert [t.label for t in at.tabs] == tabs


# -- a widget that changes only a chart does not recompute or reformat any table -------------------
def test_chart_only_widget_recomputes_no_table(monkeypatch):
    calls = {"compute": 0, "display": 0}
    compute, display = registry.compute, registry.display

    def counting_compute(*args, **kwargs):
        calls["compute"] += 1
        return compute(*args, **kwargs)

    def counting_display(*args, **kwargs):
        calls["display"] += 1
        return display(*args, **kwargs)

    monkeypatch.setattr(registry, "compute", counting_compute)
    monkeypatch.setattr(registry, "display", counting_display)
    cached._table.clear()
    cached._display.clear()
    at = _app(monkeypatch, "unblinded")
    at.switch_page("pages/adverse_events.py").run()
    assert not at.exception
    first = dict(calls)
    assert first["compute"] > 0 and first["display"] > 0  # the first render computed the page's tables
    at.radio(key="ae_sort").set_value("Risk difference").run()  # re-sorts the AE explorer chart only
    assert not at.exception
    assert calls == first


# -- downloads carry study, data cut, role and confidentiality ------------------------------------
LINES = provenance_lines("Key numbers", {"study_id": "NCT04562025", "data_cut": "2022-08-23"}, "unblinded",
                         "38e7babf59de", ["Population: Safety (received any study treatment)"],
                         now=dt.datetime(2026, 12, 1, 21, 0, tzinfo=dt.timezone.utc))
SHOWN = pd.DataFrame({"Subjects": ["Randomized"], "Placebo (N=19)": ["19 (100.0%)"]})


def test_csv_download_starts_with_provenance_rows():
    assert csv_bytes(SHOWN, LINES).decode("utf-8").splitlines() == [
        "# Table: Key numbers",
        "# Study: NCT04562025",
        "# Data cut: 2022-08-23",
        "# Role: unblinded",
        "# Confidentiality: CLOSED SESSION - UNBLINDED - CONFIDENTIAL: DSMB members and the independent "
        "statistician only",
        "# Filter: Population: Safety (received any study treatment)",
        "# Extract fingerprint: 38e7babf59de",
        "# Downloaded: 2026-12-01 21:00 UTC",
        "Subjects,Placebo (N=19)",
        "Randomized,19 (100.0%)",
    ]


def test_excel_download_has_a_cover_sheet_then_the_table():
    book = pd.read_excel(io.BytesIO(xlsx_bytes(SHOWN, "key_numbers", LINES)), sheet_name=None)
    assert list(book) == ["Cover", "key_numbers"]
    assert book["Cover"].iloc[4].tolist() == [
        "Confidentiality", "CLOSED SESSION - UNBLINDED - CONFIDENTIAL: DSMB members and the independent statistician only"]
    pd.testing.assert_frame_equal(book["key_numbers"], SHOWN)


# -- static tables on a 1280 px projector screen -------------------------------------------------

def test_static_table_keeps_counts_on_one_line_and_lets_notes_wrap():
    from dashboard.formatting import number_style

    frame = pd.DataFrame({"Subjects with, n (%) [events]": ["Any TEAE", "Serious TEAE"],
                          "Placebo (N=18)": ["13 (72.2%) [24]", "1 (5.6%) [1]"],
                          "Note": ["Treatment-emergent: TRTEMFL='Y' as supplied in ADAE, one long explanation.", "x"]})
    styler = number_style(frame)
    styler._compute()
    nowrap = {frame.columns[j] for (i, j), props in styler.ctx.items() if ("white-space", "nowrap") in props}
    assert nowrap == {"Subjects with, n (%) [events]", "Placebo (N=18)"}
    assert "font-size" not in styler.to_html()  # fits: normal type


def test_static_listing_wider_than_the_screen_is_set_smaller_and_wraps_every_column():
    from dashboard.formatting import number_style

    row = {f"Column number {i}": "NCT04562025-01-023 RECOVERED/RESOLVED" for i in range(14)}
    styler = number_style(pd.DataFrame([row, row]))
    styler._compute()
    assert not [p for props in styler.ctx.values() for p in props if p == ("white-space", "nowrap")]
    html = styler.to_html()
    assert "font-size: 0.8em" in html and "overflow-wrap: anywhere" in html
