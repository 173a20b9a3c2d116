"""Adverse-event tables: incidence by SOC/PT, severity, relatedness, SAE listings, arm comparisons,
time to first event and timelines relative to infusions (ICH E3 §12.2; clinical_reference §7).

Every table counts the records of :func:`~.records.ae_records` (built once per filter in DuckDB)
against ADSL denominators (:func:`dashboard.population.arm_denominators`).

- **Counting**: a subject counts once per row (category, SOC, PT), at the worst severity and
  the closest relationship; events (E) are records. % = 100·n/N.
- **Denominator**: N = subjects of the arm in the analysis population (``spec.population``,
  default SAFFL='Y', as treated).
- Table options: ``min_pct`` (PT threshold, default 0), ``aesi_terms`` (tuple of PTs),
  ``control_arm``, ``listing_soc`` / ``listing_pt`` (restrict ``ae_listing``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dashboard import db, stats
from dashboard.ae_terms import SEVERITY_RANK as _SEVERITY_RANK
from dashboard.analyses.adverse_events.records import (
    DISCONTINUATION_ACTIONS, MISSING, SEVERITY_LEVELS, _check_window, _has_values, _infusions_sql, _require_adae,
    _study_cut, ae_records, aesi_rule, apply_ae_filters, control_arm, has_infusions, teae_records, teae_rule,
)
from dashboard.analyses.common import count_subjects, mark_not_available, not_available_text, with_total_rows
from dashboard.filters import TOTAL_ARM, FilterSpec
from dashboard.population import arm_denominators, run
from dashboard.tables import NotInExtract

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


#: The record flag behind each TEAE category of the overview ("any_teae": every TEAE).
_OVERVIEW_FLAGS = (("related_teae", "related"), ("severe_teae", "severe"), ("serious_teae", "serious"),
                   ("teae_leading_to_discontinuation", "discontinuation"), ("aesi", "aesi"), ("fatal_teae", "fatal"))


def _overview_rows(con, spec: FilterSpec) -> pd.DataFrame:
    """One row per record x overview category it falls in (``usubjid``, ``arm``, ``category``);
    deaths are ADSL subjects. What :func:`ae_overview` counts and :func:`ae_overview_subjects` lists."""
    recs = teae_records(con, spec)
    parts = [recs.assign(category="any_teae")]
    for key, flag in _OVERVIEW_FLAGS:
        parts.append(recs[recs[flag]].assign(category=key))
    rows = pd.concat(parts, ignore_index=True)[["usubjid", "arm", "category"]]
    deaths = _deaths(con, spec)
    if deaths is not None:
        rows = pd.concat([rows, deaths.assign(category="deaths")], ignore_index=True)
    return rows


def _distinct_subjects(rows: pd.DataFrame) -> pd.DataFrame:
    """``usubjid``, ``arm`` once per subject, sorted by subject id."""
    out = rows[["usubjid", "arm"]].drop_duplicates("usubjid")
    return out.sort_values("usubjid", kind="stable").reset_index(drop=True)


def ae_overview_subjects(con, spec: FilterSpec, category: str) -> pd.DataFrame:
    """The subjects counted in one category of :func:`ae_overview` (every arm), one row each:
    ``usubjid``, ``arm``, sorted by subject id. Raises NotInExtract when the category is not
    available in this extract (its count says so too)."""
    keys = [k for k, _ in OVERVIEW_CATEGORIES]
    if category not in keys:
        raise ValueError(f"category must be one of {', '.join(keys)}; got {category!r}.")
    needs = _overview_needs(con).get(category)
    if needs:
        raise NotInExtract(not_available_text(needs))
    rows = _overview_rows(con, spec)
    return _distinct_subjects(rows[rows["category"] == category])


def ae_soc_pt_subjects(con, spec: FilterSpec, soc: str, pt: str = "") -> pd.DataFrame:
    """The subjects counted in one SOC row (``pt`` empty) or PT row of
    :func:`ae_incidence_by_soc_pt`: subjects with a TEAE of that SOC (and PT) after the AE
    filters, one row each: ``usubjid``, ``arm``, sorted by subject id."""
    recs = teae_records(con, spec)
    recs = recs[recs["soc"] == soc]
    if pt:
        recs = recs[recs["pt"] == pt]
    return _distinct_subjects(recs)


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
    rows = _overview_rows(con, spec)
    den = arm_denominators(con, spec)
    cols = _require_adae(con)
    keys = [k for k, _ in OVERVIEW_CATEGORIES]
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
    """1 − Kaplan–Meier at each distinct time (:func:`dashboard.stats.kaplan_meier`): ``day``,
    ``n_at_risk``, ``n_events``, ``n_censored``, ``cum_inc`` (percent). Events at a time precede
    censoring at that time."""
    km = stats.kaplan_meier(time, event)
    km["cum_inc"] = 100.0 * (1.0 - km.pop("survival").astype(float))
    return km


def ae_cumulative_incidence(con, spec: FilterSpec) -> pd.DataFrame:
    """Cumulative incidence of the first serious TEAE and of the first AESI (infusion-related
    reaction by default) over days since first dose, by arm and total.

    Definition: 1 − Kaplan–Meier; time = onset − TRTSDT + 1 days (missing onset = day 1); subjects
    without the event are censored at the end of observation (:func:`observation_periods`).
    Population: ``spec.population`` subjects with TRTSDT. AE filters apply.

    Returns per endpoint x arm a day-0 row then one row per distinct day: ``endpoint``, ``label``,
    ``arm``, ``day``, ``n_at_risk``, ``n_events``, ``n_censored``, ``n`` (cumulative subjects with
    the event), ``N`` (subjects followed), ``cum_inc`` (percent; missing when N is 0), ``method``.
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
            # Days are numbers even when no subject (or no event) is left: an empty map is str-typed.
            ev_day = sub["usubjid"].map(first).astype("float64")
            obs_days = sub["obs_days"].astype("float64")
            has = ev_day.notna() & (ev_day.clip(lower=1) <= obs_days.clip(lower=1))
            time = np.where(has, ev_day.clip(lower=1), obs_days.clip(lower=1))
            km = kaplan_meier_cumulative_incidence(time, has.to_numpy()) if len(sub) else \
                pd.DataFrame(columns=["day", "n_at_risk", "n_events", "n_censored", "cum_inc"])
            # No subject followed: the incidence is not estimable (missing), never a 0 %.
            start = pd.DataFrame([{"day": 0.0, "n_at_risk": len(sub), "n_events": 0, "n_censored": 0,
                                   "cum_inc": 0.0 if len(sub) else np.nan}])
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

