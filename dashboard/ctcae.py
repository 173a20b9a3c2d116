"""CTCAE v5.0 grades for laboratory values, one function per term, plus a generic dispatcher.

Definitions follow ``clinical_reference.md`` §5 (CTCAE v5.0, NCI 2017). Every grader is
vectorized over numpy arrays / pandas Series and returns an int array of the broadcast shape
(a plain int for scalar input).

Shared conventions (documented once here, as in tern's argument convention):

- **Grades** are 0–4 from laboratory values alone. Criteria that need clinical information
  ("life-threatening", symptoms, intervention) are not lab-gradable, so anemia and
  hypoalbuminemia top out at grade 3 and hypokalemia below the LLN is grade 1.
- **Missing** (``GRADE_MISSING = -1``): the value is missing, or a reference limit that the
  grade depends on is missing. -1 sorts below 0, so a subject's worst grade is -1 only when
  no record could be graded; never show it as a grade.
- **Absolute cut-offs** (Hb, platelets, neutrophils, K, glucose, albumin) do not need the
  normal limit beyond grade 1, so a value past the grade-2 cut-off is graded even when the
  LLN/ULN is missing.
- **Boundaries**: "> k × ULN" and "< c" are compared with a relative tolerance of 1e-9, so a
  value exactly on a boundary (1.8 with ULN 1.2 is 1.5 × ULN) falls in the lower-severity
  grade even though 1.5 * 1.2 is 1.7999999999999998 in floating point.
- **Baseline**: "abnormal baseline" means baseline > ULN (§5). A missing baseline uses the
  normal-baseline criteria.
- ``value``, ``uln``, ``lln`` and ``baseline`` must be in the same unit.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from dashboard.units import normalize_unit

GRADE_MISSING = -1
_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _arr(x) -> np.ndarray:
    """Float array; None and pd.NA become NaN."""
    if x is None:
        return np.asarray(np.nan)
    if isinstance(x, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        return pd.Series(x).to_numpy(dtype=float, na_value=np.nan)
    try:
        return np.asarray(x, dtype=float)
    except TypeError:
        obj = np.asarray(x, dtype=object)
        return pd.Series(obj.ravel()).to_numpy(dtype=float, na_value=np.nan).reshape(obj.shape)


def _gt(value, ref):
    with np.errstate(invalid="ignore"):
        return value > ref + _TOL * np.abs(ref)


def _ge(value, ref):
    with np.errstate(invalid="ignore"):
        return value >= ref - _TOL * np.abs(ref)


def _lt(value, ref):
    with np.errstate(invalid="ignore"):
        return value < ref - _TOL * np.abs(ref)


def _out(grade: np.ndarray, *inputs):
    """Plain int for all-scalar input, else the int array."""
    grade = np.asarray(grade, dtype=int)
    if all(np.ndim(x) == 0 for x in inputs):
        return int(grade.reshape(()))
    return grade


def _grade_by_multiples(value, ref, cuts):
    """Grade = highest k with value beyond cut k × ref; cuts = ((multiple, inclusive), …) for G1…G4.

    A ``None`` multiple means that grade has no criterion on this reference.
    """
    grade = np.zeros(np.broadcast(value, ref).shape, dtype=int)
    for g, cut in enumerate(cuts, start=1):
        if cut is None:
            continue
        multiple, inclusive = cut
        hit = _ge(value, multiple * ref) if inclusive else _gt(value, multiple * ref)
        grade = np.where(hit, g, grade)
    return grade


def _grade_low(value, lln, cuts):
    """Decreased-value grade: G1 < LLN, then G2…G4 below the absolute ``cuts`` (None: no criterion)."""
    value, lln = np.broadcast_arrays(value, lln)
    grade = np.where(_lt(value, lln), 1, 0)
    for g, cut in enumerate(cuts, start=2):
        if cut is not None:
            grade = np.where(_lt(value, cut), g, grade)
    # Without the LLN only values past the grade-2 cut-off can be graded.
    undecidable = np.isnan(lln) & (grade < 2)
    return np.where(np.isnan(value) | undecidable, GRADE_MISSING, grade)


def _grade_high(value, uln, cuts):
    """Increased-value grade: G1 > ULN, then G2…G4 above the absolute ``cuts``."""
    value, uln = np.broadcast_arrays(value, uln)
    grade = np.where(_gt(value, uln), 1, 0)
    for g, cut in enumerate(cuts, start=2):
        grade = np.where(_gt(value, cut), g, grade)
    undecidable = np.isnan(uln) & (grade < 2)
    return np.where(np.isnan(value) | undecidable, GRADE_MISSING, grade)


def _unit_key(unit, accepted: tuple[str, ...], function: str) -> str:
    """Canonical unit among ``accepted`` (first = default when unit is None)."""
    if unit is None:
        return accepted[0]
    key = normalize_unit(unit)
    if key not in accepted:
        raise ValueError(f"{function}: unit {unit!r} is not supported; use one of {', '.join(accepted)}.")
    return key


# --------------------------------------------------------------------------------------------
# increased values, graded on multiples of ULN or baseline
# --------------------------------------------------------------------------------------------
_ULN_NORMAL_ALT = ((1.0, False), (3.0, False), (5.0, False), (20.0, False))
_BL_ABNORMAL_ALT = ((1.5, True), (3.0, False), (5.0, False), (20.0, False))
_ULN_NORMAL_BILI = ((1.0, False), (1.5, False), (3.0, False), (10.0, False))
_BL_ABNORMAL_BILI = ((1.0, False), (1.5, False), (3.0, False), (10.0, False))
_ULN_NORMAL_ALP = ((1.0, False), (2.5, False), (5.0, False), (20.0, False))
_BL_ABNORMAL_ALP = ((2.0, True), (2.5, False), (5.0, False), (20.0, False))
_ULN_CREAT = ((1.0, False), (1.5, False), (3.0, False), (6.0, False))
_BL_CREAT = (None, (1.5, False), (3.0, False), None)


def _grade_baseline_dependent(value, uln, baseline, normal_cuts, abnormal_cuts):
    """ULN multiples if baseline ≤ ULN or missing; baseline multiples if baseline > ULN."""
    value, uln, baseline = np.broadcast_arrays(_arr(value), _arr(uln), _arr(baseline))
    abnormal = _gt(baseline, uln)
    grade = np.where(
        abnormal,
        _grade_by_multiples(value, baseline, abnormal_cuts),
        _grade_by_multiples(value, uln, normal_cuts),
    )
    return np.where(np.isnan(value) | np.isnan(uln), GRADE_MISSING, grade)


def grade_creatinine_increased(value, uln, baseline=None):
    """CTCAE v5.0 grade of "Creatinine increased" (0–4, -1 if not gradable).

    Definition: clinical_reference §5. The grade is the highest criterion met:
    ULN: G1 >1.0–1.5, G2 >1.5–3.0, G3 >3.0–6.0, G4 >6.0 × ULN;
    baseline: G2 >1.5–3.0, G3 >3.0 × baseline. The baseline criteria apply even when the
    value is ≤ ULN (as in admiral's CTCAE v5 metadata). A missing baseline leaves the ULN
    criteria; a missing value or ULN gives -1.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    v, u, b = np.broadcast_arrays(_arr(value), _arr(uln), _arr(baseline))
    by_uln = _grade_by_multiples(v, u, _ULN_CREAT)
    by_baseline = np.where(b > 0, _grade_by_multiples(v, b, _BL_CREAT), 0)
    grade = np.maximum(by_uln, by_baseline)
    return _out(np.where(np.isnan(v) | np.isnan(u), GRADE_MISSING, grade), value, uln, baseline)


def grade_alt_ast_increased(value, uln, baseline=None):
    """CTCAE v5.0 grade of "ALT increased" / "AST increased" (0–4, -1 if not gradable).

    Definition: clinical_reference §5. Baseline normal (≤ ULN) or missing:
    G1 >ULN–3.0, G2 >3.0–5.0, G3 >5.0–20.0, G4 >20.0 × ULN. Baseline abnormal (> ULN):
    G1 1.5–3.0 (1.5 included), G2 >3.0–5.0, G3 >5.0–20.0, G4 >20.0 × baseline.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    grade = _grade_baseline_dependent(value, uln, baseline, _ULN_NORMAL_ALT, _BL_ABNORMAL_ALT)
    return _out(grade, value, uln, baseline)


def grade_bilirubin_increased(value, uln, baseline=None):
    """CTCAE v5.0 grade of "Blood bilirubin increased" (0–4, -1 if not gradable).

    Definition: clinical_reference §5. Baseline normal or missing: G1 >ULN–1.5, G2 >1.5–3.0,
    G3 >3.0–10.0, G4 >10.0 × ULN. Baseline abnormal: G1 >1.0–1.5, G2 >1.5–3.0,
    G3 >3.0–10.0, G4 >10.0 × baseline.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    grade = _grade_baseline_dependent(value, uln, baseline, _ULN_NORMAL_BILI, _BL_ABNORMAL_BILI)
    return _out(grade, value, uln, baseline)


def grade_alp_increased(value, uln, baseline=None):
    """CTCAE v5.0 grade of "Alkaline phosphatase increased" (0–4, -1 if not gradable).

    Definition: clinical_reference §5. Baseline normal or missing: G1 >ULN–2.5, G2 >2.5–5.0,
    G3 >5.0–20.0, G4 >20.0 × ULN. Baseline abnormal: G1 2.0–2.5 (2.0 included),
    G2 >2.5–5.0, G3 >5.0–20.0, G4 >20.0 × baseline.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    grade = _grade_baseline_dependent(value, uln, baseline, _ULN_NORMAL_ALP, _BL_ABNORMAL_ALP)
    return _out(grade, value, uln, baseline)


# --------------------------------------------------------------------------------------------
# absolute cut-offs
# --------------------------------------------------------------------------------------------
_HB_UNITS = ("g/dL", "g/L")
_ALB_UNITS = ("g/L", "g/dL")
_GLUC_CUTS = {"mmol/L": (3.0, 2.2, 1.7), "mg/dL": (55.0, 40.0, 30.0)}
_COUNT_UNITS = {"10^9/L": 1.0, "10^3/uL": 1.0, "/uL": 0.001, "/mm3": 0.001}
_K_UNITS = ("mmol/L", "mEq/L")


def grade_anemia(hb, lln, unit="g/dL"):
    """CTCAE v5.0 grade of "Anemia" from haemoglobin (0–3, -1 if not gradable).

    Definition: clinical_reference §5: G1 <LLN–10.0 g/dL, G2 <10.0–8.0, G3 <8.0 g/dL;
    G4 (life-threatening) is clinical. ``unit`` is "g/dL" (default) or "g/L" (cut-offs
    100 and 80 g/L); ``lln`` is in the same unit as ``hb``.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    key = _unit_key(unit, _HB_UNITS, "grade_anemia")
    scale = 10.0 if key == "g/L" else 1.0
    grade = _grade_low(_arr(hb), _arr(lln), (10.0 * scale, 8.0 * scale, None))
    return _out(grade, hb, lln)


def _grade_count(value, lln, unit, cuts, function):
    factor = _COUNT_UNITS[_unit_key(unit, tuple(_COUNT_UNITS), function)]
    return _grade_low(_arr(value) * factor, _arr(lln) * factor, cuts)


def grade_platelets_decreased(count, lln, unit="10^9/L"):
    """CTCAE v5.0 grade of "Platelet count decreased" (0–4, -1 if not gradable).

    Definition: clinical_reference §5: G1 <LLN–75, G2 <75–50, G3 <50–25, G4 <25 × 10⁹/L.
    ``unit`` is "10^9/L" (default), "10^3/uL", "/uL" or "/mm3"; ``lln`` in the same unit.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    grade = _grade_count(count, lln, unit, (75.0, 50.0, 25.0), "grade_platelets_decreased")
    return _out(grade, count, lln)


def grade_neutrophils_decreased(count, lln, unit="10^9/L"):
    """CTCAE v5.0 grade of "Neutrophil count decreased" (0–4, -1 if not gradable).

    Definition: clinical_reference §5: G1 <LLN–1.5, G2 <1.5–1.0, G3 <1.0–0.5, G4 <0.5 × 10⁹/L.
    Units as for ``grade_platelets_decreased``.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    grade = _grade_count(count, lln, unit, (1.5, 1.0, 0.5), "grade_neutrophils_decreased")
    return _out(grade, count, lln)


def grade_hyperkalemia(value, uln, unit="mmol/L"):
    """CTCAE v5.0 grade of "Hyperkalemia" (0–4, -1 if not gradable).

    Definition: clinical_reference §5: G1 >ULN–5.5, G2 >5.5–6.0, G3 >6.0–7.0, G4 >7.0 mmol/L
    (mEq/L is the same number).

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    _unit_key(unit, _K_UNITS, "grade_hyperkalemia")
    grade = _grade_high(_arr(value), _arr(uln), (5.5, 6.0, 7.0))
    return _out(grade, value, uln)


def grade_hypokalemia(value, lln, unit="mmol/L", worst_case=False):
    """CTCAE v5.0 grade of "Hypokalemia" (0–4, -1 if not gradable).

    Definition: clinical_reference §5: G1 <LLN–3.0, G3 <3.0–2.5, G4 <2.5 mmol/L. Grade 2 has
    the same range as grade 1 plus symptoms or intervention, which labs cannot show, so
    <LLN–3.0 is grade 1. ``worst_case=True`` applies admiral's convention and makes it grade 2.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    _unit_key(unit, _K_UNITS, "grade_hypokalemia")
    grade = _grade_low(_arr(value), _arr(lln), (None, 3.0, 2.5))
    if worst_case:
        grade = np.where(grade == 1, 2, grade)
    return _out(grade, value, lln)


def grade_hypoglycemia(value, lln, unit="mmol/L"):
    """CTCAE v5.0 grade of "Hypoglycemia" (0–4, -1 if not gradable).

    Definition: clinical_reference §5: G1 <LLN–3.0, G2 <3.0–2.2, G3 <2.2–1.7, G4 <1.7 mmol/L;
    with ``unit="mg/dL"`` CTCAE's own mg/dL cut-offs 55, 40, 30 are used (not a conversion).
    Hyperglycemia has no numeric CTCAE v5.0 criteria and is not graded from labs.

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    key = _unit_key(unit, tuple(_GLUC_CUTS), "grade_hypoglycemia")
    grade = _grade_low(_arr(value), _arr(lln), _GLUC_CUTS[key])
    return _out(grade, value, lln)


def grade_hypoalbuminemia(value, lln, unit="g/L"):
    """CTCAE v5.0 grade of "Hypoalbuminemia" (0–3, -1 if not gradable).

    Definition: clinical_reference §5: G1 <LLN–30, G2 <30–20, G3 <20 g/L; G4
    (life-threatening) is clinical. ``unit`` is "g/L" (default) or "g/dL" (cut-offs 3 and 2).

    Returns: int grades of the broadcast shape (int for scalar input).
    """
    key = _unit_key(unit, _ALB_UNITS, "grade_hypoalbuminemia")
    scale = 0.1 if key == "g/dL" else 1.0
    grade = _grade_low(_arr(value), _arr(lln), (30.0 * scale, 20.0 * scale, None))
    return _out(grade, value, lln)


# --------------------------------------------------------------------------------------------
# generic dispatch
# --------------------------------------------------------------------------------------------
class CtcaeTerm(NamedTuple):
    """One gradable CTCAE term of a lab parameter.

    ``inputs`` names the grader's positional arguments among value, lln, uln, baseline, unit;
    ``unit`` in ``inputs`` means the grader converts units itself.
    """

    term: str
    direction: str  # "high" or "low"
    grader: Callable
    inputs: tuple[str, ...]


#: PARAMCD -> gradable terms (clinical_reference §5). GLUC grades hypoglycemia only:
#: CTCAE v5.0 hyperglycemia has no lab cut-offs.
CTCAE_LAB_TERMS: dict[str, tuple[CtcaeTerm, ...]] = {
    "CREAT": (CtcaeTerm("Creatinine increased", "high", grade_creatinine_increased, ("value", "uln", "baseline")),),
    "ALT": (CtcaeTerm("Alanine aminotransferase increased", "high", grade_alt_ast_increased, ("value", "uln", "baseline")),),
    "AST": (CtcaeTerm("Aspartate aminotransferase increased", "high", grade_alt_ast_increased, ("value", "uln", "baseline")),),
    "BILI": (CtcaeTerm("Blood bilirubin increased", "high", grade_bilirubin_increased, ("value", "uln", "baseline")),),
    "ALP": (CtcaeTerm("Alkaline phosphatase increased", "high", grade_alp_increased, ("value", "uln", "baseline")),),
    "HGB": (CtcaeTerm("Anemia", "low", grade_anemia, ("value", "lln", "unit")),),
    "PLAT": (CtcaeTerm("Platelet count decreased", "low", grade_platelets_decreased, ("value", "lln", "unit")),),
    "NEUT": (CtcaeTerm("Neutrophil count decreased", "low", grade_neutrophils_decreased, ("value", "lln", "unit")),),
    "K": (
        CtcaeTerm("Hyperkalemia", "high", grade_hyperkalemia, ("value", "uln", "unit")),
        CtcaeTerm("Hypokalemia", "low", grade_hypokalemia, ("value", "lln", "unit")),
    ),
    "GLUC": (CtcaeTerm("Hypoglycemia", "low", grade_hypoglycemia, ("value", "lln", "unit")),),
    "ALB": (CtcaeTerm("Hypoalbuminemia", "low", grade_hypoalbuminemia, ("value", "lln", "unit")),),
}


def ctcae_grade(paramcd, value, lln=None, uln=None, baseline=None, unit=None) -> pd.DataFrame:
    """CTCAE v5.0 grades of lab records, one row per record × gradable term of its parameter.

    Definition: clinical_reference §5, through ``CTCAE_LAB_TERMS`` (K gives two rows per
    record, hyperkalemia and hypokalemia; GLUC gives hypoglycemia only). All arguments
    broadcast against ``value`` (e.g. ADLB's PARAMCD, AVAL, A1LO, A1HI, BASE, AVALU); ``unit``
    None means each grader's default unit and is ignored by the ULN-multiple terms.

    Raises ValueError, before grading anything, if a PARAMCD is not in ``CTCAE_LAB_TERMS``
    (filter with ``isin(CTCAE_LAB_TERMS)`` first) or a unit is not supported.

    Returns: a DataFrame with one row per input record × term, ordered by record then term,
    columns ``row`` (position in the input), ``PARAMCD``, ``term``, ``direction`` and
    ``grade`` (int, -1 = not gradable).
    """
    values = np.atleast_1d(_arr(value))
    n = values.size
    frame = pd.DataFrame(
        {
            "row": np.arange(n),
            "PARAMCD": np.broadcast_to(np.asarray(paramcd, dtype=object), (n,)),
            "value": values,
            "lln": np.broadcast_to(_arr(lln), (n,)),
            "uln": np.broadcast_to(_arr(uln), (n,)),
            "baseline": np.broadcast_to(_arr(baseline), (n,)),
            "unit": np.broadcast_to(np.asarray(unit, dtype=object), (n,)),
        }
    )
    unknown = sorted(set(frame["PARAMCD"].astype(str)) - set(CTCAE_LAB_TERMS))
    if unknown:
        raise ValueError(
            f"ctcae_grade: PARAMCD {', '.join(unknown)} has no CTCAE v5.0 lab grading here; "
            f"gradable: {', '.join(CTCAE_LAB_TERMS)}. Filter with isin(CTCAE_LAB_TERMS) first."
        )
    frame["unit"] = frame["unit"].where(frame["unit"].notna(), None)
    pieces = []
    # Group by parameter and unit because graders take one unit per call.
    for (code, unit_value), group in frame.groupby(["PARAMCD", frame["unit"].fillna("")], sort=False):
        for order, spec in enumerate(CTCAE_LAB_TERMS[code]):
            args = {
                "value": group["value"].to_numpy(),
                "lln": group["lln"].to_numpy(),
                "uln": group["uln"].to_numpy(),
                "baseline": group["baseline"].to_numpy(),
                "unit": unit_value or None,
            }
            grades = spec.grader(*(args[name] for name in spec.inputs))
            pieces.append(
                pd.DataFrame(
                    {
                        "row": group["row"].to_numpy(),
                        "PARAMCD": code,
                        "term": spec.term,
                        "direction": spec.direction,
                        "grade": np.asarray(grades, dtype=int),
                        "_order": order,
                    }
                )
            )
    if not pieces:
        return pd.DataFrame({"row": [], "PARAMCD": [], "term": [], "direction": [], "grade": []}).astype({"row": int, "grade": int})
    out = pd.concat(pieces, ignore_index=True).sort_values(["row", "_order"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)
