"""DuckDB access: connections and parameterized queries.

Queries take named ``$params``; nothing here builds SQL from user text. A connection is not
thread-safe, so every function here takes a cursor per call.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

def connect(path: Path | str | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to a file (``path``) or in memory (``None``)."""
    return duckdb.connect(str(path) if path else ":memory:", read_only=read_only)


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """Run literal SQL (written in code, never from user text) with named parameters."""
    cur = con.cursor()
    try:
        return cur.sql(sql, params=params or None).to_arrow_table().to_pandas()
    finally:
        cur.close()


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    cur = con.cursor()
    try:
        return bool(cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE lower(table_name) = lower($t)", {"t": table}
        ).fetchone()[0])
    finally:
        cur.close()


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of a table (empty when the table does not exist)."""
    cur = con.cursor()
    try:
        rows = cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE lower(table_name) = lower($t) "
            "ORDER BY ordinal_position", {"t": table}
        ).fetchall()
    finally:
        cur.close()
    return [r[0] for r in rows]


@contextmanager
def frame_as(con: duckdb.DuckDBPyConnection, name: str, frame) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on which ``frame`` (pandas or Arrow) can be queried as the view ``name``."""
    cur = con.cursor()
    try:
        cur.register(name, frame)
        yield cur
    finally:
        cur.close()
