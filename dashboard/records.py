"""Analysis records built once per (connection, filter) as DuckDB tables, and read by every table.

A records builder writes one table into the schema :data:`SCHEMA` of the connection's database,
named by a hash of what the records depend on (the builder's kind and version, the filter's
population fields and the options it reads), so two filters never share a table and a second
table with the same filter reads the first one's records. The connection may be shared by
Streamlit sessions on their own threads (each with a cursor), so a table is created under a
process-wide lock with ``CREATE TABLE IF NOT EXISTS``: a second caller waits and then reads.
A read-only database cannot hold them; there the records are built on the caller's cursor as a
temporary table (visible to that cursor only) and dropped after the read.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Callable

import duckdb
import pandas as pd

from dashboard.filters import FilterSpec

SCHEMA = "analysis_records"
_LOCK = threading.Lock()


def spec_key(kind: str, version: int, spec: FilterSpec, options: dict | None = None) -> str:
    """Table name for ``kind`` records of a filter: ``<kind>_<sha256 of the inputs, 16 hex>``.

    Only the population fields of ``spec`` and ``options`` (the option values the records read,
    normalised by the caller, e.g. no parameter list and an empty one alike) enter the key: a
    table option the records do not read (e.g. a Hy's law window) must not rebuild them."""
    parts = (kind, version, spec.population, spec.sexes, spec.age_groups, spec.egfr_categories, spec.arms,
             spec.data_cut.isoformat() if spec.data_cut else None, sorted((options or {}).items()))
    return f"{kind}_{hashlib.sha256(repr(parts).encode()).hexdigest()[:16]}"


def _exists(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
                            {"s": SCHEMA, "t": name}).fetchall()[0][0])


def records_table(con: duckdb.DuckDBPyConnection, name: str,
                  build: Callable[[duckdb.DuckDBPyConnection, str], None],
                  read: str = "SELECT * FROM {table} ORDER BY rid") -> pd.DataFrame:
    """The records table ``name``, built by ``build(cursor, create)`` if absent, read with ``read``
    (``{table}`` is replaced by the table's qualified name; literal SQL from code only).

    ``build`` must create the table with ``cursor.execute(f"{create} AS SELECT ...")``: ``create``
    is ``CREATE TABLE IF NOT EXISTS <schema>.<name>`` (or, on a read-only database, a temporary
    table of that cursor). It may register small mapping frames and temporary tables on the cursor."""
    cur = con.cursor()
    try:
        try:
            with _LOCK:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
                qualified = f"{SCHEMA}.{name}"
                if not _exists(cur, name):
                    build(cur, f"CREATE TABLE IF NOT EXISTS {qualified}")
        except duckdb.InvalidInputException as exc:
            if "read-only" not in str(exc).lower():
                raise
            qualified = f"temp.main.{name}"
            build(cur, f"CREATE TEMP TABLE IF NOT EXISTS {name}")
        return cur.sql(read.replace("{table}", qualified)).to_arrow_table().to_pandas()
    finally:
        cur.close()


def drop_all(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every records table (e.g. after a table they were built from was replaced)."""
    cur = con.cursor()
    try:
        with _LOCK:
            cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        cur.close()
