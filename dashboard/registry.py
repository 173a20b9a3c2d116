"""The registry: every table and chart the product shows, defined once.

Pages, downloads, ``python -m dashboard export``, the meeting packet and the tests all read
:data:`TABLES`, so a number can never differ between the screen and a file. An entry names
the pure analysis ``compute(con, spec) -> tidy frame``, an optional ``display(frame) -> wide
frame`` (what the page shows and the downloads contain) and optional ``charts``
(``chart(frame) -> alt.Chart``), the page that shows it and the roles that may see it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboard.blinding import POOLED_ARM, Role
from dashboard.filters import TOTAL_ARM, FilterSpec
from dashboard.formatting import blank_missing
from dashboard.labels import label_columns, without_source

from dashboard.analyses import (
    adverse_events, baseline, changes, data_quality, enrollment, exposure, labs, overview, renal, subject,
)
from dashboard.tables import BOTH_ROLES, PAGES, UNBLINDED_ONLY, NotInExtract, TableSpec  # noqa: F401 (re-exported)


#: Every registered table by name, in registration order (filled below, at import).
TABLES: dict[str, TableSpec] = {}


def register(spec: TableSpec) -> TableSpec:
    """Add one table to :data:`TABLES` (each analysis module's ``register(add)`` calls this)."""
    if spec.name in TABLES:
        raise ValueError(f"table {spec.name!r} is registered twice")
    if spec.page not in PAGES:
        raise ValueError(f"table {spec.name!r}: unknown page {spec.page!r}")
    TABLES[spec.name] = spec
    return spec


#: The analysis modules whose ``register(add)`` contributes tables, in page order.
ANALYSIS_MODULES = (overview, changes, enrollment, exposure, baseline, adverse_events, renal, labs, data_quality)
for _module in ANALYSIS_MODULES:
    _module.register(register)


def tables_for(page: str | None = None, role: Role | str = Role.BLINDED) -> list[TableSpec]:
    """Registered tables a role may see, optionally of one page, in display order."""
    role = Role.parse(role)
    return sorted((t for t in TABLES.values() if t.allowed(role) and (page is None or t.page == page)),
                  key=lambda t: (t.order, t.name))


def compute(name: str, con: duckdb.DuckDBPyConnection, spec: FilterSpec, role: Role | str) -> pd.DataFrame:
    """Run a registered table for a role, checking on the way out that blinding holds."""
    table = TABLES[name]
    role = Role.parse(role)
    if not table.allowed(role):
        raise PermissionError(f"table {name!r} is not available in the {role.value} role")
    frame = table.compute(con, spec.for_role(role))
    if role is Role.BLINDED:
        assert_pooled(frame, name)
    return frame


def subjects_behind(con: duckdb.DuckDBPyConnection, spec: FilterSpec, table: str, row: dict,
                    role: Role | str = Role.BLINDED) -> pd.DataFrame:
    """The subjects counted in one row of a registered table (``row`` names it by its key columns,
    e.g. ``{"metric": "any_teae"}``), for a role: ``usubjid`` and, in the unblinded role only,
    ``arm``; sorted by subject id in both roles, so the order says nothing about the arm. Raises
    NotInExtract when the row's number is not available, ValueError for a table without a
    drill-down (:attr:`TableSpec.subjects`)."""
    entry = TABLES[table]
    role = Role.parse(role)
    if not entry.allowed(role):
        raise PermissionError(f"table {table!r} is not available in the {role.value} role")
    if entry.subjects is None:
        raise ValueError(f"table {table!r} has no subject drill-down")
    frame = entry.subjects(con, spec.for_role(role), dict(row))
    note = frame.attrs.get("note", "")
    if role is Role.BLINDED:
        assert_pooled(frame, table)
        frame = frame[["usubjid"]]
    else:
        frame = frame[["usubjid", "arm"]]
    out = frame.sort_values("usubjid", kind="stable").reset_index(drop=True)
    out.attrs = {"note": note} if note else {}
    return out


#: The columns of :func:`records_behind`, by role.
RECORD_COLUMNS = {Role.BLINDED: ["usubjid", "file", "row", "detail"],
                  Role.UNBLINDED: ["usubjid", "arm", "file", "row", "detail"]}


def records_behind(con: duckdb.DuckDBPyConnection, spec: FilterSpec, table: str, row: dict,
                   role: Role | str = Role.BLINDED) -> pd.DataFrame | None:
    """The source records counted in one row of a registered table (one per record: ``usubjid``,
    ``file``, ``row``, ``detail`` and, in the unblinded role only, ``arm``), in file order; None
    when the row counts subjects, not records, or the table has no record drill-down. The blinded
    role's row numbers are the blinded load's (in subject order, never the file's order by arm)."""
    entry = TABLES[table]
    role = Role.parse(role)
    if not entry.allowed(role):
        raise PermissionError(f"table {table!r} is not available in the {role.value} role")
    if entry.records is None:
        return None
    frame = entry.records(con, spec.for_role(role), dict(row))
    if frame is None:
        return None
    if role is Role.BLINDED:
        assert_pooled(frame, table)
    return frame[RECORD_COLUMNS[role]].reset_index(drop=True)


#: The subject profile's views: name -> ``view(con, usubjid, blinded)``.
SUBJECT_VIEWS = {
    "summary": subject.subject_summary,
    "adverse_events": lambda con, usubjid, blinded: subject.subject_adverse_events(con, usubjid),
    "exposure": lambda con, usubjid, blinded: subject.subject_exposure(con, usubjid),
    "dosing_days": lambda con, usubjid, blinded: subject.subject_dosing_days(con, usubjid),
    "labs": lambda con, usubjid, blinded: subject.subject_labs(con, usubjid),
    "findings": lambda con, usubjid, blinded: subject.subject_findings(con, usubjid),
    "demographics": lambda con, usubjid, blinded: subject.subject_demographics(con, usubjid),
}


def subject_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every subject id of the extract (ADSL), sorted."""
    return subject.subject_ids(con)


def subject_view(name: str, con: duckdb.DuckDBPyConnection, usubjid: str, role: Role | str):
    """One view of one subject's record (:data:`SUBJECT_VIEWS`) for a role: the summary names the
    arm in the unblinded role only."""
    return SUBJECT_VIEWS[name](con, usubjid, Role.parse(role) is Role.BLINDED)


def display(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """What the page shows (and the downloads hold) for a computed frame: the display wrapper's
    table with board-readable headers (``labels.column_label``) and empty cells for missing."""
    entry = TABLES[name]
    shown = entry.display(frame) if entry.display else frame
    if entry.page != "data_quality":  # source file and row belong to the data-quality views
        shown = without_source(shown)
    return blank_missing(label_columns(shown))


def notes(frame: pd.DataFrame, shown: pd.DataFrame) -> list[str]:
    """The distinct notes of a computed frame (which ADEX form was counted, what a "not available"
    count needs) for a caption, when the displayed table does not carry them in a Note column."""
    if "note" not in frame.columns or "Note" in shown.columns:
        return []
    return [n for n in dict.fromkeys(frame["note"].dropna().astype(str)) if n.strip()]


def assert_pooled(frame: pd.DataFrame, name: str = "") -> None:
    """Fail loudly if a blinded result carries anything but the pooled arm."""
    if "arm" in frame.columns:
        values = set(frame["arm"].dropna().astype(str)) - {POOLED_ARM, TOTAL_ARM}
        if values:
            raise RuntimeError(f"blinding check failed for {name}: arm values present in a blinded result")
