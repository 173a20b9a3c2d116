"""Readable column headers: the one mapping from a result column's name to the label a reader sees.

Tidy frames keep their stable names (``usubjid``, ``SRC_ROW``: the export's public columns);
display tables, the meeting packet and any page that shows a tidy frame use
:func:`column_label` / :func:`readable_columns` so a column is called the same everywhere.
Names not listed fall back to a sentence-case rendering of the name (``rows_read`` ->
``Rows read``); display frames whose headers are already words pass through unchanged.
"""

from __future__ import annotations

import pandas as pd

#: Column name -> header label. CDISC names map to their plain meaning.
COLUMN_LABELS: dict[str, str] = {
    "usubjid": "Subject", "USUBJID": "Subject",
    "arm": "Arm",
    "pt": "Preferred term", "AEDECOD": "Preferred term",
    "soc": "System organ class", "AEBODSYS": "System organ class",
    "astdt": "Start", "ASTDT": "Start", "aendt": "End", "AENDT": "End",
    "aesev": "Severity", "AESEV": "Severity",
    "aeout": "Outcome", "AEOUT": "Outcome",
    "aeser": "Serious", "AESER": "Serious",
    "aetoxgr": "Grade", "AETOXGR": "Grade",
    "aeseq": "AE seq", "AESEQ": "AE seq",
    "SRC_FILE": "Source file", "SRC_ROW": "Source row",
    "topic": "Topic", "item": "Item", "count": "Count", "page": "See page",
    "infusion": "Infusion", "planned_day": "Planned day", "actual_day": "Actual day",
    "delay_days": "Delay (days)", "status": "Status", "reason": "Reason",
    "domain": "Domain", "file": "File", "format": "Format", "sha256": "SHA-256",
    "rows_read": "Rows read", "rows_accepted": "Rows accepted", "rows_quarantined": "Rows quarantined",
    "findings_quarantined": "Findings (quarantined)", "findings_flagged": "Findings (flagged)",
    "findings": "Findings", "subjects": "Subjects", "check": "Check", "action": "Action",
    "row": "Row", "column": "Column", "value": "Value", "message": "Message",
    "data_cut": "Data cut", "role": "Role", "load_time": "Loaded at", "rule": "Rule", "detail": "Detail",
    "paramcd": "Parameter code", "param": "Parameter", "unit": "Unit", "visit": "Visit",
    "adt": "Date", "aval": "Value", "chg": "Change", "anrlo": "Reference low", "anrhi": "Reference high",
    "group": "Group", "n": "n", "N": "N", "pct": "%",
    "measure": "Measure", "previous": "Previous extract", "current": "This extract", "change": "Change",
    "kind": "Change", "key": "Record key", "category": "Category", "date": "Date", "first_seen": "First in extract",
    "eosstt": "End-of-study status", "dcsreas": "Reason for discontinuation", "dthdt": "Date of death",
    "randdt": "Randomized", "entry_date": "Entered",
}


def column_label(name) -> str:
    """The header a reader sees for column ``name``."""
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    if "_" in text or (text.islower() and text.isidentifier()):
        words = text.replace("_", " ").strip()
        return words[:1].upper() + words[1:]
    return text


def readable_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column renamed to its header label (values untouched)."""
    return frame.rename(columns={c: column_label(c) for c in frame.columns})
