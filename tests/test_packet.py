"""The meeting packet as PDF: built once per role per session through the CLI, then read back with
poppler's ``pdftotext`` / ``pdfinfo`` (the text a reader, or a search, would find)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dashboard import registry
from dashboard.filters import FilterSpec
from dashboard.load import load_extract
from dashboard.packet import CHART_DATA_ONLY, CLOSED_LABEL, OPEN_LABEL

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = {"unblinded": ROOT / "sample_data" / "nct04562025_unblinded",
          "blinded": ROOT / "sample_data" / "nct04562025_blinded"}
#: What a blinded reader must never find: the arm labels, the product/dose term, per-arm denominators.
ARM_TERMS = ("UC-MSC 1x10^6 cells/kg", "Placebo", "cells/kg", "1x10^6", "(N=19)", "(N=18)")

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")


def _text(pdf: Path, layout: bool = False) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


@pytest.fixture(scope="session")
def packets(tmp_path_factory):
    """``{role: pdf path}``: ``python -m dashboard report SAMPLE --role R --out packet.pdf``."""
    from dashboard.cli import main

    out = tmp_path_factory.mktemp("packets")
    paths = {}
    for role, extract in SAMPLE.items():
        path = out / f"packet_{role}.pdf"
        assert main(["report", str(extract), "--role", role, "--out", str(path)]) == 0
        paths[role] = path
    return paths


@needs_poppler
def test_report_writes_a_pdf_not_html(packets):
    for path in packets.values():
        assert path.read_bytes()[:5] == b"%PDF-"


@needs_poppler
def test_closed_packet_title_page_toc_and_running_header(packets):
    pdf = packets["unblinded"]
    pages = _text(pdf).split("\f")[:-1]
    assert len(pages) == _pages(pdf)
    title = pages[0]
    for must in ("CLOSED REPORT", "CONFIDENTIAL", "NCT04562025", "Data cut", "2022-08-23", "Report date",
                 "Software version", "Extract fingerprint", "Prepared by"):
        assert must in title, must
    assert "Contents" in pages[1] and "Table 1.1. Key numbers" in pages[1]
    label_start = CLOSED_LABEL.split(":")[0]
    for number, page in enumerate(pages, start=1):
        assert label_start in page, f"page {number} has no confidentiality header"
        assert f"Page {number} of {len(pages)}" in page, f"page {number} has no 'page x of y' footer"


@needs_poppler
def test_closed_packet_numbers_every_registered_table_in_page_order(packets):
    text = re.sub(r"\s+", " ", _text(packets["unblinded"]))
    body = text[text.index("1. Executive summary", text.index("Contents") + 200):]
    position = 0
    for entry in registry.tables_for(None, "unblinded"):
        if not entry.packet or not entry.exportable or entry.name in CHART_DATA_ONLY:
            continue
        match = re.search(r"Table (\d+|A)\.(\d+)\. " + re.escape(entry.title), body)
        assert match, f"{entry.name}: no numbered title"
    for section, title in enumerate(["Executive summary", "Enrollment & disposition", "Exposure"], start=1):
        found = body.index(f"{section}. {title}", position)
        assert found >= position
        position = found
    assert "Appendix: full listings" in body and "Figure 2.1. Enrollment by month" in body


@needs_poppler
def test_closed_packet_has_no_placeholder_or_raw_internals(packets):
    text = _text(packets["unblinded"])
    for bad in ("Pick one parameter", "-inf", "visit_order", "First 300", "usubjid", "SRC_ROW", "Traceback"):
        assert bad not in text, bad


@needs_poppler
def test_closed_packet_key_numbers_equal_the_registry(packets):
    lines = _text(packets["unblinded"], layout=True).splitlines()
    con, _ = load_extract(SAMPLE["unblinded"], "unblinded")
    try:
        shown = registry.display("key_numbers", registry.compute("key_numbers", con, FilterSpec(), "unblinded"))
    finally:
        con.close()
    assert list(shown.columns) == ["Subjects", "Placebo (N=19)", "UC-MSC 1x10^6 cells/kg (N=19)", "Total (N=38)"]
    start = next(i for i, x in enumerate(lines) if x.strip() == "Table 1.1. Key numbers")  # not the contents line
    table = lines[start + 1:start + 2 + len(shown)]
    assert table[0].split() == " ".join(shown.columns).split()
    for line, row in zip(table[1:], shown.itertuples(index=False)):
        assert line.split() == " ".join(row).split(), line


@needs_poppler
def test_open_packet_holds_no_arm_label_product_term_or_per_arm_count(packets):
    text = _text(packets["blinded"])
    assert OPEN_LABEL in text.replace("\n", " ") and "CLOSED REPORT" not in text
    for term in ARM_TERMS:
        assert term not in text, term
    assert "Risk difference" not in text


def test_report_refuses_an_unknown_format(run_cli, tmp_path):
    code, out, err = run_cli("report", SAMPLE["blinded"], "--role", "blinded", "--out", tmp_path / "packet.docx")
    assert code == 2
    assert "packet.docx" in err and ".pdf or .html" in err and "Traceback" not in err


def test_report_refuses_a_cut_after_the_extract(run_cli, tmp_path):
    code, _, err = run_cli("report", SAMPLE["blinded"], "--role", "blinded", "--out", tmp_path / "p.pdf",
                           "--data-cut", "2030-01-01")
    assert code == 2 and "after the extract's data cut 2022-08-23" in err
