"""Validation findings: one row per problem, traced to file, row, subject and column.

Pandera's lazy ``SchemaErrors.failure_cases`` become :class:`Finding` rows here, worded for
a data manager ("expected one of ['Y', 'N']"), never as a traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

import pandas as pd
import pandera.pandas as pa

from data_contracts.base import describe_check

#: Row-level findings either reject the row ("quarantined") or keep it with a flag ("flagged").
#: The policy (docs/definitions.md, "Safety-record policy"): a row is quarantined only when it
#: cannot be used at all: its subject or key is missing or unparseable (the contract's
#: ``identity_columns``), it is a duplicate of another record, or its subject is not in ADSL
#: (:data:`QUARANTINE_CHECKS`). Any other failure flags the row: it is loaded, the value mapped
#: by a stated rule (``DomainContract.value_maps``, case, YES/NO) or set missing, and the
#: finding's ``loaded_as`` says what was loaded.
QUARANTINED = "quarantined"
FLAGGED = "flagged"
QUARANTINE_CHECKS = frozenset({"duplicate_record", "unknown_subject"})

#: Column that a dataframe-wide check is about, for messages.
DATAFRAME_CHECK_COLUMN = {
    ("ADSL", "end_before_start"): ("TRTEDT", "a treatment end date on or after TRTSDT"),
    ("ADAE", "end_before_start"): ("AENDT", "an end date on or after the start date ASTDT"),
    ("ADEX", "end_before_start"): ("AENDT", "an end date on or after ASTDT"),
    ("ADLB", "range_inverted"): ("ANRLO", "a lower reference limit not above ANRHI"),
    ("ADLB", "negative_value"): ("AVAL", "a non-negative result for a measured analyte"),
}

FINDING_COLUMNS = ["domain", "file", "row", "usubjid", "column", "check", "value", "message", "action", "loaded_as"]


@dataclass(frozen=True)
class Finding:
    """One problem in one record (``row`` is the 1-based record number in ``file``; None for
    problems that are about an absence, such as a missing visit)."""

    domain: str
    file: str
    row: int | None
    usubjid: str | None
    column: str | None
    check: str
    value: str | None
    message: str
    action: str = QUARANTINED
    #: flagged rows: the value loaded instead ("" when loaded as missing); None when unchanged
    loaded_as: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def format_value(value) -> str | None:
    """The offending value as text ("" stays visible as an empty string)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def finding_message(file: str, column: str | None, row: int | None, usubjid: str | None,
                    value: str | None, expected: str) -> str:
    """``adlb.csv: column AVAL, row 212 (USUBJID=01-003): value "abc"; expected a number.``"""
    where = [f"column {column}"] if column else []
    if row is not None:
        where.append(f"row {row}")
    loc = f"{file}: {', '.join(where)}" if where else file
    if usubjid:
        loc += f" (USUBJID={usubjid})"
    shown = "missing" if value is None else f'"{value}"'
    return f"{loc}: value {shown}; expected {expected}."


def findings_from_schema_errors(err: pa.errors.SchemaErrors, frame: pd.DataFrame, domain: str,
                                file: str) -> list[Finding]:
    """Turn pandera's lazy failure cases into findings, one per failing row and check.

    ``frame`` must carry ``SRC_ROW`` (the record number in the source file) and ``USUBJID``.
    """
    cases = err.failure_cases
    out: list[Finding] = []
    seen: set[tuple] = set()
    for case in cases.itertuples(index=False):
        index = case.index
        if index is None or (isinstance(index, float) and pd.isna(index)):
            continue
        check = str(case.check)
        column = case.column if isinstance(case.column, str) else None
        expected = describe_check(check, "")
        if (domain, check) in DATAFRAME_CHECK_COLUMN:
            column, expected = DATAFRAME_CHECK_COLUMN[(domain, check)]
        key = (index, check, column)
        if key in seen:
            continue
        seen.add(key)
        row = frame.loc[index]
        value = format_value(row[column]) if column and column in frame.columns else format_value(case.failure_case)
        usubjid = format_value(row.get("USUBJID"))
        src_row = int(row["SRC_ROW"])
        check_key = _check_key(check)
        out.append(Finding(domain, file, src_row, usubjid, column, check_key, value,
                           finding_message(file, column, src_row, usubjid, value, expected)))
    return out


def _check_key(check: str) -> str:
    """Stable check keys for exports: pandera's parameterised names become a short key."""
    if check.startswith("isin"):
        return "not_in_value_set"
    if check.startswith(("greater_than", "less_than", "in_range")):
        return "out_of_range"
    if check == "not_nullable":
        return "missing_value"
    if check.startswith("str_length"):
        return "missing_value"
    return check


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a frame with the public column order."""
    rows = [f.as_dict() for f in findings]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)
