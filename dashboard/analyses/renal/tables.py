"""The renal tables: pure ``compute(con, spec) -> tidy frame`` functions over the renal records.

Every table reads :func:`dashboard.analyses.renal.records.renal_records` (built once per
connection and filter in DuckDB); the rules shared by every table are in the package docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from dashboard import bds, db
from dashboard import renal as kidney
from dashboard.analyses.common import (
    count_subjects, describe_continuous, mark_not_available, not_available_text, with_total_rows,
)
from dashboard.analyses.renal.records import (  # noqa: F401 (re-exported by the package)
    ABLFL_METHOD, DERIVED_METHOD, RECORD_COLUMNS, RENAL_PARAMS, RenalParam, _paramcds, renal_records,
)
from dashboard.filters import TOTAL_ARM, FilterSpec
from dashboard.population import arm_denominators
from dashboard.tables import NotInExtract
from dashboard.stats import geometric_mean, geometric_mean_ratio_ci, mean_ci

study_day = bds.study_day  # the one study-day rule; kept under its old name

BASELINE_VISIT = "Baseline"

#: Kidney endpoint keys (public CSV interface), their labels and the parameter they are read from.
KIDNEY_EVENTS: dict[str, tuple[str, str]] = {
    "egfr_decline_30": ("eGFR decline >=30% from baseline (any value)", "EGFR"),
    "egfr_decline_40": ("eGFR decline >=40% from baseline (any value)", "EGFR"),
    "egfr_decline_57": ("eGFR decline >=57% from baseline (any value)", "EGFR"),
    "egfr_decline_30_confirmed": ("eGFR decline >=30%, confirmed >=28 days later", "EGFR"),
    "egfr_decline_40_confirmed": ("eGFR decline >=40%, confirmed >=28 days later", "EGFR"),
    "creatinine_doubling": ("Doubling of serum creatinine", "CREAT"),
    "aki_stage_1": ("AKI (KDIGO creatinine) stage >=1", "CREAT"),
    "aki_stage_2": ("AKI (KDIGO creatinine) stage >=2", "CREAT"),
    "aki_stage_3": ("AKI (KDIGO creatinine) stage 3", "CREAT"),
    "egfr_below_15": ("eGFR <15 mL/min/1.73 m2", "EGFR"),
}
DECLINE_THRESHOLDS = (30, 40, 57)
CONFIRMED_THRESHOLDS = (30, 40)
#: Days between the first and the confirming value of a sustained decline (clinical_reference §3).
CONFIRM_GAP_DAYS = 28

G_LEVELS = ("G1", "G2", "G3a", "G3b", "G4", "G5")
A_LEVELS = ("A1", "A2", "A3")
RISK_LEVELS = ("low", "moderately increased", "high", "very high")
COMPARISONS = ("last", "worst")
TIMEPOINTS = ("Baseline", "Last on study")


def _one_per_visit(rec: pd.DataFrame) -> pd.DataFrame:
    """Post-baseline scheduled values, one per subject x parameter x visit (:func:`dashboard.bds.one_per_visit`)."""
    return bds.one_per_visit(rec[(rec["phase"] == "post-baseline") & rec["avisitn"].notna()], param="param")


def _one_per_date(rec: pd.DataFrame) -> pd.DataFrame:
    """Post-baseline values, one per subject x parameter x date (:func:`dashboard.bds.one_per_date`)."""
    return bds.one_per_date(rec[rec["phase"] == "post-baseline"], param="param")


def _present(rec: pd.DataFrame, param: str) -> bool:
    return bool((rec["param"] == param).any())


def _need(con, rec: pd.DataFrame, param: str, what: str) -> None:
    """Raise NotInExtract when the parameter has no values: absent from the extract, or filtered out."""
    if _present(rec, param):
        return
    label = RENAL_PARAMS[param].label
    if param in _paramcds(con).values():
        raise NotInExtract(f"no {label} values in the current selection, so {what} cannot be shown.")
    raise NotInExtract(f"{label} is not in this extract, so {what} cannot be shown.")


def _unit(rec: pd.DataFrame, param: str) -> str:
    units = rec.loc[rec["param"] == param, "unit"].dropna()
    return str(units.mode().iloc[0]) if len(units) else ""


# ---------------------------------------------------------------------------------------------
# data sources
# ---------------------------------------------------------------------------------------------
def _egfr_derived(con) -> bool:
    """Whether the extract's eGFR rows are the loader's CKD-EPI 2021 derivation (PARAMTYP='DERIVED')."""
    if "PARAMTYP" not in db.table_columns(con, "adlb"):
        return False
    codes = [c for c, canon in _paramcds(con).items() if canon == "EGFR"]
    return bool(db.run(con, """SELECT count(*) AS n FROM adlb WHERE PARAMTYP = 'DERIVED'
                               AND PARAMCD IN (SELECT unnest(CAST($codes AS VARCHAR[])))""",
                       {"codes": codes})["n"].iloc[0])


def renal_parameters(con, spec: FilterSpec) -> pd.DataFrame:
    """Which renal parameters the extract holds, where eGFR comes from, and how baseline is chosen.

    Population: the analysis population; records up to the data cut. Returns one row per
    parameter (EGFR, CREAT, UACR, UPROT24, always all four): ``param``, ``label``, ``unit``,
    ``status`` ("present" / "not in this extract", whatever the filter), ``source`` (eGFR: derived by the loader
    with CKD-EPI 2021 when its rows carry PARAMTYP='DERIVED', else supplied by the extract),
    ``paramcd`` (the extract's code), ``baseline_method``, ``n_subjects``, ``n_records``,
    ``n_excluded`` (records without AVAL or ADT, not used), ``n_out_of_window``.
    """
    rec, dropped, methods = renal_records(con, spec)
    in_extract = set(_paramcds(con).values())  # the extract's parameters, whatever the filter selects
    rows = []
    for code, meta in RENAL_PARAMS.items():
        sub = rec[rec["param"] == code]
        lost = dropped[dropped["param"] == code] if len(dropped) else dropped
        present = code in in_extract
        if not present:
            source = ""
        elif code == "EGFR" and _egfr_derived(con):
            source = "derived by the dashboard from serum creatinine (CKD-EPI 2021 creatinine equation, race-free)"
        else:
            source = "supplied by the extract"
        rows.append({
            "param": code, "label": meta.label, "unit": _unit(rec, code) if present else "",
            "status": "present" if present else "not in this extract", "source": source,
            "paramcd": ", ".join(sorted(sub["paramcd"].dropna().unique())) if present else "",
            "baseline_method": methods.get(code, ""), "n_subjects": int(sub["usubjid"].nunique()),
            "n_records": int(len(sub)), "n_excluded": int(len(lost)),
            "n_out_of_window": int(sub["out_of_window"].sum()) if present else 0,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# by-visit summary
# ---------------------------------------------------------------------------------------------
SUMMARY_COLUMNS = ["param", "label", "unit", "visit", "visitn", "arm", "N", "n", "mean", "sd", "median", "q1", "q3",
                   "lower", "upper", "n_chg", "chg_mean", "chg_sd", "chg_lower", "chg_upper", "n_log", "gmean",
                   "gmean_lower", "gmean_upper", "gmr", "gmr_lower", "gmr_upper", "n_out_of_window"]


def _log_summary(values: np.ndarray) -> dict:
    """Geometric mean with the t-interval of the mean log (exponentiated), over positive values."""
    pos = values[np.isfinite(values) & (values > 0)]
    if pos.size == 0:
        return {"n_log": 0, "gmean": np.nan, "gmean_lower": np.nan, "gmean_upper": np.nan}
    ci = mean_ci(np.log(pos))
    return {"n_log": int(pos.size), "gmean": geometric_mean(pos), "gmean_lower": float(np.exp(ci.lower)),
            "gmean_upper": float(np.exp(ci.upper))}


def _cell(values: pd.DataFrame, log_scale: bool, is_baseline: bool) -> dict:
    """Statistics of one parameter x visit x arm cell (``values`` has aval, base, chg, out_of_window)."""
    d = describe_continuous(values["aval"])
    ci = mean_ci(values["aval"].to_numpy(float))
    out = {"n": d["n"], "mean": d["mean"], "sd": d["sd"], "median": d["median"], "q1": d["q1"], "q3": d["q3"],
           "lower": ci.lower, "upper": ci.upper, "n_out_of_window": int(values["out_of_window"].sum())}
    nan = np.nan
    out.update({"n_chg": pd.NA, "chg_mean": nan, "chg_sd": nan, "chg_lower": nan, "chg_upper": nan,
                "n_log": pd.NA, "gmean": nan, "gmean_lower": nan, "gmean_upper": nan,
                "gmr": nan, "gmr_lower": nan, "gmr_upper": nan})
    if log_scale:
        out.update(_log_summary(values["aval"].to_numpy(float)))
        if not is_baseline:
            pair = values[(values["base"] > 0) & (values["aval"] > 0)]
            g = geometric_mean_ratio_ci(pair["base"].to_numpy(float), pair["aval"].to_numpy(float))
            out.update({"n_chg": g.n, "gmr": g.gmr, "gmr_lower": g.lower, "gmr_upper": g.upper})
    elif not is_baseline:
        c = mean_ci(values["chg"].to_numpy(float))
        out.update({"n_chg": c.n, "chg_mean": c.mean, "chg_sd": c.sd, "chg_lower": c.lower, "chg_upper": c.upper})
    return out


def renal_summary_by_visit(con, spec: FilterSpec) -> pd.DataFrame:
    """eGFR, creatinine, UACR and 24-h protein by visit and arm: level, change from baseline, GMR.

    Definition: n, mean (SD), 95% t-CI of the mean, median [Q1, Q3] (type 7) of the values at
    each visit; change from baseline (value - baseline) mean, SD and 95% t-CI over subjects with
    both, none at the baseline visit. UACR and 24-h protein are log-normal (clinical_reference
    §4): geometric mean with the exponentiated t-CI of the mean log (``gmean*``) and, after
    baseline, the geometric-mean ratio to baseline GMR = exp(mean ln(x_t/x_0)) with its 95% CI
    (``gmr*``; ``dashboard.stats.geometric_mean_ratio_ci``); values <= 0 are left out of the log
    statistics (``n_log`` says how many were used). Values are in the extract's unit.
    Population: the analysis population. Records: baseline (see module rules) and one value per
    subject at each scheduled post-baseline visit, up to the data cut.
    Returns one row per parameter x visit x arm (every visit a parameter has, zeros included):
    :data:`SUMMARY_COLUMNS`; ``N`` is the number of subjects of the arm in the population.
    """
    rec, _, _ = renal_records(con, spec)
    if rec.empty:
        raise NotInExtract("no eGFR, creatinine, UACR or 24-h urine protein records in this extract "
                           "(or in the current selection).")
    den = arm_denominators(con, spec)
    base = rec[rec["is_baseline"]].assign(chg=np.nan)
    visits = _one_per_visit(rec)
    rows = []
    for code, meta in RENAL_PARAMS.items():
        if not _present(rec, code):
            continue
        unit = _unit(rec, code)
        pb = base[base["param"] == code]
        pv = visits[visits["param"] == code]
        bl_visitn = float(pb["avisitn"].min()) if pb["avisitn"].notna().any() else 0.0
        slots = [(BASELINE_VISIT, bl_visitn, pb, True)]
        keys = pv[["avisit", "avisitn"]].drop_duplicates().sort_values(["avisitn", "avisit"])
        for visit, visitn in keys.itertuples(index=False):
            slots.append((visit, float(visitn), pv[(pv["avisit"] == visit) & (pv["avisitn"] == visitn)], False))
        for visit, visitn, data, is_bl in slots:
            data = with_total_rows(data, den)
            for arm, N in zip(den["arm"], den["N"]):
                cell = _cell(data[data["arm"] == arm], meta.log_scale, is_bl)
                rows.append({"param": code, "label": meta.label, "unit": unit, "visit": visit, "visitn": visitn,
                             "arm": arm, "N": int(N), **cell})
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for col in ("n_chg", "n_log"):
        out[col] = out[col].astype("Int64")
    return out


# ---------------------------------------------------------------------------------------------
# eGFR slope
# ---------------------------------------------------------------------------------------------
def egfr_slope(con, spec: FilterSpec) -> pd.DataFrame:
    """Per-subject eGFR slope (mL/min/1.73 m2 per year) by OLS over baseline and on-treatment values.

    Definition: clinical_reference §3 "Slope", ``dashboard.renal.egfr_slope_per_year``: t =
    days since the first dose / 365.25. The total slope (default) uses the baseline and every
    post-baseline value (one per date); option ``egfr_slope_start_day`` (days after the first
    dose, e.g. 28) gives the chronic slope from that day instead. Population: subjects of the
    analysis population with a baseline eGFR and at least one post-baseline value.
    Returns one row per subject: ``usubjid``, ``arm``, ``n_values`` (values in the fit),
    ``first_day``/``last_day`` (days since the first dose), ``baseline``, ``slope_per_year``
    (NaN when fewer than 2 distinct days remain).
    """
    rec, _, _ = renal_records(con, spec)
    _need(con, rec, "EGFR", "the eGFR slope")
    start = spec.option("egfr_slope_start_day", None)
    eg = rec[rec["param"] == "EGFR"]
    base = eg[eg["is_baseline"]]
    post = _one_per_date(eg)
    post = post[post["usubjid"].isin(base["usubjid"])]
    series = pd.concat([base, post])
    origin = series["trtsdt"].fillna(series["base_adt"])
    series = series.assign(day=(series["adt"] - origin).dt.days.astype("float64"))
    series = series[series["usubjid"].isin(post["usubjid"])]
    rows = []
    for (usubjid, arm), sub in series.groupby(["usubjid", "arm"], sort=False):
        sub = sub.sort_values("day")
        fit = sub if start is None else sub[sub["day"] >= float(start)]
        rows.append({"usubjid": usubjid, "arm": arm, "arm_order": sub["arm_order"].iloc[0], "n_values": int(len(fit)),
                     "first_day": float(fit["day"].min()) if len(fit) else np.nan,
                     "last_day": float(fit["day"].max()) if len(fit) else np.nan,
                     "baseline": float(sub["base"].iloc[0]),
                     "slope_per_year": kidney.egfr_slope_per_year(
                         sub["day"].to_numpy(float), sub["aval"].to_numpy(float),
                         start_day=None if start is None else float(start))})
    cols = ["usubjid", "arm", "n_values", "first_day", "last_day", "baseline", "slope_per_year"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows).sort_values(["arm_order", "usubjid"], kind="stable")
    return out[cols].reset_index(drop=True)


def egfr_slope_summary(con, spec: FilterSpec) -> pd.DataFrame:
    """Per-subject eGFR slopes summarized by arm: n, mean (SD), 95% t-CI, median [Q1, Q3].

    Definition and population as ``egfr_slope`` (subjects whose slope could be fitted).
    Returns one row per arm (plus Total): ``arm``, ``N`` (subjects of the arm in the
    population), ``n``, ``mean``, ``sd``, ``lower``, ``upper``, ``median``, ``q1``, ``q3``.
    """
    slopes = egfr_slope(con, spec)
    den = arm_denominators(con, spec)
    data = with_total_rows(slopes, den)
    rows = []
    for arm, N in zip(den["arm"], den["N"]):
        v = data.loc[data["arm"] == arm, "slope_per_year"].to_numpy(float)
        d = describe_continuous(pd.Series(v))
        ci = mean_ci(v)
        rows.append({"arm": arm, "N": int(N), "n": d["n"], "mean": d["mean"], "sd": d["sd"], "lower": ci.lower,
                     "upper": ci.upper, "median": d["median"], "q1": d["q1"], "q3": d["q3"]})
    return pd.DataFrame(rows, columns=["arm", "N", "n", "mean", "sd", "lower", "upper", "median", "q1", "q3"])


def welch_difference(x, y, conf: float = 0.95) -> dict:
    """Difference of means mean(x) - mean(y) with the Welch (unequal variances) t-interval.

    Uses ``scipy.stats.ttest_ind(equal_var=False)``: se = sqrt(s_x²/n_x + s_y²/n_y), df by
    Welch-Satterthwaite. NaN limits when either group has fewer than 2 values.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    diff = float(x.mean() - y.mean()) if x.size and y.size else np.nan
    if x.size < 2 or y.size < 2:
        return {"difference": diff, "lower": np.nan, "upper": np.nan, "se": np.nan, "df": np.nan}
    res = sps.ttest_ind(x, y, equal_var=False)
    ci = res.confidence_interval(conf)
    se = float(np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size))
    return {"difference": diff, "lower": float(ci.low), "upper": float(ci.high), "se": se, "df": float(res.df)}


