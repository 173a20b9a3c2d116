"""Lab shifts, lab trajectories and liver safety (eDISH / Hy's law).

Every table here starts from the same analysis records (:func:`lab_analysis_records`). The
record rules are documented once, here, and apply to all of them (tern's argument convention):

**Records.** ADLB rows of the subjects in the population (``{population}``: the arm comes
from ADSL, never from TRTA) with a numeric AVAL, checked in this order:

1. parameters whose PARAMCD starts with ``_`` are excluded (the CDISC pilot's "change from
   previous visit, relative to normal range" parameters: AVAL empty or a relative shift);
2. records with any DTYPE (LOCF, WOCF, AVERAGE, LOV, MAXIMUM, MINIMUM, ...) are derived and
   excluded: a worst-case table must be built from observed values only;
3. with a data cut (``spec.data_cut``), only records with ADT on or before the cut (a record
   without ADT cannot be placed before the cut and is excluded);
4. ANL01FL (option ``lab_anl01fl``: ``auto`` default, ``use``, ``ignore``). Its meaning is
   sponsor-defined (ADaM IG), so ``auto`` honours it for a parameter only where it acts as a
   within-visit record selector: every subject x scheduled post-baseline visit with data has
   a flagged record. Then unflagged post-baseline records are dropped (baseline records are
   kept whatever their ANL01FL). In the CDISC pilot ANL01FL marks a single post-baseline
   record per subject and parameter (Week 26 never), so ``auto`` ignores it there;
   filtering on it would discard the very records a worst-post-baseline table needs.

**Baseline and post-baseline**: the BDS record rules of :mod:`dashboard.bds`, shared with the
renal tables (docs/definitions.md "Baseline record", "Post-baseline"): the record flagged
ABLFL='Y' when the parameter has any ABLFL='Y' record; otherwise the last record dated on or
before the first dose (TRTSDT; same-day values count as baseline), latest visit then latest
source row winning ties. Post-baseline: any other record dated after TRTSDT and after the
baseline date (study day >= 2 when ADT or TRTSDT is missing). Unscheduled records (AVISIT missing, "." or "UNSCHEDULED...") count for
worst-case tables, not for by-visit ones. Records before the first dose other than the
baseline (screening, pre-dose unscheduled) are neither.

**Duplicated summary visits** (the pilot's "End of Treatment", AVISITN 99, repeating the last
on-treatment value): a record with the same subject, parameter, ADT and AVAL as a record of
an earlier visit is flagged ``duplicate``. It stays as its own row in the by-visit summary
and box plot (reviewers expect an End of Treatment row) and is dropped from the abnormal
listing and Hy's law; it cannot change a worst value.

**Reference-range category** of a record (LOW / NORMAL / HIGH): derived from AVAL and the
record's own range whenever ANRLO or ANRHI is present: LOW if AVAL < ANRLO, HIGH if
AVAL > ANRHI, else NORMAL (a value equal to a limit is NORMAL). The CDISC pilot's
ANRIND/BNRIND are threshold flags (H only when AVAL > 1.5 x A1HI), not normal-range flags,
which is why the range comes first. Only when neither limit exists: the baseline record
uses BNRIND, then its ANRIND; other records use ANRIND (L/LOW/LOW LOW -> LOW, H/HIGH/
HIGH HIGH -> HIGH, N/NORMAL -> NORMAL). Anything else is MISSING (e.g. derived eGFR, which
has no range).

**x ULN** = AVAL / ANRHI of the same record (missing when ANRHI is missing or 0).

**Parameter groups**: by canonical code (:data:`LAB_GROUPS`, after
``data_contracts.adlb.canonical_lab_code``), falling back to PARCAT1, then "Other".

**Options** (``spec.option``, set by the page): ``lab_params`` (PARAMCDs to include; empty =
all), ``lab_shift_by_visit``, ``lab_anl01fl``, ``lab_hy_alt_rule`` (``ge`` default, FDA
"3-fold or greater"; ``gt``), ``lab_hy_window_days`` (30), ``lab_edish_x`` (``ALT`` default,
``AST``, ``ALT_OR_AST``), ``lab_listing_baseline`` (False).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dashboard import bds, db
from dashboard.ctcae import CTCAE_LAB_TERMS, GRADE_MISSING, ctcae_grade
from dashboard.filters import TOTAL_ARM, FilterSpec
from dashboard.liver import hys_law_quadrant, is_potential_hys_law, r_ratio
from dashboard.population import arm_denominators, run
from dashboard.units import to_si
from data_contracts.adlb import canonical_lab_code



def _not_in_extract(message: str) -> Exception:
    """A ``dashboard.tables.NotInExtract`` with ``message``."""
    from dashboard.tables import NotInExtract

    return NotInExtract(message)


# -- constants ------------------------------------------------------------------------------

#: Group of each canonical lab code (what a board reads together).
LAB_GROUPS: dict[str, str] = {
    **dict.fromkeys(("CREAT", "EGFR", "UREA", "BUN", "UACR", "UPROT24", "UPCR", "CYSC"), "Renal"),
    **dict.fromkeys(("ALT", "AST", "BILI", "DBILI", "ALP", "GGT", "ALB", "PROT", "LDH"), "Liver"),
    **dict.fromkeys(("HGB", "HCT", "RBC", "WBC", "NEUT", "LYM", "MONO", "EOS", "BASO", "PLAT", "MCV", "MCH",
                     "MCHC", "RDW", "RETI", "ANISO", "MACROCY", "MICROCY", "POIKILO", "POLYCHR"), "Haematology"),
    **dict.fromkeys(("K", "SODIUM", "CL", "CA", "PHOS", "MG", "BICARB", "CO2"), "Electrolytes"),
    **dict.fromkeys(("GLUC", "HBA1C", "CHOL", "TRIG", "HDL", "LDL", "URATE"), "Metabolic"),
}
GROUP_ORDER = ("Renal", "Liver", "Haematology", "Electrolytes", "Metabolic")
_PARCAT_GROUPS = {"CHEM": "Chemistry", "CHEMISTRY": "Chemistry", "HEM": "Haematology", "HEMATOLOGY": "Haematology",
                  "HAEMATOLOGY": "Haematology", "URIN": "Urinalysis", "URINALYSIS": "Urinalysis"}

CATEGORIES = ("LOW", "NORMAL", "HIGH", "MISSING")
_CAT_RANK = {"LOW": 0, "NORMAL": 1, "HIGH": 2}
_RANK_CAT = {v: k for k, v in _CAT_RANK.items()}
_INDICATOR = {"L": "LOW", "LOW": "LOW", "LOW LOW": "LOW", "LL": "LOW",
              "H": "HIGH", "HIGH": "HIGH", "HIGH HIGH": "HIGH", "HH": "HIGH",
              "N": "NORMAL", "NORMAL": "NORMAL"}
DIRECTIONS = ("high", "low")
WORST_VISIT = "Worst post-baseline"
GRADES = ("0", "1", "2", "3", "4", "Missing")
LIVER_CODES = ("ALT", "AST", "BILI", "ALP")
QUADRANTS = ("possible Hy's law", "Temple's corollary", "hyperbilirubinemia", "normal")
_UNSCHEDULED = re.compile(r"^\s*(\.|UNSCH.*|UNSCHEDULED.*)?\s*$", re.IGNORECASE)

_OPTIONAL_COLUMNS = {
    "PARAM": "VARCHAR", "PARCAT1": "VARCHAR", "AVALU": "VARCHAR", "ADT": "DATE", "ADY": "DOUBLE",
    "AVISIT": "VARCHAR", "AVISITN": "DOUBLE", "ABLFL": "VARCHAR", "ANRLO": "DOUBLE", "ANRHI": "DOUBLE",
    "ANRIND": "VARCHAR", "BNRIND": "VARCHAR", "ANL01FL": "VARCHAR",
}

RECORD_COLUMNS = ["usubjid", "arm", "arm_order", "group", "paramcd", "code", "param", "unit", "visit", "visitnum",
                  "scheduled", "adt", "day", "aval", "anrlo", "anrhi", "category", "range_source", "x_uln",
                  "timing", "duplicate", "SRC_FILE", "SRC_ROW"]


def lab_group(code: str | None, parcat1: str | None = None) -> str:
    """Display group of a lab parameter: :data:`LAB_GROUPS`, else PARCAT1, else "Other"."""
    if code and str(code).upper() in LAB_GROUPS:
        return LAB_GROUPS[str(code).upper()]
    if parcat1 is not None and not pd.isna(parcat1) and str(parcat1).strip():
        text = str(parcat1).strip()
        return _PARCAT_GROUPS.get(text.upper(), text.title())
    return "Other"


def _group_sort_key(group: str) -> tuple:
    return (GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER) + (group == "Other"), group)


# -- the analysis records -------------------------------------------------------------------

def _require_adlb(con) -> list[str]:
    if not db.table_exists(con, "adlb"):
        raise _not_in_extract("ADLB (laboratory results) is not in this extract.")
    return db.table_columns(con, "adlb")


def lab_analysis_records(con, spec: FilterSpec) -> pd.DataFrame:
    """The analysis lab records of the population, one row per ADLB record kept.

    Definition: the record rules in this module's docstring (in order). Population: the
    selected population (SAFFL='Y' by default). Returns one row per record with
    :data:`RECORD_COLUMNS`: ``timing`` is ``baseline``, ``post`` or ``pre``; ``category`` is
    LOW / NORMAL / HIGH / MISSING; ``range_source`` says where it came from (``range``,
    ``indicator`` or empty); ``day`` is the study day (ADY, else derived from ADT and TRTSDT).
    """
    cols = set(_require_adlb(con))
    select = ", ".join(f'l."{c}" AS "{c}"' if c in cols else f'CAST(NULL AS {t}) AS "{c}"'
                       for c, t in _OPTIONAL_COLUMNS.items())
    where = ["l.AVAL IS NOT NULL", "NOT starts_with(l.PARAMCD, '_')",
             "(len($lab_params) = 0 OR list_contains($lab_params, l.PARAMCD))"]
    if "DTYPE" in cols:
        where.append("l.DTYPE IS NULL")
    where.append("($data_cut IS NULL OR l.ADT <= CAST($data_cut AS DATE))" if "ADT" in cols else "TRUE")
    params = [str(p) for p in (spec.option("lab_params") or ())]
    order = "l.ADT NULLS LAST, " if "ADT" in cols else ""
    frame = run(con, f"""
        SELECT p.usubjid, p.arm, p.arm_order, p.trtsdt, l.PARAMCD, CAST(l.AVAL AS DOUBLE) AS AVAL,
               l.SRC_FILE, l.SRC_ROW, {select}
        FROM {{population}} p JOIN adlb l ON l.USUBJID = p.usubjid
        WHERE {' AND '.join(where)}
        ORDER BY p.usubjid, l.PARAMCD, {order}l.SRC_FILE, l.SRC_ROW""", spec, lab_params=params)
    return _derive_records(frame, spec.option("lab_anl01fl", "auto"))


def _derive_records(raw: pd.DataFrame, anl01fl: str = "auto") -> pd.DataFrame:
    """Timing, category, x ULN and groups of the raw joined records (see the module docstring)."""
    if anl01fl not in ("auto", "use", "ignore"):
        raise ValueError(f"option lab_anl01fl must be 'auto', 'use' or 'ignore'; got {anl01fl!r}.")
    if raw.empty:
        return pd.DataFrame(columns=RECORD_COLUMNS)
    f = pd.DataFrame({
        "usubjid": raw["usubjid"].astype(str), "arm": raw["arm"].astype(str), "arm_order": raw["arm_order"],
        "paramcd": raw["PARAMCD"].astype(str), "aval": raw["AVAL"].astype(float),
        "adt": pd.to_datetime(raw["ADT"]), "trtsdt": pd.to_datetime(raw["trtsdt"]),
        "visit": raw["AVISIT"].astype(object), "visitnum": pd.to_numeric(raw["AVISITN"]),
        "ady": pd.to_numeric(raw["ADY"]), "ablfl": raw["ABLFL"].astype(object),
        "anrlo": pd.to_numeric(raw["ANRLO"]), "anrhi": pd.to_numeric(raw["ANRHI"]),
        "anrind": raw["ANRIND"].astype(object), "bnrind": raw["BNRIND"].astype(object),
        "anl01fl": raw["ANL01FL"].astype(object), "unit": raw["AVALU"].astype(object),
        "label": raw["PARAM"].astype(object), "parcat1": raw["PARCAT1"].astype(object),
        "SRC_FILE": raw["SRC_FILE"].astype(str), "SRC_ROW": raw["SRC_ROW"].astype("int64"),
    })
    f["code"] = [canonical_lab_code(p) or p.upper() for p in f["paramcd"]]
    f = _parameter_labels(f)
    f["day"] = bds.study_day(f["adt"], f["trtsdt"], f["ady"])
    f["scheduled"] = f["visit"].map(lambda v: not (v is None or pd.isna(v) or bool(_UNSCHEDULED.match(str(v)))))
    f["timing"] = _timing(f)
    f = _apply_anl01fl(f, anl01fl)
    f["duplicate"] = _duplicates(f)
    f["category"], f["range_source"] = _categories(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["x_uln"] = np.where(f["anrhi"] > 0, f["aval"] / f["anrhi"].where(f["anrhi"] > 0), np.nan)
    return f[RECORD_COLUMNS].reset_index(drop=True)


def _parameter_labels(f: pd.DataFrame) -> pd.DataFrame:
    """One label, unit and group per PARAMCD: PARAM (most frequent) with the unit appended when
    the label carries none."""
    meta = []
    for code, sub in f.groupby("paramcd", sort=False):
        label = sub["label"].dropna()
        label = str(label.mode().iloc[0]) if len(label) else code
        unit = sub["unit"].dropna()
        unit = str(unit.mode().iloc[0]) if len(unit) else ""
        if unit and not re.search(r"\([^()]*\)\s*$", label):
            label = f"{label} ({unit})"
        parcat = sub["parcat1"].dropna()
        meta.append({"paramcd": code, "param": label, "unit_p": unit,
                     "group": lab_group(sub["code"].iloc[0], parcat.iloc[0] if len(parcat) else None)})
    f = f.merge(pd.DataFrame(meta), on="paramcd", how="left")
    f["unit"] = f["unit_p"]
    return f.drop(columns=["unit_p", "label", "parcat1"])


def _timing(f: pd.DataFrame) -> pd.Series:
    """baseline / post / pre per record (:func:`dashboard.bds.baseline_records` and
    :func:`dashboard.bds.record_timing`; module docstring: Baseline, Post-baseline)."""
    rec = f.rename(columns={"visitnum": "avisitn", "SRC_FILE": "src_file", "SRC_ROW": "src_row"})
    base_index, _ = bds.baseline_records(rec, param="paramcd")
    is_baseline = pd.Series(f.index.isin(base_index), index=f.index)
    base_adt = rec.loc[base_index].set_index(["usubjid", "paramcd"])["adt"]
    keys = pd.MultiIndex.from_frame(rec[["usubjid", "paramcd"]])
    base_adt = pd.Series(base_adt.reindex(keys).to_numpy(), index=f.index)
    return bds.record_timing(rec, is_baseline, base_adt, rec["day"])


def _apply_anl01fl(f: pd.DataFrame, mode: str) -> pd.DataFrame:
    if mode == "ignore" or not (f["anl01fl"] == "Y").any():
        return f
    post = f[(f["timing"] == "post") & f["scheduled"]]
    if mode == "use":
        honoured = set(f["paramcd"])
    else:
        per_visit = post.assign(_y=post["anl01fl"] == "Y").groupby(["paramcd", "usubjid", "visit"])["_y"].any()
        per_param = per_visit.groupby(level="paramcd").all()
        honoured = set(per_param[per_param].index)
    drop = (f["timing"] == "post") & f["paramcd"].isin(honoured) & (f["anl01fl"] != "Y")
    return f[~drop]


def _duplicates(f: pd.DataFrame) -> pd.Series:
    """True for a record repeating an earlier visit's record (same subject, parameter, ADT, AVAL)."""
    dated = f[f["adt"].notna()]
    order = dated.assign(_vn=dated["visitnum"].fillna(np.inf)).sort_values(
        ["usubjid", "paramcd", "adt", "aval", "_vn", "SRC_FILE", "SRC_ROW"])
    dup = order.duplicated(["usubjid", "paramcd", "adt", "aval"], keep="first")
    out = pd.Series(False, index=f.index)
    out[dup[dup].index] = True
    return out


