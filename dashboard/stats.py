"""Summary statistics for safety tables: binomial and Poisson intervals, risk differences, GMRs.

Definitions follow ``clinical_reference.md`` (§4 UACR summaries, §7 safety tables). Functions
are pure and vectorized over numpy-broadcastable inputs where that is natural (counts and
denominators); the sample summaries (means, GMRs) take one sample. Results are small
NamedTuples of floats (or of arrays, for array input). Nothing is rounded here.

Where statsmodels computes the same definition, it does the arithmetic: the Wilson interval
(``proportion_confint(method="wilson")``), Newcombe's hybrid score interval for a risk difference
(``confint_proportions_2indep(method="newcomb")``) and the Kaplan–Meier product-limit estimate
(``SurvfuncRight``). The rest is written here because the library's definition differs from the
one the product documents (each function says why): the Miettinen–Nurminen interval (statsmodels'
"score" method has the cubic wrong for δ ≠ 0, issue #10269, and no N/(N−1) factor switch), the
Katz relative risk with its 0.5 correction when exactly one arm has 0, and the exact Poisson
rate interval (scipy's chi-square quantiles, Garwood 1936).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

_BISECTION_STEPS = 200  # halves a width of 2 far below float resolution


class Interval(NamedTuple):
    """A point estimate with a two-sided confidence interval."""

    estimate: float | np.ndarray
    lower: float | np.ndarray
    upper: float | np.ndarray


class RelativeRisk(NamedTuple):
    """Relative risk with its log-method interval and whether 0.5 was added to the cells."""

    estimate: float | np.ndarray
    lower: float | np.ndarray
    upper: float | np.ndarray
    corrected: bool | np.ndarray


class MeanCI(NamedTuple):
    """Arithmetic mean with a t-interval."""

    mean: float
    lower: float
    upper: float
    n: int
    sd: float


class GeometricMeanRatio(NamedTuple):
    """Within-arm geometric mean ratio (follow-up / baseline) with a t-interval."""

    gm_baseline: float
    gm_followup: float
    gmr: float
    lower: float
    upper: float
    n: int
    sd_log: float


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _z(conf: float) -> float:
    if not 0 < conf < 1:
        raise ValueError(f"conf must be between 0 and 1 (e.g. 0.95); got {conf!r}.")
    return float(sps.norm.ppf(0.5 + conf / 2.0))


def _counts(x, n, name_x: str, name_n: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate event counts against denominators before any arithmetic."""
    x_arr = np.asarray(x, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    if np.any(n_arr <= 0):
        raise ValueError(f"{name_n} must be positive; got {n!r}.")
    if np.any((x_arr < 0) | (x_arr > n_arr)):
        raise ValueError(f"{name_x} must lie between 0 and {name_n}; got {name_x}={x!r}, {name_n}={n!r}.")
    return x_arr, n_arr


def _scalar_or_array(value):
    arr = np.asarray(value)
    return arr.item() if arr.ndim == 0 else arr


def _finite_sample(values) -> np.ndarray:
    """1-D float sample with missing values removed (n is reported by the caller)."""
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


# --------------------------------------------------------------------------------------------
# binomial proportions and risk differences (§7)
# --------------------------------------------------------------------------------------------
def wilson_ci(x, n, conf=0.95) -> Interval:
    """Proportion x/n with its Wilson score interval.

    Definition: clinical_reference §7 (the per-arm limits of the Newcombe interval);
    Wilson 1927: (p + z²/2n ± z√(p(1−p)/n + z²/4n²)) / (1 + z²/n).

    Returns: ``Interval(estimate, lower, upper)`` as proportions (0–1), floats for scalar
    input, arrays of the broadcast shape otherwise.
    """
    _z(conf)
    x_arr, n_arr = _counts(x, n, "x", "n")
    p = x_arr / n_arr
    lower, upper = proportion_confint(x_arr, n_arr, alpha=1.0 - conf, method="wilson")
    # Clip only float dust: at x = 0 or x = n the limit is exactly 0 or 1.
    lower = np.where(x_arr == 0, 0.0, lower)
    upper = np.where(x_arr == n_arr, 1.0, upper)
    return Interval(_scalar_or_array(p), _scalar_or_array(lower), _scalar_or_array(upper))


def risk_difference_wald(x1, n1, x2, n2, conf=0.95) -> Interval:
    """Risk difference p1 − p2 with the Wald interval.

    Definition: clinical_reference §7: d ± z·√(p1q1/n1 + p2q2/n2). Not clipped to [−1, 1],
    and degenerate (zero width) when both proportions are 0 or 1; shown for comparison only.

    Returns: ``Interval(estimate, lower, upper)`` as proportions.
    """
    z = _z(conf)
    x1a, n1a = _counts(x1, n1, "x1", "n1")
    x2a, n2a = _counts(x2, n2, "x2", "n2")
    p1, p2 = x1a / n1a, x2a / n2a
    d = p1 - p2
    se = np.sqrt(p1 * (1 - p1) / n1a + p2 * (1 - p2) / n2a)
    return Interval(_scalar_or_array(d), _scalar_or_array(d - z * se), _scalar_or_array(d + z * se))


def risk_difference_newcombe(x1, n1, x2, n2, conf=0.95) -> Interval:
    """Risk difference p1 − p2 with Newcombe's hybrid score interval (method 10).

    Definition: clinical_reference §7, Newcombe 1998: with Wilson limits (l_i, u_i) per arm,
    L = d − √((p1−l1)² + (u2−p2)²) and U = d + √((u1−p1)² + (p2−l2)²).

    Returns: ``Interval(estimate, lower, upper)`` as proportions.
    """
    _z(conf)
    x1a, n1a = _counts(x1, n1, "x1", "n1")
    x2a, n2a = _counts(x2, n2, "x2", "n2")
    x1a, n1a, x2a, n2a = np.broadcast_arrays(x1a, n1a, x2a, n2a)
    lower, upper = confint_proportions_2indep(x1a, n1a, x2a, n2a, method="newcomb", compare="diff",
                                              alpha=1.0 - conf)
    d = x1a / n1a - x2a / n2a
    return Interval(_scalar_or_array(d), _scalar_or_array(lower), _scalar_or_array(upper))


def _restricted_mle(p1_hat, p2_hat, n1, n2, delta):
    """MLE of (p1, p2) under p1 − p2 = delta: the closed-form cubic root (M&N 1985, Appendix).

    Same parameterisation as Farrington & Manning 1990; θ = n2/n1.
    """
    theta = n2 / n1
    a = 1.0 + theta
    b = -(1.0 + theta + p1_hat + theta * p2_hat + delta * (theta + 2.0))
    c = delta**2 + delta * (2.0 * p1_hat + theta + 1.0) + p1_hat + theta * p2_hat
    d = -p1_hat * delta * (1.0 + delta)
    v = b**3 / (27.0 * a**3) - b * c / (6.0 * a**2) + d / (2.0 * a)
    u = np.sign(v) * np.sqrt(np.maximum(b**2 / (9.0 * a**2) - c / (3.0 * a), 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        # u = 0 makes the cosine term vanish, so any finite ratio gives the same root; the clip
        # guards arccos against float dust just outside [-1, 1].
        ratio = np.where(u == 0, 0.0, np.clip(v / np.where(u == 0, 1.0, u**3), -1.0, 1.0))
    w = (np.pi + np.arccos(ratio)) / 3.0
    p1_tilde = np.clip(2.0 * u * np.cos(w) - b / (3.0 * a), 0.0, 1.0)
    p2_tilde = np.clip(p1_tilde - delta, 0.0, 1.0)
    return p1_tilde, p2_tilde


def _mn_excess(delta, p1_hat, p2_hat, n1, n2, z, variance_correction):
    """(d̂ − δ)² − z²·V(δ): ≤ 0 exactly where δ lies inside the score interval."""
    p1_t, p2_t = _restricted_mle(p1_hat, p2_hat, n1, n2, delta)
    var = p1_t * (1 - p1_t) / n1 + p2_t * (1 - p2_t) / n2
    if variance_correction:
        big_n = n1 + n2
        var = var * big_n / (big_n - 1.0)
    return (p1_hat - p2_hat - delta) ** 2 - z**2 * var


def risk_difference_miettinen_nurminen(x1, n1, x2, n2, conf=0.95, variance_correction=True) -> Interval:
    """Risk difference p1 − p2 with the Miettinen–Nurminen score interval.

    Definition: clinical_reference §7, Miettinen & Nurminen 1985: the set of δ with
    |(p̂1 − p̂2 − δ)/√V(δ)| ≤ z, V(δ) = [p̃1(1−p̃1)/n1 + p̃2(1−p̃2)/n2] · N/(N−1), where
    (p̃1, p̃2) is the closed-form restricted MLE under p1 − p2 = δ.

    ``variance_correction=False`` drops the N/(N−1) factor, which gives the Farrington–Manning
    style interval that Fagerland et al. tabulate (7/34 vs 1/34 → 0.0284 to 0.3439).

    Not statsmodels: its ``confint_proportions_2indep(method="score")`` solves the restricted
    MLE with a cubic that is wrong for δ ≠ 0 (statsmodels issue #10269) and can fail to find a
    limit, so the documented interval is computed here.

    The limits are found by bisection on the sign of (d̂ − δ)² − z²V(δ) over [−1, d̂] and
    [d̂, 1]; the score statistic is monotone in δ, so the inside set is one interval. This
    works with zero cells (2/20 vs 0/18) and with 0/n vs 0/n, where V(d̂) = 0.

    Returns: ``Interval(estimate, lower, upper)`` as proportions.
    """
    z = _z(conf)
    x1a, n1a = _counts(x1, n1, "x1", "n1")
    x2a, n2a = _counts(x2, n2, "x2", "n2")
    x1a, n1a, x2a, n2a = np.broadcast_arrays(x1a, n1a, x2a, n2a)
    p1_hat, p2_hat = x1a / n1a, x2a / n2a
    d_hat = p1_hat - p2_hat

    def inside(delta):
        return _mn_excess(delta, p1_hat, p2_hat, n1a, n2a, z, variance_correction) <= 0

    # Lower limit: outside at -1 (unless d̂ = -1), inside at d̂.
    lo, hi = np.full(d_hat.shape, -1.0), d_hat.copy()
    lo_inside = inside(lo)
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        mid_inside = inside(mid)
        hi = np.where(mid_inside, mid, hi)
        lo = np.where(mid_inside, lo, mid)
    lower = np.where(lo_inside, -1.0, hi)

    # Upper limit: inside at d̂, outside at 1 (unless d̂ = 1).
    lo, hi = d_hat.copy(), np.full(d_hat.shape, 1.0)
    hi_inside = inside(hi)
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        mid_inside = inside(mid)
        lo = np.where(mid_inside, mid, lo)
        hi = np.where(mid_inside, hi, mid)
    upper = np.where(hi_inside, 1.0, lo)
    return Interval(_scalar_or_array(d_hat), _scalar_or_array(lower), _scalar_or_array(upper))


def relative_risk_ci(x1, n1, x2, n2, conf=0.95, correction=0.5) -> RelativeRisk:
    """Relative risk p1/p2 with the log (Katz) interval.

    Definition: clinical_reference §7 (arm comparison of incidence); Katz et al. 1978:
    exp(ln RR ± z·√(1/a − 1/n1 + 1/c − 1/n2)). Checked in this order:

    1. Both arms with 0 events: RR is undefined; all of estimate, lower, upper are NaN.
    2. One arm with 0 events: ``correction`` (0.5, Haldane–Anscombe) is added to all four
       cells, so a + 0.5 events out of n1 + 1, and the corrected RR is reported with
       ``corrected=True``. Pass ``correction=0`` to get NaN/0/inf instead.
    3. Otherwise: no correction.

    Not statsmodels: its ``method="log"`` adds no correction and ``"log-adjusted"`` adds 0.5 to
    every table, not only when exactly one arm has 0, so neither is this definition.

    Returns: ``RelativeRisk(estimate, lower, upper, corrected)``.
    """
    z = _z(conf)
    x1a, n1a = _counts(x1, n1, "x1", "n1")
    x2a, n2a = _counts(x2, n2, "x2", "n2")
    x1a, n1a, x2a, n2a = np.broadcast_arrays(x1a, n1a, x2a, n2a)
    corrected = ((x1a == 0) ^ (x2a == 0)) & (correction > 0)
    add = np.where(corrected, correction, 0.0)
    a, m1 = x1a + add, n1a + 2 * add
    c, m2 = x2a + add, n2a + 2 * add
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rr = np.log(a / m1) - np.log(c / m2)
        se = np.sqrt(1 / a - 1 / m1 + 1 / c - 1 / m2)
        estimate, lower, upper = np.exp(log_rr), np.exp(log_rr - z * se), np.exp(log_rr + z * se)
    undefined = (x1a == 0) & (x2a == 0)
    estimate, lower, upper = (np.where(undefined, np.nan, v) for v in (estimate, lower, upper))
    return RelativeRisk(
        _scalar_or_array(estimate), _scalar_or_array(lower), _scalar_or_array(upper), _scalar_or_array(corrected)
    )


# --------------------------------------------------------------------------------------------
# incidence rates (§7)
# --------------------------------------------------------------------------------------------
def eair_per_100py(events, person_years, conf=0.95) -> Interval:
    """Exposure-adjusted incidence rate per 100 patient-years with the exact Poisson interval.

    Definition: clinical_reference §7 "EAIR": 100 × x / PY, CI
    [χ²(α/2, 2x)/2, χ²(1−α/2, 2x+2)/2] / PY × 100 (Garwood 1936). ``events`` is the number of
    subjects with the event and ``person_years`` the summed exposure to first event or end
    of observation (days/365.25), built by the caller. With x = 0 the lower limit is 0.

    Returns: ``Interval(estimate, lower, upper)`` per 100 PY; NaN where PY is not positive.
    """
    _z(conf)
    x = np.asarray(events, dtype=float)
    py = np.asarray(person_years, dtype=float)
    if np.any(x < 0):
        raise ValueError(f"events must be non-negative; got {events!r}.")
    alpha = 1.0 - conf
    with np.errstate(divide="ignore", invalid="ignore"):
        lower_count = np.where(x > 0, sps.chi2.ppf(alpha / 2.0, 2.0 * np.maximum(x, 1)) / 2.0, 0.0)
        upper_count = sps.chi2.ppf(1.0 - alpha / 2.0, 2.0 * x + 2.0) / 2.0
        scale = np.where(py > 0, 100.0 / py, np.nan)
    return Interval(_scalar_or_array(x * scale), _scalar_or_array(lower_count * scale), _scalar_or_array(upper_count * scale))


# --------------------------------------------------------------------------------------------
# continuous summaries (§4)
# --------------------------------------------------------------------------------------------
def mean_ci(values, conf=0.95) -> MeanCI:
    """Arithmetic mean with a two-sided t-interval, mean ± t(1−α/2, n−1)·s/√n.

    Definition: standard t-interval (used for change-from-baseline summaries, §4 style).
    Missing values are removed and ``n`` reports how many were used; with n < 2 the sd and
    limits are NaN.

    Returns: ``MeanCI(mean, lower, upper, n, sd)``.
    """
    _z(conf)
    sample = _finite_sample(values)
    n = int(sample.size)
    if n == 0:
        return MeanCI(float("nan"), float("nan"), float("nan"), 0, float("nan"))
    mean = float(sample.mean())
    if n < 2:
        return MeanCI(mean, float("nan"), float("nan"), n, float("nan"))
    sd = float(sample.std(ddof=1))
    half = float(sps.t.ppf(0.5 + conf / 2.0, n - 1) * sd / np.sqrt(n))
    return MeanCI(mean, mean - half, mean + half, n, sd)


def _positive_sample(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    bad = np.flatnonzero(np.isfinite(arr) & (arr <= 0))
    if bad.size:
        raise ValueError(
            f"{name} must be positive for a log-scale summary; got {arr[bad[0]]!r} at position {bad[0]}. "
            "Impute values below the limit of quantitation before summarising."
        )
    return arr


def geometric_mean(values) -> float:
    """Geometric mean exp(mean(ln x)) of the non-missing values.

    Definition: clinical_reference §4 (UACR treated as log-normal).

    Returns: a float; NaN when no value is present. Raises ValueError on a value ≤ 0.
    """
    arr = _positive_sample(values, "values")
    arr = arr[np.isfinite(arr)]
    return float(np.exp(np.mean(np.log(arr)))) if arr.size else float("nan")


def geometric_mean_ratio_ci(baseline, followup, conf=0.95) -> GeometricMeanRatio:
    """Within-arm geometric mean ratio follow-up/baseline with a t-interval on paired log differences.

    Definition: clinical_reference §4: d_i = ln(x_t/x_0); GMR = exp(d̄), CI
    exp(d̄ ± t(1−α/2, n−1)·s_d/√n); % change = 100(GMR − 1). Only complete pairs are used
    (``n`` says how many), and both geometric means are over those pairs, so
    gm_followup/gm_baseline equals the GMR. The between-arm ANCOVA ratio is not computed here.

    Returns: ``GeometricMeanRatio(gm_baseline, gm_followup, gmr, lower, upper, n, sd_log)``;
    with n < 2 the limits and sd_log are NaN. Raises ValueError on a value ≤ 0.
    """
    _z(conf)
    base = _positive_sample(baseline, "baseline")
    follow = _positive_sample(followup, "followup")
    if base.shape != follow.shape:
        raise ValueError(f"baseline and followup must be paired; got {base.size} and {follow.size} values.")
    pair = np.isfinite(base) & np.isfinite(follow)
    log_b, log_f = np.log(base[pair]), np.log(follow[pair])
    n = int(pair.sum())
    nan = float("nan")
    if n == 0:
        return GeometricMeanRatio(nan, nan, nan, nan, nan, 0, nan)
    diff = log_f - log_b
    gm_b, gm_f, gmr = float(np.exp(log_b.mean())), float(np.exp(log_f.mean())), float(np.exp(diff.mean()))
    if n < 2:
        return GeometricMeanRatio(gm_b, gm_f, gmr, nan, nan, n, nan)
    sd_log = float(diff.std(ddof=1))
    half = float(sps.t.ppf(0.5 + conf / 2.0, n - 1) * sd_log / np.sqrt(n))
    return GeometricMeanRatio(gm_b, gm_f, gmr, float(np.exp(diff.mean() - half)), float(np.exp(diff.mean() + half)), n, sd_log)


# --------------------------------------------------------------------------------------------
# time to first event
# --------------------------------------------------------------------------------------------
def kaplan_meier(time, event) -> pd.DataFrame:
    """Kaplan–Meier (product-limit) survival at each distinct time, right-censored data.

    Definition: Kaplan & Meier 1958: S(t) = Π over event times t_i ≤ t of (1 − d_i/n_i), n_i the
    subjects with time ≥ t_i; an event and a censoring at the same time count the censored
    subject as at risk (events precede censoring). The product is statsmodels' ``SurvfuncRight``
    (computed there as exp of a sum of logs); the counts per time are tabulated here.

    Returns one row per distinct time, ascending: ``day``, ``n_at_risk``, ``n_events``,
    ``n_censored``, ``survival`` (0–1; 1 before the first event). Empty input gives no rows.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    columns = ["day", "n_at_risk", "n_events", "n_censored", "survival"]
    if time.size == 0:
        return pd.DataFrame(columns=columns)
    days, inverse = np.unique(time, return_inverse=True)
    n_events = np.bincount(inverse, weights=event, minlength=days.size).astype(int)
    n_censored = np.bincount(inverse, weights=~event, minlength=days.size).astype(int)
    n_at_risk = time.size - np.concatenate([[0], np.cumsum(n_events + n_censored)[:-1]])
    survival = np.ones(days.size)
    if event.any():
        fit = SurvfuncRight(time, event.astype(int))
        # S is a step function: at each distinct time, the estimate at the last event time <= it.
        step = np.searchsorted(fit.surv_times, days, side="right") - 1
        survival = np.where(step >= 0, fit.surv_prob[np.maximum(step, 0)], 1.0)
    return pd.DataFrame({"day": days, "n_at_risk": n_at_risk, "n_events": n_events, "n_censored": n_censored,
                         "survival": survival})
