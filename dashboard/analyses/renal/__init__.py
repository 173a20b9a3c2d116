"""Renal function: eGFR, creatinine, UACR and 24-h protein over time, kidney endpoints, KDIGO shifts.

A package by layer: ``records`` (the renal records, SQL, built once per connection and filter),
``tables`` (the computes), ``display`` (display wrappers), ``specs`` (the registry entries,
``register``). Every public name of each layer is importable from this package.

Kidney function is both an efficacy and a safety signal in diabetic nephropathy treated with an
IV cell therapy: these tables let the board see whether one arm's kidneys are doing worse.
Clinical definitions come from :mod:`dashboard.renal` (clinical_reference §1-§3) and
:mod:`dashboard.stats` (§4); nothing here re-derives them.

Rules shared by every table (the argument glossary is in :mod:`dashboard.filters`):

- **Parameters**: ADLB rows whose PARAMCD maps (``data_contracts.adlb.canonical_lab_code``) to
  EGFR, CREAT, UACR or UPROT24; ``param`` carries the canonical code. eGFR is the extract's own
  when it supplies one, else the loader's CKD-EPI 2021 derivation (PARAMTYP='DERIVED');
  ``renal_parameters`` says which.
- **Records used**: the analysis population's records with a value (AVAL) and a date (ADT) on
  or before the data cut (``spec.data_cut``); the others are counted in ``renal_parameters``.
- **Baseline** (per parameter, clinical_reference §7): the record flagged ABLFL='Y' when the
  parameter has any flagged record; otherwise derived as the last non-missing value dated on
  or before the first dose (TRTSDT), the later file row winning a same-day tie.
- **Post-baseline**: dated after the first dose and after the baseline record. For an infused
  cell therapy every value after the first infusion is on treatment (the follow-up is the
  treatment period), so nothing after the first dose is excluded.
- **By visit**: scheduled visits only (AVISITN present), as the extract windows them
  (AVISIT/AVISITN). When a subject has several values in one visit, the one closest to the
  visit's target day is used (tie: the later). Unscheduled values feed the endpoint, slope,
  worst and last-value tables, not the by-visit summary (clinical_reference §7).
- **One value per date** (endpoints, slopes, shifts): a scheduled record before an unscheduled
  one, then the lower AVISITN (so the CDISC pilot's "End of Treatment" copy of the last visit is
  not counted twice), then the later file row.
- **Out of window**: records of a subject's visit the loader flagged (findings, check
  'out_of_window') stay in every table and are marked ``out_of_window`` in the listings.
- **Arms**: from the ``subjects`` view (pooled "All subjects" in the blinded role); "Total"
  counts each subject once when there is more than one arm.
"""

from dashboard.analyses.renal.records import *  # noqa: F401,F403
from dashboard.analyses.renal.tables import *  # noqa: F401,F403
from dashboard.analyses.renal.tables import _outliers  # noqa: F401 (tests read it)
from dashboard.analyses.renal.display import *  # noqa: F401,F403
from dashboard.analyses.renal.specs import param_charts, register  # noqa: F401