def _categories(f: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    has_range = f["anrlo"].notna() | f["anrhi"].notna()
    by_range = np.select([f["aval"] < f["anrlo"], f["aval"] > f["anrhi"]], ["LOW", "HIGH"], default="NORMAL")
    indicator = f["anrind"]
    indicator = indicator.where(f["timing"] != "baseline", f["bnrind"].where(f["bnrind"].notna(), f["anrind"]))
    by_flag = indicator.map(lambda v: _INDICATOR.get(str(v).strip().upper()) if v is not None and not pd.isna(v) else None)
    category = np.where(has_range, by_range, by_flag.fillna("MISSING"))
    source = np.where(has_range, "range", np.where(by_flag.notna(), "indicator", ""))
    return pd.Series(category, index=f.index), pd.Series(source, index=f.index)


# -- counting helpers -----------------------------------------------------------------------

def _arms(con, spec: FilterSpec) -> pd.DataFrame:
    return arm_denominators(con, spec)[["arm", "arm_order"]]


def _tabulate(rows: pd.DataFrame, arms: pd.DataFrame, strata: pd.DataFrame, cells: dict[str, tuple]) -> pd.DataFrame:
    """Subjects per stratum x cell x arm, zeros included, with N = subjects of the stratum and arm.

    ``rows``: one row per subject x stratum: ``usubjid``, ``arm``, the strata columns and the
    cell columns. ``strata``: every stratum to show (even with no subjects). ``cells``: cell
    column -> its levels. ``Total`` (when in ``arms``) counts each subject once across arms.
    Returns strata columns, cell columns, ``arm``, ``n``, ``N``, ``pct`` (100 n / N, NaN when N = 0).
    """
    skeys = list(strata.columns)
    ckeys = list(cells)
    data = rows
    if (arms["arm"] == TOTAL_ARM).any() and len(rows):
        data = pd.concat([rows, rows.assign(arm=TOTAL_ARM)], ignore_index=True)
    levels = pd.DataFrame({ckeys[0]: list(cells[ckeys[0]])})
    for k in ckeys[1:]:
        levels = levels.merge(pd.DataFrame({k: list(cells[k])}), how="cross")
    grid = strata.reset_index(drop=True).merge(levels, how="cross").merge(arms, how="cross")
    if len(data):
        n = data.groupby([*skeys, *ckeys, "arm"], dropna=False)["usubjid"].nunique().rename("n").reset_index()
        den = data.groupby([*skeys, "arm"], dropna=False)["usubjid"].nunique().rename("N").reset_index()
        out = grid.merge(n, on=[*skeys, *ckeys, "arm"], how="left").merge(den, on=[*skeys, "arm"], how="left")
    else:
        out = grid.assign(n=np.nan, N=np.nan)
    out["n"] = out["n"].fillna(0).astype("int64")
    out["N"] = out["N"].fillna(0).astype("int64")
    out["pct"] = np.where(out["N"] > 0, 100.0 * out["n"] / out["N"].where(out["N"] > 0, 1), np.nan)
    return out


def _param_meta(recs: pd.DataFrame) -> pd.DataFrame:
    """group, paramcd, param, unit per parameter, in display order (group, then PARAMCD)."""
    meta = recs[["group", "paramcd", "code", "param", "unit"]].drop_duplicates("paramcd")
    known = {c: i for i, c in enumerate(LAB_GROUPS)}
    meta = meta.assign(_g=meta["group"].map(_group_sort_key), _c=meta["code"].map(known).fillna(len(known)))
    meta = meta.sort_values(["_g", "_c", "paramcd"])
    return meta.drop(columns=["_g", "_c", "code"]).reset_index(drop=True)


def _baseline_and_post(recs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(baseline record per subject x parameter, post-baseline records of subjects with a baseline)."""
    base = recs[recs["timing"] == "baseline"].drop_duplicates(["usubjid", "paramcd"], keep="last")
    post = recs[recs["timing"] == "post"]
    post = post.merge(base[["usubjid", "paramcd"]], on=["usubjid", "paramcd"], how="inner")
    return base, post


# -- lab_shift ------------------------------------------------------------------------------

def lab_shift_baseline_to_worst(con, spec: FilterSpec) -> pd.DataFrame:
    """Baseline reference-range category against the worst post-baseline category, by arm.

    Definition: clinical_reference §7, categories as in the module docstring (derived from
    AVAL vs ANRLO/ANRHI when a range exists). "Worst" is taken separately in each direction,
    so a subject with both LOW and HIGH values after baseline is counted in both:

    - ``direction = "high"``: the highest post-baseline category (HIGH if any value is above
      its ULN, else NORMAL if any value is within range, else LOW);
    - ``direction = "low"``: the lowest (LOW if any value is below its LLN, else NORMAL, else HIGH).

    Values that cannot be categorised are ignored for "worst"; MISSING means none could be.
    Unscheduled post-baseline values count. With option ``lab_shift_by_visit`` the
    post-baseline category is taken per scheduled visit instead (``visit``; the worst in each
    direction if a visit has several records), else ``visit`` is "Worst post-baseline".

    Population: the selected population (SAFFL='Y' by default). Denominator: N = subjects of
    the arm with a baseline and a post-baseline value of that parameter (at that visit in the
    by-visit option), §7. Returns one row per parameter x direction x visit x baseline x
    post_baseline x arm (4 x 4 levels each, zeros included): ``group``, ``paramcd``,
    ``param`` (label with unit), ``unit``, ``direction``, ``visit``, ``visitnum``,
    ``baseline``, ``post_baseline``, ``arm``, ``n``, ``N``, ``pct``.
    """
    recs = lab_analysis_records(con, spec)
    if recs.empty:
        raise _not_in_extract("ADLB has no numeric lab values for this selection.")
    by_visit = bool(spec.option("lab_shift_by_visit", False))
    base, post = _baseline_and_post(recs)
    post = post.assign(_rank=post["category"].map(_CAT_RANK))
    if by_visit:
        post = post[post["scheduled"]]
        keys = ["usubjid", "arm", "paramcd", "visit"]
    else:
        post = post.assign(visit=WORST_VISIT, visitnum=np.nan)
        keys = ["usubjid", "arm", "paramcd", "visit"]
    visitnum = post.groupby(["paramcd", "visit"], dropna=False)["visitnum"].min()
    agg = post.groupby(keys, dropna=False)["_rank"].agg(high="max", low="min").reset_index()
    pieces = []
    for direction in DIRECTIONS:
        pieces.append(agg.assign(direction=direction,
                                 post_baseline=agg[direction].map(_RANK_CAT).fillna("MISSING"))[
            [*keys, "direction", "post_baseline"]])
    rows = pd.concat(pieces, ignore_index=True).merge(
        base[["usubjid", "paramcd", "category"]].rename(columns={"category": "baseline"}), on=["usubjid", "paramcd"])
    meta = _param_meta(recs)
    visits = (post[["paramcd", "visit"]].drop_duplicates() if by_visit
              else pd.DataFrame({"paramcd": meta["paramcd"], "visit": WORST_VISIT}))
    strata = meta[["paramcd"]].merge(visits, on="paramcd", how="inner" if by_visit else "left")
    strata = strata.merge(pd.DataFrame({"direction": list(DIRECTIONS)}), how="cross")
    out = _tabulate(rows[["usubjid", "arm", "paramcd", "visit", "direction", "baseline", "post_baseline"]],
                    _arms(con, spec), strata, {"baseline": CATEGORIES, "post_baseline": CATEGORIES})
    out = out.merge(meta, on="paramcd", how="left")
    out["visitnum"] = [visitnum.get((p, v), np.nan) for p, v in zip(out["paramcd"], out["visit"])]
    out = _sort(out, meta, ["direction", "visitnum", "visit"], extra={"direction": list(DIRECTIONS)})
    return out[["group", "paramcd", "param", "unit", "direction", "visit", "visitnum", "baseline", "post_baseline",
                "arm", "n", "N", "pct"]]


def _sort(out: pd.DataFrame, meta: pd.DataFrame, keys: list[str], extra: dict | None = None) -> pd.DataFrame:
    """Rows in parameter display order, then ``keys``, then arm order (stable for levels)."""
    p_order = {p: i for i, p in enumerate(meta["paramcd"])}
    sort_cols = {"_p": out["paramcd"].map(p_order)}
    for k, levels in (extra or {}).items():
        sort_cols[f"_{k}"] = out[k].map({v: i for i, v in enumerate(levels)})
    data = out.assign(**sort_cols)
    by = ["_p"] + [f"_{k}" if k in (extra or {}) else k for k in keys] + ["arm_order"]
    return data.sort_values(by, kind="stable", na_position="last").drop(columns=list(sort_cols)).reset_index(drop=True)


def lab_shift_summary(con, spec: FilterSpec) -> pd.DataFrame:
    """Per parameter and arm: subjects shifting to HIGH and to LOW after baseline (the scan table).

    Definition: from :func:`lab_shift_baseline_to_worst` (worst post-baseline, both
    directions): "to HIGH" = baseline LOW or NORMAL and worst-high HIGH; "to LOW" = baseline
    NORMAL or HIGH and worst-low LOW. Population and denominator as there (N = subjects with
    a baseline and a post-baseline value). Parameters where no subject has a categorised
    baseline and post-baseline value (no reference range, e.g. derived eGFR) are left out: a
    zero there would read as "no shift". Returns one row per parameter x shift x arm:
    ``group``, ``paramcd``, ``param``, ``unit``, ``shift`` ("to HIGH" / "to LOW"), ``arm``,
    ``n``, ``N``, ``pct``.
    """
    shift = lab_shift_baseline_to_worst(con, spec.with_options(lab_shift_by_visit=False))
    categorised = shift[(shift["n"] > 0) & (shift["baseline"] != "MISSING") & (shift["post_baseline"] != "MISSING")]
    shift = shift[shift["paramcd"].isin(set(categorised["paramcd"]))]
    high = shift[(shift["direction"] == "high") & shift["baseline"].isin(["LOW", "NORMAL"])
                 & (shift["post_baseline"] == "HIGH")].assign(shift="to HIGH")
    low = shift[(shift["direction"] == "low") & shift["baseline"].isin(["NORMAL", "HIGH"])
                & (shift["post_baseline"] == "LOW")].assign(shift="to LOW")
    keys = ["group", "paramcd", "param", "unit", "shift", "arm"]
    both = pd.concat([high, low], ignore_index=True)
    out = both.groupby(keys, sort=False, dropna=False).agg(n=("n", "sum"), N=("N", "first")).reset_index()
    out["pct"] = np.where(out["N"] > 0, 100.0 * out["n"] / out["N"].where(out["N"] > 0, 1), np.nan)
    order = {p: i for i, p in enumerate(dict.fromkeys(shift["paramcd"]))}
    arm_order = {a: i for i, a in enumerate(dict.fromkeys(shift["arm"]))}
    out = out.assign(_p=out["paramcd"].map(order), _a=out["arm"].map(arm_order)).sort_values(["_p", "shift", "_a"])
    return out.drop(columns=["_p", "_a"]).reset_index(drop=True)[[*keys, "n", "N", "pct"]]


def lab_shift_subjects(con, spec: FilterSpec) -> pd.DataFrame:
    """Per subject and parameter: baseline value against the highest and lowest post-baseline values.

    Definition: records, baseline and categories as in the module docstring. Feeds the shift
    plot (fold of ULN: value / ANRHI of the same record; fold of LLN: value / ANRLO).
    Population: the selected population; subjects with a baseline and a post-baseline value.
    Returns one row per subject x parameter: ``group``, ``paramcd``, ``param``, ``unit``,
    ``usubjid``, ``arm``, ``baseline``, ``baseline_category``, ``baseline_x_uln``,
    ``baseline_x_lln``, ``max_post``, ``max_post_x_uln``, ``max_post_date``, ``worst_high``,
    ``min_post``, ``min_post_x_lln``, ``min_post_date``, ``worst_low``, ``anrlo``, ``anrhi``
    (the baseline record's range).
    """
    recs = lab_analysis_records(con, spec)
    if recs.empty:
        raise _not_in_extract("ADLB has no numeric lab values for this selection.")
    base, post = _baseline_and_post(recs)
    post = post.assign(_rank=post["category"].map(_CAT_RANK),
                       x_lln=np.where(post["anrlo"] > 0, post["aval"] / post["anrlo"].where(post["anrlo"] > 0), np.nan))
    key = ["usubjid", "paramcd"]
    hi = post.sort_values([*key, "aval", "adt"], ascending=[True, True, False, True]).drop_duplicates(key)
    lo = post.sort_values([*key, "aval", "adt"], ascending=[True, True, True, True]).drop_duplicates(key)
    worst = post.groupby(key)["_rank"].agg(high="max", low="min").reset_index()
    out = base[["group", "paramcd", "param", "unit", "usubjid", "arm", "arm_order", "aval", "category", "x_uln",
                "anrlo", "anrhi"]].rename(columns={"aval": "baseline", "category": "baseline_category",
                                                   "x_uln": "baseline_x_uln"})
    out["baseline_x_lln"] = np.where(out["anrlo"] > 0, out["baseline"] / out["anrlo"].where(out["anrlo"] > 0), np.nan)
    out = out.merge(hi[[*key, "aval", "x_uln", "adt"]].rename(
        columns={"aval": "max_post", "x_uln": "max_post_x_uln", "adt": "max_post_date"}), on=key)
    out = out.merge(lo[[*key, "aval", "x_lln", "adt"]].rename(
        columns={"aval": "min_post", "x_lln": "min_post_x_lln", "adt": "min_post_date"}), on=key)
    out = out.merge(worst, on=key)
    out["worst_high"] = out["high"].map(_RANK_CAT).fillna("MISSING")
    out["worst_low"] = out["low"].map(_RANK_CAT).fillna("MISSING")
    out = _sort(out, _param_meta(recs), ["arm_order", "usubjid"])
    return out[["group", "paramcd", "param", "unit", "usubjid", "arm", "baseline", "baseline_category",
                "baseline_x_uln", "baseline_x_lln", "max_post", "max_post_x_uln", "max_post_date", "worst_high",
                "min_post", "min_post_x_lln", "min_post_date", "worst_low", "anrlo", "anrhi"]]


# -- CTCAE ----------------------------------------------------------------------------------

def _hgb_g_per_l(values: np.ndarray, unit: str) -> np.ndarray:
    """Haemoglobin in g/L from g/dL, g/L or mmol/L (factors from dashboard.units)."""
    if unit == "g/L":
        return values
    if unit == "mmol/L":
        mmol_per_g_dl = to_si("hemoglobin", 1.0, "g/dL", "mmol/L")[0]
        values = values / mmol_per_g_dl
        unit = "g/dL"
    return to_si("hemoglobin", values, unit, "g/L")[0]


def grade_records(frame: pd.DataFrame, baseline: pd.Series | None = None) -> pd.DataFrame:
    """CTCAE v5.0 grades of lab records (``code``, ``aval``, ``anrlo``, ``anrhi``, ``unit``).

    Definition: clinical_reference §5 via :func:`dashboard.ctcae.ctcae_grade`. Units: the
    ULN-multiple terms (creatinine, ALT, AST, bilirubin, ALP) need no unit; haemoglobin in
    mmol/L is converted to g/L (``dashboard.units``, g/dL x 0.6206 = mmol/L); a term with
    absolute cut-offs and a missing or unsupported unit is not graded (-1). ``baseline`` (same
    index, same unit) feeds the baseline-dependent criteria; None grades against the ULN only.
    Returns one row per record x term: ``row`` (index label of ``frame``), ``term``,
    ``direction``, ``grade`` (-1 = not gradable).
    """
    pieces = []
    base = baseline if baseline is not None else pd.Series(np.nan, index=frame.index)
    for (code, unit), sub in frame.groupby(["code", frame["unit"].fillna("")], sort=False):
        terms = CTCAE_LAB_TERMS.get(code)
        if not terms:
            continue
        value, lln, uln = (sub["aval"].to_numpy(float), sub["anrlo"].to_numpy(float), sub["anrhi"].to_numpy(float))
        bl = base.loc[sub.index].to_numpy(float)
        absolute = any("unit" in t.inputs for t in terms)
        grade_unit = unit or None
        if code == "HGB" and unit in ("g/dL", "g/L", "mmol/L"):
            value, lln, uln, bl = (_hgb_g_per_l(x, unit) for x in (value, lln, uln, bl))
            grade_unit = "g/L"
        try:
            if absolute and not grade_unit:
                raise ValueError("no unit")
            graded = ctcae_grade(code, value, lln=lln, uln=uln, baseline=bl, unit=grade_unit)
        except ValueError:
            graded = pd.DataFrame({"row": np.repeat(np.arange(len(sub)), len(terms)),
                                   "term": [t.term for t in terms] * len(sub),
                                   "direction": [t.direction for t in terms] * len(sub), "grade": GRADE_MISSING})
        graded["row"] = sub.index.to_numpy()[graded["row"].to_numpy()]
        pieces.append(graded[["row", "term", "direction", "grade"]])
    if not pieces:
        return pd.DataFrame({"row": [], "term": [], "direction": [], "grade": []})
    return pd.concat(pieces, ignore_index=True)


def _graded_codes(recs: pd.DataFrame) -> pd.DataFrame:
    return recs[recs["code"].isin(CTCAE_LAB_TERMS)]


def lab_ctcae_shift(con, spec: FilterSpec) -> pd.DataFrame:
    """CTCAE v5.0 grade at baseline against the worst post-baseline grade, by term and arm.

    Definition: clinical_reference §5 through :func:`grade_records`: every term of
    ``dashboard.ctcae.CTCAE_LAB_TERMS`` present (creatinine, ALT, AST, bilirubin, ALP
    increased; anemia; platelet and neutrophil count decreased; hyper- and hypokalemia;
    hypoglycemia; hypoalbuminemia). Baseline grade: the baseline record graded against the
    ULN/LLN only. Post-baseline grades use the subject's baseline for the baseline-dependent
    criteria (creatinine x baseline; ALT/AST, bilirubin, ALP when baseline > ULN). Worst =
    the highest grade over post-baseline records (unscheduled included); "Missing" when no
    record could be graded (no range, unit not supported).

    Population: the selected population. Denominator: N = subjects with a baseline and a
    post-baseline value of the parameter (§7). Returns one row per parameter x term x
    baseline grade x worst grade x arm (grades "0".."4" and "Missing", zeros included):
    ``group``, ``paramcd``, ``param``, ``unit``, ``term``, ``baseline``, ``post_baseline``,
    ``arm``, ``n``, ``N``, ``pct``.
    """
    recs = _graded_codes(lab_analysis_records(con, spec))
    if recs.empty:
        raise _not_in_extract("no CTCAE-gradable lab parameter (" + ", ".join(CTCAE_LAB_TERMS) + ") in this selection.")
    base, post = _baseline_and_post(recs)
    bgrades = grade_records(base).merge(base[["usubjid", "paramcd"]], left_on="row", right_index=True)
    bl_value = post.merge(base[["usubjid", "paramcd", "aval"]].rename(columns={"aval": "_bl"}),
                          on=["usubjid", "paramcd"], how="left")["_bl"]
    bl_value.index = post.index
    pgrades = grade_records(post, bl_value).merge(post[["usubjid", "arm", "paramcd"]], left_on="row", right_index=True)
    worst = (pgrades.assign(g=pgrades["grade"].where(pgrades["grade"] >= 0))
             .groupby(["usubjid", "arm", "paramcd", "term"])["g"].max().reset_index())
    worst["post_baseline"] = worst["g"].map(lambda g: "Missing" if pd.isna(g) else str(int(g)))
    bgrades["baseline"] = bgrades["grade"].map(lambda g: "Missing" if g < 0 else str(int(g)))
    rows = worst.merge(bgrades[["usubjid", "paramcd", "term", "baseline"]], on=["usubjid", "paramcd", "term"])
    meta = _param_meta(recs)
    term_order = {t.term: i for terms in CTCAE_LAB_TERMS.values() for i, t in enumerate(terms)}
    strata = []
    for r in meta.itertuples(index=False):
        code = recs.loc[recs["paramcd"] == r.paramcd, "code"].iloc[0]
        strata += [{"paramcd": r.paramcd, "term": t.term} for t in CTCAE_LAB_TERMS[code]]
    out = _tabulate(rows[["usubjid", "arm", "paramcd", "term", "baseline", "post_baseline"]], _arms(con, spec),
                    pd.DataFrame(strata), {"baseline": GRADES, "post_baseline": GRADES})
    out = out.merge(meta, on="paramcd", how="left")
    out["_t"] = out["term"].map(term_order)
    out = _sort(out, meta, ["_t"]).drop(columns="_t")
    return out[["group", "paramcd", "param", "unit", "term", "baseline", "post_baseline", "arm", "n", "N", "pct"]]


# -- by visit -------------------------------------------------------------------------------

def _by_visit_records(recs: pd.DataFrame) -> pd.DataFrame:
    """Baseline records (visit "Baseline") plus one post-baseline record per subject, parameter and
    scheduled visit: the one closest to the visit's target day, the later on a tie (§7)."""
    base, post = recs[recs["timing"] == "baseline"], recs[(recs["timing"] == "post") & recs["scheduled"]]
    names = {"visit": "avisit", "visitnum": "avisitn", "day": "study_day", "SRC_ROW": "src_row"}
    post = bds.one_per_visit(post.rename(columns=names), param="paramcd").rename(columns={v: k for k, v in names.items()})
    base = base.drop_duplicates(["usubjid", "paramcd"], keep="last")
    base = base.assign(visit="Baseline", visitnum=base["visitnum"].where(base["visitnum"].notna(), 0.0))
    out = pd.concat([base, post], ignore_index=True)
    out = out.merge(base[["usubjid", "paramcd", "aval"]].rename(columns={"aval": "base"}),
                    on=["usubjid", "paramcd"], how="left")
    out["chg"] = np.where(out["timing"] == "baseline", np.nan, out["aval"] - out["base"])
    # Visit order: AVISITN where present, else the median study day in weeks; Baseline first.
    vorder = out.groupby(["paramcd", "visit"])[["visitnum", "day"]].median()
    vorder["visit_order"] = vorder["visitnum"].where(vorder["visitnum"].notna(), vorder["day"] / 7.0).fillna(np.inf)
    out = out.merge(vorder[["visit_order"]].reset_index(), on=["paramcd", "visit"], how="left")
    out.loc[out["timing"] == "baseline", "visit_order"] = -np.inf
    return out


def _decimals(values: pd.Series) -> int:
    v = values.dropna().to_numpy(float)
    for d in range(4):
        if np.all(np.abs(np.round(v, d) - v) < 1e-9):
            return d
    return 3


def lab_summary_by_visit(con, spec: FilterSpec) -> pd.DataFrame:
    """n, mean, SD, median, min, max of the value and of the change from baseline, by parameter,
    visit and arm.

    Definition: records, baseline and visits as in the module docstring; one record per
    subject and scheduled visit (closest to the target day, later on a tie; §7); unscheduled
    values are not summarised by visit. Change = value - the subject's baseline value; none
    at the Baseline row (teal#46). Population: the selected population; n = subjects with a
    value at that visit. Returns one row per parameter x visit x arm (arms with no values
    have n = 0): ``group``, ``paramcd``, ``param``, ``unit``, ``visit``, ``visitnum``, ``arm``,
    ``n``, ``mean``, ``sd``, ``median``, ``min``, ``max``, ``chg_n``, ``chg_mean``, ``chg_sd``,
    ``chg_median``, ``chg_min``, ``chg_max``, ``dp`` (decimals in the data, for display).
    """
    recs = lab_analysis_records(con, spec)
    if recs.empty:
        raise _not_in_extract("ADLB has no numeric lab values for this selection.")
    data = _by_visit_records(recs)
    arms = _arms(con, spec)
    if (arms["arm"] == TOTAL_ARM).any():
        data = pd.concat([data, data.assign(arm=TOTAL_ARM)], ignore_index=True)
    keys = ["paramcd", "visit", "arm"]
    stats = data.groupby(keys).agg(n=("aval", "count"), mean=("aval", "mean"), sd=("aval", "std"),
                                   median=("aval", "median"), min=("aval", "min"), max=("aval", "max"),
                                   chg_n=("chg", "count"), chg_mean=("chg", "mean"), chg_sd=("chg", "std"),
                                   chg_median=("chg", "median"), chg_min=("chg", "min"), chg_max=("chg", "max"))
    visits = data.groupby(["paramcd", "visit"]).agg(visitnum=("visitnum", "min"), visit_order=("visit_order", "first"))
    grid = visits.reset_index().merge(arms, how="cross")
    out = grid.merge(stats.reset_index(), on=keys, how="left")
    out[["n", "chg_n"]] = out[["n", "chg_n"]].fillna(0).astype("int64")
    meta = _param_meta(recs)
    dp = recs.groupby("paramcd")["aval"].apply(_decimals).rename("dp")
    out = out.merge(meta, on="paramcd", how="left").merge(dp, left_on="paramcd", right_index=True, how="left")
    out = _sort(out, meta, ["visit_order", "visit"])
    return out[["group", "paramcd", "param", "unit", "visit", "visitnum", "arm", "n", "mean", "sd", "median", "min",
                "max", "chg_n", "chg_mean", "chg_sd", "chg_median", "chg_min", "chg_max", "dp"]]


def lab_values_by_visit(con, spec: FilterSpec) -> pd.DataFrame:
    """The values behind the box plots: baseline and one value per scheduled post-baseline visit.

    Definition: as :func:`lab_summary_by_visit` (same records). Population: the selected
    population. Returns one row per subject x parameter x visit: ``group``, ``paramcd``,
    ``param``, ``unit``, ``usubjid``, ``arm``, ``visit``, ``visit_order``, ``adt``, ``aval``,
    ``chg``, ``anrlo``, ``anrhi``, ``category``, ``SRC_FILE``, ``SRC_ROW``.
    """
    recs = lab_analysis_records(con, spec)
    if recs.empty:
        raise _not_in_extract("ADLB has no numeric lab values for this selection.")
    data = _by_visit_records(recs)
    data = _sort(data, _param_meta(recs), ["arm_order", "visit_order", "usubjid"])
    return data[["group", "paramcd", "param", "unit", "usubjid", "arm", "visit", "visit_order", "adt", "aval", "chg",
                 "anrlo", "anrhi", "category", "SRC_FILE", "SRC_ROW"]]


# -- listing --------------------------------------------------------------------------------

def lab_abnormal_listing(con, spec: FilterSpec) -> pd.DataFrame:
    """Post-baseline lab values outside the reference range or of CTCAE grade >= 3.

    Definition: category and x ULN as in the module docstring; grade = the highest CTCAE
    v5.0 grade of the record over its terms (:func:`grade_records`, the subject's baseline
    feeding the baseline criteria). Duplicated summary visits (End of Treatment) are left
    out; unscheduled values are listed. Option ``lab_listing_baseline`` adds the baseline
    records. Population: the selected population. Returns one row per record, ordered by
    subject, parameter and date: ``usubjid``, ``arm``, ``group``, ``paramcd``, ``param``,
    ``visit``, ``adt``, ``day``, ``aval``, ``unit``, ``anrlo``, ``anrhi``, ``category``,
    ``x_uln``, ``grade`` (NaN = not graded), ``term``, ``baseline``, ``SRC_FILE``, ``SRC_ROW``.
    """
    recs = lab_analysis_records(con, spec)
    if recs.empty:
        raise _not_in_extract("ADLB has no numeric lab values for this selection.")
    timings = ["post", "baseline"] if spec.option("lab_listing_baseline", False) else ["post"]
    base = recs[recs["timing"] == "baseline"].drop_duplicates(["usubjid", "paramcd"], keep="last")
    pool = recs[recs["timing"].isin(timings) & ~recs["duplicate"]].copy()
    bl = pool.merge(base[["usubjid", "paramcd", "aval"]].rename(columns={"aval": "_bl"}),
                    on=["usubjid", "paramcd"], how="left")["_bl"]
    bl.index = pool.index
    pool["baseline"] = bl
    graded = pool[pool["code"].isin(CTCAE_LAB_TERMS)]
    grades = grade_records(graded, bl.loc[graded.index].where(graded["timing"] != "baseline"))
    grades = grades[grades["grade"] >= 0].sort_values(["row", "grade"], ascending=[True, False]).drop_duplicates("row")
    pool["grade"] = grades.set_index("row")["grade"].reindex(pool.index).astype(float)
    pool["term"] = grades.set_index("row")["term"].reindex(pool.index)
    keep = pool["category"].isin(["LOW", "HIGH"]) | (pool["grade"] >= 3)
    out = pool[keep].sort_values(["usubjid", "paramcd", "adt", "SRC_FILE", "SRC_ROW"], na_position="last")
    out = out.assign(visit=out["visit"].where(out["scheduled"], "Unscheduled"))
    return out[["usubjid", "arm", "group", "paramcd", "param", "visit", "adt", "day", "aval", "unit", "anrlo", "anrhi",
                "category", "x_uln", "grade", "term", "baseline", "SRC_FILE", "SRC_ROW"]].reset_index(drop=True)


# -- liver ----------------------------------------------------------------------------------

def _liver_draws(con, spec: FilterSpec) -> pd.DataFrame:
    """Post-baseline ALT, AST, BILI, ALP records with x ULN, duplicates removed."""
    recs = lab_analysis_records(con, spec.with_options(lab_params=()))
    liver = recs[recs["code"].isin(LIVER_CODES)]
    missing = [c for c in ("ALT", "BILI") if c not in set(liver["code"])]
    if missing:
        raise _not_in_extract(f"ADLB has no {' or '.join(missing)} records, so eDISH and Hy's law cannot be shown.")
    return liver[(liver["timing"] == "post") & ~liver["duplicate"] & liver["x_uln"].notna()]


def _alt_rule(spec: FilterSpec) -> str:
    rule = spec.option("lab_hy_alt_rule", "ge")
    if rule not in ("ge", "gt"):
        raise ValueError(f"option lab_hy_alt_rule must be 'ge' (>= 3 x ULN, FDA) or 'gt' (> 3 x ULN); got {rule!r}.")
    return rule


def _peaks(draws: pd.DataFrame) -> pd.DataFrame:
    """Peak x ULN per subject and test (earliest date on a tie): usubjid, code, value, x_uln, adt."""
    top = draws.sort_values(["usubjid", "code", "x_uln", "adt"], ascending=[True, True, False, True])
    return top.drop_duplicates(["usubjid", "code"])[["usubjid", "code", "aval", "x_uln", "adt"]]


def edish_subjects(con, spec: FilterSpec) -> pd.DataFrame:
    """Peak post-baseline aminotransferase and total bilirubin (x ULN) per subject, with the eDISH quadrant.

    Definition: clinical_reference §6 (eDISH): x = peak post-baseline ALT / ULN (option
    ``lab_edish_x``: ``ALT`` default, ``AST``, or ``ALT_OR_AST`` = the higher of the two
    peaks), y = peak post-baseline total bilirubin / ULN; the peaks may come from different
    draws. Quadrant by :func:`dashboard.liver.hys_law_quadrant` (lines at 3 x and 2 x ULN;
    ``lab_hy_alt_rule`` ``ge`` default: a point exactly at 3 x ULN is elevated; exactly 2 x
    ULN bilirubin is not). Population: the selected population; subjects with both peaks.
    Returns one row per subject: ``usubjid``, ``arm``, ``x_test``, ``alt_x_uln``,
    ``ast_x_uln``, ``x_uln`` (the plotted x), ``tbl_x_uln``, ``alp_x_uln``, ``x_date``,
    ``tbl_date``, ``quadrant``.
    """
    x_mode = spec.option("lab_edish_x", "ALT")
    if x_mode not in ("ALT", "AST", "ALT_OR_AST"):
        raise ValueError(f"option lab_edish_x must be 'ALT', 'AST' or 'ALT_OR_AST'; got {x_mode!r}.")
    draws = _liver_draws(con, spec)
    peaks = _peaks(draws)
    arm = draws.drop_duplicates("usubjid").set_index("usubjid")["arm"]
    wide = peaks.pivot(index="usubjid", columns="code", values="x_uln").reindex(columns=list(LIVER_CODES))
    dates = peaks.pivot(index="usubjid", columns="code", values="adt").reindex(columns=list(LIVER_CODES))
    if x_mode == "ALT_OR_AST":
        use_ast = wide["AST"].fillna(-np.inf) > wide["ALT"].fillna(-np.inf)
        x = wide["AST"].where(use_ast, wide["ALT"])
        x_date = dates["AST"].where(use_ast, dates["ALT"])
        x_test = pd.Series(np.where(use_ast, "AST", "ALT"), index=wide.index)
    else:
        x, x_date, x_test = wide[x_mode], dates[x_mode], pd.Series(x_mode, index=wide.index)
    out = pd.DataFrame({"usubjid": wide.index, "arm": arm.reindex(wide.index).to_numpy(), "x_test": x_test.to_numpy(),
                        "alt_x_uln": wide["ALT"].to_numpy(), "ast_x_uln": wide["AST"].to_numpy(),
                        "x_uln": x.to_numpy(), "tbl_x_uln": wide["BILI"].to_numpy(),
                        "alp_x_uln": wide["ALP"].to_numpy(), "x_date": x_date.to_numpy(),
                        "tbl_date": dates["BILI"].to_numpy()})
    out = out[out["x_uln"].notna() & out["tbl_x_uln"].notna()].copy()
    out["quadrant"] = hys_law_quadrant(out["x_uln"].to_numpy(), out["tbl_x_uln"].to_numpy(), _alt_rule(spec))
    arms = _arms(con, spec)
    out = out.merge(arms, on="arm", how="left").sort_values(["arm_order", "usubjid"]).drop(columns="arm_order")
    return out.reset_index(drop=True)


def edish_quadrants(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects per eDISH quadrant, by arm.

    Definition: :func:`edish_subjects` (clinical_reference §6). Denominator: N = subjects of
    the arm with a post-baseline peak of both the x test and total bilirubin. Returns one row
    per quadrant x arm (all four quadrants, zeros included): ``quadrant``, ``arm``, ``n``,
    ``N``, ``pct``.
    """
    subj = edish_subjects(con, spec)
    out = _tabulate(subj[["usubjid", "arm", "quadrant"]].assign(_s="all"), _arms(con, spec),
                    pd.DataFrame({"_s": ["all"]}), {"quadrant": QUADRANTS})
    return out[["quadrant", "arm", "n", "N", "pct"]]


def hys_law_candidates(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects meeting the biochemical criteria of potential Hy's law, with dates and peak values.

    Definition: clinical_reference §6 (FDA DILI guidance 2009), per subject, on post-baseline
    draws (duplicated summary visits removed):

    1. an ALT or AST draw elevated (the higher of ALT/ULN and AST/ULN of that date;
       >= 3 x ULN with ``lab_hy_alt_rule`` ``ge``, default per the FDA guidance; ``gt``: > 3);
    2. a total bilirubin > 2 x ULN on the same date or within ``lab_hy_window_days`` days
       (default 30) before or after it (the window is symmetric: a screen should not miss a
       bilirubin drawn a few days before the enzyme peak was recorded);
    3. ALP < 2 x ULN: the ALP of the aminotransferase draw, else the nearest ALP within the
       window. ALP >= 2 x ULN or no ALP still lists the subject (``potential_hys_law`` False,
       the reason in ``classification``): the board sees every upper-right pair.

    The pair shown is the first that meets all three, else the first that meets 1 and 2
    (earliest aminotransferase date, then the nearest bilirubin). Population: the selected
    population. Returns one row per subject: ``usubjid``, ``arm``, ``classification``,
    ``potential_hys_law``, ``alt_ast_test``, ``alt_ast_date``, ``alt_ast_x_uln``, ``tbl_date``,
    ``tbl_x_uln``, ``days_apart``, ``alp_x_uln``, ``r_ratio`` (ALT/ULN over ALP/ULN at the
    aminotransferase draw), ``peak_alt``, ``peak_alt_x_uln``, ``peak_alt_date``, ``peak_ast``,
    ``peak_ast_x_uln``, ``peak_ast_date``, ``peak_tbl``, ``peak_tbl_x_uln``, ``peak_tbl_date``,
    ``peak_alp_x_uln``.
    """
    rule = _alt_rule(spec)
    window = int(spec.option("lab_hy_window_days", 30))
    if window < 0:
        raise ValueError(f"option lab_hy_window_days must be 0 or more days; got {window}.")
    draws = _liver_draws(con, spec)
    cols = ["usubjid", "arm", "classification", "potential_hys_law", "alt_ast_test", "alt_ast_date", "alt_ast_x_uln",
            "tbl_date", "tbl_x_uln", "days_apart", "alp_x_uln", "r_ratio", "peak_alt", "peak_alt_x_uln",
            "peak_alt_date", "peak_ast", "peak_ast_x_uln", "peak_ast_date", "peak_tbl", "peak_tbl_x_uln",
            "peak_tbl_date", "peak_alp_x_uln"]
    by_date = draws[draws["adt"].notna()].groupby(["usubjid", "arm", "adt", "code"])["x_uln"].max().unstack("code")
    by_date = by_date.reindex(columns=list(LIVER_CODES)).reset_index()
    amino = by_date[by_date[["ALT", "AST"]].notna().any(axis=1)].copy()
    use_ast = amino["AST"].fillna(-np.inf) > amino["ALT"].fillna(-np.inf)
    amino["enzyme_x"] = amino["AST"].where(use_ast, amino["ALT"])
    amino["alt_ast_test"] = np.where(use_ast, "AST", "ALT")
    bili = by_date.loc[by_date["BILI"].notna(), ["usubjid", "adt", "BILI"]].rename(
        columns={"adt": "tbl_date", "BILI": "tbl_x_uln"})
    pairs = amino.rename(columns={"adt": "alt_ast_date"}).merge(bili, on="usubjid")
    pairs["days_apart"] = (pairs["tbl_date"] - pairs["alt_ast_date"]).dt.days
    pairs = pairs[pairs["days_apart"].abs() <= window]
    if len(pairs):
        pairs = pairs[hys_law_quadrant(pairs["enzyme_x"].to_numpy(), pairs["tbl_x_uln"].to_numpy(), rule)
                      == "possible Hy's law"]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    alp = by_date.loc[by_date["ALP"].notna(), ["usubjid", "adt", "ALP"]].rename(columns={"adt": "alp_date"})
    near = pairs[["usubjid", "alt_ast_date"]].drop_duplicates().merge(alp, on="usubjid")
    near["_gap"] = (near["alp_date"] - near["alt_ast_date"]).dt.days.abs()
    near = near[near["_gap"] <= window].sort_values(["usubjid", "alt_ast_date", "_gap", "alp_date"])
    near = near.drop_duplicates(["usubjid", "alt_ast_date"])[["usubjid", "alt_ast_date", "ALP"]]
    pairs = pairs.drop(columns=["ALP"]).merge(near, on=["usubjid", "alt_ast_date"], how="left")
    pairs["potential_hys_law"] = is_potential_hys_law(pairs["enzyme_x"].to_numpy(), pairs["tbl_x_uln"].to_numpy(),
                                                      pairs["ALP"].to_numpy(), rule)
    pairs["_abs"] = pairs["days_apart"].abs()
    first = pairs.sort_values(["usubjid", "potential_hys_law", "alt_ast_date", "_abs", "tbl_date"],
                              ascending=[True, False, True, True, True]).drop_duplicates("usubjid")
    first = first.rename(columns={"enzyme_x": "alt_ast_x_uln", "ALP": "alp_x_uln"})
    first["r_ratio"] = r_ratio(first["ALT"].where(first["ALT"].notna(), first["alt_ast_x_uln"]).to_numpy(),
                               first["alp_x_uln"].to_numpy())
    first["classification"] = np.select(
        [first["potential_hys_law"], first["alp_x_uln"].isna()],
        ["Potential Hy's law", "ALT/AST and bilirubin elevated; no ALP within the window"],
        default="ALT/AST and bilirubin elevated; ALP >= 2 x ULN (cholestatic)")
    peaks = _peaks(draws)
    for code, name in (("ALT", "alt"), ("AST", "ast"), ("BILI", "tbl"), ("ALP", "alp")):
        p = peaks[peaks["code"] == code].set_index("usubjid")
        first[f"peak_{name}"] = first["usubjid"].map(p["aval"])
        first[f"peak_{name}_x_uln"] = first["usubjid"].map(p["x_uln"])
        first[f"peak_{name}_date"] = first["usubjid"].map(p["adt"])
    first["potential_hys_law"] = first["potential_hys_law"].astype(bool)
    arms = _arms(con, spec)
    first = first.merge(arms, on="arm", how="left").sort_values(["arm_order", "usubjid"])
    return first[cols].reset_index(drop=True)


# -- catalogue ------------------------------------------------------------------------------

def lab_parameters(con, spec: FilterSpec) -> pd.DataFrame:
    """Every lab parameter analysed, with its group, unit and how many subjects and records it has.

    Definition: the records of the module docstring (``_`` parameters and derived DTYPE
    records excluded). Population: the selected population. Returns one row per parameter, in
    display order: ``group``, ``paramcd``, ``param``, ``unit``, ``subjects``, ``records``,
    ``with_baseline`` (subjects with a baseline value), ``range`` ("range", "indicator" or
    "none": where the LOW/NORMAL/HIGH categories come from), ``ctcae`` (gradable terms).
    """
    recs = lab_analysis_records(con, spec.with_options(lab_params=()))
    if recs.empty:
        raise _not_in_extract("ADLB has no numeric lab values for this selection.")
    g = recs.groupby("paramcd")
    out = _param_meta(recs)
    out["subjects"] = out["paramcd"].map(g["usubjid"].nunique()).astype("int64")
    out["records"] = out["paramcd"].map(g.size()).astype("int64")
    base = recs[recs["timing"] == "baseline"].groupby("paramcd")["usubjid"].nunique()
    out["with_baseline"] = out["paramcd"].map(base).fillna(0).astype("int64")
    source = g["range_source"].agg(lambda s: "range" if (s == "range").any() else
                                   "indicator" if (s == "indicator").any() else "none")
    out["range"] = out["paramcd"].map(source)
    codes = g["code"].first()
    out["ctcae"] = out["paramcd"].map(lambda p: "; ".join(t.term for t in CTCAE_LAB_TERMS.get(codes[p], ())))
    return out


def parameter_groups(catalogue: pd.DataFrame) -> list[str]:
    """Groups present in a :func:`lab_parameters` frame, in display order."""
    return list(dict.fromkeys(catalogue["group"])) if catalogue is not None and len(catalogue) else []


def parameter_choices(catalogue: pd.DataFrame, group: str | None = None) -> dict[str, str]:
    """PARAMCD -> label (with unit) of the parameters of a group (all groups when None)."""
    if catalogue is None or catalogue.empty:
        return {}
    rows = catalogue if not group else catalogue[catalogue["group"] == group]
    return dict(zip(rows["paramcd"], rows["param"]))


def subject_from_selection(selection, column: str = "usubjid") -> str | None:
    """The subject of a chart click (Streamlit selection event) or a selected table row, if any."""
    if selection is None:
        return None
    if isinstance(selection, pd.DataFrame):
        return str(selection[column].iloc[0]) if len(selection) and column in selection else None
    try:
        chosen = selection.selection if hasattr(selection, "selection") else selection.get("selection", {})
    except AttributeError:
        return None
    for points in dict(chosen or {}).values():
        if isinstance(points, dict):
            value = points.get(column)
            if isinstance(value, (list, tuple)):
                return str(value[0]) if value else None
            if value:
                return str(value)
            continue
        for point in points or []:
            if isinstance(point, dict) and point.get(column):
                return str(point[column])
    return None


def options_in_use(spec: FilterSpec) -> str:
    """One line naming the liver options in use (printed under the liver tables)."""
    rule = spec.option("lab_hy_alt_rule", "ge")
    x = {"ALT": "ALT", "AST": "AST", "ALT_OR_AST": "the higher of ALT and AST"}.get(spec.option("lab_edish_x", "ALT"))
    return (f"In use: ALT/AST {'>=' if rule == 'ge' else '>'} 3 x ULN; total bilirubin > 2 x ULN; ALP < 2 x ULN; "
            f"bilirubin within {int(spec.option('lab_hy_window_days', 30))} days of the ALT/AST draw (either order); "
            f"eDISH x axis: peak {x}.")


# -- display wrappers -----------------------------------------------------------------------

def _pct_cell(n, pct) -> str:
    from dashboard.formatting import fmt_n_pct

    return fmt_n_pct(n, pct)


def _shift_display(frame: pd.DataFrame, level_col: str, levels: tuple, label: str, first_cols: list[tuple],
                   optional: tuple = ()) -> pd.DataFrame:
    """Rows: ``first_cols`` x arm (N) x baseline level; columns: post-baseline levels, n (%).

    ``optional`` levels (MISSING; grades above 0) appear as a row only when a subject has that
    baseline level in the frame, and MISSING as a column only when a subject has it: empty rows
    only lengthen the table on a projector.
    """
    from dashboard.formatting import arm_header

    if frame.empty:
        return pd.DataFrame(columns=[c for _, c in first_cols] + ["Arm", f"Baseline {label}", *levels])
    keys = [c for c, _ in first_cols]
    present_rows = set(frame.loc[frame["n"] > 0, "baseline"])
    present_cols = set(frame.loc[frame["n"] > 0, level_col])
    frame = frame[~frame["baseline"].isin(optional) | frame["baseline"].isin(present_rows)]
    levels = tuple(v for v in levels if v not in ("MISSING", "Missing") or v in present_cols)
    data = frame.assign(_cell=[_pct_cell(n, p) for n, p in zip(frame["n"], frame["pct"])],
                        _arm=[arm_header(a, n) for a, n in zip(frame["arm"], frame["N"])])
    wide = data.pivot_table(index=[*keys, "_arm", "baseline"], columns=level_col, values="_cell", aggfunc="first",
                            sort=False).reindex(columns=list(levels)).reset_index()
    wide.columns.name = None
    return wide.rename(columns={**dict(first_cols), "_arm": "Arm", "baseline": f"Baseline {label}"})


def _lab_shift_display(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.assign(direction=frame["direction"].map({"high": "Worst high", "low": "Worst low"}))
    return _shift_display(data, "post_baseline", CATEGORIES, "category",
                          [("param", "Parameter"), ("visit", "Post-baseline"), ("direction", "Direction")],
                          optional=("MISSING",))


def _ctcae_display(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.assign(post_baseline=frame["post_baseline"].map(lambda g: g if g == "Missing" else f"Grade {g}"),
                        baseline=frame["baseline"].map(lambda g: g if g == "Missing" else f"Grade {g}"))
    levels = tuple(g if g == "Missing" else f"Grade {g}" for g in GRADES)
    return _shift_display(data, "post_baseline", levels, "grade", [("param", "Parameter"), ("term", "CTCAE term")],
                          optional=levels[1:])


def _shift_summary_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_n_pct

    data = frame.assign(_cell=[f"{fmt_n_pct(n, p)} / {int(N)}" if N else "no data"
                               for n, p, N in zip(frame["n"], frame["pct"], frame["N"])])
    wide = data.pivot_table(index=["group", "param", "shift"], columns="arm", values="_cell", aggfunc="first",
                            sort=False).reset_index()
    wide.columns.name = None
    return wide.rename(columns={"group": "Group", "param": "Parameter", "shift": "Shift from baseline"})


def _summary_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    def f(x, dp):
        return fmt_num(x, int(dp))

    dp = frame["dp"].fillna(1).astype(int)
    dp1 = (dp + 1).clip(upper=3)
    return pd.DataFrame({
        "Parameter": frame["param"], "Visit": frame["visit"], "Arm": frame["arm"], "n": frame["n"],
        "Mean (SD)": [f"{f(m, d)} ({f(s, d)})" if n else "" for m, s, d, n in zip(frame["mean"], frame["sd"], dp1, frame["n"])],
        "Median": [f(m, d) for m, d in zip(frame["median"], dp1)],
        "Min, max": [f"{f(a, d)}, {f(b, d)}" if n else "" for a, b, d, n in zip(frame["min"], frame["max"], dp, frame["n"])],
        "Change n": frame["chg_n"],
        "Change mean (SD)": [f"{f(m, d)} ({f(s, d)})" if n else "" for m, s, d, n in
                             zip(frame["chg_mean"], frame["chg_sd"], dp1, frame["chg_n"])],
        "Change median": [f(m, d) for m, d in zip(frame["chg_median"], dp1)],
        "Change min, max": [f"{f(a, d)}, {f(b, d)}" if n else "" for a, b, d, n in
                            zip(frame["chg_min"], frame["chg_max"], dp, frame["chg_n"])],
    })


def _fmt_date(x) -> str:
    return "" if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d")


def _fmt_range(lo, hi) -> str:
    if pd.isna(lo) and pd.isna(hi):
        return ""
    return f"{'' if pd.isna(lo) else f'{lo:g}'} to {'' if pd.isna(hi) else f'{hi:g}'}"


def _listing_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    return pd.DataFrame({
        "Subject": frame["usubjid"], "Arm": frame["arm"], "Parameter": frame["param"], "Visit": frame["visit"],
        "Date": frame["adt"].map(_fmt_date), "Day": frame["day"].map(lambda d: "" if pd.isna(d) else str(int(d))),
        "Value": frame["aval"].map(lambda v: f"{v:g}"), "Unit": frame["unit"],
        "Range": [_fmt_range(a, b) for a, b in zip(frame["anrlo"], frame["anrhi"])],
        "Flag": frame["category"].map({"LOW": "L", "HIGH": "H"}).fillna(""),
        "x ULN": frame["x_uln"].map(lambda v: fmt_num(v, 2)),
        "CTCAE grade": frame["grade"].map(lambda g: "" if pd.isna(g) else str(int(g))),
        "CTCAE term": frame["term"].fillna(""),
        "Baseline": frame["baseline"].map(lambda v: "" if pd.isna(v) else f"{v:g}"),
        "Source": [f"{f} row {r}" for f, r in zip(frame["SRC_FILE"], frame["SRC_ROW"])],
    })


def _quadrant_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import wide_by_arm

    labels = {"possible Hy's law": "Possible Hy's law (ALT >= 3x, TBL > 2x ULN)",
              "Temple's corollary": "Temple's corollary (ALT >= 3x, TBL <= 2x ULN)",
              "hyperbilirubinemia": "Hyperbilirubinemia / cholestasis (TBL > 2x ULN only)",
              "normal": "Normal range quadrant"}
    data = frame.assign(quadrant=frame["quadrant"].map(labels))
    return wide_by_arm(data, ["quadrant"], lambda r: _pct_cell(r["n"], r["pct"])).rename(
        columns={"quadrant": "eDISH quadrant"})


def _hys_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    x = lambda v: fmt_num(v, 2)  # noqa: E731
    return pd.DataFrame({
        "Subject": frame["usubjid"], "Arm": frame["arm"], "Classification": frame["classification"],
        "ALT/AST test": frame["alt_ast_test"], "ALT/AST date": frame["alt_ast_date"].map(_fmt_date),
        "ALT/AST x ULN": frame["alt_ast_x_uln"].map(x), "Bilirubin date": frame["tbl_date"].map(_fmt_date),
        "Bilirubin x ULN": frame["tbl_x_uln"].map(x), "Days apart": frame["days_apart"],
        "ALP x ULN": frame["alp_x_uln"].map(x), "R ratio": frame["r_ratio"].map(x),
        "Peak ALT (x ULN, date)": [f"{'' if pd.isna(v) else f'{v:g}'} ({x(m)}x, {_fmt_date(d)})" if not pd.isna(v) else ""
                                   for v, m, d in zip(frame["peak_alt"], frame["peak_alt_x_uln"], frame["peak_alt_date"])],
        "Peak AST (x ULN, date)": [f"{v:g} ({x(m)}x, {_fmt_date(d)})" if not pd.isna(v) else ""
                                   for v, m, d in zip(frame["peak_ast"], frame["peak_ast_x_uln"], frame["peak_ast_date"])],
        "Peak bilirubin (x ULN, date)": [f"{v:g} ({x(m)}x, {_fmt_date(d)})" if not pd.isna(v) else ""
                                         for v, m, d in zip(frame["peak_tbl"], frame["peak_tbl_x_uln"],
                                                            frame["peak_tbl_date"])],
    })


def _edish_subjects_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    x = lambda v: fmt_num(v, 2)  # noqa: E731
    return pd.DataFrame({"Subject": frame["usubjid"], "Arm": frame["arm"], "x test": frame["x_test"],
                         "Peak x ULN": frame["x_uln"].map(x), "Date": frame["x_date"].map(_fmt_date),
                         "Peak bilirubin x ULN": frame["tbl_x_uln"].map(x), "Bilirubin date": frame["tbl_date"].map(_fmt_date),
                         "Peak ALP x ULN": frame["alp_x_uln"].map(x), "Quadrant": frame["quadrant"]})


def _parameters_display(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"group": "Group", "paramcd": "Code", "param": "Parameter", "unit": "Unit",
                                 "subjects": "Subjects", "records": "Records", "with_baseline": "With baseline",
                                 "range": "Categories from", "ctcae": "CTCAE v5.0 terms"})


def _shift_subjects_display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_num

    x = lambda v: fmt_num(v, 2)  # noqa: E731
    return pd.DataFrame({"Subject": frame["usubjid"], "Arm": frame["arm"], "Parameter": frame["param"],
                         "Baseline": frame["baseline"].map(lambda v: f"{v:g}"), "Baseline category": frame["baseline_category"],
                         "Highest post-baseline": frame["max_post"].map(lambda v: f"{v:g}"),
                         "x ULN": frame["max_post_x_uln"].map(x), "Worst high": frame["worst_high"],
                         "Lowest post-baseline": frame["min_post"].map(lambda v: f"{v:g}"),
                         "x LLN": frame["min_post_x_lln"].map(x), "Worst low": frame["worst_low"]})


# -- registration ---------------------------------------------------------------------------

_RECORDS_NOTE = ("Records: numeric AVAL; '_' change parameters and DTYPE-derived records excluded; ANL01FL honoured "
                 "only where it selects one record per visit (ignored in the CDISC pilot). Baseline: ABLFL='Y', else "
                 "the last value on or before the first dose. Post-baseline: after the first-dose date, unscheduled "
                 "included. Data cut applies to ADT.")
_CATEGORY_NOTE = ("LOW/NORMAL/HIGH from AVAL vs the record's ANRLO/ANRHI (a value equal to a limit is NORMAL); "
                  "BNRIND/ANRIND only when no range exists.")


def register(add) -> None:
    from dashboard.charts.labs import (
        edish_chart, lab_box_chart, lab_shift_heatmap, lab_shift_plot,
    )
    from dashboard.tables import TableSpec

    add(TableSpec("lab_shift_summary", "Lab shifts from baseline, every parameter", "labs", lab_shift_summary,
                  display=_shift_summary_display, order=10,
                  definition="Subjects whose worst post-baseline value moved to HIGH (from LOW/NORMAL) or to LOW "
                  "(from NORMAL/HIGH); n (%) / N, N = subjects with a baseline and a post-baseline value. "
                  + _CATEGORY_NOTE))
    add(TableSpec("lab_shift", "Shift from baseline to worst post-baseline (reference range)", "labs",
                  lab_shift_baseline_to_worst, display=_lab_shift_display, charts=(lab_shift_heatmap,), order=20,
                  definition="Baseline category vs the worst post-baseline category, separately in the high and low "
                  "directions (a subject with LOW and HIGH values counts in both). N = subjects with a baseline and a "
                  "post-baseline value (ICH E3 / E9). " + _CATEGORY_NOTE + " " + _RECORDS_NOTE))
    add(TableSpec("lab_shift_subjects", "Baseline vs highest and lowest post-baseline value, per subject", "labs",
                  lab_shift_subjects, display=_shift_subjects_display, charts=(lab_shift_plot,), order=25,
                  definition="One row per subject with a baseline and a post-baseline value; x ULN = value / ANRHI, "
                  "x LLN = value / ANRLO of the same record."))
    add(TableSpec("lab_ctcae_shift", "CTCAE v5.0 grade: baseline vs worst post-baseline", "labs", lab_ctcae_shift,
                  display=_ctcae_display, order=30,
                  definition="CTCAE v5.0 lab grades (CTCAE v5.0): ULN-multiple terms are unit-free; "
                  "haemoglobin in mmol/L converted to g/L; baseline graded against the ULN/LLN only, post-baseline "
                  "with the baseline criteria; worst = highest grade. N = subjects with a baseline and a post-baseline "
                  "value."))
    add(TableSpec("lab_summary_by_visit", "Lab values and change from baseline by visit", "labs",
                  lab_summary_by_visit, display=_summary_display, order=40,
                  definition="One value per subject and scheduled visit (closest to the target day, the later on a "
                  "tie); unscheduled values are not summarised by visit; no change at Baseline. SD with n-1. "
                  + _RECORDS_NOTE))
    add(TableSpec("lab_values_by_visit", "Lab values by visit (box plot data)", "labs", lab_values_by_visit,
                  charts=(lab_box_chart,), exportable=False, order=45,
                  definition="Values behind the box plots: baseline and one value per scheduled visit."))
    add(TableSpec("edish_subjects", "eDISH: peak ALT and bilirubin per subject", "labs", edish_subjects,
                  display=_edish_subjects_display, charts=(edish_chart,), order=50,
                  definition="Peak post-baseline ALT / ULN (x) vs peak total bilirubin / ULN (y), possibly from "
                  "different draws; lines at 3x and 2x ULN; ALT >= 3x ULN is elevated (FDA), bilirubin exactly 2x ULN "
                  "is not (FDA DILI guidance 2009)."))
    add(TableSpec("edish_quadrants", "eDISH quadrants by arm", "labs", edish_quadrants, display=_quadrant_display,
                  order=55, definition="Subjects per eDISH quadrant (peak ALT >= 3x ULN, peak bilirubin > 2x ULN). N = subjects "
                  "with post-baseline ALT and bilirubin."))
    add(TableSpec("hys_law_candidates", "Potential Hy's law cases", "labs", hys_law_candidates, display=_hys_display,
                  order=60,
                  definition="ALT or AST >= 3x ULN (option: > 3x) and total bilirubin > 2x ULN on the same draw or "
                  "within the window (default 30 days, either order), with ALP < 2x ULN for potential Hy's law (FDA DILI guidance 2009, "
                  "FDA DILI guidance 2009); pairs with ALP >= 2x ULN or no ALP are listed and labelled."))
    add(TableSpec("lab_abnormal_listing", "Listing of abnormal lab values", "labs", lab_abnormal_listing,
                  display=_listing_display, order=70,
                  definition="Post-baseline values outside the reference range or of CTCAE grade >= 3; End of Treatment "
                  "duplicates left out; each row traced to its file and row. " + _CATEGORY_NOTE))
    add(TableSpec("lab_parameters", "Lab parameters in this extract", "labs", lab_parameters,
                  display=_parameters_display, order=80,
                  definition="Every lab parameter analysed, grouped (renal, liver, haematology, electrolytes, "
                  "metabolic; else PARCAT1; else other), with units and where its categories come from."))
