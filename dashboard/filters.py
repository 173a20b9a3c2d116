"""The filter every table and chart takes, and the argument glossary.

Argument conventions (shared by every analysis in ``dashboard.analyses``):

- ``con``: a DuckDB connection holding one loaded extract (tables ``adsl``, ``adae``, ``adlb``, ...,
  plus the ``subjects`` view and the ``population`` table macro made by
  :func:`dashboard.population.create_population_objects`). Analyses only read.
- ``spec``: a :class:`FilterSpec`. Empty tuples mean "no restriction".
- Results are tidy pandas frames. By-arm results carry ``arm`` (the extract's own labels, plus
  ``Total`` where a total column makes sense; the single value ``All subjects`` in the blinded
  role), and counts carry ``n``, ``N`` (subjects of that arm in the population) and ``pct``
  (100·n/N, unrounded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from dashboard.blinding import POOLED_ARM, Role

TOTAL_ARM = "Total"

#: Populations by their ADaM flag; ALL is every ADSL row, screen failures included.
POPULATIONS = {
    "SAFFL": "Safety (received any study treatment)",
    "ITTFL": "Intention to treat",
    "RANDFL": "Randomized",
    "ALL": "All screened subjects",
}
AGE_GROUPS = ("<65", ">=65")
EGFR_CATEGORIES = ("G1", "G2", "G3a", "G3b", "G4", "G5")


@dataclass(frozen=True)
class FilterSpec:
    """Which subjects and which data cut a result covers. Hashable, so it can key caches."""

    population: str = "SAFFL"
    sexes: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()
    egfr_categories: tuple[str, ...] = ()
    arms: tuple[str, ...] = ()
    data_cut: dt.date | None = None
    options: tuple[tuple[str, object], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.population not in POPULATIONS:
            raise ValueError(f"population {self.population!r} is not known; expected one of {', '.join(POPULATIONS)}.")

    def params(self) -> dict:
        """Named parameters for the ``population(...)`` table macro."""
        return {
            "population": self.population,
            "sexes": list(self.sexes),
            "age_groups": list(self.age_groups),
            "egfr_categories": list(self.egfr_categories),
            "arms": list(self.arms),
            "data_cut": self.data_cut,
        }

    def option(self, key: str, default=None):
        """A table-specific option (e.g. an AE frequency threshold), with a default."""
        return dict(self.options).get(key, default)

    def with_options(self, **kwargs) -> "FilterSpec":
        merged = dict(self.options)
        merged.update(kwargs)
        return replace(self, options=tuple(sorted(merged.items())))

    def with_population(self, population: str) -> "FilterSpec":
        """The same filter over another population (a key of :data:`POPULATIONS`)."""
        return replace(self, population=population)

    def for_role(self, role: Role) -> "FilterSpec":
        """The spec a role may use: the blinded role cannot select arms."""
        return replace(self, arms=()) if Role.parse(role) is Role.BLINDED else self

    def describe(self) -> list[str]:
        """Human-readable list of the active restrictions (for "filters in use" captions)."""
        out = [f"Population: {POPULATIONS[self.population]}"]
        if self.sexes:
            out.append("Sex: " + ", ".join(self.sexes))
        if self.age_groups:
            out.append("Age: " + ", ".join(self.age_groups))
        if self.egfr_categories:
            out.append("Baseline eGFR: " + ", ".join(self.egfr_categories))
        if self.arms:
            out.append("Arm: " + ", ".join(self.arms))
        if self.data_cut:
            out.append(f"Data up to {self.data_cut.isoformat()}")
        return out

    @property
    def is_restricted(self) -> bool:
        return bool(self.sexes or self.age_groups or self.egfr_categories or self.arms or self.data_cut)


__all__ = ["FilterSpec", "Role", "POOLED_ARM", "TOTAL_ARM", "POPULATIONS", "AGE_GROUPS", "EGFR_CATEGORIES"]
