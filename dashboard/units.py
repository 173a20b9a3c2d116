"""Laboratory unit conversions, conventional → SI, and unit-spelling normalisation.

Definitions follow ``clinical_reference.md`` §8 (factors) and §1 (creatinine 88.42, project
convention). The table is data: one analyte, one or more (from, to, factor) rows, the first
row being the default SI target.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from dashboard.renal import CREATININE_UMOL_PER_MG_DL

#: BUN mg/dL × 2.144 = urea mg/dL (clinical_reference §8); a mass conversion, not to SI.
BUN_TO_UREA_MG_DL = 2.144


class Conversion(NamedTuple):
    """value_to = value_from × factor + offset (offset is 0 except for HbA1c)."""

    from_unit: str
    to_unit: str
    factor: float
    offset: float = 0.0


#: analyte -> conversions; the first row's ``to_unit`` is the default SI unit (clinical_reference §8).
SI_CONVERSIONS: dict[str, tuple[Conversion, ...]] = {
    "creatinine": (Conversion("mg/dL", "umol/L", CREATININE_UMOL_PER_MG_DL),),
    # BUN is reported as urea in SI: mg/dL BUN × 0.357 = mmol/L urea.
    "bun": (Conversion("mg/dL", "mmol/L", 0.357),),
    "urea": (Conversion("mg/dL", "mmol/L", 0.1665),),
    # 0.05551 as tabled (÷ 18.016 gives 0.055506; the difference is below display precision).
    "glucose": (Conversion("mg/dL", "mmol/L", 0.05551),),
    "albumin": (Conversion("g/dL", "g/L", 10.0),),
    "bilirubin": (Conversion("mg/dL", "umol/L", 17.10),),
    "cholesterol": (Conversion("mg/dL", "mmol/L", 0.02586),),
    "triglycerides": (Conversion("mg/dL", "mmol/L", 0.01129),),
    "potassium": (Conversion("mEq/L", "mmol/L", 1.0),),
    "sodium": (Conversion("mEq/L", "mmol/L", 1.0),),
    # g/L first: CTCAE and most SI laboratories report haemoglobin in g/L; mmol/L is the monomer.
    "hemoglobin": (Conversion("g/dL", "g/L", 10.0), Conversion("g/dL", "mmol/L", 0.6206)),
    "uric acid": (Conversion("mg/dL", "umol/L", 59.48),),
    "calcium": (Conversion("mg/dL", "mmol/L", 0.2495),),
    "phosphate": (Conversion("mg/dL", "mmol/L", 0.3229),),
    # IFCC mmol/mol = (NGSP % − 2.152)/0.09148, written as factor and offset.
    "hba1c": (Conversion("%", "mmol/mol", 1.0 / 0.09148, -2.152 / 0.09148),),
    # /mm³ = /µL; ×10⁹/L = /µL ÷ 1000; 10³/µL is 10⁹/L by definition.
    "cell count": (
        Conversion("/uL", "10^9/L", 0.001),
        Conversion("/mm3", "10^9/L", 0.001),
        Conversion("10^3/uL", "10^9/L", 1.0),
    ),
}

#: Other names (lower case) and ADaM PARAMCDs that resolve to a key of SI_CONVERSIONS.
ANALYTE_ALIASES: dict[str, str] = {
    "creat": "creatinine",
    "urean": "bun",
    "blood urea nitrogen": "bun",
    "gluc": "glucose",
    "alb": "albumin",
    "bili": "bilirubin",
    "total bilirubin": "bilirubin",
    "chol": "cholesterol",
    "trig": "triglycerides",
    "k": "potassium",
    "na": "sodium",
    "hgb": "hemoglobin",
    "haemoglobin": "hemoglobin",
    "urate": "uric acid",
    "ca": "calcium",
    "phos": "phosphate",
    "phosphorus": "phosphate",
    "a1c": "hba1c",
    "plat": "cell count",
    "platelets": "cell count",
    "neut": "cell count",
    "neutrophils": "cell count",
    "wbc": "cell count",
    "leukocytes": "cell count",
    "lymph": "cell count",
    "lymphocytes": "cell count",
}

#: Canonical spellings, keyed by their case-folded form after micro-sign normalisation.
_CANONICAL_UNITS = {
    u.casefold(): u
    for u in (
        "umol/L", "mmol/L", "mg/dL", "g/dL", "g/L", "mEq/L", "%", "mmol/mol", "mg/g", "mg/mmol",
        "10^9/L", "10^3/uL", "/uL", "/mm3", "U/L", "mL/min/1.73m2", "g/24h", "mg/24h",
    )
}
_UNIT_SYNONYMS = {
    "x10^9/l": "10^9/L", "10*9/l": "10^9/L", "x10e9/l": "10^9/L", "10e9/l": "10^9/L", "gi/l": "10^9/L",
    "x10^3/ul": "10^3/uL", "10*3/ul": "10^3/uL", "k/ul": "10^3/uL", "thou/ul": "10^3/uL",
    "cells/ul": "/uL", "cells/mm3": "/mm3", "/mm^3": "/mm3", "cells/mm^3": "/mm3",
    "iu/l": "U/L", "meq/l": "mEq/L", "ml/min/1.73m^2": "mL/min/1.73m2",
}


def normalize_unit(unit: str | None) -> str | None:
    """Canonical spelling of a unit ("µmol/L", "μmol/L", "mcmol/L", "umol/l" → "umol/L"); the one
    unit-spelling rule of the product (the loader applies it to AVALU, conversions and CTCAE use it).

    Rules, in order: missing or blank -> None; trim and drop inner spaces; micro sign (U+00B5),
    Greek mu (U+03BC) and a "mc" opening a unit before g/mol/L becomes "u"; ³ becomes 3; then a
    case-insensitive match against the known units and synonyms. An unknown unit comes back
    trimmed, so errors can quote it.
    """
    if unit is None or (isinstance(unit, float) and np.isnan(unit)) or str(unit).strip() in ("", "<NA>", "nan"):
        return None
    text = re.sub(r"\s+", "", str(unit)).replace("\u00b5", "u").replace("\u03bc", "u").replace("³", "3")
    text = re.sub(r"(?i)(^|/)mc(?=mol|g|l)", r"\1u", text)
    key = text.casefold()
    return _CANONICAL_UNITS.get(key) or _UNIT_SYNONYMS.get(key) or str(unit).strip()


def resolve_analyte(analyte: str) -> str:
    """Key of SI_CONVERSIONS for an analyte name or PARAMCD (case-insensitive)."""
    key = str(analyte).strip().casefold()
    key = ANALYTE_ALIASES.get(key, key)
    if key not in SI_CONVERSIONS:
        known = ", ".join(sorted(SI_CONVERSIONS))
        raise ValueError(f"to_si: unknown analyte {analyte!r}; known analytes: {known} (or a PARAMCD alias).")
    return key


def to_si(analyte: str, value, unit: str, to_unit: str | None = None):
    """(value in SI, SI unit) for a value reported in a conventional (or already SI) unit.

    Definition: clinical_reference §8. Checked in order:

    1. ``analyte`` resolves through ``ANALYTE_ALIASES`` to a key of ``SI_CONVERSIONS``.
    2. ``unit`` (and ``to_unit``) are normalised by ``normalize_unit``.
    3. If ``unit`` already is the target SI unit, the value is returned unchanged.
    4. Otherwise the conversion from ``unit`` (to ``to_unit``, default the first listed)
       is applied: value × factor + offset.

    Raises ValueError naming the analyte and unit when no conversion exists.

    Returns: a tuple (value_si, si_unit); value_si is a float for scalar input, else a float
    array (missing stays NaN).
    """
    key = resolve_analyte(analyte)
    conversions = SI_CONVERSIONS[key]
    if normalize_unit(unit) is None:
        raise ValueError("unit is missing; give the unit the value was reported in (e.g. 'mg/dL').")
    src = normalize_unit(unit)
    target = normalize_unit(to_unit) if to_unit is not None else None
    targets = [c.to_unit for c in conversions]
    if target is not None and target not in targets:
        raise ValueError(f"to_si: analyte {analyte!r} has no SI unit {to_unit!r}; choose one of {', '.join(dict.fromkeys(targets))}.")
    arr = np.asarray(value, dtype=float)
    if src in targets and (target is None or src == target):
        out = arr
        result_unit = src
    else:
        match = [c for c in conversions if c.from_unit == src and (target is None or c.to_unit == target)]
        if not match:
            accepted = ", ".join(sorted({c.from_unit for c in conversions} | set(targets)))
            raise ValueError(f"to_si: no conversion for analyte {analyte!r} from unit {unit!r}; accepted units: {accepted}.")
        conv = match[0]
        out = arr * conv.factor + conv.offset
        result_unit = conv.to_unit
    return (out.item() if out.ndim == 0 else out), result_unit


def bun_to_urea_mg_dl(bun_mg_dl):
    """Urea in mg/dL from BUN in mg/dL (× 2.144, clinical_reference §8)."""
    return np.asarray(bun_mg_dl, dtype=float) * BUN_TO_UREA_MG_DL
