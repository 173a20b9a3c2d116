"""Where each analysis variable comes from, per domain: an ordered list of sources (declarative).

For every variable the product analyses, the loader tries the sources in the order listed here
and the first that applies wins (docs/definitions.md, "Variable resolution"). A column that
exists but holds no value counts as absent. Each source is one of:

- ``column``: the ADaM variable itself (contract aliases, e.g. ``AESOC`` for ``AEBODSYS``, are
  renamed before this, see each contract's ``aliases``);
- ``date_part``: the date part of the datetime twin (``TRTSDTM`` for ``TRTSDT``), row by row:
  a row whose date is missing takes the date part of its datetime;
- ``derive``: a whole-column derivation from other standard variables, named by ``rule`` (the
  loader's ``dashboard.resolution`` implements each rule; ``reads`` lists what it reads).

The blinded role's allow-list and the Data quality page's ``derivations`` table are both built
from this table, so the columns each variable may be read from are listed once, here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One way to obtain a variable: ``kind`` is column, date_part or derive."""

    kind: str
    reads: tuple[str, ...]
    rule: str = ""
    text: str = ""

    def describe(self) -> str:
        if self.text:
            return self.text
        if self.kind == "date_part":
            return f"date part of {self.reads[0]}"
        return f"from {', '.join(self.reads)}"


def column(name: str) -> Source:
    return Source("column", (name,), "column", name)


def date_part(twin: str) -> Source:
    return Source("date_part", (twin,), "date_part")


def derive(rule: str, reads: tuple[str, ...], text: str) -> Source:
    return Source("derive", reads, rule, text)


#: What the loader treats as a randomized arm is decided by ``dashboard.blinding.NON_ARM_VALUES``
#: (Screen Failure, Not Assigned, ...); the arm columns themselves are in ``adsl.ARM_SOURCE_COLUMNS``.
RANDOMIZED_ARM_COLUMNS = ("TRT01P", "ARM", "TRT01A", "ACTARM")

#: Disposition reasons that mean the subject completed the study.
COMPLETED_REASONS = ("COMPLETED",)

RESOLUTION: dict[str, dict[str, tuple[Source, ...]]] = {
    "ADSL": {
        "TRTSDT": (column("TRTSDT"), date_part("TRTSDTM")),
        "TRTEDT": (column("TRTEDT"), date_part("TRTEDTM")),
        "RANDDT": (column("RANDDT"), date_part("RANDDTM")),
        "DTHDT": (column("DTHDT"), date_part("DTHDTM")),
        "EOSDT": (column("EOSDT"), date_part("EOSDTM")),
        "SAFFL": (
            column("SAFFL"),
            derive("saffl_from_trtsdt", ("TRTSDT",), "Y when TRTSDT (first dose) is present, else N"),
            derive("saffl_from_exposure", ("ADEX.USUBJID",), "Y when ADEX has an administration given, else N"),
        ),
        "RANDFL": (
            column("RANDFL"),
            derive("randfl_from_randdt", ("RANDDT",), "Y when RANDDT is present, else N"),
            derive("randfl_from_ittfl", ("ITTFL",), "ITTFL (the ITT set is the randomized subjects)"),
            derive("randfl_from_arm", RANDOMIZED_ARM_COLUMNS,
                   "Y when the subject has a randomized arm (not Screen Failure / Not Assigned), else N"),
            derive("randfl_from_saffl", ("SAFFL",), "SAFFL (treated subjects were randomized)"),
        ),
        "ITTFL": (
            column("ITTFL"),
            derive("ittfl_from_randfl", ("RANDFL",), "RANDFL (intention to treat = as randomized)"),
        ),
        "DTHFL": (
            column("DTHFL"),
            derive("dthfl_from_dthdt", ("DTHDT",), "Y when DTHDT (death date) is present"),
            derive("dthfl_from_fatal_ae", ("ADAE.AEOUT", "ADAE.AESDTH", "ADAE.AETOXGR"),
                   "Y when the subject has a fatal AE (AEOUT FATAL, AESDTH Y or AETOXGR 5)"),
        ),
        "EOSSTT": (
            column("EOSSTT"),
            derive("eosstt_from_dcsreas", ("DCSREAS",),
                   "COMPLETED when DCSREAS (or DCDECOD) says COMPLETED, DISCONTINUED for any other reason, "
                   "else ONGOING"),
            derive("eosstt_from_disconfl", ("DISCONFL", "EOSDT"),
                   "DISCONTINUED when DISCONFL = Y, else COMPLETED when EOSDT is present, else ONGOING"),
        ),
    },
    "ADAE": {
        "ASTDT": (column("ASTDT"), date_part("ASTDTM")),
        "AENDT": (column("AENDT"), date_part("AENDTM")),
    },
    "ADLB": {
        "ADT": (column("ADT"), date_part("ADTM")),
        "AVALU": (column("AVALU"), derive("unit_from_param", ("PARAM",), "the unit in PARAM's last parentheses")),
    },
    "ADVS": {
        "ADT": (column("ADT"), date_part("ADTM")),
        "AVALU": (column("AVALU"), derive("unit_from_param", ("PARAM",), "the unit in PARAM's last parentheses")),
    },
    "ADEX": {
        "ASTDT": (column("ASTDT"), date_part("ASTDTM")),
        "AENDT": (column("AENDT"), date_part("AENDTM")),
    },
}

#: Plain names for messages ("Randomized: derived from RANDDT (ADSL has no RANDFL)").
LABELS = {
    "RANDFL": "Randomized", "SAFFL": "Safety population (treated)", "ITTFL": "Intention to treat",
    "DTHFL": "Death", "EOSSTT": "End-of-study status", "TRTSDT": "First dose date", "TRTEDT": "Last dose date",
    "RANDDT": "Randomization date", "DTHDT": "Death date", "EOSDT": "End-of-study date",
    "ASTDT": "Start date", "AENDT": "End date", "ADT": "Analysis date", "AVALU": "Unit",
}


def date_twins(domain: str) -> dict[str, str]:
    """``{date variable: datetime twin}`` for a domain (``{"TRTSDT": "TRTSDTM", ...}``)."""
    out = {}
    for var, sources in RESOLUTION.get(domain, {}).items():
        for s in sources:
            if s.kind == "date_part":
                out[var] = s.reads[0]
    return out


def source_columns(domain: str) -> set[str]:
    """Every column of ``domain`` the resolution may read (for allow-lists)."""
    cols: set[str] = set()
    for sources in RESOLUTION.get(domain, {}).values():
        for s in sources:
            cols |= {c for c in s.reads if "." not in c}  # "ADAE.AEOUT" is another domain's column
    return cols
