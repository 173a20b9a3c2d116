"""The lab tables: pure ``compute(con, spec) -> tidy frame`` functions over the lab records.

Every table reads :func:`dashboard.analyses.labs.records.lab_analysis_records` (built once per
connection and filter in DuckDB); the record rules are in the package docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analyses.labs.records import (  # noqa: F401 (re-exported by the package)
    CATEGORIES, GROUP_ORDER, LAB_GROUPS, RECORD_COLUMNS, _not_in_extract, indicator_category, is_scheduled_visit,
    lab_analysis_records, lab_group,
)
from dashboard import bds
from dashboard.ctcae import CTCAE_LAB_TERMS, GRADE_MISSING, ctcae_grade
from dashboard.filters import TOTAL_ARM, FilterSpec
from dashboard.liver import hys_law_quadrant, is_potential_hys_law, r_ratio
from dashboard.population import arm_denominators
from dashboard.units import to_si

_CAT_RANK = {"LOW": 0, "NORMAL": 1, "HIGH": 2}
_RANK_CAT = {v: k for k, v in _CAT_RANK.items()}
DIRECTIONS = ("high", "low")
WORST_VISIT = "Worst post-baseline"
GRADES = ("0", "1", "2", "3", "4", "Missing")
LIVER_CODES = ("ALT", "AST", "BILI", "ALP")
QUADRANTS = ("possible Hy's law", "Temple's corollary", "hyperbilirubinemia", "normal")


def _group_sort_key(group: str) -> tuple:
    return (GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER) + (group == "Other"), group)


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
