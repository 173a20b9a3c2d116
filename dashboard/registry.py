"""The registry: every table and chart the product shows, defined once.

Pages, downloads, ``python -m dashboard export``, the meeting packet and the tests all read
:data:`TABLES`, so a number can never differ between the screen and a file. An entry names
the pure analysis ``compute(con, spec) -> tidy frame``, an optional ``display(frame) -> wide
frame`` (what the page shows and the downloads contain) and optional ``charts``
(``chart(frame) -> alt.Chart``), the page that shows it and the roles that may see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import duckdb
import pandas as pd

from dashboard.blinding import POOLED_ARM, Role
from dashboard.filters import TOTAL_ARM, FilterSpec

from dashboard.tables import BOTH_ROLES, PAGES, UNBLINDED_ONLY, NotInExtract, TableSpec  # noqa: F401 (re-exported)


class _Registry(dict):
    """The table dict, filled on first read: analysis modules import this module, so their
    ``register()`` calls cannot run while it is being imported (no import cycle)."""

    _loading = False
    _loaded = False

    def _ensure(self) -> None:
        if not (self._loaded or self._loading):
            type(self)._loading = True
            try:
                _load_entries()
                type(self)._loaded = True
            finally:
                type(self)._loading = False

    def __getitem__(self, key):
        self._ensure()
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self._ensure()
        return super().__contains__(key)

    def __iter__(self):
        self._ensure()
        return super().__iter__()

    def __len__(self) -> int:
        self._ensure()
        return super().__len__()

    def values(self):
        self._ensure()
        return super().values()

    def items(self):
        self._ensure()
        return super().items()

    def keys(self):
        self._ensure()
        return super().keys()


TABLES: dict[str, TableSpec] = _Registry()


def register(spec: TableSpec) -> TableSpec:
    if dict.__contains__(TABLES, spec.name):
        raise ValueError(f"table {spec.name!r} is registered twice")
    if spec.page not in PAGES:
        raise ValueError(f"table {spec.name!r}: unknown page {spec.page!r}")
    dict.__setitem__(TABLES, spec.name, spec)
    return spec


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


def display(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """What the page shows (and the downloads hold) for a computed frame."""
    fn = TABLES[name].display
    return fn(frame) if fn else frame


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


def _load_entries() -> None:
    """Import the analysis modules and let each add its tables."""
    from dashboard.analyses import register_all

    register_all(register)
