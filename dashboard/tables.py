"""What a registered table is: the spec type, the roles and pages, and ``NotInExtract``.

Analysis modules import this (never the registry), so imports point one way:
analyses -> tables <- registry -> pages/exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import duckdb
import pandas as pd

from dashboard.blinding import Role
from dashboard.filters import FilterSpec

BOTH_ROLES = frozenset({Role.BLINDED, Role.UNBLINDED})
UNBLINDED_ONLY = frozenset({Role.UNBLINDED})

PAGES = {
    "overview": "Overview",
    "enrollment": "Enrollment & disposition",
    "exposure": "Exposure",
    "baseline": "Baseline characteristics",
    "adverse_events": "Adverse events",
    "renal": "Renal function",
    "labs": "Lab shifts & liver",
    "data_quality": "Data quality",
}


class NotInExtract(Exception):
    """The extract lacks what a table needs; pages show the message as "not in this extract"."""


@dataclass(frozen=True)
class TableSpec:
    """One registered result. ``definition`` cites the clinical definition in use."""

    name: str
    title: str
    page: str
    compute: Callable[[duckdb.DuckDBPyConnection, FilterSpec], pd.DataFrame]
    display: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    charts: tuple[Callable[[pd.DataFrame], object], ...] = ()
    roles: frozenset = BOTH_ROLES
    definition: str = ""
    exportable: bool = True
    order: int = 100
    extra: dict = field(default_factory=dict)

    packet: bool = True
    #: ``subjects(con, spec, row) -> frame`` (``usubjid``, ``arm``): the subjects counted in one
    #: row of the table, ``row`` naming it by its key columns (e.g. ``{"category": "any_teae"}``).
    subjects: Callable[[duckdb.DuckDBPyConnection, FilterSpec, dict], pd.DataFrame] | None = None
    #: ``records(con, spec, row) -> frame | None`` (``usubjid``, ``file``, ``row``, ``detail``,
    #: ``arm``): the source records counted in one row, when the row counts records.
    records: Callable[[duckdb.DuckDBPyConnection, FilterSpec, dict], pd.DataFrame | None] | None = None

    def allowed(self, role: Role | str) -> bool:
        return Role.parse(role) in self.roles
