"""Renal function: eGFR equations, KDIGO categories and kidney endpoints.

Definitions follow ``clinical_reference.md`` (§1 eGFR, §2 KDIGO categories, §3 kidney endpoints).
All functions are vectorized over numpy arrays / pandas Series and compute at full precision;
rounding is for display only.

Missing-value convention: a missing or non-positive input gives NaN for a number and ``None``
for a category, never an exception, so one bad record cannot stop a table.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

#: mg/dL = umol/L / 88.42 (project convention, clinical_reference §1 "Units").
CREATININE_UMOL_PER_MG_DL = 88.42

#: 1 g creatinine = 1000/113.12 mmol, so UACR mg/g = mg/mmol × 8.84 (clinical_reference §2).
UACR_MG_G_PER_MG_MMOL = 8.84

#: mg/mmol = mg/g × 0.11312 (clinical_reference §2).
UACR_MG_MMOL_PER_MG_G = 0.11312

#: Tolerance for "at or beyond a threshold" comparisons (clinical_reference §3): a value that
#: sits exactly on a cut-off must count even when float arithmetic lands 1 ulp on the wrong side.
THRESHOLD_TOLERANCE = 1e-9

DAYS_PER_YEAR = 365.25

#: KDIGO G stages, lowest bound first; each stage is the half-open interval [lower, next lower).
_G_STAGES = (("G5", -np.inf), ("G4", 15.0), ("G3b", 30.0), ("G3a", 45.0), ("G2", 60.0), ("G1", 90.0))

#: KDIGO heat map (clinical_reference §2): rows G stage, columns A1/A2/A3.
_KDIGO_RISK = {
    "G1": ("low", "moderately increased", "high"),
    "G2": ("low", "moderately increased", "high"),
    "G3a": ("moderately increased", "high", "very high"),
    "G3b": ("high", "very high", "very high"),
    "G4": ("very high", "very high", "very high"),
    "G5": ("very high", "very high", "very high"),
}
_A_INDEX = {"A1": 0, "A2": 1, "A3": 2}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _sex_masks(sex) -> tuple[np.ndarray, np.ndarray]:
    """Return (female, male) boolean masks; any spelling other than M/F is neither."""
    sex_arr = np.asarray(pd.Series(np.atleast_1d(sex)).astype("string").str.strip().str.upper().fillna(""), dtype=object)
    if np.ndim(sex) == 0:
        sex_arr = sex_arr[0]
    return sex_arr == "F", sex_arr == "M"


def _float_array(x) -> np.ndarray:
    """Float array with None/pd.NA as NaN (pandas nullable arrays included)."""
    if isinstance(x, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        return pd.Series(x).to_numpy(dtype=float, na_value=np.nan)
    try:
        return np.asarray(x, dtype=float)
    except TypeError:  # pd.NA inside a list or object array
        arr = np.asarray(x, dtype=object)
        return pd.Series(arr.ravel()).to_numpy(dtype=float, na_value=np.nan).reshape(arr.shape)


def _like_input(template, out: np.ndarray):
    """Return a plain Python value for scalar input, else the array."""
    return out.reshape(()).item() if np.ndim(template) == 0 else out


def _as_day_numbers(times) -> tuple[np.ndarray, bool, np.ndarray]:
    """Return (float days, is_datetime, original values as an object array).

    Numbers are taken as study days. Dates and datetimes become fractional days since the epoch,
    so a difference of 2.0 is exactly 48 h and two calendar dates 2 days apart are 2.0 apart.
    """
    series = pd.Series(times if np.ndim(times) else [times]).reset_index(drop=True).infer_objects()
    if pd.api.types.is_numeric_dtype(series) or series.isna().all():
        days = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return days, False, series.to_numpy(dtype=object)
    stamps = pd.to_datetime(series)
    days = ((stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
    originals = np.asarray([None if pd.isna(s) else pd.Timestamp(s) for s in stamps], dtype=object)
    return days, True, originals


def _python_scalar(value: Any) -> Any:
    """np.float64(90.0) -> 90.0, np.int64(3) -> 3, Timestamp stays."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------------------------
# §1 eGFR
# --------------------------------------------------------------------------------------------
def creatinine_umol_to_mg_dl(umol_l):
    """Convert serum creatinine from umol/L to mg/dL (÷ 88.42, clinical_reference §1)."""
    return np.asarray(umol_l, dtype=float) / CREATININE_UMOL_PER_MG_DL