def egfr_slope_difference(con, spec: FilterSpec) -> pd.DataFrame:
    """Between-arm difference in mean eGFR slope (each arm minus the reference arm), Welch 95% CI.

    Unblinded role only. Reference: the first arm in display order (placebo when there is one).
    Definition and population as ``egfr_slope``. Returns one row per non-reference arm:
    ``arm``, ``reference``, ``n``, ``n_reference``, ``difference`` (mL/min/1.73 m2 per year),
    ``lower``, ``upper``, ``se``, ``df``, ``method``.
    """
    slopes = egfr_slope(con, spec)
    den = arm_denominators(con, spec, with_total=False)
    arms = [a for a in den["arm"] if a != TOTAL_ARM]
    cols = ["arm", "reference", "n", "n_reference", "difference", "lower", "upper", "se", "df", "method"]
    if len(arms) < 2:
        return pd.DataFrame(columns=cols)
    ref = arms[0]
    y = slopes.loc[slopes["arm"] == ref, "slope_per_year"].dropna()
    rows = []
    for arm in arms[1:]:
        x = slopes.loc[slopes["arm"] == arm, "slope_per_year"].dropna()
        rows.append({"arm": arm, "reference": ref, "n": int(x.size), "n_reference": int(y.size),
                     **welch_difference(x, y), "method": "Welch t (unequal variances)"})
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------------------------
# kidney endpoints
# ---------------------------------------------------------------------------------------------
EVENT_SUBJECT_COLUMNS = ["usubjid", "arm", "event", "label", "first_date", "study_day", "value", "baseline", "unit",
                         "confirm_date", "out_of_window", "src_file", "src_row"]


