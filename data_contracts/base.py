"""What every domain contract declares, and how a source file's columns map onto it.

A contract is a pandera ``DataFrameModel`` (row-level types and checks) plus the metadata
pandera has no place for: accepted file names, the alias map, the record key used for
duplicate detection, and plausibility ranges. The loader reads only this module's types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
import pandera.pandas as pa

#: Flag variables: ADaM uses Y/N, admiral writes Y/missing. Both are accepted.
FLAG_VALUES = ["Y", "N"]


@dataclass(frozen=True)
class DomainContract:
    """One ADaM domain: its model, the files it may come from and its cross-row rules.

    ``aliases`` maps the canonical (contract) column to the sponsor spellings accepted for it,
    in order of preference; the canonical name wins when a file has both.
    ``record_key`` is the set of columns that identify one record (duplicates are quarantined).
    ``row_label`` names what one row is, for messages ("lab record", "adverse event").
    ``identity_columns``: a row whose value in one of these breaks the contract cannot be
    attributed or keyed, so it is *quarantined*; a failure in any other column *flags* the row,
    which is loaded with the value mapped by ``value_maps`` or missing (docs/definitions.md,
    "Safety-record policy"). ``value_maps``: per column, source value (upper case) -> the value
    loaded, optionally with companion values for other columns of the same row.
    """

    name: str
    model: type[pa.DataFrameModel]
    file_stems: tuple[str, ...]
    required_file: bool
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    record_key: tuple[str, ...] = ()
    row_label: str = "record"
    description: str = ""
    identity_columns: tuple[str, ...] = ("USUBJID",)
    value_maps: Mapping[str, Mapping[str, tuple[str, Mapping[str, str]]]] = field(default_factory=dict)

    @property
    def schema(self) -> pa.DataFrameSchema:
        return self.model.to_schema()

    @property
    def required_columns(self) -> list[str]:
        return [name for name, col in self.schema.columns.items() if col.required]

    @property
    def columns(self) -> list[str]:
        return list(self.schema.columns)

    def columns_of_kind(self, kind: str) -> list[str]:
        """Contract columns whose pandera dtype is ``kind``: "date", "number" or "text"."""
        out = []
        for name, col in self.schema.columns.items():
            dtype = str(col.dtype)
            col_kind = "date" if dtype.startswith("datetime") else "number" if ("float" in dtype or "int" in dtype) else "text"
            if col_kind == kind:
                out.append(name)
        return out

    def canonical_columns(self, source_columns: list[str]) -> dict[str, str]:
        """Map each source column (as spelled in the file) to its canonical name.

        Names are upper-cased; an alias is renamed to its canonical column only when the
        canonical column itself is absent. Columns the contract does not know keep their name.
        """
        upper = {c: str(c).strip().upper() for c in source_columns}
        present = set(upper.values())
        rename: dict[str, str] = {}
        taken: set[str] = set()
        for canonical, alternatives in self.aliases.items():
            if canonical in present:
                continue
            for alt in alternatives:
                if alt in present:
                    rename[alt] = canonical
                    taken.add(alt)
                    break
        return {src: rename.get(up, up) for src, up in upper.items()}


def map_distinct(values: pd.Series, fn) -> pd.Series:
    """``values.map(fn, na_action="ignore")`` with ``fn`` called once per distinct value: a code or
    unit mapping is a lookup in a table of the few distinct values, not a Python call per row."""
    codes, uniques = pd.factorize(values)  # missing -> -1, the table's last entry
    table = np.array([fn(u) for u in uniques] + [np.nan], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)


#: Spellings of a flag accepted as Y / N (any case, surrounding spaces ignored), flagged.
FLAG_SPELLINGS = {"YES": "Y", "NO": "N", "TRUE": "Y", "FALSE": "N"}


def map_coded_value(contract: DomainContract, column: str, value, allowed: list[str]) -> tuple[str | None, dict]:
    """The value a coded cell is loaded as when it is not in ``allowed``, and companion values.

    The first rule that applies wins: the contract's ``value_maps`` (e.g. AESEV
    LIFE-THREATENING -> SEVERE with AETOXGR 4); the allowed value that matches except for case
    and spaces ("mild" -> MILD); for Y/N flags YES/NO/TRUE/FALSE; otherwise missing ("not
    coded"), returned as None.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None, {}
    key = " ".join(str(value).split()).upper()
    mapped = contract.value_maps.get(column, {}).get(key)
    if mapped:
        return mapped[0], dict(mapped[1])
    for a in allowed:
        if key == str(a).upper():
            return a, {}
    if set(allowed) == set(FLAG_VALUES) and key in FLAG_SPELLINGS:
        return FLAG_SPELLINGS[key], {}
    return None, {}


def allowed_values(contract: DomainContract, column: str) -> list[str] | None:
    """The closed value set of a coded column (its pandera ``isin`` check), or None."""
    col = contract.schema.columns.get(column)
    if col is None:
        return None
    for check in col.checks:
        if getattr(check, "name", "") == "isin":
            stats = getattr(check, "statistics", {}) or {}
            return list(stats.get("allowed_values", []))
    return None


def describe_check(check: str, expected: str) -> str:
    """Plain-language wording of a pandera check name, for findings."""
    m = re.match(r"isin\((.*)\)", check)
    if m:
        return f"one of {m.group(1)}"
    m = re.match(r"greater_than_or_equal_to\((.*)\)", check)
    if m:
        return f"a value >= {m.group(1)}"
    m = re.match(r"less_than_or_equal_to\((.*)\)", check)
    if m:
        return f"a value <= {m.group(1)}"
    m = re.match(r"in_range\((.*)\)", check)
    if m:
        return f"a value in range {m.group(1)}"
    if check == "not_nullable":
        return "a non-missing value"
    return expected or check


def empty_frame_like(contract: DomainContract) -> pd.DataFrame:
    """An empty frame with the contract's columns (used when an optional file is absent)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in contract.columns})
