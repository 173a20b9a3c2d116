"""Exports equal what the pages show: one registry feeds the screen, the downloads and the CSVs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import registry
from dashboard.blinding import POOLED_ARM
from dashboard.export import export_tables, write_meeting_packet
from dashboard.filters import TOTAL_ARM, FilterSpec
from dashboard.load import load_extract
from tests.page_checks import displayed_tables

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
SAMPLE = ROOT / "sample_data" / "nct04562025_unblinded"
ARM_LABELS = ("UC-MSC 1x10^6 cells/kg", "Placebo")
#: Pages whose tables are all rendered by show_table, in registry order, with no other frames.
SIMPLE_PAGES = {"enrollment": "enrollment.py", "baseline": "baseline.py", "exposure": "exposure.py"}
#: The filter a page's tables use by default when it is not the sidebar's (Table 1: ITT).
PAGE_SPECS = {"baseline": FilterSpec(population="ITTFL")}


@pytest.fixture(scope="module", params=["unblinded", "blinded"])
def exported(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"export_{request.param}")
    written = export_tables(SAMPLE, request.param, out)
    return request.param, out, written


def test_export_tables_writes_every_registered_table(exported):
    role, out, written = exported
    names = {p.stem for p in written}
    manifest = json.loads((out / "manifest.json").read_text())
    expected = {t.name for t in registry.tables_for(None, role) if t.exportable}
    not_in_extract = {t["table"] for t in manifest["tables"] if "status" in t}
    assert names | not_in_extract == expected
    for must in ("enrollment_by_month", "disposition", "baseline_characteristics", "ae_overview", "ae_by_soc_pt",
                 "kidney_events", "kdigo_shift", "lab_shift", "egfr_slope"):
        assert must in names
    if role == "blinded":
        assert "ae_risk_difference" not in names and "dose_received" not in names


def test_export_csv_equals_registry_frame(exported):
    role, out, written = exported
    con, _ = load_extract(SAMPLE, role)
    try:
        for path in written:
            frame = registry.compute(path.stem, con, FilterSpec(), role)
            if path.stem == "extract_provenance":  # each load stamps its own load time
                frame = frame.drop(columns="load_time")
            from_file = pd.read_csv(path, keep_default_na=False, na_values=[""])
            from_file = from_file.drop(columns=[c for c in from_file.columns if c not in frame.columns])
            expected = pd.read_csv(pd.io.common.StringIO(frame.to_csv(index=False)), keep_default_na=False,
                                   na_values=[""])
            pd.testing.assert_frame_equal(from_file, expected, check_dtype=False, obj=path.name)
    finally:
        con.close()


def test_export_counts_have_public_columns(exported):
    role, out, _ = exported
    for name in ("enrollment_by_site", "disposition", "ae_overview", "kidney_events", "lab_shift"):
        frame = pd.read_csv(out / f"{name}.csv")
        assert {"arm", "n", "N", "pct"} <= set(frame.columns), name
        if role == "blinded":
            assert set(frame["arm"].dropna()) <= {POOLED_ARM}, name


def test_blinded_export_holds_no_arm_label(exported):
    role, out, _ = exported
    if role != "blinded":
        pytest.skip("unblinded exports carry arms by design")
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        for label in ARM_LABELS:
            assert label not in text, f"{label!r} in {path.name}"


@pytest.mark.parametrize("role", ["unblinded", "blinded"])
@pytest.mark.parametrize("page", sorted(SIMPLE_PAGES))
def test_page_tables_equal_export_display(monkeypatch, role, page):
    monkeypatch.setenv("DSMB_EXTRACT", str(SAMPLE))
    monkeypatch.setenv("DSMB_ROLE", role)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(f"pages/{SIMPLE_PAGES[page]}").run()
    assert not at.exception
    con, _ = load_extract(SAMPLE, role)
    try:
        expected = []
        for entry in registry.tables_for(page, role):
            spec = PAGE_SPECS.get(page, FilterSpec())
            shown = registry.display(entry.name, registry.compute(entry.name, con, spec, role))
            if not shown.empty:
                expected.append((entry.name, shown))
    finally:
        con.close()
    on_page = displayed_tables(at)
    assert len(on_page) == len(expected)
    for (name, want), got in zip(expected, on_page):
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False,
                                      obj=name)


def test_meeting_packet_has_cover_and_confidentiality_label(tmp_path):
    path = write_meeting_packet(SAMPLE, "blinded", tmp_path / "packet.html", charts=False)
    text = path.read_text(encoding="utf-8")
    assert "OPEN REPORT - BLINDED" in text and "Data cut" in text and "Extract fingerprint" in text
    for label in ARM_LABELS:
        assert label not in text
    assert "Risk difference" not in text
    unblinded = write_meeting_packet(SAMPLE, "unblinded", tmp_path / "closed.html", charts=False).read_text()
    assert "CLOSED REPORT - UNBLINDED - CONFIDENTIAL" in unblinded and ARM_LABELS[0] in unblinded
    assert TOTAL_ARM in unblinded