def _evaluable(rec: pd.DataFrame, param: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(baseline rows, post-baseline one-per-date rows) of subjects with both, for one parameter."""
    sub = rec[rec["param"] == param]
    base = sub[sub["is_baseline"] & (sub["aval"] > 0)]
    post = _one_per_date(sub)
    post = post[post["usubjid"].isin(base["usubjid"])]
    base = base[base["usubjid"].isin(post["usubjid"])]
    return base, post


def _event_row(event: str, sub: pd.DataFrame, i: int, confirm=None) -> dict:
    """One subject-level event row from position ``i`` of a subject's sorted series."""
    r = sub.iloc[i]
    return {"usubjid": r["usubjid"], "arm": r["arm"], "event": event, "label": KIDNEY_EVENTS[event][0],
            "first_date": r["adt"].date(), "study_day": r["study_day"], "value": r["aval"], "baseline": r["base"],
            "unit": r["unit"], "confirm_date": confirm, "out_of_window": bool(r["out_of_window"]),
            "src_file": r["src_file"], "src_row": r["src_row"]}


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Dates as day numbers (days since 1970-01-01): the endpoint functions' fast numeric path."""
    return ((dates - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(float)


def _subject_series(post: pd.DataFrame):
    """(usubjid, sorted post-baseline rows, day numbers, values) per subject."""
    for usubjid, sub in post.sort_values(["usubjid", "adt"]).groupby("usubjid", sort=False):
        sub = sub.reset_index(drop=True)
        yield usubjid, sub, _day_numbers(sub["adt"]), sub["aval"].to_numpy(float)


def _egfr_events(base: pd.DataFrame, post: pd.DataFrame, gap: int) -> list[dict]:
    rows = []
    baseline = base.set_index("usubjid")["aval"]
    for usubjid, sub, days, values in _subject_series(post):
        bl = float(baseline[usubjid])
        position = {d: i for i, d in enumerate(days)}
        for pct in DECLINE_THRESHOLDS:
            day = kidney.first_decline(days, values, bl, pct)
            if day is not None:
                rows.append(_event_row(f"egfr_decline_{pct}", sub, position[day]))
        for pct in CONFIRMED_THRESHOLDS:
            first, confirm = kidney.first_sustained_decline(days, values, bl, pct, min_gap_days=gap)
            if first is not None:
                rows.append(_event_row(f"egfr_decline_{pct}_confirmed", sub, position[first],
                                       sub["adt"].iloc[position[confirm]].date()))
        g5 = np.flatnonzero(np.asarray(kidney.kdigo_g_category(values), dtype=object) == "G5")
        if g5.size:
            rows.append(_event_row("egfr_below_15", sub, int(g5[0])))
    return rows


def _creatinine_mg_dl(values, units) -> np.ndarray:
    """Creatinine in mg/dL (umol/L / 88.42); NaN for any other unit (the AKI rise needs mg/dL)."""
    u = pd.Series(units, dtype="string").fillna("").to_numpy(object)
    v = np.asarray(values, float)
    return np.where(u == "mg/dL", v, np.where(u == "umol/L", kidney.creatinine_umol_to_mg_dl(v), np.nan))


def _creatinine_events(base: pd.DataFrame, post: pd.DataFrame) -> list[dict]:
    rows = []
    bases = base.set_index("usubjid")
    for usubjid, sub, days, values in _subject_series(post):
        b = bases.loc[usubjid]
        doubled = np.flatnonzero(values / float(b["aval"]) >= 2.0 - kidney.THRESHOLD_TOLERANCE)
        if doubled.size:
            rows.append(_event_row("creatinine_doubling", sub, int(doubled[0])))
        # AKI: the baseline draw takes part in the 48-h and 7-day windows (dashboard.renal).
        times = np.concatenate([_day_numbers(pd.Series([b["adt"]])), days])
        mg = _creatinine_mg_dl(np.concatenate([[b["aval"]], values]), [b["unit"], *sub["unit"]])
        if not np.isfinite(mg[0]):
            continue
        stages = kidney.aki_stage_by_measurement(times, mg, baseline_mg_dl=mg[0])[1:]
        for k in (1, 2, 3):
            hit = np.flatnonzero(stages >= k)
            if hit.size:
                rows.append(_event_row(f"aki_stage_{k}", sub, int(hit[0])))
    return rows


def _kidney_event_rows(rec: pd.DataFrame, gap: int) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """(subject event rows, evaluable baseline rows per parameter)."""
    rows, evaluable = [], {}
    if _present(rec, "EGFR"):
        base, post = _evaluable(rec, "EGFR")
        evaluable["EGFR"] = base
        rows += _egfr_events(base, post, gap)
    if _present(rec, "CREAT"):
        base, post = _evaluable(rec, "CREAT")
        evaluable["CREAT"] = base
        rows += _creatinine_events(base, post)
    frame = pd.DataFrame(rows, columns=EVENT_SUBJECT_COLUMNS)
    order = {k: i for i, k in enumerate(KIDNEY_EVENTS)}
    frame = frame.assign(_o=frame["event"].map(order)).sort_values(["usubjid", "_o"]).drop(columns="_o")
    return frame.reset_index(drop=True), evaluable


#: Bump when the event rules change: the stored tables' names carry it.
KIDNEY_EVENTS_VERSION = 1
_EVENT_TYPES = {"usubjid": "VARCHAR", "arm": "VARCHAR", "event": "VARCHAR", "label": "VARCHAR", "first_date": "DATE",
                "study_day": "DOUBLE", "value": "DOUBLE", "baseline": "DOUBLE", "unit": "VARCHAR",
                "confirm_date": "DATE", "out_of_window": "BOOLEAN", "src_file": "VARCHAR", "src_row": "BIGINT"}


def kidney_event_records(con, spec: FilterSpec, rec: pd.DataFrame) -> pd.DataFrame:
    """The kidney endpoint rows of ``kidney_events_by_subject`` for a filter, derived once per
    connection and filter (and confirmation gap) and stored as a DuckDB table
    (:mod:`dashboard.records`). The endpoints are evaluated per subject by the one function of each
    clinical term in :mod:`dashboard.renal` (first_decline, first_sustained_decline,
    aki_stage_by_measurement, kdigo_g_category), over the subject's sorted values: they are not
    restated in SQL. ``rec`` is :func:`renal_records` of the same filter."""
    from dashboard import records as stored

    gap = int(spec.option("renal_confirm_gap_days", CONFIRM_GAP_DAYS))
    name = stored.spec_key("kidney_events", KIDNEY_EVENTS_VERSION, spec, {"renal_confirm_gap_days": gap})

    def build(cur, create: str) -> None:
        rows, _ = _kidney_event_rows(rec, gap)
        cur.register("_kidney_rows", rows.assign(rid=np.arange(len(rows), dtype="int64")))
        cast = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in _EVENT_TYPES.items())
        cur.execute(f"{create} AS SELECT rid, {cast} FROM _kidney_rows")

    frame = stored.records_table(con, name, build)
    if frame.empty:
        return pd.DataFrame(columns=EVENT_SUBJECT_COLUMNS)
    for col in ("first_date", "confirm_date"):
        frame[col] = [None if pd.isna(d) else pd.Timestamp(d).date() for d in frame[col]]
    return frame[EVENT_SUBJECT_COLUMNS]


def kidney_events_by_subject(con, spec: FilterSpec) -> pd.DataFrame:
    """The subjects behind each kidney endpoint count, with the first date the endpoint was met.

    Definitions (clinical_reference §3; module ``dashboard.renal``), each on post-baseline
    values, one per date: eGFR decline >=30/40/57% from baseline at any value
    (``first_decline``); >=30/40% confirmed by a value >=28 days later with none failing in
    between (``first_sustained_decline``, option ``renal_confirm_gap_days``; an unconfirmed
    last value is not an event; ``first_date`` is when it was first met, ``confirm_date`` when
    confirmed); creatinine >=2x baseline; KDIGO AKI by creatinine criteria
    (``aki_stage_by_measurement``, the baseline draw taking part in the 48-h/7-day windows;
    ``aki_stage_k`` = the subject reached stage k or higher, first date it did); eGFR <15 (G5).
    Population: the analysis population with a baseline and >=1 post-baseline value of the
    parameter. Returns one row per subject x event met: :data:`EVENT_SUBJECT_COLUMNS`
    (``study_day`` of ``first_date``; ``value``/``baseline`` in the parameter's unit;
    ``out_of_window`` marks a value from a visit flagged out of window).
    """
    rec, _, _ = renal_records(con, spec)
    if not (_present(rec, "EGFR") or _present(rec, "CREAT")):
        raise NotInExtract("neither eGFR nor serum creatinine is in this extract.")
    return kidney_event_records(con, spec, rec)


def kidney_events(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects with each kidney endpoint, n (%) by arm, with the median study day of first occurrence.

    Definitions as ``kidney_events_by_subject``. Denominator (``N``): subjects of the arm in the
    analysis population with a baseline and at least one post-baseline value of the parameter
    the endpoint is read from (eGFR or creatinine); ``N_population`` is every subject of the
    arm in the population. Returns one row per event x arm, every event and arm present, zeros
    included: ``event`` (stable key), ``label``, ``arm``, ``n``, ``N``, ``pct`` (100 n/N),
    ``median_study_day`` (median study day of the first occurrence among the n subjects),
    ``N_population``.
    """
    rec, _, _ = renal_records(con, spec)
    if not (_present(rec, "EGFR") or _present(rec, "CREAT")):
        raise NotInExtract("neither eGFR nor serum creatinine is in this extract.")
    rows = kidney_event_records(con, spec, rec)
    evaluable = {p: _evaluable(rec, p)[0] for p in ("EGFR", "CREAT") if _present(rec, p)}
    den_pop = arm_denominators(con, spec)
    parts = []
    for param in ("EGFR", "CREAT"):
        events = [k for k, (_, p) in KIDNEY_EVENTS.items() if p == param]
        base = evaluable.get(param, pd.DataFrame(columns=["usubjid", "arm"]))
        den = _evaluable_denominators(base, den_pop)
        counted = count_subjects(rows[rows["event"].isin(events)], den, ["event"],
                                 levels=pd.DataFrame({"event": events}))
        parts.append(counted)
    out = pd.concat(parts, ignore_index=True)
    timing = with_total_rows(rows, den_pop).groupby(["event", "arm"])["study_day"].median().rename("median_study_day")
    out = out.merge(timing.reset_index(), on=["event", "arm"], how="left")
    out = out.merge(den_pop[["arm", "N"]].rename(columns={"N": "N_population"}), on="arm", how="left")
    out["label"] = out["event"].map(lambda k: KIDNEY_EVENTS[k][0])
    out["note"] = ""
    for param, needs in (("EGFR", "ADLB eGFR or serum creatinine"), ("CREAT", "ADLB serum creatinine (CREAT)")):
        if not _present(rec, param):   # an endpoint whose parameter is absent is not 0
            events = [k for k, (_, p) in KIDNEY_EVENTS.items() if p == param]
            out = mark_not_available(out, out["event"].isin(events), not_available_text(needs))
    order = {k: i for i, k in enumerate(KIDNEY_EVENTS)}
    arm_order = dict(zip(den_pop["arm"], den_pop["arm_order"]))
    out = out.assign(_e=out["event"].map(order), _a=out["arm"].map(arm_order)).sort_values(["_e", "_a"])
    return out[["event", "label", "arm", "n", "N", "pct", "median_study_day", "N_population", "note"]
               ].reset_index(drop=True)


def _evaluable_denominators(base: pd.DataFrame, den_pop: pd.DataFrame) -> pd.DataFrame:
    """Arm denominators counting only evaluable subjects (Total = each evaluable subject once)."""
    counts = base.groupby("arm")["usubjid"].nunique()
    den = den_pop[["arm", "arm_order"]].copy()
    den["N"] = den["arm"].map(counts).fillna(0).astype("int64")
    if (den["arm"] == TOTAL_ARM).any():
        den.loc[den["arm"] == TOTAL_ARM, "N"] = int(base["usubjid"].nunique())
    return den


# ---------------------------------------------------------------------------------------------
# KDIGO shifts
# ---------------------------------------------------------------------------------------------
def _uacr_mg_g(frame: pd.DataFrame) -> np.ndarray:
    """UACR in mg/g (mg/mmol x 8.84, clinical_reference §2); NaN for another unit."""
    u = frame["unit"].astype("string").fillna("")
    v = frame["aval"].to_numpy(float)
    return np.where(u == "mg/g", v, np.where(u == "mg/mmol", kidney.uacr_mg_mmol_to_mg_g(v), np.nan))


def _axis_categories(rec: pd.DataFrame, axis: str) -> pd.DataFrame:
    """Per evaluable subject: baseline, last and worst KDIGO category on one axis (G or A)."""
    param = "EGFR" if axis == "G" else "UACR"
    base, post = _evaluable(rec, param)
    if axis == "G":
        classify = kidney.kdigo_g_category
        value = lambda f: f["aval"].to_numpy(float)  # noqa: E731
        worst_first = True  # lowest eGFR is worst
    else:
        classify = kidney.kdigo_a_category
        value = _uacr_mg_g
        worst_first = False
    base = base.assign(v=value(base)).dropna(subset=["v"])
    post = post.assign(v=value(post)).dropna(subset=["v"])
    post = post[post["usubjid"].isin(base["usubjid"])]
    last = post.sort_values("adt").groupby("usubjid").tail(1).set_index("usubjid")["v"]
    worst = post.sort_values("v", ascending=worst_first).groupby("usubjid").head(1).set_index("usubjid")["v"]
    base = base[base["usubjid"].isin(post["usubjid"])]
    out = base[["usubjid", "arm"]].copy()
    out["baseline"] = classify(base["v"].to_numpy(float))
    out["last"] = classify(out["usubjid"].map(last).to_numpy(float))
    out["worst"] = classify(out["usubjid"].map(worst).to_numpy(float))
    return out


def kdigo_shift(con, spec: FilterSpec) -> pd.DataFrame:
    """KDIGO G (eGFR) and A (UACR) category at baseline vs last on study and vs worst, by arm.

    Definition: clinical_reference §2 (``kdigo_g_category``: G1 >=90, G2 60-<90, G3a 45-<60,
    G3b 30-<45, G4 15-<30, G5 <15; ``kdigo_a_category`` on UACR in mg/g, mg/mmol x 8.84: A1
    <30, A2 30-300, A3 >300). Last = the latest post-baseline value; worst = the lowest eGFR /
    highest UACR after baseline. The A axis is left out when UACR is not in the extract.
    Denominator (``N``): subjects of the arm with a baseline and >=1 post-baseline value of the
    axis's parameter. Returns one row per axis x comparison x arm x baseline x post-baseline
    category (every combination, zeros included): ``axis``, ``comparison``, ``arm``,
    ``baseline``, ``post_baseline``, ``n``, ``N``, ``pct``.
    """
    rec, _, _ = renal_records(con, spec)
    _need(con, rec, "EGFR", "the KDIGO shift")
    den_pop = arm_denominators(con, spec)
    parts = []
    for axis, levels in (("G", G_LEVELS), ("A", A_LEVELS)):
        if axis == "A" and not _present(rec, "UACR"):
            continue
        cats = _axis_categories(rec, axis)
        rows = pd.concat([cats[["usubjid", "arm", "baseline"]].assign(axis=axis, comparison=c, post_baseline=cats[c])
                          for c in COMPARISONS], ignore_index=True)
        grid = pd.DataFrame([(axis, c, b, p) for c in COMPARISONS for b in levels for p in levels],
                            columns=["axis", "comparison", "baseline", "post_baseline"])
        parts.append(count_subjects(rows, _evaluable_denominators(cats, den_pop),
                                    ["axis", "comparison", "baseline", "post_baseline"], levels=grid))
    return pd.concat(parts, ignore_index=True)[["axis", "comparison", "arm", "baseline", "post_baseline", "n", "N",
                                                "pct"]]


def _paired_ga(rec: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(baseline G x A per subject, post-baseline G x A per subject and timepoint).

    eGFR and UACR are paired on the same visit (AVISITN) or, for unscheduled values, the same date.
    """
    def classified(frame: pd.DataFrame, param: str) -> pd.DataFrame:
        f = frame[frame["param"] == param]
        v = f["aval"].to_numpy(float) if param == "EGFR" else _uacr_mg_g(f)
        f = f.assign(v=v).dropna(subset=["v"])
        return f.assign(key=np.where(f["avisitn"].notna(), "V" + f["avisitn"].astype("string").fillna(""),
                                     "D" + f["adt"].dt.strftime("%Y-%m-%d")))

    base = rec[rec["is_baseline"]]
    bg, ba = classified(base, "EGFR"), classified(base, "UACR")
    b = bg[["usubjid", "arm", "v"]].merge(ba[["usubjid", "v"]], on="usubjid", suffixes=("_g", "_a"))
    post = _one_per_date(rec)
    pg, pa_ = classified(post, "EGFR"), classified(post, "UACR")
    p = pg[["usubjid", "arm", "key", "adt", "v"]].merge(pa_[["usubjid", "key", "adt", "v"]], on=["usubjid", "key"],
                                                         suffixes=("_g", "_a"))
    p = p.assign(adt=p[["adt_g", "adt_a"]].max(axis=1)).drop(columns=["adt_g", "adt_a"])
    p = p.sort_values(["usubjid", "adt"]).drop_duplicates(["usubjid", "key"], keep="last")
    for frame in (b, p):
        frame["g"] = kidney.kdigo_g_category(frame["v_g"].to_numpy(float))
        frame["a"] = kidney.kdigo_a_category(frame["v_a"].to_numpy(float))
        frame["risk"] = kidney.kdigo_risk_category(frame["g"].to_numpy(object), frame["a"].to_numpy(object))
    return b, p


def _need_risk(con, rec: pd.DataFrame) -> None:
    if "UACR" not in _paramcds(con).values():
        raise NotInExtract("UACR is not in this extract; the KDIGO risk category needs both eGFR and UACR.")
    _need(con, rec, "EGFR", "the KDIGO risk category")
    _need(con, rec, "UACR", "the KDIGO risk category")


def kdigo_risk_shift(con, spec: FilterSpec) -> pd.DataFrame:
    """Combined KDIGO risk category (G x A heat map) at baseline vs last on study and vs worst, by arm.

    Definition: clinical_reference §2, ``dashboard.renal.kdigo_risk_category`` (low, moderately
    increased, high, very high) from the G and A categories of eGFR and UACR taken at the same
    visit (same date for unscheduled values). Last = the latest post-baseline visit with both;
    worst = the highest risk after baseline. Denominator (``N``): subjects of the arm with a
    baseline risk and >=1 post-baseline risk. Returns one row per comparison x arm x baseline x
    post-baseline risk (zeros included): ``comparison``, ``arm``, ``baseline``,
    ``post_baseline``, ``n``, ``N``, ``pct``.
    """
    rec, _, _ = renal_records(con, spec)
    _need_risk(con, rec)
    b, p = _paired_ga(rec)
    p = p[p["usubjid"].isin(b["usubjid"])]
    b = b[b["usubjid"].isin(p["usubjid"])]
    rank = {r: i for i, r in enumerate(RISK_LEVELS)}
    last = p.sort_values("adt").groupby("usubjid").tail(1).set_index("usubjid")["risk"]
    worst = p.assign(_r=p["risk"].map(rank)).sort_values("_r").groupby("usubjid").tail(1).set_index("usubjid")["risk"]
    rows = pd.concat([b[["usubjid", "arm"]].assign(comparison=c, baseline=b["risk"], post_baseline=b["usubjid"].map(s))
                      for c, s in (("last", last), ("worst", worst))], ignore_index=True)
    grid = pd.DataFrame([(c, x, y) for c in COMPARISONS for x in RISK_LEVELS for y in RISK_LEVELS],
                        columns=["comparison", "baseline", "post_baseline"])
    out = count_subjects(rows, _evaluable_denominators(b, arm_denominators(con, spec)),
                         ["comparison", "baseline", "post_baseline"], levels=grid)
    return out[["comparison", "arm", "baseline", "post_baseline", "n", "N", "pct"]]


def kdigo_grid(con, spec: FilterSpec) -> pd.DataFrame:
    """Subjects in each KDIGO G x A cell at baseline and at the last visit on study, by arm (heat map).

    Definition as ``kdigo_risk_shift``; "Last on study" is each subject's latest post-baseline
    visit with both eGFR and UACR. Denominator (``N``): subjects of the arm with both values at
    that timepoint. Returns one row per timepoint x arm x G x A (all 18 cells, zeros
    included): ``timepoint``, ``arm``, ``g``, ``a``, ``risk``, ``n``, ``N``, ``pct``.
    """
    rec, _, _ = renal_records(con, spec)
    _need_risk(con, rec)
    b, p = _paired_ga(rec)
    last = p.sort_values("adt").groupby("usubjid").tail(1)
    den_pop = arm_denominators(con, spec)
    grid = pd.DataFrame([(g, a) for g in G_LEVELS for a in A_LEVELS], columns=["g", "a"])
    parts = []
    for tp, frame in zip(TIMEPOINTS, (b, last)):
        counted = count_subjects(frame[["usubjid", "arm", "g", "a"]], _evaluable_denominators(frame, den_pop),
                                 ["g", "a"], levels=grid)
        parts.append(counted.assign(timepoint=tp))
    out = pd.concat(parts, ignore_index=True)
    out["risk"] = kidney.kdigo_risk_category(out["g"].to_numpy(object), out["a"].to_numpy(object))
    return out[["timepoint", "arm", "g", "a", "risk", "n", "N", "pct"]]


# ---------------------------------------------------------------------------------------------
# subject-level listings (spaghetti and waterfall)
# ---------------------------------------------------------------------------------------------
VALUE_COLUMNS = ["usubjid", "arm", "param", "unit", "visit", "visitn", "adt", "study_day", "aval", "base", "chg",
                 "pchg", "phase", "out_of_window", "outlier", "outlier_point", "src_file", "src_row"]


def _outliers(rec: pd.DataFrame) -> pd.Index:
    """Index (into ``rec``) of each outlying subject's most extreme post-baseline value.

    A subject's extreme value is the post-baseline value furthest from baseline: by log ratio
    to baseline for log-scale parameters, else by percent change. The subject is an outlier
    when that change lies outside the Tukey fences (Q1 - 1.5 IQR, Q3 + 1.5 IQR) of all
    subjects' extreme changes for the parameter (population pooled, arms not compared).
    """
    post = rec[(rec["phase"] == "post-baseline") & (rec["base"] > 0) & (rec["aval"] > 0)]
    if post.empty:
        return rec.index[:0]
    log_scale = post["param"].map({k: p.log_scale for k, p in RENAL_PARAMS.items()}).astype(bool)
    change = np.where(log_scale, np.log(post["aval"] / post["base"]), post["pchg"]).astype(float)
    post = post.assign(_c=change, _abs=np.abs(change))
    extreme = post.sort_values(["_abs", "adt"], ascending=[False, True]).groupby(["usubjid", "param"]).head(1)
    keep = []
    for _, sub in extreme.groupby("param"):
        q1, q3 = np.percentile(sub["_c"], 25), np.percentile(sub["_c"], 75)
        lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        keep.append(sub.index[(sub["_c"] < lo) | (sub["_c"] > hi)])
    return keep[0].append(keep[1:]) if keep else rec.index[:0]


def renal_values_by_subject(con, spec: FilterSpec) -> pd.DataFrame:
    """Every renal value of every subject (the spaghetti plot's data), with baseline and change.

    Population: the analysis population, records up to the data cut. ``phase`` says whether a
    record is the baseline, post-baseline or another pre-treatment value; ``out_of_window``
    marks values from visits the loader flagged out of window (kept, not dropped);
    ``outlier`` marks subjects whose most extreme post-baseline change from baseline lies
    outside the Tukey fences of all subjects' (percent change; log ratio for UACR and 24-h
    protein), ``outlier_point`` the record of that change. Returns one row per record:
    :data:`VALUE_COLUMNS` (``study_day`` per clinical_reference §7).
    """
    rec, _, _ = renal_records(con, spec)
    if rec.empty:
        raise NotInExtract("no eGFR, creatinine, UACR or 24-h urine protein records in this extract "
                           "(or in the current selection).")
    points = _outliers(rec)
    pairs = set(zip(rec.loc[points, "usubjid"], rec.loc[points, "param"]))
    out = rec.assign(visit=rec["avisit"], visitn=rec["avisitn"],
                     outlier=pd.MultiIndex.from_arrays([rec["usubjid"], rec["param"]]).isin(list(pairs)),
                     outlier_point=rec.index.isin(points))
    out["adt"] = out["adt"].dt.date
    order = {k: i for i, k in enumerate(RENAL_PARAMS)}
    out = out.assign(_p=out["param"].map(order)).sort_values(["_p", "arm_order", "usubjid", "adt", "src_row"],
                                                             kind="stable")
    return out[VALUE_COLUMNS].reset_index(drop=True)


def renal_change_to_last(con, spec: FilterSpec) -> pd.DataFrame:
    """Percent change from baseline to each subject's latest value on study (the waterfall's data).

    Definition: 100 x (last - baseline) / baseline, last = the latest post-baseline value (any
    visit, scheduled or not). Population: subjects with a baseline > 0 and >=1 post-baseline
    value of the parameter. Returns one row per subject x parameter: ``usubjid``, ``arm``,
    ``param``, ``unit``, ``baseline``, ``last_value``, ``last_date``, ``last_study_day``,
    ``last_visit``, ``pct_change``, ``out_of_window``.
    """
    rec, _, _ = renal_records(con, spec)
    if rec.empty:
        raise NotInExtract("no eGFR, creatinine, UACR or 24-h urine protein records in this extract "
                           "(or in the current selection).")
    last = _one_per_date(rec)
    last = last[last["base"] > 0].sort_values("adt").groupby(["usubjid", "param"]).tail(1)
    out = pd.DataFrame({
        "usubjid": last["usubjid"], "arm": last["arm"], "param": last["param"], "unit": last["unit"],
        "baseline": last["base"], "last_value": last["aval"], "last_date": last["adt"].dt.date,
        "last_study_day": last["study_day"], "last_visit": last["avisit"], "pct_change": last["pchg"],
        "out_of_window": last["out_of_window"], "_o": last["param"].map({k: i for i, k in enumerate(RENAL_PARAMS)}),
        "_a": last["arm_order"]})
    out = out.sort_values(["_o", "_a", "usubjid"]).drop(columns=["_o", "_a"])
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# page helpers (the page computes nothing itself)
# ---------------------------------------------------------------------------------------------
SLOPE_CHOICES = {"Total slope (from baseline)": None, "Chronic slope (from day 28)": 28,
                 "Chronic slope (from day 84)": 84}


def source_notes(parameters: pd.DataFrame) -> list[str]:
    """One markdown line per renal parameter: present (unit, source, baseline rule) or not in this extract."""
    lines = []
    for r in parameters.itertuples(index=False):
        if r.status != "present":
            lines.append(f"- **{r.label}**: not in this extract.")
            continue
        extra = f"; {r.n_out_of_window} value(s) from visits flagged out of window (kept, marked)" \
            if r.n_out_of_window else ""
        excluded = f"; {r.n_excluded} record(s) without a value or date not used" if r.n_excluded else ""
        lines.append(f"- **{r.label}** ({r.unit}, PARAMCD {r.paramcd}): {r.source}. Baseline: {r.baseline_method}"
                     f"{extra}{excluded}.")
    return lines


def parameter_present(parameters: pd.DataFrame, code: str) -> bool:
    """Whether the extract holds the parameter (per ``renal_parameters``)."""
    row = parameters[parameters["param"] == code]
    return bool(len(row)) and row["status"].iloc[0] == "present"


def subject_ids(values: pd.DataFrame | None, code: str) -> list[str]:
    """Subjects with values of a parameter, sorted (for the highlight picker)."""
    if values is None or values.empty:
        return []
    return sorted(values.loc[values["param"] == code, "usubjid"].astype(str).unique())


def selected_subject(event) -> str | None:
    """The subject clicked in a chart with the ``subject`` selection (st.altair_chart on_select event)."""
    try:
        points = event.selection["subject"]
    except (AttributeError, KeyError, TypeError):
        try:
            points = event["selection"]["subject"]
        except (KeyError, TypeError):
            return None
    if isinstance(points, list) and points and isinstance(points[0], dict):
        return points[0].get("usubjid")
    if isinstance(points, dict) and points.get("usubjid"):
        value = points["usubjid"]
        return value[0] if isinstance(value, list) else value
    return None


def selected_row_subject(selected: pd.DataFrame | None) -> str | None:
    """The ``Subject`` of the row selected in a displayed listing."""
    if selected is None or selected.empty or "Subject" not in selected:
        return None
    return str(selected["Subject"].iloc[0])
