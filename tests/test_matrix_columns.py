"""The matrix, last row: the sample with each optional contract column removed in turn.

Its own file (pytest-xdist gives each file a worker, and this row is as long as the rest of the
matrix in ``test_matrix.py``). Every table that reads the column is computed, displayed and
charted on the loaded sample with that column emptied; it may say "not in this extract" or come
back empty, never raise.
"""

from __future__ import annotations

import contextlib
import re

import pandas as pd
import pytest

from dashboard import db, registry
from dashboard.filters import FilterSpec
from test_matrix import SAMPLE, table_failures

#: Analysis records built once per filter live in these databases or schemas (``dashboard.records``,
#: the AE records): a table reading them reads every column of their source domains.
RECORD_STORES = r"\b(analysis_records|ae_cache)\."


def _optional_columns() -> list[tuple[str, str]]:
    """(domain, column) for every optional contract column the sample's files carry."""
    from data_contracts import CONTRACTS

    out = []
    for name, contract in CONTRACTS.items():
        path = SAMPLE / f"{contract.file_stems[0]}.csv"
        if path.exists():
            header = pd.read_csv(path, nrows=0).columns
            out += [(name, c) for c in header if c in contract.columns and c not in contract.required_columns]
    return out


@pytest.fixture(scope="session")
def sql_reads():
    """The SQL each registered table runs on the full sample (traced once through ``db.run``), to
    tell which tables can see a column."""
    from dashboard.load import load_extract

    con, _ = load_extract(SAMPLE, "unblinded")
    texts: dict[str, str] = {}
    current: list[str] = []
    real_run = db.run

    def tracing_run(c, sql, params=None):
        current.append(sql)
        return real_run(c, sql, params)

    from dashboard import records

    real_records_table = records.records_table

    def tracing_records_table(c, name, *args, **kwargs):  # records read through their own cursor
        current.append(f"analysis_records.{name}")
        return real_records_table(c, name, *args, **kwargs)

    db.run = tracing_run
    records.records_table = tracing_records_table
    try:
        for entry in registry.tables_for(None, "unblinded"):
            current.clear()
            with contextlib.suppress(Exception):
                registry.compute(entry.name, con, FilterSpec(), "unblinded")
            texts[entry.name] = " ".join(current)
    finally:
        db.run = real_run
        records.records_table = real_records_table
    yield con, texts
    con.close()


def _reads(text: str, domain: str, column: str) -> bool:
    """True when SQL text reads ``column`` of ``domain``: it names the domain's table (for ADSL also
    the ``population`` macro or ``subjects`` view built on it) and the column (any case: the
    population carries ADSL columns under lower-case names such as ``trtsdt``), or selects ``*`` from it."""
    if re.search(RECORD_STORES, text, re.IGNORECASE):
        return True
    tables = ["adsl", "population", "subjects"] if domain == "ADSL" else [domain.lower()]
    if not any(re.search(rf"\b{t}\b", text, re.IGNORECASE) for t in tables):
        return False
    star = rf"\*\s*(EXCLUDE\s*\([^)]*\)\s*)?FROM\s+{domain.lower()}\b"
    return bool(re.search(rf"\b{column}\b", text, re.IGNORECASE) or re.search(star, text, re.IGNORECASE))


SUBJECT_LEVEL = ("ADSL", "ADEX")  # one class each half, so pytest-xdist (--dist loadscope) runs them side by side


@pytest.mark.slow
class TestSubjectLevelAndExposureColumns:
    @pytest.mark.parametrize("domain,column", [dc for dc in _optional_columns() if dc[0] in SUBJECT_LEVEL],
                             ids=lambda v: str(v))
    def test_tables_compute_without_each_optional_column(self, sql_reads, domain, column):
        _check_without_column(sql_reads, domain, column)


@pytest.mark.slow
class TestEventAndFindingsColumns:
    @pytest.mark.parametrize("domain,column", [dc for dc in _optional_columns() if dc[0] not in SUBJECT_LEVEL],
                             ids=lambda v: str(v))
    def test_tables_compute_without_each_optional_column(self, sql_reads, domain, column):
        _check_without_column(sql_reads, domain, column)


def _check_without_column(sql_reads, domain: str, column: str) -> None:
    """The loader adds an optional contract column the file lacks as an empty column
    (``load._finalise_table``), so the variant is the loaded sample with that column emptied; the
    tables whose SQL reads the column (:func:`_reads`, traced on the full sample) are computed, since
    no other table can see the change. The column is restored afterwards."""
    con, texts = sql_reads
    names = {name for name, text in texts.items() if _reads(text, domain, column)}
    table = domain.lower()
    con.execute(f'CREATE TEMP TABLE _keep AS SELECT * FROM "{table}"')
    try:
        con.execute(f'UPDATE "{table}" SET "{column}" = NULL')
        assert table_failures(con, "unblinded", FilterSpec(), names) == []
    finally:
        con.execute(f'DELETE FROM "{table}"')
        con.execute(f'INSERT INTO "{table}" SELECT * FROM _keep')
        con.execute("DROP TABLE _keep")
