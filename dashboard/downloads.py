"""The files behind a page's download buttons: the table shown, headed by who may read it.

A CSV starts with ``#`` header rows (study, data cut, role and confidentiality line, filter,
extract fingerprint, download time); an Excel workbook has a cover sheet with the same lines
before the table's sheet. Pure functions: no streamlit.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd

from dashboard.blinding import Role


def session_label(role: Role | str) -> str:
    """The confidentiality line of every file a role takes out of the product."""
    if Role.parse(role) is Role.UNBLINDED:
        return "CLOSED SESSION - UNBLINDED - CONFIDENTIAL: DSMB members and the independent statistician only"
    return "OPEN SESSION - BLINDED - pooled data only"


def provenance_lines(title: str, study: dict, role: Role | str, fingerprint: str, filters: list[str],
                     now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """``(label, value)`` pairs heading a downloaded table."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return [("Table", title), ("Study", str(study.get("study_id") or "")),
            ("Data cut", str(study.get("data_cut") or "")), ("Role", Role.parse(role).value),
            ("Confidentiality", session_label(role)), ("Filter", "; ".join(filters)),
            ("Extract fingerprint", fingerprint), ("Downloaded", now.strftime("%Y-%m-%d %H:%M UTC"))]


def csv_bytes(shown: pd.DataFrame, lines: list[tuple[str, str]]) -> bytes:
    """The table as UTF-8 CSV after one ``# label: value`` row per provenance line."""
    head = "".join(f"# {label}: {value}\n" for label, value in lines)
    return (head + shown.to_csv(index=False)).encode("utf-8")


def xlsx_bytes(shown: pd.DataFrame, sheet: str, lines: list[tuple[str, str]]) -> bytes:
    """An Excel workbook: a cover sheet with the provenance lines, then the table."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as xl:
        pd.DataFrame(lines, columns=["Item", "Value"]).to_excel(xl, sheet_name="Cover", index=False)
        xl.sheets["Cover"].set_column(0, 0, 22)
        xl.sheets["Cover"].set_column(1, 1, 100)
        shown.to_excel(xl, sheet_name=(sheet[:31] if sheet[:31] != "Cover" else "Table"), index=False)
    return buf.getvalue()