def egfr_ckd_epi_2021(creatinine_mg_dl, age, sex):
    """eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation.

    Definition: clinical_reference §1, Inker et al. NEJM 2021:
    142 × min(Scr/κ,1)^α × max(Scr/κ,1)^-1.200 × 0.9938^age × 1.012 [female];
    κ = 0.7 (F) / 0.9 (M), α = -0.241 (F) / -0.302 (M).

    ``sex`` is "M" or "F" (any other value gives NaN, as does a missing or non-positive
    creatinine or a missing age). Returns a float array of the broadcast shape.
    """
    scr = np.asarray(creatinine_mg_dl, dtype=float)
    age_arr = np.asarray(age, dtype=float)
    female, male = _sex_masks(sex)
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.241, -0.302)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = scr / kappa
        egfr = (
            142.0
            * np.minimum(ratio, 1.0) ** alpha
            * np.maximum(ratio, 1.0) ** -1.200
            # 0.9938, not 0.993: the 2009 age factor is a known bug in packaged 2021 versions (§1a).
            * 0.9938**age_arr
            * np.where(female, 1.012, 1.0)
        )
    valid = (female | male) & (scr > 0) & np.isfinite(scr) & np.isfinite(age_arr)
    return np.where(valid, egfr, np.nan)


def egfr_ckd_epi_2009(creatinine_mg_dl, age, sex, black=False):
    """eGFR (mL/min/1.73 m²) by the CKD-EPI 2009 creatinine equation (comparison only).

    Definition: clinical_reference §1, Levey et al. Ann Intern Med 2009:
    141 × min(Scr/κ,1)^α × max(Scr/κ,1)^-1.209 × 0.993^age × 1.018 [female] × 1.159 [Black];
    κ = 0.7 (F) / 0.9 (M), α = -0.329 (F) / -0.411 (M).

    ``black`` is a boolean (scalar or array); a missing entry gives NaN rather than a guess,
    because the race factor moves the result by 16%. ``sex`` as for ``egfr_ckd_epi_2021``.

    Returns: a float array of the broadcast shape (NaN where an input is missing or invalid).
    """
    scr = np.asarray(creatinine_mg_dl, dtype=float)
    age_arr = np.asarray(age, dtype=float)
    female, male = _sex_masks(sex)
    black_arr = _float_array(black)  # True -> 1.0, False -> 0.0, missing -> NaN
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.329, -0.411)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = scr / kappa
        egfr = (
            141.0
            * np.minimum(ratio, 1.0) ** alpha
            * np.maximum(ratio, 1.0) ** -1.209
            * 0.993**age_arr
            * np.where(female, 1.018, 1.0)
            * np.where(black_arr == 1.0, 1.159, 1.0)
        )
    valid = (
        (female | male)
        & (scr > 0)
        & np.isfinite(scr)
        & np.isfinite(age_arr)
        & ((black_arr == 0.0) | (black_arr == 1.0))
    )
    return np.where(valid, egfr, np.nan)


def egfr_ckd_epi_2021_cr_cys(creatinine_mg_dl, cystatin_c_mg_l, age, sex):
    """eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine–cystatin C equation.

    Definition: clinical_reference §1, Inker et al. NEJM 2021:
    135 × min(Scr/κ,1)^α × max(Scr/κ,1)^-0.544 × min(Scys/0.8,1)^-0.323 ×
    max(Scys/0.8,1)^-0.778 × 0.9961^age × 0.963 [female];
    κ = 0.7 (F) / 0.9 (M), α = -0.219 (F) / -0.144 (M); Scys in mg/L.

    Returns: a float array of the broadcast shape (NaN where an input is missing, non-positive
    or ``sex`` is not M/F).
    """
    scr = np.asarray(creatinine_mg_dl, dtype=float)
    scys = np.asarray(cystatin_c_mg_l, dtype=float)
    age_arr = np.asarray(age, dtype=float)
    female, male = _sex_masks(sex)
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.219, -0.144)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = scr / kappa
        cys_ratio = scys / 0.8
        egfr = (
            135.0
            * np.minimum(ratio, 1.0) ** alpha
            * np.maximum(ratio, 1.0) ** -0.544
            * np.minimum(cys_ratio, 1.0) ** -0.323
            * np.maximum(cys_ratio, 1.0) ** -0.778
            * 0.9961**age_arr
            * np.where(female, 0.963, 1.0)
        )
    valid = (
        (female | male)
        & (scr > 0)
        & np.isfinite(scr)
        & (scys > 0)
        & np.isfinite(scys)
        & np.isfinite(age_arr)
    )
    return np.where(valid, egfr, np.nan)


