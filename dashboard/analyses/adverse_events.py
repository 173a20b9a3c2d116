"""Adverse events: incidence by SOC/PT, severity, relatedness, SAE listings, arm comparisons and
timelines relative to infusions (ICH E3 §12.2; clinical_reference §7).

Layers (tern style): ``derive_*`` functions turn ADAE values into analysis flags (tested at
the lowest level); :func:`ae_records` gives one row per AE of the population with every flag;
each registered table counts those rows against ADSL denominators; ``_*_display`` wrappers
round for the screen.

Shared definitions (every table below uses them; the argument glossary is in
``dashboard/filters.py``):

- **Treatment-emergent** (clinical_reference §7): TRTEMFL='Y' when the extract carries TRTEMFL
  (any non-missing value); otherwise derived by :func:`derive_trtemfl` (ASTDT >= TRTSDT; a
  missing onset date counts as treatment-emergent). :func:`teae_rule` says which applies.
- **Counting**: a subject counts once per row (category, SOC, PT), at the worst severity and
  the closest relationship; events (E) are records. % = 100·n/N.
- **Denominator**: N = subjects of the arm in the analysis population (``spec.population``,
  default SAFFL='Y', as treated), from ADSL via :func:`dashboard.population.arm_denominators`.
- **Data cut**: records with ASTDT after ``spec.data_cut`` are dropped (missing ASTDT kept);
  an AE ending after the cut is ongoing at the cut.
- **AE filters** (spec options, applied to every AE table): ``ae_serious`` ('Y'/'N'),
  ``ae_severities`` (tuple of MILD/MODERATE/SEVERE/Missing), ``ae_related`` ('related'/'not
  related'), ``ae_socs`` (tuple of SOC names), ``ae_infusion_window`` (days: onset minus the
  most recent infusion on or before onset <= the window; needs ADEX). Table options:
  ``min_pct`` (PT threshold, default 0), ``aesi_terms`` (tuple of PTs), ``control_arm``,
  ``listing_soc`` / ``listing_pt`` (restrict ``ae_listing``).
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd

from dashboard import db, stats
from dashboard.analyses.common import count_subjects, mark_not_available, not_available_text, with_total_rows
from dashboard.filters import TOTAL_ARM, FilterSpec
from dashboard.population import arm_denominators, run
from dashboard.tables import UNBLINDED_ONLY, NotInExtract

# --------------------------------------------------------------------------------------------
# vocabularies and rules
# --------------------------------------------------------------------------------------------
SEVERITY_LEVELS = ("MILD", "MODERATE", "SEVERE")
MISSING = "Missing"
_SEVERITY_RANK = {MISSING: 0, "MILD": 1, "MODERATE": 2, "SEVERE": 3}
_GRADE_TO_SEVERITY = {1: "MILD", 2: "MODERATE", 3: "SEVERE", 4: "SEVERE", 5: "SEVERE"}

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

#: Overview categories, in display order (public keys of the ``ae_overview`` CSV).
OVERVIEW_CATEGORIES = (
    ("any_teae", "Any TEAE"),
    ("related_teae", "Related TEAE"),
    ("severe_teae", "Severe (or grade >= 3) TEAE"),
    ("serious_teae", "Serious TEAE"),
    ("teae_leading_to_discontinuation", "TEAE leading to discontinuation or interruption of study drug"),
    ("aesi", "Adverse event of special interest (TEAE)"),
    ("fatal_teae", "TEAE with fatal outcome"),
    ("deaths", "Deaths (ADSL DTHFL)"),
)

RD_METHOD = "Miettinen-Nurminen score 95% CI; RR: log (Katz) 95% CI, 0.5 added when one arm has 0"
EAIR_METHOD = "Exact Poisson 95% CI (Garwood); exposure to first event or end of observation"
CUMINC_METHOD = "1 - Kaplan-Meier; censored at end of observation"

_TERM_KEYS = ["soc", "pt"]


def _norm(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return ""
    return " ".join(str(value).upper().replace("-", " ").split())


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
    norm = aerel.map(_norm)
    return ~norm.isin({_norm(t) for t in NOT_RELATED_TERMS}) | (norm == "")


def derive_severity(aesev: pd.Series, aetoxgr: pd.Series | None = None) -> pd.Series:
    """Severity MILD/MODERATE/SEVERE/Missing. The first rule that applies wins:

    1. AESEV is MILD, MODERATE or SEVERE (any case) -> that value;
    2. AETOXGR (CTCAE grade) 1 -> MILD, 2 -> MODERATE, 3, 4 or 5 -> SEVERE;
    3. otherwise -> "Missing".
    """
    sev = aesev.map(_norm)
    out = sev.where(sev.isin(SEVERITY_LEVELS), MISSING).astype(object)
    if aetoxgr is not None:
        grade = pd.to_numeric(aetoxgr, errors="coerce")
        from_grade = grade.map(lambda g: _GRADE_TO_SEVERITY.get(int(g)) if pd.notna(g) else None)
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
    return aeacn.map(_norm).isin({_norm(a) for a in DISCONTINUATION_ACTIONS})


def is_fatal(aeout: pd.Series, aesdth: pd.Series, grade: pd.Series) -> pd.Series:
    """True where AEOUT is FATAL, AESDTH='Y' or AETOXGR is 5."""
    g = pd.to_numeric(grade, errors="coerce")
    return (aeout.map(_norm) == "FATAL") | (aesdth.map(_norm) == "Y") | (g == 5)


def is_aesi(pt: pd.Series, aesifl: pd.Series, terms: tuple[str, ...] | None) -> pd.Series:
    """True for an adverse event of special interest. With ``terms`` (spec option ``aesi_terms``):
    the PT is in that list. Without: AESIFL='Y' or the PT is in :data:`DEFAULT_AESI_TERMS`.
    PTs match ignoring case and hyphens."""
    norm = pt.map(_norm)
    if terms:
        return norm.isin({_norm(t) for t in terms})
    return (aesifl.map(_norm) == "Y") | norm.isin({_norm(t) for t in DEFAULT_AESI_TERMS})


def aesi_rule(spec: FilterSpec) -> str:
    """The AESI definition in use, as text for captions."""
    terms = spec.option("aesi_terms")
    if terms:
        return "AESI: PT in " + ", ".join(terms)
    return "AESI: AESIFL='Y' or PT in " + ", ".join(DEFAULT_AESI_TERMS)


def control_arm(arms: list[str], requested: str | None = None) -> str:
    """The comparator: ``requested`` when it is one of ``arms``; else the first arm whose label
    contains "placebo" (any case); else the first arm."""
    if requested and requested in arms:
        return requested
    for arm in arms:
        if "placebo" in str(arm).lower():
            return arm
    return arms[0]


# --------------------------------------------------------------------------------------------
# the record set every table counts
# --------------------------------------------------------------------------------------------
def _require_adae(con) -> set[str]:
    if not db.table_exists(con, "adae"):
        raise NotInExtract("ADAE (adverse events) is not in this extract.")
    return set(db.table_columns(con, "adae"))


def _col(cols: set[str], name: str, alias: str, cast: str = "VARCHAR") -> str:
    return f'a."{name}" AS {alias}' if name in cols else f"NULL::{cast} AS {alias}"


def _has_values(con, column: str) -> bool:
    """True when ADAE has ``column`` with at least one non-missing value."""
    if column not in _require_adae(con):
        return False
    return bool(db.run(con, f'SELECT count(nullif(trim(CAST("{column}" AS VARCHAR)), \'\')) AS n FROM adae')["n"].iloc[0])


def has_trtemfl(con) -> bool:
    """True when ADAE carries TRTEMFL with at least one value (then it defines TEAEs)."""
    return _has_values(con, "TRTEMFL")


def teae_rule(con) -> str:
    """Which treatment-emergent rule applies to this extract (shown under the AE tables)."""
    if has_trtemfl(con):
        return "Treatment-emergent: TRTEMFL='Y' as supplied in ADAE."
    return ("Treatment-emergent: DERIVED as ASTDT >= TRTSDT (ADAE has no TRTEMFL); an AE with a missing "
            "onset date counts as treatment-emergent.")


def has_infusions(con) -> bool:
    """True when ADEX with administration dates is loaded (infusion-relative views possible)."""
    return db.table_exists(con, "adex") and "ASTDT" in db.table_columns(con, "adex")


def _infusions_sql(con) -> str:
    """Given administrations (EXOCCUR not 'N', ASTDT present) up to the data cut: USUBJID, d."""
    from dashboard.resolution import exposure_form

    cols = set(db.table_columns(con, "adex"))
    given = "coalesce(EXOCCUR, 'Y') <> 'N' AND " if "EXOCCUR" in cols else ""
    form = exposure_form(con)   # parameter-form ADEX: only the administration parameter's records
    given += f"({form.where}) AND " if form is not None else ""
    return (f"SELECT DISTINCT USUBJID, ASTDT AS d FROM adex WHERE {given} ASTDT IS NOT NULL "
            "AND ($data_cut IS NULL OR ASTDT <= $data_cut)")


def _study_cut(con, spec: FilterSpec) -> dt.date | None:
    """The data cut in force: the spec's, else the study's (manifest or latest date)."""
    if spec.data_cut:
        return spec.data_cut
    value = db.run(con, "SELECT data_cut FROM study")["data_cut"].iloc[0] if db.table_exists(con, "study") else ""
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def ae_records(con, spec: FilterSpec) -> pd.DataFrame:
    """Every AE record of the population's subjects with the analysis flags (no AE filter applied).

    Definition: module docstring (TEAE, severity, relatedness, AESI, discontinuation, fatal).
    Population: ``spec.population``. Records with ASTDT after the data cut are dropped.

    Returns one row per ADAE record: ``usubjid``, ``arm``, ``arm_order``, ``aeseq``, ``soc``
    (AEBODSYS; "Uncoded" when missing), ``pt`` (AEDECOD; AETERM, then "Uncoded", when missing),
    ``aeterm``, ``astdt``, ``aendt`` (empty when ongoing at the cut), ``ongoing``, ``astdy``
    (study day, no day 0), ``day_from_first_dose`` (ASTDT − TRTSDT + 1, 1 when ASTDT missing;
    for exposure), ``days_since_last_infusion`` (ASTDT minus the latest infusion on or before
    it; empty without ADEX), ``severity``, ``aetoxgr``, ``severe``, ``serious``, ``aerel``,
    ``related``, ``aeacn``, ``discontinuation``, ``aeout``, ``fatal``, ``aesi``, ``teae``,
    ``SRC_FILE``, ``SRC_ROW``.
    """
    cols = _require_adae(con)
    infusions = has_infusions(con)
    last_inf = (f"(SELECT max(i.d) FROM ({_infusions_sql(con)}) i WHERE i.USUBJID = a.USUBJID AND i.d <= a.ASTDT)"
                if infusions and "ASTDT" in cols else "NULL::DATE")
    astdt = 'a."ASTDT"' if "ASTDT" in cols else "NULL::DATE"
    aendt = 'a."AENDT"' if "AENDT" in cols else "NULL::DATE"
    aeterm = "nullif(trim(a.\"AETERM\"), '')" if "AETERM" in cols else "NULL"
    frame = run(con, f"""
        SELECT p.usubjid, p.arm, p.arm_order, p.trtsdt,
               {_col(cols, "AESEQ", "aeseq", "DOUBLE")},
               coalesce(nullif(trim(a."AEBODSYS"), ''), 'Uncoded') AS soc,
               coalesce(nullif(trim(a."AEDECOD"), ''), {aeterm}, 'Uncoded') AS pt,
               {_col(cols, "AETERM", "aeterm")},
               {astdt} AS astdt,
               CASE WHEN CAST($cut AS DATE) IS NOT NULL AND {aendt} > CAST($cut AS DATE) THEN NULL ELSE {aendt} END AS aendt,
               {aendt} IS NULL OR (CAST($cut AS DATE) IS NOT NULL AND {aendt} > CAST($cut AS DATE)) AS ongoing,
               CASE WHEN {astdt} IS NULL OR p.trtsdt IS NULL THEN NULL
                    WHEN {astdt} >= p.trtsdt THEN date_diff('day', p.trtsdt, {astdt}) + 1
                    ELSE date_diff('day', p.trtsdt, {astdt}) END AS astdy,
               CASE WHEN {astdt} IS NULL THEN 1 ELSE date_diff('day', p.trtsdt, {astdt}) + 1 END AS day_from_first_dose,
               date_diff('day', {last_inf}, {astdt}) AS days_since_last_infusion,
               {_col(cols, "AESEV", "aesev")}, {_col(cols, "AETOXGR", "aetoxgr")},
               {_col(cols, "AESER", "aeser")}, {_col(cols, "AEREL", "aerel")},
               {_col(cols, "AEACN", "aeacn")}, {_col(cols, "AEOUT", "aeout")},
               {_col(cols, "AESDTH", "aesdth")}, {_col(cols, "AESIFL", "aesifl")},
               {_col(cols, "TRTEMFL", "trtemfl")},
               a.SRC_FILE, a.SRC_ROW
        FROM {{population}} p JOIN adae a ON a.USUBJID = p.usubjid
        WHERE $data_cut IS NULL OR {astdt} IS NULL OR {astdt} <= $data_cut
        ORDER BY p.arm_order, p.usubjid, {astdt} NULLS LAST, a.SRC_ROW""", spec, cut=_study_cut(con, spec))
    frame["severity"] = derive_severity(frame["aesev"], frame["aetoxgr"])
    grade = pd.to_numeric(frame["aetoxgr"], errors="coerce")
    frame["severe"] = (frame["severity"] == "SEVERE") | (grade >= 3)
    frame["serious"] = frame["aeser"].map(_norm) == "Y"
    frame["related"] = derive_related(frame["aerel"])
    frame["discontinuation"] = is_discontinuation_action(frame["aeacn"])
    frame["fatal"] = is_fatal(frame["aeout"], frame["aesdth"], frame["aetoxgr"])
    frame["aesi"] = is_aesi(frame["pt"], frame["aesifl"], spec.option("aesi_terms"))
    if has_trtemfl(con):
        frame["teae"] = frame["trtemfl"].map(_norm) == "Y"
    else:
        frame["teae"] = derive_trtemfl(frame["astdt"], frame["trtsdt"]) == "Y"
    frame["day_from_first_dose"] = pd.to_numeric(frame["day_from_first_dose"], errors="coerce")
    return frame.drop(columns=["aesev", "aeser", "aesdth", "aesifl", "trtemfl"]).reset_index(drop=True)


def apply_ae_filters(records: pd.DataFrame, spec: FilterSpec) -> pd.DataFrame:
    """The records that pass the AE filters in ``spec`` options (see module docstring).

    ``ae_infusion_window`` keeps AEs whose onset is 0..window days after the most recent
    infusion (so 1 = same or next calendar day, "within 24 h" at date precision).
    """
    keep = pd.Series(True, index=records.index)
    serious = spec.option("ae_serious")
    if serious in ("Y", "N"):
        keep &= records["serious"] == (serious == "Y")
    severities = spec.option("ae_severities")
    if severities:
        keep &= records["severity"].isin(severities)
    related = spec.option("ae_related")
    if related in ("related", "not related"):
        keep &= records["related"] == (related == "related")
    socs = spec.option("ae_socs")
    if socs:
        keep &= records["soc"].isin(socs)
    window = spec.option("ae_infusion_window")
    if window is not None:
        days = pd.to_numeric(records["days_since_last_infusion"], errors="coerce")
        keep &= days.notna() & (days >= 0) & (days <= float(window))
    return records[keep].reset_index(drop=True)


def _check_window(con, spec: FilterSpec) -> None:
    if spec.option("ae_infusion_window") is not None and not has_infusions(con):
        raise NotInExtract("the time-window filter needs infusion dates (ADEX), which this extract lacks.")


def teae_records(con, spec: FilterSpec) -> pd.DataFrame:
    """Treatment-emergent records of the population after the AE filters (see :func:`ae_records`)."""
    _check_window(con, spec)
    recs = ae_records(con, spec)
    return apply_ae_filters(recs[recs["teae"]], spec)


def describe_ae_filters(spec: FilterSpec) -> list[str]:
    """Human-readable list of the AE filters in use (for captions)."""
    out = []
    if spec.option("ae_serious") in ("Y", "N"):
        out.append("Serious only" if spec.option("ae_serious") == "Y" else "Non-serious only")
    if spec.option("ae_severities"):
        out.append("Severity: " + ", ".join(spec.option("ae_severities")))
    if spec.option("ae_related") in ("related", "not related"):
        out.append("Related only" if spec.option("ae_related") == "related" else "Not related only")
    if spec.option("ae_socs"):
        out.append("SOC: " + "; ".join(spec.option("ae_socs")))
    if spec.option("ae_infusion_window") is not None:
        w = int(spec.option("ae_infusion_window"))
        out.append(f"Onset within {w} day{'s' if w != 1 else ''} after an infusion")
    return out


# --------------------------------------------------------------------------------------------
# overview
# --------------------------------------------------------------------------------------------
def _deaths(con, spec: FilterSpec) -> pd.DataFrame | None:
    cols = set(db.table_columns(con, "adsl"))
    if "DTHFL" not in cols and "DTHDT" not in cols:
        return None
    flag = "s.DTHFL = 'Y'" if "DTHFL" in cols else "s.DTHDT IS NOT NULL"
    date = "s.DTHDT" if "DTHDT" in cols else "NULL::DATE"
    return run(con, f"""SELECT p.usubjid, p.arm FROM {{population}} p JOIN adsl s ON s.USUBJID = p.usubjid
                        WHERE {flag} AND ($data_cut IS NULL OR {date} IS NULL OR {date} <= $data_cut)""", spec)


def _overview_needs(con) -> dict[str, str]:
    """Overview categories whose inputs this extract lacks, with what each needs."""
    from dashboard.resolution import unavailable

    needs = {}
    if not _has_values(con, "AEACN"):
        needs["teae_leading_to_discontinuation"] = "AEACN (action taken with study treatment)"
    if not _has_values(con, "AESER"):
        needs["serious_teae"] = "AESER (serious event)"
    if not (_has_values(con, "AESEV") or _has_values(con, "AETOXGR")):
        needs["severe_teae"] = "AESEV (severity) or AETOXGR (toxicity grade)"
    if not any(_has_values(con, c) for c in ("AEOUT", "AESDTH", "AETOXGR")):
        needs["fatal_teae"] = "AEOUT (outcome), AESDTH or AETOXGR"
    if unavailable(con, "ADSL", "DTHFL"):
        needs["deaths"] = "ADSL DTHFL or DTHDT, or a fatal AE (AEOUT, AESDTH, AETOXGR)"
    return needs


def ae_overview(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects with any TEAE, related, severe, serious, leading to discontinuation/interruption,
    AESI and fatal TEAEs (n, %, events), and deaths, by arm.

    Definition: ICH E3 §12.2.2 overview; clinical_reference §7; flags as in :func:`ae_records`
    (related: :func:`derive_related`, missing AEREL = related; severe: AESEV SEVERE or AETOXGR >=
    3; discontinuation: :func:`is_discontinuation_action`; AESI: :func:`is_aesi`; fatal:
    :func:`is_fatal`). Deaths: ADSL DTHFL='Y' (DTHDT up to the cut), only when ADSL has DTHFL/DTHDT.
    Population: ``spec.population``. Denominator: N per arm from ADSL.

    Returns one row per category x arm (every row present, zeros included, Total last):
    ``category`` (stable key), ``arm``, ``n``, ``N``, ``pct``, ``events``, ``note`` (how the
    category was derived for this extract).
    """
    recs = teae_records(con, spec)
    den = arm_denominators(con, spec)
    cols = _require_adae(con)
    parts = [recs.assign(category="any_teae")]
    for key, flag in (("related_teae", "related"), ("severe_teae", "severe"), ("serious_teae", "serious"),
                      ("teae_leading_to_discontinuation", "discontinuation"), ("aesi", "aesi"),
                      ("fatal_teae", "fatal")):
        parts.append(recs[recs[flag]].assign(category=key))
    rows = pd.concat(parts, ignore_index=True)[["usubjid", "arm", "category"]]
    keys = [k for k, _ in OVERVIEW_CATEGORIES if k != "deaths"]
    deaths = _deaths(con, spec)
    if deaths is not None:
        rows = pd.concat([rows, deaths.assign(category="deaths")], ignore_index=True)
    keys.append("deaths")
    out = count_subjects(rows, den, ["category"], levels=pd.DataFrame({"category": keys}), events=True)
    notes = {
        "any_teae": teae_rule(con),
        "related_teae": "AEREL mapped to related/not related; missing AEREL counted as related." if "AEREL" in cols
        else "AEREL not in this extract: every TEAE counted as related (conservative).",
        "severe_teae": "AESEV = SEVERE, or AETOXGR >= 3.",
        "serious_teae": "AESER = 'Y'." if "AESER" in cols else "AESER not in this extract.",
        "teae_leading_to_discontinuation": "AEACN: " + ", ".join(sorted(DISCONTINUATION_ACTIONS)) + ".",
        "aesi": aesi_rule(spec) + ".",
        "fatal_teae": "AEOUT = FATAL, AESDTH = 'Y' or AETOXGR = 5.",
        "deaths": "ADSL DTHFL = 'Y' (death date up to the data cut); any cause, any time.",
    }
    out["note"] = out["category"].map(notes).fillna("")
    for key, needs in _overview_needs(con).items():
        out = mark_not_available(out, out["category"] == key, not_available_text(needs))
    order = {k: i for i, k in enumerate(keys)}
    arm_order = dict(zip(den["arm"], den["arm_order"]))
    out = out.assign(_c=out["category"].map(order), _a=out["arm"].map(arm_order))
    out = out.sort_values(["_c", "_a"], kind="stable").drop(columns=["_c", "_a"])
    return out[["category", "arm", "n", "N", "pct", "events", "note"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# SOC / PT incidence
# --------------------------------------------------------------------------------------------
def _total_arm(den: pd.DataFrame) -> str:
    """The column that ranks terms: Total when present, else the single (or pooled) arm."""
    return TOTAL_ARM if (den["arm"] == TOTAL_ARM).any() else str(den["arm"].iloc[0])


def _real_arms(den: pd.DataFrame) -> list[str]:
    return [a for a in den["arm"] if a != TOTAL_ARM]


def _soc_pt_counts(recs: pd.DataFrame, den: pd.DataFrame, min_pct: float) -> pd.DataFrame:
    """SOC rows (pt '') and PT rows, n/N/pct/events per arm, threshold applied, sorted."""
    columns = ["soc", "pt", "arm", "n", "N", "pct", "events"]
    if recs.empty:
        return pd.DataFrame(columns=columns)
    pts = count_subjects(recs, den, ["soc", "pt"], events=True)
    real = _real_arms(den)
    best = pts[pts["arm"].isin(real)].groupby(["soc", "pt"])["pct"].max().fillna(-1.0)
    kept = best[best >= float(min_pct or 0)].index
    pts = pts.set_index(["soc", "pt"]).loc[lambda f: f.index.isin(kept)].reset_index()
    socs = count_subjects(recs[recs["soc"].isin(pts["soc"])], den, ["soc"], events=True).assign(pt="")
    total = _total_arm(den)
    soc_rank = socs[socs["arm"] == total][["soc", "n"]].rename(columns={"n": "_soc_n"})
    pt_rank = pts[pts["arm"] == total][["soc", "pt", "n"]].rename(columns={"n": "_pt_n"})
    out = pd.concat([socs, pts], ignore_index=True)
    out = out.merge(soc_rank, on="soc", how="left").merge(pt_rank, on=["soc", "pt"], how="left")
    out["_is_pt"] = out["pt"] != ""
    out["_pt_n"] = out["_pt_n"].fillna(0)
    arm_order = dict(zip(den["arm"], den["arm_order"]))
    out["_a"] = out["arm"].map(arm_order)
    out = out.sort_values(["_soc_n", "soc", "_is_pt", "_pt_n", "pt", "_a"],
                          ascending=[False, True, True, False, True, True], kind="stable")
    return out[columns].reset_index(drop=True)


def ae_incidence_by_soc_pt(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects with a TEAE by MedDRA SOC and PT, by arm and total.

    Definition: ICH E3 §12.2.2, clinical_reference §7: a subject counts once per SOC and once per
    PT. Threshold (spec option ``min_pct``, default 0): a PT is kept when its % reaches the
    threshold in any arm; a SOC row stays when any of its PTs remains (its count covers every PT
    of the SOC). Sorted by SOC total n (desc), then PT total n (desc) within SOC, ties
    alphabetical. Population: ``spec.population``; Denominator: N per arm from ADSL.

    Returns one row per (SOC or PT) x arm: ``soc``, ``pt`` (empty on the SOC row), ``arm``, ``n``,
    ``N``, ``pct``, ``events``.
    """
    recs = teae_records(con, spec)
    return _soc_pt_counts(recs, arm_denominators(con, spec), spec.option("min_pct", 0))


def ae_related_by_soc_pt(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects with a related TEAE by SOC and PT (as :func:`ae_incidence_by_soc_pt`, restricted to
    related TEAEs: :func:`derive_related`, missing AEREL = related)."""
    recs = teae_records(con, spec)
    return _soc_pt_counts(recs[recs["related"]], arm_denominators(con, spec), spec.option("min_pct", 0))


def ae_by_severity(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects with a TEAE by SOC, PT and worst severity, by arm and total.

    Definition: clinical_reference §7: within each SOC row and each PT row a subject counts once,
    at the worst severity of their events in that row (MILD < MODERATE < SEVERE; "Missing" only
    when no event of the row has a severity; :func:`derive_severity`). Rows and threshold as in
    :func:`ae_incidence_by_soc_pt`.

    Returns one row per (SOC or PT) x severity x arm (zeros included): ``soc``, ``pt``,
    ``severity``, ``arm``, ``n``, ``N``, ``pct``.
    """
    recs = teae_records(con, spec)
    den = arm_denominators(con, spec)
    columns = ["soc", "pt", "severity", "arm", "n", "N", "pct"]
    base = _soc_pt_counts(recs, den, spec.option("min_pct", 0))
    if base.empty:
        return pd.DataFrame(columns=columns)
    levels = list(SEVERITY_LEVELS) + ([MISSING] if (recs["severity"] == MISSING).any() else [])
    rank = recs["severity"].map(_SEVERITY_RANK)
    recs = recs.assign(_rank=rank)
    by_pt = recs.groupby(["soc", "pt", "usubjid", "arm"], as_index=False)["_rank"].max()
    by_soc = recs.groupby(["soc", "usubjid", "arm"], as_index=False)["_rank"].max().assign(pt="")
    worst = pd.concat([by_soc, by_pt], ignore_index=True)
    label = {v: k for k, v in _SEVERITY_RANK.items()}
    worst["severity"] = worst["_rank"].map(label)
    terms = base[["soc", "pt"]].drop_duplicates()
    grid = terms.merge(pd.DataFrame({"severity": levels}), how="cross")
    worst = worst.merge(terms, on=["soc", "pt"])
    out = count_subjects(worst, den, ["soc", "pt", "severity"], levels=grid)
    return out[columns]


# --------------------------------------------------------------------------------------------
# listings
# --------------------------------------------------------------------------------------------
LISTING_COLUMNS = ["usubjid", "arm", "aeseq", "soc", "pt", "aeterm", "astdt", "aendt", "astdy",
                   "days_since_last_infusion", "severity", "aetoxgr", "serious", "aerel", "related", "aeacn",
                   "aeout", "teae", "SRC_FILE", "SRC_ROW"]


def _listing(recs: pd.DataFrame) -> pd.DataFrame:
    out = recs.copy()
    for flag in ("serious", "related", "teae"):
        out[flag] = np.where(out[flag], "Y", "N")
    return out[LISTING_COLUMNS].reset_index(drop=True)


def ae_serious_listing(con, spec: FilterSpec) -> pd.DataFrame:
    """Listing of serious adverse events (AESER='Y'), treatment-emergent or not, after the AE
    filters.

    Returns one row per SAE, ordered by arm, subject, onset: ``usubjid``, ``arm``, ``aeseq``,
    ``soc``, ``pt``, ``aeterm``, ``astdt``, ``aendt`` (empty = ongoing), ``astdy`` (study day),
    ``days_since_last_infusion``, ``severity``, ``aetoxgr``, ``serious``, ``aerel`` (as
    recorded), ``related`` (Y/N by :func:`derive_related`), ``aeacn``, ``aeout``, ``teae`` (Y/N),
    ``SRC_FILE``, ``SRC_ROW``.
    """
    _check_window(con, spec)
    recs = apply_ae_filters(ae_records(con, spec), spec)
    return _listing(recs[recs["serious"]])


def ae_listing(con, spec: FilterSpec) -> pd.DataFrame:
    """Listing of TEAEs after the AE filters, optionally of one SOC / PT (spec options
    ``listing_soc``, ``listing_pt``): the drill-down from an incidence row to its subjects.

    Returns one row per TEAE with the columns of :func:`ae_serious_listing`.
    """
    recs = teae_records(con, spec)
    if spec.option("listing_soc"):
        recs = recs[recs["soc"] == spec.option("listing_soc")]
    if spec.option("listing_pt"):
        recs = recs[recs["pt"] == spec.option("listing_pt")]
    return _listing(recs)


# --------------------------------------------------------------------------------------------
# arm comparisons (unblinded only)
# --------------------------------------------------------------------------------------------
def ae_risk_difference(con, spec: FilterSpec) -> pd.DataFrame:
    """Risk difference and relative risk per PT, each active arm vs the control arm.

    Definition: clinical_reference §7: RD = p_arm − p_control with the Miettinen–Nurminen score
    95% CI (:func:`dashboard.stats.risk_difference_miettinen_nurminen`, with the N/(N−1)
    factor); RR with the log (Katz) 95% CI, 0.5 added to every cell when exactly one arm has 0
    (:func:`dashboard.stats.relative_risk_ci`; undefined when both are 0). Control: spec option
    ``control_arm``, else the arm whose label contains "placebo", else the first arm
    (:func:`control_arm`). PTs and threshold as :func:`ae_incidence_by_soc_pt`. No p-values.

    Returns one row per PT x active arm: ``soc``, ``pt``, ``arm``, ``n``, ``N``, ``pct``,
    ``control_arm``, ``n_control``, ``N_control``, ``pct_control``, ``rd``, ``rd_lower``,
    ``rd_upper`` (percentage points), ``rr``, ``rr_lower``, ``rr_upper``, ``rr_corrected``,
    ``method``.
    """
    recs = teae_records(con, spec)
    den = arm_denominators(con, spec)
    den = den[(den["N"] > 0) | (den["arm"] == TOTAL_ARM)]
    arms = _real_arms(den)
    if len(arms) < 2:
        raise NotInExtract("a risk difference needs at least two arms with subjects in the selection.")
    control = control_arm(arms, spec.option("control_arm"))
    # Total stays in the denominators only to rank terms as the incidence table does.
    counts = _soc_pt_counts(recs, den, spec.option("min_pct", 0))
    counts = counts[counts["arm"] != TOTAL_ARM]
    columns = ["soc", "pt", "arm", "n", "N", "pct", "control_arm", "n_control", "N_control", "pct_control",
               "rd", "rd_lower", "rd_upper", "rr", "rr_lower", "rr_upper", "rr_corrected", "method"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    pts = counts[counts["pt"] != ""]
    ctrl = pts[pts["arm"] == control][["soc", "pt", "n", "N", "pct"]].rename(
        columns={"n": "n_control", "N": "N_control", "pct": "pct_control"})
    act = pts[pts["arm"] != control].merge(ctrl, on=["soc", "pt"], how="left")
    rd = stats.risk_difference_miettinen_nurminen(act["n"].to_numpy(), act["N"].to_numpy(),
                                                  act["n_control"].to_numpy(), act["N_control"].to_numpy())
    rr = stats.relative_risk_ci(act["n"].to_numpy(), act["N"].to_numpy(),
                                act["n_control"].to_numpy(), act["N_control"].to_numpy())
    act = act.assign(control_arm=control, rd=100 * np.atleast_1d(rd.estimate), rd_lower=100 * np.atleast_1d(rd.lower),
                     rd_upper=100 * np.atleast_1d(rd.upper), rr=np.atleast_1d(rr.estimate),
                     rr_lower=np.atleast_1d(rr.lower), rr_upper=np.atleast_1d(rr.upper),
                     rr_corrected=np.atleast_1d(rr.corrected).astype(bool), method=RD_METHOD)
    return act[columns].reset_index(drop=True)


def observation_periods(con, spec: FilterSpec) -> pd.DataFrame:
    """Each dosed subject's observation window for exposure-adjusted rates and time to event.

    Definition: clinical_reference §7 EAIR: from the first dose (TRTSDT, day 1) to the end of
    observation = min(data cut, the first available of EOSDT, LSTALVDT, DTHDT, the subject's
    last date in the data (ADSL TRTEDT, ADAE ASTDT/AENDT, ADEX, ADLB, ADVS dates)).

    Returns one row per subject with TRTSDT: ``usubjid``, ``arm``, ``obs_end``, ``obs_days``
    (obs_end − TRTSDT + 1, at least 0).
    """
    cols = set(db.table_columns(con, "adsl"))
    dates = [f"SELECT USUBJID, TRTEDT AS d FROM adsl"] if "TRTEDT" in cols else []
    for table, names in (("adae", ("ASTDT", "AENDT")), ("adex", ("ASTDT", "AENDT")), ("adlb", ("ADT",)),
                         ("advs", ("ADT",))):
        if db.table_exists(con, table):
            tcols = set(db.table_columns(con, table))
            dates += [f"SELECT USUBJID, {c} AS d FROM {table}" for c in names if c in tcols]
    last = ("LEFT JOIN (SELECT USUBJID, max(d) AS last_date FROM (" + " UNION ALL ".join(dates)
            + ") GROUP BY USUBJID) l ON l.USUBJID = p.usubjid") if dates else ""
    ends = [f"s.{c}" for c in ("EOSDT", "LSTALVDT", "DTHDT") if c in cols] + (["l.last_date"] if dates else [])
    cut = _study_cut(con, spec) or dt.date(9999, 12, 31)
    end_sql = f"least(coalesce({', '.join(ends + ['CAST($cut AS DATE)'])}, CAST($cut AS DATE)), CAST($cut AS DATE))"
    frame = run(con, f"""
        SELECT p.usubjid, p.arm, {end_sql} AS obs_end,
               greatest(date_diff('day', p.trtsdt, {end_sql}) + 1, 0) AS obs_days
        FROM {{population}} p JOIN adsl s ON s.USUBJID = p.usubjid {last}
        WHERE p.trtsdt IS NOT NULL""", spec, cut=cut)
    frame["obs_days"] = frame["obs_days"].astype(float)
    return frame


def _first_event_days(recs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per key x subject: the earliest event day from first dose (missing onset = day 1)."""
    return recs.groupby([*keys, "usubjid", "arm"], as_index=False)["day_from_first_dose"].min()


def ae_exposure_adjusted(con, spec: FilterSpec) -> pd.DataFrame:
    """Exposure-adjusted incidence rate (EAIR) per 100 patient-years by SOC and PT, by arm and total.

    Definition: clinical_reference §7 EAIR: 100 × subjects with the event / Σ exposure, exposure
    to the first event (onset − TRTSDT + 1 days; a missing onset counts as day 1, conservative)
    or, without the event, to the end of observation (:func:`observation_periods`); PY =
    days/365.25; exact Poisson 95% CI (:func:`dashboard.stats.eair_per_100py`). Rows and
    threshold as :func:`ae_incidence_by_soc_pt`. Subjects without TRTSDT add no exposure.

    Returns one row per (SOC or PT) x arm: ``soc``, ``pt``, ``arm``, ``n``, ``N``, ``py``,
    ``eair``, ``eair_lower``, ``eair_upper``, ``method``.
    """
    recs = teae_records(con, spec)
    den = arm_denominators(con, spec)
    columns = ["soc", "pt", "arm", "n", "N", "py", "eair", "eair_lower", "eair_upper", "method"]
    base = _soc_pt_counts(recs, den, spec.option("min_pct", 0))
    if base.empty:
        return pd.DataFrame(columns=columns)
    obs = with_total_rows(observation_periods(con, spec), den)
    obs_by_arm = obs.groupby("arm")["obs_days"].sum()
    obs_by_subject = obs.drop_duplicates("usubjid").set_index("usubjid")["obs_days"]
    first = pd.concat([_first_event_days(recs, ["soc", "pt"]),
                       _first_event_days(recs, ["soc"]).assign(pt="")], ignore_index=True)
    first["obs_days"] = first["usubjid"].map(obs_by_subject)
    # Exposure saved by stopping the clock at the first event (0 for subjects without TRTSDT).
    first["saved"] = (first["obs_days"] - first["day_from_first_dose"].clip(lower=1)).clip(lower=0).fillna(0)
    saved = with_total_rows(first, den).groupby(["soc", "pt", "arm"])["saved"].sum().rename("saved").reset_index()
    out = base.merge(saved, on=["soc", "pt", "arm"], how="left")
    out["saved"] = out["saved"].fillna(0)
    out["py"] = (out["arm"].map(obs_by_arm).fillna(0) - out["saved"]) / 365.25
    rate = stats.eair_per_100py(out["n"].to_numpy(), out["py"].to_numpy())
    out["eair"], out["eair_lower"], out["eair_upper"] = (np.atleast_1d(v) for v in rate)
    out["method"] = EAIR_METHOD
    return out[columns]


# --------------------------------------------------------------------------------------------
# time to first event, timelines
# --------------------------------------------------------------------------------------------
CUMINC_ENDPOINTS = (("first_sae", "First serious TEAE"), ("first_aesi", "First AESI (infusion-related reaction)"))


def kaplan_meier_cumulative_incidence(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """1 − Kaplan–Meier at each distinct time: ``day``, ``n_at_risk``, ``n_events``,
    ``n_censored``, ``cum_inc`` (percent). Events at a time precede censoring at that time."""
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    rows, surv = [], 1.0
    for t in np.unique(time):
        at_risk = int((time >= t).sum())
        d = int((event & (time == t)).sum())
        c = int((~event & (time == t)).sum())
        if at_risk:
            surv *= 1.0 - d / at_risk
        rows.append((t, at_risk, d, c, 100.0 * (1.0 - surv)))
    return pd.DataFrame(rows, columns=["day", "n_at_risk", "n_events", "n_censored", "cum_inc"])


def ae_cumulative_incidence(con, spec: FilterSpec) -> pd.DataFrame:
    """Cumulative incidence of the first serious TEAE and of the first AESI (infusion-related
    reaction by default) over days since first dose, by arm and total.

    Definition: 1 − Kaplan–Meier; time = onset − TRTSDT + 1 days (missing onset = day 1); subjects
    without the event are censored at the end of observation (:func:`observation_periods`).
    Population: ``spec.population`` subjects with TRTSDT. AE filters apply.

    Returns per endpoint x arm a day-0 row then one row per distinct day: ``endpoint``, ``label``,
    ``arm``, ``day``, ``n_at_risk``, ``n_events``, ``n_censored``, ``n`` (cumulative subjects with
    the event), ``N`` (subjects followed), ``cum_inc`` (percent), ``method``.
    """
    recs = teae_records(con, spec)
    den = arm_denominators(con, spec)
    obs = with_total_rows(observation_periods(con, spec), den)
    frames = []
    for endpoint, label in CUMINC_ENDPOINTS:
        flag = "serious" if endpoint == "first_sae" else "aesi"
        first = recs[recs[flag]].groupby("usubjid")["day_from_first_dose"].min()
        for arm in den["arm"]:
            sub = obs[obs["arm"] == arm]
            ev_day = sub["usubjid"].map(first)
            has = ev_day.notna() & (ev_day.clip(lower=1) <= sub["obs_days"].clip(lower=1))
            time = np.where(has, ev_day.clip(lower=1), sub["obs_days"].clip(lower=1))
            km = kaplan_meier_cumulative_incidence(time, has.to_numpy()) if len(sub) else \
                pd.DataFrame(columns=["day", "n_at_risk", "n_events", "n_censored", "cum_inc"])
            start = pd.DataFrame([{"day": 0.0, "n_at_risk": len(sub), "n_events": 0, "n_censored": 0, "cum_inc": 0.0}])
            km = pd.concat([start, km], ignore_index=True)
            km["n"] = km["n_events"].cumsum()
            frames.append(km.assign(endpoint=endpoint, label=label, arm=arm, N=len(sub)))
    out = pd.concat(frames, ignore_index=True)
    out["method"] = CUMINC_METHOD
    for c in ("n_at_risk", "n_events", "n_censored", "n", "N"):
        out[c] = out[c].astype("int64")
    return out[["endpoint", "label", "arm", "day", "n_at_risk", "n_events", "n_censored", "n", "N", "cum_inc",
                "method"]]


def ae_timeline(con, spec: FilterSpec) -> pd.DataFrame:
    """Per subject with at least one AE (after the AE filters): the AE bars and the infusion days,
    in days since the subject's first infusion.

    Definition: day = date − first infusion date (ADEX ASTDT where EXOCCUR ≠ 'N'; TRTSDT when the
    extract has no ADEX), so the first infusion is day 0 and pre-treatment AEs are negative. An
    ongoing AE ends at the data cut. All AEs (treatment-emergent or not, ``teae`` says which).

    Returns one row per AE (``kind`` "AE") and per infusion (``kind`` "Infusion") of those
    subjects: ``usubjid``, ``arm``, ``arm_order``, ``kind``, ``soc``, ``pt``, ``severity``,
    ``serious``, ``aesi``, ``teae``, ``start_day``, ``end_day``, ``ongoing``, ``astdt``, ``aendt``.
    """
    _check_window(con, spec)
    recs = apply_ae_filters(ae_records(con, spec), spec)
    columns = ["usubjid", "arm", "arm_order", "kind", "soc", "pt", "severity", "serious", "aesi", "teae",
               "start_day", "end_day", "ongoing", "astdt", "aendt"]
    if recs.empty:
        return pd.DataFrame(columns=columns)
    cut = _study_cut(con, spec)
    inf_sql = (f"SELECT i.USUBJID AS usubjid, i.d FROM ({_infusions_sql(con)}) i" if has_infusions(con)
               else "SELECT NULL::VARCHAR AS usubjid, NULL::DATE AS d WHERE FALSE")
    infusions = run(con, f"""
        SELECT p.usubjid, p.arm, p.arm_order, i.d, min(coalesce(i.d, p.trtsdt)) OVER (PARTITION BY p.usubjid) AS first_day
        FROM {{population}} p LEFT JOIN ({inf_sql}) i ON i.usubjid = p.usubjid""", spec)
    first = infusions.drop_duplicates("usubjid").set_index("usubjid")["first_day"]
    recs = recs.assign(first_day=recs["usubjid"].map(first))
    recs = recs[recs["first_day"].notna()]

    def days(dates) -> pd.Series:
        return (pd.to_datetime(dates) - pd.to_datetime(recs["first_day"])).dt.days.astype(float)

    end_dates = recs["aendt"].where(~recs["ongoing"], cut)
    ae = recs.assign(kind="AE", start_day=days(recs["astdt"]), end_day=days(end_dates))
    ae["serious"] = np.where(ae["serious"], "Y", "N")
    ae["teae"] = np.where(ae["teae"], "Y", "N")
    ae["aesi"] = np.where(ae["aesi"], "Y", "N")
    inf = infusions[infusions["d"].notna() & infusions["usubjid"].isin(ae["usubjid"])]
    inf = inf.assign(kind="Infusion", start_day=(pd.to_datetime(inf["d"]) - pd.to_datetime(inf["first_day"])).dt.days
                     .astype(float), astdt=inf["d"], aendt=inf["d"], ongoing=False)
    inf["end_day"] = inf["start_day"]
    out = pd.concat([ae, inf], ignore_index=True).reindex(columns=columns)
    out = out.sort_values(["arm_order", "usubjid", "kind", "start_day"], kind="stable")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# helpers for the page (no SQL or pandas in pages)
# --------------------------------------------------------------------------------------------
def ae_filter_choices(con, spec: FilterSpec) -> dict:
    """Values the page's AE filters can take: ``socs`` (sorted), ``severities``, ``has_infusions``."""
    recs = ae_records(con, spec)
    sev = list(SEVERITY_LEVELS) + ([MISSING] if (recs["severity"] == MISSING).any() else [])
    return {"socs": sorted(recs.loc[recs["teae"], "soc"].unique().tolist()), "severities": sev,
            "has_infusions": has_infusions(con)}


def selected_term(selected: pd.DataFrame | None) -> tuple[str, str] | None:
    """(SOC, PT) of the row selected in a displayed SOC/PT table; PT '' for a SOC row."""
    if selected is None or len(selected) == 0:
        return None
    row = selected.iloc[0]
    soc = row.get("System organ class", "")
    pt = row.get("Preferred term", "")
    return (str(soc), "" if pd.isna(pt) else str(pt))


def listing_subjects(frame: pd.DataFrame | None) -> list[str]:
    """Distinct subjects of a listing frame, in listing order."""
    if frame is None or frame.empty:
        return []
    return list(dict.fromkeys(frame["usubjid"].astype(str)))


# --------------------------------------------------------------------------------------------
# display wrappers
# --------------------------------------------------------------------------------------------
def _cell(r) -> str:
    from dashboard.formatting import fmt_n_pct

    if pd.isna(r["n"]):
        return "not available"
    text = fmt_n_pct(r["n"], r["pct"])
    if "events" in r and int(r["n"]) > 0:
        text += f" [{int(r['events'])}]"
    return text


def _overview_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import wide_by_arm

    labels = dict(OVERVIEW_CATEGORIES)
    data = frame.assign(label=frame["category"].map(labels))
    wide = wide_by_arm(data, ["label"], _cell)
    notes = data.drop_duplicates("category").set_index("label")["note"]
    wide["Note"] = wide["label"].map(notes).fillna("")
    return wide.rename(columns={"label": "Subjects with, n (%) [events]"})


def _soc_pt_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import wide_by_arm

    if frame.empty:
        return pd.DataFrame(columns=["System organ class", "Preferred term"])
    wide = wide_by_arm(frame, ["soc", "pt"], _cell)
    return wide.rename(columns={"soc": "System organ class", "pt": "Preferred term"})


def _severity_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_n_pct, wide_by_arm

    if frame.empty:
        return pd.DataFrame(columns=["System organ class", "Preferred term", "Worst severity"])
    wide = wide_by_arm(frame, ["soc", "pt", "severity"], lambda r: fmt_n_pct(r["n"], r["pct"]))
    return wide.rename(columns={"soc": "System organ class", "pt": "Preferred term", "severity": "Worst severity"})


_LISTING_HEADERS = {
    "usubjid": "Subject", "arm": "Arm", "aeseq": "AE seq", "soc": "System organ class", "pt": "Preferred term",
    "aeterm": "Reported term", "astdt": "Start", "aendt": "End", "astdy": "Study day",
    "days_since_last_infusion": "Days since last infusion", "severity": "Severity", "aetoxgr": "Grade",
    "serious": "Serious", "aerel": "Relationship (AEREL)", "related": "Related", "aeacn": "Action taken",
    "aeout": "Outcome", "teae": "Treatment-emergent",
}


def _listing_display(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=["SRC_FILE", "SRC_ROW"], errors="ignore").copy()
    for c in ("aeseq", "astdy", "days_since_last_infusion"):
        out[c] = out[c].map(lambda v: "" if pd.isna(v) else str(int(v)))
    out["aendt"] = out["aendt"].map(lambda v: "ongoing" if pd.isna(v) else str(v))
    out["astdt"] = out["astdt"].map(lambda v: "" if pd.isna(v) else str(v))
    return out.rename(columns=_LISTING_HEADERS).fillna("")


def _ci(est, lo, hi, dp=1) -> str:
    from dashboard.formatting import fmt_num

    if pd.isna(est):
        return "NE"
    return f"{fmt_num(est, dp)} ({fmt_num(lo, dp)}, {fmt_num(hi, dp)})"


def _rd_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    if frame.empty:
        return pd.DataFrame(columns=["System organ class", "Preferred term", "Arm"])

    def frac(n, N, pct):
        return f"{int(n)}/{int(N)} ({fmt_num(pct)}%)"

    return pd.DataFrame({
        "System organ class": frame["soc"], "Preferred term": frame["pt"], "Arm": frame["arm"],
        "Arm n/N (%)": [frac(*v) for v in zip(frame["n"], frame["N"], frame["pct"])],
        "Control": frame["control_arm"],
        "Control n/N (%)": [frac(*v) for v in zip(frame["n_control"], frame["N_control"], frame["pct_control"])],
        "Risk difference, % points (95% CI)": [_ci(*v) for v in zip(frame["rd"], frame["rd_lower"], frame["rd_upper"])],
        "Relative risk (95% CI)": [_ci(*v, dp=2) + (" *" if c else "") for *v, c in
                                   zip(frame["rr"], frame["rr_lower"], frame["rr_upper"], frame["rr_corrected"])],
        "Method": frame["method"],
    })


def _eair_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num, wide_by_arm

    if frame.empty:
        return pd.DataFrame(columns=["System organ class", "Preferred term"])
    wide = wide_by_arm(frame, ["soc", "pt"], lambda r: f"{int(r['n'])} / {fmt_num(r['py'])} PY: "
                       + _ci(r["eair"], r["eair_lower"], r["eair_upper"]))
    return wide.rename(columns={"soc": "System organ class", "pt": "Preferred term"})


def _cuminc_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    if frame.empty:
        return pd.DataFrame(columns=["Endpoint", "Arm"])
    last = frame.groupby(["endpoint", "arm"], sort=False).tail(1)
    return pd.DataFrame({
        "Endpoint": last["label"], "Arm": last["arm"], "Subjects with event": last["n"], "Subjects followed": last["N"],
        "Last day": last["day"].astype(int), "Cumulative incidence at last day, %": last["cum_inc"].map(fmt_num),
    }).reset_index(drop=True)


def _timeline_display(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    out = frame[frame["kind"] == "AE"].drop(columns=["arm_order", "kind"])
    for c in ("start_day", "end_day"):
        out[c] = out[c].map(lambda v: "" if pd.isna(v) else str(int(v)))
    out["aendt"] = np.where(out["ongoing"], "ongoing", out["aendt"].astype(str))
    out["astdt"] = out["astdt"].map(lambda v: "" if pd.isna(v) else str(v))
    return out.drop(columns=["ongoing"]).rename(columns={
        "usubjid": "Subject", "arm": "Arm", "soc": "System organ class", "pt": "Preferred term",
        "severity": "Severity", "serious": "Serious", "aesi": "AESI", "teae": "Treatment-emergent",
        "start_day": "Start (days since first infusion)", "end_day": "End (days since first infusion)",
        "astdt": "Start", "aendt": "End"}).fillna("")


# --------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------
_COMMON = ("Treatment-emergent: TRTEMFL='Y' when ADAE has TRTEMFL, otherwise derived as ASTDT >= TRTSDT "
           "(missing onset = treatment-emergent). Subjects counted once per row; N = subjects of the arm in the "
           "analysis population (safety by default). AE filters on this page apply.")


def register(add) -> None:
    from dashboard.charts.adverse_events import (
        ae_cumulative_incidence_chart, ae_dot_plot_chart, ae_explorer_chart, ae_timeline_chart,
    )
    from dashboard.tables import TableSpec

    add(TableSpec("ae_overview", "Overview of treatment-emergent adverse events", "adverse_events", ae_overview,
                  display=_overview_display, order=10,
                  definition=_COMMON + " [events] = number of AE records. Related: AEREL mapped to related "
                  "(RELATED, POSSIBLY/PROBABLY, POSSIBLE/PROBABLE, Y) or not (NOT/UNLIKELY RELATED, NONE, REMOTE, "
                  "N); missing AEREL counted as related (conservative). Severe: AESEV SEVERE or AETOXGR >= 3. "
                  "Discontinuation/interruption: AEACN DRUG WITHDRAWN, DRUG INTERRUPTED, DOSE REDUCED, DOSE RATE "
                  "REDUCED, DOSE DELAYED. AESI: AESIFL='Y' or an infusion-related-reaction PT (configurable). "
                  "Fatal: AEOUT FATAL, AESDTH='Y' or grade 5. Deaths: ADSL DTHFL."))
    add(TableSpec("ae_by_soc_pt", "TEAEs by system organ class and preferred term", "adverse_events",
                  ae_incidence_by_soc_pt, display=_soc_pt_display, charts=(ae_dot_plot_chart,), order=20,
                  definition=_COMMON + " n (%) [events]. Sorted by SOC total n, then PT total n within SOC (ties "
                  "alphabetical). PTs shown when % >= the threshold in any arm; SOC counts cover all its PTs."))
    add(TableSpec("ae_by_severity", "TEAEs by SOC, PT and worst severity", "adverse_events", ae_by_severity,
                  display=_severity_display, order=30,
                  definition=_COMMON + " Each subject counted once per row at the worst severity (MILD < MODERATE "
                  "< SEVERE; AETOXGR 1/2/>=3 when AESEV is missing; 'Missing' only when no event has one)."))
    add(TableSpec("ae_related_by_soc_pt", "Related TEAEs by SOC and PT", "adverse_events", ae_related_by_soc_pt,
                  display=_soc_pt_display, order=40,
                  definition=_COMMON + " Related by AEREL (missing AEREL counted as related, conservative)."))
    add(TableSpec("ae_serious_listing", "Listing of serious adverse events", "adverse_events", ae_serious_listing,
                  display=_listing_display, order=50,
                  definition="Every AE with AESER='Y' in the analysis population up to the data cut, "
                  "treatment-emergent or not (column Treatment-emergent). Study day = ASTDT - TRTSDT + 1 (no day 0). "
                  "Days since last infusion = onset minus the latest infusion (ADEX) on or before onset."))
    add(TableSpec("ae_listing", "Listing of treatment-emergent adverse events", "adverse_events", ae_listing,
                  display=_listing_display, order=60,
                  definition=_COMMON + " Restricted to the selected SOC / PT when one is selected."))
    add(TableSpec("ae_risk_difference", "Risk difference vs control by preferred term", "adverse_events",
                  ae_risk_difference, display=_rd_display, charts=(ae_explorer_chart,), roles=UNBLINDED_ONLY,
                  order=70,
                  definition=_COMMON + " Risk difference (arm - control, percentage points) with the "
                  "Miettinen-Nurminen score 95% CI; relative risk with the log (Katz) 95% CI (* = 0.5 added to "
                  "each cell because one arm has 0). Control: the arm labelled placebo, else the first arm. No "
                  "p-values; intervals are descriptive, not adjusted for multiplicity."))
    add(TableSpec("ae_exposure_adjusted", "Exposure-adjusted incidence rate per 100 patient-years",
                  "adverse_events", ae_exposure_adjusted, display=_eair_display, roles=UNBLINDED_ONLY, order=80,
                  definition=_COMMON + " EAIR = 100 x subjects with the event / patient-years; exposure from "
                  "first dose to the first event (missing onset = day 1) or to the end of observation = "
                  "min(data cut, EOSDT / LSTALVDT / DTHDT / last date in the data); PY = days/365.25; exact "
                  "Poisson 95% CI."))
    add(TableSpec("ae_cumulative_incidence", "Cumulative incidence of the first SAE and the first AESI",
                  "adverse_events", ae_cumulative_incidence, display=_cuminc_display,
                  charts=(functools.partial(ae_cumulative_incidence_chart, endpoint="first_sae"),
                          functools.partial(ae_cumulative_incidence_chart, endpoint="first_aesi")), order=90,
                  definition=_COMMON + " 1 - Kaplan-Meier over days since first dose; subjects without the event "
                  "censored at the end of observation (min(data cut, EOSDT / LSTALVDT / DTHDT / last date)). "
                  "AESI = infusion-related reaction by default."))
    add(TableSpec("ae_timeline", "AE timeline relative to infusions", "adverse_events", ae_timeline,
                  display=_timeline_display, charts=(ae_timeline_chart,), order=100,
                  definition="Subjects with at least one AE (after the AE filters): AE bars from onset to end "
                  "(ongoing AEs to the data cut), coloured by severity, SAEs marked; infusion days (ADEX, EXOCCUR "
                  "not 'N') as ticks. x = days since the subject's first infusion (TRTSDT without ADEX)."))
