"""Adverse events (ICH E3 §12.2; clinical_reference §7), in layers:

- :mod:`.records`: the AE record set, built once per (connection, filter) in DuckDB, and the AE
  filters;
- :mod:`.tables`: the counts, listings and statistics, each ``(con, spec) -> tidy frame``;
- :mod:`.display`: what the page shows of each table;
- :mod:`.specs`: the registered entries (``register(add)``).

The clinical terms (severity, relatedness, TEAE, fatal, AESI) are defined once in
:mod:`dashboard.ae_terms`. Every public name stays importable from here.
"""

from dashboard.ae_terms import (  # noqa: F401
    DEFAULT_AESI_TERMS, DISCONTINUATION_ACTIONS, MISSING, NOT_RELATED_TERMS, RELATED_TERMS, SEVERITY_LEVELS,
    derive_related, derive_severity, derive_trtemfl, is_aesi, is_discontinuation_action, is_fatal, is_serious,
)
from dashboard.analyses.adverse_events.display import listing_subjects, overview_category, selected_term  # noqa: F401
from dashboard.analyses.adverse_events.records import (  # noqa: F401
    ae_filter_choices, ae_records, ae_records_table, aesi_rule, apply_ae_filters, control_arm, describe_ae_filters,
    has_infusions, has_trtemfl, teae_records, teae_rule,
)
from dashboard.analyses.adverse_events.specs import AE_COMMON, AE_COMMON_NOTE, register  # noqa: F401
from dashboard.analyses.adverse_events.tables import (  # noqa: F401
    CUMINC_ENDPOINTS, CUMINC_METHOD, EAIR_METHOD, LISTING_COLUMNS, OVERVIEW_CATEGORIES, RD_METHOD, ae_by_severity,
    ae_cumulative_incidence, ae_exposure_adjusted, ae_incidence_by_soc_pt, ae_listing, ae_overview,
    ae_overview_subjects, ae_related_by_soc_pt, ae_risk_difference, ae_serious_listing, ae_soc_pt_subjects, ae_timeline,
    kaplan_meier_cumulative_incidence, observation_periods,
)
