"""What every AppTest page check reads: the tables a page displays, in page order, and the two
signs of developer text in them (a raw identifier as a header, the word "None" in a cell)."""

from __future__ import annotations

import re

import pandas as pd
from streamlit.testing.v1 import AppTest

#: snake_case or SRC_FILE-style names, and single lower-case words such as usubjid or arm.
RAW_HEADER = re.compile(r"^[A-Za-z0-9]+(_[A-Za-z0-9]+)+$|^[a-z][a-z0-9]*$")
#: ADaM variable names that are not words a board reads (AE, SOC, PT, ALT are fine).
RAW_CDISC = {"USUBJID", "SUBJID", "STUDYID", "PARAMCD", "PARAM", "AVAL", "AVALU", "AVISIT", "AVISITN", "ADT", "ADY",
             "ANRLO", "ANRHI", "ABLFL", "AESEQ", "AEDECOD", "AEBODSYS", "AETERM", "AESEV", "AESER", "AEREL", "AEOUT",
             "AEACN", "ASTDT", "AENDT", "TRTEMFL", "EXSEQ", "EXTRT", "EXDOSE", "EXOCCUR", "TRTSDT", "TRTEDT"}
MISSING_TEXT = {"None", "nan", "NaN", "NaT", "<NA>"}


def displayed_tables(at: AppTest) -> list[pd.DataFrame]:
    """Every ``st.dataframe`` and ``st.table`` in the main area, in the order the page shows them."""
    found: list[pd.DataFrame] = []

    def walk(node) -> None:
        if getattr(node, "type", None) in ("dataframe", "table"):
            found.append(node.value)
            return
        for index in sorted(getattr(node, "children", {}) or {}):
            walk(node.children[index])

    walk(at.main)
    return found


def developer_text(frame: pd.DataFrame) -> list[str]:
    """Raw identifiers among the headers and cells that read "None" (or nan/NaT)."""
    problems = [f"raw header {c!r}" for c in map(str, frame.columns) if RAW_HEADER.match(c) or c in RAW_CDISC]
    for col in frame.columns:
        cells = frame[col].map(lambda v: v is None or str(v) in MISSING_TEXT)
        if cells.any():
            problems.append(f"column {col!r}: {int(cells.sum())} cell(s) read None")
    return problems
