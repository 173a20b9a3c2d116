"""Column headers a board reads: one mapping from a column name (tidy or CDISC) to its label.

Every table a page shows, a download holds or the packet prints goes through
:func:`label_columns` (``registry.display`` calls it), so a raw identifier such as ``usubjid``,
``rows_read`` or ``SRC_FILE`` never reaches a screen. Tidy frames and ``python -m dashboard
export`` keep their column names (a public interface); only what is displayed is relabelled.
"""

from __future__ import annotations

import re

import pandas as pd

#: Column name -> header. CDISC names keep their meaning; tidy names are the analyses' own.
COLUMN_LABELS: dict[str, str] = {
    # subjects and arms
    "usubjid": "Subject", "USUBJID": "Subject", "SUBJID": "Subject number", "siteid": "Site", "SITEID": "Site",
    "arm": "Arm", "ARM": "Arm", "ANLARM": "Arm", "TRT01A": "Actual treatment", "TRT01P": "Planned treatment",
    "TRTA": "Actual treatment", "sex": "Sex", "SEX": "Sex", "age": "Age (years)", "AGE": "Age (years)",
    "RACE": "Race", "ETHNIC": "Ethnicity", "COUNTRY": "Country",
    "n": "Subjects (n)", "N": "Subjects (N)", "pct": "%", "low": "Low", "high": "High",
    # provenance and validation
    "domain": "Domain", "file": "File", "format": "Format", "sha256": "SHA-256", "row": "Row",
    "rows_read": "Rows read", "rows_accepted": "Rows loaded", "rows_quarantined": "Rows quarantined",
    "findings_quarantined": "Findings (row quarantined)", "findings_flagged": "Findings (row flagged)",
    "findings": "Findings", "subjects": "Subjects", "data_cut": "Data cut", "role": "Role",
    "load_time": "Loaded at", "column": "Column", "check": "Check", "value": "Value", "message": "Message",
    "action": "Action", "rule": "Rule", "detail": "Detail", "source": "Source", "rows_affected": "Rows affected",
    "loaded_as": "Loaded as", "variable": "Variable", "status": "Status", "SRC_FILE": "Source file", "SRC_ROW": "Source row",
    # overview
    "topic": "Topic", "item": "What needs attention", "count": "Count", "page": "Page",
    # exposure
    "infusion": "Infusion", "planned_day": "Planned day", "actual_day": "Actual day", "delay_days": "Delay (days)",
    "reason": "Reason",
    # adverse events
    "pt": "Preferred term", "soc": "System organ class", "astdt": "Start date", "aesev": "Severity",
    "aeout": "Outcome", "AESEQ": "AE no.", "AEBODSYS": "System organ class", "AEDECOD": "Preferred term",
    "AETERM": "Reported term", "ASTDT": "Start date", "AENDT": "End date", "AESEV": "Severity",
    "AETOXGR": "CTCAE grade", "AESER": "Serious", "AEREL": "Relationship", "AEACN": "Action taken",
    "AEOUT": "Outcome", "TRTEMFL": "Treatment-emergent", "start_study_day": "Study day (onset)",
    "end_study_day": "Study day (end)",
    # exposure records (ADEX)
    "EXSEQ": "Administration no.", "EXTRT": "Treatment", "EXDOSE": "Dose", "EXDOSU": "Dose unit",
    "EXOCCUR": "Given", "EXROUTE": "Route", "ASTDY": "Study day", "AENDY": "End study day",
    "EXREASND": "Reason not given", "EXSTDTC": "Start", "EXENDTC": "End", "AVISIT": "Visit", "AVISITN": "Visit number",
    # labs
    "group": "Group", "paramcd": "Parameter code", "param": "Parameter", "unit": "Unit", "visit": "Visit",
    "visit_order": "Visit order", "adt": "Date", "aval": "Value", "chg": "Change from baseline",
    "anrlo": "Lower limit", "anrhi": "Upper limit", "category": "Category", "PARAMCD": "Parameter code",
    "PARAM": "Parameter", "ADT": "Date", "ADY": "Study day", "AVAL": "Value", "AVALU": "Unit",
    "ANRLO": "Lower limit", "ANRHI": "Upper limit", "ABLFL": "Baseline record",
    # subject-level (ADSL) record
    "STUDYID": "Study", "SAFFL": "Safety population", "ITTFL": "ITT population",
    "RANDFL": "Randomized", "RANDDT": "Randomization date", "TRTSDT": "First dose", "TRTEDT": "Last dose",
    "EOSSTT": "Study status", "DCSREAS": "Reason for discontinuation", "EGFRBL": "Baseline eGFR",
    "ANLARMN": "Arm order",
    # changes since the previous cut
    "measure": "Measure", "previous": "Previous extract", "current": "This extract", "change": "Change",
    "kind": "Change", "key": "Record key", "date": "Date", "first_seen": "First in extract",
    "eosstt": "End-of-study status", "dcsreas": "Reason for discontinuation", "dthdt": "Date of death",
    "randdt": "Randomized", "entry_date": "Entered",
}


#: Source-row columns every loaded record carries: shown on Data quality, left off clinical tables.
SOURCE_COLUMNS = ("SRC_FILE", "SRC_ROW")


def without_source(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the loader's source-row columns (file and row of each record)."""
    drop = [c for c in SOURCE_COLUMNS if c in frame.columns]
    return frame.drop(columns=drop) if drop else frame


def column_label(name) -> str:
    """The header for a column name. An unlisted identifier (``rows_read``) is shown in sentence case
    (``Rows read``); anything else is shown as it is (already a label)."""
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    if "_" in text or (text.islower() and text.isidentifier()):
        words = text.replace("_", " ").strip()
        return words[:1].upper() + words[1:]
    return text


def label_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column header passed through :func:`column_label`."""
    taken = {str(c) for c in frame.columns}
    renamed = {}
    for c in frame.columns:
        label = column_label(c)
        if label != c and label not in taken:  # never make two columns with one header
            renamed[c] = label
            taken.add(label)
    return frame.rename(columns=renamed) if renamed else frame


def table_title(title: str, blinded: bool) -> str:
    """A table's title for the role: the blinded role sees pooled data, so "by arm" is dropped."""
    if not blinded:
        return title
    return re.sub(r",?\s+(by|per) arm\b", "", title)

