"""The renal tables' registry entries (:class:`dashboard.tables.TableSpec`): compute, display, charts, definition."""

from __future__ import annotations

import functools

from dashboard.analyses.renal.display import (
    _change_display, _events_display, _events_listing_display, _grid_display, _kdigo_shift_display,
    _parameters_display, _risk_shift_display, _slope_difference_display, _slope_listing_display,
    _slope_summary_display, _summary_display, _values_display,
)
from dashboard.analyses.renal.records import RENAL_PARAMS
from dashboard.analyses.renal.tables import (
    egfr_slope, egfr_slope_difference, egfr_slope_summary, kdigo_grid, kdigo_risk_shift, kdigo_shift,
    kidney_events, kidney_events_by_subject, renal_change_to_last, renal_parameters, renal_summary_by_visit,
    renal_values_by_subject,
)


def param_charts(chart_fns, param: str) -> list:
    """The registered chart functions of one renal parameter (those made for ``param=...``), in
    registry order: a page's parameter tab draws exactly these, as the packet does."""
    return [fn for fn in chart_fns if getattr(fn, "keywords", {}).get("param") == param]


def register(add) -> None:
    """Pass every renal table's :class:`dashboard.tables.TableSpec` to ``add`` (the registry's)."""
    from dashboard.charts import renal as charts
    from dashboard.tables import UNBLINDED_ONLY, TableSpec

    p = functools.partial
    add(TableSpec("renal_parameters", "Renal data in this extract", "renal", renal_parameters,
                  display=_parameters_display, order=5,
                  definition="Which renal parameters the extract holds (PARAMCD mapped by canonical lab code), "
                             "whether eGFR is derived (CKD-EPI 2021) or supplied, and how the baseline is chosen."))
    add(TableSpec("renal_summary_by_visit", "eGFR, creatinine, UACR and 24-h urine protein by visit", "renal",
                  renal_summary_by_visit, display=_summary_display, order=10,
                  charts=tuple(p(charts.mean_over_visits, param=code, measure=measure)
                               for code in RENAL_PARAMS for measure in ("absolute", "change")),
                  definition="Scheduled visits as windowed in the extract (AVISIT/AVISITN); one value per subject "
                             "and visit (closest to the target day). Mean (SD), median [Q1, Q3]; change from "
                             "baseline mean with 95% t-CI (none at baseline). UACR and 24-h protein: geometric "
                             "mean and geometric-mean ratio to baseline with 95% CI (log-normal summary). "
                             "Values in the extract's unit."))
    add(TableSpec("egfr_slope_summary", "eGFR slope by arm (mL/min/1.73 m2 per year)", "renal", egfr_slope_summary,
                  display=_slope_summary_display, order=20,
                  definition="Per-subject OLS slope of eGFR on time (t = days/365.25) over the baseline and every "
                             "post-baseline value (total slope; KDIGO 2012; Levey et al., AJKD 2020 (eGFR slope)), summarized by arm with a "
                             "95% t-CI. A display slope: inference uses a mixed model."))
    add(TableSpec("egfr_slope_difference", "eGFR slope: difference between arms", "renal", egfr_slope_difference,
                  display=_slope_difference_display, roles=UNBLINDED_ONLY, order=21,
                  definition="Mean slope of each arm minus the reference arm (first in display order), "
                             "95% CI by Welch's t (unequal variances). Closed session only."))
    add(TableSpec("egfr_slope", "eGFR slope per subject", "renal", egfr_slope, display=_slope_listing_display,
                  charts=(charts.slope_distribution,), order=22,
                  definition="Subjects with a baseline eGFR and >=1 post-baseline value; total slope from baseline."))
    add(TableSpec("kidney_events", "Subjects with kidney endpoints, by arm", "renal", kidney_events,
                  display=_events_display, charts=(charts.kidney_events_chart,), order=30,
                  definition="Subjects with the endpoint / subjects with a baseline and >=1 post-baseline value of "
                             "the parameter (n/N, %), with the median study day of first occurrence. eGFR decline "
                             "from baseline (any value, or confirmed by a value >=28 days later with none failing "
                             "in between; KDIGO 2012; Levey et al., AJKD 2020 (eGFR slope)), creatinine doubling, KDIGO AKI by creatinine "
                             "criteria (stage k = reached stage k or higher), eGFR <15. Column headers give the "
                             "population N."))
    add(TableSpec("kidney_events_by_subject", "Kidney endpoints: subjects and first dates", "renal",
                  kidney_events_by_subject, display=_events_listing_display, order=31,
                  definition="One row per subject and endpoint met: first date met (and confirmation date), the "
                             "value, its baseline and the source record. 'Out of window' marks a value from a visit "
                             "flagged out of its window (kept)."))
    add(TableSpec("kdigo_shift", "KDIGO G and A category shift", "renal", kdigo_shift, display=_kdigo_shift_display,
                  order=40,
                  definition="Baseline KDIGO category vs last on study and vs worst after baseline, n (%) of "
                             "subjects with a baseline and >=1 post-baseline value (KDIGO 2012; UACR "
                             "in mg/g)."))
    add(TableSpec("kdigo_risk_shift", "KDIGO risk category shift", "renal", kdigo_risk_shift,
                  display=_risk_shift_display, order=41,
                  definition="KDIGO heat-map risk (low / moderately increased / high / very high) from G and A at "
                             "the same visit, baseline vs last and vs worst."))
    add(TableSpec("kdigo_grid", "KDIGO G x A grid at baseline and last visit", "renal", kdigo_grid,
                  display=_grid_display, charts=(charts.kdigo_heatmap,), order=42,
                  definition="Subjects per KDIGO G x A cell at baseline and at their latest visit with both eGFR "
                             "and UACR; cell colour is the KDIGO risk."))
    add(TableSpec("renal_change_to_last", "Percent change from baseline to the last value", "renal",
                  renal_change_to_last, display=_change_display,
                  charts=(p(charts.waterfall, param="EGFR"), p(charts.waterfall, param="UACR")), order=50,
                  definition="100 x (last - baseline) / baseline; last = the latest post-baseline value on study."))
    add(TableSpec("renal_values_by_subject", "Renal values by subject", "renal", renal_values_by_subject,
                  display=_values_display, charts=tuple(p(charts.spaghetti, param=code) for code in RENAL_PARAMS), order=60,
                  definition="Every renal value with its baseline and change; out-of-window values are kept and "
                             "marked. Outliers: the subject's most extreme change from baseline lies outside the Tukey "
                             "fences (Q1 - 1.5 IQR, Q3 + 1.5 IQR) of all subjects'."))