# --------------------------------------------------------------------------------------------
# §2 KDIGO categories
# --------------------------------------------------------------------------------------------
def kdigo_g_category(egfr):
    """KDIGO GFR category ("G1" … "G5") for each eGFR; ``None`` where eGFR is missing.

    Definition: clinical_reference §2 (KDIGO 2012/2024): G1 ≥90; G2 [60, 90); G3a [45, 60);
    G3b [30, 45); G4 [15, 30); G5 <15, classified on the full-precision value (so 59.96
    is G3a even though it displays as 60.0).

    Returns: a str for scalar input, else an object array of the input's shape.
    """
    values = _float_array(egfr)
    out = np.full(values.shape, None, dtype=object)
    for label, lower in _G_STAGES:
        # Ascending bounds: each later stage overwrites, giving half-open [lower, next lower).
        out[values >= lower] = label
    return _like_input(egfr, out)


def uacr_mg_mmol_to_mg_g(uacr_mg_mmol):
    """UACR in mg/g from mg/mmol (× 8.84, clinical_reference §2)."""
    return _float_array(uacr_mg_mmol) * UACR_MG_G_PER_MG_MMOL


def uacr_mg_g_to_mg_mmol(uacr_mg_g):
    """UACR in mg/mmol from mg/g (× 0.11312, clinical_reference §2)."""
    return _float_array(uacr_mg_g) * UACR_MG_MMOL_PER_MG_G


def kdigo_a_category(uacr_mg_g):
    """KDIGO albuminuria category ("A1", "A2", "A3") for each UACR in mg/g; ``None`` if missing.

    Definition: clinical_reference §2 (KDIGO): A1 <30 mg/g; A2 30–300 mg/g (both ends
    included); A3 >300 mg/g. Values in mg/mmol must first go through ``uacr_mg_mmol_to_mg_g``:
    the dashboard classifies on the mg/g cut-offs only, so 3.0 mg/mmol (26.52 mg/g) is A1.

    Returns: a str for scalar input, else an object array of the input's shape.
    """
    values = _float_array(uacr_mg_g)
    out = np.full(values.shape, None, dtype=object)
    out[values >= 0] = "A1"
    out[values >= 30.0] = "A2"
    out[values > 300.0] = "A3"
    return _like_input(uacr_mg_g, out)


def kdigo_risk_category(g_category, a_category):
    """KDIGO prognosis ("low", "moderately increased", "high", "very high") per G × A pair.

    Definition: clinical_reference §2, the KDIGO heat map: G1/G2 with A1 low; G1/G2 with A2
    and G3a with A1 moderately increased; G1/G2 with A3, G3a with A2 and G3b with A1 high;
    every other combination very high. A missing or unknown category gives ``None``.

    Returns: a str for scalar inputs, else an object array of the broadcast shape.
    """
    g_arr, a_arr = np.broadcast_arrays(np.asarray(g_category, dtype=object), np.asarray(a_category, dtype=object))
    out = np.full(g_arr.shape, None, dtype=object)
    for g_label, row in _KDIGO_RISK.items():
        in_row = g_arr == g_label
        for a_label, col in _A_INDEX.items():
            out[in_row & (a_arr == a_label)] = row[col]
    if np.ndim(g_category) == 0 and np.ndim(a_category) == 0:
        return out.reshape(()).item()
    return out


# --------------------------------------------------------------------------------------------
# §3 kidney endpoints
# --------------------------------------------------------------------------------------------
def percent_decline(baseline, value):
    """Percent decline from baseline, 100 × (baseline − value)/baseline (positive = fall).

    Definition: clinical_reference §3 "% decline".

    Returns: float array of the broadcast shape; NaN where an input is missing or the
    baseline is not positive.
    """
    base = _float_array(baseline)
    val = _float_array(value)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 100.0 * (base - val) / base
    return np.where(base > 0, out, np.nan)


def meets_decline(baseline, value, pct):
    """Whether value has fallen by at least ``pct`` percent from baseline.

    Definition: clinical_reference §3: value ≤ (1 − pct/100) × baseline, compared with an
    absolute tolerance of 1e-9 (``THRESHOLD_TOLERANCE``) so a value exactly on the threshold
    counts (50 → 35 is a 30% decline).

    Returns: bool array of the broadcast shape; False where an input is missing or the
    baseline is not positive.
    """
    base = _float_array(baseline)
    val = _float_array(value)
    threshold = (1.0 - _float_array(pct) / 100.0) * base
    with np.errstate(invalid="ignore"):
        return (base > 0) & (val <= threshold + THRESHOLD_TOLERANCE)


