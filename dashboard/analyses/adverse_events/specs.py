"""The adverse-event tables as registered entries (``register(add)``, the module's interface to
the registry)."""

from __future__ import annotations

import functools

from dashboard.analyses.adverse_events.display import (
    _cuminc_display, _eair_display, _listing_display, _overview_display, _rd_display, _severity_display,
    _soc_pt_display, _timeline_display,
)
from dashboard.analyses.adverse_events.tables import (
    ae_by_severity, ae_cumulative_incidence, ae_exposure_adjusted, ae_incidence_by_soc_pt, ae_listing, ae_overview,
    ae_overview_subjects, ae_related_by_soc_pt, ae_risk_difference, ae_serious_listing, ae_soc_pt_subjects,
    ae_timeline,
)
from dashboard.charts.adverse_events import (
    ae_cumulative_incidence_chart, ae_dot_plot_chart, ae_explorer_chart, ae_timeline_chart,
)
from dashboard.tables import UNBLINDED_ONLY, TableSpec

#: Said once at the top of the Adverse events page (``AE_COMMON_NOTE``); each table's definition
#: starts with ``AE_COMMON`` (kept in the packet and exports), which the page does not repeat.
AE_COMMON_NOTE = ("Subjects are counted once per row; N = subjects of the arm in the analysis population "
                  "(safety by default). The AE filters apply to every table on this page.")
AE_COMMON = ("Treatment-emergent: TRTEMFL='Y' when ADAE has TRTEMFL, otherwise derived as ASTDT >= TRTSDT "
             "(missing onset = treatment-emergent). " + AE_COMMON_NOTE)
_COMMON = AE_COMMON


def register(add) -> None:
    """Add the adverse-event tables."""
    add(TableSpec("ae_overview", "Overview of treatment-emergent adverse events", "adverse_events", ae_overview,
                  display=_overview_display, order=10,
                  subjects=lambda con, spec, row: ae_overview_subjects(con, spec, row["category"]),
                  definition=_COMMON + " [events] = number of AE records. Related: AEREL mapped to related "
                  "(RELATED, POSSIBLY/PROBABLY, POSSIBLE/PROBABLE, Y) or not (NOT/UNLIKELY RELATED, NONE, REMOTE, "
                  "N); missing AEREL counted as related (conservative). Severe: AESEV SEVERE or AETOXGR >= 3. "
                  "Discontinuation/interruption: AEACN DRUG WITHDRAWN, DRUG INTERRUPTED, DOSE REDUCED, DOSE RATE "
                  "REDUCED, DOSE DELAYED. AESI: AESIFL='Y' or an infusion-related-reaction PT (configurable). "
                  "Fatal: AEOUT FATAL, AESDTH='Y' or grade 5. Deaths: ADSL DTHFL."))
    add(TableSpec("ae_by_soc_pt", "TEAEs by system organ class and preferred term", "adverse_events",
                  ae_incidence_by_soc_pt, display=_soc_pt_display, charts=(ae_dot_plot_chart,), order=20,
                  subjects=lambda con, spec, row: ae_soc_pt_subjects(con, spec, row["soc"], row.get("pt") or ""),
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
    add(TableSpec("ae_timeline", "AE timeline relative to study drug", "adverse_events", ae_timeline,
                  display=_timeline_display, charts=(ae_timeline_chart,), order=100,
                  definition="Subjects with at least one AE (after the AE filters): AE bars from onset to end "
                  "(ongoing AEs to the data cut), coloured by severity, SAEs marked; infusion days (ADEX, EXOCCUR "
                  "not 'N') as ticks. x = days since the subject's first infusion (TRTSDT without ADEX)."))
