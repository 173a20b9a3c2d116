"""DuckDB access: connections, named SQL files and parameterized queries.

Queries live one per file in ``dashboard/sql/NAME.sql`` and take named ``$params``; nothing
here builds SQL from user text. A connection is not thread-safe, so callers that share one
take a cursor per call (:func:`query` does).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

SQL_DIR = Path(__file__).parent / "sql"


def connect(path: Path | str | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to a file (``path``) or in memory (``None``)."""
    return duckdb.connect(str(path) if path else ":memory:", read_only=read_only)


@lru_cache(maxsize=None)
def sql_text(name: str) -> str:
    """The text of ``dashboard/sql/<name>.sql``."""
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise KeyError(f"no SQL file {path.name} in {SQL_DIR}")
    return path.read_text(encoding="utf-8")


def query(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> pd.DataFrame:
    """Run the named SQL file with ``params`` on a fresh cursor; returns a pandas frame."""
    return run(con, sql_text(name), params)


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