def _sorted_series(days, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(day numbers, values, original times) sorted by time, missing pairs removed.

    A missing value or time is not a measurement, so it neither meets nor fails a threshold.
    """
    day_num, _, originals = _as_day_numbers(days)
    vals = np.atleast_1d(_float_array(values))
    if day_num.shape != vals.shape:
        raise ValueError(f"days and values must have the same length; got {day_num.size} days and {vals.size} values.")
    keep = np.isfinite(day_num) & np.isfinite(vals)
    order = np.argsort(day_num[keep], kind="stable")
    return day_num[keep][order], vals[keep][order], originals[keep][order]


def first_decline(days, values, baseline, pct):
    """Day of the first measurement with a decline of at least ``pct``% (unconfirmed), or None.

    Definition: clinical_reference §3 "% decline", threshold per ``meets_decline``. This is
    the "any" (single-measurement) variant; see ``first_sustained_decline`` for the endpoint.
    ``days`` are study days (numbers) or dates; pass post-baseline measurements. Missing
    values are skipped.

    Returns: the day as given (number or Timestamp), or None if the threshold is never met.
    """
    day_num, vals, originals = _sorted_series(days, values)
    met = meets_decline(baseline, vals, pct)
    hits = np.flatnonzero(met)
    return _python_scalar(originals[hits[0]]) if hits.size else None


def first_sustained_decline(days, values, baseline, pct, min_gap_days=28, count_unconfirmed_last=False):
    """(first day met, confirmation day) of the first sustained ≥``pct``% decline, else (None, None).

    Definition: clinical_reference §3 "Sustained" (FIDELIO-DKD, with our added rule). Checked
    in this order, on measurements sorted by day (missing values skipped):

    1. The threshold (``meets_decline``) is met at a measurement, the candidate start.
    2. A later measurement at least ``min_gap_days`` after the start also meets it, and no
       measurement in between fails it. The confirmation day is the first such measurement.
    3. A run of meeting measurements that is broken by a failing one before confirmation is
       discarded; the search continues with the next run.
    4. A run that reaches the last measurement unconfirmed is not an event, unless
       ``count_unconfirmed_last=True`` (only if the SAP says so), which returns
       (start, None).

    Example (§3): baseline 50, day 90 = 29, day 120 = 31 gives (90, 120) for 30% and
    (None, None) for 40%.

    Returns: a tuple (first_day, confirm_day) with days as given (numbers or Timestamps).
    """
    day_num, vals, originals = _sorted_series(days, values)
    met = meets_decline(baseline, vals, pct)
    n = len(vals)
    i = 0
    while i < n:
        if not met[i]:
            i += 1
            continue
        # i starts a run of consecutive meeting measurements; any start later in the same run
        # is confirmed no earlier than the run start, so only the run start need be checked.
        j = i
        while j + 1 < n and met[j + 1]:
            j += 1
            if day_num[j] - day_num[i] >= min_gap_days:
                return _python_scalar(originals[i]), _python_scalar(originals[j])
        if j == n - 1 and count_unconfirmed_last:
            return _python_scalar(originals[i]), None
        i = j + 1
    return None, None


class AkiResult(NamedTuple):
    """Worst KDIGO AKI stage over a series and when it was first reached."""

    stage: int
    first_reached: Any  # day number or Timestamp as given; None when stage is 0


def aki_stage_by_measurement(times, creatinine_mg_dl, baseline_mg_dl=None):
    """KDIGO AKI stage (0–3) at each creatinine measurement of one subject.

    Definition: clinical_reference §3 "KDIGO AKI (creatinine)", KDIGO 2012. For each
    measurement, in time order (missing values and times are skipped and get stage 0):

    1. Absolute rise: Scr − (lowest Scr in the preceding 48 h) ≥ 0.3 mg/dL. "Preceding 48 h"
       is 0 < Δt ≤ 2 days, so two calendar dates 2 days apart count as within 48 h.
    2. Ratio: Scr / reference ≥ 1.5, where the reference is the lowest Scr in the preceding
       7 days (0 < Δt ≤ 7 days) if there is one, else ``baseline_mg_dl``. The 7-day window
       of KDIGO is thus honoured where the data allow it, and falls back on the study
       baseline (KDIGO's "known or presumed" baseline) for sparse trial visits.
    3. Stage 3 if ratio ≥ 3.0, or if AKI is present (1 or 2) and Scr ≥ 4.0 mg/dL;
       stage 2 if ratio ≥ 2.0; stage 1 if ratio ≥ 1.5 or the rise of rule 1; else 0.

    Thresholds are compared with a 1e-9 tolerance, so 0.9 → 1.2 is a 0.3 rise (stage 1)
    even though ``1.2 - 0.9 >= 0.3`` is False in floating point. Kidney replacement
    therapy (stage 3 by KDIGO) is not in creatinine data; the caller takes the maximum
    with 3 when KRT was started.

    ``times`` are study days (numbers) or dates/datetimes. ``baseline_mg_dl`` defaults to
    the first measurement of the series; include the baseline draw in the series if it
    should take part in the 48-h and 7-day windows.

    Returns: an int array of stages, in the order of the input.
    """
    day_num, _, _ = _as_day_numbers(times)
    scr = np.atleast_1d(_float_array(creatinine_mg_dl))
    if day_num.shape != scr.shape:
        raise ValueError(f"times and creatinine_mg_dl must have the same length; got {day_num.size} and {scr.size}.")
    ok = np.isfinite(day_num) & np.isfinite(scr)
    if baseline_mg_dl is None:
        first = np.flatnonzero(ok)
        baseline = scr[first[np.argmin(day_num[first])]] if first.size else np.nan
    else:
        baseline = float(_float_array(baseline_mg_dl))

    t = np.where(ok, day_num, np.nan)
    v = np.where(ok, scr, np.nan)
    # dt[j, i] = time of measurement j minus time of earlier measurement i (pairwise; n is small).
    with np.errstate(invalid="ignore"):
        dt = t[:, None] - t[None, :]
        prior_48h = (dt > 0) & (dt <= 2.0 + THRESHOLD_TOLERANCE)
        prior_7d = (dt > 0) & (dt <= 7.0 + THRESHOLD_TOLERANCE)
    lowest_48h = np.min(np.where(prior_48h, v[None, :], np.inf), axis=1)
    lowest_7d = np.min(np.where(prior_7d, v[None, :], np.inf), axis=1)
    reference = np.where(np.isfinite(lowest_7d), lowest_7d, baseline)

    tol = THRESHOLD_TOLERANCE
    with np.errstate(invalid="ignore", divide="ignore"):
        rise = np.isfinite(lowest_48h) & (v - lowest_48h >= 0.3 - tol)
        ratio = np.where(reference > 0, v / reference, np.nan)
    stage = np.zeros(v.shape, dtype=int)
    stage[(ratio >= 1.5 - tol) | rise] = 1
    stage[ratio >= 2.0 - tol] = 2
    stage[(ratio >= 3.0 - tol) | ((stage >= 1) & (v >= 4.0 - tol))] = 3
    stage[~ok] = 0
    return stage


def aki_stage_kdigo(times, creatinine_mg_dl, baseline_mg_dl=None) -> AkiResult:
    """Worst KDIGO AKI stage (0–3) of one subject's creatinine series and when it was first reached.

    Definition: clinical_reference §3 "KDIGO AKI (creatinine)"; the per-measurement rules are
    those of ``aki_stage_by_measurement`` (same arguments).

    Returns: ``AkiResult(stage, first_reached)``; ``first_reached`` is the time (day number or
    Timestamp, as given) of the first measurement at the worst stage, None when stage is 0.
    """
    stages = aki_stage_by_measurement(times, creatinine_mg_dl, baseline_mg_dl)
    worst = int(stages.max()) if stages.size else 0
    if worst == 0:
        return AkiResult(0, None)
    day_num, _, originals = _as_day_numbers(times)
    at_worst = np.flatnonzero(stages == worst)
    first = at_worst[np.argmin(day_num[at_worst])]
    return AkiResult(worst, _python_scalar(originals[first]))


def egfr_slope_per_year(days, egfr, start_day=None):
    """OLS slope of eGFR on time, in mL/min/1.73 m² per year (t = days/365.25).

    Definition: clinical_reference §3 "Slope": the display slope of one subject. The total
    slope uses every measurement from baseline; the chronic slope starts after the acute
    phase, so pass ``start_day`` (the SAP's knot, e.g. 28) to keep only days ≥ start_day.
    Inference uses a mixed model elsewhere, not this function.

    Returns: a float; NaN when fewer than 2 distinct times remain after dropping missing pairs.
    """
    day_num, vals, _ = _sorted_series(days, egfr)
    if start_day is not None:
        keep = day_num >= start_day
        day_num, vals = day_num[keep], vals[keep]
    if np.unique(day_num).size < 2:
        return float("nan")
    t = day_num / DAYS_PER_YEAR
    t_centred = t - t.mean()
    return float(np.sum(t_centred * (vals - vals.mean())) / np.sum(t_centred**2))
