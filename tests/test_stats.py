"""Tests for dashboard.stats against clinical_reference §4 and §7.

Expected values are hard-coded from the reference; a few extra anchors are from Newcombe,
Stat Med 1998;17:857–872 (single proportion, Table I) and 17:873–890 (differences, Table II),
labelled as such. Numbers are compared at display precision (round half away from zero).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from dashboard.stats import (
    eair_per_100py,
    geometric_mean,
    geometric_mean_ratio_ci,
    mean_ci,
    relative_risk_ci,
    risk_difference_miettinen_nurminen,
    risk_difference_newcombe,
    risk_difference_wald,
    wilson_ci,
)


def _display(x, dp: int = 2) -> str:
    """Round for display: half away from zero (Decimal ROUND_HALF_UP), as a string."""
    return str(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP))


def _percent(interval, dp: int = 2) -> tuple[str, str, str]:
    return tuple(_display(100 * v, dp) for v in interval)


# --------------------------------------------------------------------------------------------
# §7 risk difference: Examples 1 and 2, in percent to 2 dp
# --------------------------------------------------------------------------------------------
RISK_DIFFERENCE_EXAMPLES = [
    # method, x1, n1, x2, n2, (d, lower, upper) in %
    # Example 1: 8/19 vs 3/19
    (risk_difference_wald, 8, 19, 3, 19, ("26.32", "-1.28", "53.91")),
    (risk_difference_newcombe, 8, 19, 3, 19, ("26.32", "-2.56", "50.25")),
    (risk_difference_miettinen_nurminen, 8, 19, 3, 19, ("26.32", "-3.02", "52.10")),
    # Example 2: 2/20 vs 0/18 (a zero cell; Wald is degenerate in the second arm)
    (risk_difference_wald, 2, 20, 0, 18, ("10.00", "-3.15", "23.15")),
    (risk_difference_newcombe, 2, 20, 0, 18, ("10.00", "-9.01", "30.10")),
    (risk_difference_miettinen_nurminen, 2, 20, 0, 18, ("10.00", "-8.87", "30.44")),
]


@pytest.mark.parametrize(
    "method, x1, n1, x2, n2, expected",
    RISK_DIFFERENCE_EXAMPLES,
    ids=[f"{r[0].__name__}-{r[1]}/{r[2]}-vs-{r[3]}/{r[4]}" for r in RISK_DIFFERENCE_EXAMPLES],
)
def test_risk_difference_reference_examples(method, x1, n1, x2, n2, expected):
    assert _percent(method(x1, n1, x2, n2)) == expected


def test_risk_difference_miettinen_nurminen_fagerland_anchor_without_variance_factor():
    got = risk_difference_miettinen_nurminen(7, 34, 1, 34, variance_correction=False)
    assert (_display(got.lower, 4), _display(got.upper, 4)) == ("0.0284", "0.3439")


def test_risk_difference_miettinen_nurminen_variance_factor_widens_interval():
    with_factor = risk_difference_miettinen_nurminen(7, 34, 1, 34)
    without = risk_difference_miettinen_nurminen(7, 34, 1, 34, variance_correction=False)
    assert with_factor.lower < without.lower and with_factor.upper > without.upper


@pytest.mark.parametrize(
    "x1, n1, x2, n2, expected",
    [
        # Newcombe 1998 Table II, method 6 (Miettinen–Nurminen)
        (56, 70, 48, 80, ("0.0528", "0.3382")),
        (9, 10, 3, 10, ("0.1700", "0.8406")),
        (6, 7, 2, 7, ("0.0342", "0.8534")),
        (0, 10, 0, 20, ("-0.1658", "0.2844")),  # 0/n vs 0/n
    ],
)
def test_risk_difference_miettinen_nurminen_newcombe_anchors(x1, n1, x2, n2, expected):
    got = risk_difference_miettinen_nurminen(x1, n1, x2, n2)
    assert (_display(got.lower, 4), _display(got.upper, 4)) == expected


@pytest.mark.parametrize(
    "x1, n1, x2, n2, expected",
    [
        # Newcombe 1998 Table II, method 10 (hybrid score)
        (56, 70, 48, 80, ("0.0524", "0.3339")),
        (9, 10, 3, 10, ("0.1705", "0.8090")),
        (5, 56, 0, 29, ("-0.0381", "0.1926")),
        (0, 10, 0, 20, ("-0.1611", "0.2775")),
        (10, 10, 0, 20, ("0.6791", "1.0000")),
    ],
)
def test_risk_difference_newcombe_newcombe_anchors(x1, n1, x2, n2, expected):
    got = risk_difference_newcombe(x1, n1, x2, n2)
    assert (_display(got.lower, 4), _display(got.upper, 4)) == expected


@pytest.mark.parametrize(
    "x1, n1, x2, n2, expected",
    [
        # all events in one arm, none in the other: the limit sits on ±1
        (20, 20, 0, 18, ("1.0000", None, "1.0000")),
        (0, 20, 18, 18, ("-1.0000", "-1.0000", None)),
        # no events in either arm: a proper interval around 0
        (0, 20, 0, 18, ("0.0000", None, None)),
    ],
)
def test_risk_difference_miettinen_nurminen_extreme_cells(x1, n1, x2, n2, expected):
    got = risk_difference_miettinen_nurminen(x1, n1, x2, n2)
    for value, want in zip(got, expected):
        if want is not None:
            assert _display(value, 4) == want
    assert -1.0 <= got.lower < got.upper <= 1.0
    assert got.lower <= got.estimate <= got.upper


def test_risk_difference_wald_degenerate_when_both_zero():
    assert tuple(risk_difference_wald(0, 10, 0, 12)) == (0.0, 0.0, 0.0)


def test_risk_difference_methods_vectorized_match_examples():
    # Both reference examples in one call.
    for method in (risk_difference_wald, risk_difference_newcombe, risk_difference_miettinen_nurminen):
        got = method(np.array([8, 2]), np.array([19, 20]), np.array([3, 0]), np.array([19, 18]))
        rows = [tuple(_display(100 * part[i]) for part in got) for i in range(2)]
        expected = [r[5] for r in RISK_DIFFERENCE_EXAMPLES if r[0] is method]
        assert rows == expected


@pytest.mark.parametrize(
    "args, message",
    [
        ((21, 20, 0, 18), "x1 must lie between 0 and n1"),
        ((2, 20, -1, 18), "x2 must lie between 0 and n2"),
        ((2, 0, 0, 18), "n1 must be positive"),
    ],
)
def test_risk_difference_rejects_impossible_counts(args, message):
    with pytest.raises(ValueError, match=message):
        risk_difference_miettinen_nurminen(*args)


# --------------------------------------------------------------------------------------------
# Wilson interval (per-arm limits of Newcombe's method)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x, n, expected",
    [
        # Newcombe 1998 Table I, method 3 (score)
        (81, 263, ("0.2553", "0.3662")),
        (15, 148, ("0.0624", "0.1605")),
        (0, 20, ("0.0000", "0.1611")),
        (1, 29, ("0.0061", "0.1718")),
    ],
)
def test_wilson_ci_newcombe_anchors(x, n, expected):
    got = wilson_ci(x, n)
    assert (_display(got.lower, 4), _display(got.upper, 4)) == expected


def test_wilson_ci_all_events_upper_is_one():
    got = wilson_ci(20, 20)
    assert got.upper == 1.0 and _display(got.lower, 4) == "0.8389"


def test_wilson_ci_vectorized():
    got = wilson_ci([81, 0], [263, 20])
    assert [_display(v, 4) for v in got.upper] == ["0.3662", "0.1611"]


def test_wilson_ci_rejects_bad_conf():
    with pytest.raises(ValueError, match="conf must be between 0 and 1"):
        wilson_ci(1, 10, conf=95)


# --------------------------------------------------------------------------------------------
# relative risk (log method, 0.5 correction when one arm has no events)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x1, n1, x2, n2, expected, corrected",
    [
        # no zero cell: RR = (8/19)/(3/19) = 2.6667
        (8, 19, 3, 19, ("2.6667", "0.8321", "8.5458"), False),
        # one zero cell: 0.5 added to all four cells, (2.5/21)/(0.5/19)
        (2, 20, 0, 18, ("4.5238", "0.2316", "88.3782"), True),
    ],
)
def test_relative_risk_ci_log_method(x1, n1, x2, n2, expected, corrected):
    got = relative_risk_ci(x1, n1, x2, n2)
    assert tuple(_display(v, 4) for v in got[:3]) == expected
    assert bool(got.corrected) is corrected


def test_relative_risk_ci_both_arms_zero_is_undefined():
    got = relative_risk_ci(0, 20, 0, 18)
    assert np.isnan(got.estimate) and np.isnan(got.lower) and np.isnan(got.upper)


# --------------------------------------------------------------------------------------------
# §7 EAIR with exact Poisson CI
# --------------------------------------------------------------------------------------------
def test_eair_per_100py_reference_vector():
    assert tuple(_display(v) for v in eair_per_100py(3, 14.6)) == ("20.55", "4.24", "60.05")


def test_eair_per_100py_zero_events_lower_is_zero():
    got = eair_per_100py(0, 14.6)
    assert got.estimate == 0.0 and got.lower == 0.0
    # upper = chi2(0.975, 2)/2 = 3.689 events over 14.6 PY
    assert _display(got.upper) == "25.27"


def test_eair_per_100py_vectorized_and_zero_exposure():
    got = eair_per_100py([3, 1], [14.6, 0.0])
    assert _display(got.estimate[0]) == "20.55"
    assert np.isnan(got.estimate[1]) and np.isnan(got.upper[1])


# --------------------------------------------------------------------------------------------
# §4 UACR: geometric means and within-arm GMR
# --------------------------------------------------------------------------------------------
UACR_BASELINE = [420, 880, 150, 1250, 60]
UACR_WEEK12 = [300, 910, 95, 700, 66]


def test_geometric_mean_ratio_ci_reference_vector():
    got = geometric_mean_ratio_ci(UACR_BASELINE, UACR_WEEK12)
    assert _display(got.gm_baseline) == "334.02"
    assert _display(got.gm_followup) == "260.44"
    assert (_display(got.gmr, 4), _display(got.lower, 4), _display(got.upper, 4)) == ("0.7797", "0.5376", "1.1308")
    assert _display(got.sd_log, 5) == "0.29943"
    assert got.n == 5


def test_geometric_mean_ratio_ci_incomplete_pairs_are_not_used():
    got = geometric_mean_ratio_ci(UACR_BASELINE + [500, np.nan], UACR_WEEK12 + [np.nan, 400])
    assert got.n == 5
    assert (_display(got.gmr, 4), _display(got.lower, 4), _display(got.upper, 4)) == ("0.7797", "0.5376", "1.1308")


def test_geometric_mean_ratio_ci_single_pair_has_no_interval():
    got = geometric_mean_ratio_ci([100], [50])
    assert got.n == 1 and _display(got.gmr, 4) == "0.5000"
    assert np.isnan(got.lower) and np.isnan(got.sd_log)


def test_geometric_mean_ratio_ci_rejects_non_positive_values():
    with pytest.raises(ValueError, match="followup must be positive.*position 1"):
        geometric_mean_ratio_ci([10, 20], [5, 0])


@pytest.mark.parametrize(
    "values, expected",
    [
        (UACR_BASELINE, "334.02"),
        (UACR_WEEK12, "260.44"),
        (UACR_BASELINE + [np.nan], "334.02"),  # missing ignored
    ],
)
def test_geometric_mean_reference_vector(values, expected):
    assert _display(geometric_mean(values)) == expected


def test_mean_ci_on_log_ratios_reproduces_gmr_interval():
    # The GMR interval of §4 is the t-interval of the paired log ratios, exponentiated.
    log_ratios = np.log(np.array(UACR_WEEK12, dtype=float) / np.array(UACR_BASELINE, dtype=float))
    got = mean_ci(log_ratios)
    assert (_display(np.exp(got.lower), 4), _display(np.exp(got.upper), 4)) == ("0.5376", "1.1308")
    assert _display(got.sd, 5) == "0.29943" and got.n == 5


@pytest.mark.parametrize(
    "values, expected",
    [
        # 1..4: mean 2.5, sd 1.2910, t(0.975, 3) = 3.1824
        ([1.0, 2.0, 3.0, 4.0], ("2.5000", "0.4457", "4.5543")),
        ([1.0, 2.0, np.nan, 3.0, 4.0], ("2.5000", "0.4457", "4.5543")),
    ],
)
def test_mean_ci_t_interval(values, expected):
    got = mean_ci(values)
    assert (_display(got.mean, 4), _display(got.lower, 4), _display(got.upper, 4)) == expected
    assert got.n == 4


def test_mean_ci_single_value_has_no_interval():
    got = mean_ci([3.0])
    assert got.mean == 3.0 and got.n == 1 and np.isnan(got.lower)


# --------------------------------------------------------------------------------------------
# Kaplan-Meier (statsmodels SurvfuncRight underneath)
# --------------------------------------------------------------------------------------------
def test_kaplan_meier_hand_values():
    from dashboard.stats import kaplan_meier

    # times 2, 5, 5, 8, 10; events at 2, 5 (one of the two), 8: S = 4/5, x 3/4, x 1/2
    got = kaplan_meier([2, 5, 5, 8, 10], [1, 1, 0, 1, 0])
    assert got["day"].tolist() == [2.0, 5.0, 8.0, 10.0]
    assert got["n_at_risk"].tolist() == [5, 4, 2, 1]
    assert got["n_events"].tolist() == [1, 1, 1, 0]
    assert got["n_censored"].tolist() == [0, 1, 0, 1]
    assert [_display(v, 4) for v in got["survival"]] == ["0.8000", "0.6000", "0.3000", "0.3000"]


def test_kaplan_meier_no_event_and_no_subject():
    from dashboard.stats import kaplan_meier

    got = kaplan_meier([3, 7], [0, 0])
    assert got["survival"].tolist() == [1.0, 1.0] and got["n_censored"].tolist() == [1, 1]
    assert kaplan_meier([], []).empty
