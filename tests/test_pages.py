"""AppTest for every page under each role, on the sample trial and the CDISC pilot.

In the blinded role no arm label may appear anywhere in what the page renders.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.filters import FilterSpec
from tests.page_checks import developer_text, displayed_tables

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
SAMPLE_UNBLINDED = ROOT / "sample_data" / "nct04562025_unblinded"
SAMPLE_BLINDED = ROOT / "sample_data" / "nct04562025_blinded"
PILOT = ROOT.parent / "shared" / "cdiscpilot01"
# Trial pages (the admin page shows no trial data and has its own tests in test_signin.py).
PAGES = sorted(p.name for p in (ROOT / "pages").glob("[!_]*.py") if p.name != "admin.py")
ARM_LABELS = {"sample": ["UC-MSC 1x10^6 cells/kg", "Placebo"], "pilot": ["Xanomeline", "Placebo"]}


def _rendered_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "metric", "text", "error", "warning"):
        for el in getattr(at, kind, []):
            parts.append(str(getattr(el, "value", "")) + str(getattr(el, "label", "")))
    for df in displayed_tables(at):
        parts.append(df.to_csv())
    for sel in list(at.selectbox) + list(at.multiselect):
        parts.append(" ".join(map(str, sel.options)))
    return "\n".join(parts)


def _run(monkeypatch, extract: Path, role: str, page: str) -> AppTest:
    monkeypatch.setenv("DSMB_EXTRACT", str(extract))
    monkeypatch.setenv("DSMB_ROLE", role)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    at.switch_page(f"pages/{page}").run()
    return at


def assert_readable(at: AppTest, page: str) -> None:
    """No displayed table has a raw identifier as a header or a cell reading "None"."""
    problems = [f"table {i + 1}: {p}" for i, frame in enumerate(displayed_tables(at)) for p in developer_text(frame)]
    assert not problems, f"{page}: " + "; ".join(problems)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role,extract", [("unblinded", SAMPLE_UNBLINDED), ("blinded", SAMPLE_UNBLINDED),
                                          ("blinded", SAMPLE_BLINDED)])
def test_page_renders_sample_trial(monkeypatch, page, role, extract):
    at = _run(monkeypatch, extract, role, page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and at.title[0].value
    assert_readable(at, page)
    text = _rendered_text(at)
    if role == "blinded":
        for label in ARM_LABELS["sample"]:
            assert label not in text, f"{label!r} visible on {page} in the blinded role"
        assert "BLINDED" in text
    else:
        assert "UNBLINDED" in text


@pytest.mark.pilot
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["unblinded", "blinded"])
def test_page_renders_cdisc_pilot(monkeypatch, page, role):
    if not PILOT.exists():
        pytest.skip(f"CDISC pilot not found at {PILOT} (../shared is absent)")
    at = _run(monkeypatch, PILOT, role, page)
    assert not at.exception, [e.value for e in at.exception]
    assert_readable(at, page)
    if role == "blinded":
        text = _rendered_text(at)
        for label in ARM_LABELS["pilot"]:
            assert label not in text, f"{label!r} visible on {page} in the blinded role"


def test_unusable_extract_is_one_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("DSMB_EXTRACT", str(tmp_path / "missing"))
    monkeypatch.setenv("DSMB_ROLE", "blinded")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "cannot be opened" in at.error[0].value and "no such file" in at.error[0].value


def test_active_filter_shows_subjects_shown_over_total(monkeypatch):
    monkeypatch.setenv("DSMB_EXTRACT", str(SAMPLE_UNBLINDED))
    monkeypatch.setenv("DSMB_ROLE", "unblinded")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert at.multiselect(key="flt_sex").options == ["F", "M"]
    # AppTest reruns a page without the router, so the filter the sidebar would build is set directly.
    at.session_state["dsmb_spec"] = FilterSpec(sexes=("F",))
    at.switch_page("pages/baseline.py").run()
    assert not at.exception
    info = " ".join(i.value for i in at.info)
    assert "Sex: F" in info and "Subjects shown / total:" in info and "Placebo" in info and "/ 18" in info
