"""Adverse-event terms, defined once: severity, relatedness, treatment emergence, the actions
that stop study drug, a fatal AE and an AE of special interest.

The analyses (``dashboard.analyses.adverse_events``), the loader's variable resolution (DTHFL from
a fatal AE) and the cross-domain consistency checks all call these functions, so an AE is fatal,
related or severe by one rule everywhere (docs/definitions.md; ICH E3 §12.2, CTCAE v5). Each
takes pandas Series and is vectorised: text values are normalised once per distinct value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEVERITY_LEVELS = ("MILD", "MODERATE", "SEVERE")
MISSING = "Missing"
SEVERITY_RANK = {MISSING: 0, "MILD": 1, "MODERATE": 2, "SEVERE": 3}
GRADE_TO_SEVERITY = {1: "MILD", 2: "MODERATE", 3: "SEVERE", 4: "SEVERE", 5: "SEVERE"}

#: AEREL values meaning "not related" (upper-cased, trimmed). Sponsor 5-point scale, the CDISC
#: pilot's NONE/REMOTE and a Y/N flag. "Unlikely" and "remote" go with not related, as in the
#: usual binary split of a causality scale.
NOT_RELATED_TERMS = frozenset({
    "NOT RELATED", "UNRELATED", "NONE", "N", "NO", "UNLIKELY RELATED", "UNLIKELY", "REMOTE", "NOT SUSPECTED",
    "DOUBTFUL",
})
#: AEREL values meaning "related".
RELATED_TERMS = frozenset({
    "RELATED", "Y", "YES", "POSSIBLY RELATED", "POSSIBLE", "POSSIBLY", "PROBABLY RELATED", "PROBABLE", "PROBABLY",
    "DEFINITELY RELATED", "DEFINITE", "DEFINITELY", "CERTAIN", "LIKELY", "SUSPECTED",
})

#: AEACN values counted as "leading to discontinuation or interruption" (CDISC CT ACN plus the
#: infusion-specific rate reduction and delay).
DISCONTINUATION_ACTIONS = frozenset({
    "DRUG WITHDRAWN", "DRUG INTERRUPTED", "DOSE REDUCED", "DOSE RATE REDUCED", "DOSE DELAYED",
    "DRUG DISCONTINUED", "TREATMENT DISCONTINUED",
})

#: Default adverse events of special interest: infusion-related reactions (matched on the PT,
#: case- and hyphen-insensitive), in addition to AESIFL='Y'.
DEFAULT_AESI_TERMS = (
    "Infusion related reaction", "Infusion reaction", "Infusion related hypersensitivity reaction",
    "Anaphylactic reaction", "Anaphylactoid reaction", "Cytokine release syndrome",
)


def norm_text(value) -> str:
    """One value upper-cased, hyphens as blanks, blanks collapsed; "" for missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return ""
    return " ".join(str(value).upper().replace("-", " ").split())


def norm_series(values: pd.Series) -> pd.Series:
    """:func:`norm_text` of every value, computed once per distinct value (vectorised lookup)."""
    values = pd.Series(values)
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    normed = np.array([norm_text(v) for v in distinct] + [""], dtype=object)   # code -1 (missing) -> ""
    return pd.Series(normed[codes], index=values.index, dtype=object)


def _normalised(terms) -> set[str]:
    return {norm_text(t) for t in terms}


def derive_related(aerel: pd.Series) -> pd.Series:
    """True where the AE is related to study drug, from AEREL. The first rule that applies wins:

    1. missing or blank AEREL -> related (conservative: an unassessed AE is not dismissed);
    2. a "not related" value (:data:`NOT_RELATED_TERMS`: NOT RELATED, UNLIKELY RELATED, NONE,
       REMOTE, N, ...) -> not related;
    3. a "related" value (:data:`RELATED_TERMS`: RELATED, POSSIBLY/PROBABLY RELATED, POSSIBLE,
       PROBABLE, Y, ...) -> related;
    4. any other value -> related (conservative; an unknown vocabulary is not dismissed).

    Matching ignores case, repeated blanks and hyphens.
    """
    norm = norm_series(aerel)
    return ~norm.isin(_normalised(NOT_RELATED_TERMS)) | (norm == "")


def derive_severity(aesev: pd.Series, aetoxgr: pd.Series | None = None) -> pd.Series:
    """Severity MILD/MODERATE/SEVERE/Missing. The first rule that applies wins:

    1. AESEV is MILD, MODERATE or SEVERE (any case) -> that value;
    2. AETOXGR (CTCAE grade) 1 -> MILD, 2 -> MODERATE, 3, 4 or 5 -> SEVERE (a fractional grade
       is truncated);
    3. otherwise -> "Missing".
    """
    sev = norm_series(aesev)
    out = sev.where(sev.isin(SEVERITY_LEVELS), MISSING).astype(object)
    if aetoxgr is not None:
        grade = pd.to_numeric(pd.Series(aetoxgr, index=out.index), errors="coerce")
        from_grade = np.trunc(grade).map(GRADE_TO_SEVERITY)
        out = out.where((out != MISSING) | from_grade.isna(), from_grade)
    return out


def derive_trtemfl(astdt: pd.Series, trtsdt: pd.Series) -> pd.Series:
    """Treatment-emergent flag 'Y'/'N' derived from dates (used when ADAE has no TRTEMFL).

    Definition: clinical_reference §7 (onset on or after the first dose; an AE with an unknown
    onset could have started after dosing). Dates compare as dates (no time). In order:

    1. ASTDT missing -> 'Y';
    2. TRTSDT missing (never dosed) -> 'N';
    3. ASTDT >= TRTSDT -> 'Y';
    4. otherwise -> 'N'.

    Worsening of a pre-existing event and the SAP's end-of-observation window are not
    derivable from ADAE alone and are not applied.
    """
    start = pd.to_datetime(astdt)
    first = pd.to_datetime(trtsdt)
    out = np.where(start.isna(), "Y", np.where(first.isna(), "N", np.where(start >= first, "Y", "N")))
    return pd.Series(out, index=astdt.index, dtype=object)


def is_discontinuation_action(aeacn: pd.Series) -> pd.Series:
    """True where AEACN is an action that stops, interrupts or reduces study drug
    (:data:`DISCONTINUATION_ACTIONS`, any case); missing is False."""
    return norm_series(aeacn).isin(_normalised(DISCONTINUATION_ACTIONS))


def is_fatal(aeout: pd.Series, aesdth: pd.Series, grade: pd.Series) -> pd.Series:
    """True where AEOUT is FATAL, AESDTH='Y' or AETOXGR is 5."""
    g = pd.to_numeric(grade, errors="coerce")
    return (norm_series(aeout) == "FATAL") | (norm_series(aesdth) == "Y") | (g == 5)


def is_serious(aeser: pd.Series) -> pd.Series:
    """True where AESER is 'Y' (any case); missing is False."""
    return norm_series(aeser) == "Y"


def is_aesi(pt: pd.Series, aesifl: pd.Series, terms: tuple[str, ...] | None) -> pd.Series:
    """True for an adverse event of special interest. With ``terms`` (spec option ``aesi_terms``):
    the PT is in that list. Without: AESIFL='Y' or the PT is in :data:`DEFAULT_AESI_TERMS`.
    PTs match ignoring case and hyphens."""
    norm = norm_series(pt)
    if terms:
        return norm.isin(_normalised(terms))
    return (norm_series(aesifl) == "Y") | norm.isin(_normalised(DEFAULT_AESI_TERMS))
