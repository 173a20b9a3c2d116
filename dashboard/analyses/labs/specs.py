"""The lab tables' registry entries (:class:`dashboard.tables.TableSpec`): compute, display, charts, definition."""

from __future__ import annotations

from dashboard.analyses.labs.display import (
    _ctcae_display, _edish_subjects_display, _hys_display, _lab_shift_display, _listing_display, _parameters_display,
    _quadrant_display, _shift_subjects_display, _shift_summary_display, _summary_display,
)
from dashboard.analyses.labs.tables import (
    edish_quadrants, edish_subjects, hys_law_candidates, lab_abnormal_listing, lab_ctcae_shift, lab_parameters,
    lab_shift_baseline_to_worst, lab_shift_subjects, lab_shift_summary, lab_summary_by_visit, lab_values_by_visit,
)

_RECORDS_NOTE = ("Records: numeric AVAL; '_' change parameters and DTYPE-derived records excluded; ANL01FL honoured "
                 "only where it selects one record per visit (ignored in the CDISC pilot). Baseline: ABLFL='Y', else "
                 "the last value on or before the first dose. Post-baseline: after the first-dose date, unscheduled "
                 "included. Data cut applies to ADT.")
_CATEGORY_NOTE = ("LOW/NORMAL/HIGH from AVAL vs the record's ANRLO/ANRHI (a value equal to a limit is NORMAL); "
                  "BNRIND/ANRIND only when no range exists.")


def register(add) -> None:
    """Pass every lab table's :class:`dashboard.tables.TableSpec` to ``add`` (the registry's)."""
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
